import * as tf from "@tensorflow/tfjs";
import * as fs from "node:fs";
import type { DatasetItem, Split } from "./dataset.js";
import type { FeatureSource } from "./feature-cache.js";
import { WeightedLayerSum } from "./featurizer.js";
import { startProgress } from "./progress.js";
import { readSafetensors, writeSafetensors, type TensorMap } from "./safetensors.js";
import { isBetter, type Score, type TaskContext, type TaskDefinition, type TrainingOptions } from "./task.js";
import { mulberry32, seededShuffle } from "./random.js";

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

export async function trainAndEvaluate<P>(opts: TrainOptions<P>): Promise<TrainResult> {
  const { task, context, stores, options } = opts;
  const splits = context.data.splits;
  if (splits.train.length === 0) throw new Error(`task ${task.name}: no training utterances`);
  const norm = normaliserOf(stores.train);
  const load = batchLoader(task.poolsUtteranceMean === true, stores, norm);
  const featurizer = new WeightedLayerSum(stores.train.numLayers);
  const model = task.createModel(context);
  const named = new Map<string, tf.Variable>([["featurizer.weights", featurizer.weights], ...model.parameters]);
  const varList = [...named.values()];
  const optimizer = tf.train.adam(options.learningRate);

  let step = 0;
  let bestStep = -1;
  let bestDev: Score | undefined;
  let best: Map<string, tf.Tensor> | undefined;
  let lossSum = 0;
  let lossCount = 0;
  let lastLoss = NaN;
  let evalSeconds = 0;

  // Resume
  let resumedFromStep = 0;
  if (opts.checkpointPath && fs.existsSync(opts.checkpointPath)) {
    const restored = await restoreCheckpoint(opts.checkpointPath, opts.checkpointKey ?? "", named, optimizer);
    if (restored) {
      step = restored.step;
      bestStep = restored.bestStep;
      bestDev = restored.bestDev;
      best = restored.best;
      resumedFromStep = step;
    }
  }

  const trainUtterances = task.sortagrad
    ? [...splits.train].sort((a, b) => stores.train.sourceFrames(a.id) - stores.train.sourceFrames(b.id) || (a.id < b.id ? -1 : 1))
    : splits.train;
  const lengthOf = task.bucketByLength ? (u: DatasetItem) => stores.train.sourceFrames(u.id) : undefined;
  const trainStart = performance.now();
  const bar = startProgress({ label: `training ${task.name}`, total: options.steps, unit: "steps", enabled: opts.progress });
  bar.increment(step);
  const evaluateDev = async () => {
    const t0 = performance.now();
    const preds = await predictAll(model, featurizer, splits.dev, "dev", stores.dev, load, options.batchSize * 2);
    const score = task.score(preds, splits.dev, "dev", context);
    evalSeconds += (performance.now() - t0) / 1000;
    if (!bestDev || isBetter(task.metric, score.value, bestDev.value)) {
      bestDev = score;
      bestStep = step;
      if (best) tf.dispose([...best.values()]);
      best = new Map([...named].map(([k, v]) => [k, tf.clone(v)]));
    }
  };
  try {
    while (step < options.steps) {
      const utts = task.balanceBy
        ? balancedBatchForStep(trainUtterances, task.balanceBy, options.batchSize, opts.seed, step)
        : batchForStep(trainUtterances, options.batchSize, opts.seed, step, task.sortagrad === true, lengthOf);
      const { stacked, lengths } = await load(utts, "train");
      const lossTensor = optimizer.minimize(() => {
        const features = featurizer.apply(stacked);
        return model.loss({ utterances: utts, features, lengths });
      }, true, varList);
      stacked.dispose();
      const loss = lossTensor ? (await lossTensor.data())[0] : NaN;
      lossTensor?.dispose();
      if (!Number.isFinite(loss)) throw new Error(`task ${task.name}: training loss became ${loss} at step ${step}; lower --learning-rate`);
      lossSum += loss;
      lossCount += 1;
      lastLoss = loss;
      step += 1;
      bar.increment(1, { loss: (lossSum / lossCount).toFixed(3) });
      opts.onStep?.(loss);
      if (step % options.evalEvery === 0 || step === options.steps) {
        lossSum = 0;
        lossCount = 0;
        await evaluateDev();
        if (opts.checkpointPath) await saveCheckpoint(opts.checkpointPath, opts.checkpointKey ?? "", step, bestStep, bestDev!, named, best!, optimizer);
      }
    }
    if (!bestDev) await evaluateDev();
  } finally {
    bar.stop();
  }
  const trainSeconds = (performance.now() - trainStart) / 1000 - evalSeconds;

  // Model selection: the parameters of the best dev evaluation are tested.
  for (const [k, v] of named) v.assign(best!.get(k)!);
  const t0 = performance.now();
  const testPreds = await predictAll(model, featurizer, splits.test, "test", stores.test, load, options.batchSize * 2);
  const test = task.score(testPreds, splits.test, "test", context);
  const testSeconds = (performance.now() - t0) / 1000;
  const layerWeights = featurizer.layerWeights();
  tf.dispose([...best!.values()]);
  tf.dispose(varList);
  optimizer.dispose();
  return {
    layerWeights,
    dev: bestDev!,
    test,
    bestStep,
    stepsRun: step - resumedFromStep,
    resumedFromStep,
    finalTrainLoss: lastLoss,
    seconds: { train: trainSeconds, evaluate: evalSeconds + testSeconds },
  };
}

