import { MeanPoolLinearHead } from "../downstreams/mean-pool-linear.js";
import { crossEntropy } from "../src/losses.js";
import { accuracy } from "../src/metrics.js";
import { ParameterSet } from "../src/nn.js";
import type { TaskData } from "../src/dataset.js";
import type { ItemOutput, TaskDefinition } from "../src/task.js";

function speakersOf(data: TaskData): string[] {
  return data.classes ?? [...new Set(data.splits.train.map((u) => u.speaker))].sort();
}

/** Speaker identification over the training speakers (closed set): mean pooling + linear, accuracy. */
export const task: TaskDefinition<number> = {
  name: "sid",
  description: "speaker identification: mean pooling + linear over the training speakers, accuracy (%)",
  metric: { name: "accuracy", higherIsBetter: true },
  poolsUtteranceMean: true,
  datasetKinds: ["embedded", "voxceleb1"],
  defaults: { learningRate: 2e-3, steps: 3000, batchSize: 32, evalEvery: 500 },
  createModel(context) {
    const speakers = speakersOf(context.data);
    const index = new Map(speakers.map((s, i) => [s, i]));
    const params = new ParameterSet(context.seed);
    const head = new MeanPoolLinearHead(params, context.inputDim, speakers.length);
    return {
      parameters: params.variables,
      loss: (batch) => crossEntropy(head.forward(batch.features, batch.lengths), batch.utterances.map((u) => index.get(u.speaker)!)),
      predict: (batch) => Array.from(head.forward(batch.features, batch.lengths).argMax(1).dataSync()),
    };
  },
  score(predictions, utterances, _split, context) {
    const speakers = speakersOf(context.data);
    const index = new Map(speakers.map((s, i) => [s, i]));
    const items: ItemOutput[] = utterances.map((u) => ({ kind: "label", id: u.id, truth: u.speaker, predicted: speakers[predictions.get(u.id) ?? -1] ?? "?" }));
    return { value: accuracy(utterances.map((u) => predictions.get(u.id) === index.get(u.speaker))), secondary: {}, items };
  },
};
