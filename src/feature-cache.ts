import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { DatasetFingerprint, DatasetItem } from "./dataset.js";
import { itemSetHash } from "./dataset.js";
import { stackHiddenStates, type Upstream } from "./upstream.js";
import { isBatchUpstream } from "./onnx-upstream.js";
import { UserError } from "./errors.js";
import { startProgress } from "./progress.js";
import { writeFileAtomic } from "./fs-atomic.js";
import { float16ToFloat32, float32ToFloat16 } from "./float16.js";

/**
 * Upstream features are extracted once per (upstream identity, item set, mode, dtype) and reused
 * by every task and rerun: training in s3prl is dominated by re-running the upstream. A store is
 * one binary file of [layers x frames x dim] blocks plus a JSON index; readers pull one item at a
 * time from disk, so memory stays bounded by the batch, not the corpus.
 *
 * Mode "means" keeps only each item's per-layer mean over frames ([layers x 1 x dim]): all a
 * mean-pooling task (IC, SID, KS) needs, since its head sees the features only through that mean.
 * The index still holds the per-(layer, dim) mean and deviation over all frames, so the trainer
 * standardises exactly as it would from frames.
 */
export type CacheMode = "frames" | "means";
export type CacheDtype = "float32" | "float16";

export interface FeatureItem {
  id: string;
  /** Offset of the item's block in the binary file, in elements. */
  offset: number;
  numFrames: number;
}

export interface FeatureIndex {
  formatVersion: 2;
  upstream: string;
  itemSet: string;
  mode: CacheMode;
  dtype: CacheDtype;
  numLayers: number;
  dim: number;
  frameRate: number;
  items: FeatureItem[];
  /** Per layer and dimension mean and standard deviation over all frames of these items. */
  mean: number[];
  std: number[];
}

interface PartialState extends FrameStatistics {
  key: string;
  done: number;
  elements: number;
  items: FeatureItem[];
}

const FORMAT_VERSION = 2;
/** How often (items) a partial extraction records where it got to, so a killed run resumes. */
const CHECKPOINT_EVERY = 50;
/** Items per onnxruntime call (equal-length clips only, so results never depend on the batch). */
const EXTRACT_BATCH = 16;

export const bytesPerElement = (dtype: CacheDtype): number => (dtype === "float16" ? 2 : 4);

/** One item's features: [layers x frames x dim] row-major, frames = 1 in "means" mode. */
export interface FeatureSource {
  readonly numLayers: number;
  readonly dim: number;
  readonly mode: CacheMode;
  /** Frame-level statistics of the items (the training split's are the normaliser). */
  readonly mean: ArrayLike<number>;
  readonly std: ArrayLike<number>;
  /** Frames of an item (1 in "means" mode). */
  numFrames(id: string): number;
  /** Frames of the item before pooling: orders batches by length. */
  sourceFrames(id: string): number;
  read(id: string): Promise<Float32Array>;
  close(): void;
}

export class FeatureStore implements FeatureSource {
  private readonly fd: number;
  private readonly byId: Map<string, number>;
  private readonly frameCounts: Map<string, number> | undefined;

  constructor(
    readonly index: FeatureIndex,
    readonly binPath: string,
    /** Where the index was read from (lets worker threads reopen the store). */
    readonly indexPath: string = binPath.replace(/\.bin$/, ".json"),
    /** Source frame counts in "means" mode (for length ordering); absent = 1. */
    sourceFrameCounts?: Record<string, number>,
  ) {
    this.fd = fs.openSync(binPath, "r");
    this.byId = new Map(index.items.map((item, i) => [item.id, i]));
    this.frameCounts = sourceFrameCounts ? new Map(Object.entries(sourceFrameCounts)) : undefined;
  }

