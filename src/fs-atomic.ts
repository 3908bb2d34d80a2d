import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "./errors.js";

/** Writes a file so that readers see either the old content or the complete new one, never a part. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Reads a user-supplied file; a missing, unreadable or folder path is a one-line UserError naming it. */
export function readUserFile(file: string, what = "a file"): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UserError(`${file}: file not found`);
    if (code === "EISDIR") throw new UserError(`${file}: is a directory, expected ${what}`);
    throw new UserError(`${file}: cannot read (${code ?? String(err)})`);
  }
}

/**
 * Checks, creating nothing, that `dir` is a writable folder or can be created as one: its
 * nearest existing ancestor must be a folder this process may write to. `what` names it in the
 * error ("--cache-dir", "results folder").
 */
export function checkWritableFolder(dir: string, what: string): void {
  const target = path.resolve(dir);
  let existing = target;
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  if (!fs.statSync(existing).isDirectory()) {
    throw new UserError(dir, existing === target ? `${what} is a file, not a folder` : `${what} cannot be created: ${existing} is a file`);
  }
  try {
    fs.accessSync(existing, fs.constants.W_OK);
  } catch (err) {
    throw new UserError(dir, `${what} is not writable (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
}
