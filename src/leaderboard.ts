import Table from "cli-table3";
import { UserError } from "./errors.js";
import { datasetOf, isUpstream, testSetOf, type TaskResult } from "./results.js";
import { seedSpread } from "./stats/spread.js";

export type LeaderboardFormat = "table" | "markdown" | "json";

const TASK_ORDER = ["pr", "asr", "ic", "sid", "asv", "ks"];

/** One task's B − A: in the metric's units; `better` follows the metric's direction. */
export interface ComparisonCell {
  difference: number;
  better: boolean;
}

/** A "B − A" row: per task, B's value minus A's, differenced only where both share a test set. */
export interface LeaderboardComparison {
  /** Row name: "refined − base". */
  upstream: string;
  a: string;
  b: string;
  values: Record<string, ComparisonCell | null>;
}

export interface LeaderboardColumn {
  task: string;
  metric: string;
  higherIsBetter: boolean;
  /** The test set the column ranks: "kind:name@hash" of the dataset most of its cells used. */
  testSet: string;
  /** "kind name", for the header. */
  dataset: string;
}

export interface LeaderboardRow {
  upstream: string;
  /** The mean over the upstream's seeds (one result per seed). */
  values: Record<string, number | null>;
  /** Seed spread where a task has results of several seeds: sample standard deviation and count. */
  spread: Record<string, { sd: number; seeds: number }>;
  secondary: Record<string, Record<string, number>>;
  /** Tasks whose cell was computed on another test set than its column's (shown with †, never ranked). */
  offColumn: string[];
}

export interface Leaderboard {
  tasks: LeaderboardColumn[];
  rows: LeaderboardRow[];
  comparisons: LeaderboardComparison[];
  /** Cells left unranked or uncompared, one sentence each. */
  notes: string[];
}

export interface LeaderboardOptions {
  /**
   * Pairs [A, B] to add "B − A" rows for. Default: [["base", "refined"]] when both have results
   * (the brain-refined upstream against the one it was refined from); [] for none.
   */
  compare?: [string, string][];
}

/** The pair compared by default: the refined upstream against the base it was refined from. */
export const DEFAULT_COMPARE: [string, string] = ["base", "refined"];

/** The column's test set: the one most of its cells used (ties: the first in sorted order). */
function columnTestSet(rs: readonly TaskResult[]): string {
  const counts = new Map<string, number>();
  for (const r of rs) counts.set(testSetOf(r), (counts.get(testSetOf(r)) ?? 0) + 1);
  return [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))[0][0];
}

/**
 * One row per upstream and one column per task, whatever dataset each task used. A column ranks
 * only the cells computed on its test set; a cell on another one is shown with † and a note.
 */
