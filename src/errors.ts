/**
 * An error the user can fix: the CLI prints its message as one line and exits non-zero, with no
 * stack trace. Anything else reaching the top level is a bug and is reported as such.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** Formats an unknown thrown value as one line (first line of its message). */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n")[0] ?? text;
}
