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
 *   eigenvectors are ever formed (Q is accumulated explicitly so that rotating the targets and
 *   test kernels is a matrix product). The result equals (X^T X + aI)^-1 X^T Y exactly (alpha > 0).
 *
 * The O(n^3) loops (matrix products, the tridiagonalisation's symmetric product and rank-2
 * update, the accumulation of Q) run on a small WebAssembly SIMD module assembled at the end of
 * this file, about 2.5-3x faster than V8's scalar loops; JS versions remain as the fallback.
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

/**
 * out += A B^T for row-major A [m x k] and B [n x k] (so out is [m x n]), in 4 x 4 register
 * blocks: sixteen running dot products share each load of four rows of A and four of B, about
 * twice the speed of a row-times-matrix loop in V8 and four times that of a plain dot product;
 * large products run on a WebAssembly SIMD kernel (below), about 2.8x faster again. With lowerOnly, only entries with j <= i (rounded up to the 4 x 4 block) are computed.
 */
export function gemmNT(a: ArrayLike<number>, m: number, k: number, b: ArrayLike<number>, n: number, out: Float64Array, lowerOnly = false): void {
  // Small products stay in JS: copying into the WebAssembly heap would cost more than it saves.
  if (m * n * k >= 8192) {
    const kernels = wasmKernels();
    if (kernels) {
      gemmNTWasm(kernels, a, m, k, b, n, out, lowerOnly);
      return;
    }
  }
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = i * k;
    const a1 = a0 + k;
    const a2 = a1 + k;
    const a3 = a2 + k;
    const jEnd = lowerOnly ? Math.min(n4, i + 4) : n4;
    for (let j = 0; j < jEnd; j += 4) {
      const b0 = j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let l = 0; l < k; l++) {
        const x0 = a[a0 + l];
        const x1 = a[a1 + l];
        const x2 = a[a2 + l];
        const x3 = a[a3 + l];
        const y0 = b[b0 + l];
        const y1 = b[b1 + l];
        const y2 = b[b2 + l];
        const y3 = b[b3 + l];
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
        s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
      }
      const r0 = i * n + j;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      out[r0] += s00; out[r0 + 1] += s01; out[r0 + 2] += s02; out[r0 + 3] += s03;
      out[r1] += s10; out[r1 + 1] += s11; out[r1 + 2] += s12; out[r1 + 3] += s13;
      out[r2] += s20; out[r2 + 1] += s21; out[r2 + 2] += s22; out[r2 + 3] += s23;
      out[r3] += s30; out[r3 + 1] += s31; out[r3 + 2] += s32; out[r3 + 3] += s33;
    }
    // Remaining columns (n not a multiple of 4, or the diagonal block's tail in lowerOnly mode).
    for (let j = jEnd; j < (lowerOnly ? Math.min(n, i + 4) : n); j++) {
      const bj = j * k;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let l = 0; l < k; l++) {
        const y = b[bj + l];
        s0 += a[a0 + l] * y;
        s1 += a[a1 + l] * y;
        s2 += a[a2 + l] * y;
        s3 += a[a3 + l] * y;
      }
      out[i * n + j] += s0;
      out[(i + 1) * n + j] += s1;
      out[(i + 2) * n + j] += s2;
      out[(i + 3) * n + j] += s3;
    }
  }
  for (let i = m4; i < m; i++) {
    const ai = i * k;
    const jEnd = lowerOnly ? Math.min(n, i + 1) : n;
    for (let j = 0; j < jEnd; j++) {
      const bj = j * k;
      let s = 0;
      for (let l = 0; l < k; l++) s += a[ai + l] * b[bj + l];
      out[i * n + j] += s;
    }
  }
}

/** A B^T for row-major A [m x p] and B [n x p]: [m x n]. */
export function crossGram(a: ArrayLike<number>, m: number, b: ArrayLike<number>, n: number, p: number): Float64Array {
  const out = new Float64Array(m * n);
  gemmNT(a, m, p, b, n, out);
  return out;
}

/** X X^T for row-major X [n x p] (symmetric, both triangles filled). */
export function gram(x: ArrayLike<number>, n: number, p: number): Float64Array {
  const out = new Float64Array(n * n);
  gemmNT(x, n, p, x, n, out, true);
  // Mirror the lower triangle (the 4 x 4 diagonal blocks computed a few upper entries too).
  for (let r = 0; r < n; r++) for (let c = r + 1; c < n; c++) out[r * n + c] = out[c * n + r];
  return out;
}

/** out += A B for row-major A [m x k], B [k x n], out [m x n] (B is transposed once for gemmNT). */
export function gemmAccumulate(a: ArrayLike<number>, m: number, k: number, b: ArrayLike<number>, n: number, out: Float64Array): void {
  gemmNT(a, m, k, transposeFlat(b, k, n), n, out);
}

