import * as tf from "@tensorflow/tfjs";
import * as fs from "node:fs";
import type { DatasetItem, Split } from "./dataset.js";
import type { FeatureSource } from "./feature-cache.js";
import { WeightedLayerSum } from "./featurizer.js";
import { UserError } from "./errors.js";
import { startProgress } from "./progress.js";
import { isBetter, type Score, type TaskContext, type TaskDefinition, type TrainingOptions } from "./task.js";
import { mulberry32, seededShuffle } from "./random.js";
import { restoreTrainingCheckpoint, saveTrainingCheckpoint } from "./train-checkpoint.js";

/**
 * The shared training loop: batches from the feature cache, featurizer + task model, Adam, dev
 * evaluation for model selection, periodic checkpoints that a rerun resumes from.
 */
export interface TrainResult {
  layerWeights: number[];
  dev: Score;
  test: Score;
  bestStep: number;
  stepsRun: number;
  resumedFromStep: number;
  finalTrainLoss: number;
  seconds: { train: number; evaluate: number };
}

export interface TrainOptions<P> {
  task: TaskDefinition<P>;
  /** The task's data (splits, label sets) and model dimensions. */
  context: TaskContext;
  stores: Record<Split, FeatureSource>;
  options: TrainingOptions;
  seed: number;
  /** Checkpoint file; absent = no checkpointing. */
  checkpointPath?: string;
  /** Identifies the run; a checkpoint with another key is ignored. */
  checkpointKey?: string;
  progress?: boolean;
  /** Called after every training step with its loss (progress reporting from worker threads). */
  onStep?: (loss: number) => void;
  /** One-line notices (a checkpoint that could not be written). */
  onNotice?: (message: string) => void;
}

/** Normalisation statistics per (layer, dim) from the training split, so layers are comparable. */
export interface Normaliser {
  mean: Float32Array;
  invStd: Float32Array;
}

function normaliserOf(store: FeatureSource): Normaliser {
  return {
    mean: Float32Array.from(store.mean),
    invStd: Float32Array.from(store.std, (s) => 1 / s),
  };
}

/** Loads items of one split as a padded [B, L, T, D] tensor of standardised features. */
export async function loadStackedBatch(utts: DatasetItem[], store: FeatureSource, norm: Normaliser): Promise<{ stacked: tf.Tensor4D; lengths: number[] }> {
  const L = store.numLayers;
  const D = store.dim;
  const blocks = await Promise.all(utts.map((u) => store.read(u.id)));
  const lengths = blocks.map((b) => b.length / (L * D));
  const T = Math.max(1, ...lengths);
  const data = new Float32Array(utts.length * L * T * D);
  utts.forEach((_, b) => {
    const block = blocks[b];
    const len = lengths[b];
    for (let l = 0; l < L; l++) {
      const src = l * len * D;
      const dst = ((b * L + l) * T) * D;
      for (let t = 0; t < len; t++) {
        for (let d = 0; d < D; d++) {
          const k = l * D + d;
          data[dst + t * D + d] = (block[src + t * D + d] - norm.mean[k]) * norm.invStd[k];
        }
      }
    }
  });
  return { stacked: tf.tensor4d(data, [utts.length, L, T, D]), lengths };
}

/** One utterance's per-layer mean over frames of its standardised features, [L x D]. */
export function standardisedLayerMeans(block: Float32Array, numLayers: number, numFrames: number, dim: number, norm: Normaliser): Float32Array {
  const sums = new Float64Array(numLayers * dim);
  for (let l = 0; l < numLayers; l++) {
    const src = l * numFrames * dim;
    for (let t = 0; t < numFrames; t++) for (let d = 0; d < dim; d++) sums[l * dim + d] += block[src + t * dim + d];
  }
  const n = Math.max(1, numFrames);
  return Float32Array.from(sums, (s, k) => (s / n - norm.mean[k]) * norm.invStd[k]);
}

/**
 * The batch loader of a task: padded frames, or for `poolsUtteranceMean` tasks one frame per
 * utterance holding its per-layer means ([B, L, 1, D], lengths 1). From a frames store the means
 * are kept in memory after the first read (L x D floats per item); a "means" store holds them
 * already and is read as it is.
 */
type BatchLoader = (utts: DatasetItem[], split: Split) => Promise<{ stacked: tf.Tensor4D; lengths: number[] }>;

