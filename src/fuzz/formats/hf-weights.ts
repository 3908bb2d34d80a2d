import { loadHfFolder } from "../../wav2vec2/hf-io.js";
import type { FuzzFormat } from "../format.js";
import { tinyHfFiles } from "../seed-models.js";

/** HF folders: model.safetensors against the model config.json describes. */
export const format: FuzzFormat = {
  name: "hf-weights",
  description: "HuggingFace wav2vec2 folder: model.safetensors against its config.json",
  textual: false,
  async seeds() {
    return [{ name: "tiny", files: tinyHfFiles(), target: "model.safetensors" }];
  },
  async read(dir) {
    loadHfFolder(dir);
  },
};
