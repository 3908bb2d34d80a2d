/** `superb plan` and `superb merge`: a run grid fanned out over schedulers, and gathered back (src/plan.ts). */
import type { Command } from "commander";
import Table from "cli-table3";
import { mergeResults, planJobs } from "../plan.js";
import { addGridOptions, commaList, info, oneOf } from "./options.js";

export function registerFanOutCommands(program: Command): void {
  const plan = program
    .command("plan")
    .description("number the jobs of a run grid (upstream x task x seed) for `superb run ... --job I` on SLURM arrays, Kubernetes Indexed Jobs or a CI matrix");
  addGridOptions(plan)
    .option("--format <format>", "table or json", oneOf(["table", "json"] as const), "table")
    .action(async (opts: { upstream: string; task: string; seed: number; seeds?: number[]; format: "table" | "json" }) => {
      const jobs = await planJobs(commaList(opts.upstream), opts.task, opts.seeds ?? [opts.seed]);
      if (opts.format === "json") {
        process.stdout.write(`${JSON.stringify({ jobs: jobs.length, grid: jobs }, null, 2)}\n`);
        return;
      }
      const table = new Table({ head: ["job", "upstream", "task", "seed"], style: { head: [], border: [] } });
      for (const j of jobs) table.push([j.index, j.upstream, j.task, j.seed]);
      process.stdout.write(`${table.toString()}\n${jobs.length} jobs: run each as \`superb run <the same flags> --job I\` (SLURM: --array=0-${jobs.length - 1}; Kubernetes: completions: ${jobs.length})\n`);
    });

  program
    .command("merge")
    .description("gather the results of many folders (one per job) into one; the same result twice must be identical")
    .argument("<dirs...>", "results folders")
    .requiredOption("-o, --out <dir>", "merged results folder")
    .action((dirs: string[], opts: { out: string }) => {
      const report = mergeResults(dirs, opts.out);
      info(`merged ${report.copied.filter((f) => !f.endsWith(".items.jsonl")).length} results from ${dirs.length} folders into ${opts.out}${report.identical.length > 0 ? ` (${report.identical.length} files were in several folders, identical)` : ""}`);
    });
}