async function saveCheckpoint(file: string, key: string, step: number, bestStep: number, bestDev: Score, named: Map<string, tf.Variable>, best: Map<string, tf.Tensor>, optimizer: tf.Optimizer): Promise<void> {
  const tensors: TensorMap = new Map();
  for (const [k, v] of named) tensors.set(`current.${k}`, { shape: v.shape, data: (await v.data()) as Float32Array });
  for (const [k, v] of best) tensors.set(`best.${k}`, { shape: v.shape, data: (await v.data()) as Float32Array });
  const optWeights = await optimizer.getWeights();
  optWeights.forEach((w, i) => tensors.set(`optimizer.${i}`, { shape: w.tensor.shape, data: Float32Array.from(w.tensor.dataSync()) }));
  writeSafetensors(file, tensors, {
    key,
    step: String(step),
    bestStep: String(bestStep),
    bestDev: JSON.stringify(bestDev),
    optimizerSlots: String(optWeights.length),
    optimizerNames: JSON.stringify(optWeights.map((w) => w.name)),
  });
}

async function restoreCheckpoint(file: string, key: string, named: Map<string, tf.Variable>, optimizer: tf.Optimizer) {
  let content;
  try {
    content = readSafetensors(file);
  } catch {
    return undefined; // an unreadable checkpoint only costs a restart
  }
  const { tensors, metadata } = content;
  if (metadata.key !== key) return undefined;
  for (const k of named.keys()) if (!tensors.has(`current.${k}`) || !tensors.has(`best.${k}`)) return undefined;
  for (const [k, v] of named) {
    const t = tensors.get(`current.${k}`)!;
    v.assign(tf.tensor(t.data, t.shape));
  }
  const best = new Map<string, tf.Tensor>([...named.keys()].map((k) => {
    const t = tensors.get(`best.${k}`)!;
    return [k, tf.tensor(t.data, t.shape)];
  }));
  const names = JSON.parse(metadata.optimizerNames ?? "[]") as string[];
  const slots = names.map((name, i) => {
    const t = tensors.get(`optimizer.${i}`)!;
    return { name, tensor: tf.tensor(t.data, t.shape) };
  });
  if (slots.length > 0) await optimizer.setWeights(slots);
  return { step: Number(metadata.step), bestStep: Number(metadata.bestStep), bestDev: JSON.parse(metadata.bestDev) as Score, best };
}
