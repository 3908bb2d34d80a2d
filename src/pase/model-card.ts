/**
 * MODEL_CARD.md of a PASE+ folder, written from its own config.json and training-log.json, so
 * the card states what the weights came from: config, data, seed, the exact command and every
 * worker's loss curve.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../fs-atomic.js";
import { packageVersion } from "../package-info.js";
import { paseHiddenLayers, paseHop, validatePaseConfig } from "./config.js";
import { countPaseParams } from "./params.js";
import { PASE_LOG_FILE, type PaseLogEntry } from "./pretrain.js";

interface PaseTrainingLog {
  steps: number;
  seconds: number;
  audioSeconds: number;
  run: { data: string; seed: number; batchSize: number; learningRate: number; cropSamples: number; workers: string[]; distortions: Record<string, number> };
  log: PaseLogEntry[];
}

export function writePaseModelCard(dir: string, command: string, notes: string[] = []): string {
  const logFile = path.join(dir, PASE_LOG_FILE);
  if (!fs.existsSync(logFile)) throw new UserError(`${logFile}: no training log; the folder was not produced by superb pretrain --recipe pase+`);
  const log = JSON.parse(fs.readFileSync(logFile, "utf8")) as PaseTrainingLog;
  const configFile = path.join(dir, "config.json");
  const c = validatePaseConfig(JSON.parse(fs.readFileSync(configFile, "utf8")), configFile);
  const every = Math.max(1, Math.ceil(log.log.length / 10));
  const rows = log.log.filter((_, i) => i % every === 0 || i === log.log.length - 1);
  const workers = log.run.workers;
  const sizeMB = fs.statSync(path.join(dir, "model.safetensors")).size / 1e6;
  const card = `# ${path.basename(dir)}: PASE+ pre-trained by superb

Produced by \`superb pretrain --recipe pase+\` (superb ${packageVersion()}): the PASE+ encoder trained by
its workers (regressors of the clean signal's waveform, log power spectrum, FBANK, gammatone,
MFCC and prosody, short and long windows, plus the LIM and GIM discriminators) on online-distorted
input; see src/pase/pretrain.ts and src/pase/workers.ts for the deliberate differences from pase.

    ${command}

| | |
|---|---|
| encoder | SincNet ${c.fmaps[0]} x ${c.kwidths[0]}, then conv blocks kernels ${c.kwidths.slice(1).join(",")}, strides ${c.strides.slice(1).join(",")}, channels ${c.fmaps.slice(1).join("-")}; BatchNorm + PReLU; ${c.rnn_pool ? "QRNN (window 2), " : ""}${c.denseskips ? "dense skips (summed), " : ""}${c.emb_dim}-d output |
| parameters | ${(countPaseParams(c) / 1e6).toFixed(2)} M (model.safetensors ${sizeMB.toFixed(1)} MB) |
| hidden states | ${paseHiddenLayers(c)} x ${c.emb_dim}, ${c.sample_rate / paseHop(c)} frames/s |
| workers | ${workers.join(", ")} |
| distortions (probability) | ${Object.entries(log.run.distortions).map(([k, v]) => `${k} ${v}`).join(", ")} |
| data | ${log.run.data} (clips : data id) |
| seed | ${log.run.seed} |
| steps, batch, crop | ${log.steps} steps, ${log.run.batchSize} clips per step, crops up to ${(log.run.cropSamples / c.sample_rate).toFixed(1)} s |
| learning rate | ${log.run.learningRate} peak (Adam) |
| audio seen | ${(log.audioSeconds / 3600).toFixed(2)} h |
| wall time | ${(log.seconds / 60).toFixed(1)} min on this machine (2 cores) |
| input | ${c.do_normalize ? "each input normalised to zero mean, unit variance (config.json do_normalize)" : "raw audio"} |

Loss curve per worker (means over the steps since the previous row; regressors' MSE/L1 are on standardised targets):

| step | total | ${workers.join(" | ")} | lr |
|---:|---:|${workers.map(() => "---:").join("|")}|---:|
${rows.map((r) => `| ${r.step} | ${r.loss.toFixed(3)} | ${workers.map((w) => (r.workers[w] ?? NaN).toFixed(3)).join(" | ")} | ${r.learningRate.toExponential(2)} |`).join("\n")}

Chance for LIM and GIM is ln 2 = 0.693; a regressor that predicts the mean scores 1.0 (MSE of standardised targets).
${notes.length > 0 ? `\n${notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`;
  const file = path.join(dir, "MODEL_CARD.md");
  writeFileAtomic(file, card);
  return file;
}
