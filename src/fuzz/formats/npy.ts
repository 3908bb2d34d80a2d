import { encodeNpy, readNpy } from "../../npy.js";
import { readBold } from "../../brain/bold-io.js";
import type { FuzzFormat } from "../format.js";

/** .npy arrays: extracted features (`superb extract`) and BOLD matrices. */
export const format: FuzzFormat = {
  name: "npy",
  description: "NumPy .npy arrays (float32, 2-D and 3-D), read as features and as BOLD",
  textual: false,
  async seeds() {
    const data = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));
    return [
      { name: "f32-6x4", files: { "a.npy": encodeNpy(data, [6, 4]) }, target: "a.npy" },
      { name: "f32-2x3x4", files: { "a.npy": encodeNpy(data, [2, 3, 4]) }, target: "a.npy" },
    ];
  },
  async read(dir) {
    const arr = readNpy(`${dir}/a.npy`);
    if (arr.shape.length === 2) readBold(`${dir}/a.npy`);
  },
};
