/**
 * PASE+ pre-training (Ravanelli et al. 2020) on the tfjs encoder of tfjs-model.ts: each step
 * distorts clean crops online (distortions.ts), encodes the distorted audio, and sums the losses
 * of every worker (workers.ts) on the encoder output; Adam, linear warm-up then linear decay.
 * BatchNorm uses batch statistics and updates its running ones (momentum from the config), which
 * the exported model uses.
 *
 * Stages: options -> data (usable clips, target statistics) -> init or resume -> steps (with a
 * log row every LOG_EVERY steps and a checkpoint every `checkpointEvery`) -> the output folder.
 * Determinism as for wav2vec 2.0: every random choice of step s is seeded by (seed, s), so a
 * resumed run repeats the uninterrupted one (same backend and machine).
 *
 * Differences from pase's recipe, for CPU budgets: crops are at most `cropSeconds` (default 1 s, pase's chunk size)
 * and cut to the batch's shortest clip (length-bucketed batches, as for wav2vec 2.0); the noise
 * distortion uses synthetic coloured noise (pase: a noise corpus); no overlapping-speech or
 * down-sampling distortions; learning rate 5e-4 peak with 5 % warm-up (pase: 5e-4, no warm-up).
 */
import * as tf from "@tensorflow/tfjs";
import * as fs from "node:fs";
import * as path from "node:path";
import { initTensorBackend } from "../backend.js";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../fs-atomic.js";
import { arrayPretrainData, pretrainDataId, type PretrainDataset } from "../pretrain-data.js";
import { startProgress } from "../progress.js";
import { Rng, deriveSeed } from "../random.js";
import { readSafetensors, writeSafetensors, type TensorMap } from "../safetensors.js";
import { AdamW, checkpointTensors, gradsByParamName, splitCheckpointTensors } from "../wav2vec2/adamw.js";
import type { ParamMap } from "../wav2vec2/params.js";
import { epochBatches, learningRateAt } from "../wav2vec2/pretrain.js";
import { createTfVariables, readTfParams } from "../wav2vec2/tfjs-model.js";
import { type PaseConfig, validatePaseConfig } from "./config.js";
import { PASE_PLUS_DISTORTIONS, type DistortionConfig } from "./distortions.js";
import { initPaseParams, paseParamSpecs } from "./params.js";
import { computeTargetStats, preparePaseBatch, type PaseBatch, type TargetStats } from "./pretrain-batch.js";
import { paseHiddenStates, type BatchStats } from "./tfjs-model.js";
import { initWorkerParams, PASE_PLUS_WORKERS, workerLosses, workerOutputs, type WorkerSpec } from "./workers.js";

export const PASE_CHECKPOINT_FILE = "checkpoint.safetensors";
export const PASE_LOG_FILE = "training-log.json";
const CHECKPOINT_FORMAT = "superb-pase-pretrain-v1";
const LOG_EVERY = 25;
/** Clips whose targets give the standardisation statistics. */
const STATS_CLIPS = 96;
/** Global gradient-norm clip. */
const MAX_GRAD_NORM = 5;

export interface PasePretrainOptions {
  config: PaseConfig;
  data: PretrainDataset | readonly Float32Array[];
  outDir: string;
  steps: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  cropSeconds?: number;
  checkpointEvery?: number;
  distortions?: DistortionConfig;
  workers?: readonly WorkerSpec[];
  /** Stop (checkpointed) after this many steps of this run: for tests of resume. */
  stopAfter?: number;
  progress?: boolean;
  onLog?: (entry: PaseLogEntry) => void;
}

/** Means over the steps since the previous row. */
export interface PaseLogEntry {
  step: number;
  loss: number;
  /** Each worker's loss. */
  workers: Record<string, number>;
  learningRate: number;
  audioSeconds: number;
  seconds: number;
}

interface RunDescriptor {
  config: PaseConfig;
  data: string;
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  cropSamples: number;
  workers: string[];
  distortions: DistortionConfig;
}

export interface PasePretrainSummary {
  outDir: string;
  step: number;
  steps: number;
  completed: boolean;
  resumedFromStep: number;
  /** Steps trained by this call (0 when the folder was already complete). */
  stepsThisRun: number;
  seconds: number;
  audioSeconds: number;
  log: PaseLogEntry[];
  parameters: number;
}

