import Table from "cli-table3";
import type { TaskResult } from "./results.js";

export type LeaderboardFormat = "table" | "markdown" | "json";

const TASK_ORDER = ["pr", "asr", "ic", "sid", "asv"];

export interface Leaderboard {
  tasks: { task: string; metric: string; higherIsBetter: boolean }[];
  rows: { upstream: string; values: Record<string, number | null>; secondary: Record<string, Record<string, number>> }[];
}

/** Upstreams x tasks, each column with its metric and direction. */
export function buildLeaderboard(results: TaskResult[]): Leaderboard {
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
  return { tasks, rows };
}

function rank(task: string): number {
  const i = TASK_ORDER.indexOf(task);
  return i < 0 ? TASK_ORDER.length : i;
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
  ]);
}

export function formatLeaderboard(board: Leaderboard, format: LeaderboardFormat): string {
  if (format === "json") return JSON.stringify(board, null, 2);
  const head = ["upstream", ...board.tasks.map(header)];
  const body = cells(board);
  if (format === "markdown") {
    const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
    for (const row of body) lines.push(`| ${row.join(" | ")} |`);
    lines.push("", "↓ lower is better, ↑ higher is better; * best in column.");
    return lines.join("\n");
  }
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of body) table.push(row);
  return `${table.toString()}\n↓ lower is better, ↑ higher is better; * best in column.`;
}
