/**
 * Unlabelled audio for self-supervised pre-training (every recipe: wav2vec 2.0, PASE+), from the
 * sources `superb pretrain --data` names, concatenated in the order given:
 *
 *   <folder>          every .wav / .flac under it (recursively, symlinks followed, path order)
 *   embedded[:prof]   the train and dev audio of the embedded corpus (default profile: full)
 *   KIND=DIR          a dataset of the dataset layer: the items of its tasks' train and dev
 *                     splits, minus every item that any of its tasks tests on
 *
 * Test audio is never pre-trained on, so the downstream evaluation stays on audio the upstream
 * never heard.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadItemAudio } from "./audio-file.js";
import { loadUtteranceAudio } from "./corpus/generate.js";
import type { Corpus, Split } from "./corpus/types.js";
import { parseDataSpec, type DatasetItem } from "./dataset.js";
import { UserError } from "./errors.js";
import { listDatasets } from "./registry.js";

/** Utterances for pre-training, loaded on demand. Lengths are needed up front for batching. */
export interface PretrainDataset {
  size: number;
  /** Samples (16 kHz) of utterance i. */
  length(i: number): number;
  /** The 16 kHz mono audio of utterance i. */
  load(i: number): Float32Array;
  /** Stable identity of the data for the checkpoint key (e.g. a corpus hash). Default: a hash of the audio. */
  id?: string;
}

/** In-memory clips as a dataset. */
export function arrayPretrainData(audio: readonly Float32Array[], id?: string): PretrainDataset {
  return { size: audio.length, length: (i) => audio[i].length, load: (i) => audio[i], id };
}

/**
 * The unlabelled audio of a corpus: by default its train and dev splits. Test audio is left out
 * so that the downstream evaluation stays on audio the upstream never saw.
 */
export function corpusPretrainData(corpus: Corpus, splits: readonly Split[] = ["train", "dev"]): PretrainDataset {
  const utts = corpus.manifest.utterances.filter((u) => splits.includes(u.split));
  if (utts.length === 0) throw new UserError(`corpus ${corpus.manifest.name} has no utterances in ${splits.join("/")}`);
  return arrayPretrainData(utts.map((u) => loadUtteranceAudio(corpus, u)), `corpus:${corpus.hash}:${[...splits].sort().join("+")}`);
}

const AUDIO_FILE = /\.(wav|flac)$/i;

/** Every .wav/.flac file under a folder, recursively, symlinks followed, in path order. */
export function listAudioFiles(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: not a folder`);
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const full = path.join(d, name);
      const st = fs.statSync(full, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(full);
      else if (st?.isFile() && AUDIO_FILE.test(name)) files.push(full);
    }
  };
  walk(dir);
  if (files.length === 0) throw new UserError(`${dir}: no .wav or .flac files found`);
  return files;
}

/** Loads items at 16 kHz; reports resampling once per source, not once per file. */
async function loadItems(items: readonly Pick<DatasetItem, "path" | "segment">[], source: string, onNotice?: (msg: string) => void): Promise<Float32Array[]> {
  const rates = new Map<string, number>();
  const audio: Float32Array[] = [];
  for (const item of items) {
    audio.push(await loadItemAudio(item, { onNotice: (m) => { const r = /resampled (.*)$/.exec(m)?.[1] ?? m; rates.set(r, (rates.get(r) ?? 0) + 1); } }));
  }
  for (const [r, n] of rates) onNotice?.(`${source}: ${n} file${n === 1 ? "" : "s"} resampled ${r}`);
  return audio;
}

/** The data's identity for checkpoint keys and model cards: its own id, else a hash of every clip's samples. */
export function pretrainDataId(ds: PretrainDataset): string {
  if (ds.id !== undefined) return ds.id;
  const h = createHash("sha256");
  for (let i = 0; i < ds.size; i++) {
    const a = ds.load(i);
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    h.update(String(a.length));
  }
  return h.digest("hex").slice(0, 16);
}

/** Every audio file under a folder, resampled to 16 kHz mono. */
export async function folderPretrainData(dir: string, onNotice?: (msg: string) => void): Promise<PretrainDataset> {
  return arrayPretrainData(await loadItems(listAudioFiles(dir).map((p) => ({ path: p })), dir, onNotice));
}

/** The train/dev items of a dataset's tasks that none of its tasks tests on. */
export function pretrainItemsOf(taskSplits: readonly Record<Split, readonly DatasetItem[]>[]): DatasetItem[] {
  const tested = new Set(taskSplits.flatMap((s) => s.test.map((i) => i.id)));
  const chosen = new Map<string, DatasetItem>();
  for (const s of taskSplits) for (const i of [...s.train, ...s.dev]) if (!tested.has(i.id)) chosen.set(i.id, i);
  return [...chosen.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface PretrainSourceOptions {
  /** Builds the embedded corpus for `embedded[:profile]`. */
  embeddedCorpus(profile: string): Promise<Corpus>;
  onNotice?: (msg: string) => void;
}

/** One `--data` source (see the file comment). */
export async function openPretrainSource(spec: string, opts: PretrainSourceOptions): Promise<PretrainDataset> {
  const embedded = /^embedded(?::(.+))?$/.exec(spec);
  if (embedded) return corpusPretrainData(await opts.embeddedCorpus(embedded[1] ?? "full"));
  if (spec.includes("=") && !fs.existsSync(spec)) {
    const defs = (await listDatasets()).filter((d) => d.kind !== "embedded");
    const { kind, root } = parseDataSpec(spec, defs.map((d) => d.kind));
    const { openDataset } = await import("./run-data.js");
    const ds = await openDataset(kind, root, {});
    const splits = ds.tasks.flatMap((t) => {
      try {
        return [ds.taskData(t).splits];
      } catch (err) {
        if (err instanceof UserError) return []; // a task this copy cannot serve (no trial list, ...)
        throw err;
      }
    });
    const items = pretrainItemsOf(splits);
    if (items.length === 0) throw new UserError(`--data ${spec}: no train or dev audio to pre-train on`);
    return arrayPretrainData(await loadItems(items, spec, opts.onNotice), `${kind}:${ds.fingerprint.hash}:train+dev`);
  }
  return folderPretrainData(spec, opts.onNotice);
}

/** Sources end to end; the id joins theirs (a source without one is hashed when the run starts). */
export function concatPretrainData(parts: readonly PretrainDataset[]): PretrainDataset {
  if (parts.length === 1) return parts[0];
  const starts: number[] = [];
  let n = 0;
  for (const p of parts) (starts.push(n), (n += p.size));
  const locate = (i: number): [PretrainDataset, number] => {
    let k = parts.length - 1;
    while (starts[k] > i) k--;
    return [parts[k], i - starts[k]];
  };
  const ids = parts.map((p) => p.id);
  return {
    size: n,
    length: (i) => { const [p, j] = locate(i); return p.length(j); },
    load: (i) => { const [p, j] = locate(i); return p.load(j); },
    id: ids.every((x) => x !== undefined) ? ids.join("|") : undefined,
  };
}

/** All `--data` sources, in order. */
export async function openPretrainSources(specs: readonly string[], opts: PretrainSourceOptions): Promise<PretrainDataset> {
  const parts: PretrainDataset[] = [];
  for (const s of specs) parts.push(await openPretrainSource(s, opts));
  return concatPretrainData(parts);
}
