/**
 * Ridge regression for brain encoding: one decomposition serves every alpha of a log grid, and
 * one alpha is chosen per target (voxel/ROI) by contiguous inner K-fold cross-validation.
 *
 * Two solvers:
 * - ridgeSvdPath: the textbook path W_a = V diag(s/(s^2+a)) U^T Y from one eigendecomposition of
 *   the smaller Gram matrix (X^T X when n >= p, X X^T when n < p), via ml-matrix.
 * - kernelRidgeCv / ridgeCv: the kernel (dual) form, which is what fMRI needs (few hundred TRs,
 *   thousands of features): K = X X^T once, inner folds use sub-blocks of K, and the shifted
 *   systems (K + aI) are solved through one Householder tridiagonalisation K = Q T Q^T per fold,
 *   so each alpha costs an O(n) tridiagonal solve per target instead of a factorisation; no
 *   eigenvectors are ever formed. The result equals (X^T X + aI)^-1 X^T Y exactly (alpha > 0).
 *
 * Intercepts are handled by centring: features are centred on the training rows (in the kernel:
 * double centring with training-row means) and targets by their training mean, which is added
 * back to predictions, so the intercept is not penalised (as sklearn / himalaya do).
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { UserError } from "../errors.js";

/** count values 10^start .. 10^stop, evenly spaced in log10 (numpy.logspace). */
export function logspace(start: number, stop: number, count: number): number[] {
  if (count === 1) return [10 ** start];
  return Array.from({ length: count }, (_, i) => 10 ** (start + ((stop - start) * i) / (count - 1)));
}

/**
 * Default alpha grid: one value per decade from 10^-1 to 10^8 (10 values). With standardised
 * features the Gram matrix's trace is rows x features, so the useful range for a few hundred TRs
 * and 200-3000 features (x4 with FIR) sits around 10^2..10^6; the ends leave room on both sides.
 * Each alpha costs a [test x train] x [train x targets] product per inner fold, hence decades.
 */
export const DEFAULT_ALPHAS: readonly number[] = logspace(-1, 8, 10);

export interface Fold {
  train: number[];
  test: number[];
}

/** k contiguous, unshuffled folds of 0..n-1 (fold sizes differ by at most one, like sklearn's KFold). */
export function contiguousFolds(n: number, k: number): Fold[] {
  if (!Number.isInteger(k) || k < 2) throw new UserError(`cross-validation: need at least 2 folds, got ${k}`);
  if (!Number.isInteger(n) || n < k) throw new UserError(`cross-validation: ${n} rows cannot be split into ${k} folds`);
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const start = Math.floor((f * n) / k);
    const end = Math.floor(((f + 1) * n) / k);
    const test: number[] = [];
    const train: number[] = [];
    for (let i = 0; i < n; i++) (i >= start && i < end ? test : train).push(i);
    folds.push({ train, test });
  }
  return folds;
}

function checkShape(name: string, data: ArrayLike<number>, rows: number, cols: number): void {
  if (data.length !== rows * cols) throw new Error(`${name}: ${data.length} values for ${rows} x ${cols}`);
}

function checkAlphas(alphas: readonly number[]): void {
  if (alphas.length === 0) throw new UserError("ridge: the alpha grid is empty");
  for (const a of alphas) if (!(a > 0) || !Number.isFinite(a)) throw new UserError(`ridge: alphas must be positive and finite, got ${a}`);
}

// ---------------------------------------------------------------------------------------------
// Dense helpers on row-major Float64Arrays.

