/**
 * `superb compare A B`: per task, B − A with a 95 % interval from a paired bootstrap over the test
 * items (ASV: trials resampled by enrolment speaker), a paired test that fits the metric (exact
 * McNemar for an accuracy with one seed a side, MAPSSWE for PER/WER, the bootstrap otherwise),
 * Holm's correction across the rows, and a verdict. With several seeds a side, a system's value
 * on a resample is the mean over its seeds, so the interval is test-set uncertainty of the
 * seed-averaged systems; the seeds' own spread is reported beside it, not mixed in.
 */
import Table from "cli-table3";
import { UserError } from "./errors.js";
import { equalErrorRate, minDcf } from "./metrics.js";
import { isUpstream, itemsPath, readItemsFile, readResults, resultPath, type TaskResult } from "./results.js";
import { holmAdjust, mapsswe, mcnemar, pairedBootstrap, seedSpread, verdict, type Verdict } from "./stats/index.js";
import type { ItemOutput } from "./task.js";

export interface CompareOptions {
  /** Upstream names (or their results-folder names). */
  a: string;
  b: string;
  resultsDirA: string;
  resultsDirB: string;
  tasks?: string[];
  /** Tolerated regression per task, in the metric's units (default 0). */
  margins?: Record<string, number>;
  resamples?: number;
  seed?: number;
  alpha?: number;
}

export interface ComparisonRow {
  task: string;
  metric: string;
  higherIsBetter: boolean;
  /** Seed-mean values of A and B. */
  a: number;
  b: number;
  difference: number;
  ci: [number, number];
  pValue: number;
  /** After Holm's correction over all rows. */
  pAdjusted: number;
  test: "mcnemar-exact" | "mapsswe" | "paired-bootstrap";
  verdict: Verdict;
  margin: number;
  items: number;
  testSet: string;
  seeds: { a: number[]; b: number[] };
  /** Sample standard deviation of the per-seed values (null with one seed). */
  seedSd: { a: number | null; b: number | null };
}

export const DEFAULT_RESAMPLES = 2000;

/** One side's results for a task: every seed, with its items aligned to the shared key order. */
interface Side {
  dir: string;
  results: TaskResult[];
  items: ItemOutput[][];
}

const keyOf = (item: ItemOutput): string => (item.kind === "trial" ? `${item.enroll}\t${item.test}` : item.id);

function loadSide(dir: string, results: TaskResult[]): Side {
  const items = results.map((r) => {
    const file = itemsPath(resultPath(dir, r.upstream, r.task, r.seed));
    const { header, items: list } = readItemsFile(file);
    if (r.testSet && r.testSet.hash !== header.testSet.hash) throw new UserError(file, `test-set hash ${header.testSet.hash} differs from its result's ${r.testSet.hash}`);
    return [...list].sort((x, y) => (keyOf(x) < keyOf(y) ? -1 : keyOf(x) > keyOf(y) ? 1 : 0));
  });
  return { dir, results, items };
}

/** The metric of one seed's items over the resampled indices (the tasks' own definitions). */
function metricOn(metric: string, items: readonly ItemOutput[], idx: Int32Array): number {
  if (metric === "accuracy") {
    let right = 0;
    for (const i of idx) {
      const it = items[i] as Extract<ItemOutput, { kind: "label" }>;
      if (it.truth === it.predicted) right++;
    }
    return (100 * right) / idx.length;
  }
  if (metric === "per" || metric === "wer") {
    let errors = 0;
    let length = 0;
    for (const i of idx) {
      const it = items[i] as Extract<ItemOutput, { kind: "sequence" }>;
      errors += it.errors;
      length += it.length;
    }
    return (100 * errors) / length;
  }
  const trials = Array.from(idx, (i) => items[i] as Extract<ItemOutput, { kind: "trial" }>);
  const scores = trials.map((t) => t.score);
  const labels = trials.map((t) => t.label);
  return metric === "minDCF" ? minDcf(scores, labels, { pTarget: 0.01 }).minDcf : equalErrorRate(scores, labels).eer;
}

const seedMean = (side: Side, metric: string, idx: Int32Array): number => side.items.reduce((s, items) => s + metricOn(metric, items, idx), 0) / side.items.length;

