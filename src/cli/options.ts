/** Option parsers shared by the CLI's commands (commander turns InvalidArgumentError into a usage error, exit 2). */
import { InvalidArgumentError, type Command } from "commander";
import { DEFAULT_TRAINING_SEED } from "../results.js";

export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a non-negative integer");
  return n;
}

export function positiveInteger(value: string): number {
  const n = integer(value);
  if (n === 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number");
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("expected a non-negative number");
  return n;
}

export function unitInterval(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError("expected a number in [0, 1)");
  return n;
}

/** "1,2,3" -> [1, 2, 3] (positive integers). */
export function integerList(value: string): number[] {
  const parts = commaList(value);
  if (parts.length === 0) throw new InvalidArgumentError("expected a comma-separated list of positive integers");
  return parts.map(positiveInteger);
}

/** "a, b,,c" -> ["a", "b", "c"]: every comma-separated flag value goes through this. */
export function commaList(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter(Boolean);
}

/** "1e-4,1e-3" -> [0.0001, 0.001] (positive numbers: a learning-rate grid). */
export function positiveNumberList(value: string): number[] {
  const parts = commaList(value);
  if (parts.length === 0) throw new InvalidArgumentError("expected a positive number or a comma-separated list of them");
  return parts.map(positiveNumber);
}

/** "0,1,2" -> [0, 1, 2] (non-negative integers: seeds, indices). */
export function nonNegativeIntegerList(value: string): number[] {
  const parts = commaList(value);
  if (parts.length === 0) throw new InvalidArgumentError("expected a comma-separated list of non-negative integers");
  return parts.map(integer);
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(", ")}`);
    return value as T;
  };
}

/** The flags that define a run grid (upstreams x tasks x seeds), shared by `run` and `plan` so `--job I` means the same job in both. */
export function addGridOptions(cmd: Command): Command {
  return cmd
    .requiredOption("-u, --upstream <name>", "upstream name (see `superb list`), or a comma-separated list (then the leaderboard is printed)")
    .option("-t, --task <task>", "pr, asr, ic, sid, asv, ks, a comma-separated list, or all", "all")
    .option("-s, --seed <n>", "training seed (head init, batch order)", integer, DEFAULT_TRAINING_SEED)
    .option("--seeds <list>", "train each task once per seed on the same features, e.g. 0,1,2,3,4 (overrides --seed); the leaderboard shows mean and spread", nonNegativeIntegerList);
}

/** Progress reporting to stderr, one line per message. */
export const info = (message: string): void => {
  process.stderr.write(`${message}\n`);
};