/** A B^T for row-major A [m x p] and B [n x p]: [m x n]. */
export function crossGram(a: ArrayLike<number>, m: number, b: ArrayLike<number>, n: number, p: number): Float64Array {
  const out = new Float64Array(m * n);
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const a0 = i * p;
    const a1 = a0 + p;
    const a2 = a1 + p;
    const a3 = a2 + p;
    for (let j = 0; j < n; j++) {
      const bj = j * p;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let c = 0; c < p; c++) {
        const v = b[bj + c];
        s0 += a[a0 + c] * v;
        s1 += a[a1 + c] * v;
        s2 += a[a2 + c] * v;
        s3 += a[a3 + c] * v;
      }
      out[i * n + j] = s0;
      out[(i + 1) * n + j] = s1;
      out[(i + 2) * n + j] = s2;
      out[(i + 3) * n + j] = s3;
    }
  }
  for (; i < m; i++) {
    const ai = i * p;
    for (let j = 0; j < n; j++) {
      const bj = j * p;
      let s = 0;
      for (let c = 0; c < p; c++) s += a[ai + c] * b[bj + c];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** X X^T for row-major X [n x p] (symmetric, both triangles filled). */
export function gram(x: ArrayLike<number>, n: number, p: number): Float64Array {
  const out = new Float64Array(n * n);
  // Four rows i at a time against one row j: four dot products share each load of row j.
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const x0 = i * p;
    const x1 = x0 + p;
    const x2 = x1 + p;
    const x3 = x2 + p;
    for (let j = 0; j <= i + 3; j++) {
      const xj = j * p;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let c = 0; c < p; c++) {
        const v = x[xj + c];
        s0 += x[x0 + c] * v;
        s1 += x[x1 + c] * v;
        s2 += x[x2 + c] * v;
        s3 += x[x3 + c] * v;
      }
      out[i * n + j] = s0;
      out[(i + 1) * n + j] = s1;
      out[(i + 2) * n + j] = s2;
      out[(i + 3) * n + j] = s3;
    }
  }
  for (; i < n; i++) {
    const xi = i * p;
    for (let j = 0; j <= i; j++) {
      const xj = j * p;
      let s = 0;
      for (let c = 0; c < p; c++) s += x[xi + c] * x[xj + c];
      out[i * n + j] = s;
    }
  }
  for (let r = 0; r < n; r++) for (let c = r + 1; c < n; c++) out[r * n + c] = out[c * n + r];
  return out;
}

/**
 * out += A B for row-major A [m x k], B [k x n], out [m x n]. Four rows of A at a time, so each
 * load of a row of B serves four multiply-adds (about twice the speed of the plain loop in V8).
 */
export function gemmAccumulate(a: ArrayLike<number>, m: number, k: number, b: ArrayLike<number>, n: number, out: Float64Array): void {
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const o0 = i * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    const a0 = i * k;
    const a1 = a0 + k;
    const a2 = a1 + k;
    const a3 = a2 + k;
    for (let l = 0; l < k; l++) {
      const w0 = a[a0 + l];
      const w1 = a[a1 + l];
      const w2 = a[a2 + l];
      const w3 = a[a3 + l];
      const bl = l * n;
      for (let c = 0; c < n; c++) {
        const v = b[bl + c];
        out[o0 + c] += w0 * v;
        out[o1 + c] += w1 * v;
        out[o2 + c] += w2 * v;
        out[o3 + c] += w3 * v;
      }
    }
  }
  for (; i < m; i++) {
    const oi = i * n;
    const ai = i * k;
    for (let l = 0; l < k; l++) {
      const w = a[ai + l];
      if (w === 0) continue;
      const bl = l * n;
      for (let c = 0; c < n; c++) out[oi + c] += w * b[bl + c];
    }
  }
}

/** A^T B for row-major A [n x p], B [n x t]: [p x t]. */
function transposeTimes(a: ArrayLike<number>, n: number, p: number, b: ArrayLike<number>, t: number): Float64Array {
  const out = new Float64Array(p * t);
  for (let i = 0; i < n; i++) {
    const ai = i * p;
    const bi = i * t;
    for (let c = 0; c < p; c++) {
      const v = a[ai + c];
      if (v === 0) continue;
      const oc = c * t;
      for (let k = 0; k < t; k++) out[oc + k] += v * b[bi + k];
    }
  }
  return out;
}

