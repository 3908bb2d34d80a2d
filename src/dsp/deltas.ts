/**
 * Time derivatives exactly as Kaldi's compute-deltas / add-deltas (feature-functions.cc
 * DeltaFeatures): order-k scales are the order-(k-1) scales convolved with [-w..w]/sum(j^2), and
 * every order is applied directly to the static features with edge frames replicated.
 */

export interface DeltaOptions {
  /** Highest derivative order (Kaldi default 2: static + delta + delta-delta). */
  order?: number;
  /** Half-width of the regression window (Kaldi default 2). */
  window?: number;
}

/** Filter taps for each order 0..order; taps for order i have length 1 + 2*i*window, centred. */
export function deltaScales(order: number = 2, window: number = 2): Float64Array[] {
  if (!Number.isInteger(order) || order < 0 || !Number.isInteger(window) || window < 1) {
    throw new Error(`bad delta options: order ${order}, window ${window}`);
  }
  const scales: Float64Array[] = [Float64Array.of(1)];
  for (let i = 1; i <= order; i++) {
    const prev = scales[i - 1];
    const prevOffset = (prev.length - 1) / 2;
    const curOffset = prevOffset + window;
    const cur = new Float64Array(prev.length + 2 * window);
    let normalizer = 0;
    for (let j = -window; j <= window; j++) {
      normalizer += j * j;
      for (let k = -prevOffset; k <= prevOffset; k++) cur[j + k + curOffset] += j * prev[k + prevOffset];
    }
    for (let t = 0; t < cur.length; t++) cur[t] /= normalizer;
    scales.push(cur);
  }
  return scales;
}

/**
 * Appends deltas to row-major [numFrames x dim] features, returning [numFrames x dim*(order+1)]
 * laid out as [static | delta | delta-delta | ...] per frame.
 */
export function appendDeltas(feats: Float32Array, numFrames: number, dim: number, opts: DeltaOptions = {}): Float32Array {
  const order = opts.order ?? 2;
  const window = opts.window ?? 2;
  if (feats.length !== numFrames * dim) throw new Error(`features hold ${feats.length} values, expected ${numFrames} x ${dim}`);
  const scales = deltaScales(order, window);
  const outDim = dim * (order + 1);
  const out = new Float32Array(numFrames * outDim);
  const acc = new Float64Array(dim);
  for (let t = 0; t < numFrames; t++) {
    for (let o = 0; o <= order; o++) {
      const taps = scales[o];
      const maxOffset = (taps.length - 1) / 2;
      acc.fill(0);
      for (let j = -maxOffset; j <= maxOffset; j++) {
        const scale = taps[j + maxOffset];
        if (scale === 0) continue;
        const src = Math.min(numFrames - 1, Math.max(0, t + j)) * dim;
        for (let d = 0; d < dim; d++) acc[d] += scale * feats[src + d];
      }
      const dst = t * outDim + o * dim;
      for (let d = 0; d < dim; d++) out[dst + d] = acc[d];
    }
  }
  return out;
}
