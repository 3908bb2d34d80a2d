/** `superb fuzz`: the fuzz harness over every input format superb reads (src/fuzz/). */
import type { Command } from "commander";
import Table from "cli-table3";
import * as os from "node:os";
import * as path from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../fs-atomic.js";
import { FINDING_OUTCOMES, FUZZ_OUTCOMES, runFuzz, type FuzzReport } from "../fuzz/engine.js";
import { allFuzzFormatNames } from "../fuzz/load.js";
import { startProgress } from "../progress.js";
import { commaList, info, integer, nonNegativeIntegerList, oneOf, positiveInteger } from "./options.js";

export function formatFuzzTable(report: FuzzReport): string {
  const table = new Table({ head: ["format", "seeds", "mutants", ...FUZZ_OUTCOMES, "s"], style: { head: [], border: [] } });
  for (const f of report.formats) table.push([f.format, f.seeds, f.mutants, ...FUZZ_OUTCOMES.map((o) => f.counts[o]), f.seconds.toFixed(1)]);
  return table.toString();
}

interface FuzzCliOptions {
  formats?: string;
  mutants: number;
  seed: number;
  timeoutMs: number;
  memoryMb: number;
  jobs: number;
  only?: number[];
  findings: string;
  report?: string;
  format: "table" | "json";
}

async function fuzzCommand(opts: FuzzCliOptions): Promise<void> {
  const known = await allFuzzFormatNames();
  const formats = opts.formats ? commaList(opts.formats) : known;
  const unknown = formats.find((f) => !known.includes(f));
  if (unknown !== undefined) throw new UserError(`--formats ${unknown}`, `unknown format; known formats: ${known.join(", ")}`);
  const total = formats.length * (opts.only?.length ?? opts.mutants);
  const progress = startProgress({ label: "fuzzing", total, unit: "mutants" });
  const report = await runFuzz({
    formats, mutantsPerFormat: opts.mutants, harnessSeed: opts.seed, timeoutMs: opts.timeoutMs, memoryMb: opts.memoryMb,
    jobs: opts.jobs, only: opts.only, findingsDir: path.resolve(opts.findings), onMutantDone: (format) => progress.increment(1, { format }),
  });
  progress.stop();
  if (opts.report) writeFileAtomic(opts.report, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(opts.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : `${formatFuzzTable(report)}\n`);
  const findings = report.formats.flatMap((f) => f.findings);
  for (const f of findings) info(`${f.format} ${f.mutant === null ? "seed" : `#${f.mutant}`} (${f.seed}; ${f.mutation}): ${f.outcome}: ${f.message}${f.savedTo ? ` [saved to ${f.savedTo}]` : ""}`);
  if (findings.length > 0) throw new UserError("fuzz", `${findings.length} finding${findings.length === 1 ? "" : "s"} (${FINDING_OUTCOMES.join(", ")}; listed above)`);
}

export function registerFuzzCommand(program: Command): void {
  program
    .command("fuzz")
    .description("mutate seed files of every format superb reads and check each reader accepts or rejects them cleanly (no crash, hang or memory blow-up)")
    .option("--formats <list>", "comma-separated formats (default: all; see the report's first column)")
    .option("--mutants <n>", "mutants per format", integer, 200)
    .option("--seed <n>", "harness seed: the same seed gives the same mutants", integer, 1)
    .option("--timeout-ms <n>", "time limit of one read", positiveInteger, 10_000)
    .option("--memory-mb <n>", "resident memory limit of the reading process", positiveInteger, 1536)
    .option("--jobs <n>", "reader processes", positiveInteger, Math.max(1, os.availableParallelism()))
    .option("--only <indices>", "replay these mutant indices (from a finding)", nonNegativeIntegerList)
    .option("--findings <dir>", "where each finding's input folder is saved", "fuzz-findings")
    .option("--report <file>", "also write the report as JSON")
    .option("--format <format>", "table or json", oneOf(["table", "json"] as const), "table")
    .action(fuzzCommand);
}
