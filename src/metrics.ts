/**
 * Evaluation metrics used by the SUPERB tasks: token error rates (PR/ASR), accuracy (KS/IC/SID/ER)
 * and the speaker-verification metrics EER and minDCF (ASV). All functions are pure.
 *
 * The verification metrics follow s3prl's `s3prl/metric/common.py` (`compute_eer`,
 * `compute_minDCF`), which build the ROC with `sklearn.metrics.roc_curve`; see `equalErrorRate`.
 */

/** Counts of the operations on one minimum-cost alignment of `hyp` against `ref`. */
export interface EditOperations {
  /** Levenshtein distance = substitutions + deletions + insertions. */
  distance: number;
  /** Reference tokens matched by an equal hypothesis token. */
  hits: number;
  substitutions: number;
  /** Reference tokens missing from the hypothesis. */
  deletions: number;
  /** Hypothesis tokens with no reference counterpart. */
  insertions: number;
}

/** Levenshtein distance (unit costs, tokens compared with `===`), in O(min(|ref|, |hyp|)) memory. */
export function editDistance<T>(ref: readonly T[], hyp: readonly T[]): number {
  // The distance is symmetric, so keep the shorter sequence in the DP row.
  const [outer, inner] = ref.length >= hyp.length ? [ref, hyp] : [hyp, ref];
  const m = inner.length;
  if (m === 0) return outer.length;
  let prev = new Uint32Array(m + 1);
  let cur = new Uint32Array(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= outer.length; i++) {
    const a = outer[i - 1];
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const diag = prev[j - 1] + (a === inner[j - 1] ? 0 : 1);
      const up = prev[j] + 1;
      const left = cur[j - 1] + 1;
      cur[j] = diag < up ? (diag < left ? diag : left) : up < left ? up : left;
    }
    [prev, cur] = [cur, prev];
  }
  return prev[m];
}

/**
 * Substitution/deletion/insertion counts of one minimum-cost alignment. Several alignments can
 * have the same cost; ties are broken like a backtrace preferring diagonal (hit/substitution),
 * then deletion, then insertion — the usual sclite-like choice. `distance` is always exact.
 * Memory is O(|hyp|): each DP cell carries the counts of its chosen predecessor, which yields
 * the same alignment as a full-matrix backtrace with the same preference order.
 */
export function editOperations<T>(ref: readonly T[], hyp: readonly T[]): EditOperations {
  const m = hyp.length;
  // Per cell: total cost, substitutions, deletions (insertions = cost - subs - dels).
  let pc = new Uint32Array(m + 1);
  let ps = new Uint32Array(m + 1);
  let pd = new Uint32Array(m + 1);
  let cc = new Uint32Array(m + 1);
  let cs = new Uint32Array(m + 1);
  let cd = new Uint32Array(m + 1);
  for (let j = 0; j <= m; j++) pc[j] = j; // empty ref: all insertions
  for (let i = 1; i <= ref.length; i++) {
    const r = ref[i - 1];
    cc[0] = i;
    cs[0] = 0;
    cd[0] = i; // empty hyp: all deletions
    for (let j = 1; j <= m; j++) {
      const sub = r === hyp[j - 1] ? 0 : 1;
      const diag = pc[j - 1] + sub;
      const del = pc[j] + 1;
      const ins = cc[j - 1] + 1;
      if (diag <= del && diag <= ins) {
        cc[j] = diag;
        cs[j] = ps[j - 1] + sub;
        cd[j] = pd[j - 1];
      } else if (del <= ins) {
        cc[j] = del;
        cs[j] = ps[j];
        cd[j] = pd[j] + 1;
      } else {
        cc[j] = ins;
        cs[j] = cs[j - 1];
        cd[j] = cd[j - 1];
      }
    }
    [pc, cc] = [cc, pc];
    [ps, cs] = [cs, ps];
    [pd, cd] = [cd, pd];
  }
  const distance = pc[m];
  const substitutions = ps[m];
  const deletions = pd[m];
  const insertions = distance - substitutions - deletions;
  return { distance, hits: ref.length - substitutions - deletions, substitutions, deletions, insertions };
}

/**
 * Corpus-level token error rate in percent: 100 * Σ editDistance / Σ |ref|. Like SUPERB/s3prl
 * (`ter`), errors are pooled over the corpus, not averaged per utterance, so long utterances
 * weigh more. Can exceed 100 when the hypotheses contain many insertions.
 */
export function errorRate<T>(refs: readonly (readonly T[])[], hyps: readonly (readonly T[])[]): number {
  if (refs.length !== hyps.length) {
    throw new Error(`errorRate: ${refs.length} references but ${hyps.length} hypotheses`);
  }
  let errors = 0;
  let total = 0;
  for (let i = 0; i < refs.length; i++) {
    errors += editDistance(refs[i], hyps[i]);
    total += refs[i].length;
  }
  if (total === 0) throw new Error("errorRate: total reference length is 0 (rate undefined)");
  return (100 * errors) / total;
}

