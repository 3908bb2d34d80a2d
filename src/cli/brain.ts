/** `superb brain-score` and `superb refine`: the brain side of the CLI, over src/brain/. */
import type { Command } from "commander";
import Table from "cli-table3";
import * as path from "node:path";
import { defaultCacheDir } from "../corpus/generate.js";
import { loadBrainDataset } from "../brain/dataset.js";
import { runBrainScore, writeBrainScoreReport } from "../brain/pipeline.js";
import { refineUpstream } from "../brain/refine.js";
import { formatBrainScoreTable } from "../brain/score.js";
import { upstreamFolderName } from "../results.js";
import { resolveWav2Vec2Folder } from "../wav2vec2/shipped.js";
import { info, integer, integerList, nonNegativeNumber, oneOf, positiveInteger, positiveNumber } from "./options.js";

export function registerBrainCommands(program: Command): void {
  program
    .command("brain-score")
    .description("how well each layer of an upstream predicts BOLD (ridge, contiguous CV, Pearson r per target)")
    .requiredOption("-u, --upstream <name>", "upstream name or spec")
    .requiredOption("-b, --brain <dataset>", "brain data set: alice, alice:10mm, a brain.json, or a folder with one")
    .option("--hemodynamic <kind>", "fir (delays of --fir-delays TRs) or hrf (canonical HRF)", oneOf(["fir", "hrf"] as const), "fir")
    .option("--fir-delays <list>", "FIR delays in TRs", integerList, [1, 2, 3, 4])
    .option("--hrf <model>", "HRF model for --hemodynamic hrf", oneOf(["spm", "glover"] as const), "spm")
    .option("--folds <n>", "outer contiguous folds", positiveInteger, 5)
    .option("--inner-folds <n>", "inner folds choosing each target's alpha", positiveInteger, 5)
    .option("--control <kind>", "shift (BOLD rolled by half a run), permute (blocks shuffled) or none", oneOf(["shift", "permute", "none"] as const), "shift")
    .option("-s, --seed <n>", "seed of the permute control", integer, 0)
    .option("-o, --out <dir>", "folder for brain-score.json and brain-score.svg (default results/brain/<upstream>/<dataset>)")
    .option("--cache-dir <dir>", "stimulus and feature cache", defaultCacheDir())
    .option("--no-progress", "no progress bar even on a terminal")
    .action(async (opts: { upstream: string; brain: string; hemodynamic: "fir" | "hrf"; firDelays: number[]; hrf: "spm" | "glover"; folds: number; innerFolds: number; control: "shift" | "permute" | "none"; seed: number; out?: string; cacheDir: string; progress: boolean }) => {
      const report = await runBrainScore({
        upstream: opts.upstream, brain: opts.brain, cacheDir: opts.cacheDir, hemodynamic: opts.hemodynamic, firDelays: opts.firDelays, hrfModel: opts.hrf,
        folds: opts.folds, innerFolds: opts.innerFolds, control: opts.control, seed: opts.seed, progress: opts.progress ? undefined : false, onNotice: info,
      });
      const out = opts.out ?? path.join("results", "brain", upstreamFolderName(opts.upstream), upstreamFolderName(report.dataset.name));
      const files = writeBrainScoreReport(out, report);
      process.stdout.write(`${formatBrainScoreTable(report)}\n`);
      const t = report.timings;
      info(`${report.dataset.subjects} subjects x ${report.rows} rows; load ${t.loadSeconds.toFixed(1)} s, hidden states ${t.extractSeconds.toFixed(1)} s, scoring ${t.scoreSeconds.toFixed(1)} s; written ${files.join(", ")}`);
    });

  program
    .command("refine")
    .description("refine a wav2vec 2.0 upstream on brain activity (Li et al. 2024): encoding head, then head + upstream")
    .requiredOption("-u, --upstream <name>", "a wav2vec 2.0 upstream with weights: a shipped name (base), hf:<dir> or a folder")
    .requiredOption("-b, --brain <dataset>", "brain data set: alice, alice:10mm, a brain.json, or a folder with one")
    .requiredOption("-o, --out <dir>", "output folder (checkpoints while training; then a HuggingFace folder + model.onnx + model card)")
    .option("--history <n>", "TRs of audio before each predicted TR", positiveInteger, 6)
    .option("--l2 <x|auto>", "weight of the L2 penalty on the head, added to the MSE; auto: chosen on an inner validation split", (v: string) => (v === "auto" ? "auto" : nonNegativeNumber(v)), "auto")
    .option("--stage1-steps <n>", "head-only steps (upstream frozen)", integer, 300)
    .option("--stage2-steps <n>", "head + upstream steps", integer, 300)
    .option("--stage1-lr <x>", "stage-1 learning rate", positiveNumber, 1e-2)
    .option("--stage2-lr <x>", "stage-2 learning rate", positiveNumber, 1e-5)
    .option("--segment-rows <n>", "target TRs per forward pass", positiveInteger, 8)
    .option("--batch-segments <n>", "segments per stage-2 step", positiveInteger, 2)
    .option("--held-out <x>", "fraction of each run (its end) held out to measure r", positiveNumber, 0.2)
    .option("--train-cnn", "also train the CNN feature encoder in stage 2")
    .option("--targets <kind>", "mean (subject-average per target) or subjects (every subject's targets)", oneOf(["mean", "subjects"] as const), "mean")
    .option("-s, --seed <n>", "seed", integer, 0)
    .option("--cache-dir <dir>", "stimulus cache", defaultCacheDir())
    .option("--no-progress", "no progress bar even on a terminal")
    .action(async (opts: { upstream: string; brain: string; out: string; history: number; l2: number | "auto"; stage1Steps: number; stage2Steps: number; stage1Lr: number; stage2Lr: number; segmentRows: number; batchSegments: number; heldOut: number; trainCnn?: boolean; targets: "mean" | "subjects"; seed: number; cacheDir: string; progress: boolean }) => {
      const upstreamDir = resolveWav2Vec2Folder(opts.upstream);
      const dataset = await loadBrainDataset(opts.brain, { cacheDir: opts.cacheDir, onNotice: info, progress: opts.progress ? undefined : false });
      const s = await refineUpstream({
        upstreamDir, upstreamName: opts.upstream, command: `superb ${process.argv.slice(2).join(" ")}`, dataset, outDir: opts.out, history: opts.history, l2: opts.l2,
        stage1Steps: opts.stage1Steps, stage2Steps: opts.stage2Steps, stage1LearningRate: opts.stage1Lr, stage2LearningRate: opts.stage2Lr,
        segmentRows: opts.segmentRows, batchSegments: opts.batchSegments, heldOutFraction: opts.heldOut, trainCnn: opts.trainCnn === true,
        targets: opts.targets, seed: opts.seed, progress: opts.progress ? undefined : false,
      });
      const table = new Table({ head: ["target", "held-out r before", "after", "change"], style: { head: [], border: [] } });
      s.targetNames.forEach((t, i) => {
        const b = s.before?.perTarget[i];
        const a = s.after?.perTarget[i];
        table.push([t, b?.toFixed(4) ?? "–", a?.toFixed(4) ?? "–", a !== undefined && b !== undefined ? (a - b >= 0 ? "+" : "") + (a - b).toFixed(4) : "–"]);
      });
      table.push(["mean", s.before?.r.toFixed(4) ?? "–", s.after?.r.toFixed(4) ?? "–", s.after && s.before ? (s.after.r - s.before.r).toFixed(4) : "–"]);
      process.stdout.write(`${table.toString()}\n`);
      info(`${s.completed ? "done" : "stopped (rerun to continue)"} in ${s.seconds.toFixed(0)} s; held-out MSE ${s.before?.mse.toFixed(4) ?? "–"} -> ${s.after?.mse.toFixed(4) ?? "–"}; upstream changed by ${s.parameterChangePercent.toFixed(3)} %; use it as --upstream hf:${s.outDir}`);
    });
}
