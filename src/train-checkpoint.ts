import * as tf from "@tensorflow/tfjs";
import * as fs from "node:fs";
import { UserError } from "./errors.js";
import { decodeSafetensors, writeSafetensors, type TensorMap } from "./safetensors.js";
import type { Score } from "./task.js";

/**
 * Training checkpoints of the downstream loop (safetensors, written atomically): the current and
 * the best parameters, Adam's moments and its exact bias-correction powers, and the loop's
 * counters. Restoring validates everything against the model being trained before any of it is
 * used, so a truncated or tampered file is a one-line error instead of a silent restart or a
 * crash, and is moved aside so that the rerun starts cleanly.
 */

/** The loop state a checkpoint holds, beyond the tensors. */
export interface LoopState {
  step: number;
  bestStep: number;
  bestDev: Score;
  /** Loss of the last step before the checkpoint (the result's finalTrainLoss if no step follows). */
  lastLoss: number;
}

export interface RestoredCheckpoint extends LoopState {
  /** The best parameters so far, as tensors the caller owns. */
  best: Map<string, tf.Tensor>;
}

/** Most steps a checkpoint may claim: far beyond any run, far below float and index trouble. */
const MAX_STEPS = 1e9;

/** tfjs's Adam keeps beta^t in two private variables; `setWeights` recomputes them by pow(), which rounds differently from the per-step products. */
interface AdamBiasCorrection {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

function adamBiasCorrection(optimizer: tf.Optimizer): AdamBiasCorrection {
  const o = optimizer as unknown as Partial<AdamBiasCorrection>;
  if (!(o.accBeta1 instanceof tf.Variable) || !(o.accBeta2 instanceof tf.Variable)) {
    throw new Error("the optimizer is not tfjs's Adam (no accBeta1/accBeta2): checkpoints cannot hold its state");
  }
  return o as AdamBiasCorrection;
}

export async function saveTrainingCheckpoint(file: string, key: string, state: LoopState, named: Map<string, tf.Variable>, best: Map<string, tf.Tensor>, optimizer: tf.Optimizer): Promise<void> {
  const tensors: TensorMap = new Map();
  for (const [k, v] of named) tensors.set(`current.${k}`, { shape: v.shape, data: (await v.data()) as Float32Array });
  for (const [k, v] of best) tensors.set(`best.${k}`, { shape: v.shape, data: (await v.data()) as Float32Array });
  const optWeights = await optimizer.getWeights();
  optWeights.forEach((w, i) => tensors.set(`optimizer.${i}`, { shape: w.tensor.shape, data: Float32Array.from(w.tensor.dataSync()) }));
  const { accBeta1, accBeta2 } = adamBiasCorrection(optimizer);
  tensors.set("optimizer.accBeta1", { shape: [], data: Float32Array.from(accBeta1.dataSync()) });
  tensors.set("optimizer.accBeta2", { shape: [], data: Float32Array.from(accBeta2.dataSync()) });
  writeSafetensors(file, tensors, {
    key,
    step: String(state.step),
    bestStep: String(state.bestStep),
    bestDev: JSON.stringify(state.bestDev),
    // JSON has no NaN (a step's loss is finite; the field is "NaN" only before the first step).
    lastLoss: String(state.lastLoss),
    optimizerNames: JSON.stringify(optWeights.map((w) => w.name)),
  });
}

/**
 * Restores a checkpoint into `named` and `optimizer`. Returns undefined for another run's
 * checkpoint (other key, or more steps than this run asks for): training starts over and
 * overwrites it. A malformed one is moved aside and reported as a UserError naming it.
 */
export async function restoreTrainingCheckpoint(file: string, key: string, maxStep: number, named: Map<string, tf.Variable>, optimizer: tf.Optimizer): Promise<RestoredCheckpoint | undefined> {
  let plan: CheckpointPlan | undefined;
  try {
    plan = readCheckpointPlan(file, key, maxStep, named);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    const aside = moveAside(file);
    throw new UserError(`${err.message}; moved it to ${aside}, rerun to start this task from step 0`);
  }
  if (!plan) return undefined;
  for (const [k, v] of named) v.assign(plan.current.get(k)!);
  if (plan.optimizer.length > 0) {
    await optimizer.setWeights(plan.optimizer);
    const { accBeta1, accBeta2 } = adamBiasCorrection(optimizer);
    accBeta1.assign(plan.accBeta1);
    accBeta2.assign(plan.accBeta2);
  }
  tf.dispose([...plan.current.values(), plan.accBeta1, plan.accBeta2]);
  return { step: plan.state.step, bestStep: plan.state.bestStep, bestDev: plan.state.bestDev, lastLoss: plan.state.lastLoss, best: plan.best };
}

interface CheckpointPlan {
  state: LoopState;
  current: Map<string, tf.Tensor>;
  best: Map<string, tf.Tensor>;
  optimizer: { name: string; tensor: tf.Tensor }[];
  accBeta1: tf.Scalar;
  accBeta2: tf.Scalar;
}

/** Parses and validates a checkpoint against the variables being trained; allocates tensors only once everything checks out. */
export function readCheckpointPlan(file: string, key: string, maxStep: number, named: Map<string, tf.Variable | { shape: number[] }>): CheckpointPlan | undefined {
  const fail = (problem: string): never => {
    throw new UserError(file, `malformed training checkpoint: ${problem}`);
  };
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    return fail(`cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let content: ReturnType<typeof decodeSafetensors>;
  try {
    content = decodeSafetensors(bytes, file);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    return fail(err.message.startsWith(`${file}: `) ? err.message.slice(file.length + 2) : err.message);
  }
  const { tensors, metadata } = content;
  if (typeof metadata.key !== "string") fail("no run key in its metadata");
  if (metadata.key !== key) return undefined;
  const step = integerField(metadata.step, "step", 1, MAX_STEPS, fail);
  if (step > maxStep) return undefined; // a longer run's checkpoint: not this run's state
  const bestStep = integerField(metadata.bestStep, "bestStep", -1, step, fail);
  const bestDev = scoreField(metadata.bestDev, fail);
  const lastLoss = metadata.lastLoss === undefined ? fail("no lastLoss") : Number(metadata.lastLoss);
  if (!Number.isFinite(lastLoss)) fail(`lastLoss ${JSON.stringify(metadata.lastLoss)} is not a finite number`);

  const checked = (name: string, shape: number[]): Float32Array => {
    const t = tensors.get(name);
    if (!t) return fail(`tensor ${name} is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) fail(`tensor ${name} has shape [${t.shape}], the model needs [${shape}]`);
    if (!t.data.every(Number.isFinite)) fail(`tensor ${name} holds NaN or infinite values`);
    return t.data;
  };
  const currentData = [...named].map(([k, v]) => [k, checked(`current.${k}`, v.shape), v.shape] as const);
  const bestData = [...named].map(([k, v]) => [k, checked(`best.${k}`, v.shape), v.shape] as const);
  const names = jsonField(metadata.optimizerNames, "optimizerNames", fail);
  // Adam: the iteration count, then the first and the second moment of every variable.
  const expected = 1 + 2 * named.size;
  if (!Array.isArray(names) || names.length !== expected || !names.every((n) => typeof n === "string")) {
    fail(`optimizerNames must list ${expected} names (iterations and two moments per variable)`);
  }
  const shapes = [...named.values()].map((v) => v.shape);
  const slotData = (names as string[]).map((name, i) => {
    const shape = i === 0 ? [] : shapes[(i - 1) % named.size];
    return { name, data: checked(`optimizer.${i}`, shape), shape };
  });
  const iterations = slotData[0].data[0];
  if (iterations !== step) fail(`the optimizer has run ${iterations} iterations, the checkpoint says step ${step}`);
  const beta1 = checked("optimizer.accBeta1", [])[0];
  const beta2 = checked("optimizer.accBeta2", [])[0];
  if (!(beta1 > 0 && beta1 < 1 && beta2 > 0 && beta2 < 1)) fail("the optimizer's bias-correction powers are not in (0, 1)");