function batchLoader(pooled: boolean, stores: Record<Split, FeatureSource>, norm: Normaliser): BatchLoader {
  if (!pooled) return (utts, split) => loadStackedBatch(utts, stores[split], norm);
  const means = new Map<string, Float32Array>();
  return async (utts, split) => {
    const store = stores[split];
    const L = store.numLayers;
    const D = store.dim;
    const data = new Float32Array(utts.length * L * D);
    for (let b = 0; b < utts.length; b++) {
      const u = utts[b];
      const key = `${split}/${u.id}`;
      let m = means.get(key);
      if (!m) {
        const block = await store.read(u.id);
        m = standardisedLayerMeans(block, L, block.length / (L * D), D, norm);
        if (store.mode === "frames") means.set(key, m);
      }
      data.set(m, b * L * D);
    }
    return { stacked: tf.tensor4d(data, [utts.length, L, 1, D]), lengths: utts.map(() => 1) };
  };
}

/** Batches per bucketing pool: enough that sorted neighbours have similar lengths, few enough to keep batches varied. */
const BUCKET_POOL_BATCHES = 8;

/**
 * The training utterances of step s: a deterministic function of (seed, s), so a resumed run sees
 * the same batches. With `sortedFirstEpoch` (the utterances given shortest-first) epoch 0 keeps
 * that order. With `lengthOf`, later epochs are bucketed as s3prl's and fairseq's samplers do:
 * the shuffled epoch is cut into pools of a few batches, each pool sorted by length and cut into
 * batches, and the batches shuffled, so a batch pads to a length close to its own (random batches
 * of this corpus pad 1.5x, i.e. a third of a sequence head's work is on padding).
 */
export function batchForStep(
  train: readonly DatasetItem[],
  batchSize: number,
  seed: number,
  step: number,
  sortedFirstEpoch: boolean,
  lengthOf?: (u: DatasetItem) => number,
): DatasetItem[] {
  const perEpoch = Math.max(1, Math.floor(train.length / batchSize));
  const epoch = Math.floor(step / perEpoch);
  const within = step % perEpoch;
  const size = Math.min(batchSize, train.length);
  if (sortedFirstEpoch && epoch === 0) return Array.from({ length: size }, (_, i) => train[(within * batchSize + i) % train.length]);
  const order = seededShuffle(train.length, seed * 7919 + epoch);
  if (!lengthOf || perEpoch < 2) return Array.from({ length: size }, (_, i) => train[order[(within * batchSize + i) % train.length]]);
  // Only the perEpoch * batchSize utterances this epoch uses are bucketed (the rest wait for a later shuffle).
  const used = order.slice(0, perEpoch * batchSize);
  const pool = batchSize * BUCKET_POOL_BATCHES;
  const batches: number[][] = [];
  for (let p = 0; p < used.length; p += pool) {
    const sorted = used.slice(p, p + pool).sort((x, y) => lengthOf(train[x]) - lengthOf(train[y]) || x - y);
    for (let i = 0; i < sorted.length; i += batchSize) batches.push(sorted.slice(i, i + batchSize));
  }
  const batchOrder = seededShuffle(batches.length, seed * 7919 + epoch + 104729);
  return batches[batchOrder[within]].map((i) => train[i]);
}

/**
 * Class-balanced batch of step s (s3prl KS's WeightedRandomSampler with weights 1 / class size):
 * each slot draws a class uniformly, then an item of it uniformly; deterministic in (seed, s).
 */
export function balancedBatchForStep(train: readonly DatasetItem[], classOf: (u: DatasetItem) => string, batchSize: number, seed: number, step: number): DatasetItem[] {
  const byClass = new Map<string, DatasetItem[]>();
  for (const u of train) {
    const c = classOf(u);
    const list = byClass.get(c);
    if (list) list.push(u);
    else byClass.set(c, [u]);
  }
  const classes = [...byClass.keys()].sort();
  const rand = mulberry32((seed * 7919 + step * 104729) >>> 0);
  return Array.from({ length: batchSize }, () => {
    const members = byClass.get(classes[Math.floor(rand() * classes.length)])!;
    return members[Math.floor(rand() * members.length)];
  });
}