/** A B for row-major A [m x n], B [n x t]: [m x t]. */
function times(a: ArrayLike<number>, m: number, n: number, b: ArrayLike<number>, t: number): Float64Array {
  const out = new Float64Array(m * t);
  gemmAccumulate(a, m, n, b, t, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// ridgeSvdPath: one eigendecomposition, weights for every alpha.

export interface RidgePath {
  readonly alphas: readonly number[];
  readonly p: number;
  readonly t: number;
  /** Weights [p x t] for alphas[alphaIndex]: (X^T X + a I)^-1 X^T Y. */
  weights(alphaIndex: number): Float64Array;
  /** X_new [m x p] times the weights of alphas[alphaIndex]: [m x t]. */
  predict(xNew: ArrayLike<number>, m: number, alphaIndex: number): Float64Array;
}

/**
 * Ridge weights for every alpha from one decomposition (no intercept: centre X and Y first if
 * one is wanted). With X = U S V^T, W_a = V diag(s/(s^2+a)) U^T Y. The eigendecomposition of the
 * smaller Gram matrix gives the same thing: n >= p: X^T X = V L V^T, W_a = V diag(1/(l+a)) V^T X^T Y;
 * n < p: X X^T = U L U^T, W_a = X^T U diag(1/(l+a)) U^T Y.
 */
export function ridgeSvdPath(
  x: Float64Array,
  n: number,
  p: number,
  y: Float64Array,
  t: number,
  alphas: readonly number[],
): RidgePath {
  checkShape("ridgeSvdPath X", x, n, p);
  checkShape("ridgeSvdPath Y", y, n, t);
  checkAlphas(alphas);
  const primal = n >= p;
  const size = primal ? p : n;
  // Gram of the smaller side, and the projection of Y that the eigenbasis acts on.
  const g = primal ? gram(transposeFlat(x, n, p), p, n) : gram(x, n, p);
  const rhs = primal ? transposeTimes(x, n, p, y, t) : y; // X^T Y [p x t] or Y [n x t]
  const evd = new EigenvalueDecomposition(toMatrix(g, size, size), { assumeSymmetric: true });
  const vecs = evd.eigenvectorMatrix; // columns are eigenvectors
  const lambdas = evd.realEigenvalues.map((l) => Math.max(l, 0)); // rounding can push zeros negative
  const basis = new Float64Array(size * size);
  for (let i = 0; i < size; i++) for (let k = 0; k < size; k++) basis[i * size + k] = vecs.get(i, k);
  // coords = E^T rhs [size x t]
  const coords = transposeTimes(basis, size, size, rhs, t);
  const weights = (alphaIndex: number): Float64Array => {
    const a = alphas[alphaIndex];
    if (a === undefined) throw new Error(`ridgeSvdPath: no alpha at index ${alphaIndex}`);
    const scaled = new Float64Array(size * t);
    for (let k = 0; k < size; k++) {
      const f = 1 / (lambdas[k] + a);
      for (let c = 0; c < t; c++) scaled[k * t + c] = coords[k * t + c] * f;
    }
    const inBasis = times(basis, size, size, scaled, t); // E diag(1/(l+a)) E^T rhs
    return primal ? inBasis : transposeTimes(x, n, p, inBasis, t);
  };
  const cache = new Map<number, Float64Array>();
  const cachedWeights = (alphaIndex: number): Float64Array => {
    let w = cache.get(alphaIndex);
    if (!w) {
      w = weights(alphaIndex);
      cache.set(alphaIndex, w);
    }
    return w;
  };
  return {
    alphas,
    p,
    t,
    weights: (alphaIndex) => cachedWeights(alphaIndex).slice(),
    predict: (xNew, m, alphaIndex) => {
      checkShape("ridgeSvdPath predict X", xNew, m, p);
      return times(xNew, m, p, cachedWeights(alphaIndex), t);
    },
  };
}

function transposeFlat(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  return out;
}

function toMatrix(data: Float64Array, rows: number, cols: number): Matrix {
  const m = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m.set(i, j, data[i * cols + j]);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Householder tridiagonalisation and shifted tridiagonal solves.

/** A = Q T Q^T for symmetric A, with Q = H_0 H_1 ... H_{n-3} kept as Householder vectors. */
export interface Tridiagonal {
  n: number;
  /** Diagonal of T. */
  d: Float64Array;
  /** Sub-diagonal of T (length n-1). */
  e: Float64Array;
  /** Row k holds Householder vector v_k (non-zero from index k+1); H_k = I - beta_k v_k v_k^T. */
  v: Float64Array;
  beta: Float64Array;
}

/** Householder tridiagonalisation of a symmetric [n x n] matrix (only its lower triangle is read; the input is overwritten). */
export function tridiagonalize(a: Float64Array, n: number): Tridiagonal {
  checkShape("tridiagonalize", a, n, n);
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(n - 1, 0));
  const v = new Float64Array(n * n);
  const beta = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    d[k] = a[k * n + k];
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) norm2 += a[i * n + k] * a[i * n + k];
    const x0 = a[(k + 1) * n + k];
    const norm = Math.sqrt(norm2);
    if (norm === 0) {
      e[k] = 0;
      continue;
    }
    // Reflect x onto s e1 with s of the opposite sign to x0, avoiding cancellation in v0 = x0 - s.
    const s = x0 >= 0 ? -norm : norm;
    const vk = k * n;
    let vnorm2 = 0;
    for (let i = k + 1; i < n; i++) {
      const vi = i === k + 1 ? x0 - s : a[i * n + k];
      v[vk + i] = vi;
      vnorm2 += vi * vi;
    }
    const b = 2 / vnorm2;
    beta[k] = b;
    e[k] = s;
    // Trailing block M = A[k+1:, k+1:], read and updated in its lower triangle only:
    // p = b M v, w = p - (b/2)(p.v) v, M -= v w^T + w v^T.
    for (let i = k + 1; i < n; i++) p[i] = 0;
    for (let i = k + 1; i < n; i++) {
      const ai = i * n;
      const vi = v[vk + i];
      let acc = a[ai + i] * vi;
      for (let j = k + 1; j < i; j++) {
        const aij = a[ai + j];
        acc += aij * v[vk + j];
        p[j] += aij * vi;
      }
      p[i] += acc;
    }
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      p[i] *= b;
      pv += p[i] * v[vk + i];
    }
    const half = (b / 2) * pv;
    for (let i = k + 1; i < n; i++) p[i] -= half * v[vk + i]; // p now holds w
    for (let i = k + 1; i < n; i++) {
      const ai = i * n;
      const vi = v[vk + i];
      const wi = p[i];
      for (let j = k + 1; j <= i; j++) a[ai + j] -= vi * p[j] + wi * v[vk + j];
    }
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + (n - 2)];
    e[n - 2] = a[(n - 1) * n + (n - 2)];
  }
  if (n >= 1) d[n - 1] = a[(n - 1) * n + (n - 1)];
  return { n, d, e, v, beta };
}

