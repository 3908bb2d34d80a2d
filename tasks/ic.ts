import * as tf from "@tensorflow/tfjs";
import { MeanPoolLinearHead } from "../downstreams/mean-pool-linear.js";
import { crossEntropy } from "../src/losses.js";
import { accuracy } from "../src/metrics.js";
import { ParameterSet } from "../src/nn.js";
import type { IntentSlots } from "../src/dataset.js";
import type { TaskData } from "../src/dataset.js";
import type { ItemOutput, TaskDefinition } from "../src/task.js";

const SLOTS = ["action", "object", "location"] as const;

/**
 * Intent classification (Fluent Speech Commands style): mean pooling + linear over the three
 * slots; summed cross-entropies; an utterance is correct only if all three slots are right.
 */
export const task: TaskDefinition<number[]> = {
  name: "ic",
  description: "intent classification: mean pooling + linear over action/object/location, accuracy (%)",
  metric: { name: "accuracy", higherIsBetter: true },
  poolsUtteranceMean: true,
  datasetKinds: ["embedded", "fsc"],
  defaults: { learningRate: 2e-3, steps: 3000, batchSize: 32, evalEvery: 500 },
  createModel(context) {
    const slotValues = slotValuesOf(context.data);
    const sizes = SLOTS.map((s) => slotValues[s].length);
    const params = new ParameterSet(context.seed);
    const head = new MeanPoolLinearHead(params, context.inputDim, sizes.reduce((a, b) => a + b, 0));
    const split = (logits: tf.Tensor2D) => tf.split(logits, sizes, 1) as tf.Tensor2D[];
    const classesOf = (intent: IntentSlots | undefined) => SLOTS.map((s) => slotIndex(slotValues[s], intent, s));
    return {
      parameters: params.variables,
      loss: (batch) => {
        const parts = split(head.forward(batch.features, batch.lengths));
        const classes = batch.utterances.map((u) => classesOf(u.intent));
        return tf.addN(parts.map((p, k) => crossEntropy(p, classes.map((c) => c[k])))) as tf.Scalar;
      },
      predict: (batch) => {
        const parts = split(head.forward(batch.features, batch.lengths));
        const argmaxes = parts.map((p) => Array.from(p.argMax(1).dataSync()));
        return batch.utterances.map((_, b) => argmaxes.map((a) => a[b]));
      },
    };
  },
  score(predictions, utterances, _split, context) {
    const slotValues = slotValuesOf(context.data);
    const truth = utterances.map((u) => SLOTS.map((s) => slotIndex(slotValues[s], u.intent, s)));
    const pred = utterances.map((u) => predictions.get(u.id) ?? [-1, -1, -1]);
    const secondary: Record<string, number> = {};
    SLOTS.forEach((s, k) => (secondary[`${s}Accuracy`] = accuracy(truth.map((t, i) => t[k] === pred[i][k]))));
    const name = (slots: number[]) => SLOTS.map((s, k) => slotValues[s][slots[k]] ?? "?").join("/");
    const items: ItemOutput[] = utterances.map((u, i) => ({ kind: "label", id: u.id, truth: name(truth[i]), predicted: name(pred[i]) }));
    return { value: accuracy(truth.map((t, i) => t.every((v, k) => v === pred[i][k]))), secondary, items };
  },
};

function slotValuesOf(data: TaskData): NonNullable<TaskData["intentSlots"]> {
  if (!data.intentSlots) throw new Error("intent classification needs the dataset's intent slot values");
  return data.intentSlots;
}

function slotIndex(values: string[], intent: IntentSlots | undefined, slot: (typeof SLOTS)[number]): number {
  if (!intent) throw new Error("intent classification got an utterance without intent slots");
  const i = values.indexOf(intent[slot]);
  if (i < 0) throw new Error(`intent ${slot} "${intent[slot]}" is not among the dataset's slot values`);
  return i;
}
