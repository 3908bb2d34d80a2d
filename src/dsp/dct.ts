/**
 * DCT-II and cepstral liftering as Kaldi's MFCC uses them (matrix-functions.cc ComputeDctMatrix,
 * mel-computations.cc ComputeLifterCoeffs).
 */

/**
 * Orthonormal DCT-II matrix, row-major [numCeps x numBins]:
 *   M[0][n] = sqrt(1/N),  M[k][n] = sqrt(2/N) cos(pi/N (n + 0.5) k).
 * Kaldi builds the full N x N matrix and keeps the first numCeps rows; this is the same thing.
 */
export function dctMatrix(numCeps: number, numBins: number): Float64Array {
  if (!Number.isInteger(numCeps) || !Number.isInteger(numBins) || numCeps < 1 || numCeps > numBins) {
    throw new Error(`need 1 <= numCeps <= numBins, got ${numCeps} and ${numBins}`);
  }
  const m = new Float64Array(numCeps * numBins);
  const n0 = Math.sqrt(1 / numBins);
  const nk = Math.sqrt(2 / numBins);
  for (let n = 0; n < numBins; n++) m[n] = n0;
  for (let k = 1; k < numCeps; k++) {
    for (let n = 0; n < numBins; n++) m[k * numBins + n] = nk * Math.cos((Math.PI / numBins) * (n + 0.5) * k);
  }
  return m;
}

/** y = M x for a row-major [rows x cols] matrix. */
export function matVec(m: Float64Array, rows: number, cols: number, x: ArrayLike<number>, out?: Float64Array): Float64Array {
  const y = out ?? new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) s += m[base + c] * x[c];
    y[r] = s;
  }
  return y;
}

/** Orthonormal DCT-II of x, keeping the first numCeps coefficients (all by default). */
export function dct2(x: ArrayLike<number>, numCeps: number = x.length): Float64Array {
  return matVec(dctMatrix(numCeps, x.length), numCeps, x.length, x);
}

/** Sinusoidal lifter: c[i] = 1 + Q/2 sin(pi i / Q) (Kaldi cepstral-lifter, default Q = 22). */
export function lifterCoefficients(numCeps: number, q: number = 22): Float64Array {
  const c = new Float64Array(numCeps);
  for (let i = 0; i < numCeps; i++) c[i] = q === 0 ? 1 : 1 + 0.5 * q * Math.sin((Math.PI * i) / q);
  return c;
}