export function buildLeaderboard(results: TaskResult[], opts: LeaderboardOptions = {}): Leaderboard {
  const taskNames = [...new Set(results.map((r) => r.task))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const tasks: LeaderboardColumn[] = taskNames.map((task) => {
    const rs = results.filter((x) => x.task === task);
    const testSet = columnTestSet(rs);
    const d = datasetOf(rs.find((r) => testSetOf(r) === testSet)!);
    return { task, metric: rs[0].metric, higherIsBetter: rs[0].higherIsBetter, testSet, dataset: `${d.kind} ${d.name}` };
  });
  const notes: string[] = [];
  const upstreams = [...new Set(results.map((r) => r.upstream))].sort();
  const rows = upstreams.map((upstream) => {
    const values: Record<string, number | null> = {};
    const spread: LeaderboardRow["spread"] = {};
    const secondary: Record<string, Record<string, number>> = {};
    const offColumn: string[] = [];
    for (const column of tasks) {
      const seeds = resultsOf(results, upstream, column.task);
      const r = seeds[0];
      values[column.task] = r ? meanOf(seeds) : null;
      if (!r) continue;
      if (seeds.length > 1) spread[column.task] = { sd: seedSpread(seeds.map((x) => x.value)).sd, seeds: seeds.length };
      secondary[column.task] = r.secondary;
      if (testSetOf(r) !== column.testSet) {
        offColumn.push(column.task);
        const d = datasetOf(r);
        notes.push(`† ${upstream} ${column.task.toUpperCase()} was computed on ${d.kind} ${d.name} (${d.hash}), not on the column's ${column.dataset}: not ranked.`);
      }
    }
    return { upstream, values, spread, secondary, offColumn };
  });
  const comparisons: LeaderboardComparison[] = [];
  const pairs = opts.compare ?? (hasUpstream(results, DEFAULT_COMPARE[0]) && hasUpstream(results, DEFAULT_COMPARE[1]) ? [DEFAULT_COMPARE] : []);
  for (const pair of pairs) comparisons.push(compareUpstreams(results, pair, taskNames, notes));
  return { tasks, rows, comparisons, notes };
}

function hasUpstream(results: readonly TaskResult[], name: string): boolean {
  return results.some((r) => isUpstream(r, name));
}

/** The B − A row: a task is differenced only when both results share its test set (else a note says why not). */
function compareUpstreams(results: readonly TaskResult[], [a, b]: [string, string], taskNames: readonly string[], notes: string[]): LeaderboardComparison {
  const label = `${b} − ${a}`;
  const known = [...new Set(results.map((r) => r.upstream))].sort().join(", ");
  const side = (name: string) => {
    const rs = results.filter((r) => isUpstream(r, name));
    if (rs.length === 0) throw new UserError(`compare ${a},${b}: no results for upstream "${name}" (have: ${known})`);
    return rs;
  };
  const ra = side(a);
  const rb = side(b);
  const values: Record<string, ComparisonCell | null> = {};
  for (const t of taskNames) {
    const xs = ra.filter((r) => r.task === t);
    const ys = rb.filter((r) => r.task === t);
    const x = xs[0];
    const y = ys[0];
    values[t] = null;
    if (!x || !y) continue;
    if (testSetOf(x) !== testSetOf(y)) {
      notes.push(`${label}: ${t.toUpperCase()} not compared, the two results come from different test sets (${testSetOf(x)} vs ${testSetOf(y)}).`);
      continue;
    }
    const difference = meanOf(ys) - meanOf(xs);
    values[t] = { difference, better: y.higherIsBetter ? difference > 0 : difference < 0 };
  }
  return { upstream: label, a, b, values };
}

/** An upstream's results for a task, one per seed, by seed (the first test set's only). */
function resultsOf(results: readonly TaskResult[], upstream: string, task: string): TaskResult[] {
  const all = results.filter((x) => x.upstream === upstream && x.task === task).sort((a, b) => a.seed - b.seed);
  return all.filter((x) => testSetOf(x) === testSetOf(all[0]));
}

function meanOf(rs: readonly TaskResult[]): number {
  return rs.reduce((a, r) => a + r.value, 0) / rs.length;
}

function rank(task: string): number {
  const i = TASK_ORDER.indexOf(task);
  return i < 0 ? TASK_ORDER.length : i;
}

/** "+1.20 ▲" (better), "-0.40 ▼" (worse) or "0.00 =" (no change), in the metric's units. */
function comparisonCell(c: ComparisonCell | null): string {
  if (c === null) return "–";
  const d = c.difference;
  const text = d.toFixed(2);
  const mark = d === 0 ? "=" : c.better ? "▲" : "▼";
  return `${d > 0 ? "+" : ""}${text} ${mark}`;
}

function header(t: LeaderboardColumn, showDataset: boolean): string {
  return `${t.task.toUpperCase()} ${t.metric.toUpperCase()} ${t.higherIsBetter ? "↑" : "↓"}${showDataset ? ` (${t.dataset})` : ""}`;
}

/** Marks the best value of each column with a star so the winner is visible in any format. */
function cells(board: Leaderboard): string[][] {
  const best = board.tasks.map((t) => {
    const vals = board.rows.filter((r) => !r.offColumn.includes(t.task)).map((r) => r.values[t.task]).filter((v): v is number => v !== null);
    return vals.length === 0 ? null : t.higherIsBetter ? Math.max(...vals) : Math.min(...vals);
  });
  return board.rows.map((r) => [
    r.upstream,
    ...board.tasks.map((t, i) => {
      const v = r.values[t.task];
      if (v === null) return "–";
      if (r.offColumn.includes(t.task)) return `${v.toFixed(2)} †`;
      const mark = board.rows.length > 1 && v === best[i] ? " *" : "";
      const s = r.spread[t.task];
      return `${v.toFixed(2)}${s ? ` ±${s.sd.toFixed(2)} (${s.seeds} seeds)` : ""}${mark}`;
    }),
  ]).concat(board.comparisons.map((c) => [c.upstream, ...board.tasks.map((t) => comparisonCell(c.values[t.task]))]));
}

function legend(board: Leaderboard): string {
  const datasets = [...new Set(board.tasks.map((t) => t.dataset))];
  const lines = [`↓ lower is better, ↑ higher is better; * best in column. Test sets: ${board.tasks.map((t) => `${t.task.toUpperCase()} ${t.dataset}`).join(", ")}.`];
  if (datasets.length === 1) lines[0] = `↓ lower is better, ↑ higher is better; * best in column. All columns on ${datasets[0]}.`;
  if (board.comparisons.length > 0) lines[0] += " B − A rows: difference in the metric's units, ▲ better, ▼ worse.";
  return [...lines, ...board.notes].join("\n");
}

export function formatLeaderboard(board: Leaderboard, format: LeaderboardFormat): string {
  if (format === "json") return JSON.stringify(board, null, 2);
  // Column headers name their dataset once the board spans more than one.
  const showDataset = new Set(board.tasks.map((t) => t.dataset)).size > 1;
  const head = ["upstream", ...board.tasks.map((t) => header(t, showDataset))];
  const body = cells(board);
  if (format === "markdown") {
    const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
    for (const row of body) lines.push(`| ${row.join(" | ")} |`);
    lines.push("", legend(board));
    return lines.join("\n");
  }
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of body) table.push(row);
  return `${table.toString()}\n${legend(board)}`;
}
