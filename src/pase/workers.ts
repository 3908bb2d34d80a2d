/**
 * PASE+'s workers (santi-pdp/pase cfg/PASE+workers.cfg): small networks on the encoder output
 * that each solve one self-supervised task. Regressors predict features of the CLEAN signal
 * (the encoder sees the distorted one), static + delta + delta-delta, standardised per
 * dimension; discriminators tell pairs from the same utterance from pairs across utterances.
 *
 *   regressor      MLP emb -> 256 -> PReLU -> out, MSE (waveform: L1)
 *   lim            local info max: [e_t, e_t'] same utterance vs [e_t, e_other], BCE
 *   gim            global info max: [mean(first half), mean(second half)] vs another utterance's, BCE
 *
 * Differences from pase, for CPU budgets: the waveform decoder is one MLP emitting the 160
 * samples of each frame (pase: three transposed convolutions upsampling by 4, 4, 10); the LPS
 * workers use nfft 512 / 1024 (pase: 2048 bins).
 */
import * as tf from "@tensorflow/tfjs";
import { makeRng, type ParamMap } from "../wav2vec2/params.js";
import { linear, mm2d } from "../wav2vec2/tfjs-model.js";
import { gammatoneSpectrum, logMelFilterbank, logPowerSpectrum, mfcc, prosody, withDeltas } from "./targets.js";
import type { TfParams } from "./tfjs-model.js";

export const WORKER_HIDDEN = 256;

export interface RegressorSpec {
  name: string;
  kind: "regressor";
  /** Features per frame before deltas (the waveform worker: samples per frame, no deltas). */
  dim: number;
  deltas: boolean;
  loss: "mse" | "l1";
  /** The target for clean 16 kHz audio: [frames x dim], frame t centred at sample 160 t + 80. */
  target(audio: Float32Array, frames: number): Float32Array;
}

export interface DiscriminatorSpec {
  name: "lim" | "gim";
  kind: "discriminator";
}

export type WorkerSpec = RegressorSpec | DiscriminatorSpec;

/** The waveform chunk of frame t: samples 160 t .. 160 t + 159 (zeros past the end). */
export function waveformChunks(audio: Float32Array, frames: number): Float32Array {
  const out = new Float32Array(frames * 160);
  out.set(audio.subarray(0, Math.min(audio.length, frames * 160)));
  return out;
}

const reg = (name: string, dim: number, target: RegressorSpec["target"], deltas = true, loss: "mse" | "l1" = "mse"): RegressorSpec => ({ name, kind: "regressor", dim, deltas, loss, target });

/** PASE+'s twelve workers: ten regressors (short and long context) and the two discriminators. */
export const PASE_PLUS_WORKERS: readonly WorkerSpec[] = [
  reg("wave", 160, waveformChunks, false, "l1"),
  reg("lps", 257, (a, f) => logPowerSpectrum(a, f, { win: 400, nfft: 512 })),
  reg("lps_long", 513, (a, f) => logPowerSpectrum(a, f, { win: 1024, nfft: 1024 })),
  reg("fbank", 40, (a, f) => logMelFilterbank(a, f, { win: 400, nfft: 512, mels: 40 })),
  reg("fbank_long", 40, (a, f) => logMelFilterbank(a, f, { win: 1024, nfft: 1024, mels: 40 })),
  reg("gtn", 40, (a, f) => gammatoneSpectrum(a, f, { win: 400, nfft: 512, bands: 40 })),
  reg("gtn_long", 40, (a, f) => gammatoneSpectrum(a, f, { win: 2048, nfft: 2048, bands: 40 })),
  reg("mfcc", 13, (a, f) => mfcc(a, f, { win: 400, nfft: 512, mels: 40, order: 13 })),
  reg("mfcc_long", 20, (a, f) => mfcc(a, f, { win: 2048, nfft: 2048, mels: 40, order: 20 })),
  reg("prosody", 4, (a, f) => prosody(a, f)),
  { name: "lim", kind: "discriminator" },
  { name: "gim", kind: "discriminator" },
];

/** Output width of a worker's last layer. */
export function workerOutputs(w: WorkerSpec): number {
  return w.kind === "discriminator" ? 1 : w.deltas ? 3 * w.dim : w.dim;
}