/** The paired test that fits the metric; the bootstrap's own p where none does. */
function pairedTest(metric: string, a: Side, b: Side, bootP: number): { test: ComparisonRow["test"]; pValue: number } {
  if (metric === "accuracy" && a.items.length === 1 && b.items.length === 1) {
    const correct = (items: ItemOutput[]) => items.map((it) => it.kind === "label" && it.truth === it.predicted);
    return { test: "mcnemar-exact", pValue: mcnemar(correct(a.items[0]), correct(b.items[0])).pValue };
  }
  if ((metric === "per" || metric === "wer") && a.items[0].length >= 2) {
    const meanErrors = (s: Side) => s.items[0].map((_, i) => s.items.reduce((acc, items) => acc + (items[i] as Extract<ItemOutput, { kind: "sequence" }>).errors, 0) / s.items.length);
    return { test: "mapsswe", pValue: mapsswe(meanErrors(a), meanErrors(b)).pValue };
  }
  return { test: "paired-bootstrap", pValue: bootP };
}

function checkSameTestSet(task: string, a: Side, b: Side, opts: CompareOptions): string {
  const hashes = (s: Side) => [...new Set(s.results.map((r) => r.testSet?.hash ?? "?"))];
  const [ha, hb] = [hashes(a), hashes(b)];
  if (ha.length > 1) throw new UserError(`compare ${opts.a}`, `${task}: its seeds were computed on different test sets (${ha.join(", ")})`);
  if (hb.length > 1) throw new UserError(`compare ${opts.b}`, `${task}: its seeds were computed on different test sets (${hb.join(", ")})`);
  if (ha[0] !== hb[0]) throw new UserError(`compare ${opts.a} ${opts.b}`, `${task}: computed on different test sets (${ha[0]} vs ${hb[0]}); run both on the same data`);
  const keys = (s: Side) => s.items[0].map(keyOf).join("\n");
  if (keys(a) !== keys(b)) throw new UserError(`compare ${opts.a} ${opts.b}`, `${task}: the per-item files list different items`);
  return ha[0];
}

/** A speaker-level resample can draw no target (or no non-target) trial when there are very few speakers. */
function bootstrapOrExplain<T>(task: string, opts: CompareOptions, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (!(err instanceof Error) || !/target|non-target|positive|negative/i.test(err.message)) throw err;
    throw new UserError(`compare ${opts.a} ${opts.b}`, `${task}: a bootstrap resample of its speakers drew only one kind of trial (${err.message}); the test set has too few speakers for a speaker-level interval`);
  }
}

/** Rows for one task: the task's metric, and minDCF beside EER for ASV. */
function compareTask(task: string, a: Side, b: Side, opts: CompareOptions): Omit<ComparisonRow, "pAdjusted" | "verdict">[] {
  const testSet = checkSameTestSet(task, a, b, opts);
  const first = a.results[0];
  const metrics: { name: string; higherIsBetter: boolean }[] = [{ name: first.metric, higherIsBetter: first.higherIsBetter }];
  if (first.metric === "eer") metrics.push({ name: "minDCF", higherIsBetter: false });
  const n = a.items[0].length;
  const groups = a.items[0].every((it) => it.kind === "trial") ? a.items[0].map((it) => (it as Extract<ItemOutput, { kind: "trial" }>).speaker) : undefined;
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  const sd = (xs: number[]) => (xs.length > 1 ? seedSpread(xs).sd : null);
  return metrics.map(({ name, higherIsBetter }) => {
    // Each seed's value on the full test set, computed once: checked, averaged and spread below.
    const [fullA, fullB] = [a, b].map((side) => checkedValues(side, name, all));
    const boot = bootstrapOrExplain(task, opts, () => pairedBootstrap({ numItems: n, statistic: (idx) => seedMean(b, name, idx) - seedMean(a, name, idx), resamples: opts.resamples ?? DEFAULT_RESAMPLES, seed: opts.seed ?? 0, groups }));
    const { test, pValue } = pairedTest(name, a, b, boot.pValue);
    return {
      task, metric: name, higherIsBetter, a: mean(fullA), b: mean(fullB), difference: boot.difference, ci: boot.ci, pValue, test,
      margin: opts.margins?.[task] ?? 0, items: n, testSet,
      seeds: { a: a.results.map((r) => r.seed), b: b.results.map((r) => r.seed) },
      seedSd: { a: sd(fullA), b: sd(fullB) },
    };
  });
}

/** Each seed's metric on the full test set; the items must reproduce what the result files say, or they belong to other results. */
function checkedValues(side: Side, name: string, all: Int32Array): number[] {
  return side.results.map((r, s) => {
    const expected = name === "minDCF" ? r.secondary.minDCF : r.value;
    const got = metricOn(name, side.items[s], all);
    if (expected !== undefined && Math.abs(got - expected) > 1e-6 * Math.max(1, Math.abs(expected))) {
      throw new UserError(itemsPath(resultPath(side.dir, r.upstream, r.task, r.seed)), `its items give ${name} ${got}, the result says ${expected}`);
    }
    return got;
  });
}

