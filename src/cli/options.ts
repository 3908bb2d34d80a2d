/** Option parsers shared by the CLI's commands (commander turns InvalidArgumentError into a usage error, exit 2). */
import { InvalidArgumentError } from "commander";

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
  const parts = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError("expected a comma-separated list of positive integers");
  return parts.map(positiveInteger);
}

/** "1e-4,1e-3" -> [0.0001, 0.001] (positive numbers: a learning-rate grid). */
export function positiveNumberList(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError("expected a positive number or a comma-separated list of them");
  return parts.map(positiveNumber);
}

/** "0,1,2" -> [0, 1, 2] (non-negative integers: seeds, indices). */
export function nonNegativeIntegerList(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError("expected a comma-separated list of non-negative integers");
  return parts.map(integer);
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(", ")}`);
    return value as T;
  };
}

/** Progress reporting to stderr, one line per message. */
export const info = (message: string): void => {
  process.stderr.write(`${message}\n`);
};
