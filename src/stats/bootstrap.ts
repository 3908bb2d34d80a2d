/**
 * Paired bootstrap for "is system B different from system A on the same test items?". Each
 * resample draws items (or whole groups of items) with replacement and evaluates the difference
 * B - A on that resample; both systems always see the same drawn items, which is what makes the
 * comparison paired and cancels the item-difficulty variance shared by A and B.
 */
import { accuracy, editDistance, equalErrorRate, minDcf, type MinDcfOptions } from "../metrics.js";
import { Rng } from "../random.js";

/** Computes B - A on the items listed in `indices` (repeats allowed; a resample). */
export type PairedStatistic = (indices: Int32Array) => number;

export interface PairedBootstrapOptions {
  numItems: number;
  statistic: PairedStatistic;
  /** Number of bootstrap resamples R (e.g. 10 000). */
  resamples: number;
  seed: number;
  /**
   * Optional item -> group id (cluster/block bootstrap): whole groups are drawn with replacement,
   * e.g. ASV trials grouped by speaker, so within-group correlation widens the interval as it should.
   */
  groups?: readonly (number | string)[];
  /** Central coverage of the percentile interval; default 0.95. */
  level?: number;
  /** Return the R resampled differences (in draw order). */
  keepSamples?: boolean;
}

export interface PairedBootstrapResult {
  /** The statistic on the full, unresampled item set. */
  difference: number;
  /** Percentile interval [q((1-level)/2), q((1+level)/2)] of the resampled differences (linear interpolation, numpy's default). */
  ci: [number, number];
  /**
   * Two-sided p for H0 "difference = 0": p = min(1, 2 · min((#{d* ≤ 0} + 1)/(R + 1), (#{d* ≥ 0} + 1)/(R + 1))).
   * The +1 counts the null itself as one draw, so p is never 0 (smallest value 2/(R + 1)) and a
   * distribution piled exactly on 0 gives p = 1.
   */
  pValue: number;
  resamples: number;
  level: number;
  samples?: Float64Array;
}

/** Groups in first-appearance order, each a list of its items. */
function groupItems(groups: readonly (number | string)[]): Int32Array[] {
  const byId = new Map<number | string, number[]>();
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    let list = byId.get(g);
    if (list === undefined) byId.set(g, (list = []));
    list.push(i);
  }
  return Array.from(byId.values(), (l) => Int32Array.from(l));
}

/** Type-7 (linear interpolation) quantile of an ascending-sorted array. */
function quantileSorted(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  // Equal neighbours return exactly that value (no rounding from the interpolation).
  return sorted[lo] === sorted[hi] ? sorted[lo] : sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function checkBootstrapOptions(o: PairedBootstrapOptions): void {
  if (!Number.isInteger(o.numItems) || o.numItems < 1) throw new Error(`pairedBootstrap: numItems must be a positive integer, got ${o.numItems}`);
  if (!Number.isInteger(o.resamples) || o.resamples < 1) throw new Error(`pairedBootstrap: resamples must be a positive integer, got ${o.resamples}`);
  const level = o.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new Error(`pairedBootstrap: level must lie in (0, 1), got ${level}`);
  if (o.groups !== undefined && o.groups.length !== o.numItems) {
    throw new Error(`pairedBootstrap: ${o.groups.length} group ids for ${o.numItems} items`);
  }
}

/**
 * Paired (optionally cluster) percentile bootstrap; deterministic given `seed` (mulberry32 from
 * src/random.ts). Plain resampling draws numItems items; grouped resampling draws as many groups
 * as there are, so resample sizes vary. With one group per item, in item order, both modes draw
 * the same indices from the same seed. The statistic must return a finite number on every resample.
 */
export function pairedBootstrap(options: PairedBootstrapOptions): PairedBootstrapResult {
  checkBootstrapOptions(options);
  const { numItems, statistic, resamples, seed, keepSamples = false } = options;
  const level = options.level ?? 0.95;
  const all = new Int32Array(numItems);
  for (let i = 0; i < numItems; i++) all[i] = i;
  const difference = statistic(all);

  const rng = new Rng(seed);
  const clusters = options.groups === undefined ? undefined : groupItems(options.groups);
  let buf = new Int32Array(numItems);
  const samples = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let len = 0;
    if (clusters === undefined) {
      for (let i = 0; i < numItems; i++) buf[i] = rng.int(0, numItems - 1);
      len = numItems;
    } else {
      for (let g = 0; g < clusters.length; g++) {
        const c = clusters[rng.int(0, clusters.length - 1)];
        if (len + c.length > buf.length) {
          const grown = new Int32Array(Math.max(buf.length * 2, len + c.length));
          grown.set(buf.subarray(0, len));
          buf = grown;
        }
        buf.set(c, len);
        len += c.length;
      }
    }
    const d = statistic(len === buf.length ? buf : buf.subarray(0, len));
    if (!Number.isFinite(d)) throw new Error(`pairedBootstrap: statistic returned ${d} on resample ${r}`);
    samples[r] = d;
  }

  let le = 0;
  let ge = 0;
  for (const d of samples) {
    if (d <= 0) le++;
    if (d >= 0) ge++;
  }
  const pValue = Math.min(1, (2 * Math.min(le + 1, ge + 1)) / (resamples + 1));
  const sorted = Float64Array.from(samples).sort();
  const ci: [number, number] = [quantileSorted(sorted, (1 - level) / 2), quantileSorted(sorted, (1 + level) / 2)];
  return { difference, ci, pValue, resamples, level, ...(keepSamples ? { samples } : {}) };
}

