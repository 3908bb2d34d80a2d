import { KIND } from "../../datasets/speech-commands.js";
import { datasetFuzzFormat, speechCommandsFiles } from "../dataset-seeds.js";

/** Speech Commands' validation_list.txt and testing_list.txt (KS). */
export const format = datasetFuzzFormat({
  name: "speech-commands-lists",
  description: "Speech Commands validation and testing lists",
  kind: KIND,
  files: speechCommandsFiles,
  targets: ["validation_list.txt", "testing_list.txt"],
});
