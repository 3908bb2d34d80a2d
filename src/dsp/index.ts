/** Signal processing: pure feature-extraction building blocks (no I/O). */
export * from "./fft.js";
export * from "./window.js";
export * from "./mel.js";
export * from "./dct.js";
export * from "./deltas.js";
export * from "./frames.js";
export * from "./fbank.js";
export * from "./mfcc.js";
export * from "./resample.js";