function applyReflector(tri: Tridiagonal, k: number, b: Float64Array, cols: number, u: Float64Array): void {
  const { n, v, beta } = tri;
  const bk = beta[k];
  if (bk === 0) return;
  const vk = k * n;
  u.fill(0, 0, cols);
  for (let i = k + 1; i < n; i++) {
    const vi = v[vk + i];
    const bi = i * cols;
    for (let c = 0; c < cols; c++) u[c] += vi * b[bi + c];
  }
  for (let c = 0; c < cols; c++) u[c] *= bk;
  for (let i = k + 1; i < n; i++) {
    const vi = v[vk + i];
    const bi = i * cols;
    for (let c = 0; c < cols; c++) b[bi + c] -= vi * u[c];
  }
}

/** B <- Q^T B in place (B row-major [n x cols]). */
export function applyQt(tri: Tridiagonal, b: Float64Array, cols: number): void {
  const u = new Float64Array(cols);
  for (let k = 0; k < tri.n - 2; k++) applyReflector(tri, k, b, cols, u);
}

/** B <- Q B in place (B row-major [n x cols]). */
export function applyQ(tri: Tridiagonal, b: Float64Array, cols: number): void {
  const u = new Float64Array(cols);
  for (let k = tri.n - 3; k >= 0; k--) applyReflector(tri, k, b, cols, u);
}

/**
 * Solves (T + alpha I) Z = R for every column of R [n x cols] (Thomas algorithm; T + alpha I is
 * symmetric positive definite for alpha > 0 because T is similar to a PSD Gram matrix, so no
 * pivoting is needed). Writes into out.
 */
function solveShifted(tri: Tridiagonal, alpha: number, r: Float64Array, cols: number, out: Float64Array, work: Float64Array): void {
  const { n, d, e } = tri;
  // work[i] = c'_i (super-diagonal after elimination), denominators folded into m.
  let m = d[0] + alpha;
  const inv0 = 1 / m;
  for (let c = 0; c < cols; c++) out[c] = r[c] * inv0;
  if (n > 1) work[0] = e[0] * inv0;
  for (let i = 1; i < n; i++) {
    m = d[i] + alpha - e[i - 1] * work[i - 1];
    const inv = 1 / m;
    if (i < n - 1) work[i] = e[i] * inv;
    const ei = e[i - 1];
    const oi = i * cols;
    const op = (i - 1) * cols;
    for (let c = 0; c < cols; c++) out[oi + c] = (r[oi + c] - ei * out[op + c]) * inv;
  }
  for (let i = n - 2; i >= 0; i--) {
    const ci = work[i];
    const oi = i * cols;
    const on = (i + 1) * cols;
    for (let c = 0; c < cols; c++) out[oi + c] -= ci * out[on + c];
  }
}