interface LoopState {
  step: number;
  seconds: number;
  audioSeconds: number;
  log: PaseLogEntry[];
  pending: { steps: number; loss: number; workers: Record<string, number> };
}

const emptyPending = (): LoopState["pending"] => ({ steps: 0, loss: 0, workers: {} });

function describeRun(o: PasePretrainOptions, ds: PretrainDataset, usable: number[], cropSamples: number): RunDescriptor {
  return {
    config: o.config,
    data: `${usable.length}:${pretrainDataId(ds)}`,
    steps: o.steps,
    batchSize: o.batchSize ?? 8,
    learningRate: o.learningRate ?? 5e-4,
    seed: o.seed ?? 0,
    cropSamples,
    workers: (o.workers ?? PASE_PLUS_WORKERS).map((w) => w.name),
    distortions: o.distortions ?? PASE_PLUS_DISTORTIONS,
  };
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

function saveCheckpoint(file: string, run: RunDescriptor, state: LoopState, stats: ReadonlyMap<string, TargetStats>, params: ParamMap, adam: AdamW): void {
  writeSafetensors(file, checkpointTensors(params, adam), {
    format: CHECKPOINT_FORMAT,
    run: JSON.stringify(run),
    state: JSON.stringify(state),
    stats: JSON.stringify([...stats]),
  });
}

function loadCheckpoint(file: string, run: RunDescriptor): { state: LoopState; stats: Map<string, TargetStats>; params: ParamMap; m: Map<string, tf.Tensor>; v: Map<string, tf.Tensor> } {
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== CHECKPOINT_FORMAT) throw new UserError(`${file}: not a PASE+ pre-training checkpoint`);
  const saved = JSON.parse(metadata.run ?? "{}") as RunDescriptor;
  const differs = (Object.keys(run) as (keyof RunDescriptor)[]).filter((k) => JSON.stringify(run[k]) !== JSON.stringify(saved[k]));
  if (differs.length > 0) throw new UserError(`${file} belongs to a different pre-training run (differs in: ${differs.join(", ")}); use another --out folder or delete the checkpoint to start over`);
  const { params, m, v } = splitCheckpointTensors(tensors);
  return { state: JSON.parse(metadata.state ?? "{}") as LoopState, stats: new Map(JSON.parse(metadata.stats ?? "[]") as [string, TargetStats][]), params, m, v };
}

// ---------------------------------------------------------------------------------------------
// One step

/** BatchNorm running statistics: r = (1 - m) r + m x, with the unbiased batch variance (PyTorch). */
function updateRunningStats(vars: Map<string, tf.Variable>, c: PaseConfig, stats: BatchStats[]): void {
  const m = c.batch_norm_momentum;
  stats.forEach((s, b) => {
    const mean = vars.get(`blocks.${b}.norm.running_mean`)!;
    const variance = vars.get(`blocks.${b}.norm.running_var`)!;
    tf.tidy(() => {
      mean.assign(tf.add(tf.mul(mean, 1 - m), tf.mul(s.mean, m)));
      variance.assign(tf.add(tf.mul(variance, 1 - m), tf.mul(s.variance, (m * s.count) / Math.max(1, s.count - 1))));
    });
    s.mean.dispose();
    s.variance.dispose();
  });
}

/** Forward, backward, clipped Adam update; returns the total and each worker's loss. */
function trainStep(vars: Map<string, tf.Variable>, trainable: tf.Variable[], c: PaseConfig, workers: readonly WorkerSpec[], batch: PaseBatch, adam: AdamW, lr: number, t: number): { loss: number; workers: Record<string, number> } {
  const stats: BatchStats[] = [];
  const kept = new Map<string, tf.Scalar>();
  const { value, grads } = tf.variableGrads(() => {
    const audio = tf.tensor2d(batch.input, [batch.batch, batch.samples]);
    const states = paseHiddenStates(vars, c, audio, { training: true, stats });
    const emb = states[states.length - 1];
    const targets = new Map(workers.filter((w) => w.kind === "regressor").map((w) => [w.name, tf.tensor3d(batch.targets.get(w.name)!, [batch.batch, batch.frames, workerOutputs(w)])]));
    const losses = workerLosses(vars, workers, emb, { targets, lim: batch.lim, gimNegative: batch.gimNegative });
    for (const [k, l] of losses) kept.set(k, tf.keep(l));
    return tf.addN([...losses.values()]) as tf.Scalar;
  }, trainable);
  const norm = Math.sqrt(tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))).dataSync()[0]));
  const scale = Number.isFinite(norm) && norm > MAX_GRAD_NORM ? MAX_GRAD_NORM / norm : 1;
  const loss = value.dataSync()[0];
  if (!Number.isFinite(loss) || !Number.isFinite(norm)) throw new UserError(`PASE+ pre-training diverged at step ${t} (loss ${loss}, gradient norm ${norm}); lower --lr`);
  const byParam = gradsByParamName(vars, grads);
  if (byParam.size !== trainable.length) throw new Error(`internal: ${trainable.length - byParam.size} of ${trainable.length} PASE+ parameters got no gradient`);
  adam.apply(vars, byParam, lr, t, scale);
  updateRunningStats(vars, c, stats);
  const perWorker: Record<string, number> = {};
  for (const [k, l] of kept) (perWorker[k] = l.dataSync()[0]), l.dispose();
  value.dispose();
  for (const g of Object.values(grads)) g.dispose();
  return { loss, workers: perWorker };
}

