import { readBold } from "../../brain/bold-io.js";
import * as path from "node:path";
import type { FuzzFormat, FuzzSeed } from "../format.js";

const rows = Array.from({ length: 6 }, (_, r) => Array.from({ length: 3 }, (_, c) => (Math.sin(r * 3 + c) * 10).toFixed(4)));

/** BOLD time series as text: whitespace-separated rows, or CSV with a header of ROI names. */
export const format: FuzzFormat = {
  name: "bold-text",
  description: "BOLD matrices as whitespace text and as CSV with a header row",
  textual: true,
  async seeds(): Promise<FuzzSeed[]> {
    const text = rows.map((r) => r.join(" ")).join("\n") + "\n";
    const csv = ["LATL,RATL,LIFG", ...rows.map((r) => r.join(","))].join("\n") + "\n";
    return [
      { name: "whitespace", files: { "bold.txt": new TextEncoder().encode(text) }, target: "bold.txt" },
      { name: "csv-header", files: { "bold.csv": new TextEncoder().encode(csv) }, target: "bold.csv" },
    ];
  },
  async read(dir, target) {
    readBold(path.join(dir, target));
  },
};