/** Solves (T + alphas[c] I) z = r[:, c] for each column c with its own alpha, in place. */
function solveShiftedPerColumn(tri: Tridiagonal, alphaPerCol: ArrayLike<number>, r: Float64Array, cols: number): void {
  const { n, d, e } = tri;
  const cp = new Float64Array(n);
  for (let c = 0; c < cols; c++) {
    const alpha = alphaPerCol[c];
    let m = d[0] + alpha;
    r[c] /= m;
    if (n > 1) cp[0] = e[0] / m;
    for (let i = 1; i < n; i++) {
      m = d[i] + alpha - e[i - 1] * cp[i - 1];
      if (i < n - 1) cp[i] = e[i] / m;
      r[i * cols + c] = (r[i * cols + c] - e[i - 1] * r[(i - 1) * cols + c]) / m;
    }
    for (let i = n - 2; i >= 0; i--) r[i * cols + c] -= cp[i] * r[(i + 1) * cols + c];
  }
}

// ---------------------------------------------------------------------------------------------
// Kernel ridge with per-target alpha chosen by contiguous inner CV.

export interface RidgeCvOptions {
  /** Alpha grid (any order; sorted internally). Default DEFAULT_ALPHAS. */
  alphas?: readonly number[];
  /** Contiguous inner folds. Default 5. */
  folds?: number;
}

export interface KernelRidgeModel {
  /** Training rows n. */
  n: number;
  t: number;
  /** Training-row means of the (uncentred) kernel rows, for centring test kernels. */
  kernelRowMean: Float64Array;
  kernelMean: number;
  /** Training means of the targets (the intercept of centred ridge). */
  yMean: Float64Array;
  /** Chosen alpha per target. */
  alphas: Float64Array;
  /** Index of each target's alpha in the (sorted) grid. */
  alphaIndex: Int32Array;
  /** The sorted grid. */
  alphaGrid: number[];
  /** Mean inner-fold R^2 per alpha and target, [alphaGrid.length x t]. */
  cvScores: Float64Array;
  /** Centred training kernel K_c = Q T Q^T. */
  tridiagonal: Tridiagonal;
  /** (T + alpha_c I)^-1 Q^T Y_c per target column c, [n x t]: dual coefficients are Q times this. */
  solved: Float64Array;
  /** Dual coefficients [n x t] for the centred kernel: prediction = K_test,c dual + yMean. */
  dual(): Float64Array;
}

/** Means of K[i, S] over the column set S, for every row i. */
function rowMeansOver(k: Float64Array, n: number, rows: readonly number[] | null, cols: readonly number[]): Float64Array {
  const count = rows ? rows.length : n;
  const out = new Float64Array(count);
  for (let r = 0; r < count; r++) {
    const i = rows ? rows[r] : r;
    let s = 0;
    for (const j of cols) s += k[i * n + j];
    out[r] = s / cols.length;
  }
  return out;
}