// ---------------------------------------------------------------------------------------------
// Output

/** config.json + model.safetensors (encoder only, running statistics included) + the log. */
export function writePaseFolder(dir: string, c: PaseConfig, params: ParamMap): void {
  fs.mkdirSync(dir, { recursive: true });
  const tensors: TensorMap = new Map();
  for (const s of paseParamSpecs(c)) tensors.set(s.name, params.get(s.name)!);
  writeSafetensors(path.join(dir, "model.safetensors"), tensors, { format: "pt", model_type: "pase+" });
  writeFileAtomic(path.join(dir, "config.json"), `${JSON.stringify(c, null, 2)}\n`);
}

function logRow(state: LoopState, lr: number): PaseLogEntry {
  const p = state.pending;
  const workers = Object.fromEntries(Object.entries(p.workers).map(([k, v]) => [k, Number((v / p.steps).toPrecision(5))]));
  return { step: state.step, loss: Number((p.loss / p.steps).toPrecision(5)), workers, learningRate: Number(lr.toPrecision(4)), audioSeconds: Math.round(state.audioSeconds), seconds: Math.round(state.seconds) };
}

/** The summary of a folder this very run already completed, else undefined. */
function finishedRun(dir: string, run: RunDescriptor): PasePretrainSummary | undefined {
  const file = path.join(dir, PASE_LOG_FILE);
  if (!fs.existsSync(file) || fs.existsSync(path.join(dir, PASE_CHECKPOINT_FILE))) return undefined;
  const saved = JSON.parse(fs.readFileSync(file, "utf8")) as PasePretrainSummary & { run: RunDescriptor };
  if (JSON.stringify(saved.run) !== JSON.stringify(run)) throw new UserError(`${dir} already holds a finished PASE+ pre-training of a different run; use another --out folder`);
  return { ...saved, outDir: dir, resumedFromStep: saved.step, stepsThisRun: 0 };
}

// ---------------------------------------------------------------------------------------------
// The loop

