import { existsSync } from "node:fs";
import * as path from "node:path";

/** `../shared/data` beside the repository (or $SUPERB_SHARED_DATA): real recordings for adapter tests. */
export const SHARED_DATA = path.resolve(process.env.SUPERB_SHARED_DATA ?? path.join(process.cwd(), "..", "shared", "data"));

/**
 * The folder of one real data set under ../shared/data, or undefined after printing a visible
 * skip message (tests that need it use `describe.skipIf(!dir)`).
 */
export function sharedDataset(name: string, testName: string): string | undefined {
  const dir = path.join(SHARED_DATA, name);
  if (existsSync(dir)) return dir;
  console.warn(`${testName} skipped: the real recordings are not at ${dir} (set SUPERB_SHARED_DATA)`);
  return undefined;
}
