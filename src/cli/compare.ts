/** `superb compare A B`: paired, per-task comparison of two upstreams' results (src/compare.ts). */
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { compareSystems, DEFAULT_RESAMPLES, formatComparison, hasRegression } from "../compare.js";
import { collect } from "./data.js";
import { commaList, info, integer, oneOf, positiveInteger } from "./options.js";

/** `--margin asr=0.5` values as task -> tolerated regression. */
export function parseMargins(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([a-z0-9_-]+)=([0-9.eE+-]+)$/.exec(v.trim());
    const x = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(x) || x < 0) throw new InvalidArgumentError(`--margin ${v}: expected TASK=X with X >= 0 in the metric's units, e.g. asr=0.5`);
    out[m[1]] = x;
  }
  return out;
}

interface CompareCliOptions {
  tasks?: string;
  resultsDir: string;
  resultsDirA?: string;
  resultsDirB?: string;
  format: "table" | "markdown" | "json";
  failOnRegression: boolean;
  margin: string[];
  resamples: number;
  seed: number;
}

export function registerCompareCommand(program: Command): void {
  program
    .command("compare")
    .description("B − A per task with paired 95% intervals, paired tests, Holm's correction and a verdict (better, worse, inconclusive)")
    .argument("<A>", "baseline upstream (as in the results folder)")
    .argument("<B>", "candidate upstream")
    .option("--tasks <list>", "comma-separated tasks (default: every task both have)")
    .option("-r, --results-dir <dir>", "results folder of both", "results")
    .option("--results-dir-a <dir>", "A's results folder (e.g. the merge base's run)")
    .option("--results-dir-b <dir>", "B's results folder")
    .option("--format <format>", "table, markdown (one pull-request comment with a hidden marker) or json", oneOf(["table", "markdown", "json"] as const), "table")
    .option("--fail-on-regression", "exit 1 when some task is significantly worse beyond its margin", false)
    .option("--margin <TASK=X>", "tolerated regression of a task in its metric's units (repeatable)", collect, [])
    .option("--resamples <n>", "bootstrap resamples", positiveInteger, DEFAULT_RESAMPLES)
    .option("--seed <n>", "bootstrap seed", integer, 0)
    .action((a: string, b: string, opts: CompareCliOptions) => {
      const rows = compareSystems({
        a, b,
        resultsDirA: opts.resultsDirA ?? opts.resultsDir,
        resultsDirB: opts.resultsDirB ?? opts.resultsDir,
        tasks: opts.tasks === undefined ? undefined : commaList(opts.tasks),
        margins: parseMargins(opts.margin),
        resamples: opts.resamples,
        seed: opts.seed,
      });
      process.stdout.write(`${formatComparison(rows, opts.format, a, b)}\n`);
      if (opts.failOnRegression && hasRegression(rows)) {
        info(`superb compare: ${b} is significantly worse than ${a} on ${rows.filter((r) => r.verdict === "worse").map((r) => r.task).join(", ")}`);
        process.exitCode = 1;
      }
    });
}