/** Splits on runs of whitespace; an empty or blank string has no words. */
export function words(text: string): string[] {
  const trimmed = text.trim();
  return trimmed === "" ? [] : trimmed.split(/\s+/);
}

/**
 * Word error rate (%) over the corpus, words separated by any whitespace run. s3prl splits on a
 * single " ", which differs only for empty strings or repeated/leading/trailing spaces.
 */
export function wordErrorRate(refTexts: readonly string[], hypTexts: readonly string[]): number {
  return errorRate(refTexts.map(words), hypTexts.map(words));
}

/**
 * Character error rate (%) over the corpus. Every character counts, spaces included (as s3prl's
 * `cer`, which runs the edit distance on the raw strings); characters are Unicode code points.
 */
export function characterErrorRate(refTexts: readonly string[], hypTexts: readonly string[]): number {
  return errorRate(
    refTexts.map((t) => Array.from(t)),
    hypTexts.map((t) => Array.from(t)),
  );
}

/** Accuracy in percent: from per-item correctness flags, or from a count and a total. */
export function accuracy(correct: readonly boolean[]): number;
export function accuracy(correct: number, total: number): number;
export function accuracy(correct: readonly boolean[] | number, total?: number): number {
  if (typeof correct === "number") {
    if (total === undefined) throw new Error("accuracy: a count needs a total");
    if (!Number.isFinite(total) || total <= 0) throw new Error(`accuracy: total must be > 0, got ${total}`);
    if (!(correct >= 0 && correct <= total)) {
      throw new Error(`accuracy: correct must lie in [0, ${total}], got ${correct}`);
    }
    return (100 * correct) / total;
  }
  if (total !== undefined) throw new Error("accuracy: total is implied by the flag array; do not pass it");
  if (correct.length === 0) throw new Error("accuracy: no items (rate undefined)");
  let n = 0;
  for (const c of correct) if (c) n++;
  return (100 * n) / correct.length;
}

/**
 * ROC points for the rule "accept (say target) iff score >= threshold", one point per distinct
 * score, scores taken in decreasing order, exactly like sklearn's `roc_curve` with
 * drop_intermediate=False. Tied scores are one group: the whole group switches to accepted at
 * once, so ties give a diagonal ROC segment instead of an order-dependent staircase.
 * Point 0 is "reject everything"; its threshold is max(score) + 1 (sklearn < 1.3, the version
 * s3prl was written against; sklearn >= 1.3 uses +inf, which would make interpolation useless).
 */
interface Roc {
  /** Number of ROC points. */
  n: number;
  /** Cumulative accepted non-targets (false accepts) at each point. */
  fa: Float64Array;
  /** Cumulative accepted targets (true accepts) at each point. */
  ta: Float64Array;
  threshold: Float64Array;
  numTargets: number;
  numNonTargets: number;
}

function buildRoc(scores: readonly number[], labels: readonly (0 | 1)[], fn: string): Roc {
  if (scores.length !== labels.length) {
    throw new Error(`${fn}: ${scores.length} scores but ${labels.length} labels`);
  }
  let numTargets = 0;
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new Error(`${fn}: score ${i} is NaN`);
    const l = labels[i];
    if (l !== 0 && l !== 1) throw new Error(`${fn}: label ${i} must be 0 or 1, got ${String(l)}`);
    numTargets += l;
  }
  const numNonTargets = scores.length - numTargets;
  if (numTargets === 0) throw new Error(`${fn}: no target trials (label 1); the metric is undefined`);
  if (numNonTargets === 0) throw new Error(`${fn}: no non-target trials (label 0); the metric is undefined`);

  const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
  const maxN = scores.length + 1;
  const fa = new Float64Array(maxN);
  const ta = new Float64Array(maxN);
  const threshold = new Float64Array(maxN);
  threshold[0] = scores[order[0]] + 1;
  let n = 1;
  let i = 0;
  while (i < order.length) {
    const s = scores[order[i]];
    let f = fa[n - 1];
    let t = ta[n - 1];
    // Take the whole group of equal scores at once.
    while (i < order.length && scores[order[i]] === s) {
      if (labels[order[i]] === 1) t++;
      else f++;
      i++;
    }
    fa[n] = f;
    ta[n] = t;
    threshold[n] = s;
    n++;
  }
  return { n, fa, ta, threshold, numTargets, numNonTargets };
}

/** Linear interpolation written so that an infinite endpoint with t in (0, 1] stays infinite. */
function lerp(a: number, b: number, t: number): number {
  if (t === 0) return a;
  if (t === 1) return b;
  return (1 - t) * a + t * b;
}