async function predictAll<P>(model: ReturnType<TaskDefinition<P>["createModel"]>, featurizer: WeightedLayerSum, utts: DatasetItem[], split: Split, store: FeatureSource, load: BatchLoader, batchSize: number): Promise<Map<string, P>> {
  // Length-sorted batches waste little on padding.
  const sorted = [...utts].sort((a, b) => store.sourceFrames(a.id) - store.sourceFrames(b.id));
  const out = new Map<string, P>();
  for (let i = 0; i < sorted.length; i += batchSize) {
    const chunk = sorted.slice(i, i + batchSize);
    const { stacked, lengths } = await load(chunk, split);
    const features = featurizer.apply(stacked);
    // predict() returns plain data; the scope frees every intermediate tensor of the heads.
    tf.engine().startScope();
    let preds: P[];
    try {
      preds = model.predict({ utterances: chunk, features, lengths });
    } finally {
      tf.engine().endScope();
    }
    tf.dispose([stacked, features]);
    chunk.forEach((u, j) => out.set(u.id, preds[j]));
  }
  return out;
}

/** Everything one training run owns: model, featurizer, optimizer, and the loop's state. */
interface TrainingRun<P> {
  model: ReturnType<TaskDefinition<P>["createModel"]>;
  featurizer: WeightedLayerSum;
  named: Map<string, tf.Variable>;
  optimizer: tf.Optimizer;
  load: BatchLoader;
  step: number;
  bestStep: number;
  bestDev: Score | undefined;
  best: Map<string, tf.Tensor> | undefined;
  lastLoss: number;
  evalSeconds: number;
}

export async function trainAndEvaluate<P>(opts: TrainOptions<P>): Promise<TrainResult> {
  const { task, context, stores, options } = opts;
  if (context.data.splits.train.length === 0) throw new Error(`task ${task.name}: no training utterances`);
  const featurizer = new WeightedLayerSum(stores.train.numLayers);
  const run: TrainingRun<P> = {
    model: task.createModel(context),
    featurizer,
    named: new Map(),
    optimizer: tf.train.adam(options.learningRate),
    load: batchLoader(task.poolsUtteranceMean === true, stores, normaliserOf(stores.train)),
    step: 0,
    bestStep: -1,
    bestDev: undefined,
    best: undefined,
    lastLoss: NaN,
    evalSeconds: 0,
  };
  run.named = new Map<string, tf.Variable>([["featurizer.weights", featurizer.weights], ...run.model.parameters]);
  // Disposed however the run ends: an interrupted or failed task must not leave variables
  // registered under its names for the next task of this thread.
  try {
    const resumedFromStep = await resumeFromCheckpoint(run, opts);
    const trainStart = performance.now();
    await trainSteps(run, opts);
    const trainSeconds = (performance.now() - trainStart) / 1000 - run.evalSeconds;
    const t0 = performance.now();
    const test = await testBest(run, opts);
    return {
      layerWeights: featurizer.layerWeights(),
      dev: run.bestDev!,
      test,
      bestStep: run.bestStep,
      stepsRun: run.step - resumedFromStep,
      resumedFromStep,
      finalTrainLoss: run.lastLoss,
      seconds: { train: trainSeconds, evaluate: run.evalSeconds + (performance.now() - t0) / 1000 },
    };
  } finally {
    if (run.best) tf.dispose([...run.best.values()]);
    tf.dispose([...run.named.values()]);
    run.optimizer.dispose();
  }
}

/** Restores the run's checkpoint if there is one of this run; returns the step it resumes from. */
async function resumeFromCheckpoint<P>(run: TrainingRun<P>, opts: TrainOptions<P>): Promise<number> {
  if (!opts.checkpointPath || !fs.existsSync(opts.checkpointPath)) return 0;
  const restored = await restoreTrainingCheckpoint(opts.checkpointPath, opts.checkpointKey ?? "", opts.options.steps, run.named, run.optimizer);
  if (!restored) return 0;
  ({ step: run.step, bestStep: run.bestStep, bestDev: run.bestDev, best: run.best, lastLoss: run.lastLoss } = restored);
  return run.step;
}

