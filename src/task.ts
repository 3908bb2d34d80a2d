import type * as tf from "@tensorflow/tfjs";
import type { DatasetItem, Split, TaskData } from "./dataset.js";

/**
 * A task turns features into a metric (s3prl's downstream "expert"): it takes its splits and
 * label sets from a dataset (TaskData), builds a model from downstream heads, defines the loss,
 * and scores predictions. The shared loop in train.ts does batching, the featurizer, optimisation, model
 * selection on dev and checkpoints.
 */
export type MetricName = "per" | "wer" | "accuracy" | "eer";
export type { Split };

export interface MetricSpec {
  name: MetricName;
  /** true for accuracy; false for error rates. */
  higherIsBetter: boolean;
}

export interface TrainingOptions {
  learningRate: number;
  steps: number;
  batchSize: number;
  /** Evaluate on dev every this many steps (and at the end) for model selection. */
  evalEvery: number;
}

export interface TaskContext {
  /** The task's splits and label sets, from the dataset. */
  data: TaskData;
  /** Dimension of the featurizer output. */
  inputDim: number;
  /** Frames per second of the features. */
  frameRate: number;
  seed: number;
}

/** A batch after the featurizer: [B, T, D] features, valid lengths, and the utterances. */
export interface FeatureBatch {
  utterances: DatasetItem[];
  features: tf.Tensor3D;
  lengths: number[];
}

export interface TaskModel<P> {
  /** Named trainable parameters (names are stable across runs, for checkpoints). */
  readonly parameters: Map<string, tf.Variable>;
  /** Scalar training loss of a batch. */
  loss(batch: FeatureBatch): tf.Scalar;
  /** One prediction per utterance, as plain data for scoring. */
  predict(batch: FeatureBatch): P[];
}

export interface Score {
  value: number;
  secondary: Record<string, number>;
  /** What was predicted per item (per trial for ASV): the raw material of paired comparisons. */
  items?: ItemOutput[];
}

/**
 * One test item's outcome, as `superb compare` resamples it: a sequence with its edit errors and
 * reference length (PR, ASR: the corpus rate is Σ errors / Σ length), a label (IC, SID, KS), or
 * an ASV trial with its score.
 */
export type ItemOutput =
  | { kind: "sequence"; id: string; reference: string; hypothesis: string; errors: number; length: number }
  | { kind: "label"; id: string; truth: string; predicted: string }
  | { kind: "trial"; enroll: string; test: string; label: 0 | 1; score: number; /** The enrolment utterance's speaker: comparisons resample trials by it. */ speaker: string };


export interface TaskDefinition<P = unknown> {
  readonly name: string;
  readonly description: string;
  readonly metric: MetricSpec;
  /** Dataset kinds this task reads (`--data KIND=DIR`); "embedded" is the synthetic corpus. */
  readonly datasetKinds: readonly string[];
  /** Training defaults; a dataset may override them (the embedded corpus does, per profile). */
  readonly defaults: TrainingOptions;
  /**
   * Present the first epoch shortest-first (SortaGrad, Amodei et al. 2016): CTC leaves its
   * all-blank plateau sooner when it starts on short utterances.
   */
  readonly sortagrad?: boolean;
  /**
   * Train on batches of similar length (after any sortagrad epoch). For heads whose cost grows
   * with padded frames (CTC, TDNN); pooling heads gain nothing from it.
   */
  readonly bucketByLength?: boolean;
  /**
   * The model sees its features only through their mean over each utterance's valid frames
   * (mean pooling comes before anything non-linear, as in SUPERB's IC and SID heads). The trainer
   * then hands it each utterance as one frame, the per-layer mean of the standardised features:
   * the same function, since standardisation and the featurizer's weighted sum are affine and so
   * commute with the mean, at a fraction of the cost for upstreams with many layers.
   */
  readonly poolsUtteranceMean?: boolean;
  /**
   * Draw training batches class-balanced (uniform over classes, then over a class's items), as
   * s3prl's KS does with a WeightedRandomSampler: returns an item's class.
   */
  readonly balanceBy?: (item: DatasetItem) => string;
  /** Relative cost of one training step, used only to start the longest tasks first. */
  readonly costPerStep?: number;
  createModel(context: TaskContext): TaskModel<P>;
  /** Scores predictions for the dev (model selection) or test split. */
  score(predictions: Map<string, P>, items: DatasetItem[], split: "dev" | "test", context: TaskContext): Score;
}

/** True when a is a better score than b under the metric's direction. */
export function isBetter(metric: MetricSpec, a: number, b: number): boolean {
  return metric.higherIsBetter ? a > b : a < b;
}
