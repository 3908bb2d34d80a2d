/**
 * The data side of a run: which dataset each task reads (`--data KIND=DIR`, else the embedded
 * corpus), opening each dataset once, the feature-cache plan (its size, checked against
 * `--cache-budget` and the free disk before anything is extracted), and the feature sources the
 * trainer reads (cached stores, or the upstream run per batch with `--no-cache`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadItemAudio } from "./audio-file.js";
import { parseDataSpec, ProblemList, SPLITS, type Dataset, type DatasetItem, type DatasetOptions, type Split, type TaskData } from "./dataset.js";
import { UserError } from "./errors.js";
import { addFrameStatistics, emptyFrameStatistics, ensureFeatures, estimateCacheBytes, meanAndStd, estimatedFrames, featureCachePaths, formatBytes, isCached, type CacheDtype, type CacheMode, type FeatureSource, type FeatureStore } from "./feature-cache.js";
import { listDatasets, listTasks } from "./registry.js";
import type { TaskDefinition } from "./task.js";
import { stackHiddenStates, type Upstream } from "./upstream.js";

/** `--data speech_commands_test=DIR`: the separate KS test set, handed to the speech_commands reader. */
const COMPANION_KINDS: Record<string, { of: string; split: Split }> = { speech_commands_test: { of: "speech_commands", split: "test" } };

export interface DataSelection {
  /** `--data` specs, "KIND=DIR". */
  data?: readonly string[];
  lexicon?: string;
  /** LibriSpeech subset folders per split (`--subset`). */
  librispeechSubsets?: Partial<Record<Split, string>>;
  profile?: string;
  corpusSeed?: number;
  cacheDir: string;
  progress?: boolean;
}

/** Parses `--data` specs into kind -> root and per-kind options. */
export async function parseDataSpecs(specs: readonly string[]): Promise<Map<string, { root: string; subsets: Partial<Record<Split, string>> }>> {
  const kinds = (await listDatasets()).map((d) => d.kind).filter((k) => k !== "embedded");
  const out = new Map<string, { root: string; subsets: Partial<Record<Split, string>> }>();
  const companions: Array<{ kind: string; root: string }> = [];
  for (const spec of specs) {
    const { kind, root } = parseDataSpec(spec, [...kinds, ...Object.keys(COMPANION_KINDS)]);
    if (COMPANION_KINDS[kind]) companions.push({ kind, root });
    else if (out.has(kind)) throw new UserError(`--data ${spec}: ${kind} is given twice`);
    else out.set(kind, { root, subsets: {} });
  }
  for (const c of companions) {
    const { of, split } = COMPANION_KINDS[c.kind];
    const target = out.get(of);
    if (!target) throw new UserError(`--data ${c.kind}=${c.root}: give --data ${of}=DIR as well`);
    target.subsets[split] = c.root;
  }
  return out;
}

/** Opens one dataset; every problem found is thrown as one line (the first, with the count of the rest). */
export async function openDataset(kind: string, root: string, options: DatasetOptions): Promise<Dataset> {
  const def = (await listDatasets()).find((d) => d.kind === kind);
  if (!def) throw new UserError(`dataset kind "${kind}"`, "unknown");
  const problems = new ProblemList();
  const dataset = await def.open(root, options, problems);
  problems.throwIfAny();
  return dataset;
}

export interface TaskDataPlan {
  task: TaskDefinition;
  dataset: Dataset;
  data: TaskData;
}

