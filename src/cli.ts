#!/usr/bin/env node
import { Command } from "commander";
import Table from "cli-table3";
import * as ort from "onnxruntime-node";
import * as tf from "@tensorflow/tfjs";
import { initTensorBackend } from "./backend.js";
import { startProgress } from "./progress.js";
import { defaultCacheDir, ensureCorpus } from "./corpus/generate.js";
import { UserError, oneLine, userErrorFromSystemError } from "./errors.js";
import { buildLeaderboard, formatLeaderboard, type LeaderboardFormat } from "./leaderboard.js";
import { packageVersion } from "./package-info.js";
import { listDatasets, listTasks, listUpstreams } from "./registry.js";
import { readResults, type TaskResult } from "./results.js";
import { DEFAULT_CORPUS_SEED, DEFAULT_PROFILE, defaultJobs, runBenchmark } from "./run.js";
import { extractToNpy } from "./extract.js";
import * as fs from "node:fs";
import { registerPretrainCommand } from "./cli/pretrain.js";
import { parseComparePairs, registerAnalyzeCommands } from "./cli/analyze.js";
import { registerBrainCommands } from "./cli/brain.js";
import { registerBrainDataCommands } from "./cli/brain-data.js";
import { registerFuzzCommand } from "./cli/fuzz.js";
import { registerCompareCommand } from "./cli/compare.js";
import { registerFanOutCommands } from "./cli/fanout.js";
import { jobIndexOf, pickJob, planJobs } from "./plan.js";
import { addGridOptions, commaList, info, integer, positiveInteger, positiveNumber, positiveNumberList } from "./cli/options.js";
import { addCacheOptions, addDataOptions, parseSubsets, registerDataCommands } from "./cli/data.js";
import type { CacheDtype } from "./feature-cache.js";

/** The CLI is a thin layer over the library API (src/index.ts); each command group lives in src/cli/. */

