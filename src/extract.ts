/**
 * `superb extract`: hidden states of WAV files as NumPy arrays, for reuse outside the harness
 * (s3prl users' most requested feature). Each WAV becomes one float32 .npy of shape
 * [layers, frames, dim]. One upstream instance (so one inference session) serves every file;
 * clips are loaded in groups and, when the upstream supports it, equal-length clips of a group run
 * as one batch (never padded, so each file's features equal a single-clip extractHiddenStates).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadAudio16k } from "./audio.js";
import { UserError } from "./errors.js";
import { writeNpy } from "./npy.js";
import { isBatchUpstream } from "./onnx-upstream.js";
import { createUpstream } from "./registry.js";
import type { HiddenStates, Upstream } from "./upstream.js";
import { SAMPLE_RATE, stackHiddenStates } from "./upstream.js";

export interface ExtractProgress {
  /** Files written so far (including this one). */
  done: number;
  total: number;
  /** The WAV just processed and the .npy written for it. */
  file: string;
  out: string;
  numFrames: number;
}

export interface ExtractOptions {
  /** Registry spec ("fbank", "wav2vec2-base", "hf:<dir>", "onnx:<path>") or an upstream instance (not disposed here). */
  upstream: string | Upstream;
  /** A WAV file, or a folder searched recursively for *.wav (any case). */
  input: string;
  /** For a file input: a .npy path (or an existing folder, which receives <name>.npy). For a folder input: a folder. */
  out: string;
  onProgress?: (p: ExtractProgress) => void;
  /** One-line notices: resampling, non-finite outputs. */
  onNotice?: (message: string) => void;
  /** Most clips loaded and run together (default 16). */
  batchSize?: number;
  /** Most audio per group, in seconds (default 64); bounds memory. */
  maxBatchSeconds?: number;
}

export interface ExtractResult {
  /** WAV files processed (= .npy files written). */
  files: number;
  /** Files shorter than the upstream's receptive field: written as [layers, 0, dim]. */
  emptyFiles: number;
  /** Total frames over all files. */
  frames: number;
  audioSeconds: number;
  /** Wall-clock seconds, including creating the upstream. */
  seconds: number;
  upstream: { name: string; identity: string; numLayers: number; hiddenSize: number; frameRate: number };
  /** The .npy files written, in processing order. */
  outputs: string[];
}

interface Job {
  wav: string;
  npy: string;
}

/** All *.wav files under dir (recursive, any case), sorted by relative path; symlinked folders are not followed. */
export function listWavFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (rel: string): void => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const relPath = rel === "" ? e.name : path.join(rel, e.name);
      if (e.isDirectory()) walk(relPath);
      else if (/\.wav$/i.test(e.name) && (e.isFile() || (e.isSymbolicLink() && isFile(path.join(dir, relPath))))) found.push(relPath);
    }
  };
  walk("");
  return found.sort();
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function npyName(wavRel: string): string {
  return wavRel.replace(/\.wav$/i, "") + ".npy";
}

/** Works out which .npy each WAV goes to; every problem is a one-line UserError. */
export function planExtraction(input: string, out: string): Job[] {
  if (!fs.existsSync(input)) throw new UserError(`${input}: no such file or folder`);
  if (isDirectory(input)) {
    if (isFile(out)) throw new UserError(`${out}: is a file; for a folder input --out must be a folder`);
    if (/\.npy$/i.test(out)) throw new UserError(`--out ${out}: for a folder input --out must be a folder, not a .npy file`);
    const wavs = listWavFiles(input);
    if (wavs.length === 0) throw new UserError(`${input}: no .wav files found (searched recursively)`);
    const jobs = wavs.map((rel) => ({ wav: path.join(input, rel), npy: path.join(out, npyName(rel)) }));
    const seen = new Map<string, string>();
    for (const j of jobs) {
      const key = j.npy.toLowerCase();
      const prev = seen.get(key);
      if (prev !== undefined) throw new UserError(`${prev} and ${j.wav} would both be written to ${j.npy}`);
      seen.set(key, j.wav);
    }
    return jobs;
  }
  if (isDirectory(out)) return [{ wav: input, npy: path.join(out, npyName(path.basename(input))) }];
  if (!/\.npy$/i.test(out)) throw new UserError(`--out ${out}: for a single WAV input give a .npy file (or an existing folder)`);
  return [{ wav: input, npy: out }];
}