function resultsFor(all: TaskResult[], upstream: string, dir: string): TaskResult[] {
  const rs = all.filter((r) => isUpstream(r, upstream));
  if (rs.length === 0) throw new UserError(`compare: ${upstream}`, `no results in ${dir} (have: ${[...new Set(all.map((r) => r.upstream))].sort().join(", ") || "none"})`);
  return rs;
}

export function compareSystems(opts: CompareOptions): ComparisonRow[] {
  const ra = resultsFor(readResults(opts.resultsDirA), opts.a, opts.resultsDirA);
  const rb = resultsFor(readResults(opts.resultsDirB), opts.b, opts.resultsDirB);
  const shared = [...new Set(ra.map((r) => r.task))].filter((t) => rb.some((r) => r.task === t));
  const tasks = opts.tasks ?? shared;
  const missing = tasks.find((t) => !shared.includes(t));
  if (missing !== undefined) throw new UserError(`compare --tasks ${missing}`, `not in the results of both ${opts.a} and ${opts.b} (shared: ${shared.join(", ") || "none"})`);
  const bySeed = (rs: TaskResult[], t: string) => rs.filter((r) => r.task === t).sort((x, y) => x.seed - y.seed);
  const rows = tasks.flatMap((t) => compareTask(t, loadSide(opts.resultsDirA, bySeed(ra, t)), loadSide(opts.resultsDirB, bySeed(rb, t)), opts));
  const adjusted = holmAdjust(rows.map((r) => r.pValue));
  return rows.map((r, i) => ({ ...r, pAdjusted: adjusted[i], verdict: verdict({ difference: r.difference, ci: r.ci, pAdjusted: adjusted[i], higherIsBetter: r.higherIsBetter, margin: r.margin, alpha: opts.alpha }) }));
}

/** True when some row is significantly worse beyond its margin (what --fail-on-regression gates on). */
export function hasRegression(rows: readonly ComparisonRow[]): boolean {
  return rows.some((r) => r.verdict === "worse");
}

/** The hidden marker a bot finds its own pull-request comment by, to update it in place. */
export const COMMENT_MARKER = "<!-- superb-compare -->";

const signed = (x: number) => `${x > 0 ? "+" : ""}${x.toFixed(2)}`;
const pText = (p: number) => (p < 1e-4 ? p.toExponential(1) : p.toFixed(4));
const spreadText = (sd: number | null, seeds: number[]) => (sd === null ? `seed ${seeds[0]}` : `±${sd.toFixed(2)} over ${seeds.length} seeds`);

function rowCells(r: ComparisonRow): string[] {
  return [
    r.task.toUpperCase(), `${r.metric.toUpperCase()} ${r.higherIsBetter ? "↑" : "↓"}`, r.a.toFixed(2), r.b.toFixed(2), signed(r.difference),
    `[${signed(r.ci[0])}, ${signed(r.ci[1])}]`, `${pText(r.pAdjusted)} (${r.test})`, r.verdict, `${spreadText(r.seedSd.a, r.seeds.a)} / ${spreadText(r.seedSd.b, r.seeds.b)}`,
  ];
}

const HEAD = ["task", "metric", "A", "B", "B − A", "95% CI", "p (Holm)", "verdict", "seed spread A / B"];

export function formatComparison(rows: readonly ComparisonRow[], format: "table" | "markdown" | "json", a: string, b: string): string {
  if (format === "json") return JSON.stringify(rows, null, 2);
  const note = `B = ${b} vs A = ${a}: paired bootstrap 95% intervals over the test items (ASV trials by speaker); p-values Holm-adjusted over the ${rows.length} rows; "worse" only beyond a task's margin.`;
  if (format === "markdown") {
    const worse = rows.filter((r) => r.verdict === "worse").map((r) => r.task.toUpperCase());
    const summary = worse.length > 0 ? `**Significant regression** on ${worse.join(", ")}.` : "No significant regression.";
    const lines = [COMMENT_MARKER, `### superb: ${b} vs ${a}`, "", summary, "", `| ${HEAD.join(" | ")} |`, `|${HEAD.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`];
    for (const r of rows) lines.push(`| ${rowCells(r).join(" | ")} |`);
    return [...lines, "", note].join("\n");
  }
  const table = new Table({ head: HEAD, style: { head: [], border: [] } });
  for (const r of rows) table.push(rowCells(r));
  return `${table.toString()}\n${note}`;
}
