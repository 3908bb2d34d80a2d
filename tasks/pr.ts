import { FrameLinearHead } from "../downstreams/frame-linear.js";
import { ctcGreedyDecode } from "../src/ctc.js";
import { ctcLoss } from "../src/losses.js";
import { errorRate, editOperations } from "../src/metrics.js";
import { ParameterSet } from "../src/nn.js";
import type { ItemOutput, TaskDefinition } from "../src/task.js";

/** Phoneme recognition: linear head, CTC over the corpus phone set, greedy decoding, PER. */
export const task: TaskDefinition<number[]> = {
  name: "pr",
  description: "phoneme recognition: linear CTC head, PER (%)",
  metric: { name: "per", higherIsBetter: false },
  sortagrad: true,
  bucketByLength: true,
  datasetKinds: ["embedded", "librispeech"],
  defaults: { learningRate: 2e-3, steps: 4000, batchSize: 16, evalEvery: 500 },
  createModel(context) {
    const phoneIndex = new Map((context.data.phoneSet ?? []).map((p, i) => [p, i + 1])); // 0 = blank
    const numClasses = phoneIndex.size + 1;
    const params = new ParameterSet(context.seed);
    const head = new FrameLinearHead(params, context.inputDim, numClasses);
    const labelsOf = (phones: string[] | undefined) => (phones ?? []).map((p) => {
      const id = phoneIndex.get(p);
      if (id === undefined) throw new Error(`phone ${p} is not in the dataset's phone set`);
      return id;
    });
    return {
      parameters: params.variables,
      loss: (batch) => ctcLoss(head.forward(batch.features), batch.lengths, batch.utterances.map((u) => labelsOf(u.phonemes))),
      predict: (batch) => {
        const logits = head.forward(batch.features);
        const [B, T, V] = logits.shape;
        const data = logits.dataSync() as Float32Array;
        return Array.from({ length: B }, (_, b) => {
          const len = Math.min(batch.lengths[b], T);
          return ctcGreedyDecode(data.subarray(b * T * V, (b * T + len) * V), len, V);
        });
      },
    };
  },
  score(predictions, utterances, _split, context) {
    const phoneIndex = new Map((context.data.phoneSet ?? []).map((p, i) => [p, i + 1]));
    const refs = utterances.map((u) => (u.phonemes ?? []).map((p) => phoneIndex.get(p)!));
    const hyps = utterances.map((u) => predictions.get(u.id) ?? []);
    const ops = refs.map((r, i) => editOperations(r, hyps[i]));
    const total = refs.reduce((s, r) => s + r.length, 0);
    const sum = (k: "substitutions" | "deletions" | "insertions") => (100 * ops.reduce((s, o) => s + o[k], 0)) / total;
    const phoneSet = context.data.phoneSet ?? [];
    const spell = (ids: number[]) => ids.map((k) => phoneSet[k - 1] ?? `#${k}`).join(" ");
    const items: ItemOutput[] = utterances.map((u, i) => ({ kind: "sequence", id: u.id, reference: spell(refs[i]), hypothesis: spell(hyps[i]), errors: ops[i].substitutions + ops[i].deletions + ops[i].insertions, length: refs[i].length }));
    return { value: errorRate(refs, hyps), secondary: { substitutions: sum("substitutions"), deletions: sum("deletions"), insertions: sum("insertions") }, items };
  },
};