/** Evaluates on dev and keeps a copy of the parameters when they are the best so far. */
async function evaluateDev<P>(run: TrainingRun<P>, opts: TrainOptions<P>): Promise<void> {
  const { task, context, stores, options } = opts;
  const t0 = performance.now();
  const preds = await predictAll(run.model, run.featurizer, context.data.splits.dev, "dev", stores.dev, run.load, options.batchSize * 2);
  // Dev items are not kept: only the test split's go beside the result (and none into checkpoints).
  const { items: _devItems, ...score } = task.score(preds, context.data.splits.dev, "dev", context);
  run.evalSeconds += (performance.now() - t0) / 1000;
  if (!run.bestDev || isBetter(task.metric, score.value, run.bestDev.value)) {
    run.bestDev = score;
    run.bestStep = run.step;
    if (run.best) tf.dispose([...run.best.values()]);
    run.best = new Map([...run.named].map(([k, v]) => [k, tf.clone(v)]));
  }
}

/** The training loop from run.step to the last step: Adam on each step's batch, dev evaluation and a checkpoint every evalEvery steps. */
async function trainSteps<P>(run: TrainingRun<P>, opts: TrainOptions<P>): Promise<void> {
  const { task, stores, options } = opts;
  const splits = opts.context.data.splits;
  const trainUtterances = task.sortagrad
    ? [...splits.train].sort((a, b) => stores.train.sourceFrames(a.id) - stores.train.sourceFrames(b.id) || (a.id < b.id ? -1 : 1))
    : splits.train;
  const lengthOf = task.bucketByLength ? (u: DatasetItem) => stores.train.sourceFrames(u.id) : undefined;
  const varList = [...run.named.values()];
  const bar = startProgress({ label: `training ${task.name}`, total: options.steps, unit: "steps", enabled: opts.progress });
  bar.increment(run.step);
  let lossSum = 0;
  let lossCount = 0;
  let checkpointPath = opts.checkpointPath;
  try {
    while (run.step < options.steps) {
      const utts = task.balanceBy
        ? balancedBatchForStep(trainUtterances, task.balanceBy, options.batchSize, opts.seed, run.step)
        : batchForStep(trainUtterances, options.batchSize, opts.seed, run.step, task.sortagrad === true, lengthOf);
      const { stacked, lengths } = await run.load(utts, "train");
      const lossTensor = run.optimizer.minimize(() => run.model.loss({ utterances: utts, features: run.featurizer.apply(stacked), lengths }), true, varList);
      stacked.dispose();
      const loss = lossTensor ? (await lossTensor.data())[0] : NaN;
      lossTensor?.dispose();
      if (!Number.isFinite(loss)) throw new UserError(`task ${task.name}`, `training loss became ${loss} at step ${run.step}; lower --learning-rate`);
      lossSum += loss;
      lossCount += 1;
      run.lastLoss = loss;
      run.step += 1;
      bar.increment(1, { loss: (lossSum / lossCount).toFixed(3) });
      opts.onStep?.(loss);
      if (run.step % options.evalEvery === 0 || run.step === options.steps) {
        lossSum = 0;
        lossCount = 0;
        await evaluateDev(run, opts);
        if (checkpointPath) checkpointPath = await checkpointOrWarn(run, opts, checkpointPath);
      }
    }
    if (!run.bestDev) await evaluateDev(run, opts);
  } finally {
    bar.stop();
  }
}

/**
 * Saves a checkpoint; if the disk refuses (folder removed or read-only, disk full), says so once
 * and trains on without checkpoints rather than throwing the training away. Returns the path to
 * use next time (undefined once checkpointing is off).
 */
async function checkpointOrWarn<P>(run: TrainingRun<P>, opts: TrainOptions<P>, file: string): Promise<string | undefined> {
  try {
    await saveTrainingCheckpoint(file, opts.checkpointKey ?? "", { step: run.step, bestStep: run.bestStep, bestDev: run.bestDev!, lastLoss: run.lastLoss }, run.named, run.best!, run.optimizer);
    return file;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== "string") throw err;
    opts.onNotice?.(`${file}: cannot write the checkpoint (${code}); ${opts.task.name} trains on without checkpoints`);
    return undefined;
  }
}

/** Model selection: the parameters of the best dev evaluation are the ones tested. */
async function testBest<P>(run: TrainingRun<P>, opts: TrainOptions<P>): Promise<Score> {
  const { task, context, stores, options } = opts;
  for (const [k, v] of run.named) v.assign(run.best!.get(k)!);
  const preds = await predictAll(run.model, run.featurizer, context.data.splits.test, "test", stores.test, run.load, options.batchSize * 2);
  return task.score(preds, context.data.splits.test, "test", context);
}
