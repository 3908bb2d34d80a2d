/**
 * `onnx:<path>`: any ONNX speech model whose single input is a float32 waveform [batch, samples]
 * (16 kHz) and whose outputs are hidden states, e.g. a `torch.onnx.export` of
 * `model(x, output_hidden_states=True)` or an HF optimum export. No wav2vec2 knowledge is used;
 * everything is learned by probing the model once when it is opened:
 *
 * - Output layout. Float32 outputs only. If exactly one output has rank 4 it is a stacked tensor,
 *   [layers, batch, frames, dim] or [batch, layers, frames, dim]: the frames axis must be axis 2
 *   (the only axis whose size changes between the 1 s and 2 s probes), and of axes 0 and 1 the one
 *   of size 1 in a batch-1 run is the batch axis (if both are 1 there is one layer and the layouts
 *   coincide; a batch-2 probe settles it). Otherwise the rank-3 [batch, frames, dim] outputs are
 *   the layers, in output order; if some of them are named like `hidden_states*`, only those are
 *   used (a torch export of HF's ModelOutput also emits last_hidden_state and extract_features).
 *   All layers must agree on frames and dim.
 * - Frame rate: frames(2 s) - frames(1 s), in frames per second.
 * - Batching: a batch-2 probe; if it fails (static batch axis) clips run one at a time.
 * - Shortest input: the fewest samples (binary search up to 1 s) for which the model runs and
 *   gives at least one frame. Shorter clips give zero frames instead of an onnxruntime error.
 *
 * Identity: `onnx-<first 12 hex of the file's sha256>` (external-data files are not hashed).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as ort from "onnxruntime-node";
import { oneLine, UserError } from "./errors.js";
import type { HiddenStates, Upstream } from "./upstream.js";
import { SAMPLE_RATE } from "./upstream.js";

/** An upstream that can also run several clips at once (as `extract` does). */
export interface BatchUpstream extends Upstream {
  /**
   * The hidden states of each clip, identical to calling extractHiddenStates on each one:
   * clips of equal length are run together as one batch, others one by one (no padding, so
   * results never depend on the other clips).
   */
  extractHiddenStatesBatch(audios: readonly Float32Array[]): Promise<HiddenStates[]>;
}

export function isBatchUpstream(u: Upstream): u is BatchUpstream {
  return typeof (u as Partial<BatchUpstream>).extractHiddenStatesBatch === "function";
}

/** Default bound on batch x samples of one run: 64 s of audio. */
export const DEFAULT_MAX_BATCH_SAMPLES = 64 * SAMPLE_RATE;

/**
 * Splits clips into groups of equal length (each at most maxBatchSamples in total, at least one
 * clip), runs each group with `runRows`, and returns the results in input order.
 */
export async function runGroupedByLength(
  audios: readonly Float32Array[],
  maxBatchSamples: number,
  runRows: (rows: Float32Array[]) => Promise<HiddenStates[]>,
): Promise<HiddenStates[]> {
  const byLength = new Map<number, number[]>();
  audios.forEach((a, i) => {
    const group = byLength.get(a.length);
    if (group) group.push(i);
    else byLength.set(a.length, [i]);
  });
  const out: HiddenStates[] = new Array(audios.length);
  for (const [length, indices] of byLength) {
    const per = Math.max(1, Math.floor(maxBatchSamples / Math.max(1, length)));
    for (let start = 0; start < indices.length; start += per) {
      const chunk = indices.slice(start, start + per);
      const results = await runRows(chunk.map((i) => audios[i]));
      if (results.length !== chunk.length) throw new Error(`internal: batch of ${chunk.length} gave ${results.length} results`);
      chunk.forEach((i, j) => (out[i] = results[j]));
    }
  }
  return out;
}

/** Zero-frame hidden states (audio too short for the model). */
export function emptyHiddenStates(numLayers: number, dim: number): HiddenStates {
  return { layers: Array.from({ length: numLayers }, () => new Float32Array(0)), numFrames: 0, dim };
}

export interface OnnxFileUpstreamOptions {
  /** Default 2 (the machine's cores). */
  intraOpNumThreads?: number;
  /** Bound on batch x samples of one run in extractHiddenStatesBatch (default 64 s). */
  maxBatchSamples?: number;
  /** Upstream name (default "onnx"). */
  name?: string;
}

