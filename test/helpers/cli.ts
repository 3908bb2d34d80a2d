import { spawn } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";

/** The CLI as a user runs it: the compiled bin (npm test builds it first). */
export const CLI = path.resolve("dist/src/cli.js");
export const TEST_CACHE = process.env.SUPERB_TEST_CACHE_DIR ?? path.join(os.tmpdir(), "superb-test-cache");

/** Runs the CLI without blocking the test worker's event loop (vitest's RPC needs it). */
export function superb(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, SUPERB_CACHE_DIR: TEST_CACHE, ...env }, timeout: 540_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
