/**
 * One PASE+ pre-training step's inputs, in plain arrays: crops of the clean audio, their online
 * distortion (the encoder's input), every regressor's standardised target computed on the clean
 * crop, and the LIM / GIM pair choices. Every random choice of step s comes from generators seeded
 * by (seed, s), so a resumed run repeats the uninterrupted one.
 */
import { Rng, deriveSeed } from "../random.js";
import { zeroMeanUnitVarianceInPlace } from "../wav2vec2/normalize.js";
import { paseFrames, type PaseConfig } from "./config.js";
import { distort, type DistortionConfig } from "./distortions.js";
import { applyStats, featureStats, withDeltas } from "./targets.js";
import { workerOutputs, type RegressorSpec, type WorkerSpec } from "./workers.js";

/** Per-dimension mean and standard deviation of one regressor's targets. */
export interface TargetStats {
  mean: number[];
  std: number[];
}

/** LIM pairs drawn per utterance and step. */
export const LIM_PAIRS = 8;

export interface PaseBatch {
  /** Distorted crops [B, S] row-major: the encoder's input. */
  input: Float32Array;
  batch: number;
  samples: number;
  frames: number;
  /** Standardised targets per regressor, [B, frames, outputs] row-major. */
  targets: Map<string, Float32Array>;
  lim: { b: number[]; anchor: number[]; positive: number[]; negB: number[]; negative: number[] };
  gimNegative: number[];
  /** Names of the distortions applied, per crop. */
  distortions: string[][];
  audioSeconds: number;
}

/** A regressor's raw target: the feature, with deltas when the worker has them. */
function rawTarget(w: RegressorSpec, audio: Float32Array, frames: number): Float32Array {
  const f = w.target(audio, frames);
  return w.deltas ? withDeltas(f, frames, w.dim) : f;
}

/** Target statistics over the given clean clips (PASE computes them on the training data once). */
export function computeTargetStats(workers: readonly WorkerSpec[], c: PaseConfig, clips: readonly Float32Array[]): Map<string, TargetStats> {
  const out = new Map<string, TargetStats>();
  for (const w of workers) {
    if (w.kind !== "regressor") continue;
    const list = clips.map((a) => {
      const clean = Float32Array.from(a);
      if (c.do_normalize) zeroMeanUnitVarianceInPlace(clean);
      return { data: rawTarget(w, clean, paseFrames(c, clean.length)), dim: workerOutputs(w) };
    });
    const s = featureStats(list);
    out.set(w.name, { mean: Array.from(s.mean), std: Array.from(s.std) });
  }
  return out;
}

/** A different utterance of the batch for each one (a random non-zero rotation). */
function otherUtterances(rng: Rng, B: number): number[] {
  const shift = B > 1 ? rng.int(1, B - 1) : 0;
  return Array.from({ length: B }, (_, b) => (b + shift) % B);
}

export interface BatchOptions {
  cropSamples: number;
  seed: number;
  step: number;
  distortions: DistortionConfig;
  workers: readonly WorkerSpec[];
  stats: ReadonlyMap<string, TargetStats>;
}

/** Crops every clip to the batch's crop length at a random offset, distorts, computes targets. */
export function preparePaseBatch(c: PaseConfig, clips: readonly Float32Array[], o: BatchOptions): PaseBatch {
  const B = clips.length;
  const S = Math.min(o.cropSamples, ...clips.map((a) => a.length));
  const T = paseFrames(c, S);
  const rng = new Rng(deriveSeed(o.seed, `pase-batch:${o.step}`));
  const input = new Float32Array(B * S);
  const targets = new Map<string, Float32Array>();
  for (const w of o.workers) if (w.kind === "regressor") targets.set(w.name, new Float32Array(B * T * workerOutputs(w)));
  const distortions: string[][] = [];
  clips.forEach((a, b) => {
    const off = rng.int(0, a.length - S);
    const clean = a.slice(off, off + S);
    if (c.do_normalize) zeroMeanUnitVarianceInPlace(clean);
    const d = distort(clean, rng.fork(), o.distortions);
    const noisy = d.audio;
    if (c.do_normalize) zeroMeanUnitVarianceInPlace(noisy);
    input.set(noisy, b * S);
    distortions.push(d.applied);
    for (const w of o.workers) {
      if (w.kind !== "regressor") continue;
      const t = rawTarget(w, clean, T);
      const stats = o.stats.get(w.name);
      if (stats) applyStats(t, workerOutputs(w), { mean: Float32Array.from(stats.mean), std: Float32Array.from(stats.std) });
      targets.get(w.name)!.set(t, b * T * workerOutputs(w));
    }
  });
  const lim = { b: [] as number[], anchor: [] as number[], positive: [] as number[], negB: [] as number[], negative: [] as number[] };
  const other = otherUtterances(rng, B);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < LIM_PAIRS; k++) {
      lim.b.push(b);
      lim.anchor.push(rng.int(0, T - 1));
      lim.positive.push(rng.int(0, T - 1));
      lim.negB.push(other[b]);
      lim.negative.push(rng.int(0, T - 1));
    }
  }
  return { input, batch: B, samples: S, frames: T, targets, lim, gimNegative: otherUtterances(rng, B), distortions, audioSeconds: (B * S) / c.sample_rate };
}
