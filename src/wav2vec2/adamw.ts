import * as tf from "@tensorflow/tfjs";
import type { TensorMap } from "../safetensors.js";
import type { ParamMap } from "./params.js";

/**
 * tf.variableGrads keys gradients by tf's own variable names ("1", "2", ...); AdamW keys its
 * moments by parameter name. This re-keys them; variables without a gradient are left out.
 */
export function gradsByParamName(vars: ReadonlyMap<string, tf.Variable>, grads: tf.NamedTensorMap): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, v] of vars) if (grads[v.name] !== undefined) out.set(name, grads[v.name]);
  return out;
}

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter; torch.optim.AdamW), state kept per
 * parameter name so it can be checkpointed and restored exactly. Used by pre-training and by
 * brain refinement.
 */
export class AdamW {
  readonly m = new Map<string, tf.Tensor>();
  readonly v = new Map<string, tf.Tensor>();
  constructor(
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly eps: number,
    private readonly weightDecay: number,
  ) {}

  /** One update with the given (already clipped) gradients; `t` is the 1-based update count. */
  apply(vars: Map<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number, t: number, gradScale: number): void {
    const bc1 = 1 - Math.pow(this.beta1, t);
    const bc2 = 1 - Math.pow(this.beta2, t);
    for (const [name, p] of vars) {
      const g0 = grads.get(name);
      if (g0 === undefined) continue;
      const oldM = this.m.get(name);
      const oldV = this.v.get(name);
      const [m, v] = tf.tidy(() => {
        const g = gradScale === 1 ? g0 : tf.mul(g0, gradScale);
        const m1 = oldM === undefined ? tf.mul(g, 1 - this.beta1) : tf.add(tf.mul(oldM, this.beta1), tf.mul(g, 1 - this.beta1));
        const v1 = oldV === undefined ? tf.mul(tf.square(g), 1 - this.beta2) : tf.add(tf.mul(oldV, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const update = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), this.eps));
        const decayed = this.weightDecay > 0 ? tf.mul(p, 1 - lr * this.weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
        return [m1, v1];
      });
      oldM?.dispose();
      oldV?.dispose();
      this.m.set(name, m);
      this.v.set(name, v);
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** A training checkpoint's tensors: `param.<name>` for the weights, `adam.{m,v}.<name>` for Adam's moments. */
export function checkpointTensors(params: ParamMap, adam: AdamW): TensorMap {
  const tensors: TensorMap = new Map();
  for (const [name, p] of params) tensors.set(`param.${name}`, p);
  for (const [kind, store] of [["m", adam.m], ["v", adam.v]] as const) {
    for (const [name, t] of store) tensors.set(`adam.${kind}.${name}`, { shape: [...t.shape], data: t.dataSync() as Float32Array });
  }
  return tensors;
}

/** The inverse of checkpointTensors: the weights, and Adam's moments as tensors. */
export function splitCheckpointTensors(tensors: TensorMap): { params: ParamMap; m: Map<string, tf.Tensor>; v: Map<string, tf.Tensor> } {
  const params: ParamMap = new Map();
  const m = new Map<string, tf.Tensor>();
  const v = new Map<string, tf.Tensor>();
  for (const [key, t] of tensors) {
    if (key.startsWith("param.")) params.set(key.slice(6), t);
    else if (key.startsWith("adam.m.")) m.set(key.slice(7), tf.tensor(t.data, t.shape));
    else if (key.startsWith("adam.v.")) v.set(key.slice(7), tf.tensor(t.data, t.shape));
  }
  return { params, m, v };
}
