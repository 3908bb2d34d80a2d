/**
 * Real-input FFT power spectrum on top of fft.js (radix-4, power-of-two sizes only).
 *
 * fft.js is typed with `any`; this module is the only place that touches it, so the rest of the
 * code base sees plain Float64Arrays.
 */
import FFT from "fft.js";

/** Reusable power-spectrum computer for one FFT size: allocate once, call per frame. */
export class PowerSpectrum {
  readonly size: number;
  private readonly fft: FFT;
  private readonly input: Float64Array;
  private readonly output: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 2 || (size & (size - 1)) !== 0) {
      throw new Error(`FFT size must be a power of two >= 2, got ${size}`);
    }
    this.size = size;
    this.fft = new FFT(size);
    this.input = new Float64Array(size);
    this.output = new Float64Array(2 * size);
  }

  /**
   * |X[k]|^2 for k = 0..size/2 (size/2 + 1 values) of `frame`, zero-padded to `size`.
   * Writes into `out` (allocated when omitted) and returns it.
   */
  compute(frame: ArrayLike<number>, out?: Float64Array): Float64Array {
    const n = this.size;
    if (frame.length > n) throw new Error(`frame of ${frame.length} samples exceeds FFT size ${n}`);
    const result = out ?? new Float64Array(n / 2 + 1);
    if (result.length < n / 2 + 1) throw new Error(`output needs ${n / 2 + 1} values`);
    const input = this.input;
    let i = 0;
    for (; i < frame.length; i++) input[i] = frame[i];
    for (; i < n; i++) input[i] = 0;
    // realTransform fills bins 0..n/2 (interleaved re, im); the upper half is not needed.
    this.fft.realTransform(this.output, input);
    const o = this.output;
    for (let k = 0; k <= n / 2; k++) {
      const re = o[2 * k];
      const im = o[2 * k + 1];
      result[k] = re * re + im * im;
    }
    return result;
  }
}

const cache = new Map<number, PowerSpectrum>();

/** Pure convenience form: power spectrum (size/2 + 1 values) of `frame` zero-padded to `fftSize`. */
export function powerSpectrum(frame: ArrayLike<number>, fftSize: number = nextPowerOfTwo(frame.length)): Float64Array {
  let ps = cache.get(fftSize);
  if (!ps) {
    ps = new PowerSpectrum(fftSize);
    cache.set(fftSize, ps);
  }
  return ps.compute(frame);
}

/** Smallest power of two >= n (Kaldi's RoundUpToNearestPowerOfTwo); 1 for n <= 1. */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Full linear convolution of a and b (length a + b - 1) by one real FFT of each and an inverse:
 * O(n log n), for long impulse responses where direct convolution is too slow.
 */
export function fftConvolve(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const n = a.length + b.length - 1;
  if (a.length === 0 || b.length === 0) return new Float64Array(0);
  const size = Math.max(2, nextPowerOfTwo(n));
  const fft = new FFT(size);
  const spec = (x: ArrayLike<number>): number[] => {
    const input = new Float64Array(size);
    for (let i = 0; i < x.length; i++) input[i] = x[i];
    const out = fft.createComplexArray() as number[];
    fft.realTransform(out, input);
    fft.completeSpectrum(out);
    return out;
  };
  const A = spec(a);
  const B = spec(b);
  const prod = fft.createComplexArray() as number[];
  for (let k = 0; k < size; k++) {
    prod[2 * k] = A[2 * k] * B[2 * k] - A[2 * k + 1] * B[2 * k + 1];
    prod[2 * k + 1] = A[2 * k] * B[2 * k + 1] + A[2 * k + 1] * B[2 * k];
  }
  const time = fft.createComplexArray() as number[];
  fft.inverseTransform(time, prod);
  return Float64Array.from({ length: n }, (_, i) => time[2 * i]);
}

/**
 * x with the FFT bins between loHz and hiHz (both sides of the spectrum) set to zero, at the
 * given sample rate: an ideal band-reject filter over the whole signal.
 */
export function zeroBand(x: ArrayLike<number>, sampleRate: number, loHz: number, hiHz: number): Float64Array {
  const size = Math.max(2, nextPowerOfTwo(x.length));
  const fft = new FFT(size);
  const input = new Float64Array(size);
  for (let i = 0; i < x.length; i++) input[i] = x[i];
  const spec = fft.createComplexArray() as number[];
  fft.realTransform(spec, input);
  fft.completeSpectrum(spec);
  for (let k = 0; k < size; k++) {
    const hz = (Math.min(k, size - k) * sampleRate) / size;
    if (hz >= loHz && hz <= hiHz) spec[2 * k] = spec[2 * k + 1] = 0;
  }
  const time = fft.createComplexArray() as number[];
  fft.inverseTransform(time, spec);
  return Float64Array.from({ length: x.length }, (_, i) => time[2 * i]);
}