/** What the probe learned about the model. */
export interface OnnxModelLayout {
  inputName: string;
  /** "stacked": one rank-4 output; "separate": one rank-3 output per layer. */
  kind: "stacked" | "separate";
  /** The outputs read, in layer order (one name when stacked). */
  outputNames: string[];
  /** Stacked only: the axis (0 or 1) holding the layers; the other one is the batch. */
  layerAxis: 0 | 1;
  numLayers: number;
  dim: number;
  /** Frames per second (frame-count difference between the 2 s and 1 s probes). */
  frameRate: number;
  /** Fewest samples that give at least one frame. */
  minSamples: number;
  /** False when the model's batch axis is static (clips then run one at a time). */
  batchable: boolean;
}

export interface OnnxFileUpstream extends BatchUpstream {
  readonly file: string;
  readonly layout: OnnxModelLayout;
}

const QUIET: ort.InferenceSession.RunOptions = { logSeverityLevel: 4 };

interface ProbeOutput {
  name: string;
  dims: number[];
}

function sha256File(file: string): string {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

/** First line of an onnxruntime error without the repeated path and C++ source location. */
function ortReason(err: unknown): string {
  return oneLine(err)
    .replace(/^Load model from .*? failed:\s*/, "")
    .replace(/^\S+\.(?:cc|cpp|h):\d+ (?:\S.*?\)\s)?/, "")
    .trim();
}

function describe(outputs: readonly ProbeOutput[]): string {
  return outputs.map((o) => `${o.name} [${o.dims.join(", ")}]`).join(", ");
}

/** Opens, validates and probes an ONNX file. Every problem with the file is a one-line UserError. */
export async function createOnnxFileUpstream(file: string, opts: OnnxFileUpstreamOptions = {}): Promise<OnnxFileUpstream> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UserError(`${file}: no such file`);
  }
  if (!stat.isFile()) throw new UserError(`${file}: not a file (expected an .onnx model)`);
  const identity = `onnx-${sha256File(file).slice(0, 12)}`;

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, {
      executionProviders: ["cpu"],
      intraOpNumThreads: opts.intraOpNumThreads ?? 2,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    });
  } catch (err) {
    throw new UserError(`${file}: not a loadable ONNX model (${stat.size === 0 ? "empty file" : ortReason(err)})`);
  }
  try {
    const layout = await probeLayout(session, file);
    return makeUpstream(session, file, identity, layout, opts);
  } catch (err) {
    await session.release();
    throw err;
  }
}