  get numLayers(): number {
    return this.index.numLayers;
  }
  get dim(): number {
    return this.index.dim;
  }
  get mode(): CacheMode {
    return this.index.mode;
  }
  get mean(): number[] {
    return this.index.mean;
  }
  get std(): number[] {
    return this.index.std;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  numFrames(id: string): number {
    return this.item(id).numFrames;
  }

  sourceFrames(id: string): number {
    return this.frameCounts?.get(id) ?? this.numFrames(id);
  }

  private item(id: string): FeatureItem {
    const i = this.byId.get(id);
    if (i === undefined) throw new Error(`feature cache ${this.binPath} has no item ${id}`);
    return this.index.items[i];
  }

  /** Reads one item's hidden states, [layers x frames x dim] row-major. */
  readSync(id: string): Float32Array {
    const item = this.item(id);
    const count = this.index.numLayers * item.numFrames * this.index.dim;
    const width = bytesPerElement(this.index.dtype);
    const bytes = new Uint8Array(count * width);
    let readTotal = 0;
    while (readTotal < bytes.length) {
      const n = fs.readSync(this.fd, bytes, readTotal, bytes.length - readTotal, item.offset * width + readTotal);
      if (n <= 0) throw new UserError(`${this.binPath}: feature cache is truncated; delete it to re-extract`);
      readTotal += n;
    }
    return this.index.dtype === "float16" ? float16ToFloat32(new Uint16Array(bytes.buffer)) : new Float32Array(bytes.buffer);
  }

  read(id: string): Promise<Float32Array> {
    return Promise.resolve(this.readSync(id));
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Opens a store from its index file (worker threads reopen the stores of the main thread). */
export function openFeatureStore(indexPath: string): FeatureStore {
  const index = JSON.parse(fs.readFileSync(indexPath, "utf8")) as FeatureIndex & { sourceFrames?: Record<string, number> };
  return new FeatureStore(index, indexPath.replace(/\.json$/, ".bin"), indexPath, index.sourceFrames);
}

export interface EnsureFeaturesOptions {
  upstream: Upstream;
  items: readonly DatasetItem[];
  dataset: DatasetFingerprint;
  cacheDir: string;
  mode?: CacheMode;
  dtype?: CacheDtype;
  /** Loads an item's audio as 16 kHz mono. */
  loadAudio: (item: DatasetItem) => Promise<Float32Array>;
  progress?: boolean;
  /** Label of the progress bar, e.g. "sid train". */
  label?: string;
  /** Items between resume points of a long extraction (default 50). */
  checkpointEvery?: number;
}

export function featureCachePaths(cacheDir: string, upstreamIdentity: string, dataset: DatasetFingerprint, items: readonly DatasetItem[], mode: CacheMode, dtype: CacheDtype) {
  const dir = path.join(cacheDir, "features", safe(upstreamIdentity), `${safe(dataset.kind)}-${safe(dataset.name)}-${dataset.hash}`);
  const base = `${itemSetHash(items)}-${mode}-${dtype}`;
  return {
    dir,
    key: createHash("sha256").update(`${FORMAT_VERSION}|${upstreamIdentity}|${dataset.hash}|${base}`).digest("hex").slice(0, 16),
    bin: path.join(dir, `${base}.bin`),
    index: path.join(dir, `${base}.json`),
    partialBin: path.join(dir, `${base}.bin.partial`),
    partialState: path.join(dir, `${base}.partial.json`),
  };
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, "_");

/** Frames an upstream gives for an item, estimated from its duration (for sizes and ordering before extraction). */
export function estimatedFrames(item: DatasetItem, frameRate: number): number {
  return Math.max(1, Math.ceil(item.durationSec * frameRate));
}

/** Bytes a store of these items will take on disk. */
export function estimateCacheBytes(upstream: Pick<Upstream, "numLayers" | "hiddenSize" | "frameRate">, items: readonly DatasetItem[], mode: CacheMode, dtype: CacheDtype): number {
  const perFrame = upstream.numLayers * upstream.hiddenSize * bytesPerElement(dtype);
  if (mode === "means") return items.length * perFrame;
  return items.reduce((s, i) => s + estimatedFrames(i, upstream.frameRate), 0) * perFrame;
}

/** True when the store for these items is already complete on disk. */
export function isCached(opts: Pick<EnsureFeaturesOptions, "upstream" | "items" | "dataset" | "cacheDir" | "mode" | "dtype">): boolean {
  const paths = featureCachePaths(opts.cacheDir, opts.upstream.identity, opts.dataset, opts.items, opts.mode ?? "frames", opts.dtype ?? "float32");
  return readIndex(paths.index, opts.upstream.identity) !== undefined && fs.existsSync(paths.bin);
}

/** Returns the cached features of the items, extracting (or resuming extraction of) what is missing. */
export async function ensureFeatures(opts: EnsureFeaturesOptions): Promise<{ store: FeatureStore; extracted: boolean; seconds: number }> {
  const { upstream } = opts;
  // Length-sorted, so clips of equal length (Speech Commands' 1 s) meet in one onnxruntime call.
  const items = [...opts.items].sort((a, b) => a.durationSec - b.durationSec || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const mode = opts.mode ?? "frames";
  const dtype = opts.dtype ?? "float32";
  const paths = featureCachePaths(opts.cacheDir, upstream.identity, opts.dataset, items, mode, dtype);
  const cached = readIndex(paths.index, upstream.identity);
  if (cached && fs.existsSync(paths.bin)) return { store: new FeatureStore(cached, paths.bin, paths.index, cached.sourceFrames), extracted: false, seconds: 0 };

  const started = performance.now();
  fs.mkdirSync(paths.dir, { recursive: true });
  const L = upstream.numLayers;
  const D = upstream.hiddenSize;
  let state: PartialState = { key: paths.key, done: 0, elements: 0, items: [], ...emptyFrameStatistics(L, D) };
  const width = bytesPerElement(dtype);
  const resumed = readPartial(paths.partialState, paths.key);
  if (resumed && fs.existsSync(paths.partialBin) && fs.statSync(paths.partialBin).size >= resumed.elements * width) {
    state = resumed;
    fs.truncateSync(paths.partialBin, state.elements * width);
  } else {
    fs.writeFileSync(paths.partialBin, new Uint8Array(0));
  }
  const sourceFrames: Record<string, number> = {};
  for (const it of state.items) sourceFrames[it.id] = it.numFrames;

  const fd = fs.openSync(paths.partialBin, "a");
  const bar = startProgress({ label: `extracting ${upstream.name} ${opts.label ?? ""}`.trim(), total: items.length, unit: "utt", enabled: opts.progress });
  bar.increment(state.done);
  const every = opts.checkpointEvery ?? CHECKPOINT_EVERY;
  try {
    for (let start = state.done; start < items.length; ) {
      // A group never straddles a resume point, so a kill loses at most one checkpoint interval.
      const end = Math.min(items.length, start + EXTRACT_BATCH, (Math.floor(start / every) + 1) * every);
      const group = items.slice(start, end);
      start = end;
      const audios = await Promise.all(group.map((item) => opts.loadAudio(item)));
      const states = isBatchUpstream(upstream) ? await upstream.extractHiddenStatesBatch(audios) : await sequential(upstream, audios);
      for (let g = 0; g < group.length; g++) {
        const item = group[g];
        const hidden = states[g];
        if (hidden.layers.length !== L || hidden.dim !== D) {
          throw new Error(`upstream ${upstream.name} returned ${hidden.layers.length} layers x ${hidden.dim} dims, declared ${L} x ${D}`);
        }
        addFrameStatistics(state, hidden.layers, hidden.numFrames, D, () => `${item.path}: upstream ${upstream.name} produced a non-finite value`);
        const block = storedBlock(hidden.layers, hidden.numFrames, D, mode);
        const out = dtype === "float16" ? float32ToFloat16(block) : block;
        fs.writeSync(fd, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
        const stored = mode === "means" ? 1 : hidden.numFrames;
        state.items.push({ id: item.id, offset: state.elements, numFrames: stored });
        sourceFrames[item.id] = hidden.numFrames;
        state.elements += block.length;
        state.done += 1;
        if (state.done % every === 0) {
          fs.fsyncSync(fd);
          writeFileAtomic(paths.partialState, JSON.stringify(state));
        }
        bar.increment();
      }
    }
  } finally {
    bar.stop();
    fs.closeSync(fd);
  }

  const { mean, std } = meanAndStd(state);
  const index: FeatureIndex & { sourceFrames?: Record<string, number> } = {
    formatVersion: FORMAT_VERSION,
    upstream: upstream.identity,
    itemSet: itemSetHash(items),
    mode,
    dtype,
    numLayers: L,
    dim: D,
    frameRate: upstream.frameRate,
    items: state.items,
    mean,
    std,
    ...(mode === "means" ? { sourceFrames } : {}),
  };
  fs.renameSync(paths.partialBin, paths.bin);
  writeFileAtomic(paths.index, JSON.stringify(index));
  fs.rmSync(paths.partialState, { force: true });
  return { store: new FeatureStore(index, paths.bin, paths.index, index.sourceFrames), extracted: true, seconds: (performance.now() - started) / 1000 };
}

/** Running per-(layer, dim) sums over frames: the standardisation statistics of a split. */
export interface FrameStatistics {
  sum: number[];
  sumSq: number[];
  frames: number;
}

export function emptyFrameStatistics(numLayers: number, dim: number): FrameStatistics {
  return { sum: new Array(numLayers * dim).fill(0), sumSq: new Array(numLayers * dim).fill(0), frames: 0 };
}

/** Adds an item's frames to the sums; a non-finite value is a UserError naming the item (`where`). */
export function addFrameStatistics(stats: FrameStatistics, layers: readonly Float32Array[], T: number, D: number, where: () => string): void {
  layers.forEach((layer, l) => {
    for (let t = 0; t < T; t++) {
      for (let d = 0; d < D; d++) {
        const v = layer[t * D + d];
        if (!Number.isFinite(v)) throw new UserError(`${where()} in layer ${l}`);
        stats.sum[l * D + d] += v;
        stats.sumSq[l * D + d] += v * v;
      }
    }
  });
  stats.frames += T;
}

/** Mean and standard deviation per (layer, dim); a constant dimension gets deviation 1. */
export function meanAndStd(stats: FrameStatistics): { mean: number[]; std: number[] } {
  const n = Math.max(1, stats.frames);
  const mean = stats.sum.map((s) => s / n);
  const std = stats.sumSq.map((s, i) => Math.sqrt(Math.max(s / n - mean[i] * mean[i], 0)) || 1);
  return { mean, std };
}

/** What is stored of an item: its frames, or their per-layer mean in "means" mode. */
function storedBlock(layers: readonly Float32Array[], T: number, D: number, mode: CacheMode): Float32Array {
  if (mode === "frames") return stackHiddenStates({ layers: [...layers], numFrames: T, dim: D });
  const block = new Float32Array(layers.length * D);
  layers.forEach((layer, l) => {
    for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) block[l * D + d] += layer[t * D + d];
    for (let d = 0; d < D; d++) block[l * D + d] /= Math.max(1, T);
  });
  return block;
}

async function sequential(upstream: Upstream, audios: readonly Float32Array[]) {
  const out = [];
  for (const a of audios) out.push(await upstream.extractHiddenStates(a));
  return out;
}

function readIndex(file: string, upstream: string): (FeatureIndex & { sourceFrames?: Record<string, number> }) | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const index = JSON.parse(fs.readFileSync(file, "utf8")) as FeatureIndex & { sourceFrames?: Record<string, number> };
    if (index.formatVersion !== FORMAT_VERSION || index.upstream !== upstream) return undefined;
    return index;
  } catch {
    return undefined; // a damaged index is re-extracted rather than trusted
  }
}

function readPartial(file: string, key: string): PartialState | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const state = JSON.parse(fs.readFileSync(file, "utf8")) as PartialState;
    return state.key === key ? state : undefined;
  } catch {
    return undefined;
  }
}

/** "50GB", "512MiB", "1.5T", or plain bytes, as a byte count. */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$/i.exec(text);
  if (!m) throw new UserError(`--cache-budget ${text}: expected a size such as 50GB, 512MB or 2TB`);
  const power = { "": 0, k: 1, m: 2, g: 3, t: 4 }[m[2].toLowerCase() as "" | "k" | "m" | "g" | "t"];
  const base = m[3].toLowerCase().startsWith("i") ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** power);
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}
