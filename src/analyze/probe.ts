/**
 * Linear probe of each hidden layer: how much of an utterance-level label (the speaker, or the
 * intent) a layer carries linearly once pooled over the utterance. Features are the per-layer mean
 * and standard deviation over frames (x-vector statistics), standardised with the training split;
 * a ridge classifier on one-hot targets (one eigendecomposition for every alpha) is fitted on
 * train, its alpha chosen on dev, and its accuracy reported on test. It needs no training run and
 * no learning rate, so it separates "the information is not in the features" from "the head did
 * not learn it".
 */
import { loadItemAudio } from "../audio-file.js";
import { SPLITS, type DatasetItem, type Split, type TaskData } from "../dataset.js";
import { ensureFeatures, type FeatureStore } from "../feature-cache.js";
import { findTask, createUpstream } from "../registry.js";
import { planTaskData } from "../run-data.js";
import { UserError } from "../errors.js";
import { logspace, ridgeSvdPath } from "../brain/ridge.js";
import { zscoreColumns } from "../brain/stats.js";
import { markdownTable, textTable, type AnalysisFormat } from "./layers.js";

export type ProbeLabel = "speaker" | "intent";
export const PROBE_LABELS: readonly ProbeLabel[] = ["speaker", "intent"];

/** Ridge penalties tried (on standardised features, so the scale is comparable across upstreams). */
export const PROBE_ALPHAS: readonly number[] = logspace(-1, 5, 7);

/** Per layer, concat(mean, std) over frames of one utterance's hidden states [layers x frames x dim]. */
export function poolStatistics(block: Float32Array, numLayers: number, numFrames: number, dim: number): Float64Array[] {
  if (block.length !== numLayers * numFrames * dim) throw new Error(`poolStatistics: ${block.length} values for ${numLayers} x ${numFrames} x ${dim}`);
  const out: Float64Array[] = [];
  for (let l = 0; l < numLayers; l++) {
    const v = new Float64Array(2 * dim);
    const base = l * numFrames * dim;
    for (let t = 0; t < numFrames; t++) for (let d = 0; d < dim; d++) v[d] += block[base + t * dim + d];
    for (let d = 0; d < dim; d++) v[d] /= Math.max(1, numFrames);
    for (let t = 0; t < numFrames; t++) {
      for (let d = 0; d < dim; d++) {
        const c = block[base + t * dim + d] - v[d];
        v[dim + d] += c * c;
      }
    }
    for (let d = 0; d < dim; d++) v[dim + d] = Math.sqrt(v[dim + d] / Math.max(1, numFrames));
    out.push(v);
  }
  return out;
}

export interface ProbeSet {
  /** One feature vector per utterance, all of the same length. */
  x: Float64Array[];
  /** Class index per utterance, in [0, numClasses). */
  y: number[];
}

export interface ProbeFit {
  alpha: number;
  /** Percentages. */
  devAccuracy: number;
  testAccuracy: number;
}

/**
 * Ridge classifier: standardise with train statistics, regress centred one-hot targets, predict
 * the class with the largest score. Alpha is the one with the best dev accuracy (the smaller on ties).
 */
export function ridgeClassifierProbe(train: ProbeSet, dev: ProbeSet, test: ProbeSet, numClasses: number, alphas: readonly number[] = PROBE_ALPHAS): ProbeFit {
  const n = train.x.length;
  if (n === 0 || dev.x.length === 0 || test.x.length === 0) throw new UserError("linear probe: a split has no utterances");
  const p = train.x[0].length;
  const flat = (set: ProbeSet) => {
    const m = new Float64Array(set.x.length * p);
    set.x.forEach((v, i) => m.set(v, i * p));
    return m;
  };
  // Train statistics standardise every split; constant dimensions become zeros.
  const trainZ = zscoreColumns(flat(train), n, p);
  const design = (set: ProbeSet) => (set === train ? trainZ.z : zscoreColumns(flat(set), set.x.length, p, trainZ).z);
  const prior = new Float64Array(numClasses);
  for (const c of train.y) prior[c] += 1 / n;
  const targets = new Float64Array(n * numClasses);
  train.y.forEach((c, i) => {
    for (let k = 0; k < numClasses; k++) targets[i * numClasses + k] = (k === c ? 1 : 0) - prior[k];
  });
  const path = ridgeSvdPath(design(train), n, p, targets, numClasses, alphas);
  const accuracyOf = (set: ProbeSet, xs: Float64Array, a: number) => {
    const scores = path.predict(xs, set.x.length, a);
    let right = 0;
    set.y.forEach((c, i) => {
      let best = 0;
      for (let k = 1; k < numClasses; k++) if (scores[i * numClasses + k] + prior[k] > scores[i * numClasses + best] + prior[best]) best = k;
      if (best === c) right += 1;
    });
    return (100 * right) / set.x.length;
  };
  const devX = design(dev);
  const testX = design(test);
  let bestIndex = 0;
  let bestDev = -1;
  alphas.forEach((_, a) => {
    const acc = accuracyOf(dev, devX, a);
    if (acc > bestDev) [bestDev, bestIndex] = [acc, a];
  });
  return { alpha: alphas[bestIndex], devAccuracy: bestDev, testAccuracy: accuracyOf(test, testX, bestIndex) };
}

