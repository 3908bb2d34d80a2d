/**
 * The fuzz harness (`superb fuzz`, `npm run fuzz`): mutants of every format's seeds, each read in
 * a child process under a time and a memory limit, tallied per format as parsed, cleanly
 * rejected, unclear (a UserError that does not name the file), crashed, hung or over memory.
 * Findings are regenerated from (harness seed, format, mutant index) and saved for replay.
 */
import { fork, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../fs-atomic.js";
import { loadFuzzFormat } from "./load.js";
import { mutantOf } from "./mutate.js";
import { READ_STARTED, type ReadOutcome, type WorkerReply, type WorkerRequest } from "./worker.js";

/** Allowance for a reader process to load its format module and build the seeds (first request only). */
const SETUP_MS = 120_000;

export type FuzzOutcome = ReadOutcome | "hung" | "overMemory";
export const FUZZ_OUTCOMES: readonly FuzzOutcome[] = ["parsed", "rejected", "unclear", "crashed", "hung", "overMemory"];
/** Outcomes that are bugs in superb. */
export const FINDING_OUTCOMES: readonly FuzzOutcome[] = ["unclear", "crashed", "hung", "overMemory"];

export interface FuzzOptions {
  formats: string[];
  mutantsPerFormat: number;
  harnessSeed: number;
  /** Wall-clock limit of one read. */
  timeoutMs: number;
  /** Resident memory limit of the reading process (checked every 50 ms where /proc exists). */
  memoryMb: number;
  jobs: number;
  /** Where to save each finding's input folder (none when undefined). */
  findingsDir?: string;
  /** Run only these mutant indices (replaying findings). */
  only?: number[];
  extraModules?: string[];
  onMutantDone?: (format: string) => void;
}

export interface FuzzFinding {
  format: string;
  seed: string;
  /** null: the unmutated seed (the harness's own inputs must parse). */
  mutant: number | null;
  outcome: FuzzOutcome;
  mutation: string;
  message: string;
  savedTo?: string;
}

export interface FormatReport {
  format: string;
  description: string;
  seeds: number;
  mutants: number;
  counts: Record<FuzzOutcome, number>;
  seconds: number;
  findings: FuzzFinding[];
}

export interface FuzzReport {
  harnessSeed: number;
  mutantsPerFormat: number;
  timeoutMs: number;
  memoryMb: number;
  formats: FormatReport[];
}

/** The compiled worker: beside this module, or under dist/ when this module runs as TypeScript. */
function workerPath(): string {
  const here = fileURLToPath(import.meta.url);
  const candidates = [path.join(path.dirname(here), "worker.js"), path.resolve(path.dirname(here), "../../dist/src/fuzz/worker.js")];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error(`fuzz worker not built (looked for ${candidates.join(", ")}); run npm run build`);
  return found;
}

function residentMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

type ReaderReply = Omit<WorkerReply, "outcome"> & { outcome: FuzzOutcome };

/** One child process reading mutants one at a time; replaced after it is killed or dies. */
class ReaderProcess {
  private child: ChildProcess | undefined;
  private stderrTail = "";

  constructor(private readonly opts: FuzzOptions) {}

  private spawn(): ChildProcess {
    const child = fork(workerPath(), [], {
      execArgv: [`--max-old-space-size=${Math.max(64, Math.round(this.opts.memoryMb * 0.75))}`],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "advanced",
    });
    child.stderr?.on("data", (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-600)));
    return child;
  }

  read(req: WorkerRequest): Promise<ReaderReply> {
    const child = (this.child ??= this.spawn());
    this.stderrTail = "";
    return new Promise((resolve) => {
      let settled = false;
      const finish = (reply: ReaderReply, kill: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        child.off("message", onMessage);
        child.off("exit", onExit);
        if (kill) {
          child.kill("SIGKILL");
          this.child = undefined;
        }
        resolve(reply);
      };
      // Limits apply to the read itself; loading the format and building its seeds get a setup allowance.
      let timer = setTimeout(() => finish({ outcome: "hung", mutation: "", message: `no reader started within ${SETUP_MS} ms (format loading or seed building)` }, true), SETUP_MS);
      let poll: NodeJS.Timeout | undefined;
      const startLimits = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => finish({ outcome: "hung", mutation: "", message: `no answer within ${this.opts.timeoutMs} ms` }, true), this.opts.timeoutMs);
        poll = setInterval(() => {
          const mb = child.pid === undefined ? undefined : residentMb(child.pid);
          if (mb !== undefined && mb > this.opts.memoryMb) finish({ outcome: "overMemory", mutation: "", message: `resident memory ${mb.toFixed(0)} MB > ${this.opts.memoryMb} MB` }, true);
        }, 50);
      };
      const onMessage = (reply: WorkerReply | typeof READ_STARTED): void => (reply === READ_STARTED ? startLimits() : finish(reply, reply.outcome === "crashed"));
      const onExit = (code: number | null, signal: string | null): void => {
        this.child = undefined;
        const oom = /heap out of memory|Allocation failed/i.test(this.stderrTail);
        finish({ outcome: oom ? "overMemory" : "crashed", mutation: "", message: `reader process died (${signal ?? `exit ${code}`}) ${this.stderrTail.trim().split("\n").slice(-2).join(" ")}`.trim() }, false);
      };
      child.on("message", onMessage);
      child.on("exit", onExit);
      child.send(req);
    });
  }

  close(): void {
    this.child?.disconnect();
    this.child = undefined;
  }
}

