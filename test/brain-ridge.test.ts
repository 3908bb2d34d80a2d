import { Matrix, inverse } from "ml-matrix";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_ALPHAS,
  applyQ,
  applyQt,
  contiguousFolds,
  formQ,
  gemmNT,
  setWasmKernelsEnabled,
  wasmKernelsAvailable,
  gram,
  kernelRidgeCv,
  kernelRidgePredict,
  logspace,
  ridgeCv,
  ridgeSvdPath,
  tridiagonalize,
} from "../src/brain/ridge.js";
import { pearson } from "../src/brain/stats.js";

/** Deterministic standard normals (xorshift + Box-Muller) so tests do not depend on a library. */
function normals(count: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  const uniform = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

/** (X^T X + a I)^-1 X^T Y with ml-matrix's inverse: the closed form, independently computed. */
function closedForm(x: Float64Array, n: number, p: number, y: Float64Array, t: number, alpha: number): Matrix {
  const X = new Matrix(n, p);
  const Y = new Matrix(n, t);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) X.set(i, j, x[i * p + j]);
    for (let j = 0; j < t; j++) Y.set(i, j, y[i * t + j]);
  }
  const A = X.transpose().mmul(X).add(Matrix.eye(p).mul(alpha));
  return inverse(A).mmul(X.transpose().mmul(Y));
}

describe("contiguousFolds", () => {
  it("splits 0..n-1 into k contiguous test blocks", () => {
    const folds = contiguousFolds(10, 3);
    expect(folds.map((f) => f.test)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]);
    expect(folds[1].train).toEqual([0, 1, 2, 6, 7, 8, 9]);
    expect(() => contiguousFolds(3, 5)).toThrow(/cannot be split/);
    expect(() => contiguousFolds(10, 1)).toThrow(/at least 2/);
  });

  it("logspace matches numpy.logspace", () => {
    expect(logspace(-1, 1, 3)).toEqual([0.1, 1, 10]);
    expect(DEFAULT_ALPHAS.length).toBe(10);
    expect(DEFAULT_ALPHAS[0]).toBeCloseTo(0.1, 15);
    expect(DEFAULT_ALPHAS[9]).toBeCloseTo(1e8, 4);
  });
});

describe("ridgeSvdPath", () => {
  for (const [n, p] of [
    [12, 4],
    [5, 9],
  ]) {
    it(`equals the closed form (X^T X + aI)^-1 X^T Y for n=${n}, p=${p}`, () => {
      const t = 3;
      const x = normals(n * p, 11 + n);
      const y = normals(n * t, 99 + p);
      const alphas = [0.01, 1, 50];
      const path = ridgeSvdPath(x, n, p, y, t, alphas);
      alphas.forEach((alpha, ai) => {
        const expected = closedForm(x, n, p, y, t, alpha);
        const w = path.weights(ai);
        for (let i = 0; i < p; i++) for (let j = 0; j < t; j++) expect(w[i * t + j]).toBeCloseTo(expected.get(i, j), 9);
        const xNew = normals(2 * p, 5);
        const pred = path.predict(xNew, 2, ai);
        for (let r = 0; r < 2; r++) {
          for (let j = 0; j < t; j++) {
            let s = 0;
            for (let i = 0; i < p; i++) s += xNew[r * p + i] * expected.get(i, j);
            expect(pred[r * t + j]).toBeCloseTo(s, 9);
          }
        }
      });
    });
  }
});

describe("tridiagonalisation", () => {
  it("Q T Q^T reproduces the matrix", () => {
    const n = 7;
    const x = normals(n * 4, 3);
    const a = gram(x, n, 4);
    const tri = tridiagonalize(a.slice(), n);
    // Build T, then Q T Q^T = Q (Q T)^T since T is symmetric.
    const tm = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      tm[i * n + i] = tri.d[i];
      if (i < n - 1) {
        tm[i * n + i + 1] = tri.e[i];
        tm[(i + 1) * n + i] = tri.e[i];
      }
    }
    applyQ(tri, tm, n); // Q T
    const qtT = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) qtT[i * n + j] = tm[j * n + i];
    applyQ(tri, qtT, n); // Q (Q T)^T = Q T Q^T
    for (let i = 0; i < n * n; i++) expect(qtT[i]).toBeCloseTo(a[i], 10);
    // Q is orthogonal: Q^T Q b = b
    const b = normals(n * 2, 8);
    const c = b.slice();
    applyQ(tri, c, 2);
    applyQt(tri, c, 2);
    for (let i = 0; i < b.length; i++) expect(c[i]).toBeCloseTo(b[i], 12);
  });
});

