/**
 * Connectionist Temporal Classification (Graves et al., 2006) for one utterance: loss and its
 * gradient with respect to the unnormalised logits, plus greedy (best-path) decoding.
 * Everything runs in log space in Float64 so long utterances neither underflow nor lose precision.
 */

export interface CtcResult {
  /** -log p(labels | x) in nats; Infinity when infeasible. */
  loss: number;
  /** d loss / d logits, row-major [T x V]; all zeros when infeasible. */
  gradient: Float32Array;
  /** False when no alignment has non-zero probability (then loss = Infinity, gradient = 0). */
  feasible: boolean;
}

/** log(exp(a) + exp(b)) without overflow; exact for -Infinity operands. */
function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/**
 * log(exp(a) + exp(b) + exp(c)) shifted by the largest term (so nothing overflows and a term
 * that underflows is negligible next to it). One log instead of two for the 3-way recursion.
 */
function logSum3(a: number, b: number, c: number): number {
  if (c === -Infinity) return logAdd(a, b);
  if (b === -Infinity) return logAdd(a, c);
  if (a === -Infinity) return logAdd(b, c);
  if (a >= b && a >= c) return a + Math.log1p(Math.exp(b - a) + Math.exp(c - a));
  if (b >= c) return b + Math.log1p(Math.exp(a - b) + Math.exp(c - b));
  return c + Math.log1p(Math.exp(a - c) + Math.exp(b - c));
}

function checkShape(fn: string, logits: Float32Array, numFrames: number, numClasses: number, blank: number): void {
  if (!Number.isInteger(numFrames) || numFrames < 0) throw new Error(`${fn}: numFrames must be an integer >= 0, got ${numFrames}`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`${fn}: numClasses must be an integer >= 1, got ${numClasses}`);
  if (logits.length !== numFrames * numClasses) {
    throw new Error(`${fn}: logits has ${logits.length} values, expected ${numFrames} x ${numClasses}`);
  }
  if (!Number.isInteger(blank) || blank < 0 || blank >= numClasses) {
    throw new Error(`${fn}: blank ${blank} is not a class index in [0, ${numClasses})`);
  }
}

/**
 * Minimum number of frames that can emit `labels`: one per label plus one separating blank
 * between each pair of equal consecutive labels (otherwise they would collapse into one).
 */
export function ctcMinFrames(labels: readonly number[]): number {
  let n = labels.length;
  for (let i = 1; i < labels.length; i++) if (labels[i] === labels[i - 1]) n++;
  return n;
}

/**
 * CTC loss -log p(labels | logits) and its gradient with respect to the logits.
 *
 * logits: row-major [numFrames x numClasses], unnormalised (log-softmax is applied here).
 * Forward-backward over the blank-extended label sequence l' = (b, l1, b, l2, ..., lL, b):
 * alpha_t(s) and beta_t(s) both include the emission at frame t (Graves' convention), so the
 * probability mass of all paths through (t, s) is alpha_t(s) * beta_t(s) / y_t(l'_s) and
 *   d loss / d u_tk = y_tk - (1 / p) * Σ_{s : l'_s = k} alpha_t(s) beta_t(s) / y_tk,
 * the softmax-folded closed form (Graves 2006, eq. 16).
 * Infeasible inputs (numFrames < ctcMinFrames(labels), or zero probability because of -Infinity
 * logits) give loss = Infinity, a zero gradient and feasible = false, like PyTorch's
 * `ctc_loss(..., zero_infinity=True)`. NaN or +Infinity logits throw.
 */
