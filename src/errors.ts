/**
 * An error the user can fix: the CLI prints `superb: <message>` as one line and exits 1, with no
 * stack trace. Anything else reaching the top level is a bug and is reported as such.
 *
 * Give the file (or the thing: a flag, an upstream name) and the problem separately where you
 * can: `new UserError(file, "truncated header")` reads "<file>: truncated header". The message is
 * made one line at construction, so a quoted token holding a newline or a control character
 * (from a hostile file name or a corrupt header) cannot break the line a CI log or a wrapper
 * script reads.
 */
export class UserError extends Error {
  /** The file or thing the error is about, when given apart from the problem. */
  readonly subject: string | undefined;

  constructor(message: string);
  constructor(subject: string, problem: string);
  constructor(subjectOrMessage: string, problem?: string) {
    super(singleLine(problem === undefined ? subjectOrMessage : `${subjectOrMessage}: ${problem}`));
    this.name = "UserError";
    this.subject = problem === undefined ? undefined : singleLine(subjectOrMessage);
  }
}

/** Escapes line breaks and other control characters (\n, \r, \t, \u0000-\u001f, \u007f) so text stays on one line. */
export function singleLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/** Formats an unknown thrown value as one line (control characters escaped, nothing dropped). */
export function oneLine(err: unknown): string {
  // Trimmed first: native libraries (onnxruntime) end their messages with a newline.
  return singleLine((err instanceof Error ? err.message : String(err)).trim());
}

const SYSTEM_ERRORS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "is a folder, expected a file",
  ENOENT: "no such file or folder",
  EEXIST: "already exists",
  EMFILE: "too many open files",
  ENAMETOOLONG: "name too long",
  ELOOP: "too many symbolic links",
  EIO: "input/output error",
};

/**
 * A file-system error (Node's `code` + `path`) as the user's error it is: the disk, a path or a
 * permission the user controls, not a bug. Returns undefined for anything else.
 */
export function userErrorFromSystemError(err: unknown): UserError | undefined {
  const e = err as Partial<NodeJS.ErrnoException>;
  if (!(err instanceof Error) || typeof e.code !== "string" || !(e.code in SYSTEM_ERRORS)) return undefined;
  const where = typeof e.path === "string" ? e.path : undefined;
  const problem = `${SYSTEM_ERRORS[e.code]} (${e.code}${e.syscall ? ` in ${e.syscall}` : ""})`;
  return where ? new UserError(where, problem) : new UserError(problem);
}
