/**
 * The Gumbel-softmax product quantizer of wav2vec 2.0 (HF `Wav2Vec2GumbelVectorQuantizer`,
 * fairseq `GumbelVectorQuantizer`), over the HF parameters `quantizer.weight_proj.{weight,bias}`
 * (Linear conv_dim[-1] -> G*V) and `quantizer.codevectors` [1, G*V, codevector_dim / G].
 *
 * Training: per frame and group, the entry is the argmax of logits + Gumbel noise (a hard
 * one-hot), and the gradient flows through softmax((logits + noise) / temperature) (straight-
 * through, `gumbel_softmax(hard=True)`). The quantized vector concatenates the chosen entry of
 * every group. The codebook perplexity, which the diversity loss maximises, is computed from the
 * plain softmax of the logits (no noise, no temperature) averaged over the masked frames:
 * sum_g exp(-sum_v p_gv log(p_gv + 1e-7)). Evaluation (no noise): argmax codes, and the
 * perplexity of the hard one-hots, as HF.
 *
 * The noise comes from the caller (`sampleGumbelNoise` with a seeded source), so a training step
 * is a deterministic function of its seed.
 */
import * as tf from "@tensorflow/tfjs";
import { fastMatMul } from "../nn.js";
import type { Wav2Vec2Config } from "./config.js";
import type { Uniform } from "./masking.js";
import type { TfParams } from "./tfjs-model.js";

/** Temperature schedule of the Gumbel softmax: max(start * decay^step, end). */
export interface TemperatureSchedule {
  start: number;
  end: number;
  /** Per-update factor. fairseq: 0.999995 (reaches 0.5 after 277k of its 400k updates). */
  decay: number;
}

/** fairseq's wav2vec 2.0 base schedule: (2, 0.5, 0.999995). */
export const FAIRSEQ_TEMPERATURE: TemperatureSchedule = { start: 2, end: 0.5, decay: 0.999995 };

export function gumbelTemperature(step: number, s: TemperatureSchedule = FAIRSEQ_TEMPERATURE): number {
  return Math.max(s.start * Math.pow(s.decay, step), s.end);
}

/**
 * The per-step decay that anneals start -> end after `fraction` of `steps` updates. fairseq's
 * 0.999995 is this for 400k updates and fraction 0.69; runs of a few thousand updates would never
 * anneal with it, so the trainer uses this with fraction 0.7 unless a decay is given.
 */
export function temperatureDecayFor(steps: number, start = 2, end = 0.5, fraction = 0.7): number {
  const n = Math.max(1, Math.round(steps * fraction));
  return Math.pow(end / start, 1 / n);
}

/** n independent standard Gumbel samples -log(-log(u)) from a uniform source. */
export function sampleGumbelNoise(n: number, rng: Uniform): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // u in (0, 1): both logs finite.
    const u = (rng() * 4294967295 + 0.5) / 4294967296;
    out[i] = -Math.log(-Math.log(u));
  }
  return out;
}

/**
 * Perplexity of codebook usage in plain JS (reference for tests and logs): probs [N, G, V]
 * row-major, averaged over the rows where mask != 0 (all rows without a mask), then
 * sum_g exp(-sum_v p log(p + 1e-7)), exactly HF's `_compute_perplexity`.
 */
export function codevectorPerplexity(probs: ArrayLike<number>, G: number, V: number, mask?: ArrayLike<number>): number {
  const N = probs.length / (G * V);
  const marginal = new Float64Array(G * V);
  let count = 0;
  for (let r = 0; r < N; r++) {
    if (mask && !mask[r]) continue;
    count += 1;
    for (let k = 0; k < G * V; k++) marginal[k] += probs[r * G * V + k];
  }
  let total = 0;
  for (let g = 0; g < G; g++) {
    let h = 0;
    for (let v = 0; v < V; v++) {
      const p = count > 0 ? marginal[g * V + v] / count : 0;
      h -= p * Math.log(p + 1e-7);
    }
    total += Math.exp(h);
  }
  return total;
}

export interface QuantizeOptions {
  /** Gumbel-softmax temperature (training only). */
  temperature: number;
  /**
   * Standard Gumbel noise, one value per logit ([B*T*G*V], frame-major, then group, then entry):
   * training mode. null: evaluation mode (argmax of the logits, no straight-through).
   */
  gumbelNoise: Float32Array | null;
  /** Frames ([B*T], 1 = use) over which the perplexity averages; null = all frames. */
  mask: Float32Array | null;
}

export interface QuantizerOutput {
  /** [B, T, codevector_dim]: the concatenated chosen codevectors. */
  quantized: tf.Tensor3D;
  /** Scalar perplexity (soft in training, hard in evaluation), differentiable in training. */
  perplexity: tf.Scalar;
  /** Chosen entry per frame and group, [B*T, G] row-major. */
  codes: Int32Array;
}

