/**
 * Kaldi mel scale and triangular mel filterbank (mel-computations.cc, without VTLN).
 */

/** Kaldi/HTK mel scale: 1127 ln(1 + f/700). */
export function melScale(hz: number): number {
  return 1127 * Math.log(1 + hz / 700);
}

export function inverseMelScale(mel: number): number {
  return 700 * (Math.exp(mel / 1127) - 1);
}

export interface MelFilterbankOptions {
  numBins: number;
  /** Padded FFT length (e.g. 512); the filters cover FFT bins 0..fftSize/2. */
  fftSize: number;
  sampleRate: number;
  /** Low edge in Hz (Kaldi default 20). */
  lowFreq?: number;
  /** High edge in Hz; <= 0 means offset from Nyquist (Kaldi default 0 = Nyquist). */
  highFreq?: number;
}

/** One triangular filter, stored sparsely: weights apply to FFT bins start .. start+weights.length-1. */
export interface MelFilter {
  start: number;
  weights: Float64Array;
}

export interface MelFilterbank {
  numBins: number;
  fftSize: number;
  /** Power-spectrum length the filters expect: fftSize/2 + 1 (the Nyquist bin always has weight 0). */
  spectrumSize: number;
  centerFreqs: Float64Array;
  filters: MelFilter[];
}

/**
 * Triangles equally spaced on the mel scale between lowFreq and highFreq, evaluated at the centre
 * frequency of each FFT bin in the mel domain (so weights are linear in mel, not in Hz), exactly
 * as Kaldi's MelBanks constructor does.
 */
export function melFilterbank(opts: MelFilterbankOptions): MelFilterbank {
  const { numBins, fftSize, sampleRate } = opts;
  const nyquist = 0.5 * sampleRate;
  const lowFreq = opts.lowFreq ?? 20;
  let highFreq = opts.highFreq ?? 0;
  if (highFreq <= 0) highFreq += nyquist;
  if (!Number.isInteger(numBins) || numBins < 3) throw new Error(`need at least 3 mel bins, got ${numBins}`);
  if (!Number.isInteger(fftSize) || fftSize < 2 || fftSize % 2 !== 0) throw new Error(`FFT size must be even, got ${fftSize}`);
  if (!(lowFreq >= 0 && lowFreq < nyquist && highFreq > 0 && highFreq <= nyquist && lowFreq < highFreq)) {
    throw new Error(`bad mel range: low ${lowFreq} Hz, high ${highFreq} Hz, Nyquist ${nyquist} Hz`);
  }
  const numFftBins = fftSize / 2;
  const binWidth = sampleRate / fftSize;
  const melLow = melScale(lowFreq);
  const melHigh = melScale(highFreq);
  // numBins + 1 intervals because the outer triangles spread to the edges.
  const delta = (melHigh - melLow) / (numBins + 1);
  const fftMel = new Float64Array(numFftBins);
  for (let i = 0; i < numFftBins; i++) fftMel[i] = melScale(binWidth * i);

  const centerFreqs = new Float64Array(numBins);
  const filters: MelFilter[] = [];
  for (let b = 0; b < numBins; b++) {
    const left = melLow + b * delta;
    const center = melLow + (b + 1) * delta;
    const right = melLow + (b + 2) * delta;
    centerFreqs[b] = inverseMelScale(center);
    let first = -1;
    let last = -1;
    const dense = new Float64Array(numFftBins);
    for (let i = 0; i < numFftBins; i++) {
      const mel = fftMel[i];
      if (mel > left && mel < right) {
        dense[i] = mel <= center ? (mel - left) / (center - left) : (right - mel) / (right - center);
        if (first === -1) first = i;
        last = i;
      }
    }
    // An empty filter (possible with many bins and a short FFT) is kept as zero weights, as in torchaudio.
    filters.push(first === -1 ? { start: 0, weights: new Float64Array(0) } : { start: first, weights: dense.slice(first, last + 1) });
  }
  return { numBins, fftSize, spectrumSize: numFftBins + 1, centerFreqs, filters };
}

/** Filterbank energies: out[b] = sum_i weights_b[i] * spectrum[start_b + i]. */
export function applyMelFilterbank(bank: MelFilterbank, spectrum: ArrayLike<number>, out?: Float64Array): Float64Array {
  const result = out ?? new Float64Array(bank.numBins);
  for (let b = 0; b < bank.numBins; b++) {
    const { start, weights } = bank.filters[b];
    let s = 0;
    for (let i = 0; i < weights.length; i++) s += weights[i] * spectrum[start + i];
    result[b] = s;
  }
  return result;
}

/** Dense [numBins x spectrumSize] row-major matrix, for inspection and tests. */
export function melFilterbankMatrix(bank: MelFilterbank): Float64Array {
  const m = new Float64Array(bank.numBins * bank.spectrumSize);
  bank.filters.forEach((f, b) => m.set(f.weights, b * bank.spectrumSize + f.start));
  return m;
}
