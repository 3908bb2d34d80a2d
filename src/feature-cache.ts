import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Corpus, Split } from "./corpus/types.js";
import type { Upstream } from "./upstream.js";
import { UserError } from "./errors.js";
import { startProgress } from "./progress.js";
import { writeFileAtomic } from "./fs-atomic.js";

/**
 * Upstream features are extracted once per (upstream identity, corpus, split) and reused by every
 * task and rerun: training in s3prl is dominated by re-running the upstream. Each split is one
 * binary file of float32 [layers x frames x dim] blocks plus a JSON index; readers pull one
 * utterance at a time from disk so memory stays bounded by the batch, not the corpus.
 */
export interface FeatureItem {
  id: string;
  /** Offset of the utterance's block in the binary file, in float32 elements. */
  offset: number;
  numFrames: number;
}

export interface FeatureIndex {
  formatVersion: 1;
  upstream: string;
  corpusHash: string;
  split: Split;
  numLayers: number;
  dim: number;
  frameRate: number;
  items: FeatureItem[];
  /** Per layer and dimension mean and standard deviation over all frames of this split. */
  mean: number[];
  std: number[];
}

interface PartialState {
  key: string;
  done: number;
  floats: number;
  items: FeatureItem[];
  sum: number[];
  sumSq: number[];
  frames: number;
}

const FORMAT_VERSION = 1;
/** How often (utterances) a partial extraction records where it got to, so a killed run resumes. */
const CHECKPOINT_EVERY = 50;

export class FeatureStore {
  private readonly fd: number;
  private readonly byId: Map<string, number>;

  constructor(
    readonly index: FeatureIndex,
    readonly binPath: string,
    /** Where the index was read from (lets worker threads reopen the store). */
    readonly indexPath: string = binPath.replace(/\.f32$/, ".json"),
  ) {
    this.fd = fs.openSync(binPath, "r");
    this.byId = new Map(index.items.map((item, i) => [item.id, i]));
  }