/** Adds to scores[a * t + c] the held-out R^2 of every alpha for one inner fold. */
function scoreInnerFold(
  k: Float64Array,
  n: number,
  y: ArrayLike<number>,
  t: number,
  train: readonly number[],
  test: readonly number[],
  alphaGrid: readonly number[],
  weight: number,
  scores: Float64Array,
): void {
  const nTr = train.length;
  const nTe = test.length;
  const rmTrain = rowMeansOver(k, n, train, train);
  const rmTest = rowMeansOver(k, n, test, train);
  let total = 0;
  for (let a = 0; a < nTr; a++) total += rmTrain[a];
  total /= nTr;
  // Centred training kernel (lower triangle: all tridiagonalize reads) and the centred
  // test-vs-train kernel, transposed to [nTr x nTe] so Q^T can be applied to it.
  const kc = new Float64Array(nTr * nTr);
  for (let a = 0; a < nTr; a++) {
    const ia = train[a] * n;
    for (let b = 0; b <= a; b++) kc[a * nTr + b] = k[ia + train[b]] - rmTrain[a] - rmTrain[b] + total;
  }
  const pt = new Float64Array(nTr * nTe);
  for (let a = 0; a < nTe; a++) {
    const ia = test[a] * n;
    for (let b = 0; b < nTr; b++) pt[b * nTe + a] = k[ia + train[b]] - rmTest[a] - rmTrain[b] + total;
  }
  const yMean = new Float64Array(t);
  for (const i of train) for (let c = 0; c < t; c++) yMean[c] += y[i * t + c];
  for (let c = 0; c < t; c++) yMean[c] /= nTr;
  const qy = new Float64Array(nTr * t);
  train.forEach((i, a) => {
    for (let c = 0; c < t; c++) qy[a * t + c] = y[i * t + c] - yMean[c];
  });
  // Held-out residual targets around the training mean, and sums of squares around the test
  // mean (the R^2 denominator, alpha-independent).
  const yTe = new Float64Array(nTe * t);
  const teMean = new Float64Array(t);
  test.forEach((i, a) => {
    for (let c = 0; c < t; c++) {
      yTe[a * t + c] = y[i * t + c] - yMean[c];
      teMean[c] += y[i * t + c];
    }
  });
  for (let c = 0; c < t; c++) teMean[c] /= nTe;
  const sst = new Float64Array(t);
  for (const i of test) for (let c = 0; c < t; c++) sst[c] += (y[i * t + c] - teMean[c]) ** 2;

  const tri = tridiagonalize(kc, nTr);
  applyQt(tri, qy, t);
  applyQt(tri, pt, nTe);
  const p = transposeFlat(pt, nTr, nTe); // [nTe x nTr] = K_te,c Q
  const z = new Float64Array(nTr * t);
  const work = new Float64Array(nTr);
  const pred = new Float64Array(nTe * t);
  for (let ai = 0; ai < alphaGrid.length; ai++) {
    solveShifted(tri, alphaGrid[ai], qy, t, z, work);
    pred.fill(0);
    gemmAccumulate(p, nTe, nTr, z, t, pred);
    const base = ai * t;
    for (let c = 0; c < t; c++) {
      if (!(sst[c] > 0)) continue;
      let sse = 0;
      for (let a = 0; a < nTe; a++) {
        const r = yTe[a * t + c] - pred[a * t + c];
        sse += r * r;
      }
      scores[base + c] += weight * (1 - sse / sst[c]);
    }
  }
}

/**
 * Kernel ridge on a precomputed linear kernel K = X X^T [n x n] of the training rows, targets Y
 * [n x t]. Chooses one alpha per target by contiguous inner K-fold CV maximising the mean
 * held-out R^2 (himalaya's default score; unlike r it punishes the over-shrunk or noisy
 * predictions that selection must tell apart; ties go to the larger alpha), then refits on all n
 * rows with each target's alpha. Inner folds re-centre the kernel and targets on their own
 * training rows (double centring), so only feature scaling is inherited from the caller.
 */
export function kernelRidgeCv(k: Float64Array, n: number, y: ArrayLike<number>, t: number, opts: RidgeCvOptions = {}): KernelRidgeModel {
  checkShape("kernelRidgeCv K", k, n, n);
  checkShape("kernelRidgeCv Y", y, n, t);
  const alphaGrid = [...(opts.alphas ?? DEFAULT_ALPHAS)].sort((a, b) => a - b);
  checkAlphas(alphaGrid);
  const numAlphas = alphaGrid.length;
  const cvScores = new Float64Array(numAlphas * t);
  const alphaIndex = new Int32Array(t);
  if (numAlphas > 1) {
    const folds = contiguousFolds(n, opts.folds ?? 5);
    for (const { train, test } of folds) scoreInnerFold(k, n, y, t, train, test, alphaGrid, 1 / folds.length, cvScores);
    for (let c = 0; c < t; c++) {
      let best = 0;
      for (let ai = 1; ai < numAlphas; ai++) if (cvScores[ai * t + c] >= cvScores[best * t + c]) best = ai;
      alphaIndex[c] = best;
    }
  }

  // Refit on all rows with each target's alpha: (K_c + a I)^-1 Y_c = Q (T + a I)^-1 Q^T Y_c.
  const all = Array.from({ length: n }, (_, i) => i);
  const kernelRowMean = rowMeansOver(k, n, null, all);
  let kernelMean = 0;
  for (let i = 0; i < n; i++) kernelMean += kernelRowMean[i];
  kernelMean /= n;
  const kc = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) kc[i * n + j] = k[i * n + j] - kernelRowMean[i] - kernelRowMean[j] + kernelMean;
  const yMean = new Float64Array(t);
  for (let i = 0; i < n; i++) for (let c = 0; c < t; c++) yMean[c] += y[i * t + c];
  for (let c = 0; c < t; c++) yMean[c] /= n;
  const solved = new Float64Array(n * t);
  for (let i = 0; i < n; i++) for (let c = 0; c < t; c++) solved[i * t + c] = y[i * t + c] - yMean[c];
  const alphas = Float64Array.from(alphaIndex, (ai) => alphaGrid[ai]);
  const tridiagonal = tridiagonalize(kc, n);
  applyQt(tridiagonal, solved, t);
  solveShiftedPerColumn(tridiagonal, alphas, solved, t);
  let dual: Float64Array | null = null;
  return {
    n,
    t,
    kernelRowMean,
    kernelMean,
    yMean,
    alphas,
    alphaIndex,
    alphaGrid,
    cvScores,
    tridiagonal,
    solved,
    dual: () => {
      if (!dual) {
        dual = solved.slice();
        applyQ(tridiagonal, dual, t);
      }
      return dual;
    },
  };
}

