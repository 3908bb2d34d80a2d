/**
 * MFCC: Kaldi MFCC (23 mel bins, 13 ceps with c0 = raw log energy, lifter 22) plus delta and
 * delta-delta (window 2) = 39 dims per 10 ms frame, exposed as a single layer.
 */
import { appendDeltas } from "../src/dsp/deltas.js";
import { Mfcc, resolveMfccOptions } from "../src/dsp/mfcc.js";
import type { HiddenStates, Upstream, UpstreamDefinition } from "../src/upstream.js";
import { SAMPLE_RATE, configIdentity } from "../src/upstream.js";

/** Bump when the computation changes in a way that alters features, so cached features are invalidated. */
const IMPLEMENTATION_VERSION = 1;

export const upstream: UpstreamDefinition = {
  name: "mfcc",
  description: "Kaldi MFCC 13 + deltas + delta-deltas = 39 dims, 25 ms / 10 ms (classic baseline, 1 layer)",
  async create(): Promise<Upstream> {
    const opts = resolveMfccOptions({ sampleRate: SAMPLE_RATE });
    const deltas = { order: 2, window: 2 };
    const extractor = new Mfcc(opts);
    const dim = opts.numCeps * (deltas.order + 1);
    return {
      name: "mfcc",
      identity: configIdentity("mfcc", { version: IMPLEMENTATION_VERSION, ...opts, deltas }),
      frameRate: SAMPLE_RATE / extractor.frames.frameShift,
      numLayers: 1,
      hiddenSize: dim,
      async extractHiddenStates(audio: Float32Array): Promise<HiddenStates> {
        const m = extractor.compute(audio);
        const data = appendDeltas(m.data, m.numFrames, m.numBins, deltas);
        return { layers: [data], numFrames: m.numFrames, dim };
      },
      async dispose(): Promise<void> {
        // Nothing to release.
      },
    };
  },
};
