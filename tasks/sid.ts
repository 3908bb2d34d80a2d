import { MeanPoolLinearHead } from "../downstreams/mean-pool-linear.js";
import { crossEntropy } from "../src/losses.js";
import { accuracy } from "../src/metrics.js";
import { ParameterSet } from "../src/nn.js";
import type { Corpus } from "../src/corpus/types.js";
import type { TaskDefinition } from "../src/task.js";

function seenSpeakers(corpus: Corpus): string[] {
  return corpus.manifest.speakers.filter((s) => s.seen).map((s) => s.id);
}

/** Speaker identification over the seen speakers (closed set): mean pooling + linear, accuracy. */
export const task: TaskDefinition<number> = {
  name: "sid",
  description: "speaker identification: mean pooling + linear over seen speakers, accuracy (%)",
  metric: { name: "accuracy", higherIsBetter: true },
  poolsUtteranceMean: true,
  defaults: {
    quick: { learningRate: 2e-3, steps: 100, batchSize: 16, evalEvery: 50 },
    full: { learningRate: 2e-3, steps: 600, batchSize: 32, evalEvery: 150 },
  },
  splits(corpus) {
    const seen = new Set(seenSpeakers(corpus));
    const by = (s: string) => corpus.manifest.utterances.filter((u) => u.split === s && seen.has(u.speaker));
    return { train: by("train"), dev: by("dev"), test: by("test") };
  },
  createModel(context) {
    const speakers = seenSpeakers(context.corpus);
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
    const index = new Map(seenSpeakers(context.corpus).map((s, i) => [s, i]));
    return { value: accuracy(utterances.map((u) => predictions.get(u.id) === index.get(u.speaker))), secondary: {} };
  },
};
