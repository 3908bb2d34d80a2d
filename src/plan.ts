/**
 * Fan-out of a grid over machines: `superb plan` numbers the (upstream, task, seed) jobs of a
 * `superb run` grid; `superb run ... --job I` runs job I alone (a learning-rate grid stays inside
 * its job, since selecting on dev needs every rate); `superb merge` gathers the folders. The
 * index comes from the flag or from the scheduler: SLURM job arrays, Kubernetes Indexed Jobs,
 * or a GitHub Actions matrix value passed as SUPERB_JOB_INDEX.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "./errors.js";
import { writeFileAtomic } from "./fs-atomic.js";
import { resolveTasks } from "./registry.js";

export interface PlannedJob {
  index: number;
  upstream: string;
  task: string;
  seed: number;
}

/** Upstream-major, then task (SUPERB order), then seed: the same flags always number jobs the same way. */
export async function planJobs(upstreams: readonly string[], taskSpec: string, seeds: readonly number[]): Promise<PlannedJob[]> {
  const tasks = (await resolveTasks(taskSpec)).map((t) => t.name);
  const jobs: PlannedJob[] = [];
  for (const upstream of upstreams) for (const task of tasks) for (const seed of seeds) jobs.push({ index: jobs.length, upstream, task, seed });
  return jobs;
}

/** Where a job index may come from, first match wins. */
export const JOB_INDEX_VARIABLES = ["SUPERB_JOB_INDEX", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] as const;

/** The job index from `--job I`, or (for a bare `--job`) from the scheduler's environment variable. */
export function jobIndexOf(flag: string | true, env: NodeJS.ProcessEnv = process.env): { index: number; source: string } {
  const fromEnv = JOB_INDEX_VARIABLES.find((v) => env[v] !== undefined && env[v] !== "");
  const [raw, source] = flag === true ? [fromEnv && env[fromEnv], fromEnv ?? ""] : [flag, "--job"];
  if (raw === undefined) throw new UserError("--job", `no index given and none of ${JOB_INDEX_VARIABLES.join(", ")} is set`);
  const index = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(index)) throw new UserError(source, `job index "${raw}" is not a non-negative integer`);
  return { index, source };
}

export function pickJob(jobs: readonly PlannedJob[], index: number, source: string): PlannedJob {
  const job = jobs[index];
  if (!job) throw new UserError(source, `job ${index} does not exist: the grid has ${jobs.length} jobs (0-${jobs.length - 1}); see \`superb plan\``);
  return job;
}

export interface MergeReport {
  copied: string[];
  /** Files present in several sources with identical bytes (copied once). */
  identical: string[];
}

/** Result files of one results folder: <upstream>/<task>[.seed-n].json and their .items.jsonl, relative paths. */
function resultFiles(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(dir, "not a results folder");
  const out: string[] = [];
  for (const upstream of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!upstream.isDirectory()) continue;
    for (const f of fs.readdirSync(path.join(dir, upstream.name)).sort()) {
      if (!f.startsWith(".") && (f.endsWith(".json") || f.endsWith(".items.jsonl"))) out.push(path.join(upstream.name, f));
    }
  }
  return out.sort();
}

/**
 * Copies every result (and its per-item file) of the source folders into `outDir`. The same
 * result in two sources must be byte-identical; otherwise the merge refuses, naming both files,
 * rather than pick one silently. Each file is written atomically.
 */
export function mergeResults(sources: readonly string[], outDir: string): MergeReport {
  // Each source file is read once; result files are small.
  const chosen = new Map<string, { from: string; bytes: Buffer }>();
  const report: MergeReport = { copied: [], identical: [] };
  for (const src of sources) {
    for (const rel of resultFiles(src)) {
      const from = path.join(src, rel);
      const bytes = fs.readFileSync(from);
      const seen = chosen.get(rel);
      if (seen === undefined) chosen.set(rel, { from, bytes });
      else if (seen.bytes.equals(bytes)) report.identical.push(rel);
      else throw new UserError(from, `differs from ${seen.from}: the same result computed twice; remove one before merging`);
    }
  }
  for (const [rel, { from, bytes }] of chosen) {
    const to = path.join(outDir, rel);
    if (fs.existsSync(to) && !fs.readFileSync(to).equals(bytes)) throw new UserError(to, `already exists with other content than ${from}`);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    writeFileAtomic(to, bytes);
    report.copied.push(rel);
  }
  return report;
}
