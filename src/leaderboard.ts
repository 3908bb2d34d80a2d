import Table from "cli-table3";
import { UserError } from "./errors.js";
import { upstreamFolderName, type TaskResult } from "./results.js";

export type LeaderboardFormat = "table" | "markdown" | "json";

const TASK_ORDER = ["pr", "asr", "ic", "sid", "asv"];

/** One task's B − A: in the metric's units; `better` follows the metric's direction. */
export interface ComparisonCell {
  difference: number;
  better: boolean;
}

/** A "B − A" row: per task, B's value minus A's, both on the same corpus. */
export interface LeaderboardComparison {
  /** Row name: "refined − base", plus " (<corpus>)" when the board spans several corpora. */
  upstream: string;
  a: string;
  b: string;
  corpus: string;
  values: Record<string, ComparisonCell | null>;
}

export interface Leaderboard {
  tasks: { task: string; metric: string; higherIsBetter: boolean }[];
  rows: { upstream: string; values: Record<string, number | null>; secondary: Record<string, Record<string, number>> }[];
  comparisons: LeaderboardComparison[];
  /** Comparisons that could not be made, one sentence each. */
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

/** Upstreams x tasks, each column with its metric and direction, plus any B − A rows. */
export function buildLeaderboard(results: TaskResult[], opts: LeaderboardOptions = {}): Leaderboard {
  const taskNames = [...new Set(results.map((r) => r.task))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const tasks = taskNames.map((task) => {
    const r = results.find((x) => x.task === task)!;
    return { task, metric: r.metric, higherIsBetter: r.higherIsBetter };
  });
  // Numbers from different corpora are not comparable: then each row names its corpus.
  const manyCorpora = new Set(results.map((r) => r.corpus?.name)).size > 1;
  const rowName = (r: TaskResult) => (manyCorpora ? `${r.upstream} (${r.corpus?.name ?? "?"})` : r.upstream);
  const upstreams = [...new Set(results.map(rowName))].sort();
  const rows = upstreams.map((upstream) => {
    const values: Record<string, number | null> = {};
    const secondary: Record<string, Record<string, number>> = {};
    for (const t of taskNames) {
      const r = results.find((x) => rowName(x) === upstream && x.task === t);
      values[t] = r ? r.value : null;
      if (r) secondary[t] = r.secondary;
    }
    return { upstream, values, secondary };
  });
  const notes: string[] = [];
  const comparisons: LeaderboardComparison[] = [];
  const pairs = opts.compare ?? (hasUpstream(results, DEFAULT_COMPARE[0]) && hasUpstream(results, DEFAULT_COMPARE[1]) ? [DEFAULT_COMPARE] : []);
  for (const pair of pairs) comparisons.push(...compareUpstreams(results, pair, taskNames, manyCorpora, notes));
  return { tasks, rows, comparisons, notes };
}

function isUpstream(r: TaskResult, name: string): boolean {
  // Accept the spec ("hf:/m/x") or its results folder name ("hf__m_x").
  return r.upstream === name || upstreamFolderName(r.upstream) === name;
}

function hasUpstream(results: readonly TaskResult[], name: string): boolean {
  return results.some((r) => isUpstream(r, name));
}

/**
 * B − A rows, one per corpus both upstreams have results on: numbers from different corpora are
 * not comparable, so such cells are never differenced (a note says what was left out).
 */
function compareUpstreams(results: readonly TaskResult[], [a, b]: [string, string], taskNames: readonly string[], manyCorpora: boolean, notes: string[]): LeaderboardComparison[] {
  const label = `${b} − ${a}`;
  const known = [...new Set(results.map((r) => r.upstream))].sort().join(", ");
  const side = (name: string) => {
    const rs = results.filter((r) => isUpstream(r, name));
    if (rs.length === 0) throw new UserError(`compare ${a},${b}: no results for upstream "${name}" (have: ${known})`);
    return rs;
  };
  const ra = side(a);
  const rb = side(b);
  const corpusOf = (r: TaskResult) => r.corpus?.name ?? "?";
  const corporaA = new Set(ra.map(corpusOf));
  const corporaB = new Set(rb.map(corpusOf));
  const shared = [...corporaA].filter((c) => corporaB.has(c)).sort();
  if (shared.length === 0) {
    notes.push(`${label}: not compared, the results come from different corpora (${[...corporaA].sort().join(", ")} vs ${[...corporaB].sort().join(", ")}).`);
    return [];
  }
  for (const c of [...new Set([...corporaA, ...corporaB])].sort()) {
    if (!shared.includes(c)) notes.push(`${label}: not compared on corpus ${c}, only ${corporaA.has(c) ? a : b} has results there.`);
  }
  return shared.map((corpus) => {
    const values: Record<string, ComparisonCell | null> = {};
    for (const t of taskNames) {
      const x = ra.find((r) => r.task === t && corpusOf(r) === corpus);
      const y = rb.find((r) => r.task === t && corpusOf(r) === corpus);
      if (!x || !y) {
        values[t] = null;
        continue;
      }
      const difference = y.value - x.value;
      values[t] = { difference, better: y.higherIsBetter ? difference > 0 : difference < 0 };
    }
    return { upstream: manyCorpora ? `${label} (${corpus})` : label, a, b, corpus, values };
  });
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

function header(t: Leaderboard["tasks"][number]): string {
  return `${t.task.toUpperCase()} ${t.metric.toUpperCase()} ${t.higherIsBetter ? "↑" : "↓"}`;
}

/** Marks the best value of each column with a star so the winner is visible in any format. */
function cells(board: Leaderboard): string[][] {
  const best = board.tasks.map((t) => {
    const vals = board.rows.map((r) => r.values[t.task]).filter((v): v is number => v !== null);
    return vals.length === 0 ? null : t.higherIsBetter ? Math.max(...vals) : Math.min(...vals);
  });
  return board.rows.map((r) => [
    r.upstream,
    ...board.tasks.map((t, i) => {
      const v = r.values[t.task];
      if (v === null) return "–";
      const mark = board.rows.length > 1 && v === best[i] ? " *" : "";
      return `${v.toFixed(2)}${mark}`;
    }),
  ]).concat(board.comparisons.map((c) => [c.upstream, ...board.tasks.map((t) => comparisonCell(c.values[t.task]))]));
}

function legend(board: Leaderboard): string {
  const lines = ["↓ lower is better, ↑ higher is better; * best in column."];
  if (board.comparisons.length > 0) lines[0] += " B − A rows: difference in the metric's units, ▲ better, ▼ worse.";
  return [...lines, ...board.notes].join("\n");
}

export function formatLeaderboard(board: Leaderboard, format: LeaderboardFormat): string {
  if (format === "json") return JSON.stringify(board, null, 2);
  const head = ["upstream", ...board.tasks.map(header)];
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