export function ctcLossAndGradient(
  logits: Float32Array,
  numFrames: number,
  numClasses: number,
  labels: readonly number[],
  blank = 0,
): CtcResult {
  checkShape("ctcLossAndGradient", logits, numFrames, numClasses, blank);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= numClasses || l === blank) {
      throw new Error(`ctcLossAndGradient: label ${i} = ${l} is not a non-blank class in [0, ${numClasses})`);
    }
  }
  const T = numFrames;
  const V = numClasses;
  const gradient = new Float32Array(T * V);
  const infeasible: CtcResult = { loss: Infinity, gradient, feasible: false };
  if (T < ctcMinFrames(labels)) return infeasible;
  if (T === 0) return { loss: 0, gradient, feasible: true }; // empty labels on empty input: p = 1

  // Softmax and log-softmax per frame, in Float64.
  const logProbs = new Float64Array(T * V);
  const probs = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    const row = t * V;
    let max = -Infinity;
    for (let k = 0; k < V; k++) {
      const u = logits[row + k];
      if (Number.isNaN(u) || u === Infinity) throw new Error(`ctcLossAndGradient: logit [${t}, ${k}] is ${u}`);
      if (u > max) max = u;
    }
    if (max === -Infinity) return infeasible; // every class impossible in this frame
    let sum = 0;
    for (let k = 0; k < V; k++) {
      const e = Math.exp(logits[row + k] - max);
      probs[row + k] = e;
      sum += e;
    }
    const logZ = max + Math.log(sum);
    for (let k = 0; k < V; k++) {
      logProbs[row + k] = logits[row + k] - logZ;
      probs[row + k] /= sum;
    }
  }

  // Extended sequence and, per position, whether the skip transition s-2 -> s is allowed
  // (only into a non-blank that differs from the previous label).
  const S = 2 * labels.length + 1;
  const ext = new Int32Array(S);
  const canSkip = new Uint8Array(S);
  for (let s = 0; s < S; s++) {
    ext[s] = s % 2 === 0 ? blank : labels[(s - 1) / 2];
    canSkip[s] = s >= 2 && s % 2 === 1 && ext[s] !== ext[s - 2] ? 1 : 0;
  }

  const alpha = new Float64Array(T * S).fill(-Infinity);
  const beta = new Float64Array(T * S).fill(-Infinity);

  alpha[0] = logProbs[blank];
  if (S > 1) alpha[1] = logProbs[ext[1]];
  for (let t = 1; t < T; t++) {
    const cur = t * S;
    const prev = cur - S;
    const lp = t * V;
    // Positions s < S - 2(T - t) cannot still reach the end; skipping them is only a speed-up.
    const sStart = Math.max(0, S - 2 * (T - t));
    const sEnd = Math.min(S, 2 * (t + 1)); // positions reachable from the start by frame t
    for (let s = sStart; s < sEnd; s++) {
      const a = logSum3(alpha[prev + s], s >= 1 ? alpha[prev + s - 1] : -Infinity, canSkip[s] === 1 ? alpha[prev + s - 2] : -Infinity);
      alpha[cur + s] = a === -Infinity ? -Infinity : a + logProbs[lp + ext[s]];
    }
  }
  const lastA = (T - 1) * S;
  const logP = S > 1 ? logAdd(alpha[lastA + S - 1], alpha[lastA + S - 2]) : alpha[lastA];
  if (logP === -Infinity) return infeasible;

  beta[lastA + S - 1] = logProbs[(T - 1) * V + blank];
  if (S > 1) beta[lastA + S - 2] = logProbs[(T - 1) * V + ext[S - 2]];
  for (let t = T - 2; t >= 0; t--) {
    const cur = t * S;
    const next = cur + S;
    const lp = t * V;
    const sEnd = Math.min(S, 2 * (t + 1));
    const sStart = Math.max(0, S - 2 * (T - t));
    for (let s = sStart; s < sEnd; s++) {
      const b = logSum3(
        beta[next + s],
        s + 1 < S ? beta[next + s + 1] : -Infinity,
        s + 2 < S && canSkip[s + 2] === 1 ? beta[next + s + 2] : -Infinity,
      );
      beta[cur + s] = b === -Infinity ? -Infinity : b + logProbs[lp + ext[s]];
    }
  }

  // Gradient: softmax minus the posterior occupancy of each class at each frame. Each term
  // exp(alpha + beta - log y - log p) is the posterior mass of the paths through (t, s), in
  // [0, 1], so it is summed in the linear domain: one exp per cell instead of a logAdd.
  const occ = new Float64Array(V); // per-frame posterior per class, reused
  for (let t = 0; t < T; t++) {
    occ.fill(0);
    const cur = t * S;
    const lp = t * V;
    for (let s = 0; s < S; s++) {
      const a = alpha[cur + s];
      const b = beta[cur + s];
      // -Infinity covers the cells no complete path visits (and every class with y = 0).
      if (a === -Infinity || b === -Infinity) continue;
      const k = ext[s];
      occ[k] += Math.exp(a + b - logProbs[lp + k] - logP);
    }
    for (let k = 0; k < V; k++) gradient[lp + k] = probs[lp + k] - occ[k];
  }
  return { loss: -logP, gradient, feasible: true };
}

/**
 * Best-path decoding: argmax class per frame (first index on ties), merge consecutive repeats,
 * then drop blanks. Works on logits or log-probabilities alike, as log-softmax keeps the argmax.
 */
export function ctcGreedyDecode(scores: Float32Array, numFrames: number, numClasses: number, blank = 0): number[] {
  checkShape("ctcGreedyDecode", scores, numFrames, numClasses, blank);
  const out: number[] = [];
  let prev = -1;
  for (let t = 0; t < numFrames; t++) {
    const row = t * numClasses;
    let best = 0;
    let bestScore = scores[row];
    for (let k = 1; k < numClasses; k++) {
      if (scores[row + k] > bestScore) {
        bestScore = scores[row + k];
        best = k;
      }
    }
    if (best !== prev && best !== blank) out.push(best);
    prev = best;
  }
  return out;
}