async function probeLayout(session: ort.InferenceSession, file: string): Promise<OnnxModelLayout> {
  const fail = (problem: string): never => {
    throw new UserError(`${file}: ${problem}`);
  };
  const inputs = session.inputMetadata;
  if (inputs.length !== 1) {
    fail(`expected exactly one input (a float32 waveform [batch, samples]), the model has ${inputs.length}: ${session.inputNames.join(", ")}`);
  }
  const input = inputs[0];
  if (!input.isTensor || input.type !== "float32") {
    fail(`input ${input.name} must be a float32 tensor [batch, samples], it is ${input.isTensor ? input.type : "not a tensor"}`);
  }
  const inShape = input.isTensor ? input.shape : [];
  if (inShape.length !== 0 && inShape.length !== 2) {
    fail(`input ${input.name} has rank ${inShape.length} [${inShape.join(", ")}], expected a waveform [batch, samples]`);
  }
  if (typeof inShape[1] === "number") {
    fail(`input ${input.name} has a fixed length of ${inShape[1]} samples; export it with a dynamic samples axis`);
  }
  const inputName = input.name;

  const run = async (batch: number, samples: number): Promise<ProbeOutput[]> => {
    const feed = new ort.Tensor("float32", new Float32Array(batch * samples), [batch, samples]);
    const result = await session.run({ [inputName]: feed }, QUIET);
    return session.outputNames.flatMap((name) => {
      const t = result[name] as ort.Tensor | undefined;
      return t !== undefined && t.type === "float32" && Array.isArray(t.dims) ? [{ name, dims: [...t.dims] }] : [];
    });
  };
  let one: ProbeOutput[];
  let two: ProbeOutput[];
  try {
    one = await run(1, SAMPLE_RATE);
    two = await run(1, 2 * SAMPLE_RATE);
  } catch (err) {
    return fail(`running the model on 1 s and 2 s of silence failed (${oneLine(err)})`);
  }
  const dimsOf = (outs: ProbeOutput[], name: string): number[] => outs.find((o) => o.name === name)?.dims ?? [];

  const rank4 = one.filter((o) => o.dims.length === 4);
  let kind: "stacked" | "separate";
  let outputNames: string[];
  let layerAxis: 0 | 1 = 0;
  let numLayers: number;
  let dim: number;
  let frames1: number;
  let frames2: number;
  if (rank4.length > 1) fail(`several rank-4 outputs (${describe(rank4)}); expected one stacked [layers, batch, frames, dim] tensor`);
  if (rank4.length === 1) {
    kind = "stacked";
    const o = rank4[0];
    outputNames = [o.name];
    const d1 = o.dims;
    const d2 = dimsOf(two, o.name);
    const changed = d1.map((d, i) => d !== d2[i]);
    if (d2.length !== 4 || changed[0] || changed[1] || !changed[2] || changed[3]) {
      fail(
        `output ${o.name} is [${d1.join(", ")}] for 1 s and [${d2.join(", ")}] for 2 s of audio; ` +
          "expected frames on axis 2 of [layers, batch, frames, dim] or [batch, layers, frames, dim]",
      );
    }
    if (d1[0] !== 1 && d1[1] !== 1) fail(`output ${o.name} [${d1.join(", ")}] has no batch axis of size 1 for a batch of 1`);
    layerAxis = d1[0] === 1 ? 1 : 0;
    numLayers = d1[layerAxis];
    dim = d1[3];
    frames1 = d1[2];
    frames2 = d2[2];
  } else {
    kind = "separate";
    let rank3 = one.filter((o) => o.dims.length === 3);
    const named = rank3.filter((o) => /hidden_states/i.test(o.name));
    if (named.length > 0) rank3 = named;
    if (rank3.length === 0) {
      fail(
        `no hidden-state outputs: expected one float32 [layers, batch, frames, dim] tensor or [batch, frames, dim] tensors, ` +
          `the model gives ${describe(one) || "no float32 tensors"}`,
      );
    }
    const ref = rank3[0].dims;
    const bad = rank3.find((o) => o.dims[0] !== 1 || o.dims[1] !== ref[1] || o.dims[2] !== ref[2]);
    if (bad !== undefined) fail(`hidden-state outputs disagree on [batch 1, frames, dim]: ${describe(rank3)}`);
    outputNames = rank3.map((o) => o.name);
    const ref2 = dimsOf(two, outputNames[0]);
    const bad2 = outputNames.find((n) => {
      const d = dimsOf(two, n);
      return d.length !== 3 || d[0] !== 1 || d[1] !== ref2[1] || d[2] !== ref[2];
    });
    if (bad2 !== undefined) fail(`hidden-state outputs for 2 s of audio disagree: ${describe(two.filter((o) => outputNames.includes(o.name)))}`);
    numLayers = rank3.length;
    dim = ref[2];
    frames1 = ref[1];
    frames2 = ref2[1];
  }
  const frameRate = frames2 - frames1;
  if (!(frameRate > 0)) {
    fail(`the number of frames (${frames1}) does not grow with the input length; not a frame-level model (pooled output?)`);
  }
  if (!(dim > 0) || !(numLayers > 0)) fail(`hidden states are empty (${numLayers} layers x ${dim} dims)`);

  // Batch probe: does a batch of 2 run, with the batch on the expected axis?
  let batchable = false;
  try {
    const b = await run(2, SAMPLE_RATE);
    if (kind === "stacked") {
      const d = dimsOf(b, outputNames[0]);
      if (d.length === 4 && frames1 === d[2] && dim === d[3]) {
        if (numLayers === 1 && d[0] * d[1] === 2) {
          layerAxis = d[0] === 2 ? 1 : 0;
          batchable = true;
        } else {
          batchable = d[1 - layerAxis] === 2 && d[layerAxis] === numLayers;
        }
      }
    } else {
      batchable = outputNames.every((n) => {
        const d = dimsOf(b, n);
        return d[0] === 2 && d[1] === frames1 && d[2] === dim;
      });
    }
  } catch {
    batchable = false;
  }

  // Shortest working input: the largest failing length below 1 s, plus one.
  const framesFor = async (samples: number): Promise<number> => {
    try {
      const outs = await run(1, samples);
      const d = dimsOf(outs, outputNames[0]);
      return kind === "stacked" ? (d[2] ?? 0) : (d[1] ?? 0);
    } catch {
      return 0;
    }
  };
  let lo = 0; // fails (or gives no frame)
  let hi = SAMPLE_RATE; // works
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await framesFor(mid)) > 0) hi = mid;
    else lo = mid;
  }
  return { inputName, kind, outputNames, layerAxis, numLayers, dim, frameRate, minSamples: hi, batchable };
}

