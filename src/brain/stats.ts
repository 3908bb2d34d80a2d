/** Small statistics helpers for brain encoding: means, column z-scores and Pearson correlations. */

/** Arithmetic mean; NaN for an empty list. */
export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Pearson correlation of two equal-length sequences; 0 when either is constant (no variance to explain). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`pearson: lengths differ (${a.length} vs ${b.length})`);
  const n = a.length;
  if (n === 0) return 0;
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (!(saa > 0) || !(sbb > 0)) return 0;
  return sab / Math.sqrt(saa * sbb);
}

export interface ZscoreResult {
  /** Row-major [rows x cols]. */
  z: Float64Array;
  mean: Float64Array;
  /** Population standard deviation (divide by rows, as numpy's default and sklearn's StandardScaler); 0 for constant columns. */
  std: Float64Array;
}

// Below this spread relative to its mean a column counts as constant (rounding leftovers).
const CONSTANT_REL_TOL = 1e-10;

/**
 * Z-scores each column of a row-major [rows x cols] matrix. With opts.mean/opts.std the given
 * statistics are applied instead (e.g. training-fold statistics applied to test rows). Constant
 * columns (std 0) become zeros and report std 0.
 */
export function zscoreColumns(
  x: ArrayLike<number>,
  rows: number,
  cols: number,
  opts: { mean?: ArrayLike<number>; std?: ArrayLike<number> } = {},
): ZscoreResult {
  if (x.length !== rows * cols) throw new Error(`zscoreColumns: ${x.length} values for ${rows} x ${cols}`);
  let mu: Float64Array;
  if (opts.mean) {
    mu = Float64Array.from(opts.mean);
  } else {
    mu = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      for (let c = 0; c < cols; c++) mu[c] += x[base + c];
    }
    for (let c = 0; c < cols; c++) mu[c] /= rows;
  }
  let sd: Float64Array;
  if (opts.std) {
    sd = Float64Array.from(opts.std);
  } else {
    sd = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      for (let c = 0; c < cols; c++) {
        const d = x[base + c] - mu[c];
        sd[c] += d * d;
      }
    }
    for (let c = 0; c < cols; c++) {
      const s = Math.sqrt(sd[c] / rows);
      sd[c] = s > 0 && s > CONSTANT_REL_TOL * Math.abs(mu[c]) ? s : 0;
    }
  }
  if (mu.length !== cols || sd.length !== cols) throw new Error("zscoreColumns: mean/std length must equal cols");
  const inv = new Float64Array(cols);
  for (let c = 0; c < cols; c++) inv[c] = sd[c] > 0 ? 1 / sd[c] : 0;
  const z = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let c = 0; c < cols; c++) z[base + c] = (x[base + c] - mu[c]) * inv[c];
  }
  return { z, mean: mu, std: sd };
}

/** Pearson r of each column of two row-major [rows x cols] matrices; 0 where either column is constant. */
export function pearsonColumns(pred: ArrayLike<number>, actual: ArrayLike<number>, rows: number, cols: number): Float64Array {
  if (pred.length !== rows * cols || actual.length !== rows * cols) {
    throw new Error(`pearsonColumns: expected ${rows * cols} values, got ${pred.length} and ${actual.length}`);
  }
  const mp = new Float64Array(cols);
  const ma = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let c = 0; c < cols; c++) {
      mp[c] += pred[base + c];
      ma[c] += actual[base + c];
    }
  }
  for (let c = 0; c < cols; c++) {
    mp[c] /= rows;
    ma[c] /= rows;
  }
  const spa = new Float64Array(cols);
  const spp = new Float64Array(cols);
  const saa = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let c = 0; c < cols; c++) {
      const dp = pred[base + c] - mp[c];
      const da = actual[base + c] - ma[c];
      spa[c] += dp * da;
      spp[c] += dp * dp;
      saa[c] += da * da;
    }
  }
  const r = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    // Relative tolerance only (r is scale-free): a column constant up to rounding carries no signal.
    const okP = spp[c] > 0 && spp[c] > 1e-24 * mp[c] * mp[c] * rows;
    const okA = saa[c] > 0 && saa[c] > 1e-24 * ma[c] * ma[c] * rows;
    r[c] = okP && okA ? spa[c] / Math.sqrt(spp[c] * saa[c]) : 0;
  }
  return r;
}
