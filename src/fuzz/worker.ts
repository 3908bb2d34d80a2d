/**
 * The fuzz harness's child process: regenerates a mutant from its numbers, writes it into a
 * private copy of the seed folder, reads it with the format's reader and reports how the reader
 * ended. A crash of the process itself (a native abort, V8 out of memory), a hang and a memory
 * blow-up are seen by the parent (engine.ts), which kills and replaces this process.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.js";
import { loadFuzzFormat } from "./load.js";
import type { FuzzFormat, FuzzSeed } from "./format.js";
import { mutantOf } from "./mutate.js";

export interface WorkerRequest {
  format: string;
  seedIndex: number;
  /** null: the seed itself, unmutated (it must parse). */
  mutantIndex: number | null;
  harnessSeed: number;
  /** Extra format modules (tests): absolute paths of ES modules exporting `formats`. */
  extraModules: string[];
}

/** Sent when the mutant is on disk and the reader is about to run. */
export const READ_STARTED = "read-started";

/** How a read ended, as the worker sees it. */
export type ReadOutcome = "parsed" | "rejected" | "unclear" | "crashed";

export interface WorkerReply {
  outcome: ReadOutcome;
  /** The error's message (first 300 characters); for a crash, its first stack frame too. */
  message?: string;
  mutation: string;
}

/**
 * rejected: a one-line UserError that names a file of the seed folder; unclear: a UserError
 * that does not (the user cannot tell which file is wrong); crashed: anything else thrown.
 */
export function classifyError(err: unknown, dir: string): { outcome: ReadOutcome; message: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof UserError) {
    // Naming the file: a path in the seed folder, or the `<path>: <problem>` form (a path the
    // mutant points at outside the folder, e.g. "../").
    const namesFile = message.includes(dir) || /^\/[^:]*: /.test(message);
    return { outcome: !message.includes("\n") && namesFile ? "rejected" : "unclear", message: message.slice(0, 300) };
  }
  const frame = err instanceof Error ? (err.stack ?? "").split("\n").find((l) => l.trim().startsWith("at ")) : undefined;
  return { outcome: "crashed", message: `${err instanceof Error ? err.constructor.name : typeof err}: ${message.slice(0, 300)}${frame ? ` ${frame.trim()}` : ""}` };
}

const seedCache = new Map<string, Promise<FuzzSeed[]>>();
const folders = new Map<string, string>();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "superb-fuzz-"));

/** A private folder holding the seed's files, made once per (format, seed). */
function seedFolder(format: string, index: number, seed: FuzzSeed): string {
  const key = `${format}#${index}`;
  let dir = folders.get(key);
  if (dir === undefined) {
    dir = path.join(scratch, `${format}-${index}`);
    for (const [rel, bytes] of Object.entries(seed.files)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), bytes);
    }
    folders.set(key, dir);
  }
  return dir;
}

export async function handleRequest(req: WorkerRequest, onReadStart: () => void = () => {}): Promise<WorkerReply> {
  const format: FuzzFormat = await loadFuzzFormat(req.format, req.extraModules);
  let seeds = seedCache.get(req.format);
  if (seeds === undefined) seedCache.set(req.format, (seeds = format.seeds()));
  const seed = (await seeds)[req.seedIndex];
  const dir = seedFolder(req.format, req.seedIndex, seed);
  const original = seed.files[seed.target];
  const mutant = req.mutantIndex === null ? { bytes: original, description: "unmutated seed" } : mutantOf(original, req.harnessSeed, req.format, req.mutantIndex, format.textual);
  fs.writeFileSync(path.join(dir, seed.target), mutant.bytes);
  // The read's time and memory limits start now, not during the module import and seed building.
  onReadStart();
  try {
    await format.read(dir, seed.target);
    return { outcome: "parsed", mutation: mutant.description };
  } catch (err) {
    return { ...classifyError(err, dir), mutation: mutant.description };
  }
}

function main(): void {
  const send = (reply: WorkerReply): void => void process.send?.(reply);
  let current = "";
  // A rejection nobody awaited (a reader's stray promise) ends the read as a crash, not silently.
  const die = (err: unknown): void => {
    send({ ...classifyError(err, scratch), outcome: "crashed", mutation: current });
    process.exit(70);
  };
  process.on("uncaughtException", die);
  process.on("unhandledRejection", die);
  process.on("disconnect", () => {
    fs.rmSync(scratch, { recursive: true, force: true });
    process.exit(0);
  });
  process.on("message", (req: WorkerRequest) => {
    current = `${req.format} ${req.mutantIndex ?? "seed"}`;
    void handleRequest(req, () => void process.send?.(READ_STARTED)).then(send, die);
  });
}

// Only as the forked entry point: imported (by the engine's tests, under a test runner that is
// itself a forked process) it must not take over the IPC channel.
if (process.send !== undefined && process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
