import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAudio16k, writeWav16 } from "../src/audio.js";
import { UserError } from "../src/errors.js";
import { extractToNpy, listWavFiles, type ExtractProgress } from "../src/extract.js";
import { readNpy } from "../src/npy.js";
import { createOnnxFileUpstream } from "../src/onnx-upstream.js";
import type { HiddenStates, Upstream } from "../src/upstream.js";
import { presetConfig } from "../src/wav2vec2/config.js";
import { buildOnnxModel } from "../src/wav2vec2/onnx-export.js";
import { initParams, makeRng } from "../src/wav2vec2/params.js";
import { upstream as fbankDef } from "../upstreams/fbank.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-extract-"));
const wavDir = path.join(tmp, "wavs");
let onnxFile: string;

/** name -> [samples, sample rate] */
const WAVS: Record<string, [number, number]> = {
  "a.wav": [16000, 16000],
  "b.wav": [16000, 16000], // same length as a.wav: batched together
  "sub/c.wav": [7000, 16000],
  "sub/deeper/d.WAV": [300, 16000], // shorter than wav2vec2's receptive field
  "sub/e.wav": [11025, 22050], // resampled
};

function tone(samples: number, seed: number): Float32Array {
  const rng = makeRng(seed, "extract");
  return Float32Array.from({ length: samples }, (_, i) => 0.4 * Math.sin(i * 0.02 * (1 + seed)) + 0.05 * (rng() - 0.5));
}