/** Worker parameters, `workers.<name>.{0,2}.{weight,bias}` and `workers.<name>.1.weight` (PReLU), PyTorch init. */
export function initWorkerParams(workers: readonly WorkerSpec[], embDim: number, seed: number): ParamMap {
  const out: ParamMap = new Map();
  const lin = (name: string, o: number, i: number): void => {
    const rng = makeRng(seed, name);
    const bound = 1 / Math.sqrt(i);
    out.set(`${name}.weight`, { shape: [o, i], data: Float32Array.from({ length: o * i }, () => (2 * rng() - 1) * bound) });
    out.set(`${name}.bias`, { shape: [o], data: Float32Array.from({ length: o }, () => (2 * rng() - 1) * bound) });
  };
  for (const w of workers) {
    const inDim = w.kind === "discriminator" ? 2 * embDim : embDim;
    lin(`workers.${w.name}.0`, WORKER_HIDDEN, inDim);
    out.set(`workers.${w.name}.1.weight`, { shape: [WORKER_HIDDEN], data: new Float32Array(WORKER_HIDDEN).fill(0.25) });
    lin(`workers.${w.name}.2`, workerOutputs(w), WORKER_HIDDEN);
  }
  return out;
}

function mlp(p: TfParams, name: string, x: tf.Tensor): tf.Tensor {
  const get = (k: string): tf.Tensor => {
    const t = p.get(`workers.${name}.${k}`);
    if (t === undefined) throw new Error(`internal: worker parameter workers.${name}.${k} missing`);
    return t;
  };
  const h = linear(x, get("0.weight"), get("0.bias"));
  const a = tf.sub(tf.relu(h), tf.mul(get("1.weight"), tf.relu(tf.neg(h))));
  return linear(a, get("2.weight"), get("2.bias"));
}

/** Per-step inputs of the workers besides the embedding. */
export interface WorkerBatch {
  /** Standardised targets per regressor, [B, frames, outputs]. */
  targets: ReadonlyMap<string, tf.Tensor3D>;
  /** LIM: for each of B*n pairs, (utterance, anchor frame, positive frame, negative utterance, negative frame). */
  lim: { b: number[]; anchor: number[]; positive: number[]; negB: number[]; negative: number[] };
  /** GIM: the other utterance whose second half is each utterance's negative. */
  gimNegative: number[];
}

/**
 * Rows `index` of x [N, D] as a one-hot product: tf.gather's gradient needs UnsortedSegmentSum,
 * which the wasm backend lacks.
 */
function pickRows(x: tf.Tensor2D, index: readonly number[]): tf.Tensor2D {
  const N = x.shape[0];
  const onehot = new Float32Array(index.length * N);
  index.forEach((r, i) => (onehot[i * N + r] = 1));
  return mm2d(tf.tensor2d(onehot, [index.length, N]), x);
}

/** Binary cross-entropy with logits: positives first, then as many negatives. */
function discriminate(p: TfParams, name: string, anchor: tf.Tensor2D, positive: tf.Tensor2D, negative: tf.Tensor2D): tf.Scalar {
  const logits = tf.reshape(mlp(p, name, tf.concat([tf.concat([anchor, positive], 1), tf.concat([anchor, negative], 1)], 0)), [-1]);
  const n = anchor.shape[0];
  const labels = tf.concat([tf.ones([n]), tf.zeros([n])]);
  return tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;
}

/** Each worker's loss for the encoder output `emb` [B, frames, D]. */
export function workerLosses(p: TfParams, workers: readonly WorkerSpec[], emb: tf.Tensor3D, batch: WorkerBatch): Map<string, tf.Scalar> {
  const [B, T, D] = emb.shape;
  const losses = new Map<string, tf.Scalar>();
  const flat = tf.reshape(emb, [B * T, D]) as tf.Tensor2D;
  for (const w of workers) {
    if (w.kind === "regressor") {
      const target = batch.targets.get(w.name);
      if (target === undefined) throw new Error(`internal: no target for worker ${w.name}`);
      const err = tf.sub(mlp(p, w.name, emb), target);
      losses.set(w.name, tf.mean(w.loss === "l1" ? tf.abs(err) : tf.square(err)) as tf.Scalar);
    } else if (w.name === "lim") {
      const rows = (b: number[], t: number[]): tf.Tensor2D => pickRows(flat, b.map((bb, i) => bb * T + t[i]));
      const { b, anchor, positive, negB, negative } = batch.lim;
      losses.set("lim", discriminate(p, "lim", rows(b, anchor), rows(b, positive), rows(negB, negative)));
    } else {
      const half = Math.floor(T / 2);
      const first = tf.mean(tf.slice(emb, [0, 0, 0], [B, half, D]), 1) as tf.Tensor2D;
      const second = tf.mean(tf.slice(emb, [0, half, 0], [B, T - half, D]), 1) as tf.Tensor2D;
      losses.set("gim", discriminate(p, "gim", first, second, pickRows(second, batch.gimNegative)));
    }
  }
  return losses;
}
