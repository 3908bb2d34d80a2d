import { describe, expect, it } from "vitest";
import { ctcGreedyDecode, ctcLossAndGradient, ctcMinFrames } from "../src/ctc.js";

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomLogits(T: number, V: number, scale: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: T * V }, () => (r() * 2 - 1) * scale);
}

/** Collapse repeats, then drop blanks: the CTC many-to-one map B. */
function collapse(path: readonly number[], blank: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < path.length; t++) {
    if (path[t] !== blank && (t === 0 || path[t] !== path[t - 1])) out.push(path[t]);
  }
  return out;
}

/** p(labels | x) by summing Π_t softmax(x_t)[path_t] over all V^T paths with B(path) = labels. */
function bruteForceProb(logits: Float32Array, T: number, V: number, labels: readonly number[], blank: number): number {
  const probs: number[][] = [];
  for (let t = 0; t < T; t++) {
    const row = Array.from(logits.subarray(t * V, (t + 1) * V));
    const m = Math.max(...row);
    const e = row.map((u) => Math.exp(u - m));
    const z = e.reduce((a, b) => a + b, 0);
    probs.push(e.map((x) => x / z));
  }
  let total = 0;
  const path = new Array<number>(T).fill(0);
  for (let code = 0; code < V ** T; code++) {
    let c = code;
    let p = 1;
    for (let t = 0; t < T; t++) {
      path[t] = c % V;
      c = Math.floor(c / V);
      p *= probs[t][path[t]];
    }
    const out = collapse(path, blank);
    if (out.length === labels.length && out.every((x, i) => x === labels[i])) total += p;
  }
  return total;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Central finite differences of the loss, using the float32 values actually stored. */
function finiteDifferenceGradient(
  logits: Float32Array,
  T: number,
  V: number,
  labels: readonly number[],
  blank: number,
  eps = 1e-3,
): Float64Array {
  const g = new Float64Array(logits.length);
  const x = Float32Array.from(logits);
  for (let i = 0; i < x.length; i++) {
    const orig = x[i];
    x[i] = orig + eps;
    const up = x[i];
    const lUp = ctcLossAndGradient(x, T, V, labels, blank).loss;
    x[i] = orig - eps;
    const down = x[i];
    const lDown = ctcLossAndGradient(x, T, V, labels, blank).loss;
    x[i] = orig;
    g[i] = (lUp - lDown) / (up - down);
  }
  return g;
}

describe("ctcLossAndGradient: hand-computed cases", () => {
  it("T=2, V=2, uniform, labels [1]", () => {
    // y = 1/2 everywhere. Paths collapsing to [1]: 11, 01, 10 -> p = 3/4, loss = ln(4/3).
    // Posterior of class 1 at t=0: paths 11, 10 -> (2/4)/(3/4) = 2/3 (same at t=1 via 11, 01).
    // grad = softmax - posterior: class 0: 1/2 - 1/3 = 1/6, class 1: 1/2 - 2/3 = -1/6.
    const r = ctcLossAndGradient(new Float32Array(4), 2, 2, [1]);
    expect(r.feasible).toBe(true);
    expect(r.loss).toBeCloseTo(Math.log(4 / 3), 12);
    expect(maxAbsDiff(r.gradient, [1 / 6, -1 / 6, 1 / 6, -1 / 6])).toBeLessThan(1e-7);
  });

  it("T=3, V=2, uniform, repeated labels [1, 1] has a single alignment", () => {
    // Only 1 0 1 collapses to [1, 1]: p = 1/8, loss = 3 ln 2. Posteriors are one-hot on that path:
    // grad rows = (1/2, 1/2) - onehot: [.5, -.5], [-.5, .5], [.5, -.5].
    const r = ctcLossAndGradient(new Float32Array(6), 3, 2, [1, 1]);
    expect(r.loss).toBeCloseTo(3 * Math.log(2), 12);
    expect(maxAbsDiff(r.gradient, [0.5, -0.5, -0.5, 0.5, 0.5, -0.5])).toBeLessThan(1e-7);
  });

  it("empty label sequence: all-blank path only", () => {
    // T=2, V=2 uniform: p(blank blank) = 1/4 -> loss = 2 ln 2.
    expect(ctcLossAndGradient(new Float32Array(4), 2, 2, []).loss).toBeCloseTo(2 * Math.log(2), 12);
    // No frames and no labels: the empty alignment, p = 1.
    expect(ctcLossAndGradient(new Float32Array(0), 0, 2, [])).toEqual({
      loss: 0,
      gradient: new Float32Array(0),
      feasible: true,
    });
  });
});

describe("ctcLossAndGradient: infeasible alignments", () => {
  it("needs L + (number of adjacent repeats) frames", () => {
    expect(ctcMinFrames([1, 1])).toBe(3);
    expect(ctcMinFrames([1, 2, 2, 2, 3])).toBe(7);
    expect(ctcMinFrames([])).toBe(0);
  });

  it("returns Infinity, a zero gradient and feasible=false", () => {
    const logits = randomLogits(2, 3, 2, 1);
    for (const labels of [[1, 1], [1, 2, 1]]) {
      const r = ctcLossAndGradient(logits, 2, 3, labels);
      expect(r.feasible).toBe(false);
      expect(r.loss).toBe(Infinity);
      expect(r.gradient).toEqual(new Float32Array(6));
    }
    // 0 frames, 1 label.
    expect(ctcLossAndGradient(new Float32Array(0), 0, 3, [1]).feasible).toBe(false);
    // Feasible by length but every path needs a class whose logit is -Infinity.
    const masked = new Float32Array([0, -Infinity, 0, -Infinity]);
    const r = ctcLossAndGradient(masked, 2, 2, [1]);
    expect(r).toEqual({ loss: Infinity, gradient: new Float32Array(4), feasible: false });
  });
});

describe("ctcLossAndGradient vs brute-force enumeration of all alignments", () => {
  const cases: { T: number; labels: number[]; blank: number }[] = [
    { T: 3, labels: [], blank: 0 },
    { T: 3, labels: [1], blank: 0 },
    { T: 3, labels: [1, 2], blank: 0 },
    { T: 3, labels: [1, 1], blank: 0 },
    { T: 4, labels: [2, 2], blank: 0 },
    { T: 4, labels: [1, 2, 1], blank: 0 },
    { T: 5, labels: [1, 1, 1], blank: 0 },
    { T: 5, labels: [2, 1, 1], blank: 0 },
    { T: 5, labels: [1, 2], blank: 0 },
    { T: 4, labels: [0, 1], blank: 2 },
    { T: 5, labels: [0, 0, 1], blank: 2 },
    { T: 5, labels: [2, 0], blank: 1 },
  ];
  for (const [i, { T, labels, blank }] of cases.entries()) {
    it(`T=${T}, V=3, labels [${labels.join(",")}], blank ${blank}`, () => {
      const V = 3;
      const logits = randomLogits(T, V, 3, 100 + i);
      const r = ctcLossAndGradient(logits, T, V, labels, blank);
      const p = bruteForceProb(logits, T, V, labels, blank);
      expect(p).toBeGreaterThan(0);
      expect(r.feasible).toBe(true);
      expect(Math.abs(r.loss - -Math.log(p))).toBeLessThan(1e-10);
      // Every path occupies exactly one class per frame, so each gradient row sums to 1 - 1 = 0.
      for (let t = 0; t < T; t++) {
        const rowSum = r.gradient.subarray(t * V, (t + 1) * V).reduce((a, b) => a + b, 0);
        expect(Math.abs(rowSum)).toBeLessThan(1e-6);
      }
    });
  }
});

describe("ctcLossAndGradient: gradient vs central finite differences", () => {
  const cases: { T: number; V: number; labels: number[]; blank: number; scale: number }[] = [
    { T: 5, V: 3, labels: [1, 1], blank: 0, scale: 2 },
    { T: 6, V: 4, labels: [1, 2, 2], blank: 0, scale: 2 },
    { T: 5, V: 3, labels: [0, 1], blank: 2, scale: 2 },
    { T: 20, V: 5, labels: [3, 1, 4, 1, 4, 2], blank: 0, scale: 4 },
    { T: 4, V: 3, labels: [], blank: 0, scale: 1 },
  ];
  for (const [i, { T, V, labels, blank, scale }] of cases.entries()) {
    it(`T=${T}, V=${V}, labels [${labels.join(",")}], blank ${blank}`, () => {
      const logits = randomLogits(T, V, scale, 200 + i);
      const r = ctcLossAndGradient(logits, T, V, labels, blank);
      const fd = finiteDifferenceGradient(logits, T, V, labels, blank);
      expect(maxAbsDiff(r.gradient, fd)).toBeLessThan(1e-4);
    });
  }
});

describe("ctcLossAndGradient: scale and stability", () => {
  it("loss is ~0 when the logits strongly favour one alignment of the labels (T=300, V=40, L=60)", () => {
    const T = 300;
    const V = 40;
    const r = rng(5);
    const labels = Array.from({ length: 60 }, () => 1 + Math.floor(r() * (V - 1)));
    labels[10] = labels[9]; // include a repeat, which needs a blank in between
    // Alignment: each label for 2 frames followed by 2 blank frames (4 * 60 = 240), then blanks.
    const path = new Array<number>(T).fill(0);
    labels.forEach((l, i) => {
      path[4 * i] = l;
      path[4 * i + 1] = l;
    });
    const logits = new Float32Array(T * V);
    for (let t = 0; t < T; t++) logits[t * V + path[t]] = 30;
    const res = ctcLossAndGradient(logits, T, V, labels);
    // Each frame puts 1 - 39 e^-30 ≈ 1 - 4e-12 on the path, so loss <= 300 * 4e-12 ≈ 1e-9.
    expect(res.feasible).toBe(true);
    expect(Math.abs(res.loss)).toBeLessThan(1e-6);
    expect(maxAbsDiff(res.gradient, new Float32Array(T * V))).toBeLessThan(1e-6);
    expect(ctcGreedyDecode(logits, T, V)).toEqual(labels);
  });

  it("stays finite for long inputs with extreme logits", () => {
    const T = 300;
    const V = 40;
    const logits = randomLogits(T, V, 200, 9);
    const labels = Array.from({ length: 60 }, (_, i) => 1 + (i % 39));
    const res = ctcLossAndGradient(logits, T, V, labels);
    expect(res.feasible).toBe(true);
    expect(Number.isFinite(res.loss)).toBe(true);
    expect(res.loss).toBeGreaterThan(0);
    expect(res.gradient.every((g) => Number.isFinite(g) && Math.abs(g) <= 1 + 1e-6)).toBe(true);
  });

  it("rejects malformed input", () => {
    expect(() => ctcLossAndGradient(new Float32Array(5), 2, 3, [1])).toThrow(/expected 2 x 3/);
    expect(() => ctcLossAndGradient(new Float32Array(6), 2, 3, [0])).toThrow(/non-blank/);
    expect(() => ctcLossAndGradient(new Float32Array(6), 2, 3, [3])).toThrow(/non-blank/);
    expect(() => ctcLossAndGradient(new Float32Array(6), 2, 3, [1], 3)).toThrow(/blank 3/);
    expect(() => ctcLossAndGradient(new Float32Array([0, Number.NaN, 0]), 1, 3, [1])).toThrow(/NaN/);
  });
});

describe("ctcGreedyDecode", () => {
  const frames = (rows: number[][]): Float32Array => Float32Array.from(rows.flat());

  it("argmax, merge repeats, drop blanks", () => {
    // argmax per frame: 0 1 1 0 1 2 2 0 -> merge: 0 1 0 1 2 0 -> drop 0: [1, 1, 2].
    const x = frames([
      [5, 1, 0],
      [0, 3, 1],
      [0, 2, 1],
      [4, 0, 0],
      [0, 9, 0],
      [0, 0, 1],
      [-1, -2, -0.5],
      [2, 1, 1],
    ]);
    expect(ctcGreedyDecode(x, 8, 3)).toEqual([1, 1, 2]);
    // Same argmaxes with class 2 as the blank: 0 1 0 1 2 0 -> [0, 1, 0, 1, 0].
    expect(ctcGreedyDecode(x, 8, 3, 2)).toEqual([0, 1, 0, 1, 0]);
  });

  it("ties go to the lowest class; empty and all-blank inputs give []", () => {
    // Frame 0: tie 1 vs 2 -> 1; frame 1: tie 0 vs 2 -> 0 (blank).
    expect(ctcGreedyDecode(frames([[0, 1, 1], [1, 0, 1]]), 2, 3)).toEqual([1]);
    expect(ctcGreedyDecode(new Float32Array(0), 0, 3)).toEqual([]);
    expect(ctcGreedyDecode(frames([[1, 0], [2, 1]]), 2, 2)).toEqual([]);
  });
});
