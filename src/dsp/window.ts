/**
 * Analysis windows as Kaldi defines them (feature-window.cc): symmetric, with a = 2*pi/(N-1).
 */
export type WindowType = "povey" | "hamming" | "hann" | "rectangular";

export const WINDOW_TYPES: readonly WindowType[] = ["povey", "hamming", "hann", "rectangular"];

/** Window of `length` samples. Povey = hann^0.85 (like hann, but reaches zero more gently). */
export function windowFunction(type: WindowType, length: number): Float64Array {
  if (!Number.isInteger(length) || length < 1) throw new Error(`window length must be a positive integer, got ${length}`);
  const w = new Float64Array(length);
  // A 1-sample symmetric window is degenerate (N-1 = 0); use 1 like numpy/torch do.
  if (length === 1) {
    w[0] = 1;
    return w;
  }
  const a = (2 * Math.PI) / (length - 1);
  for (let i = 0; i < length; i++) {
    const hann = 0.5 - 0.5 * Math.cos(a * i);
    switch (type) {
      case "povey":
        w[i] = Math.pow(hann, 0.85);
        break;
      case "hann":
        w[i] = hann;
        break;
      case "hamming":
        w[i] = 0.54 - 0.46 * Math.cos(a * i);
        break;
      case "rectangular":
        w[i] = 1;
        break;
      default: {
        const never: never = type;
        throw new Error(`unknown window type ${String(never)}`);
      }
    }
  }
  return w;
}