/**
 * Predictions [m x t] from a test kernel K_test = X_test X_train^T [m x n]: the centred test
 * kernel is rotated into the tridiagonal basis (cost 2 n^2 m) rather than rotating the dual
 * coefficients back (2 n^2 t), which is cheaper when there are more targets than test rows.
 */
export function kernelRidgePredict(model: KernelRidgeModel, kTest: ArrayLike<number>, m: number): Float64Array {
  const { n, t } = model;
  checkShape("kernelRidgePredict K", kTest, m, n);
  const centredT = new Float64Array(n * m); // [n x m]
  for (let a = 0; a < m; a++) {
    let rowMean = 0;
    for (let j = 0; j < n; j++) rowMean += kTest[a * n + j];
    rowMean /= n;
    for (let j = 0; j < n; j++) centredT[j * m + a] = kTest[a * n + j] - rowMean - model.kernelRowMean[j] + model.kernelMean;
  }
  applyQt(model.tridiagonal, centredT, m);
  const out = times(transposeFlat(centredT, n, m), m, n, model.solved, t);
  for (let a = 0; a < m; a++) for (let c = 0; c < t; c++) out[a * t + c] += model.yMean[c];
  return out;
}

export interface RidgeCvResult {
  /** [p x t]: prediction = x . weights[:, c] + intercept[c]. */
  weights: Float64Array;
  /** Per target: mean(Y) - mean(X) . weights (intercept by centring, not penalised). */
  intercept: Float64Array;
  /** Chosen alpha per target. */
  alphas: Float64Array;
  alphaGrid: number[];
  /** Mean inner-fold R^2 per alpha and target, [alphaGrid.length x t]. */
  cvScores: Float64Array;
}

/**
 * Ridge with one alpha per target chosen by contiguous (unshuffled) inner K-fold CV on the rows
 * of X [n x p], Y [n x t] (criterion: mean held-out R^2, see kernelRidgeCv), refitted on all rows.
 * Uses the kernel form: cost O(n^2 p + n^3 + alphas n^2 t / folds), memory O(n^2).
 */
export function ridgeCv(x: Float64Array, n: number, p: number, y: Float64Array, t: number, opts: RidgeCvOptions = {}): RidgeCvResult {
  checkShape("ridgeCv X", x, n, p);
  checkShape("ridgeCv Y", y, n, t);
  const xMean = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let c = 0; c < p; c++) xMean[c] += x[i * p + c];
  for (let c = 0; c < p; c++) xMean[c] /= n;
  const xc = new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let c = 0; c < p; c++) xc[i * p + c] = x[i * p + c] - xMean[c];
  const model = kernelRidgeCv(gram(xc, n, p), n, y, t, opts);
  // With X centred, the kernel's training-row means are zero, so W = Xc^T dual exactly.
  const weights = transposeTimes(xc, n, p, model.dual(), t);
  const intercept = Float64Array.from(model.yMean);
  for (let c = 0; c < p; c++) {
    const m = xMean[c];
    if (m === 0) continue;
    for (let j = 0; j < t; j++) intercept[j] -= m * weights[c * t + j];
  }
  return { weights, intercept, alphas: model.alphas, alphaGrid: model.alphaGrid, cvScores: model.cvScores };
}