/** Chooses and opens the dataset of each task and reads its TaskData (all checks before any work). */
export async function planTaskData(tasks: readonly TaskDefinition[], sel: DataSelection): Promise<TaskDataPlan[]> {
  const given = await parseDataSpecs(sel.data ?? []);
  for (const kind of given.keys()) {
    if (!tasks.some((t) => t.datasetKinds.includes(kind))) {
      const readers = (await listTasks()).filter((t) => t.datasetKinds.includes(kind)).map((t) => t.name);
      throw new UserError(`--data ${kind}=...: none of the tasks ${tasks.map((t) => t.name).join(", ")} reads ${kind} (it serves ${readers.join(", ") || "no task"})`);
    }
  }
  const opened = new Map<string, Dataset>();
  const open = async (kind: string): Promise<Dataset> => {
    let ds = opened.get(kind);
    if (!ds) {
      const spec = given.get(kind);
      const subsets = kind === "librispeech" ? { ...sel.librispeechSubsets, ...spec?.subsets } : spec?.subsets;
      ds = await openDataset(kind, spec?.root ?? "", { lexicon: sel.lexicon, subsets, profile: sel.profile, corpusSeed: sel.corpusSeed, cacheDir: sel.cacheDir, progress: sel.progress });
      opened.set(kind, ds);
    }
    return ds;
  };
  const plans: TaskDataPlan[] = [];
  for (const task of tasks) {
    const kind = task.datasetKinds.find((k) => given.has(k)) ?? (task.datasetKinds.includes("embedded") ? "embedded" : undefined);
    if (!kind) throw new UserError(`task ${task.name}`, `needs --data with one of: ${task.datasetKinds.join(", ")}`);
    const dataset = await open(kind);
    const data = dataset.taskData(task.name);
    for (const split of SPLITS) {
      if (data.splits[split].length === 0) throw new UserError(`${dataset.root}: the ${split} split of task ${task.name} is empty`);
    }
    plans.push({ task, dataset, data });
  }
  return plans;
}

export interface CacheSettings {
  dtype: CacheDtype;
  /** Largest total size of the features still to extract, in bytes. */
  budgetBytes?: number;
  /** Run the upstream per batch instead of caching (as s3prl does). */
  noCache?: boolean;
}

interface StoreNeed {
  plan: TaskDataPlan;
  split: Split;
  mode: CacheMode;
  items: DatasetItem[];
}

function needsOf(plans: readonly TaskDataPlan[]): StoreNeed[] {
  return plans.flatMap((plan) => SPLITS.map((split) => ({ plan, split, mode: (plan.task.poolsUtteranceMean ? "means" : "frames") as CacheMode, items: plan.data.splits[split] })));
}

/**
 * The size of the features still to extract for every upstream of the run, checked (in total)
 * against the budget and the free disk: over either, a UserError that says how to get under it.
 */
export function checkCachePlan(upstreams: readonly Upstream[], plans: readonly TaskDataPlan[], cacheDir: string, settings: CacheSettings, log: (m: string) => void): void {
  if (settings.noCache) {
    log("feature cache: off (--no-cache); the upstream runs on every batch");
    return;
  }
  let total = 0;
  for (const upstream of upstreams) {
    const seen = new Set<string>();
    let needed = 0;
    let cachedCount = 0;
    for (const need of needsOf(plans)) {
      const key = featureCachePaths(cacheDir, upstream.identity, need.plan.dataset.fingerprint, need.items, need.mode, settings.dtype).bin;
      if (seen.has(key)) continue;
      seen.add(key);
      if (isCached({ upstream, items: need.items, dataset: need.plan.dataset.fingerprint, cacheDir, mode: need.mode, dtype: settings.dtype })) cachedCount++;
      else needed += estimateCacheBytes(upstream, need.items, need.mode, settings.dtype);
    }
    log(`feature cache: ${formatBytes(needed)} to extract for ${upstream.name} (${upstream.numLayers} layers x ${upstream.hiddenSize} dims, ${settings.dtype}; ${cachedCount} of ${seen.size} stores already cached) in ${path.join(cacheDir, "features")}`);
    total += needed;
  }
  if (total === 0) return;
  const hint = settings.dtype === "float32" ? "--cache-dtype float16 halves it; --no-cache runs the upstream per batch instead" : "--no-cache runs the upstream per batch instead";
  if (settings.budgetBytes !== undefined && total > settings.budgetBytes) {
    throw new UserError(`feature cache: ${formatBytes(total)} needed, over --cache-budget ${formatBytes(settings.budgetBytes)} (${hint})`);
  }
  const free = freeBytes(cacheDir);
  if (free !== undefined && total > free) throw new UserError(`${cacheDir}: feature cache needs ${formatBytes(total)}, only ${formatBytes(free)} free on that disk (${hint})`);
}