/**
 * Identity in the backward pass, `hard` in the forward pass: the straight-through estimator
 * (y_hard - y_soft.detach() + y_soft), written as one op because tfjs has no stop_gradient.
 */
const straightThrough = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const hard = args[1] as tf.Tensor;
  return {
    value: tf.clone(hard),
    gradFunc: (dy: tf.Tensor) => [dy, tf.zerosLike(dy)],
  };
}) as (soft: tf.Tensor, hard: tf.Tensor) => tf.Tensor;

/** Linear with a PyTorch-layout weight [out, in] over the last axis. */
export function linearPt(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1];
  const outDim = w.shape[0];
  let y = fastMatMul(tf.reshape(x, [-1, inDim]), tf.transpose(w));
  if (b !== null) y = tf.add(y, b);
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

function getParam(params: TfParams, name: string): tf.Tensor {
  const t = params.get(name);
  if (t === undefined) throw new Error(`wav2vec2 quantizer: missing parameter ${name}`);
  return t;
}

/**
 * Quantizes features [B, T, conv_dim[-1]] (HF passes the feature projection's LayerNorm output,
 * `extract_features`). Reads the logits back once to choose the codes (dataSync).
 */
export function gumbelQuantize(params: TfParams, c: Wav2Vec2Config, features: tf.Tensor3D, opts: QuantizeOptions): QuantizerOutput {
  const [B, T] = features.shape;
  const G = c.num_codevector_groups;
  const V = c.num_codevectors_per_group;
  const N = B * T;
  const d = c.codevector_dim / G;
  const logits = tf.reshape(linearPt(features, getParam(params, "quantizer.weight_proj.weight"), getParam(params, "quantizer.weight_proj.bias")), [N * G, V]);

  // Hard choice: argmax over entries of logits (+ noise); the temperature does not change it.
  const lv = logits.dataSync();
  const noise = opts.gumbelNoise;
  if (noise !== null && noise.length !== N * G * V) throw new Error(`gumbelQuantize: expected ${N * G * V} noise values, got ${noise.length}`);
  const codes = new Int32Array(N * G);
  const oneHot = new Float32Array(N * G * V);
  for (let r = 0; r < N * G; r++) {
    let best = 0;
    let bestVal = -Infinity;
    for (let v = 0; v < V; v++) {
      const x = lv[r * V + v] + (noise === null ? 0 : noise[r * V + v]);
      if (x > bestVal) {
        bestVal = x;
        best = v;
      }
    }
    codes[r] = best;
    oneHot[r * V + best] = 1;
  }
  const hard = tf.tensor2d(oneHot, [N * G, V]);

  let probs: tf.Tensor; // [N*G, V] forward values = the one-hots
  let perplexityProbs: tf.Tensor; // [N, G*V]
  if (noise !== null) {
    const soft = tf.softmax(tf.div(tf.add(logits, tf.tensor2d(noise, [N * G, V])), opts.temperature));
    probs = straightThrough(soft, hard);
    perplexityProbs = tf.reshape(tf.softmax(logits), [N, G * V]);
  } else {
    probs = hard;
    perplexityProbs = tf.reshape(hard, [N, G * V]);
  }

  // Marginal distribution over the selected frames, then sum_g exp(entropy_g).
  let marginal: tf.Tensor; // [G, V]
  if (opts.mask !== null) {
    if (opts.mask.length !== N) throw new Error(`gumbelQuantize: mask has ${opts.mask.length} entries for ${N} frames`);
    let count = 0;
    for (const m of opts.mask) count += m ? 1 : 0;
    const m = tf.tensor2d(opts.mask, [1, N]);
    marginal = tf.reshape(tf.div(fastMatMul(m, perplexityProbs), Math.max(count, 1)), [G, V]);
  } else {
    marginal = tf.reshape(tf.mean(perplexityProbs, 0), [G, V]);
  }
  const entropy = tf.neg(tf.sum(tf.mul(marginal, tf.log(tf.add(marginal, 1e-7))), 1));
  const perplexity = tf.sum(tf.exp(entropy)) as tf.Scalar;

  // Codevectors: per group, probs_g [N, V] x codebook_g [V, d]; groups concatenated.
  const book = tf.reshape(getParam(params, "quantizer.codevectors"), [G, V, d]);
  const probs3 = tf.reshape(probs, [N, G, V]);
  const parts: tf.Tensor[] = [];
  for (let g = 0; g < G; g++) {
    const pg = G === 1 ? tf.reshape(probs3, [N, V]) : tf.reshape(tf.slice(probs3, [0, g, 0], [N, 1, V]), [N, V]);
    const bg = G === 1 ? tf.reshape(book, [V, d]) : tf.reshape(tf.slice(book, [g, 0, 0], [1, V, d]), [V, d]);
    parts.push(fastMatMul(pg, bg));
  }
  const quantized = tf.reshape(parts.length === 1 ? parts[0] : tf.concat(parts, 1), [B, T, G * d]) as tf.Tensor3D;
  return { quantized, perplexity, codes };
}
