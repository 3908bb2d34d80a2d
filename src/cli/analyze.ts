/**
 * `superb analyze layers|params`: what changed between two upstreams (e.g. base and its
 * brain-refined version), from the results folder (featurizer layer weights) or from the weights
 * themselves (relative parameter change). Thin CLI over src/analyze/*.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { oneLine, UserError } from "../errors.js";
import { writeFileAtomic } from "../fs-atomic.js";
import { analyzeLayerWeights, formatLayerAnalysis, layerAnalysisSvg, type AnalysisFormat } from "../analyze/layers.js";
import { analyzeParamChange, checkSameArchitecture, formatParamAnalysis, loadUpstreamParams, paramChangeHeatmapSvg } from "../analyze/params.js";
import { collect } from "./data.js";
import { PROBE_LABELS, formatProbeAnalysis, probeUpstreamLayers, type ProbeLabel } from "../analyze/probe.js";
import { defaultCacheDir } from "../corpus/generate.js";
import { DEFAULT_CORPUS_SEED } from "../run.js";
import { readResults } from "../results.js";
import { integer, oneOf } from "./options.js";

const FORMATS: readonly AnalysisFormat[] = ["table", "markdown", "json"];

function checkFormat(format: string): AnalysisFormat {
  if (!(FORMATS as readonly string[]).includes(format)) throw new UserError(`--format ${format}`, "unknown format; use table, markdown or json");
  return format as AnalysisFormat;
}

function pair(text: string, what: string): [string, string] {
  const names = text.split(",").map((s) => s.trim());
  if (names.length !== 2 || names.some((n) => n === "")) throw new InvalidArgumentError(`expected two ${what} as A,B, got "${text}"`);
  if (names[0] === names[1]) throw new InvalidArgumentError(`expected two different ${what}, got "${text}"`);
  return [names[0], names[1]];
}

/**
 * Parses `--compare` for the leaderboard: "base,refined" or "base,refined;x,y" (each pair A,B
 * adds a "B − A" row); "none" gives [] (no comparison, not even the default base/refined one).
 * Usable as a commander option parser: malformed input throws InvalidArgumentError.
 */
export function parseComparePairs(value: string): [string, string][] {
  if (value.trim() === "none") return [];
  const parts = value.split(";").map((s) => s.trim()).filter((s) => s !== "");
  if (parts.length === 0) throw new InvalidArgumentError(`expected A,B pairs separated by ";", got "${value}"`);
  return parts.map((p) => pair(p, "upstreams"));
}

function parseUpstreamPair(value: string): [string, string] {
  return pair(value, "upstreams");
}

function parseTaskList(value: string): string[] {
  const tasks = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (tasks.length === 0) throw new InvalidArgumentError("expected a comma-separated list of tasks");
  return tasks;
}

/** Writes an SVG atomically; a missing or unwritable folder is the user's to fix. */
function writeSvg(file: string, svg: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new UserError(`${file}: folder ${dir} does not exist`);
  try {
    writeFileAtomic(file, svg);
  } catch (err) {
    throw new UserError(`${file}: cannot write (${(err as NodeJS.ErrnoException).code ?? oneLine(err)})`);
  }
  process.stderr.write(`wrote ${file}\n`);
}

export function registerAnalyzeCommands(program: Command): void {
  const analyze = program
    .command("analyze")
    .description("compare two upstreams (featurizer layer weights from results, parameter change from weights), or probe one upstream's layers");

  analyze
    .command("layers")
    .description("per task, the featurizer layer weights of upstream A and B, their difference, entropy, mean and argmax layer")
    .requiredOption("--upstreams <A,B>", "the two upstreams, e.g. base,refined (B is compared against A)", parseUpstreamPair)
    .option("-t, --tasks <list>", "comma-separated tasks (default: every task both have)", parseTaskList)
    .option("-r, --results-dir <dir>", "results folder", "results")
    .option("-f, --format <format>", "table, markdown or json", "table")
    .option("--svg <file>", "also write a chart per task (one SVG)")
    .action((opts: { upstreams: [string, string]; tasks?: string[]; resultsDir: string; format: string; svg?: string }) => {
      const format = checkFormat(opts.format);
      const results = readResults(opts.resultsDir);
      if (results.length === 0) throw new UserError(`${opts.resultsDir}: no results yet; run \`superb run\` first`);
      const analysis = analyzeLayerWeights(results, opts.upstreams, opts.tasks);
      if (opts.svg) writeSvg(opts.svg, layerAnalysisSvg(analysis));
      process.stdout.write(`${formatLayerAnalysis(analysis, format)}\n`);
    });

  analyze
    .command("probe")
    .description("per layer, accuracy of a ridge classifier on utterance mean + std features: how much speaker or intent information a layer carries")
    .requiredOption("-u, --upstream <name>", "upstream name (see `superb list`)")
    .option("-l, --label <label>", "speaker (SID's seen speakers) or intent (IC's action/object/location triples)", oneOf(PROBE_LABELS), "speaker" as ProbeLabel)
    .option("-p, --profile <profile>", "embedded corpus profile: quick or full", "full")
    .option("--corpus-seed <n>", "seed of the synthesised corpus", integer, DEFAULT_CORPUS_SEED)
    .option("--cache-dir <dir>", "corpus and feature cache", defaultCacheDir())
    .option("-f, --format <format>", "table, markdown or json", "table")
    .option("-d, --data <KIND=DIR>", "a dataset SID (voxceleb1) or IC (fsc) reads, instead of the embedded corpus", collect, [])
    .option("--no-progress", "no progress bars even on a terminal")
    .action(async (opts: { upstream: string; label: ProbeLabel; profile: string; corpusSeed: number; cacheDir: string; format: string; data: string[]; progress: boolean }) => {
      const format = checkFormat(opts.format);
      const analysis = await probeUpstreamLayers({ upstream: opts.upstream, label: opts.label, profile: opts.profile, corpusSeed: opts.corpusSeed, cacheDir: opts.cacheDir, data: opts.data, progress: opts.progress });
      process.stdout.write(`${formatProbeAnalysis(analysis, format)}\n`);
    });

  analyze
    .command("params")
    .description("relative change 100·||B − A||/||A|| per transformer layer and parameter type, per module and overall")
    .argument("<upstreamA>", "HuggingFace folder, hf:<dir>, or a shipped upstream name (upstreams/<name>/)")
    .argument("<upstreamB>", "the same, for the upstream compared against A")
    .option("-f, --format <format>", "table, markdown or json", "table")
    .option("--svg <file>", "also write the heatmap (layers x parameter types, plus model-level modules)")
    .action((specA: string, specB: string, opts: { format: string; svg?: string }) => {
      const format = checkFormat(opts.format);
      const a = loadUpstreamParams(specA);
      const b = loadUpstreamParams(specB);
      checkSameArchitecture(a.config, b.config, specA, specB);
      process.stderr.write(`A: ${a.source}\nB: ${b.source}\n`);
      const analysis = analyzeParamChange(a.params, b.params, a.config);
      if (opts.svg) writeSvg(opts.svg, paramChangeHeatmapSvg(analysis));
      process.stdout.write(`${formatParamAnalysis(analysis, format)}\n`);
    });
}
