import * as tf from "@tensorflow/tfjs";
import { XVectorHead } from "../downstreams/xvector.js";
import { amSoftmaxLoss } from "../src/losses.js";
import { equalErrorRate, minDcf } from "../src/metrics.js";
import { ParameterSet } from "../src/nn.js";
import { mulberry32 } from "../src/random.js";
import type { AsvTrial, DatasetItem } from "../src/dataset.js";
import type { ItemOutput, TaskDefinition } from "../src/task.js";

/**
 * Speaker verification: x-vector head trained with AM-softmax (s = 30, m = 0.4) on the training
 * speakers; L2-normalised embeddings of unseen speakers scored by cosine on the trial list;
 * EER (%) and minDCF (p_target = 0.01). Models are selected on dev trials (the dataset's, or
 * balanced ones drawn from the dev speakers), never on the test trials.
 */
export const task: TaskDefinition<Float32Array> = {
  name: "asv",
  description: "speaker verification: x-vector + AM-softmax, cosine scoring of unseen-speaker trials, EER (%)",
  metric: { name: "eer", higherIsBetter: false },
  bucketByLength: true,
  costPerStep: 2,
  datasetKinds: ["embedded", "voxceleb1"],
  defaults: { learningRate: 2e-3, steps: 3000, batchSize: 32, evalEvery: 500 },
  createModel(context) {
    const speakers = [...new Set(context.data.splits.train.map((u) => u.speaker))].sort();
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
    const trials = split === "test" ? testTrials(context.data.trials?.test) : context.data.trials?.dev ?? devTrials(utterances, context.seed);
    const scores = trials.map((t) => cosine(predictions.get(t.enroll)!, predictions.get(t.test)!));
    const labels = trials.map((t) => t.label);
    const speakerOf = new Map(utterances.map((u) => [u.id, u.speaker]));
    const items: ItemOutput[] = trials.map((t, i) => ({ kind: "trial", enroll: t.enroll, test: t.test, label: t.label, score: scores[i], speaker: speakerOf.get(t.enroll) ?? "?" }));
    return {
      value: equalErrorRate(scores, labels).eer,
      secondary: { minDCF: minDcf(scores, labels, { pTarget: 0.01 }).minDcf, trials: trials.length },
      items,
    };
  },
};

/** Balanced dev trials among seen speakers' dev utterances (one target and one non-target each). */
function testTrials(trials: AsvTrial[] | undefined): AsvTrial[] {
  if (!trials || trials.length === 0) throw new Error("speaker verification needs the dataset's test trials");
  return trials;
}

export function devTrials(utterances: DatasetItem[], seed: number): AsvTrial[] {
  const rand = mulberry32(seed ^ 0x5eed);
  const sorted = [...utterances].sort((a, b) => (a.id < b.id ? -1 : 1));
  const bySpeaker = new Map<string, DatasetItem[]>();
  for (const u of sorted) {
    const list = bySpeaker.get(u.speaker);
    if (list) list.push(u);
    else bySpeaker.set(u.speaker, [u]);
  }
  // Other speakers' utterances, once per speaker (not once per utterance: O(n^2) on VoxCeleb1's dev).
  const others = new Map<string, DatasetItem[]>();
  const trials: AsvTrial[] = [];
  for (const u of sorted) {
    const same = bySpeaker.get(u.speaker)!.filter((v) => v.id !== u.id);
    let other = others.get(u.speaker);
    if (!other) others.set(u.speaker, (other = sorted.filter((v) => v.speaker !== u.speaker)));
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

