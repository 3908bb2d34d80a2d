import { formatTextGrid } from "../../brain/textgrid.js";
import { loadBrainDataset } from "../../brain/dataset.js";
import type { FuzzFormat } from "../format.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function files(): Record<string, Uint8Array> {
  const grid = formatTextGrid({
    xmin: 0,
    xmax: 12,
    tiers: [{ kind: "interval", name: "word", xmin: 0, xmax: 12, intervals: [{ xmin: 0, xmax: 2, text: "" }, { xmin: 2, xmax: 7, text: "alice" }, { xmin: 7, xmax: 12, text: "rabbit" }] }],
  });
  const bold = (phase: number): Uint8Array => enc(Array.from({ length: 6 }, (_, r) => [0, 1].map((c) => (Math.sin(r + c + phase) * 5).toFixed(3)).join(" ")).join("\n") + "\n");
  const manifest = {
    name: "fuzz-cohort",
    tr: 2,
    firstRowTime: 0,
    targets: ["LATL", "LIFG"],
    runs: [{ id: "run1", stimulus: { textgrid: "words.TextGrid", tier: "word" }, subjects: [{ id: "s01", bold: "s01.txt" }, { id: "s02", bold: "s02.txt" }] }],
  };
  return { "brain.json": enc(JSON.stringify(manifest, null, 2)), "words.TextGrid": enc(grid), "s01.txt": bold(0), "s02.txt": bold(1) };
}

/** brain.json manifests (`superb brain score --data DIR`): runs, subjects, BOLD and stimulus files. */
export const format: FuzzFormat = {
  name: "brain-manifest",
  description: "brain.json data-set manifests with their BOLD text files",
  textual: true,
  async seeds() {
    const f = files();
    return [
      { name: "brain.json", files: f, target: "brain.json" },
      { name: "bold.txt", files: f, target: "s01.txt" },
    ];
  },
  async read(dir) {
    await loadBrainDataset(`${dir}/brain.json`, { stimulus: false, progress: false });
  },
};
