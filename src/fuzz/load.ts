/**
 * Finds fuzz formats: each file in src/fuzz/formats/ exports `format: FuzzFormat` and is named
 * after it (wav.ts is "wav"), so a worker imports only the format it runs. Tests add formats from
 * their own modules (`formats: FuzzFormat[]`), e.g. readers that hang on purpose.
 */
import * as fs from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { UserError } from "../errors.js";
import type { FuzzFormat } from "./format.js";

const FORMATS_DIR = new URL("./formats/", import.meta.url);

/** Names of the project's formats, sorted. */
export function fuzzFormatNames(): string[] {
  return fs
    .readdirSync(fileURLToPath(FORMATS_DIR))
    .filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith(".d.ts"))
    .map((f) => f.replace(/\.(js|ts)$/, ""))
    .sort();
}

async function extraFormats(modules: readonly string[]): Promise<FuzzFormat[]> {
  const out: FuzzFormat[] = [];
  for (const m of modules) out.push(...(((await import(pathToFileURL(m).href)) as { formats?: FuzzFormat[] }).formats ?? []));
  return out;
}

// A worker asks for its format once per mutant: resolve each name once per process.
const loaded = new Map<string, Promise<FuzzFormat>>();

export function loadFuzzFormat(name: string, extraModules: readonly string[] = []): Promise<FuzzFormat> {
  const key = `${name}\t${extraModules.join("\t")}`;
  let format = loaded.get(key);
  if (format === undefined) {
    format = importFuzzFormat(name, extraModules);
    loaded.set(key, format);
    format.catch(() => loaded.delete(key));
  }
  return format;
}

async function importFuzzFormat(name: string, extraModules: readonly string[]): Promise<FuzzFormat> {
  const extra = (await extraFormats(extraModules)).find((f) => f.name === name);
  if (extra) return extra;
  if (!fuzzFormatNames().includes(name)) throw new UserError(`--formats ${name}`, `unknown format; known formats: ${fuzzFormatNames().join(", ")}`);
  const ext = fileURLToPath(import.meta.url).endsWith(".ts") ? "ts" : "js";
  const mod = (await import(new URL(`./formats/${name}.${ext}`, import.meta.url).href)) as { format?: FuzzFormat };
  if (mod.format?.name !== name) throw new Error(`src/fuzz/formats/${name}.${ext} must export format with name "${name}"`);
  return mod.format;
}

/** Every format: the project's, then the extra modules'. */
export async function allFuzzFormatNames(extraModules: readonly string[] = []): Promise<string[]> {
  return [...fuzzFormatNames(), ...(await extraFormats(extraModules)).map((f) => f.name)];
}