/**
 * Extracts the hidden states of a WAV file or a folder of WAVs to .npy files (see ExtractOptions).
 * Output files appear atomically. A bad WAV stops the run with a one-line UserError naming it
 * (files written before it are kept).
 */
export async function extractToNpy(opts: ExtractOptions): Promise<ExtractResult> {
  const started = performance.now();
  const jobs = planExtraction(opts.input, opts.out);
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 16));
  const maxBatchSamples = Math.max(1, (opts.maxBatchSeconds ?? 64) * SAMPLE_RATE);
  const owned = typeof opts.upstream === "string";
  const upstream = typeof opts.upstream === "string" ? await createUpstream(opts.upstream) : opts.upstream;
  const result: ExtractResult = {
    files: 0,
    emptyFiles: 0,
    frames: 0,
    audioSeconds: 0,
    seconds: 0,
    upstream: {
      name: upstream.name,
      identity: upstream.identity,
      numLayers: upstream.numLayers,
      hiddenSize: upstream.hiddenSize,
      frameRate: upstream.frameRate,
    },
    outputs: [],
  };
  try {
    const madeDirs = new Set<string>();
    let next = 0;
    while (next < jobs.length) {
      // Load a group: up to batchSize clips or maxBatchSamples of audio (at least one clip).
      const group: Job[] = [];
      const audios: Float32Array[] = [];
      let samples = 0;
      while (next < jobs.length && group.length < batchSize && (group.length === 0 || samples < maxBatchSamples)) {
        const job = jobs[next++];
        const audio = loadAudio16k(job.wav, { onNotice: opts.onNotice });
        group.push(job);
        audios.push(audio);
        samples += audio.length;
      }
      const states = isBatchUpstream(upstream)
        ? await upstream.extractHiddenStatesBatch(audios)
        : await sequential(upstream, audios);
      for (let i = 0; i < group.length; i++) {
        const job = group[i];
        const h = states[i];
        if (h.layers.length !== upstream.numLayers || h.dim !== upstream.hiddenSize) {
          throw new Error(`upstream ${upstream.name} returned ${h.layers.length} layers x ${h.dim} dims for ${job.wav}, declared ${upstream.numLayers} x ${upstream.hiddenSize}`);
        }
        const data = stackHiddenStates(h);
        const bad = data.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) opts.onNotice?.(`${job.wav}: upstream ${upstream.name} produced non-finite values (first at index ${bad})`);
        const dir = path.dirname(job.npy);
        if (!madeDirs.has(dir)) {
          fs.mkdirSync(dir, { recursive: true });
          madeDirs.add(dir);
        }
        writeNpy(job.npy, data, [h.layers.length, h.numFrames, h.dim]);
        result.files++;
        if (h.numFrames === 0) result.emptyFiles++;
        result.frames += h.numFrames;
        result.audioSeconds += audios[i].length / SAMPLE_RATE;
        result.outputs.push(job.npy);
        opts.onProgress?.({ done: result.files, total: jobs.length, file: job.wav, out: job.npy, numFrames: h.numFrames });
      }
    }
  } finally {
    if (owned) await upstream.dispose();
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

async function sequential(upstream: Upstream, audios: readonly Float32Array[]): Promise<HiddenStates[]> {
  const out: HiddenStates[] = [];
  for (const a of audios) out.push(await upstream.extractHiddenStates(a));
  return out;
}
