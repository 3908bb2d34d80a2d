import { datasetFuzzFormat, voxceleb1Files } from "../dataset-seeds.js";

/** VoxCeleb1's iden_split.txt (SID) and veri_test2.txt trial list (ASV). */
export const format = datasetFuzzFormat({
  name: "voxceleb1-lists",
  description: "VoxCeleb1 identification split and verification trial lists",
  kind: "voxceleb1",
  files: voxceleb1Files,
  targets: ["iden_split.txt", "veri_test2.txt"],
});