/**
 * Equal error rate (percent) of a verification system; a trial is accepted iff
 * score >= threshold, label 1 = target (same speaker), 0 = non-target.
 *
 * Convention (matches s3prl `compute_eer`: `fpr, tpr, thr = roc_curve(labels, scores)`,
 * `eer = brentq(lambda x: 1 - x - interp1d(fpr, tpr)(x), 0, 1)`,
 * `threshold = interp1d(fpr, thr)(eer)`):
 *  - The ROC is the polyline through the points of `buildRoc` (tied scores move together).
 *  - The EER is the FAR (= FPR) at the unique point where this polyline meets the line
 *    FAR = FRR (i.e. TPR = 1 - FPR). brentq on the linear interp1d finds exactly this point:
 *    along the polyline FAR + TPR grows monotonically from 0 to 2, so the crossing is unique.
 *    We find the segment where FAR + TPR passes 1 (compared in exact integer counts) and solve
 *    the linear equation in closed form instead of iterating.
 *  - Without ties every segment is horizontal or vertical, so the EER equals an attainable FAR or
 *    FRR; only a tie group holding both targets and non-targets gives a diagonal segment where
 *    the EER is a true interpolation.
 *  - The threshold is interpolated linearly between the thresholds of the segment's two end
 *    points with the same fraction (s3prl interpolates against FPR, which is the same thing on
 *    non-vertical segments and undefined on vertical ones). If the crossing is exactly an ROC
 *    point, that point's threshold is returned. sklearn's drop_intermediate may remove collinear
 *    points and so shift this interpolated threshold slightly; the EER itself is unaffected.
 * Hence: all scores equal → 50 %; every target above every non-target → 0 % (threshold = lowest
 * target score); every non-target above every target → 100 %.
 */
export function equalErrorRate(
  scores: readonly number[],
  labels: readonly (0 | 1)[],
): { eer: number; threshold: number } {
  const roc = buildRoc(scores, labels, "equalErrorRate");
  const P = roc.numTargets;
  const N = roc.numNonTargets;
  // FAR + TPR >= 1  <=>  fa*P + ta*N >= N*P: integer arithmetic, exact for any realistic count.
  const NP = N * P;
  let k = 1;
  while (roc.fa[k] * P + roc.ta[k] * N < NP) k++; // the last point (1, 1) always satisfies it
  const g0 = roc.fa[k - 1] * P + roc.ta[k - 1] * N;
  const g1 = roc.fa[k] * P + roc.ta[k] * N;
  // Fraction along segment (k-1 -> k); 1 when point k lies exactly on FAR = FRR.
  const t = (NP - g0) / (g1 - g0);
  const far = lerp(roc.fa[k - 1], roc.fa[k], t) / N;
  return { eer: 100 * far, threshold: lerp(roc.threshold[k - 1], roc.threshold[k], t) };
}

export interface MinDcfOptions {
  /** Prior probability of a target trial (NIST SRE / VoxCeleb default 0.01). */
  pTarget?: number;
  cMiss?: number;
  cFa?: number;
}

/**
 * Normalised minimum detection cost, as s3prl `compute_minDCF` / SpeechBrain / NIST SRE:
 * C_det(θ) = cMiss * P_miss(θ) * pTarget + cFa * P_fa(θ) * (1 - pTarget), minimised over the
 * ROC points of `buildRoc` (tied scores move together; "reject all" is included), divided by
 * C_default = min(cMiss * pTarget, cFa * (1 - pTarget)), the cost of the best trivial system.
 * So the result lies in [0, 1]. The threshold is that of the first (highest-threshold) ROC point
 * attaining the minimum, as s3prl's strict `<` scan; "reject all" has threshold max(score) + 1.
 */
export function minDcf(
  scores: readonly number[],
  labels: readonly (0 | 1)[],
  options: MinDcfOptions = {},
): { minDcf: number; threshold: number } {
  const { pTarget = 0.01, cMiss = 1, cFa = 1 } = options;
  if (!(pTarget > 0 && pTarget < 1)) throw new Error(`minDcf: pTarget must lie in (0, 1), got ${pTarget}`);
  if (!(cMiss > 0) || !(cFa > 0)) throw new Error(`minDcf: costs must be > 0, got cMiss=${cMiss} cFa=${cFa}`);
  const roc = buildRoc(scores, labels, "minDcf");
  const P = roc.numTargets;
  const N = roc.numNonTargets;
  let best = Infinity;
  let bestThreshold = roc.threshold[0];
  for (let k = 0; k < roc.n; k++) {
    const pMiss = (P - roc.ta[k]) / P;
    const pFa = roc.fa[k] / N;
    const c = cMiss * pMiss * pTarget + cFa * pFa * (1 - pTarget);
    if (c < best) {
      best = c;
      bestThreshold = roc.threshold[k];
    }
  }
  const cDefault = Math.min(cMiss * pTarget, cFa * (1 - pTarget));
  return { minDcf: best / cDefault, threshold: bestThreshold };
}