interface Job {
  seedIndex: number;
  mutant: number | null;
}

/** The unmutated seeds first (each must parse), then the mutants, seeds taken in turn. */
function jobsFor(seeds: number, opts: FuzzOptions): Job[] {
  const indices = opts.only ?? Array.from({ length: opts.mutantsPerFormat }, (_, i) => i);
  const seedJobs: Job[] = opts.only ? [] : Array.from({ length: seeds }, (_, s) => ({ seedIndex: s, mutant: null }));
  return [...seedJobs, ...indices.map((i) => ({ seedIndex: i % seeds, mutant: i }))];
}

async function fuzzFormat(name: string, pool: ReaderProcess[], opts: FuzzOptions): Promise<FormatReport> {
  const format = await loadFuzzFormat(name, opts.extraModules);
  const seeds = await format.seeds();
  const counts = Object.fromEntries(FUZZ_OUTCOMES.map((o) => [o, 0])) as Record<FuzzOutcome, number>;
  const findings: FuzzFinding[] = [];
  const jobs = jobsFor(seeds.length, opts);
  const started = Date.now();
  let next = 0;
  const lane = async (reader: ReaderProcess): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const req: WorkerRequest = { format: name, seedIndex: job.seedIndex, mutantIndex: job.mutant, harnessSeed: opts.harnessSeed, extraModules: opts.extraModules ?? [] };
      const reply = await reader.read(req);
      const seedProblem = job.mutant === null && reply.outcome !== "parsed";
      if (job.mutant !== null) {
        counts[reply.outcome]++;
        opts.onMutantDone?.(name);
      }
      if (seedProblem || FINDING_OUTCOMES.includes(reply.outcome)) {
        const seed = seeds[job.seedIndex];
        const mutation = job.mutant === null ? "unmutated seed" : mutantOf(seed.files[seed.target], opts.harnessSeed, name, job.mutant, format.textual).description;
        const finding: FuzzFinding = { format: name, seed: seed.name, mutant: job.mutant, outcome: reply.outcome, mutation, message: reply.message ?? "" };
        if (opts.findingsDir) finding.savedTo = saveFinding(opts.findingsDir, finding, seed.files, seed.target, format.textual, opts.harnessSeed);
        findings.push(finding);
      }
    }
  };
  await Promise.all(pool.map(lane));
  return { format: name, description: format.description, seeds: seeds.length, mutants: jobs.filter((j) => j.mutant !== null).length, counts, seconds: (Date.now() - started) / 1000, findings };
}

/** Writes the finding's whole input folder (seed files, the mutated target) and finding.json. */
function saveFinding(root: string, f: FuzzFinding, files: Record<string, Uint8Array>, target: string, textual: boolean, harnessSeed: number): string {
  const dir = path.join(root, `${f.format}-${f.mutant ?? "seed"}`);
  for (const [rel, bytes] of Object.entries(files)) {
    const data = rel === target && f.mutant !== null ? mutantOf(bytes, harnessSeed, f.format, f.mutant, textual).bytes : bytes;
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
  }
  writeFileAtomic(path.join(dir, "finding.json"), `${JSON.stringify({ ...f, target, harnessSeed, replay: `superb fuzz --formats ${f.format} --seed ${harnessSeed} ${f.mutant === null ? "--mutants 0" : `--only ${f.mutant}`}` }, null, 2)}\n`);
  return dir;
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const pool = Array.from({ length: Math.max(1, opts.jobs) }, () => new ReaderProcess(opts));
  const formats: FormatReport[] = [];
  try {
    for (const name of opts.formats) formats.push(await fuzzFormat(name, pool, opts));
  } finally {
    for (const r of pool) r.close();
  }
  return { harnessSeed: opts.harnessSeed, mutantsPerFormat: opts.mutantsPerFormat, timeoutMs: opts.timeoutMs, memoryMb: opts.memoryMb, formats };
}