function freeBytes(dir: string): number | undefined {
  try {
    fs.mkdirSync(dir, { recursive: true });
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** Per task, the feature sources of its three splits; stores of identical item sets are shared. */
export async function prepareFeatures(
  upstream: Upstream,
  plans: readonly TaskDataPlan[],
  cacheDir: string,
  settings: CacheSettings,
  opts: { progress?: boolean; onNotice: (m: string) => void },
): Promise<{ sources: Map<string, Record<Split, FeatureSource>>; extractSeconds: number; close: () => void }> {
  const loadAudio = (item: DatasetItem) => loadItemAudio(item, { onNotice: opts.onNotice });
  const sources = new Map<string, Record<Split, FeatureSource>>();
  const opened = new Map<string, FeatureStore>();
  let extractSeconds = 0;
  for (const need of needsOf(plans)) {
    const record = sources.get(need.plan.task.name) ?? ({} as Record<Split, FeatureSource>);
    sources.set(need.plan.task.name, record);
    if (settings.noCache) {
      record[need.split] = await UpstreamFeatureSource.create(upstream, need.items, loadAudio);
      continue;
    }
    const fingerprint = need.plan.dataset.fingerprint;
    const key = featureCachePaths(cacheDir, upstream.identity, fingerprint, need.items, need.mode, settings.dtype).bin;
    let store = opened.get(key);
    if (!store) {
      const r = await ensureFeatures({ upstream, items: need.items, dataset: fingerprint, cacheDir, mode: need.mode, dtype: settings.dtype, loadAudio, progress: opts.progress, label: `${need.plan.task.name} ${need.split}` });
      extractSeconds += r.seconds;
      store = r.store;
      opened.set(key, store);
    }
    record[need.split] = store;
  }
  return { sources, extractSeconds, close: () => opened.forEach((s) => s.close()) };
}

/** Items whose frame statistics stand in for the training split's when nothing is cached. */
const NO_CACHE_STATS_ITEMS = 64;

/**
 * `--no-cache`: the upstream runs on each batch's audio (s3prl's default). The standardisation
 * statistics come from up to 64 items spread evenly over the split, extracted once.
 */
export class UpstreamFeatureSource implements FeatureSource {
  readonly mode = "frames" as const;
  private constructor(
    private readonly upstream: Upstream,
    private readonly byId: Map<string, DatasetItem>,
    private readonly loadAudio: (item: DatasetItem) => Promise<Float32Array>,
    readonly mean: readonly number[],
    readonly std: readonly number[],
  ) {}

  static async create(upstream: Upstream, items: readonly DatasetItem[], loadAudio: (item: DatasetItem) => Promise<Float32Array>): Promise<UpstreamFeatureSource> {
    const stats = emptyFrameStatistics(upstream.numLayers, upstream.hiddenSize);
    const step = Math.max(1, Math.floor(items.length / NO_CACHE_STATS_ITEMS));
    for (let i = 0; i < items.length; i += step) {
      const h = await upstream.extractHiddenStates(await loadAudio(items[i]));
      addFrameStatistics(stats, h.layers, h.numFrames, h.dim, () => `${items[i].path}: upstream ${upstream.name} produced a non-finite value`);
    }
    const { mean, std } = meanAndStd(stats);
    return new UpstreamFeatureSource(upstream, new Map(items.map((i) => [i.id, i])), loadAudio, mean, std);
  }

  get numLayers(): number {
    return this.upstream.numLayers;
  }
  get dim(): number {
    return this.upstream.hiddenSize;
  }
  numFrames(id: string): number {
    return estimatedFrames(this.item(id), this.upstream.frameRate);
  }
  sourceFrames(id: string): number {
    return this.numFrames(id);
  }
  private item(id: string): DatasetItem {
    const it = this.byId.get(id);
    if (!it) throw new Error(`no item ${id}`);
    return it;
  }
  async read(id: string): Promise<Float32Array> {
    const item = this.item(id);
    const h = await this.upstream.extractHiddenStates(await this.loadAudio(item));
    const block = stackHiddenStates(h);
    const bad = block.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new UserError(`${item.path}: upstream ${this.upstream.name} produced a non-finite value in layer ${Math.floor(bad / Math.max(1, h.numFrames * h.dim))}`);
    return block;
  }
  close(): void {}
}
