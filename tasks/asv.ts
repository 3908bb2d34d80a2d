import * as tf from "@tensorflow/tfjs";
import { XVectorHead } from "../downstreams/xvector.js";
import { amSoftmaxLoss } from "../src/losses.js";
import { equalErrorRate, minDcf } from "../src/metrics.js";
import { ParameterSet } from "../src/nn.js";
import { mulberry32 } from "../src/random.js";
import type { AsvTrial, Utterance } from "../src/corpus/types.js";
import type { TaskDefinition } from "../src/task.js";

/**
 * Speaker verification: x-vector head trained with AM-softmax (s = 30, m = 0.4) on the seen
 * speakers; L2-normalised embeddings of unseen speakers scored by cosine on the trial list;
 * EER (%) and minDCF (p_target = 0.01).
 */
export const task: TaskDefinition<Float32Array> = {
  name: "asv",
  description: "speaker verification: x-vector + AM-softmax, cosine scoring of unseen-speaker trials, EER (%)",
  metric: { name: "eer", higherIsBetter: false },
  bucketByLength: true,
  costPerStep: 2,
  defaults: {
    quick: { learningRate: 2e-3, steps: 100, batchSize: 16, evalEvery: 50 },
    full: { learningRate: 2e-3, steps: 480, batchSize: 32, evalEvery: 120 },
  },
  splits(corpus) {
    const seen = new Set(corpus.manifest.speakers.filter((s) => s.seen).map((s) => s.id));
    const inTrials = new Set(corpus.manifest.asvTrials.flatMap((t) => [t.enroll, t.test]));
    const utts = corpus.manifest.utterances;
    return {
      train: utts.filter((u) => u.split === "train" && seen.has(u.speaker)),
      dev: utts.filter((u) => u.split === "dev" && seen.has(u.speaker)),
      test: utts.filter((u) => inTrials.has(u.id)),
    };
  },
  createModel(context, splits) {
    const speakers = [...new Set(splits.train.map((u) => u.speaker))].sort();
    const index = new Map(speakers.map((s, i) => [s, i]));
    const params = new ParameterSet(context.seed);
    // SUPERB: 512 / 512 / 1500 channels on VoxCeleb at 100 fps. Here a quarter of the width at
    // 25 fps (4 stacked FBANK frames, 2 wav2vec 2.0 frames): the head is FLOP-bound on a one-thread
    // backend, and a one-hour corpus of at most 60 speakers does not need more.
    const options = { projectionDim: 128, channels: 128, poolChannels: 384, embeddingDim: 128, stack: Math.max(1, Math.round(context.frameRate / 25)) };
    const head = new XVectorHead(params, context.inputDim, options);
    const classWeights = params.uniform("head.amsoftmax.weight", [options.embeddingDim, speakers.length], options.embeddingDim);
    return {
      parameters: params.variables,
      loss: (batch) => amSoftmaxLoss(head.forward(batch.features, batch.lengths), classWeights as tf.Variable<tf.Rank.R2>, batch.utterances.map((u) => index.get(u.speaker)!)),
      predict: (batch) => {
        const e = head.forward(batch.features, batch.lengths);
        const normalised = tf.div(e, tf.add(tf.norm(e, 2, 1, true), 1e-8));
        const data = normalised.dataSync() as Float32Array;
        const E = e.shape[1];
        return batch.utterances.map((_, b) => data.slice(b * E, (b + 1) * E));
      },
    };
  },
  score(predictions, utterances, split, context) {
    const trials = split === "test" ? context.corpus.manifest.asvTrials : devTrials(utterances, context.seed);
    const scores = trials.map((t) => cosine(predictions.get(t.enroll)!, predictions.get(t.test)!));
    const labels = trials.map((t) => t.label);
    return {
      value: equalErrorRate(scores, labels).eer,
      secondary: { minDCF: minDcf(scores, labels, { pTarget: 0.01 }).minDcf, trials: trials.length },
    };
  },
};

/** Balanced dev trials among seen speakers' dev utterances (one target and one non-target each). */
export function devTrials(utterances: Utterance[], seed: number): AsvTrial[] {
  const rand = mulberry32(seed ^ 0x5eed);
  const sorted = [...utterances].sort((a, b) => (a.id < b.id ? -1 : 1));
  const bySpeaker = new Map<string, Utterance[]>();
  for (const u of sorted) bySpeaker.set(u.speaker, [...(bySpeaker.get(u.speaker) ?? []), u]);
  const trials: AsvTrial[] = [];
  for (const u of sorted) {
    const same = bySpeaker.get(u.speaker)!.filter((v) => v.id !== u.id);
    const other = sorted.filter((v) => v.speaker !== u.speaker);
    if (same.length === 0 || other.length === 0) continue;
    trials.push({ enroll: u.id, test: same[Math.floor(rand() * same.length)].id, label: 1 });
    trials.push({ enroll: u.id, test: other[Math.floor(rand() * other.length)].id, label: 0 });
  }
  return trials;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot; // embeddings are already unit length
}

