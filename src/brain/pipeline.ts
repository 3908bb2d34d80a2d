/**
 * `superb brain-score` as a library call: an upstream's hidden states of each run's stimulus
 * (extracted once per upstream identity and data set, cached as .npy), per-layer regressors on the
 * TR grid, and the cross-validated ridge brain score of every layer.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultCacheDir } from "../corpus/generate.js";
import { UserError } from "../errors.js";
import { readNpy, writeNpy } from "../npy.js";
import { packageVersion } from "../package-info.js";
import { startProgress } from "../progress.js";
import { createUpstream, findUpstream } from "../registry.js";
import { SAMPLE_RATE } from "../upstream.js";
import { loadBrainDataset } from "./dataset.js";
import { extractLongHiddenStates, layerRegressors, type LongHiddenStates, type Regressors } from "./features.js";
import type { HrfModel } from "./hrf.js";
import { brainScoreFromRegressors, type BrainControl, type BrainScoreResult } from "./score.js";
import type { BrainDataset } from "./types.js";
import { writeBrainScoreJson, writeBrainScoreSvg } from "./score-report.js";

export interface BrainScoreRunOptions {
  upstream: string;
  /** A data-set argument for loadBrainDataset ("alice", a brain.json, a folder), or a loaded set. */
  brain: string | BrainDataset;
  cacheDir?: string;
  hemodynamic?: "hrf" | "fir";
  firDelays?: number[];
  hrfModel?: HrfModel;
  folds?: number;
  innerFolds?: number;
  control?: BrainControl;
  seed?: number;
  progress?: boolean;
  onNotice?: (msg: string) => void;
}

export interface BrainScoreReport extends BrainScoreResult {
  upstream: string;
  upstreamIdentity: string;
  dataset: { name: string; hash: string; runs: number; subjects: number; skipped: BrainDataset["skipped"] };
  hemodynamic: "hrf" | "fir";
  timings: { loadSeconds: number; extractSeconds: number; scoreSeconds: number };
  version: string;
  createdAt: string;
}

/** Hidden states of a run's stimulus, cached under <cacheDir>/brain-features/<identity>/<dataset hash>-<run>.npy. */
async function runHiddenStates(upstreamSpec: string, ds: BrainDataset, cacheDir: string, progress: boolean | undefined): Promise<{ identity: string; states: LongHiddenStates[]; extractSeconds: number }> {
  const upstream = await createUpstream(upstreamSpec);
  const t0 = performance.now();
  try {
    const states: LongHiddenStates[] = [];
    for (const run of ds.runs) {
      if (run.stimulus.length === 0) throw new UserError(`brain data set ${ds.name}: run ${run.id} has no stimulus audio`);
      const file = path.join(cacheDir, "brain-features", upstream.identity, `${ds.hash}-${run.id}.npy`);
      if (fs.existsSync(file)) {
        const a = readNpy(file);
        const [L, T, D] = a.shape;
        if (a.shape.length === 3 && L === upstream.numLayers && D === upstream.hiddenSize) {
          states.push({ layers: Array.from({ length: L }, (_, l) => a.data.slice(l * T * D, (l + 1) * T * D)), numFrames: T, dim: D, frameRate: upstream.frameRate });
          continue;
        }
      }
      const total = run.stimulus.length / SAMPLE_RATE;
      const bar = startProgress({ label: `hidden states of ${run.id}`, total: Math.ceil(total), unit: "s of audio", enabled: progress });
      let shown = 0;
      const h = await extractLongHiddenStates(upstream, run.stimulus, {
        onProgress: (done) => {
          const d = Math.floor(done);
          if (d > shown) bar.increment(d - shown);
          shown = d;
        },
      });
      bar.stop();
      const flat = new Float32Array(h.layers.length * h.numFrames * h.dim);
      h.layers.forEach((l, i) => flat.set(l, i * h.numFrames * h.dim));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeNpy(file, flat, [h.layers.length, h.numFrames, h.dim]);
      states.push(h);
    }
    return { identity: upstream.identity, states, extractSeconds: (performance.now() - t0) / 1000 };
  } finally {
    await upstream.dispose();
  }
}

/**
 * Brain score of every layer of an upstream. Several runs are stacked along time (each run's
 * regressors built on its own TR grid), so the contiguous folds cut across run boundaries only
 * where a run ends.
 */
