import type { FuzzFormat } from "../format.js";
import { fscFiles, readDataset } from "../dataset-seeds.js";

/** Fluent Speech Commands' data/*_data.csv (IC). */
export const format: FuzzFormat = {
  name: "fsc-csv",
  description: "Fluent Speech Commands split CSVs (quoted fields, intent columns)",
  textual: true,
  async seeds() {
    const files = fscFiles();
    return ["train", "test"].map((s) => ({ name: `${s}_data.csv`, files, target: `data/${s}_data.csv` }));
  },
  async read(dir) {
    await readDataset("fsc", dir);
  },
};
