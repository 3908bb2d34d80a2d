import type { FuzzFormat } from "../format.js";
import { readDataset, speechCommandsFiles } from "../dataset-seeds.js";
import { KIND } from "../../datasets/speech-commands.js";

/** Speech Commands' validation_list.txt and testing_list.txt (KS). */
export const format: FuzzFormat = {
  name: "speech-commands-lists",
  description: "Speech Commands validation and testing lists",
  textual: true,
  async seeds() {
    const files = speechCommandsFiles();
    return ["validation_list.txt", "testing_list.txt"].map((target) => ({ name: target, files, target }));
  },
  async read(dir) {
    await readDataset(KIND, dir);
  },
};