function printResults(results: TaskResult[]): void {
  const table = new Table({ head: ["upstream", "task", "seed", "metric", "value", "secondary", "layer weights", "extract s", "train s", "eval s"], style: { head: [], border: [] } });
  for (const r of results) {
    // Per-class figures (KS's accuracy_<class>) stay in the JSON; the table shows the first few.
    const entries = Object.entries(r.secondary);
    const secondary = entries.slice(0, 3).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`).join(", ") + (entries.length > 3 ? ", …" : "");
    const weights = r.layerWeights.length > 8 ? `${r.layerWeights.length} layers, max ${Math.max(...r.layerWeights).toFixed(3)}` : r.layerWeights.map((w) => w.toFixed(3)).join(" ");
    table.push([r.upstream, r.task, r.seed, `${r.metric} ${r.higherIsBetter ? "↑" : "↓"}`, r.value.toFixed(2), secondary, weights, r.seconds.extract.toFixed(1), r.seconds.train.toFixed(1), r.seconds.evaluate.toFixed(1)]);
  }
  process.stdout.write(`${table.toString()}\n`);
}

export function buildProgram(): Command {
  const program = new Command();
  program.name("superb").description("SUPERB-style benchmark of self-supervised speech upstreams").version(packageVersion());
  program.showHelpAfterError(false);
  // Usage errors in the same one-line form as every other error: "superb: <problem>".
  program.configureOutput({ outputError: (text, write) => write(`superb: ${usageLine(text)}\n`) });
  // Set before the subcommands are added, so they inherit it: usage errors then reach main().
  program.exitOverride();

  const run = program
    .command("run")
    .description("train and evaluate downstream tasks on upstreams; writes <results-dir>/<upstream>/<task>.json");
  addGridOptions(run);
  addDataOptions(run);
  addCacheOptions(run);
  run
    .option("-p, --profile <profile>", "embedded corpus profile: quick or full", DEFAULT_PROFILE)
    .option("--corpus-seed <n>", "seed of the synthesised corpus", integer, DEFAULT_CORPUS_SEED)
    .option("-r, --results-dir <dir>", "where results are written", "results")
    .option("--cache-dir <dir>", "corpus and feature cache", defaultCacheDir())
    .option("--lr, --learning-rate <x>", "learning rate, or a comma-separated grid trained on the same features with the best on dev kept (default: per task)", positiveNumberList)
    .option("--lr-sweep", "sweep the task's default rate x 0.1, 0.32, 1, 3.2, 10 and keep the best on dev", false)
    .option("--steps <n>", "training steps (default: per task)", positiveInteger)
    .option("--batch-size <n>", "batch size (default: per task)", positiveInteger)
    .option("-j, --jobs <n>", "tasks trained at once, each on its own core", positiveInteger, defaultJobs())
    .option("--job [index]", "run only job I of the upstream x task x seed grid (see `superb plan`); without I, from SUPERB_JOB_INDEX, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX")
    .option("--no-progress", "no progress bars even on a terminal")
    .action(async (opts: { upstream: string; task: string; data: string[]; lexicon?: string; subset: string[]; cacheDtype: CacheDtype; cacheBudget?: number; cache: boolean; profile: string; seed: number; seeds?: number[]; corpusSeed: number; resultsDir: string; cacheDir: string; learningRate?: number[]; lrSweep: boolean; steps?: number; batchSize?: number; jobs: number; job?: string | true; progress: boolean }) => {
      let upstreams = commaList(opts.upstream);
      let tasks = opts.task;
      let seeds = opts.seeds ?? [opts.seed];
      if (opts.job !== undefined) {
        const { index, source } = jobIndexOf(opts.job);
        const job = pickJob(await planJobs(upstreams, opts.task, seeds), index, source);
        info(`job ${index}: ${job.upstream} ${job.task} seed ${job.seed}`);
        [upstreams, tasks, seeds] = [[job.upstream], job.task, [job.seed]];
      }
      const results = await runBenchmark({
        upstream: upstreams,
        tasks,
        data: opts.data,
        lexicon: opts.lexicon,
        librispeechSubsets: parseSubsets(opts.subset),
        cacheDtype: opts.cacheDtype,
        cacheBudgetBytes: opts.cacheBudget,
        noCache: !opts.cache,
        profile: opts.profile,
        seeds,
        corpusSeed: opts.corpusSeed,
        resultsDir: opts.resultsDir,
        cacheDir: opts.cacheDir,
        learningRates: opts.learningRate,
        lrSweep: opts.lrSweep,
        steps: opts.steps,
        batchSize: opts.batchSize,
        jobs: opts.jobs,
        progress: opts.progress ? undefined : false,
        log: info,
      });
      printResults(results);
      if (upstreams.length > 1) process.stdout.write(`\n${formatLeaderboard(buildLeaderboard(results), "table")}\n`);
    });

  program
    .command("extract")
    .description("write each WAV's hidden states as a float32 .npy array [layers, frames, dim]")
    .requiredOption("-u, --upstream <name>", "upstream name (see `superb list`)")
    .requiredOption("-i, --input <path>", "a WAV file or a folder of WAVs (searched recursively)")
    .requiredOption("-o, --out <path>", "a .npy file (for one WAV) or a folder (same relative names)")
    .option("--no-progress", "no progress bar even on a terminal")
    .action(async (opts: { upstream: string; input: string; out: string; progress: boolean }) => {
      let bar: ReturnType<typeof startProgress> | undefined;
      const r = await extractToNpy({
        upstream: opts.upstream,
        input: opts.input,
        out: opts.out,
        onNotice: info,
        onProgress: (p) => {
          bar ??= startProgress({ label: "extracting", total: p.total, unit: "files", enabled: opts.progress ? undefined : false });
          bar.increment();
        },
      });
      bar?.stop();
      info(`${r.files} files (${r.audioSeconds.toFixed(1)} s of audio) -> ${r.upstream.numLayers} layers x ${r.upstream.hiddenSize} dims at ${r.upstream.frameRate} frames/s in ${r.seconds.toFixed(1)} s; written to ${opts.out}`);
    });

  registerPretrainCommand(program);

  program
    .command("leaderboard")
    .description("upstreams x tasks from a results folder")
    .option("-r, --results-dir <dir>", "results folder", "results")
    .option("-f, --format <format>", "table, markdown or json", "table")
    .option("--compare <pairs>", 'upstream pairs A,B (or "A,B;C,D") adding B − A rows; "none" for none (default: base,refined when both have results)', parseComparePairs)
    .action((opts: { resultsDir: string; format: string; compare?: [string, string][] }) => {
      if (!["table", "markdown", "json"].includes(opts.format)) throw new UserError(`--format ${opts.format}`, "unknown format; use table, markdown or json");
      const results = readResults(opts.resultsDir);
      if (results.length === 0) throw new UserError(`${opts.resultsDir}: no results yet; run \`superb run\` first`);
      process.stdout.write(`${formatLeaderboard(buildLeaderboard(results, { compare: opts.compare }), opts.format as LeaderboardFormat)}\n`);
    });

  registerBrainCommands(program);
  registerBrainDataCommands(program.command("brain").description("brain data sets: simulate one, or inspect one"));
  registerAnalyzeCommands(program);
  registerDataCommands(program);
  registerFuzzCommand(program);
  registerCompareCommand(program);
  registerFanOutCommands(program);

  program
    .command("corpus")
    .description("synthesise (or locate) the embedded corpus and print where it is")
    .option("-p, --profile <profile>", "quick or full", DEFAULT_PROFILE)
    .option("--corpus-seed <n>", "seed of the synthesised corpus", integer, DEFAULT_CORPUS_SEED)
    .option("--cache-dir <dir>", "corpus and feature cache", defaultCacheDir())
    .action(async (opts: { profile: string; corpusSeed: number; cacheDir: string }) => {
      const corpus = await ensureCorpus({ profile: opts.profile, seed: opts.corpusSeed, cacheDir: opts.cacheDir });
      const m = corpus.manifest;
      const seen = m.speakers.filter((s: { seen: boolean }) => s.seen).length;
      process.stdout.write(`${corpus.dir}\n${m.utterances.length} utterances, ${(m.totalDurationSec / 60).toFixed(1)} min, ${m.speakers.length} speakers (${seen} seen, ${m.speakers.length - seen} unseen), ${m.asvTrials.length} ASV trials, ${m.phoneSet.length} phones\n`);
    });

  program
    .command("list")
    .description("known upstreams, tasks and dataset kinds")
    .action(async () => {
      const table = new Table({ head: ["kind", "name", "description"], style: { head: [], border: [] } });
      for (const u of await listUpstreams()) table.push(["upstream", u.takesArgument ? `${u.name}:<arg>` : u.name, u.description]);
      for (const t of await listTasks()) table.push(["task", t.name, `${t.description}; reads ${t.datasetKinds.join(", ")}`]);
      for (const d of await listDatasets()) table.push(["dataset", d.kind, `${d.description} (tasks: ${d.tasks.join(", ")})`]);
      process.stdout.write(`${table.toString()}\n`);
    });

  program
    .command("doctor")
    .description("which tensor backends and onnxruntime providers were found")
    .action(async () => {
      const backend = await initTensorBackend();
      process.stdout.write(`superb ${packageVersion()} on node ${process.version}\n`);
      process.stdout.write(`TensorFlow.js ${tf.version.tfjs}: using backend "${backend.name}"\n`);
      for (const p of backend.probed) process.stdout.write(`  ${p.package}: ${p.loaded ? "loaded" : `not used (${p.reason})`}\n`);
      const providers = ort.listSupportedBackends().map((b) => `${b.name}${b.bundled ? "" : " (not bundled)"}`);
      process.stdout.write(`onnxruntime-node ${ort.env.versions.node ?? "?"}: execution providers ${providers.join(", ")}\n`);
      process.stdout.write(`cache folder: ${defaultCacheDir()}\n`);
    });

  return program;
}

/** Commander's "error: ...\n(Did you mean x?)" as one line. */
function usageLine(text: string): string {
  return text.trim().replace(/^error: /, "").split("\n").map((l) => l.trim()).filter(Boolean).join(" ");
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    // A command may set its own exit code (compare --fail-on-regression) after printing its output.
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === "string" && code.startsWith("commander.")) {
      // Commander already printed its message (help, version, or a usage error).
      return code === "commander.helpDisplayed" || code === "commander.version" || code === "commander.help" ? 0 : 2;
    }
    const userError = err instanceof UserError ? err : userErrorFromSystemError(err);
    if (userError) {
      process.stderr.write(`superb: ${oneLine(userError)}\n`);
      return 1;
    }
    process.stderr.write(`superb: internal error: ${oneLine(err)}${process.env.SUPERB_DEBUG ? "" : " (set SUPERB_DEBUG=1 for the stack trace)"}\n`);
    if (process.env.SUPERB_DEBUG) process.stderr.write(`${(err as Error).stack ?? ""}\n`);
    return 3;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
