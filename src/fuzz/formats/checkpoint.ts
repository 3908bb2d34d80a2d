import * as tf from "@tensorflow/tfjs";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initTensorBackend } from "../../backend.js";
import { readCheckpointPlan, saveTrainingCheckpoint } from "../../train-checkpoint.js";
import type { FuzzFormat } from "../format.js";

const KEY = "fuzz-run-key";
const SHAPES = new Map([
  ["head.kernel", { shape: [3, 2] }],
  ["head.bias", { shape: [2] }],
]);

/** A real checkpoint: two variables after three Adam steps, written by the trainer's own writer. */
async function trainedCheckpoint(): Promise<Uint8Array> {
  await initTensorBackend();
  const named = new Map([...SHAPES].map(([k, v]) => [k, tf.variable(tf.randomNormal(v.shape, 0, 1, "float32", 7), true, `fuzz_${k}`)] as const));
  const optimizer = tf.train.adam(0.01);
  const x = tf.tensor2d([[1, 2, 3], [0, -1, 0.5]]);
  for (let i = 0; i < 3; i++) {
    optimizer.minimize(() => tf.add(tf.matMul(x, named.get("head.kernel")!), named.get("head.bias")!).square().mean() as tf.Scalar, false, [...named.values()]);
  }
  const best = new Map([...named].map(([k, v]) => [k, v.clone() as tf.Tensor]));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "superb-fuzz-ckpt-"));
  try {
    const file = path.join(dir, "ckpt.safetensors");
    await saveTrainingCheckpoint(file, KEY, { step: 3, bestStep: 2, bestDev: { value: 12.5, secondary: { eer: 0.2 } }, lastLoss: 0.75 }, named, best, optimizer);
    return new Uint8Array(fs.readFileSync(file));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    tf.dispose([x, ...named.values(), ...best.values()]);
    optimizer.dispose();
  }
}

/** Training checkpoints (`<results>/<upstream>/<task>.ckpt.safetensors`), validated before restore. */
export const format: FuzzFormat = {
  name: "checkpoint",
  description: "training checkpoints: weights, best weights, Adam state and loop metadata",
  textual: false,
  async seeds() {
    return [{ name: "adam-3-steps", files: { "task.ckpt.safetensors": await trainedCheckpoint() }, target: "task.ckpt.safetensors" }];
  },
  async read(dir) {
    const plan = readCheckpointPlan(`${dir}/task.ckpt.safetensors`, KEY, 100, SHAPES);
    if (plan) tf.dispose([...plan.current.values(), ...plan.best.values(), ...plan.optimizer.map((o) => o.tensor), plan.accBeta1, plan.accBeta2]);
  },
};
