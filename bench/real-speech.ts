/**
 * npm run bench:real [-- --steps-ks N --steps-sid N --steps-asv N --lr X --upstreams a,b --seeds 0,1,2 --compare base,refined --no-fsdd --fresh]
 *
 * The first numbers on real voices: KS, SID and ASV on layouts built (in a tmp folder) from the
 * real recordings under ../shared/data (bench/layouts.ts says how), for fbank, mfcc, base and
 * refined. Training budgets are fixed here and printed, so the table says what it measured.
 * Budgets: the whole run (with feature extraction) fits in ~25 min on 2 shared cores.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { TaskData } from "../src/dataset.js";
import { openDataset } from "../src/run-data.js";
import { runBenchmark } from "../src/run.js";
import { compareSystems, formatComparison } from "../src/compare.js";
import type { TaskResult } from "../src/results.js";
import { buildSpeechCommandsArchive, buildVoxCelebFromFsdd, buildVoxCelebFromSpeechCommands, FSDD_BENCH_TAKES, FSDD_DIR, SPEECH_COMMANDS_DIR } from "./layouts.js";

const { values } = parseArgs({
  options: {
    upstreams: { type: "string", default: "fbank,mfcc,base,refined,pase" },
    // KS and SID heads pool utterance means (~0.02 s a step); ASV's x-vector runs on frames (~0.25 s a step).
    "steps-ks": { type: "string", default: "3000" },
    "steps-sid": { type: "string", default: "6000" },
    "steps-asv": { type: "string", default: "3000" },
    lr: { type: "string", default: "0.002" },
    "batch-size": { type: "string", default: "32" },
    out: { type: "string", default: path.join(os.tmpdir(), "superb-bench-real") },
    "cache-dir": { type: "string", default: path.join(os.tmpdir(), "superb-bench-real-cache") },
    "results-dir": { type: "string", default: path.join(os.tmpdir(), "superb-bench-real-results") },
    "no-fsdd": { type: "boolean", default: false },
    // Several training seeds per task (the table shows their mean); pairs A,B;C,D get `superb compare` rows.
    seeds: { type: "string", default: "0" },
    compare: { type: "string", default: "" },
    // Drop the feature cache, so extraction is part of the measured time.
    fresh: { type: "boolean", default: false },
  },
});
const upstreams = values.upstreams!.split(",");
const steps = { ks: Number(values["steps-ks"]), sid: Number(values["steps-sid"]), asv: Number(values["steps-asv"]) };
const lr = Number(values.lr);
const seeds = values.seeds!.split(",").map(Number);
const comparePairs = values.compare ? values.compare.split(";").map((p) => p.split(",") as [string, string]) : [];
const batchSize = Number(values["batch-size"]);
const out = path.resolve(values.out!);
const cacheDir = path.resolve(values["cache-dir"]!);
const resultsDir = path.resolve(values["results-dir"]!);
const secs = (t0: number) => (performance.now() - t0) / 1000;

const t0 = performance.now();
if (values.fresh) fs.rmSync(cacheDir, { recursive: true, force: true });
fs.rmSync(resultsDir, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const sc = buildSpeechCommandsArchive(SPEECH_COMMANDS_DIR, out);
const vox = buildVoxCelebFromSpeechCommands(SPEECH_COMMANDS_DIR, out);
const fsdd = values["no-fsdd"] ? undefined : buildVoxCelebFromFsdd(FSDD_DIR, out, FSDD_BENCH_TAKES);
console.log(`layouts built in ${secs(t0).toFixed(1)} s under ${out}`);

const data = {
  ks: [`speech_commands=${sc.root}`, `speech_commands_test=${sc.testRoot}`],
  sid: [`voxceleb1=${vox.root}`],
  asv: [`voxceleb1=${vox.root}`],
  fsdd: fsdd ? [`voxceleb1=${fsdd.root}`] : [],
};

/** The equivalent CLI command of one runBenchmark call below. */
const command = (task: string, specs: string[], n: number, results: string) =>
  `node dist/src/cli.js run --upstream ${upstreams.join(",")} --task ${task} ${specs.map((d) => `--data ${d}`).join(" ")} --steps ${n} --lr ${lr} --batch-size ${batchSize} --seeds ${seeds.join(",")} --cache-dir ${cacheDir} --results-dir ${results} --no-progress`;

// ---- dataset sizes and chance levels, read through the same readers the runs use
const ksData = (await openDataset("speech_commands", sc.root, { subsets: { test: sc.testRoot } })).taskData("ks");
const voxSet = await openDataset("voxceleb1", vox.root, {});
const sidData = voxSet.taskData("sid");
const asvData = voxSet.taskData("asv");
const fsddData = fsdd ? (await openDataset("voxceleb1", fsdd.root, {})).taskData("sid") : undefined;

/** Share (%) of the test split's most frequent label: the accuracy of always guessing it. */
function majority(td: TaskData, labelOf: (i: TaskData["splits"]["test"][number]) => string): number {
  const counts = new Map<string, number>();
  for (const i of td.splits.test) counts.set(labelOf(i), (counts.get(labelOf(i)) ?? 0) + 1);
  return (100 * Math.max(...counts.values())) / td.splits.test.length;
}
const sizes = (td: TaskData, label: (d: TaskData) => string = () => "") =>
  (["train", "dev", "test"] as const).map((s) => `${s} ${td.splits[s].length} utt / ${new Set(td.splits[s].map((i) => i.speaker)).size} spk`).join(", ") + label(td);
