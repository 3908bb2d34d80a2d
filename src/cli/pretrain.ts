/**
 * `superb pretrain --recipe wav2vec2|pase+`: self-supervised pre-training on any audio
 * (`--data`, repeatable: folders, `embedded[:profile]`, KIND=DIR datasets; see pretrain-data.ts).
 * Each recipe writes a folder the matching upstream loads, plus its model card.
 */
import type { Command } from "commander";
import * as fs from "node:fs";
import { initTensorBackend } from "../backend.js";
import { defaultCacheDir, ensureCorpus } from "../corpus/generate.js";
import { UserError } from "../errors.js";
import { PASE_PRESETS, validatePaseConfig, type PaseConfig, type PasePresetName } from "../pase/config.js";
import { writePaseModelCard } from "../pase/model-card.js";
import { pretrainPase } from "../pase/pretrain.js";
import { openPretrainSources, type PretrainDataset } from "../pretrain-data.js";
import { DEFAULT_CORPUS_SEED } from "../run.js";
import { PRESET_NAMES, presetConfig, type PresetName } from "../wav2vec2/config.js";
import { readWav2Vec2ConfigFile } from "../wav2vec2/hf-io.js";
import { writePretrainModelCard } from "../wav2vec2/model-card.js";
import { pretrainWav2Vec2 } from "../wav2vec2/pretrain.js";
import { info, integer, nonNegativeNumber, oneOf, positiveInteger, positiveNumber } from "./options.js";

export const RECIPES = ["wav2vec2", "pase+"] as const;
export type Recipe = (typeof RECIPES)[number];

export interface PretrainCliOptions {
  recipe: Recipe;
  config: string;
  out: string;
  data: string[];
  profile: string;
  corpusSeed: number;
  cacheDir: string;
  steps: number;
  batchSize: number;
  learningRate?: number;
  seed: number;
  diversityWeight?: number;
  progress: boolean;
}

/** The command line as the model card records it. */
const commandLine = (): string => `superb ${process.argv.slice(2).join(" ")}`;

async function pretrainData(opts: PretrainCliOptions): Promise<PretrainDataset> {
  const specs = opts.data.length > 0 ? opts.data : [`embedded:${opts.profile}`];
  return openPretrainSources(specs, {
    embeddedCorpus: (profile) => ensureCorpus({ profile, seed: opts.corpusSeed, cacheDir: opts.cacheDir }),
    onNotice: info,
  });
}

async function pretrainWav2Vec2Recipe(opts: PretrainCliOptions, data: PretrainDataset): Promise<void> {
  const config = fs.existsSync(opts.config) ? readWav2Vec2ConfigFile(opts.config) : presetConfig(opts.config as PresetName);
  const summary = await pretrainWav2Vec2({ config, data, outDir: opts.out, steps: opts.steps, batchSize: opts.batchSize, learningRate: opts.learningRate, seed: opts.seed, lossWeights: opts.diversityWeight === undefined ? undefined : { diversity: opts.diversityWeight }, progress: opts.progress ? undefined : false });
  if (summary.completed) writePretrainModelCard(summary.outDir, commandLine());
  const last = summary.last;
  info(`${summary.completed ? "done" : "stopped"} at step ${summary.step}/${summary.steps} (resumed from ${summary.resumedFromStep}) in ${summary.seconds.toFixed(0)} s, ${summary.audioPerSecond.toFixed(2)} s of audio/s, peak ${summary.peakRssMB.toFixed(0)} MB` +
    (last ? `; loss ${last.loss.toFixed(3)}, contrastive accuracy ${(100 * last.accuracy).toFixed(1)} %, perplexity ${last.perplexity.toFixed(1)}` : ""));
  process.stdout.write(`${summary.outDir}\n`);
}

function paseConfigOf(spec: string): PaseConfig {
  if (spec in PASE_PRESETS) return PASE_PRESETS[spec as PasePresetName];
  if (!fs.existsSync(spec)) throw new UserError(`--config ${spec}: not a PASE+ preset (${Object.keys(PASE_PRESETS).join(", ")}) or a config.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(spec, "utf8"));
  } catch (err) {
    throw new UserError(`${spec}: not valid JSON (${(err as Error).message})`);
  }
  return validatePaseConfig(raw, spec);
}

async function pretrainPaseRecipe(opts: PretrainCliOptions, data: PretrainDataset): Promise<void> {
  const summary = await pretrainPase({ config: paseConfigOf(opts.config), data, outDir: opts.out, steps: opts.steps, batchSize: opts.batchSize, learningRate: opts.learningRate, seed: opts.seed, progress: opts.progress ? undefined : false, onLog: opts.progress ? undefined : (e) => info(`step ${e.step}: loss ${e.loss.toFixed(3)} (${Object.entries(e.workers).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(", ")})`) });
  if (summary.completed) writePaseModelCard(summary.outDir, commandLine());
  info(`${summary.completed ? "done" : "stopped"} at step ${summary.step}/${summary.steps} (resumed from ${summary.resumedFromStep}) in ${summary.seconds.toFixed(0)} s, ${(summary.audioSeconds / Math.max(1, summary.seconds)).toFixed(2)} s of audio/s`);
  process.stdout.write(`${summary.outDir}\n`);
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerPretrainCommand(program: Command): void {
  program
    .command("pretrain")
    .description("self-supervised pre-training (wav2vec 2.0 or PASE+) on any audio; writes a folder the matching upstream loads")
    .option("--recipe <name>", `objective: ${RECIPES.join(" or ")}`, oneOf(RECIPES), "wav2vec2")
    .requiredOption("-c, --config <name|file>", `a preset (wav2vec2: ${PRESET_NAMES.join(", ")}; pase+: ${Object.keys(PASE_PRESETS).join(", ")}) or a config.json`)
    .requiredOption("-o, --out <dir>", "output folder: checkpoints while training, then the config and weights")
    .option("-d, --data <source>", "audio to pre-train on, repeatable: a folder of WAV/FLAC, embedded[:PROFILE], or KIND=DIR (train+dev audio of a dataset) (default: embedded:PROFILE)", collect, [])
    .option("-p, --profile <profile>", "embedded corpus profile when --data is not given", "full")
    .option("--corpus-seed <n>", "seed of the synthesised corpus", integer, DEFAULT_CORPUS_SEED)
    .option("--cache-dir <dir>", "corpus cache", defaultCacheDir())
    .option("--steps <n>", "training steps", positiveInteger, 2000)
    .option("--batch-size <n>", "utterances per step", positiveInteger, 8)
    .option("--lr, --learning-rate <x>", "peak learning rate", positiveNumber)
    .option("-s, --seed <n>", "seed (init, batches, masks, negatives, distortions)", integer, 0)
    .option("--diversity-weight <x>", "wav2vec2: weight of the codebook diversity loss (default: the config's diversity_loss_weight, 0.1)", nonNegativeNumber)
    .option("--no-progress", "no progress bar even on a terminal")
    .action(async (opts: PretrainCliOptions) => {
      await initTensorBackend();
      const data = await pretrainData(opts);
      return opts.recipe === "wav2vec2" ? pretrainWav2Vec2Recipe(opts, data) : pretrainPaseRecipe(opts, data);
    });
}
