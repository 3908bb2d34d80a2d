import { BiLstmHead } from "../downstreams/bilstm-ctc.js";
import { ctcGreedyDecode } from "../src/ctc.js";
import { ctcLoss } from "../src/losses.js";
import { characterErrorRate, editDistance, wordErrorRate, words } from "../src/metrics.js";
import { ParameterSet } from "../src/nn.js";
import type { ItemOutput, TaskDefinition } from "../src/task.js";

/** ASR: BiLSTM CTC head over characters (A-Z, apostrophe, word boundary), greedy decoding, WER. */
export const task: TaskDefinition<string> = {
  name: "asr",
  description: "speech recognition: BiLSTM CTC over characters, greedy decoding, WER (%)",
  metric: { name: "wer", higherIsBetter: false },
  sortagrad: true,
  bucketByLength: true,
  costPerStep: 6,
  datasetKinds: ["embedded", "librispeech"],
  defaults: { learningRate: 3e-3, steps: 4000, batchSize: 16, evalEvery: 500 },
  createModel(context) {
    const charSet = context.data.charSet ?? [];
    const charIndex = new Map(charSet.map((c, i) => [c, i + 1])); // 0 = blank
    const params = new ParameterSet(context.seed);
    const head = new BiLstmHead(params, context.inputDim, charSet.length + 1, {
      // One BiLSTM layer of 128: at equal training time (about 400 s on one core) it reached
      // WER 88 % where two layers of 96 (half the steps) still emitted only blanks.
      projectionDim: 128,
      hidden: 128,
      layers: 1,
      // About 33 frames per second: still above eSpeak's fastest character rate (~20/s) for CTC,
      // and a third of FBANK's LSTM steps (the recurrence's cost grows with steps, not width).
      stack: Math.max(1, Math.round(context.frameRate / 33)),
    });
    const labelsOf = (text: string | undefined) => [...(text ?? "")].map((c) => {
      const id = charIndex.get(c);
      if (id === undefined) throw new Error(`character ${JSON.stringify(c)} is not in the dataset's character set`);
      return id;
    });
    return {
      parameters: params.variables,
      loss: (batch) => {
        const { logits, lengths } = head.forward(batch.features, batch.lengths);
        return ctcLoss(logits, lengths, batch.utterances.map((u) => labelsOf(u.text)));
      },
      predict: (batch) => {
        const { logits, lengths } = head.forward(batch.features, batch.lengths);
        const [B, T, V] = logits.shape;
        const data = logits.dataSync() as Float32Array;
        return Array.from({ length: B }, (_, b) => {
          const len = Math.min(lengths[b], T);
          const ids = ctcGreedyDecode(data.subarray(b * T * V, (b * T + len) * V), len, V);
          return ids.map((id) => charSet[id - 1]).join("").replace(/\s+/g, " ").trim();
        });
      },
    };
  },
  score(predictions, utterances) {
    const refs = utterances.map((u) => u.text ?? "");
    const hyps = utterances.map((u) => predictions.get(u.id) ?? "");
    const items: ItemOutput[] = utterances.map((u, i) => {
      const ref = words(refs[i]);
      return { kind: "sequence", id: u.id, reference: refs[i], hypothesis: hyps[i], errors: editDistance(ref, words(hyps[i])), length: ref.length };
    });
    return { value: wordErrorRate(refs, hyps), secondary: { cer: characterErrorRate(refs, hyps) }, items };
  },
};