function checkSameLength(fn: string, arrays: readonly { readonly length: number }[]): number {
  const n = arrays[0].length;
  for (const a of arrays) if (a.length !== n) throw new Error(`${fn}: arrays differ in length (${arrays.map((x) => x.length).join(", ")})`);
  if (n === 0) throw new Error(`${fn}: no items`);
  return n;
}

/**
 * Accuracy difference B - A in percentage points (metrics.ts `accuracy`, from counts) on a resample,
 * given per-item correctness flags.
 */
export function accuracyDifference(correctA: readonly boolean[], correctB: readonly boolean[]): PairedStatistic {
  checkSameLength("accuracyDifference", [correctA, correctB]);
  const a = Uint8Array.from(correctA, Number);
  const b = Uint8Array.from(correctB, Number);
  return (idx) => {
    let ca = 0;
    let cb = 0;
    for (let k = 0; k < idx.length; k++) {
      ca += a[idx[k]];
      cb += b[idx[k]];
    }
    return accuracy(cb, idx.length) - accuracy(ca, idx.length);
  };
}

/** Per-item token errors (Levenshtein distance, metrics.ts `editDistance`) and reference lengths. */
export function editErrorCounts<T>(
  refs: readonly (readonly T[])[],
  hyps: readonly (readonly T[])[],
): { errors: Float64Array; lengths: Float64Array } {
  if (refs.length !== hyps.length) throw new Error(`editErrorCounts: ${refs.length} references but ${hyps.length} hypotheses`);
  const errors = new Float64Array(refs.length);
  const lengths = new Float64Array(refs.length);
  for (let i = 0; i < refs.length; i++) {
    errors[i] = editDistance(refs[i], hyps[i]);
    lengths[i] = refs[i].length;
  }
  return { errors, lengths };
}

export interface ErrorRateItems {
  /** Per-item error count of system A (e.g. `editErrorCounts(refs, hypsA).errors`). */
  errorsA: ArrayLike<number>;
  errorsB: ArrayLike<number>;
  /** Per-item reference length (shared: both systems transcribe the same references). */
  lengths: ArrayLike<number>;
}

/**
 * Corpus error-rate difference B - A in percentage points, pooled like metrics.ts `errorRate`
 * (100 · Σ errors / Σ lengths over the resample; pooling, not per-utterance averaging). Counts are
 * taken precomputed because re-aligning every utterance on every resample would dominate the cost.
 */
export function errorRateDifference(items: ErrorRateItems): PairedStatistic {
  checkSameLength("errorRateDifference", [items.errorsA, items.errorsB, items.lengths]);
  const ea = Float64Array.from(items.errorsA);
  const eb = Float64Array.from(items.errorsB);
  const len = Float64Array.from(items.lengths);
  return (idx) => {
    let sa = 0;
    let sb = 0;
    let sl = 0;
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k];
      sa += ea[i];
      sb += eb[i];
      sl += len[i];
    }
    if (sl === 0) throw new Error("errorRateDifference: resample has total reference length 0 (rate undefined)");
    return (100 * (sb - sa)) / sl;
  };
}

export interface VerificationTrials {
  scoresA: readonly number[];
  scoresB: readonly number[];
  /** 1 = target (same speaker), 0 = non-target; shared by both systems. */
  labels: readonly (0 | 1)[];
}

/** Gathers the resampled trials' scores and labels into fresh arrays for the metrics.ts functions. */
function gather(idx: Int32Array, t: VerificationTrials): { a: number[]; b: number[]; l: (0 | 1)[] } {
  const a = new Array<number>(idx.length);
  const b = new Array<number>(idx.length);
  const l = new Array<0 | 1>(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    a[k] = t.scoresA[i];
    b[k] = t.scoresB[i];
    l[k] = t.labels[i];
  }
  return { a, b, l };
}

/**
 * EER difference B - A in percentage points (metrics.ts `equalErrorRate`) on resampled trials.
 * Throws (from metrics.ts) if a resample holds no target or no non-target trial.
 */
export function eerDifference(trials: VerificationTrials): PairedStatistic {
  checkSameLength("eerDifference", [trials.scoresA, trials.scoresB, trials.labels]);
  return (idx) => {
    const { a, b, l } = gather(idx, trials);
    return equalErrorRate(b, l).eer - equalErrorRate(a, l).eer;
  };
}

/** Normalised minDCF difference B - A (metrics.ts `minDcf`, same options for both) on resampled trials. */
export function minDcfDifference(trials: VerificationTrials, options: MinDcfOptions = {}): PairedStatistic {
  checkSameLength("minDcfDifference", [trials.scoresA, trials.scoresB, trials.labels]);
  return (idx) => {
    const { a, b, l } = gather(idx, trials);
    return minDcf(b, l, options).minDcf - minDcf(a, l, options).minDcf;
  };
}
