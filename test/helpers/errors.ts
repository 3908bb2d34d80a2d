import { expect } from "vitest";
import { UserError } from "../../src/errors.js";

/**
 * Asserts that `run` fails with a one-line UserError whose message matches every pattern (the
 * file it names, the problem). Returns the message for further checks.
 */
export async function expectUserError(run: () => unknown, ...patterns: (string | RegExp)[]): Promise<string> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a UserError, got none").toBeInstanceOf(UserError);
  const message = (caught as Error).message;
  expect(message.includes("\n"), `not one line: ${message}`).toBe(false);
  for (const p of patterns) {
    if (typeof p === "string") expect(message).toContain(p);
    else expect(message).toMatch(p);
  }
  return message;
}
