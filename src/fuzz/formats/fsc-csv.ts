import { datasetFuzzFormat, fscFiles } from "../dataset-seeds.js";

/** Fluent Speech Commands' data/*_data.csv (IC). */
export const format = datasetFuzzFormat({
  name: "fsc-csv",
  description: "Fluent Speech Commands split CSVs (quoted fields, intent columns)",
  kind: "fsc",
  files: fscFiles,
  targets: ["data/train_data.csv", "data/test_data.csv"],
});