  get numLayers(): number {
    return this.index.numLayers;
  }
  get dim(): number {
    return this.index.dim;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  numFrames(id: string): number {
    return this.item(id).numFrames;
  }

  private item(id: string): FeatureItem {
    const i = this.byId.get(id);
    if (i === undefined) throw new Error(`feature cache ${this.binPath} has no utterance ${id}`);
    return this.index.items[i];
  }

  /** Reads one utterance's hidden states, [layers x frames x dim] row-major. */
  read(id: string): Float32Array {
    const item = this.item(id);
    const count = this.index.numLayers * item.numFrames * this.index.dim;
    const out = new Float32Array(count);
    const bytes = new Uint8Array(out.buffer);
    let readTotal = 0;
    while (readTotal < bytes.length) {
      const n = fs.readSync(this.fd, bytes, readTotal, bytes.length - readTotal, item.offset * 4 + readTotal);
      if (n <= 0) throw new UserError(`${this.binPath}: feature cache is truncated; delete it to re-extract`);
      readTotal += n;
    }
    return out;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

export interface EnsureFeaturesOptions {
  upstream: Upstream;
  corpus: Corpus;
  split: Split;
  cacheDir: string;
  /** Loads a corpus WAV as 16 kHz mono. */
  loadAudio: (file: string) => Float32Array;
  progress?: boolean;
  /** Utterances between resume points of a long extraction (default 50). */
  checkpointEvery?: number;
}

export function featureCacheKey(upstreamIdentity: string, corpusHash: string, split: Split): string {
  return createHash("sha256")
    .update(`${FORMAT_VERSION}|${upstreamIdentity}|${corpusHash}|${split}`)
    .digest("hex")
    .slice(0, 16);
}

export function featureCachePaths(cacheDir: string, upstreamIdentity: string, corpus: Corpus, split: Split) {
  const dir = path.join(cacheDir, "features", upstreamIdentity.replace(/[^A-Za-z0-9_.-]/g, "_"), `${corpus.manifest.name}-${corpus.hash}`);
  return {
    dir,
    bin: path.join(dir, `${split}.f32`),
    index: path.join(dir, `${split}.json`),
    partialBin: path.join(dir, `${split}.f32.partial`),
    partialState: path.join(dir, `${split}.partial.json`),
  };
}

/** Returns the cached features of a split, extracting (or resuming extraction of) what is missing. */
export async function ensureFeatures(opts: EnsureFeaturesOptions): Promise<{ store: FeatureStore; extracted: boolean; seconds: number }> {
  const { upstream, corpus, split } = opts;
  const paths = featureCachePaths(opts.cacheDir, upstream.identity, corpus, split);
  const key = featureCacheKey(upstream.identity, corpus.hash, split);
  const cached = readIndex(paths.index, upstream.identity, corpus.hash, split);
  if (cached && fs.existsSync(paths.bin)) return { store: new FeatureStore(cached, paths.bin), extracted: false, seconds: 0 };

  const started = performance.now();
  fs.mkdirSync(paths.dir, { recursive: true });
  const utterances = corpus.manifest.utterances.filter((u) => u.split === split);
  const L = upstream.numLayers;
  const D = upstream.hiddenSize;

  let state: PartialState = { key, done: 0, floats: 0, items: [], sum: new Array(L * D).fill(0), sumSq: new Array(L * D).fill(0), frames: 0 };
  const resumed = readPartial(paths.partialState, key);
  if (resumed && fs.existsSync(paths.partialBin) && fs.statSync(paths.partialBin).size >= resumed.floats * 4) {
    state = resumed;
    fs.truncateSync(paths.partialBin, state.floats * 4);
  } else {
    fs.writeFileSync(paths.partialBin, new Uint8Array(0));
  }

  const fd = fs.openSync(paths.partialBin, "a");
  const bar = startProgress({ label: `extracting ${upstream.name} ${split}`, total: utterances.length, unit: "utt", enabled: opts.progress });
  bar.increment(state.done);
  try {
    for (let u = state.done; u < utterances.length; u++) {
      const utt = utterances[u];
      const file = path.join(corpus.dir, utt.path);
      const hidden = await upstream.extractHiddenStates(opts.loadAudio(file));
      if (hidden.layers.length !== L || hidden.dim !== D) {
        throw new Error(`upstream ${upstream.name} returned ${hidden.layers.length} layers x ${hidden.dim} dims, declared ${L} x ${D}`);
      }
      const T = hidden.numFrames;
      const block = new Float32Array(L * T * D);
      for (let l = 0; l < L; l++) {
        const layer = hidden.layers[l];
        block.set(layer.subarray(0, T * D), l * T * D);
        for (let t = 0; t < T; t++) {
          for (let d = 0; d < D; d++) {
            const v = layer[t * D + d];
            if (!Number.isFinite(v)) throw new UserError(`${file}: upstream ${upstream.name} produced a non-finite value in layer ${l}`);
            state.sum[l * D + d] += v;
            state.sumSq[l * D + d] += v * v;
          }
        }
      }
      state.frames += T;
      fs.writeSync(fd, new Uint8Array(block.buffer));
      state.items.push({ id: utt.id, offset: state.floats, numFrames: T });
      state.floats += block.length;
      state.done = u + 1;
      if (state.done % (opts.checkpointEvery ?? CHECKPOINT_EVERY) === 0) {
        fs.fsyncSync(fd);
        writeFileAtomic(paths.partialState, JSON.stringify(state));
      }
      bar.increment();
    }
  } finally {
    bar.stop();
    fs.closeSync(fd);
  }

  const mean = state.sum.map((s) => s / Math.max(1, state.frames));
  const std = state.sumSq.map((s, i) => Math.sqrt(Math.max(s / Math.max(1, state.frames) - mean[i] * mean[i], 0)) || 1);
  const index: FeatureIndex = {
    formatVersion: FORMAT_VERSION,
    upstream: upstream.identity,
    corpusHash: corpus.hash,
    split,
    numLayers: L,
    dim: D,
    frameRate: upstream.frameRate,
    items: state.items,
    mean,
    std,
  };
  fs.renameSync(paths.partialBin, paths.bin);
  writeFileAtomic(paths.index, JSON.stringify(index));
  fs.rmSync(paths.partialState, { force: true });
  return { store: new FeatureStore(index, paths.bin), extracted: true, seconds: (performance.now() - started) / 1000 };
}

function readIndex(file: string, upstream: string, corpusHash: string, split: Split): FeatureIndex | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const index = JSON.parse(fs.readFileSync(file, "utf8")) as FeatureIndex;
    if (index.formatVersion !== FORMAT_VERSION || index.upstream !== upstream || index.corpusHash !== corpusHash || index.split !== split) return undefined;
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

/** The cached features of train, dev and test (extracting what is missing), with the seconds each extraction took. */
export async function ensureSplitFeatures(
  opts: Omit<EnsureFeaturesOptions, "split">,
): Promise<{ stores: Record<Split, FeatureStore>; extracted: Partial<Record<Split, number>> }> {
  const stores = {} as Record<Split, FeatureStore>;
  const extracted: Partial<Record<Split, number>> = {};
  for (const split of ["train", "dev", "test"] as const) {
    const r = await ensureFeatures({ ...opts, split });
    stores[split] = r.store;
    if (r.extracted) extracted[split] = r.seconds;
  }
  return { stores, extracted };
}