export interface LayerProbeResult extends ProbeFit {
  layer: number;
}

export interface ProbeAnalysis {
  upstream: string;
  upstreamIdentity: string;
  dataset: { kind: string; name: string; hash: string };
  label: ProbeLabel;
  numClasses: number;
  utterances: Record<Split, number>;
  layers: LayerProbeResult[];
}

export interface ProbeOptions {
  upstream: string;
  label: ProbeLabel;
  profile: string;
  corpusSeed: number;
  cacheDir: string;
  /** `--data KIND=DIR` (a dataset SID or IC reads); default the embedded corpus. */
  data?: readonly string[];
  progress?: boolean;
}

/** The probe's splits and class of each utterance: SID's seen speakers, or IC's full intents. */
function labelledSplits(data: TaskData, label: ProbeLabel): { splits: Record<Split, DatasetItem[]>; classOf: (u: DatasetItem) => number; numClasses: number } {
  const splits = data.splits;
  const keyOf = (u: DatasetItem) => (label === "speaker" ? u.speaker : `${u.intent?.action}|${u.intent?.object}|${u.intent?.location}`);
  const classes = [...new Set(splits.train.map(keyOf))].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  // Dev/test utterances of a class never seen in training cannot be right; they are left out.
  const known = (us: DatasetItem[]) => us.filter((u) => index.has(keyOf(u)));
  return { splits: { train: splits.train, dev: known(splits.dev), test: known(splits.test) }, classOf: (u) => index.get(keyOf(u))!, numClasses: classes.length };
}

export async function probeUpstreamLayers(opts: ProbeOptions): Promise<ProbeAnalysis> {
  const upstream = await createUpstream(opts.upstream);
  try {
    const task = await findTask(opts.label === "speaker" ? "sid" : "ic");
    const [plan] = await planTaskData([task], { data: opts.data, profile: opts.profile, corpusSeed: opts.corpusSeed, cacheDir: opts.cacheDir, progress: opts.progress });
    const { splits, classOf, numClasses } = labelledSplits(plan.data, opts.label);
    const stores = {} as Record<Split, FeatureStore>;
    for (const split of SPLITS) {
      // Frames, not means: the probe pools the standard deviation too. The store is shared with tasks that read frames.
      const r = await ensureFeatures({ upstream, items: plan.data.splits[split], dataset: plan.dataset.fingerprint, cacheDir: opts.cacheDir, loadAudio: (item) => loadItemAudio(item), progress: opts.progress, label: split });
      stores[split] = r.store;
    }
    try {
      const numLayers = stores.train.numLayers;
      const dim = stores.train.dim;
      // pooled[split][layer] = ProbeSet
      const pooled = {} as Record<Split, ProbeSet[]>;
      for (const split of ["train", "dev", "test"] as const) {
        const sets: ProbeSet[] = Array.from({ length: numLayers }, () => ({ x: [], y: [] }));
        for (const u of splits[split]) {
          const store = stores[split];
          const stats = poolStatistics(store.readSync(u.id), numLayers, store.numFrames(u.id), dim);
          stats.forEach((v, l) => {
            sets[l].x.push(v);
            sets[l].y.push(classOf(u));
          });
        }
        pooled[split] = sets;
      }
      const layers = Array.from({ length: numLayers }, (_, l) => ({ layer: l, ...ridgeClassifierProbe(pooled.train[l], pooled.dev[l], pooled.test[l], numClasses) }));
      return {
        upstream: opts.upstream,
        upstreamIdentity: upstream.identity,
        dataset: plan.dataset.fingerprint,
        label: opts.label,
        numClasses,
        utterances: { train: splits.train.length, dev: splits.dev.length, test: splits.test.length },
        layers,
      };
    } finally {
      for (const store of Object.values(stores)) store.close();
    }
  } finally {
    await upstream.dispose();
  }
}

export function formatProbeAnalysis(x: ProbeAnalysis, format: AnalysisFormat): string {
  if (format === "json") return JSON.stringify(x, null, 2);
  const head = ["layer", "test accuracy %", "dev accuracy %", "alpha"];
  const rows = x.layers.map((r) => [String(r.layer), r.testAccuracy.toFixed(1), r.devAccuracy.toFixed(1), String(r.alpha)]);
  const table = (format === "markdown" ? markdownTable : textTable)(head, rows);
  const u = x.utterances;
  return `${table}\n\n${x.upstream} (${x.upstreamIdentity}), ${x.label} probe on ${x.dataset.kind} ${x.dataset.name}: ${x.numClasses} classes, ${u.train} train / ${u.dev} dev / ${u.test} test utterances; ridge on per-layer mean + std, chance ${(100 / x.numClasses).toFixed(1)} %.`;
}
