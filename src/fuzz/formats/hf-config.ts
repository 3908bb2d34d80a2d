import { loadHfFolder } from "../../wav2vec2/hf-io.js";
import type { FuzzFormat, FuzzSeed } from "../format.js";
import { tinyHfFiles } from "../seed-models.js";

function seedsTargeting(...targets: string[]): FuzzSeed[] {
  const files = tinyHfFiles();
  return targets.map((target) => ({ name: target, files, target }));
}

/** HF folders (`--upstream hf:DIR`): config.json and preprocessor_config.json, bounds on every field. */
export const format: FuzzFormat = {
  name: "hf-config",
  description: "HuggingFace wav2vec2 folder: config.json and preprocessor_config.json",
  textual: true,
  async seeds() {
    return seedsTargeting("config.json", "preprocessor_config.json");
  },
  async read(dir) {
    loadHfFolder(dir);
  },
};
