import { formatTextGrid, intervalTier, readTextGrid, type TextGrid } from "../../brain/textgrid.js";
import type { FuzzFormat } from "../format.js";

const GRID: TextGrid = {
  xmin: 0,
  xmax: 3,
  tiers: [
    { kind: "interval", name: "word", xmin: 0, xmax: 3, intervals: [
      { xmin: 0, xmax: 0.5, text: "" },
      { xmin: 0.5, xmax: 1.2, text: "alice" },
      { xmin: 1.2, xmax: 2, text: "was \"beginning\"" },
      { xmin: 2, xmax: 3, text: "" },
    ] },
    { kind: "point", name: "beats", xmin: 0, xmax: 3, points: [{ time: 1, mark: "x" }] },
  ],
};

/** Praat TextGrids (word timings of a brain stimulus), long text form. */
export const format: FuzzFormat = {
  name: "textgrid",
  description: "Praat TextGrid, long text format (interval and point tiers)",
  textual: true,
  async seeds() {
    return [{ name: "word-tier", files: { "s.TextGrid": new TextEncoder().encode(formatTextGrid(GRID)) }, target: "s.TextGrid" }];
  },
  async read(dir) {
    const file = `${dir}/s.TextGrid`;
    intervalTier(readTextGrid(file), "word", file);
  },
};