describe("ridgeCv", () => {
  it("with a one-value grid equals centred closed-form ridge with an intercept (n > p and n < p)", () => {
    for (const [n, p] of [
      [30, 5],
      [10, 25],
    ]) {
      const t = 2;
      const x = normals(n * p, 7 + p).map((v, i) => v + (i % p)); // non-zero column means
      const y = normals(n * t, 17 + n).map((v) => v + 3);
      const alpha = 2.5;
      const fit = ridgeCv(x, n, p, y, t, { alphas: [alpha] });
      // Independent check: centre X and Y, closed form, intercept = ybar - xbar W.
      const xm = new Float64Array(p);
      const ym = new Float64Array(t);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < p; j++) xm[j] += x[i * p + j] / n;
        for (let j = 0; j < t; j++) ym[j] += y[i * t + j] / n;
      }
      const xc = x.map((v, i) => v - xm[i % p]);
      const yc = y.map((v, i) => v - ym[i % t]);
      const w = closedForm(xc, n, p, yc, t, alpha);
      for (let i = 0; i < p; i++) for (let j = 0; j < t; j++) expect(fit.weights[i * t + j]).toBeCloseTo(w.get(i, j), 8);
      for (let j = 0; j < t; j++) {
        let b = ym[j];
        for (let i = 0; i < p; i++) b -= xm[i] * w.get(i, j);
        expect(fit.intercept[j]).toBeCloseTo(b, 8);
      }
      expect(Array.from(fit.alphas)).toEqual([alpha, alpha]);
    }
  });

  it("picks a small alpha for noiseless linear data and a large one for pure noise", () => {
    const n = 120;
    const p = 10;
    const x = normals(n * p, 42);
    const wTrue = normals(p, 43);
    const y = new Float64Array(n * 2);
    const noise = normals(n, 44);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < p; j++) s += x[i * p + j] * wTrue[j];
      y[i * 2] = s; // target 0: noiseless linear
      y[i * 2 + 1] = noise[i]; // target 1: noise independent of X
    }
    const alphas = logspace(-3, 5, 9);
    const fit = ridgeCv(x, n, p, y, 2, { alphas, folds: 5 });
    expect(fit.alphas[0]).toBe(1e-3);
    expect(fit.alphas[1]).toBeGreaterThanOrEqual(1e3);
    // The noiseless target's weights are recovered.
    for (let j = 0; j < p; j++) expect(fit.weights[j * 2]).toBeCloseTo(wTrue[j], 3);
  });

  it("kernelRidgePredict on a test kernel matches X_test . W + b", () => {
    const n = 40;
    const p = 60;
    const t = 3;
    const x = normals(n * p, 1).map((v) => v + 0.5);
    const y = normals(n * t, 2);
    const alphas = [0.1, 10, 1000];
    const fit = ridgeCv(x, n, p, y, t, { alphas, folds: 4 });
    const model = kernelRidgeCv(gram(x, n, p), n, y, t, { alphas, folds: 4 });
    expect(Array.from(model.alphas)).toEqual(Array.from(fit.alphas));
    const m = 5;
    const xt = normals(m * p, 3);
    const kTest = new Float64Array(m * n);
    for (let a = 0; a < m; a++) for (let b = 0; b < n; b++) {
      let s = 0;
      for (let c = 0; c < p; c++) s += xt[a * p + c] * x[b * p + c];
      kTest[a * n + b] = s;
    }
    const pred = kernelRidgePredict(model, kTest, m);
    for (let a = 0; a < m; a++) for (let j = 0; j < t; j++) {
      let s = fit.intercept[j];
      for (let c = 0; c < p; c++) s += xt[a * p + c] * fit.weights[c * t + j];
      expect(pred[a * t + j]).toBeCloseTo(s, 8);
    }
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 14);
  });
});

