import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import type { DatasetDefinition } from "./dataset.js";
import type { TaskDefinition } from "./task.js";
import type { Upstream, UpstreamDefinition } from "./upstream.js";
import { UserError } from "./errors.js";

/**
 * Upstreams, tasks and datasets are found by listing their folders: each file in `upstreams/`
 * exports `upstream: UpstreamDefinition`, each file in `tasks/` exports `task: TaskDefinition`,
 * each file in `src/datasets/` exports `dataset: DatasetDefinition`. Adding one is adding a file.
 */
async function discover<T>(folder: "upstreams" | "tasks" | "src/datasets", exportName: string): Promise<T[]> {
  // Relative to this module: ../ is the package root (dist/ when compiled, the source tree under vitest).
  const base = folder === "src/datasets" ? "./datasets/" : `../${folder}/`;
  const dir = fileURLToPath(new URL(base, import.meta.url));
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith(".d.ts") && !f.startsWith("_"))
    .sort();
  const found: T[] = [];
  for (const file of files) {
    const mod = (await import(new URL(`${base}${file}`, import.meta.url).href)) as Record<string, unknown>;
    const value = mod[exportName];
    if (value !== undefined) found.push(value as T);
  }
  return found;
}

let upstreamCache: Promise<UpstreamDefinition[]> | undefined;
let taskCache: Promise<TaskDefinition[]> | undefined;
let datasetCache: Promise<DatasetDefinition[]> | undefined;

export function listDatasets(): Promise<DatasetDefinition[]> {
  datasetCache ??= discover<DatasetDefinition>("src/datasets", "dataset");
  return datasetCache;
}

export async function findDataset(kind: string): Promise<DatasetDefinition> {
  const defs = await listDatasets();
  const def = defs.find((d) => d.kind === kind);
  if (!def) throw new UserError(`dataset kind "${kind}"`, `unknown; known kinds: ${defs.map((d) => d.kind).join(", ")}`);
  return def;
}

export function listUpstreams(): Promise<UpstreamDefinition[]> {
  upstreamCache ??= discover<UpstreamDefinition>("upstreams", "upstream");
  return upstreamCache;
}

export function listTasks(): Promise<TaskDefinition[]> {
  taskCache ??= discover<TaskDefinition>("tasks", "task");
  return taskCache;
}

function describeNames(defs: readonly { name: string; takesArgument?: boolean }[]): string {
  return defs.map((d) => (d.takesArgument ? `${d.name}:<arg>` : d.name)).join(", ");
}

/** Resolves "fbank" or "hf:<dir>" to an upstream definition and its argument. */
export async function findUpstream(spec: string): Promise<{ definition: UpstreamDefinition; argument?: string }> {
  const defs = await listUpstreams();
  const colon = spec.indexOf(":");
  if (colon > 0) {
    const prefix = spec.slice(0, colon);
    const def = defs.find((d) => d.takesArgument && d.name === prefix);
    if (def) return { definition: def, argument: spec.slice(colon + 1) };
  }
  const def = defs.find((d) => !d.takesArgument && d.name === spec);
  if (!def) throw new UserError(`--upstream ${spec}`, `unknown upstream; known upstreams: ${describeNames(defs)}`);
  return { definition: def };
}

export async function createUpstream(spec: string): Promise<Upstream> {
  const { definition, argument } = await findUpstream(spec);
  return definition.create(argument);
}

export async function findTask(name: string): Promise<TaskDefinition> {
  const tasks = await listTasks();
  const task = tasks.find((t) => t.name === name);
  if (!task) throw new UserError(`--task ${name}`, `unknown task; known tasks: ${tasks.map((t) => t.name).join(", ")}, all`);
  return task;
}

/** "all" or a comma-separated list of task names, in SUPERB's order. */
export async function resolveTasks(spec: string): Promise<TaskDefinition[]> {
  const order = ["pr", "asr", "ic", "sid", "asv", "ks"];
  const rank = (n: string) => (order.includes(n) ? order.indexOf(n) : order.length);
  if (spec === "all") return [...(await listTasks())].sort((a, b) => rank(a.name) - rank(b.name));
  const names = spec.split(",").map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UserError("--task", `no task given; known tasks: ${(await listTasks()).map((t) => t.name).join(", ")}, all`);
  return Promise.all(names.map(findTask));
}
