import { createHash } from "node:crypto";

/**
 * An upstream turns 16 kHz mono audio into all of its hidden layers (s3prl's upstream contract).
 * It knows nothing of tasks.
 */
export interface HiddenStates {
  /** One Float32Array per layer, each row-major [numFrames x dim]. */
  layers: Float32Array[];
  numFrames: number;
  dim: number;
}

export interface Upstream {
  readonly name: string;
  /** Stable identity: name plus a hash of the weights/config. Keys the feature cache. */
  readonly identity: string;
  /** Frames per second of the hidden states. */
  readonly frameRate: number;
  readonly numLayers: number;
  readonly hiddenSize: number;
  extractHiddenStates(audio: Float32Array): Promise<HiddenStates>;
  dispose(): Promise<void>;
}

export interface UpstreamDefinition {
  /** Registry name, e.g. "fbank"; or a prefix such as "hf" for specs like "hf:<dir>". */
  readonly name: string;
  readonly description: string;
  /** True when the name is a prefix that takes an argument after a colon. */
  readonly takesArgument?: boolean;
  create(argument?: string): Promise<Upstream>;
}

export const SAMPLE_RATE = 16000;

/** All layers in one row-major [layers x frames x dim] array (the cache's and `extract`'s layout). */
export function stackHiddenStates(h: HiddenStates): Float32Array {
  const n = h.numFrames * h.dim;
  const out = new Float32Array(h.layers.length * n);
  h.layers.forEach((layer, l) => out.set(layer.subarray(0, n), l * n));
  return out;
}

/** "<name>-<first 12 hex of sha256(config JSON)>": the identity of a weightless upstream. */
export function configIdentity(name: string, config: unknown): string {
  const hash = createHash("sha256").update(JSON.stringify(config)).digest("hex").slice(0, 12);
  return `${name}-${hash}`;
}
