import type { FuzzFormat } from "../format.js";
import { readDataset, voxceleb1Files } from "../dataset-seeds.js";

/** VoxCeleb1's iden_split.txt (SID) and veri_test2.txt trial list (ASV). */
export const format: FuzzFormat = {
  name: "voxceleb1-lists",
  description: "VoxCeleb1 identification split and verification trial lists",
  textual: true,
  async seeds() {
    const files = voxceleb1Files();
    return ["iden_split.txt", "veri_test2.txt"].map((target) => ({ name: target, files, target }));
  },
  async read(dir) {
    await readDataset("voxceleb1", dir);
  },
};