/** Pre-trains (or resumes) and writes the folder. */
export async function pretrainPase(o: PasePretrainOptions): Promise<PasePretrainSummary> {
  await initTensorBackend();
  const c = validatePaseConfig({ ...o.config }, "PASE+ config");
  const ds = Array.isArray(o.data) ? arrayPretrainData(o.data as readonly Float32Array[]) : (o.data as PretrainDataset);
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new UserError(`pre-training steps must be a positive integer, got ${o.steps}`);
  const workers = o.workers ?? PASE_PLUS_WORKERS;
  const minSamples = Math.round(0.25 * c.sample_rate);
  const usable = Array.from({ length: ds.size }, (_, i) => i).filter((i) => ds.length(i) >= minSamples);
  const batchSize = o.batchSize ?? 8;
  if (usable.length < batchSize) throw new UserError(`only ${usable.length} clips are at least 0.25 s long; PASE+ pre-training needs a batch of ${batchSize}`);
  const cropSamples = Math.round((o.cropSeconds ?? 1) * c.sample_rate);
  const run = describeRun(o, ds, usable, cropSamples);
  const ckpt = path.join(o.outDir, PASE_CHECKPOINT_FILE);
  const done = finishedRun(o.outDir, run);
  if (done) return done;
  fs.mkdirSync(o.outDir, { recursive: true });

  let state: LoopState = { step: 0, seconds: 0, audioSeconds: 0, log: [], pending: emptyPending() };
  let params: ParamMap;
  let stats: Map<string, TargetStats>;
  const adam = new AdamW(0.9, 0.999, 1e-8, 0);
  if (fs.existsSync(ckpt)) {
    const r = loadCheckpoint(ckpt, run);
    ({ state, stats, params } = r);
    for (const [k, t] of r.m) adam.m.set(k, t);
    for (const [k, t] of r.v) adam.v.set(k, t);
  } else {
    params = new Map([...initPaseParams(c, run.seed), ...initWorkerParams(workers, c.emb_dim, run.seed)]);
    const pick = new Rng(deriveSeed(run.seed, "pase-stats")).shuffle(usable).slice(0, STATS_CLIPS);
    stats = computeTargetStats(workers, c, pick.map((i) => ds.load(i).subarray(0, cropSamples)));
  }
  const resumedFromStep = state.step;
  const vars = createTfVariables(params);
  const buffers = new Set(paseParamSpecs(c).filter((s) => s.buffer).map((s) => s.name));
  const trainable = [...vars].filter(([k]) => !buffers.has(k)).map(([, v]) => v);
  const lengths = usable.map((i) => ds.length(i));
  const perEpoch = epochBatches(lengths, batchSize, run.seed, 0).length;
  const bar = startProgress({ label: "PASE+ pre-training", total: o.steps, unit: "steps", enabled: o.progress });
  bar.increment(state.step);
  const warmup = Math.round(0.05 * o.steps);
  const checkpointEvery = o.checkpointEvery ?? 50;
  let ranThisRun = 0;
  let t0 = performance.now();
  const save = async (): Promise<void> => saveCheckpoint(ckpt, run, state, stats, await readTfParams(vars), adam);
  try {
    while (state.step < o.steps) {
      const epoch = Math.floor(state.step / perEpoch);
      const members = epochBatches(lengths, batchSize, run.seed, epoch)[state.step % perEpoch].map((k) => usable[k]);
      const batch = preparePaseBatch(c, members.map((i) => ds.load(i)), { cropSamples, seed: run.seed, step: state.step, distortions: run.distortions, workers, stats });
      const lr = learningRateAt(state.step, o.steps, run.learningRate, warmup);
      const r = trainStep(vars, trainable, c, workers, batch, adam, lr, state.step + 1);
      state.step++;
      ranThisRun++;
      state.audioSeconds += batch.audioSeconds;
      const now = performance.now();
      state.seconds += (now - t0) / 1000;
      t0 = now;
      state.pending.steps++;
      state.pending.loss += r.loss;
      for (const [k, v] of Object.entries(r.workers)) state.pending.workers[k] = (state.pending.workers[k] ?? 0) + v;
      bar.increment(1, { loss: r.loss.toFixed(3), ...Object.fromEntries(Object.entries(r.workers).map(([k, v]) => [k, v.toFixed(3)])) });
      if (state.step % LOG_EVERY === 0 || state.step === o.steps) {
        const row = logRow(state, lr);
        state.log.push(row);
        state.pending = emptyPending();
        o.onLog?.(row);
      }
      if (state.step % checkpointEvery === 0 || state.step === o.steps || (o.stopAfter !== undefined && ranThisRun >= o.stopAfter)) await save();
      if (o.stopAfter !== undefined && ranThisRun >= o.stopAfter && state.step < o.steps) break;
    }
  } finally {
    bar.stop();
  }
  const completed = state.step >= o.steps;
  const finalParams = await readTfParams(vars);
  for (const v of vars.values()) v.dispose();
  adam.dispose();
  const parameters = paseParamSpecs(c).filter((s) => !s.buffer).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  const summary: PasePretrainSummary = { outDir: o.outDir, step: state.step, steps: o.steps, completed, resumedFromStep, stepsThisRun: ranThisRun, seconds: state.seconds, audioSeconds: state.audioSeconds, log: state.log, parameters };
  if (completed) {
    writePaseFolder(o.outDir, c, finalParams);
    writeFileAtomic(path.join(o.outDir, PASE_LOG_FILE), `${JSON.stringify({ ...summary, run, targetStats: Object.fromEntries(stats) }, null, 2)}\n`);
    fs.rmSync(ckpt, { force: true });
  }
  return summary;
}