beforeAll(() => {
  Object.entries(WAVS).forEach(([rel, [n, rate]], i) => {
    const file = path.join(wavDir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeWav16(file, tone(n, i), rate);
  });
  fs.writeFileSync(path.join(wavDir, "notes.txt"), "not audio");
  const config = presetConfig("tiny");
  onnxFile = path.join(tmp, "tiny.onnx");
  fs.writeFileSync(onnxFile, buildOnnxModel(config, initParams(config, 21, { randomAffine: true })));
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const RELS = ["a.wav", "b.wav", "sub/c.wav", "sub/deeper/d.WAV", "sub/e.wav"];
const npyRel = (rel: string): string => rel.replace(/\.wav$/i, ".npy");

/** Reads back every .npy and compares it with a fresh extractHiddenStates of the same WAV. */
async function checkAgainst(up: Upstream, outDir: string, tolerance: number): Promise<number[]> {
  const frames: number[] = [];
  for (const rel of RELS) {
    const arr = readNpy(path.join(outDir, npyRel(rel)));
    const h: HiddenStates = await up.extractHiddenStates(loadAudio16k(path.join(wavDir, rel)));
    expect(arr.shape).toEqual([up.numLayers, h.numFrames, up.hiddenSize]);
    const n = h.numFrames * h.dim;
    let maxDiff = 0;
    h.layers.forEach((layer, l) => {
      for (let j = 0; j < n; j++) maxDiff = Math.max(maxDiff, Math.abs(arr.data[l * n + j] - layer[j]));
    });
    expect(maxDiff, rel).toBeLessThanOrEqual(tolerance);
    frames.push(h.numFrames);
  }
  return frames;
}

describe("extractToNpy", () => {
  it("lists WAVs recursively with relative names", () => {
    expect(listWavFiles(wavDir)).toEqual(RELS.map((r) => r.split("/").join(path.sep)));
  });

  it("fbank: one [1, frames, 80] .npy per WAV, same relative names, equal to extractHiddenStates", async () => {
    const out = path.join(tmp, "out-fbank");
    const progress: ExtractProgress[] = [];
    const notices: string[] = [];
    const result = await extractToNpy({ upstream: "fbank", input: wavDir, out, onProgress: (p) => progress.push(p), onNotice: (m) => notices.push(m) });
    expect(result.files).toBe(5);
    expect(result.outputs.map((o) => path.relative(out, o).split(path.sep).join("/")).sort()).toEqual(RELS.map(npyRel).sort());
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3, 4, 5]);
    expect(progress.every((p) => p.total === 5)).toBe(true);
    expect(notices.some((n) => n.includes("e.wav: resampled 22050 Hz -> 16000 Hz"))).toBe(true);
    expect(result.upstream.name).toBe("fbank");
    expect(result.audioSeconds).toBeCloseTo((16000 + 16000 + 7000 + 300 + 8000) / 16000, 3);
    const up = await fbankDef.create();
    const frames = await checkAgainst(up, out, 0);
    expect(frames).toEqual([98, 98, 42, 0, 48]);
    expect(result.frames).toBe(frames.reduce((a, b) => a + b, 0));
    expect(result.emptyFiles).toBe(1);
    await up.dispose();
  });

  it("onnx: a tiny wav2vec2 export gives [3, frames, 64] per WAV, batched or not", async () => {
    const out = path.join(tmp, "out-onnx");
    const result = await extractToNpy({ upstream: `onnx:${onnxFile}`, input: wavDir, out });
    expect(result.files).toBe(5);
    expect(result.upstream.numLayers).toBe(3);
    expect(result.upstream.identity).toMatch(/^onnx-[0-9a-f]{12}$/);
    const up = await createOnnxFileUpstream(onnxFile);
    try {
      const frames = await checkAgainst(up, out, 1e-5);
      expect(frames).toEqual([49, 49, 21, 0, 24]);
      expect(result.emptyFiles).toBe(1);
      // batchSize 1 and the default batching write the same arrays.
      const out1 = path.join(tmp, "out-onnx-1");
      await extractToNpy({ upstream: up, input: wavDir, out: out1, batchSize: 1 });
      await checkAgainst(up, out1, 1e-5);
    } finally {
      await up.dispose();
    }
  });

  it("reuses one upstream instance and runs equal-length clips as one batch", async () => {
    const inner = await fbankDef.create();
    const batches: number[][] = [];
    let disposed = false;
    const counting: Upstream & { extractHiddenStatesBatch(a: readonly Float32Array[]): Promise<HiddenStates[]> } = {
      ...inner,
      extractHiddenStates: (a) => inner.extractHiddenStates(a),
      async extractHiddenStatesBatch(audios) {
        batches.push(audios.map((a) => a.length));
        return Promise.all(audios.map((a) => inner.extractHiddenStates(a)));
      },
      async dispose() {
        disposed = true;
      },
    };
    await extractToNpy({ upstream: counting, input: wavDir, out: path.join(tmp, "out-count"), batchSize: 4 });
    expect(batches).toEqual([[16000, 16000, 7000, 300], [8000]]);
    expect(disposed).toBe(false); // a caller's instance is not disposed
  });

  it("single file: writes the given .npy (or <name>.npy into an existing folder)", async () => {
    const wav = path.join(wavDir, "sub", "c.wav");
    const out = path.join(tmp, "single", "nested", "c-features.npy");
    const result = await extractToNpy({ upstream: "fbank", input: wav, out });
    expect(result.outputs).toEqual([out]);
    expect(readNpy(out).shape).toEqual([1, 42, 80]);
    const folder = path.join(tmp, "single");
    await extractToNpy({ upstream: "fbank", input: wav, out: folder });
    expect(readNpy(path.join(folder, "c.npy")).shape).toEqual([1, 42, 80]);
  });

  it("reports bad inputs as one-line UserErrors naming the file", async () => {
    const expectUserError = async (p: Promise<unknown>, pattern: RegExp): Promise<void> => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).not.toContain("\n");
      expect((err as Error).message).toMatch(pattern);
    };
    const wav = path.join(wavDir, "a.wav");
    await expectUserError(extractToNpy({ upstream: "fbank", input: path.join(tmp, "nothing"), out: path.join(tmp, "x") }), /nothing: no such file or folder/);
    await expectUserError(extractToNpy({ upstream: "fbank", input: wav, out: path.join(tmp, "x.txt") }), /give a \.npy file/);
    await expectUserError(extractToNpy({ upstream: "fbank", input: wavDir, out: path.join(tmp, "x.npy") }), /must be a folder/);
    await expectUserError(extractToNpy({ upstream: "no-such-upstream", input: wav, out: path.join(tmp, "x.npy") }), /--upstream no-such-upstream: unknown upstream/);
    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty);
    await expectUserError(extractToNpy({ upstream: "fbank", input: empty, out: path.join(tmp, "y") }), /empty: no \.wav files found/);

    const bad = path.join(tmp, "bad");
    fs.mkdirSync(bad);
    writeWav16(path.join(bad, "1-good.wav"), tone(4000, 1), 16000);
    fs.writeFileSync(path.join(bad, "2-broken.wav"), "RIFF....WAVEjunk");
    await expectUserError(extractToNpy({ upstream: "fbank", input: bad, out: path.join(tmp, "out-bad") }), /2-broken\.wav: /);
  });
});
