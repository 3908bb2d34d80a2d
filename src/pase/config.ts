/**
 * PASE+ encoder configuration (Ravanelli et al. 2020; santi-pdp/pase `WaveFe` with
 * `sincnet`, `rnn_pool` (QRNN), `denseskips` and `densemerge: "sum"`), stored as the folder's
 * config.json. Field names follow pase's own config keys.
 *
 *   audio -> SincConv(64, K 251) -> BN -> PReLU                      block 0
 *         -> [Conv1d(K_n, stride_n) -> BN -> PReLU]  n = 1..7        blocks 1..7
 *         -> QRNN(window 2) -> Conv1d(1x1) = W                      emb_dim, 10 ms frames
 *   output = W + sum_n pool(denseskip_n(block_n))  n = 0..6          (dense skips, summed)
 */
import { UserError } from "../errors.js";

export interface PaseConfig {
  model_type: "pase+";
  sample_rate: 16000;
  /** Kernel width of each block (block 0 is the SincNet layer). */
  kwidths: number[];
  strides: number[];
  /** Output channels of each block. */
  fmaps: number[];
  /** Width of the embedding and of every dense skip. */
  emb_dim: number;
  /** QRNN over the last block's output (PASE+: true, window 2, one layer). */
  rnn_pool: boolean;
  /** Projections of blocks 0 .. N-2 added to the embedding (PASE+: true). */
  denseskips: boolean;
  /** SincNet band limits (SincConv_fast). */
  sinc_min_low_hz: number;
  sinc_min_band_hz: number;
  batch_norm_eps: number;
  /** Scale each input to zero mean, unit variance before the encoder (as `base` does; pase itself feeds raw audio). */
  do_normalize: boolean;
  /** Running-statistics momentum of BatchNorm (PyTorch's default 0.1). */
  batch_norm_momentum: number;
}

/** The published PASE+ encoder: kernels 251,20,11,...; strides 1,10,2,1,2,1,2,2; 64..512 channels; 256-d. */
export const PASE_PLUS: PaseConfig = {
  model_type: "pase+",
  sample_rate: 16000,
  kwidths: [251, 20, 11, 11, 11, 11, 11, 11],
  strides: [1, 10, 2, 1, 2, 1, 2, 2],
  fmaps: [64, 64, 128, 128, 256, 256, 512, 512],
  emb_dim: 256,
  rnn_pool: true,
  denseskips: true,
  sinc_min_low_hz: 50,
  sinc_min_band_hz: 50,
  batch_norm_eps: 1e-5,
  do_normalize: true,
  batch_norm_momentum: 0.1,
};

/**
 * The shipped `pase`: PASE+'s kernels, strides, skips and QRNN, with the channels halved (32..256)
 * so that pre-training fits 45 minutes on 2 cores and the weights fit 20 MB.
 */
export const PASE_PLUS_SMALL: PaseConfig = { ...PASE_PLUS, fmaps: [32, 32, 64, 64, 128, 128, 256, 256] };

/** A tiny model for tests. */
export const PASE_PLUS_TINY: PaseConfig = { ...PASE_PLUS, kwidths: [31, 20, 5, 5, 5, 5, 5, 5], fmaps: [8, 8, 8, 8, 8, 8, 16, 16], emb_dim: 16 };

export const PASE_PRESETS = { "pase+": PASE_PLUS, "pase+-small": PASE_PLUS_SMALL, "pase+-tiny": PASE_PLUS_TINY } as const;
export type PasePresetName = keyof typeof PASE_PRESETS;

/** Samples per output frame (the product of the strides: 160 = 10 ms). */
export function paseHop(c: PaseConfig): number {
  return c.strides.reduce((a, s) => a * s, 1);
}

/** Frames of a block's output: each block pads so that it outputs ceil(input / stride). */
export function blockFrames(c: PaseConfig, samples: number, block: number): number {
  let n = samples;
  for (let b = 0; b <= block; b++) n = Math.ceil(n / c.strides[b]);
  return n;
}

/** Output frames for an input of `samples`: ceil(samples / hop). */
export function paseFrames(c: PaseConfig, samples: number): number {
  return Math.ceil(samples / paseHop(c));
}

/**
 * Zero padding (left, right) of a block: K - 1 in all, so that every block outputs
 * ceil(input / stride) frames. pase's FeBlock pads the same for stride 1 (K//2 each side) and for
 * even kernels (K//2 - 1, K//2); for odd kernels at stride > 1 it pads one less on the left.
 */
export function blockPadding(kwidth: number): [number, number] {
  const left = Math.floor((kwidth - 1) / 2);
  return [left, kwidth - 1 - left];
}

/** Hidden states the upstream exposes: one per dense skip, the QRNN path (W), and the summed output. */
export function paseHiddenLayers(c: PaseConfig): number {
  return (c.denseskips ? c.kwidths.length - 1 : 0) + (c.denseskips ? 2 : 1);
}

/** Checks a parsed config.json; every problem names the file and the field. */
export function validatePaseConfig(raw: unknown, source: string): PaseConfig {
  const fail = (msg: string): never => {
    throw new UserError(`${source}: ${msg}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail("not a JSON object");
  const o = raw as Record<string, unknown>;
  if (o.model_type !== "pase+") fail(`model_type must be "pase+", got ${JSON.stringify(o.model_type)}`);
  if (o.sample_rate !== 16000) fail(`sample_rate must be 16000, got ${JSON.stringify(o.sample_rate)}`);
  const ints = (key: string, min: number, max: number): number[] => {
    const v = o[key];
    if (!Array.isArray(v) || v.length < 2 || v.length > 16 || !v.every((x) => Number.isInteger(x) && x >= min && x <= max)) {
      return fail(`${key} must be a list of 2-16 integers in [${min}, ${max}], got ${JSON.stringify(v)}`);
    }
    return v as number[];
  };
  const int = (key: string, min: number, max: number): number => {
    const v = o[key];
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) return fail(`${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return v as number;
  };
  const num = (key: string, min: number, max: number): number => {
    const v = o[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) return fail(`${key} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (key: string): boolean => (typeof o[key] === "boolean" ? (o[key] as boolean) : fail(`${key} must be true or false, got ${JSON.stringify(o[key])}`));
  const c: PaseConfig = {
    model_type: "pase+",
    sample_rate: 16000,
    kwidths: ints("kwidths", 1, 1025),
    strides: ints("strides", 1, 64),
    fmaps: ints("fmaps", 1, 4096),
    emb_dim: int("emb_dim", 1, 4096),
    rnn_pool: bool("rnn_pool"),
    denseskips: bool("denseskips"),
    sinc_min_low_hz: num("sinc_min_low_hz", 0, 8000),
    sinc_min_band_hz: num("sinc_min_band_hz", 0, 8000),
    batch_norm_eps: num("batch_norm_eps", 1e-12, 1),
    do_normalize: bool("do_normalize"),
    batch_norm_momentum: num("batch_norm_momentum", 0, 1),
  };
  if (c.strides.length !== c.kwidths.length || c.fmaps.length !== c.kwidths.length) fail(`kwidths, strides and fmaps must have the same length (${c.kwidths.length}, ${c.strides.length}, ${c.fmaps.length})`);
  if (c.kwidths[0] % 2 !== 1) fail(`kwidths[0] (the SincNet kernel) must be odd, got ${c.kwidths[0]}`);
  if (paseHop(c) > 4096) fail(`the strides multiply to ${paseHop(c)} samples per frame (at most 4096)`);
  return c;
}
