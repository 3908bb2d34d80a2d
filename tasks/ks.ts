import { MeanPoolLinearHead } from "../downstreams/mean-pool-linear.js";
import { crossEntropy } from "../src/losses.js";
import { accuracy } from "../src/metrics.js";
import { ParameterSet } from "../src/nn.js";
import type { DatasetItem, TaskData } from "../src/dataset.js";
import type { ItemOutput, TaskDefinition } from "../src/task.js";

function classesOf(data: TaskData): string[] {
  if (!data.classes || data.classes.length < 2) throw new Error("keyword spotting needs the dataset's class list");
  return data.classes;
}

function labelOf(item: DatasetItem): string {
  if (item.label === undefined) throw new Error(`keyword spotting got item ${item.id} without a class label`);
  return item.label;
}

/**
 * Keyword spotting (SUPERB KS, Speech Commands v0.01): 10 keywords + `_unknown_` + `_silence_`;
 * s3prl's utterance-level head (Linear projection, mean pooling, Linear), class-balanced
 * sampling of training batches, accuracy.
 */
export const task: TaskDefinition<number> = {
  name: "ks",
  description: "keyword spotting: 10 keywords + unknown + silence, mean pooling + linear, class-balanced batches, accuracy (%)",
  metric: { name: "accuracy", higherIsBetter: true },
  poolsUtteranceMean: true,
  balanceBy: labelOf,
  datasetKinds: ["embedded", "speech_commands"],
  defaults: { learningRate: 2e-3, steps: 3000, batchSize: 32, evalEvery: 500 },
  createModel(context) {
    const classes = classesOf(context.data);
    const index = new Map(classes.map((c, i) => [c, i]));
    const params = new ParameterSet(context.seed);
    const head = new MeanPoolLinearHead(params, context.inputDim, classes.length);
    const classIndex = (u: DatasetItem) => {
      const i = index.get(labelOf(u));
      if (i === undefined) throw new Error(`keyword spotting: class "${u.label}" of ${u.id} is not among the dataset's classes`);
      return i;
    };
    return {
      parameters: params.variables,
      loss: (batch) => crossEntropy(head.forward(batch.features, batch.lengths), batch.utterances.map(classIndex)),
      predict: (batch) => Array.from(head.forward(batch.features, batch.lengths).argMax(1).dataSync()),
    };
  },
  score(predictions, utterances, _split, context) {
    const classes = classesOf(context.data);
    const index = new Map(classes.map((c, i) => [c, i]));
    const secondary: Record<string, number> = {};
    // Per-class accuracy: with balanced test sets it shows which keywords fail.
    for (const c of classes) {
      const of = utterances.filter((u) => u.label === c);
      if (of.length > 0) secondary[`accuracy_${c}`] = accuracy(of.map((u) => predictions.get(u.id) === index.get(c)));
    }
    const items: ItemOutput[] = utterances.map((u) => ({ kind: "label", id: u.id, truth: labelOf(u), predicted: classes[predictions.get(u.id) ?? -1] ?? "?" }));
    return { value: accuracy(utterances.map((u) => predictions.get(u.id) === index.get(labelOf(u)))), secondary, items };
  },
};
