/**
 * `superb brain simulate` and `superb brain info`: the data-set side of the brain commands, added
 * to the `brain` command group that src/cli.ts creates.
 */
import type { Command } from "commander";
import { info, integer, positiveInteger, positiveNumber, unitInterval } from "./options.js";
import { defaultCacheDir } from "../corpus/generate.js";
import { loadBrainDataset } from "../brain/dataset.js";
import { simulateCohort } from "../brain/simulate.js";
import type { BrainDataset } from "../brain/types.js";

/** A human-readable summary of a loaded data set (what `brain info` prints). */
export function describeBrainDataset(ds: BrainDataset): string {
  const lines: string[] = [];
  const shown = ds.targetNames.length > 12 ? `${ds.targetNames.slice(0, 12).join(" ")} ... (${ds.targetNames.length - 12} more)` : ds.targetNames.join(" ");
  lines.push(`${ds.name} (hash ${ds.hash}): ${ds.runs.length} run${ds.runs.length === 1 ? "" : "s"}, ${ds.targetNames.length} targets: ${shown}`);
  for (const run of ds.runs) {
    const rows = run.subjects[0]?.rows ?? 0;
    const duration = run.stimulusDuration ?? run.stimulus.length / 16000;
    lines.push(`run ${run.id}: ${run.subjects.length} subjects x ${rows} rows, TR ${run.tr} s, rows at ${run.firstRowTime}-${(run.firstRowTime + (rows - 1) * run.tr).toFixed(1)} s of the stimulus clock`);
    lines.push(`  stimulus: ${duration.toFixed(1)} s${run.words ? `, ${run.words.length} words` : ""}; ${run.stimulusSource}`);
    lines.push(`  subjects: ${run.subjects.map((s) => s.id).join(" ")}`);
  }
  if (ds.skipped.length === 0) lines.push("skipped: none");
  for (const s of ds.skipped) lines.push(`skipped: ${s.subject} (run ${s.run}): ${s.reason}`);
  if (ds.truth) {
    const t = ds.truth;
    lines.push(`simulated: seed ${t.seed}, SNR ${t.snr} (ceiling r ${t.ceilingR}), AR(1) ${t.ar1}, ${t.sentences} sentences, ${t.words} words`);
    for (const r of t.rois) lines.push(`  ${r.name}: driven by ${r.family} features (${t.features.filter((f) => f.family === r.family).map((f, i) => `${f.name} ${r.weights[i]}`).join(", ")})`);
  }
  return lines.join("\n");
}

export function registerBrainDataCommands(brain: Command): void {
  brain
    .command("simulate")
    .description("simulate a brain data set with known structure (synthetic narrative, ROIs driven by acoustic/phonetic/lexical features)")
    .requiredOption("-o, --out <dir>", "output folder (brain.json, truth.json, stimulus.wav, words.TextGrid, sub-XX.npy)")
    .option("--subjects <n>", "number of subjects", positiveInteger, 8)
    .option("--minutes <x>", "stimulus length in minutes", positiveNumber, 6)
    .option("--tr <s>", "repetition time in seconds", positiveNumber, 2)
    .option("--snr <x>", "signal variance / noise variance per time course", positiveNumber, 1)
    .option("--ar1 <x>", "AR(1) coefficient of the noise", unitInterval, 0.3)
    .option("-s, --seed <n>", "seed (text, weights, noise)", integer, 1)
    .option("--cache-dir <dir>", "where the synthesised narrative is cached", defaultCacheDir())
    .option("--no-progress", "no progress bar even on a terminal")
    .action(async (opts: { out: string; subjects: number; minutes: number; tr: number; snr: number; ar1: number; seed: number; cacheDir: string; progress: boolean }) => {
      const t0 = performance.now();
      const r = await simulateCohort({ outDir: opts.out, subjects: opts.subjects, minutes: opts.minutes, tr: opts.tr, snr: opts.snr, ar1: opts.ar1, seed: opts.seed, cacheDir: opts.cacheDir, progress: opts.progress ? undefined : false, onNotice: info });
      const t = r.truth;
      info(`${t.subjects} subjects x ${t.rows} rows x ${t.rois.length} ROIs, ${t.minutes} min stimulus (${t.sentences} sentences, ${t.words} words), SNR ${t.snr}, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      process.stdout.write(`${r.manifestPath}\n`);
    });

  brain
    .command("info")
    .description("load a brain data set and print its runs, subjects, rows, targets and skipped subjects")
    .argument("<dataset>", "a brain.json, a folder with one, the Alice fMRI folder, or alice / alice:10mm")
    .option("--stimulus", "also synthesise (or find in the cache) TextGrid stimuli")
    .option("--cache-dir <dir>", "stimulus cache", defaultCacheDir())
    .option("--no-progress", "no progress bar even on a terminal")
    .action(async (dataset: string, opts: { stimulus?: boolean; cacheDir: string; progress: boolean }) => {
      const ds = await loadBrainDataset(dataset, { cacheDir: opts.cacheDir, stimulus: opts.stimulus === true, progress: opts.progress ? undefined : false, onNotice: info });
      process.stdout.write(`${describeBrainDataset(ds)}\n`);
    });
}
