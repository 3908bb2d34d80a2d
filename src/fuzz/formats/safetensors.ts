import { encodeSafetensors, readSafetensors, type TensorMap } from "../../safetensors.js";
import type { FuzzFormat } from "../format.js";

function tensors(): TensorMap {
  return new Map([
    ["encoder.weight", { shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.5) }],
    ["encoder.bias", { shape: [4], data: new Float32Array([0.1, -0.2, 0.3, 0]) }],
    ["scalar", { shape: [], data: new Float32Array([2.5]) }],
  ]);
}

/** safetensors (model weights, training checkpoints): header JSON, offsets, dtypes. */
export const format: FuzzFormat = {
  name: "safetensors",
  description: "safetensors tensor files (F32/F16, with metadata)",
  textual: false,
  async seeds() {
    return [{ name: "three-tensors", files: { "w.safetensors": encodeSafetensors(tensors(), { format: "pt", note: "fuzz seed" }) }, target: "w.safetensors" }];
  },
  async read(dir) {
    readSafetensors(`${dir}/w.safetensors`);
  },
};
