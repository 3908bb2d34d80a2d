/**
 * FBANK: the classic SUPERB baseline. One "layer" of 80 Kaldi log-mel filterbank energies per
 * 10 ms frame (25 ms povey window, waveform scaled by 32768 as Kaldi sees int16 audio).
 */
import { Fbank, resolveFbankOptions } from "../src/dsp/fbank.js";
import type { HiddenStates, Upstream, UpstreamDefinition } from "../src/upstream.js";
import { SAMPLE_RATE, configIdentity } from "../src/upstream.js";

/** Bump when the computation changes in a way that alters features, so cached features are invalidated. */
const IMPLEMENTATION_VERSION = 1;

export const upstream: UpstreamDefinition = {
  name: "fbank",
  description: "Kaldi log-mel filterbank, 80 bins, 25 ms / 10 ms (classic baseline, 1 layer)",
  async create(): Promise<Upstream> {
    const opts = resolveFbankOptions({ sampleRate: SAMPLE_RATE, numMelBins: 80 });
    // One extractor per upstream instance: FFT, window and mel bank are built once here.
    const extractor = new Fbank(opts);
    return {
      name: "fbank",
      identity: configIdentity("fbank", { version: IMPLEMENTATION_VERSION, ...opts }),
      frameRate: SAMPLE_RATE / extractor.frames.frameShift,
      numLayers: 1,
      hiddenSize: opts.numMelBins,
      async extractHiddenStates(audio: Float32Array): Promise<HiddenStates> {
        // Audio shorter than one 25 ms frame yields numFrames 0; callers decide what to do.
        const f = extractor.compute(audio);
        return { layers: [f.data], numFrames: f.numFrames, dim: f.numBins };
      },
      async dispose(): Promise<void> {
        // Nothing to release: plain typed arrays only.
      },
    };
  },
};