describe("formQ", () => {
  it("equals applying the reflectors to the identity", () => {
    const n = 9;
    const a = gram(normals(n * 5, 21), n, 5);
    const tri = tridiagonalize(a, n);
    const q = formQ(tri);
    const eye = new Float64Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    applyQ(tri, eye, n);
    for (let i = 0; i < n * n; i++) expect(q[i]).toBeCloseTo(eye[i], 13);
  });
});

describe("gemmNT", () => {
  it("WebAssembly and JS paths agree with a naive product, including ragged sizes and lowerOnly", () => {
    expect(wasmKernelsAvailable()).toBe(true); // Node >= 20 has WebAssembly SIMD
    for (const [m, k, n] of [
      [7, 33, 5],
      [16, 64, 18],
      [41, 29, 23],
    ]) {
      const a = normals(m * k, m);
      const b = normals(n * k, n + 100);
      const naive = new Float64Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let l = 0; l < k; l++) naive[i * n + j] += a[i * k + l] * b[j * k + l];
      for (const wasm of [true, false]) {
        setWasmKernelsEnabled(wasm);
        const out = new Float64Array(m * n).fill(1); // gemmNT accumulates
        gemmNT(a, m, k, b, n, out);
        for (let i = 0; i < m * n; i++) expect(out[i]).toBeCloseTo(naive[i] + 1, 10);
        if (m === n || m > n) {
          const lower = new Float64Array(m * n);
          gemmNT(a, m, k, b, n, lower, true);
          for (let i = 0; i < m; i++) for (let j = 0; j <= Math.min(i, n - 1); j++) expect(lower[i * n + j]).toBeCloseTo(naive[i * n + j], 10);
        }
      }
      setWasmKernelsEnabled(true);
    }
    // gram through both paths is symmetric and equal
    const x = normals(30 * 50, 9);
    setWasmKernelsEnabled(false);
    const gJs = gram(x, 30, 50);
    setWasmKernelsEnabled(true);
    const gW = gram(x, 30, 50);
    for (let i = 0; i < 900; i++) expect(gW[i]).toBeCloseTo(gJs[i], 10);
  });
});

describe("WebAssembly tridiagonal kernels", () => {
  it("tridiagonalize and formQ agree with the JS loops (n = 16, 17, 40)", () => {
    for (const n of [16, 17, 40]) {
      // Full rank (60 features > n): for a rank-deficient matrix the trailing tridiagonal entries are
      // rounding noise and may differ between summation orders.
      const a = gram(normals(n * 60, n), n, 60);
      setWasmKernelsEnabled(false);
      const triJs = tridiagonalize(a.slice(), n);
      const qJs = formQ(triJs);
      setWasmKernelsEnabled(true);
      const triW = tridiagonalize(a.slice(), n);
      const qW = formQ(triW);
      const scale = Math.max(...Array.from(a, Math.abs));
      for (let i = 0; i < n; i++) expect(Math.abs(triW.d[i] - triJs.d[i]) / scale).toBeLessThan(1e-12);
      for (let i = 0; i < n - 1; i++) expect(Math.abs(triW.e[i] - triJs.e[i]) / scale).toBeLessThan(1e-12);
      for (let i = 0; i < n * n; i++) expect(qW[i]).toBeCloseTo(qJs[i], 10);
      // and Q T Q^T = A on the WebAssembly path
      const tq = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let s = qW[i * n + j] * triW.d[j];
        if (j > 0) s += qW[i * n + j - 1] * triW.e[j - 1];
        if (j < n - 1) s += qW[i * n + j + 1] * triW.e[j];
        tq[i * n + j] = s; // (Q T)[i][j]
      }
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let l = 0; l < n; l++) s += tq[i * n + l] * qW[j * n + l];
        expect(Math.abs(s - a[i * n + j]) / scale).toBeLessThan(1e-11);
      }
    }
  });
});