/** A^T B for row-major A [n x p], B [n x t]: [p x t]. */
function transposeTimes(a: ArrayLike<number>, n: number, p: number, b: ArrayLike<number>, t: number): Float64Array {
  const out = new Float64Array(p * t);
  gemmNT(transposeFlat(a, n, p), p, n, transposeFlat(b, n, t), t, out);
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

/** Householder tridiagonalisation of a symmetric [n x n] matrix (only its lower triangle is read; the input may be overwritten). */
export function tridiagonalize(a: Float64Array, n: number): Tridiagonal {
  checkShape("tridiagonalize", a, n, n);
  const kernels = n >= 16 ? wasmKernels() : null;
  if (kernels) return tridiagonalizeWasm(kernels, a, n);
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
    // Two rows per pass: each load of v[j] and p[j] serves both rows (about 1.5x faster).
    for (let i = k + 1; i < n; i++) p[i] = 0;
    let i = k + 1;
    for (; i + 1 < n; i += 2) {
      const a0 = i * n;
      const a1 = a0 + n;
      const vi0 = v[vk + i];
      const vi1 = v[vk + i + 1];
      let acc0 = 0;
      let acc1 = 0;
      for (let j = k + 1; j < i; j++) {
        const x0 = a[a0 + j];
        const x1 = a[a1 + j];
        const vj = v[vk + j];
        acc0 += x0 * vj;
        acc1 += x1 * vj;
        p[j] += x0 * vi0 + x1 * vi1;
      }
      const off = a[a1 + i]; // A[i+1][i], below the diagonal of row i
      acc1 += off * vi0;
      p[i] += off * vi1;
      p[i] += acc0 + a[a0 + i] * vi0;
      p[i + 1] += acc1 + a[a1 + i + 1] * vi1;
    }
    for (; i < n; i++) {
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
    i = k + 1;
    for (; i + 1 < n; i += 2) {
      const a0 = i * n;
      const a1 = a0 + n;
      const vi0 = v[vk + i];
      const vi1 = v[vk + i + 1];
      const wi0 = p[i];
      const wi1 = p[i + 1];
      for (let j = k + 1; j <= i; j++) {
        const wj = p[j];
        const vj = v[vk + j];
        a[a0 + j] -= vi0 * wj + wi0 * vj;
        a[a1 + j] -= vi1 * wj + wi1 * vj;
      }
      a[a1 + i + 1] -= 2 * vi1 * wi1;
    }
    for (; i < n; i++) {
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
 * Q = H_0 H_1 ... H_{n-3} as an explicit row-major [n x n] matrix, accumulated backwards so each
 * reflector touches only the trailing block it acts on ((2/3) n^3 multiply-adds). Rotating many
 * columns with an explicit Q is a matrix product, which runs about twice as fast as applying the
 * reflectors one by one.
 */
export function formQ(tri: Tridiagonal): Float64Array {
  const kernels = tri.n >= 16 ? wasmKernels() : null;
  if (kernels) return formQWasm(kernels, tri);
  const { n, v, beta } = tri;
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const u = new Float64Array(n);
  for (let k = n - 3; k >= 0; k--) {
    const bk = beta[k];
    if (bk === 0) continue;
    const vk = k * n;
    const c0 = k + 1; // columns left of k+1 are still those of the identity in rows k+1..
    // u = b v^T Q[k+1:, c0:], then Q[k+1:, c0:] -= v u^T; four rows per pass share u's loads.
    u.fill(0, c0, n);
    let i = k + 1;
    for (; i + 3 < n; i += 4) {
      const v0 = v[vk + i];
      const v1 = v[vk + i + 1];
      const v2 = v[vk + i + 2];
      const v3 = v[vk + i + 3];
      const q0 = i * n;
      const q1 = q0 + n;
      const q2 = q1 + n;
      const q3 = q2 + n;
      for (let c = c0; c < n; c++) u[c] += v0 * q[q0 + c] + v1 * q[q1 + c] + v2 * q[q2 + c] + v3 * q[q3 + c];
    }
    for (; i < n; i++) {
      const vi = v[vk + i];
      const qi = i * n;
      for (let c = c0; c < n; c++) u[c] += vi * q[qi + c];
    }
    for (let c = c0; c < n; c++) u[c] *= bk;
    i = k + 1;
    for (; i + 3 < n; i += 4) {
      const v0 = v[vk + i];
      const v1 = v[vk + i + 1];
      const v2 = v[vk + i + 2];
      const v3 = v[vk + i + 3];
      const q0 = i * n;
      const q1 = q0 + n;
      const q2 = q1 + n;
      const q3 = q2 + n;
      for (let c = c0; c < n; c++) {
        const uc = u[c];
        q[q0 + c] -= v0 * uc;
        q[q1 + c] -= v1 * uc;
        q[q2 + c] -= v2 * uc;
        q[q3 + c] -= v3 * uc;
      }
    }
    for (; i < n; i++) {
      const vi = v[vk + i];
      const qi = i * n;
      for (let c = c0; c < n; c++) q[qi + c] -= vi * u[c];
    }
  }
  return q;
}

/**
 * Solves (T + alpha_r I) z_r = r_r for every row r of R [rows x n] (each right-hand side
 * contiguous), with alpha_r = alphaOf(r), into out. Thomas algorithm: T + alpha I is symmetric
 * positive definite for alpha > 0 (T is similar to a PSD Gram matrix), so no pivoting is needed.
 * The elimination factors are recomputed only when the alpha changes.
 */
function solveShiftedRows(tri: Tridiagonal, alphaOf: (row: number) => number, r: Float64Array, rows: number, out: Float64Array): void {
  const { n, d, e } = tri;
  const cp = new Float64Array(n); // super-diagonal after elimination
  const inv = new Float64Array(n); // 1 / pivots
  let factored = NaN;
  for (let row = 0; row < rows; row++) {
    const alpha = alphaOf(row);
    if (alpha !== factored) {
      let m = d[0] + alpha;
      inv[0] = 1 / m;
      if (n > 1) cp[0] = e[0] * inv[0];
      for (let i = 1; i < n; i++) {
        m = d[i] + alpha - e[i - 1] * cp[i - 1];
        inv[i] = 1 / m;
        if (i < n - 1) cp[i] = e[i] * inv[i];
      }
      factored = alpha;
    }
    // Two right-hand sides at a time when they share the alpha: the recurrences are latency-bound,
    // so interleaving two independent chains nearly halves the time.
    if (row + 1 < rows && alphaOf(row + 1) === alpha) {
      const b0 = row * n;
      const b1 = b0 + n;
      let p0 = r[b0] * inv[0];
      let p1 = r[b1] * inv[0];
      out[b0] = p0;
      out[b1] = p1;
      for (let i = 1; i < n; i++) {
        const ei = e[i - 1];
        p0 = (r[b0 + i] - ei * p0) * inv[i];
        p1 = (r[b1 + i] - ei * p1) * inv[i];
        out[b0 + i] = p0;
        out[b1 + i] = p1;
      }
      for (let i = n - 2; i >= 0; i--) {
        const ci = cp[i];
        p0 = out[b0 + i] - ci * p0;
        p1 = out[b1 + i] - ci * p1;
        out[b0 + i] = p0;
        out[b1 + i] = p1;
      }
      row++;
      continue;
    }
    const base = row * n;
    let prev = r[base] * inv[0];
    out[base] = prev;
    for (let i = 1; i < n; i++) {
      prev = (r[base + i] - e[i - 1] * prev) * inv[i];
      out[base + i] = prev;
    }
    for (let i = n - 2; i >= 0; i--) out[base + i] -= cp[i] * out[base + i + 1];
  }
}

// ---------------------------------------------------------------------------------------------
// Kernel ridge with per-target alpha chosen by contiguous inner CV.

export interface RidgeCvOptions {
  /** Alpha grid (any order; sorted internally). Default DEFAULT_ALPHAS. */
  alphas?: readonly number[];
  /** Contiguous inner folds. Default 5. */
  folds?: number;
  /**
   * Only targets 0..cvColumns-1 take part in the inner CV; target c >= cvColumns reuses the alpha
   * chosen for target alphaSource[c - cvColumns] (e.g. a control copy of the targets reusing the
   * real targets' alphas at a fraction of the cost). Default: every target is cross-validated.
   */
  cvColumns?: number;
  alphaSource?: ArrayLike<number>;
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
  /** Q explicit, [n x n], and its transpose. */
  basis: Float64Array;
  basisT: Float64Array;
  /** Row c: (T + alpha_c I)^-1 (Q^T Y_c)[:, c], i.e. [t x n]; the dual coefficients are Q times its transpose. */
  solvedT: Float64Array;
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

/** Adds to scores[a * stride + c] the held-out R^2 of every alpha for one inner fold, for the first t of the stride columns of y. */
function scoreInnerFold(
  k: Float64Array,
  n: number,
  y: ArrayLike<number>,
  stride: number,
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
  // test-vs-train kernel [nTe x nTr].
  const kc = new Float64Array(nTr * nTr);
  for (let a = 0; a < nTr; a++) {
    const ia = train[a] * n;
    for (let b = 0; b <= a; b++) kc[a * nTr + b] = k[ia + train[b]] - rmTrain[a] - rmTrain[b] + total;
  }
  const kte = new Float64Array(nTe * nTr);
  for (let a = 0; a < nTe; a++) {
    const ia = test[a] * n;
    for (let b = 0; b < nTr; b++) kte[a * nTr + b] = k[ia + train[b]] - rmTest[a] - rmTrain[b] + total;
  }
  const yMean = new Float64Array(t);
  for (const i of train) for (let c = 0; c < t; c++) yMean[c] += y[i * stride + c];
  for (let c = 0; c < t; c++) yMean[c] /= nTr;
  const yc = new Float64Array(nTr * t);
  train.forEach((i, a) => {
    for (let c = 0; c < t; c++) yc[a * t + c] = y[i * stride + c] - yMean[c];
  });
  // Held-out residual targets around the training mean, and sums of squares around the test
  // mean (the R^2 denominator, alpha-independent).
  const yTe = new Float64Array(nTe * t);
  const teMean = new Float64Array(t);
  test.forEach((i, a) => {
    for (let c = 0; c < t; c++) {
      yTe[a * t + c] = y[i * stride + c] - yMean[c];
      teMean[c] += y[i * stride + c];
    }
  });
  for (let c = 0; c < t; c++) teMean[c] /= nTe;
  const sst = new Float64Array(t);
  for (const i of test) for (let c = 0; c < t; c++) sst[c] += (y[i * stride + c] - teMean[c]) ** 2;

  // Everything on the target side is kept transposed ([targets x rows]) so each right-hand side
  // of the tridiagonal solves and each operand row of gemmNT is contiguous.
  const tri = tridiagonalize(kc, nTr);
  const qt = transposeFlat(formQ(tri), nTr, nTr);
  const qyT = new Float64Array(t * nTr); // (Q^T Y_c)^T = Y_c^T Q
  gemmNT(transposeFlat(yc, nTr, t), t, nTr, qt, nTr, qyT);
  const p = new Float64Array(nTe * nTr); // K_te,c Q
  gemmNT(kte, nTe, nTr, qt, nTr, p);
  const zT = new Float64Array(t * nTr);
  const pred = new Float64Array(nTe * t);
  for (let ai = 0; ai < alphaGrid.length; ai++) {
    const alpha = alphaGrid[ai];
    solveShiftedRows(tri, () => alpha, qyT, t, zT);
    pred.fill(0);
    gemmNT(p, nTe, nTr, zT, t, pred);
    for (let c = 0; c < t; c++) {
      if (!(sst[c] > 0)) continue;
      let sse = 0;
      for (let a = 0; a < nTe; a++) {
        const r = yTe[a * t + c] - pred[a * t + c];
        sse += r * r;
      }
      scores[ai * stride + c] += weight * (1 - sse / sst[c]);
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
  const cvColumns = opts.cvColumns ?? t;
  const alphaSource = opts.alphaSource ?? [];
  if (!(cvColumns >= 1 && cvColumns <= t)) throw new Error(`kernelRidgeCv: cvColumns ${cvColumns} outside 1..${t}`);
  if (alphaSource.length !== t - cvColumns) {
    throw new Error("kernelRidgeCv: alphaSource must name a source target for each target past cvColumns");
  }
  if (numAlphas > 1) {
    const folds = contiguousFolds(n, opts.folds ?? 5);
    for (const { train, test } of folds) scoreInnerFold(k, n, y, t, cvColumns, train, test, alphaGrid, 1 / folds.length, cvScores);
    for (let c = 0; c < cvColumns; c++) {
      let best = 0;
      for (let ai = 1; ai < numAlphas; ai++) if (cvScores[ai * t + c] >= cvScores[best * t + c]) best = ai;
      alphaIndex[c] = best;
    }
    for (let c = cvColumns; c < t; c++) {
      const src = alphaSource[c - cvColumns];
      if (!(src >= 0 && src < cvColumns)) throw new Error(`kernelRidgeCv: alpha source ${src} is not a cross-validated target`);
      alphaIndex[c] = alphaIndex[src];
      for (let ai = 0; ai < numAlphas; ai++) cvScores[ai * t + c] = cvScores[ai * t + src];
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
  const yc = new Float64Array(n * t);
  for (let i = 0; i < n; i++) for (let c = 0; c < t; c++) yc[i * t + c] = y[i * t + c] - yMean[c];
  const alphas = Float64Array.from(alphaIndex, (ai) => alphaGrid[ai]);
  const tridiagonal = tridiagonalize(kc, n);
  const basis = formQ(tridiagonal);
  const basisT = transposeFlat(basis, n, n);
  const solvedT = new Float64Array(t * n);
  gemmNT(transposeFlat(yc, n, t), t, n, basisT, n, solvedT); // (Q^T Y_c)^T
  solveShiftedRows(tridiagonal, (c) => alphas[c], solvedT, t, solvedT);
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
    basis,
    basisT,
    solvedT,
    dual: () => {
      if (!dual) {
        dual = new Float64Array(n * t);
        gemmNT(basis, n, n, solvedT, t, dual);
      }
      return dual;
    },
  };
}

/**
 * Predictions [m x t] from a test kernel K_test = X_test X_train^T [m x n]: the centred test
 * kernel is rotated into the tridiagonal basis (n^2 m) rather than rotating the solved
 * coefficients back (n^2 t), which is cheaper when there are more targets than test rows.
 */
export function kernelRidgePredict(model: KernelRidgeModel, kTest: ArrayLike<number>, m: number): Float64Array {
  const { n, t } = model;
  checkShape("kernelRidgePredict K", kTest, m, n);
  const centred = new Float64Array(m * n);
  for (let a = 0; a < m; a++) {
    let rowMean = 0;
    for (let j = 0; j < n; j++) rowMean += kTest[a * n + j];
    rowMean /= n;
    for (let j = 0; j < n; j++) centred[a * n + j] = kTest[a * n + j] - rowMean - model.kernelRowMean[j] + model.kernelMean;
  }
  const rotated = new Float64Array(m * n); // K_test,c Q
  gemmNT(centred, m, n, model.basisT, n, rotated);
  const out = new Float64Array(m * t);
  gemmNT(rotated, m, n, model.solvedT, t, out);
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

// ---------------------------------------------------------------------------------------------
// WebAssembly SIMD kernels for the O(n^3) loops: gemmNT, and the symmetric matrix-vector product,
// symmetric rank-2 update and Q accumulation of the Householder tridiagonalisation. V8 runs the
// scalar JS loops at about 0.5-0.9 G multiply-adds/s here; the same loops on f64x2 lanes run
// about 2.5-3x faster (gemm: 2.4 G/s, measured on this machine class). The module (about 1.5 kB)
// is assembled below from named opcodes rather than shipped as a blob, so it can be read and
// reviewed; without WebAssembly SIMD everything falls back to the JS loops.

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** Opcodes (WebAssembly core + SIMD); memory operands use alignment hint 2^3 and offset 0. */
const W = {
  get: (i: number): number[] => [0x20, ...uleb(i)],
  set: (i: number): number[] => [0x21, ...uleb(i)],
  i32: (v: number): number[] => [0x41, ...sleb(v)],
  f64zero: [0x44, 0, 0, 0, 0, 0, 0, 0, 0],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  and: [0x71],
  shl: [0x74],
  ltS: [0x48],
  geS: [0x4e],
  gtS: [0x4a],
  geU: [0x4f],
  ltU: [0x49],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: [0x0b],
  brIf: (d: number): number[] => [0x0d, ...uleb(d)],
  br: (d: number): number[] => [0x0c, ...uleb(d)],
  f64Load: [0x2b, 0x03, 0x00],
  f64Store: [0x39, 0x03, 0x00],
  f64Add: [0xa0],
  f64Mul: [0xa2],
  f64Eq: [0x61],
  vLoad: [0xfd, 0x00, 0x03, 0x00],
  vStore: [0xfd, 0x0b, 0x03, 0x00],
  splat: [0xfd, 0x14], // f64x2.splat
  lane: (l: number): number[] => [0xfd, 0x21, l], // f64x2.extract_lane
  vAdd: [0xfd, 0xf0, 0x01],
  vSub: [0xfd, 0xf1, 0x01],
  vMul: [0xfd, 0xf2, 0x01],
};

/** Builds one function body: `code` appends instructions; locals are declared by type runs. */
class FnBuilder {
  readonly code: number[] = [];
  emit(...parts: number[][]): this {
    for (const p of parts) this.code.push(...p);
    return this;
  }
  /** Address of element `index` (a local, in f64 elements) of the array at byte pointer `base`. */
  addr(base: number, index: number): this {
    return this.emit(W.get(index), W.i32(3), W.shl, W.get(base), W.add);
  }
  bytes(locals: [count: number, type: number][]): number[] {
    const decl = [...uleb(locals.length), ...locals.flatMap(([count, type]) => [...uleb(count), type])];
    const body = [...decl, ...this.code, ...W.end];
    return [...uleb(body.length), ...body];
  }
}

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

/**
 * gemm(a, b, out, m, n, kBytes, outStride): out[i*outStride + j] = sum_l A[i*k + l] B[j*k + l]
 * (byte pointers a, b, out; m a multiple of 4, n of 2, k of 2). Loops: i by 4 rows, j by 2 rows
 * of B, l by 2 lanes, eight f64x2 accumulators.
 */
function gemmFn(): number[] {
  // params 0 a, 1 b, 2 out, 3 m, 4 n, 5 kBytes, 6 outStride; i32 7 i, 8 j, 9 l, 10-13 rows of A,
  // 14-15 rows of B; v128 16-23 accumulators (row r, column c at 16 + 2r + c), 24 x, 25-26 y.
  const f = new FnBuilder();
  const acc = (r: number, c: number): number => 16 + 2 * r + c;
  f.emit(W.i32(0), W.set(7), W.block, W.loop, W.get(7), W.get(3), W.geU, W.brIf(1));
  f.emit(W.get(0), W.get(7), W.get(5), W.mul, W.add, W.set(10));
  for (let r = 1; r < 4; r++) f.emit(W.get(9 + r), W.get(5), W.add, W.set(10 + r));
  f.emit(W.i32(0), W.set(8), W.block, W.loop, W.get(8), W.get(4), W.geU, W.brIf(1));
  f.emit(W.get(1), W.get(8), W.get(5), W.mul, W.add, W.set(14), W.get(14), W.get(5), W.add, W.set(15));
  for (let a = 16; a < 24; a++) f.emit(W.f64zero, W.splat, W.set(a));
  f.emit(W.i32(0), W.set(9), W.block, W.loop, W.get(9), W.get(5), W.geU, W.brIf(1));
  f.emit(W.get(14), W.get(9), W.add, W.vLoad, W.set(25), W.get(15), W.get(9), W.add, W.vLoad, W.set(26));
  for (let r = 0; r < 4; r++) {
    f.emit(W.get(10 + r), W.get(9), W.add, W.vLoad, W.set(24));
    for (let c = 0; c < 2; c++) f.emit(W.get(acc(r, c)), W.get(24), W.get(25 + c), W.vMul, W.vAdd, W.set(acc(r, c)));
  }
  f.emit(W.get(9), W.i32(16), W.add, W.set(9), W.br(0), W.end, W.end);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 2; c++) {
      // out + ((i + r) * outStride + j + c) * 8  <-  lane 0 + lane 1
      f.emit(W.get(7), W.i32(r), W.add, W.get(6), W.mul, W.get(8), W.add, W.i32(c), W.add, W.i32(3), W.shl, W.get(2), W.add);
      f.emit(W.get(acc(r, c)), W.lane(0), W.get(acc(r, c)), W.lane(1), W.f64Add, W.f64Store);
    }
  }
  f.emit(W.get(8), W.i32(2), W.add, W.set(8), W.br(0), W.end, W.end);
  f.emit(W.get(7), W.i32(4), W.add, W.set(7), W.br(0), W.end, W.end);
  return f.bytes([
    [9, I32],
    [11, V128],
  ]);
}

/**
 * symv(a, s, k0, n, v, p): over the trailing block [k0, n) of the symmetric matrix at a (row
 * stride s elements, lower triangle valid), p[i] += sum_{j<=i} a_ij v_j and p[j] += a_ij v_i for
 * j < i, i.e. p += A v. Columns start at k0 rounded down to even: v is zero below k0, so the extra
 * column adds nothing to the sums (its p entry is scratch).
 */
function symvFn(): number[] {
  // params 0 a, 1 s, 2 k0, 3 n, 4 v, 5 p; i32 6 i, 7 j, 8 row, 9 k0e, 10 ptr;
  // f64 11 vi, 12 sum, 13 x; v128 14 acc, 15 vi2, 16 xv
  const f = new FnBuilder();
  f.emit(W.get(2), W.i32(-2), W.and, W.set(9));
  f.emit(W.get(2), W.set(6), W.block, W.loop, W.get(6), W.get(3), W.geS, W.brIf(1));
  f.emit(W.get(6), W.get(1), W.mul, W.i32(3), W.shl, W.get(0), W.add, W.set(8)); // row = a + i*s*8
  f.addr(4, 6).emit(W.f64Load, W.set(11), W.get(11), W.splat, W.set(15));
  f.emit(W.f64zero, W.splat, W.set(14), W.get(9), W.set(7));
  // pairs strictly left of the diagonal: while (j + 1 < i)
  f.emit(W.block, W.loop, W.get(7), W.i32(1), W.add, W.get(6), W.geS, W.brIf(1));
  f.addr(8, 7).emit(W.vLoad, W.set(16));
  f.emit(W.get(14), W.get(16)).addr(4, 7).emit(W.vLoad, W.vMul, W.vAdd, W.set(14));
  f.addr(5, 7).emit(W.set(10), W.get(10), W.get(10), W.vLoad, W.get(16), W.get(15), W.vMul, W.vAdd, W.vStore);
  f.emit(W.get(7), W.i32(2), W.add, W.set(7), W.br(0), W.end, W.end);
  f.emit(W.get(14), W.lane(0), W.get(14), W.lane(1), W.f64Add, W.set(12));
  // one column left of the diagonal when (i - start) is odd
  f.emit(W.get(7), W.get(6), W.ltS, W.if);
  f.addr(8, 7).emit(W.f64Load, W.set(13));
  f.emit(W.get(12), W.get(13)).addr(4, 7).emit(W.f64Load, W.f64Mul, W.f64Add, W.set(12));
  f.addr(5, 7).emit(W.set(10), W.get(10), W.get(10), W.f64Load, W.get(13), W.get(11), W.f64Mul, W.f64Add, W.f64Store);
  f.emit(W.end);
  // p[i] += sum + a_ii v_i
  f.addr(5, 6).emit(W.set(10), W.get(10), W.get(10), W.f64Load, W.get(12), W.f64Add);
  f.addr(8, 6).emit(W.f64Load, W.get(11), W.f64Mul, W.f64Add, W.f64Store);
  f.emit(W.get(6), W.i32(1), W.add, W.set(6), W.br(0), W.end, W.end);
  return f.bytes([
    [5, I32],
    [3, F64],
    [3, V128],
  ]);
}

/**
 * syr2(a, s, k0, n, v, w): a_ij -= v_i w_j + w_i v_j over the lower triangle of the trailing
 * block [k0, n). Columns run in pairs from k0 rounded down to even (v, w are zero below k0, so
 * that column is unchanged) up to i or i + 1 (the upper-triangle entry, never read; s >= n + 1
 * keeps it inside the row, and v, w hold at least s entries).
 */
function syr2Fn(): number[] {
  // params 0 a, 1 s, 2 k0, 3 n, 4 v, 5 w; i32 6 i, 7 j, 8 row, 9 k0e, 10 ptr; v128 11 vi2, 12 wi2
  const f = new FnBuilder();
  f.emit(W.get(2), W.i32(-2), W.and, W.set(9));
  f.emit(W.get(2), W.set(6), W.block, W.loop, W.get(6), W.get(3), W.geS, W.brIf(1));
  f.emit(W.get(6), W.get(1), W.mul, W.i32(3), W.shl, W.get(0), W.add, W.set(8));
  f.addr(4, 6).emit(W.f64Load, W.splat, W.set(11));
  f.addr(5, 6).emit(W.f64Load, W.splat, W.set(12));
  f.emit(W.get(9), W.set(7), W.block, W.loop, W.get(7), W.get(6), W.gtS, W.brIf(1));
  f.addr(8, 7).emit(W.set(10), W.get(10), W.get(10), W.vLoad);
  f.emit(W.get(11)).addr(5, 7).emit(W.vLoad, W.vMul);
  f.emit(W.get(12)).addr(4, 7).emit(W.vLoad, W.vMul, W.vAdd, W.vSub, W.vStore);
  f.emit(W.get(7), W.i32(2), W.add, W.set(7), W.br(0), W.end, W.end);
  f.emit(W.get(6), W.i32(1), W.add, W.set(6), W.br(0), W.end, W.end);
  return f.bytes([
    [5, I32],
    [2, V128],
  ]);
}

/**
 * formq(q, s, n, vrows, beta, u): Q <- H_k Q for k = n-3 down to 0 (q starts as the identity;
 * row stride s, even), where H_k = I - beta_k v_k v_k^T and v_k is row k of vrows (stride s).
 * Each step: u = beta_k v_k^T Q[k+1:, c0:], then Q[k+1:, c0:] -= v_k u^T, with c0 = k+1
 * rounded down to even (rows k+1.. of Q are zero in column k at that point, so the extra column
 * is unchanged).
 */
function formqFn(): number[] {
  // params 0 q, 1 s, 2 n, 3 vrows, 4 beta, 5 u; i32 6 k, 7 i, 8 c, 9 vk, 10 qi, 11 c0, 12 ptr;
  // f64 13 bk; v128 14 vi2, 15 bk2
  const f = new FnBuilder();
  const cLoop = (inner: () => void): void => {
    f.emit(W.get(11), W.set(8), W.block, W.loop, W.get(8), W.get(1), W.geS, W.brIf(1));
    inner();
    f.emit(W.get(8), W.i32(2), W.add, W.set(8), W.br(0), W.end, W.end);
  };
  const rowLoop = (inner: () => void): void => {
    f.emit(W.get(6), W.i32(1), W.add, W.set(7), W.block, W.loop, W.get(7), W.get(2), W.geS, W.brIf(1));
    f.addr(9, 7).emit(W.f64Load, W.splat, W.set(14));
    f.emit(W.get(7), W.get(1), W.mul, W.i32(3), W.shl, W.get(0), W.add, W.set(10));
    inner();
    f.emit(W.get(7), W.i32(1), W.add, W.set(7), W.br(0), W.end, W.end);
  };
  f.emit(W.get(2), W.i32(3), W.sub, W.set(6), W.block, W.loop, W.get(6), W.i32(0), W.ltS, W.brIf(1));
  f.emit(W.block); // skipped when beta_k == 0
  f.addr(4, 6).emit(W.f64Load, W.set(13), W.get(13), W.f64zero, W.f64Eq, W.brIf(0));
  f.emit(W.get(6), W.get(1), W.mul, W.i32(3), W.shl, W.get(3), W.add, W.set(9)); // vk = vrows + k*s*8
  f.emit(W.get(6), W.i32(1), W.add, W.i32(-2), W.and, W.set(11));
  cLoop(() => f.addr(5, 8).emit(W.f64zero, W.splat, W.vStore));
  rowLoop(() =>
    cLoop(() => {
      f.addr(5, 8).emit(W.set(12), W.get(12), W.get(12), W.vLoad, W.get(14));
      f.addr(10, 8).emit(W.vLoad, W.vMul, W.vAdd, W.vStore);
    }),
  );
  f.emit(W.get(13), W.splat, W.set(15));
  cLoop(() => f.addr(5, 8).emit(W.set(12), W.get(12), W.get(12), W.vLoad, W.get(15), W.vMul, W.vStore));
  rowLoop(() =>
    cLoop(() => {
      f.addr(10, 8).emit(W.set(12), W.get(12), W.get(12), W.vLoad, W.get(14));
      f.addr(5, 8).emit(W.vLoad, W.vMul, W.vSub, W.vStore);
    }),
  );
  f.emit(W.end); // beta_k == 0 lands here
  f.emit(W.get(6), W.i32(1), W.sub, W.set(6), W.br(0), W.end, W.end);
  return f.bytes([
    [7, I32],
    [1, F64],
    [2, V128],
  ]);
}

/** The module: imports memory env.mem; exports gemm, symv, syr2 and formq (above). */
function kernelModuleBytes(): Uint8Array<ArrayBuffer> {
  const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
  const ascii = (s: string): number[] => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const params = (count: number): number[] => [0x60, count, ...new Array<number>(count).fill(I32), 0];
  const names = ["gemm", "symv", "syr2", "formq"];
  const bodies = [gemmFn(), symvFn(), syr2Fn(), formqFn()];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [2, ...params(7), ...params(6)]),
    ...section(2, [1, ...ascii("env"), ...ascii("mem"), 0x02, 0x00, 0x01]),
    ...section(3, [4, 0, 1, 1, 1]),
    ...section(7, [4, ...names.flatMap((name, i) => [...ascii(name), 0x00, i])]),
    ...section(10, [4, ...bodies.flat()]),
  ]);
}

type Kernel6 = (a: number, b: number, c: number, d: number, e: number, f: number) => void;

interface WasmKernels {
  memory: WebAssembly.Memory;
  gemm: (a: number, b: number, out: number, m: number, n: number, kBytes: number, outStride: number) => void;
  symv: Kernel6;
  syr2: Kernel6;
  formq: Kernel6;
}

let wasmState: WasmKernels | null | undefined;
let wasmEnabled = true;

/** Turns the WebAssembly kernels off or on (tests compare both paths). */
export function setWasmKernelsEnabled(enabled: boolean): void {
  wasmEnabled = enabled;
}

/** Whether the WebAssembly SIMD kernels are in use. */
export function wasmKernelsAvailable(): boolean {
  return wasmKernels() !== null;
}

function wasmKernels(): WasmKernels | null {
  if (!wasmEnabled) return null;
  if (wasmState !== undefined) return wasmState;
  try {
    const bytes = kernelModuleBytes();
    if (!WebAssembly.validate(bytes)) {
      wasmState = null;
      return null;
    }
    const memory = new WebAssembly.Memory({ initial: 16 });
    const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory } }).exports;
    wasmState = {
      memory,
      gemm: exports.gemm as WasmKernels["gemm"],
      symv: exports.symv as Kernel6,
      syr2: exports.syr2 as Kernel6,
      formq: exports.formq as Kernel6,
    };
  } catch {
    wasmState = null; // no WebAssembly SIMD here: the JS loops do the work
  }
  return wasmState;
}

/** A Float64Array view of the kernels' memory with at least `elements` entries (grown as needed). */
function heapOf(kernels: WasmKernels, elements: number): Float64Array {
  const bytes = elements * 8;
  const have = kernels.memory.buffer.byteLength;
  if (bytes > have) kernels.memory.grow(Math.ceil((bytes - have) / 65536));
  return new Float64Array(kernels.memory.buffer);
}

/** Copies row-major [rows x cols] into a zero-padded [paddedRows x paddedCols] block of heap. */
function copyPadded(heap: Float64Array, at: number, src: ArrayLike<number>, rows: number, cols: number, paddedRows: number, paddedCols: number): void {
  if (cols === paddedCols && src instanceof Float64Array) {
    heap.set(src.subarray(0, rows * cols), at);
  } else {
    for (let i = 0; i < rows; i++) {
      const base = at + i * paddedCols;
      for (let c = 0; c < cols; c++) heap[base + c] = src[i * cols + c];
      for (let c = cols; c < paddedCols; c++) heap[base + c] = 0;
    }
  }
  heap.fill(0, at + rows * paddedCols, at + paddedRows * paddedCols);
}

/** gemmNT on the WebAssembly kernel: operands copied (zero-padded) into its memory, result added back. */
function gemmNTWasm(kernels: WasmKernels, a: ArrayLike<number>, m: number, k: number, b: ArrayLike<number>, n: number, out: Float64Array, lowerOnly: boolean): void {
  const m4 = Math.ceil(m / 4) * 4;
  const n2 = Math.ceil(n / 2) * 2;
  const k2 = Math.ceil(k / 2) * 2;
  const aAt = 0;
  const bAt = m4 * k2;
  const outAt = bAt + n2 * k2;
  const heap = heapOf(kernels, outAt + m4 * n2);
  copyPadded(heap, aAt, a, m, k, m4, k2);
  copyPadded(heap, bAt, b, n, k, n2, k2);
  if (lowerOnly) {
    // One call per block of four rows, over the columns up to that block's diagonal.
    for (let i = 0; i < m4; i += 4) {
      const cols = Math.min(n2, Math.ceil((i + 4) / 2) * 2);
      kernels.gemm((aAt + i * k2) * 8, bAt * 8, (outAt + i * n2) * 8, 4, cols, k2 * 8, n2);
    }
    for (let i = 0; i < m; i++) {
      const cols = Math.min(n, Math.floor(i / 4) * 4 + 4);
      for (let j = 0; j < cols; j++) out[i * n + j] += heap[outAt + i * n2 + j];
    }
    return;
  }
  kernels.gemm(aAt * 8, bAt * 8, outAt * 8, m4, n2, k2 * 8, n2);
  for (let i = 0; i < m; i++) {
    const src = outAt + i * n2;
    const dst = i * n;
    for (let j = 0; j < n; j++) out[dst + j] += heap[src + j];
  }
}

/** Row stride for the tridiagonal kernels: even (pairs of lanes) and at least n + 1 (see syr2). */
function paddedStride(n: number): number {
  return (n + 2) & ~1;
}

/** tridiagonalize with the symmetric product and rank-2 update on the WebAssembly kernels. */
function tridiagonalizeWasm(kernels: WasmKernels, a: Float64Array, n: number): Tridiagonal {
  const s = paddedStride(n);
  const aAt = 0;
  const vAt = n * s;
  const pAt = vAt + s;
  const heap = heapOf(kernels, pAt + s);
  copyPadded(heap, aAt, a, n, n, n, s);
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(n - 1, 0));
  const v = new Float64Array(n * n);
  const beta = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    d[k] = heap[aAt + k * s + k];
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) norm2 += heap[aAt + i * s + k] ** 2;
    const x0 = heap[aAt + (k + 1) * s + k];
    const norm = Math.sqrt(norm2);
    if (norm === 0) {
      e[k] = 0;
      continue;
    }
    const sign = x0 >= 0 ? -norm : norm;
    heap.fill(0, vAt, vAt + s);
    let vnorm2 = 0;
    for (let i = k + 1; i < n; i++) {
      const vi = i === k + 1 ? x0 - sign : heap[aAt + i * s + k];
      heap[vAt + i] = vi;
      v[k * n + i] = vi;
      vnorm2 += vi * vi;
    }
    const b = 2 / vnorm2;
    beta[k] = b;
    e[k] = sign;
    heap.fill(0, pAt, pAt + s);
    kernels.symv(aAt * 8, s, k + 1, n, vAt * 8, pAt * 8);
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      heap[pAt + i] *= b;
      pv += heap[pAt + i] * heap[vAt + i];
    }
    const half = (b / 2) * pv;
    for (let i = k + 1; i < n; i++) heap[pAt + i] -= half * heap[vAt + i]; // p now holds w
    heap.fill(0, pAt, pAt + k + 1); // symv's scratch column must not enter the update
    kernels.syr2(aAt * 8, s, k + 1, n, vAt * 8, pAt * 8);
  }
  if (n >= 2) {
    d[n - 2] = heap[aAt + (n - 2) * s + (n - 2)];
    e[n - 2] = heap[aAt + (n - 1) * s + (n - 2)];
  }
  if (n >= 1) d[n - 1] = heap[aAt + (n - 1) * s + (n - 1)];
  return { n, d, e, v, beta };
}

/** formQ on the WebAssembly kernel. */
function formQWasm(kernels: WasmKernels, tri: Tridiagonal): Float64Array {
  const { n } = tri;
  const s = paddedStride(n);
  const qAt = 0;
  const vAt = n * s;
  const betaAt = vAt + n * s;
  const uAt = betaAt + n;
  const heap = heapOf(kernels, uAt + s);
  heap.fill(0, qAt, qAt + n * s);
  for (let i = 0; i < n; i++) heap[qAt + i * s + i] = 1;
  copyPadded(heap, vAt, tri.v, n, n, n, s);
  heap.set(tri.beta, betaAt);
  kernels.formq(qAt * 8, s, n, vAt * 8, betaAt * 8, uAt * 8);
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q.set(heap.subarray(qAt + i * s, qAt + i * s + n), i * n);
  return q;
}