console.log("\n## Data");
console.log(`- KS (Speech Commands archive layout + 12-class test set): ${sizes(ksData)}; speakers train/dev/test ${sc.speakers.train}/${sc.speakers.dev}/${sc.speakers.test} (+ the _background_noise_ pseudo-speaker); _silence_: ${sc.silence.noise} clips -> ${sc.silence.noiseFiles} noise files (1 s crops), ${sc.silence.test} clips in the test set. Chance: ${(100 / 12).toFixed(1)} % uniform, ${majority(ksData, (i) => i.label!).toFixed(1)} % majority class.`);
console.log(`- SID (VoxCeleb1 layout from Speech Commands speakers with >= 8 clips, ${vox.sidSpeakers} speakers): ${sizes(sidData)}. Chance: ${(100 / sidData.classes!.length).toFixed(1)} % uniform, ${majority(sidData, (i) => i.speaker).toFixed(1)} % majority speaker.`);
console.log(`- ASV (same layout, ${vox.testSpeakers} held-out trial speakers): ${sizes(asvData)}; ${asvData.trials!.test.length} test trials (${vox.trials.target} target, ${vox.trials.nonTarget} non-target). Chance: EER 50 %, minDCF 1.`);
if (fsddData) console.log(`- SID-FSDD (FSDD takes 0-19, 8 kHz resampled to 16 kHz, 6 speakers): ${sizes(fsddData)}. Chance: ${(100 / 6).toFixed(1)} %.`);

// ---- the runs: one call per task, since --steps applies to every task of a call
const results: Record<string, TaskResult[]> = {};
const timings: string[] = [];
const runs: { key: string; task: string; specs: string[]; steps: number; results: string }[] = [
  { key: "ks", task: "ks", specs: data.ks, steps: steps.ks, results: resultsDir },
  { key: "sid", task: "sid", specs: data.sid, steps: steps.sid, results: resultsDir },
  { key: "asv", task: "asv", specs: data.asv, steps: steps.asv, results: resultsDir },
  ...(fsdd ? [{ key: "fsdd", task: "sid", specs: data.fsdd, steps: steps.sid, results: path.join(resultsDir, "fsdd") }] : []),
];
for (const r of runs) {
  console.log(`\n## ${r.key}: ${command(r.task, r.specs, r.steps, r.results)}`);
  const start = performance.now();
  results[r.key] = await runBenchmark({ upstream: upstreams, tasks: r.task, data: r.specs, steps: r.steps, learningRate: lr, batchSize, seeds, resultsDir: r.results, cacheDir, progress: false, log: (m) => console.log(`  ${m}`) });
  timings.push(`${r.key} ${secs(start).toFixed(0)} s`);
}

// ---- the table
/** A table cell from the seed-mean of result fields (`mean(r => r.value)`), or "–" when the task has no result. */
const cell = (key: string, up: string, f: (mean: (field: (r: TaskResult) => number) => number) => string) => {
  const rs = results[key]?.filter((x) => x.upstream === up) ?? [];
  return rs.length === 0 ? "–" : f((field) => rs.reduce((s, r) => s + field(r), 0) / rs.length);
};
const acc = (mean: (field: (r: TaskResult) => number) => number) => `${mean((r) => r.value).toFixed(1)} (dev ${mean((r) => r.devValue).toFixed(1)})`;
const head = ["upstream", "KS acc % ↑", "SID acc % ↑", "ASV EER % ↓", "ASV minDCF ↓", ...(fsdd ? ["SID-FSDD acc % ↑"] : [])];
const rows = upstreams.map((up) => [
  up,
  cell("ks", up, acc),
  cell("sid", up, acc),
  cell("asv", up, acc),
  cell("asv", up, (mean) => mean((r) => r.secondary.minDCF).toFixed(3)),
  ...(fsdd ? [cell("fsdd", up, acc)] : []),
]);
const chance = ["chance", `${(100 / 12).toFixed(1)} / majority ${majority(ksData, (i) => i.label!).toFixed(1)}`, `${(100 / sidData.classes!.length).toFixed(1)}`, "50", "1", ...(fsddData ? [(100 / 6).toFixed(1)] : [])];
console.log(`\n## Real speech (steps: KS ${steps.ks}, SID ${steps.sid}, ASV ${steps.asv}; lr ${lr}; batch ${batchSize}; ${seeds.length === 1 ? `seed ${seeds[0]}` : `mean over seeds ${seeds.join(",")}`})\n`);
console.log(`| ${head.join(" | ")} |\n|---|${head.slice(1).map(() => "---:").join("|")}|`);
for (const row of [...rows, chance]) console.log(`| ${row.join(" | ")} |`);
const extract = upstreams.map((up) => `${up} ${(["ks", "sid", "asv", "fsdd"] as const).reduce((s, k) => s + (results[k]?.find((x) => x.upstream === up)?.seconds.extract ?? 0), 0).toFixed(0)} s`);
console.log(`\nfeature extraction: ${extract.join(", ")}; wall time per task: ${timings.join(", ")}; total ${(secs(t0) / 60).toFixed(1)} min`);
console.log(`reproduce: npm run bench:real${values.fresh ? " -- --fresh" : ""} (results in ${resultsDir}, layouts in ${out})`);

// ---- paired comparisons (superb compare) per pair, all tasks of a results folder at once (Holm over them)
for (const [a, b] of comparePairs) {
  for (const dir of [...new Set(runs.map((r) => r.results))]) {
    const rows = compareSystems({ a, b, resultsDirA: dir, resultsDirB: dir });
    console.log(`\n### ${b} vs ${a}: node dist/src/cli.js compare ${a} ${b} -r ${dir}\n`);
    console.log(formatComparison(rows, "markdown", a, b).split("\n").slice(4).join("\n"));
  }
}