function makeUpstream(
  session: ort.InferenceSession,
  file: string,
  identity: string,
  layout: OnnxModelLayout,
  opts: OnnxFileUpstreamOptions,
): OnnxFileUpstream {
  const { numLayers: L, dim: D } = layout;
  const maxBatchSamples = layout.batchable ? (opts.maxBatchSamples ?? DEFAULT_MAX_BATCH_SAMPLES) : 0;

  /** Runs equal-length rows (each at least minSamples long) as one batch. */
  const runRows = async (rows: Float32Array[]): Promise<HiddenStates[]> => {
    const samples = rows[0].length;
    if (samples < layout.minSamples) return rows.map(() => emptyHiddenStates(L, D));
    const B = rows.length;
    const data = B === 1 ? rows[0] : new Float32Array(B * samples);
    if (B > 1) rows.forEach((r, i) => data.set(r, i * samples));
    const feed = new ort.Tensor("float32", data, [B, samples]);
    const result = await session.run({ [layout.inputName]: feed }, layout.outputNames);
    const tensors = layout.outputNames.map((n) => {
      const t = result[n] as ort.Tensor | undefined;
      if (t === undefined) throw new Error(`onnx upstream ${file}: output ${n} missing`);
      return t;
    });
    let T: number;
    if (layout.kind === "stacked") {
      const d = tensors[0].dims;
      const expected = layout.layerAxis === 0 ? [L, B] : [B, L];
      if (d.length !== 4 || d[0] !== expected[0] || d[1] !== expected[1] || d[3] !== D) {
        throw new UserError(`${file}: output ${layout.outputNames[0]} has shape [${d.join(", ")}] for a batch of ${B}, expected [${expected.join(", ")}, frames, ${D}]`);
      }
      T = d[2];
    } else {
      T = tensors[0].dims[1];
      for (const t of tensors) {
        const d = t.dims;
        if (d.length !== 3 || d[0] !== B || d[1] !== T || d[2] !== D) {
          throw new UserError(`${file}: hidden-state outputs have shapes ${tensors.map((x) => `[${x.dims.join(", ")}]`).join(", ")} for a batch of ${B}`);
        }
      }
    }
    const n = T * D;
    return rows.map((_, r) => {
      const layers = Array.from({ length: L }, (_, l) => {
        const src = (layout.kind === "stacked" ? tensors[0] : tensors[l]).data as Float32Array;
        const block = layout.kind === "stacked" ? (layout.layerAxis === 0 ? l * B + r : r * L + l) : r;
        // A lone row of a separate output is returned as is; anything else is copied out.
        return layout.kind === "separate" && B === 1 ? src : src.slice(block * n, (block + 1) * n);
      });
      return { layers, numFrames: T, dim: D };
    });
  };

  return {
    name: opts.name ?? "onnx",
    identity,
    file,
    layout,
    frameRate: layout.frameRate,
    numLayers: L,
    hiddenSize: D,
    ...sessionUpstreamMethods(`onnx upstream ${file}`, session, maxBatchSamples, runRows),
  };
}

/**
 * What every upstream backed by one onnxruntime session shares: single and batched extraction
 * over a `runRows` function, and a dispose() after which use is an error.
 */
export function sessionUpstreamMethods(
  label: string,
  session: { release(): Promise<void> },
  maxBatchSamples: number,
  runRows: (rows: Float32Array[]) => Promise<HiddenStates[]>,
): Pick<BatchUpstream, "extractHiddenStates" | "extractHiddenStatesBatch" | "dispose"> {
  let released = false;
  const guarded = (rows: Float32Array[]): Promise<HiddenStates[]> => {
    if (released) throw new Error(`${label}: used after dispose()`);
    return runRows(rows);
  };
  return {
    async extractHiddenStates(audio: Float32Array): Promise<HiddenStates> {
      return (await guarded([audio]))[0];
    },
    async extractHiddenStatesBatch(audios: readonly Float32Array[]): Promise<HiddenStates[]> {
      return runGroupedByLength(audios, maxBatchSamples, guarded);
    },
    async dispose(): Promise<void> {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}