  const toTensors = (list: (readonly [string, Float32Array, number[]])[]) => new Map(list.map(([k, data, shape]) => [k, tf.tensor(data, shape)]));
  return {
    state: { step, bestStep, bestDev, lastLoss },
    current: toTensors(currentData),
    best: toTensors(bestData),
    optimizer: slotData.map((s) => ({ name: s.name, tensor: tf.tensor(s.data, s.shape) })),
    accBeta1: tf.scalar(beta1),
    accBeta2: tf.scalar(beta2),
  };
}

function integerField(raw: string | undefined, name: string, min: number, max: number, fail: (p: string) => never): number {
  const n = raw === undefined || raw.trim() === "" ? NaN : Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) fail(`${name} ${JSON.stringify(raw ?? null)} is not an integer in [${min}, ${max}]`);
  return n;
}

function jsonField(raw: string | undefined, name: string, fail: (p: string) => never): unknown {
  if (raw === undefined) return fail(`no ${name}`);
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return fail(`${name} is not JSON`);
  }
}

function scoreField(raw: string | undefined, fail: (p: string) => never): Score {
  const v = jsonField(raw, "bestDev", fail) as Partial<Score> | null;
  const ok =
    typeof v === "object" && v !== null && typeof v.value === "number" && Number.isFinite(v.value) &&
    typeof v.secondary === "object" && v.secondary !== null && !Array.isArray(v.secondary) &&
    Object.values(v.secondary).every((x) => x === null || (typeof x === "number" && Number.isFinite(x)));
  if (!ok) fail("bestDev is not a score ({value, secondary} of finite numbers)");
  // JSON wrote a NaN secondary figure (a metric undefined on this dev set) as null.
  const secondary = Object.fromEntries(Object.entries(v!.secondary!).map(([k, x]) => [k, x === null ? NaN : x]));
  return { value: v!.value!, secondary };
}

/** Renames a bad checkpoint out of the way (never deletes it: it may be worth a look). */
export function moveAside(file: string): string {
  const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    throw new UserError(file, `malformed training checkpoint, and it cannot be moved aside (${(err as NodeJS.ErrnoException).code ?? String(err)}); delete it to start over`);
  }
  return aside;
}