export async function runBrainScore(opts: BrainScoreRunOptions): Promise<BrainScoreReport> {
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  // An unknown upstream name fails before any data is loaded or synthesised.
  await findUpstream(opts.upstream);
  const t0 = performance.now();
  const ds = typeof opts.brain === "string" ? await loadBrainDataset(opts.brain, { cacheDir, onNotice: opts.onNotice, progress: opts.progress }) : opts.brain;
  const loadSeconds = (performance.now() - t0) / 1000;
  const subjectIds = ds.runs[0]?.subjects.map((s) => s.id) ?? [];
  for (const run of ds.runs) {
    const ids = run.subjects.map((s) => s.id);
    if (ids.join(",") !== subjectIds.join(",")) {
      throw new UserError(`brain data set ${ds.name}: run ${run.id} has subjects ${ids.join(" ")} but run ${ds.runs[0].id} has ${subjectIds.join(" ")}; brain-score needs the same subjects in every run`);
    }
  }
  const { identity, states, extractSeconds } = await runHiddenStates(opts.upstream, ds, cacheDir, opts.progress);
  const hemodynamic = opts.hemodynamic ?? "fir";
  const t1 = performance.now();
  const numLayers = states[0].layers.length;
  const layers: Regressors[] = [];
  const V = ds.targetNames.length;
  for (let l = 0; l < numLayers; l++) {
    const parts = ds.runs.map((run, ri) => {
      const rows = run.subjects[0].rows;
      const times = Float64Array.from({ length: rows }, (_, k) => run.firstRowTime + k * run.tr);
      const h = states[ri];
      return layerRegressors(h.layers[l], h.numFrames, h.dim, h.frameRate, times, { hemodynamic, firDelays: opts.firDelays, hrfModel: opts.hrfModel });
    });
    layers.push(stackRows(parts));
  }
  const subjects = subjectIds.map((id, si) => {
    const blocks = ds.runs.map((run) => ({ x: Float64Array.from(run.subjects[si].bold), rows: run.subjects[si].rows, cols: V }));
    const s = stackRows(blocks);
    return { id, bold: s.x, rows: s.rows };
  });
  const rowTimes = Float64Array.from(ds.runs.flatMap((run) => Array.from({ length: run.subjects[0].rows }, (_, k) => run.firstRowTime + k * run.tr)));
  const bar = startProgress({ label: "brain score", total: numLayers * (opts.folds ?? 5), unit: "fits", enabled: opts.progress });
  let done = 0;
  const result = brainScoreFromRegressors(layers, { subjects, targetNames: ds.targetNames, rowTimes }, {
    folds: opts.folds,
    innerFolds: opts.innerFolds,
    hemodynamic,
    control: opts.control,
    seed: opts.seed,
    onProgress: (d) => {
      if (d > done) bar.increment(d - done);
      done = d;
    },
  });
  bar.stop();
  return {
    upstream: opts.upstream,
    upstreamIdentity: identity,
    dataset: { name: ds.name, hash: ds.hash, runs: ds.runs.length, subjects: subjectIds.length, skipped: ds.skipped },
    hemodynamic,
    ...result,
    timings: { loadSeconds, extractSeconds, scoreSeconds: (performance.now() - t1) / 1000 },
    version: packageVersion(),
    createdAt: new Date().toISOString(),
  };
}

function stackRows(parts: Regressors[]): Regressors {
  if (parts.length === 1) return parts[0];
  const cols = parts[0].cols;
  const rows = parts.reduce((a, p) => a + p.rows, 0);
  const x = new Float64Array(rows * cols);
  let at = 0;
  for (const p of parts) {
    x.set(p.x, at);
    at += p.x.length;
  }
  return { x, rows, cols };
}

/** Writes <outDir>/brain-score.json (the result and its context) and brain-score.svg atomically; returns their paths. */
export function writeBrainScoreReport(outDir: string, report: BrainScoreReport): string[] {
  const json = path.join(outDir, "brain-score.json");
  const svg = path.join(outDir, "brain-score.svg");
  const { upstream, upstreamIdentity, dataset, hemodynamic, timings, version, createdAt, ...result } = report;
  writeBrainScoreJson(json, result, {
    upstream, upstreamIdentity, dataset: dataset.name, datasetHash: dataset.hash, runs: dataset.runs, subjects: dataset.subjects,
    skipped: dataset.skipped.map((x) => `${x.subject}: ${x.reason}`).join("; ") || null, hemodynamic,
    loadSeconds: timings.loadSeconds, extractSeconds: timings.extractSeconds, scoreSeconds: timings.scoreSeconds, version, createdAt,
  });
  writeBrainScoreSvg(svg, result, `Brain score of ${upstream} on ${dataset.name} (${hemodynamic.toUpperCase()}, held-out TRs)`);
  return [json, svg];
}
