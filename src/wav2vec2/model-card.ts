/**
 * MODEL_CARD.md of a pre-trained folder, written from its own files (config.json and
 * training-log.json), so the card always states what the weights actually came from.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../fs-atomic.js";
import { packageVersion } from "../package-info.js";
import { readHfConfig } from "./hf-io.js";
import { countParams } from "./params.js";
import { LOG_FILE, type PretrainLogEntry } from "./pretrain.js";

interface TrainingLog {
  completed: boolean;
  steps: number;
  seconds: number;
  parameters: number;
  run: Record<string, unknown>;
  entries: PretrainLogEntry[];
}

/** Writes `<dir>/MODEL_CARD.md`; `command` is the exact command line that produced the folder. */
export function writePretrainModelCard(dir: string, command: string, notes: string[] = []): string {
  const logFile = path.join(dir, LOG_FILE);
  if (!fs.existsSync(logFile)) throw new UserError(`${logFile}: no training log; the folder was not produced by superb pretrain`);
  const log = JSON.parse(fs.readFileSync(logFile, "utf8")) as TrainingLog;
  const c = readHfConfig(dir);
  const e = log.entries;
  // About ten rows of the loss curve: evenly spaced entries, always the first and the last.
  const every = Math.max(1, Math.ceil(e.length / 10));
  const rows = e.filter((_, i) => i % every === 0 || i === e.length - 1);
  const f = (x: number, d = 3) => x.toFixed(d);
  const card = `# ${path.basename(dir)}: wav2vec 2.0 pre-trained by superb

Produced by \`superb pretrain\` (superb ${packageVersion()}) with the wav2vec 2.0 objective (span masking,
Gumbel-softmax quantizer, contrastive loss over negatives from masked frames of the same
utterance, diversity loss); see src/wav2vec2/pretrain.ts for the deliberate differences from
fairseq's recipe.

    ${command}

| | |
|---|---|
| architecture | CNN ${c.conv_dim.join("-")} (kernels ${c.conv_kernel.join(",")}, strides ${c.conv_stride.join(",")}, ${c.feat_extract_norm} norm), ${c.num_hidden_layers} x ${c.hidden_size} ${c.do_stable_layer_norm ? "pre-LN" : "post-LN"} transformer, ${c.num_attention_heads} heads, FFN ${c.intermediate_size}, positional conv ${c.num_conv_pos_embeddings}/${c.num_conv_pos_embedding_groups} |
| quantizer | ${c.num_codevector_groups} groups x ${c.num_codevectors_per_group} entries, codevector ${c.codevector_dim}, ${c.num_negatives} negatives |
| parameters | ${(countParams(c) / 1e6).toFixed(2)} M (${(log.parameters / 1e6).toFixed(2)} M with the pre-training heads) |
| hidden states | ${c.num_hidden_layers + 1} (HF output_hidden_states), 50 frames/s |
| data | ${String(log.run.data ?? "?")} (utterances : data id) |
| seed | ${String(log.run.seed ?? "?")} |
| steps, batch | ${log.steps} steps${log.run.batchSize !== undefined ? `, ${String(log.run.batchSize)} utterances per step` : ""} |
| wall time | ${(log.seconds / 60).toFixed(1)} min on this machine (2 cores) |
| input | each input normalised to zero mean, unit variance (preprocessor_config.json do_normalize) |

Loss curve (means over the steps since the previous row):

| step | loss | contrastive | diversity | accuracy | perplexity | temperature | lr | audio s |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.map((r) => `| ${r.step} | ${f(r.loss)} | ${f(r.contrastive)} | ${f(r.diversity, 4)} | ${f(100 * r.accuracy, 1)} % | ${f(r.perplexity, 1)} | ${f(r.temperature)} | ${r.learningRate.toExponential(2)} | ${r.audioSeconds.toFixed(0)} |`).join("\n")}

Chance contrastive loss is ln(K + 1) = ${Math.log(c.num_negatives + 1).toFixed(3)}; accuracy is the share of masked frames whose
true quantized target scored highest among the ${c.num_negatives + 1} candidates (chance ${(100 / (c.num_negatives + 1)).toFixed(1)} %).
${notes.length > 0 ? `\n${notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`;
  const file = path.join(dir, "MODEL_CARD.md");
  writeFileAtomic(file, card);
  return file;
}
