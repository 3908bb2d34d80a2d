import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadBrainDataset } from "../src/brain/dataset.js";
import { simulateCohort } from "../src/brain/simulate.js";
import { readTextGrid } from "../src/brain/textgrid.js";
import type { SimulationTruth } from "../src/brain/types.js";
import { readNpy } from "../src/npy.js";

const root = mkdtempSync(join(tmpdir(), "superb-brain-sim-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tiny = { subjects: 2, minutes: 0.25, tr: 1, snr: 2, seed: 7, progress: false };

describe("simulateCohort", () => {
  it("writes a loadable data set with its truth, deterministically", async () => {
    const a = join(root, "a");
    const b = join(root, "b");
    const ra = await simulateCohort({ outDir: a, ...tiny });
    await simulateCohort({ outDir: b, ...tiny });

    const files = readdirSync(a).sort();
    expect(files).toEqual(["brain.json", "stimulus.wav", "sub-01.npy", "sub-02.npy", "truth.json", "words.TextGrid"]);
    for (const f of files) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).toBe(true);

    const truth = JSON.parse(readFileSync(join(a, "truth.json"), "utf8")) as SimulationTruth;
    expect(truth).toEqual(ra.truth);
    expect(truth.kind).toBe("superb-brain-simulation");
    expect(truth.seed).toBe(7);
    expect(truth.snr).toBe(2);
    expect(truth.ceilingR).toBeCloseTo(Math.sqrt(2 / 3), 5);
    expect(truth.rois.map((r) => `${r.name}:${r.family}`)).toEqual([
      "A1-acoustic:acoustic", "A2-acoustic:acoustic", "STG-phonetic:phonetic", "STS-phonetic:phonetic", "IFG-lexical:lexical", "ATL-lexical:lexical",
    ]);
    for (const r of truth.rois) {
      expect(r.weights).toHaveLength(truth.features.filter((f) => f.family === r.family).length);
      for (const w of r.weights) expect(w).toBeGreaterThan(0);
    }
    expect(truth.subjectWeights.map((s) => s.subject)).toEqual(["sub-01", "sub-02"]);
    expect(truth.firstRowTime).toBe(2);
    expect(truth.rows).toBe(14); // rows at 2, 3, ..., 15 s
    expect(truth.words).toBeGreaterThan(5);

    const npy = readNpy(join(a, "sub-01.npy"));
    expect(npy.shape).toEqual([14, 6]);

    const tg = readTextGrid(join(a, "words.TextGrid"));
    expect(tg.tiers.map((t) => t.name)).toEqual(["word", "phone"]);
    expect(tg.xmax).toBe(15);

    const ds = await loadBrainDataset(a, {});
    expect(ds.name).toBe("sim-s7");
    expect(ds.targetNames).toEqual(truth.rois.map((r) => r.name));
    expect(ds.runs).toHaveLength(1);
    expect(ds.runs[0].subjects.map((s) => [s.id, s.rows])).toEqual([["sub-01", 14], ["sub-02", 14]]);
    expect(ds.runs[0].stimulus.length).toBe(15 * 16000);
    expect(ds.runs[0].words?.length).toBe(truth.words);
    expect(ds.truth?.seed).toBe(7);
    expect(ds.skipped).toEqual([]);
  });

  it("a different seed gives different data", async () => {
    const c = join(root, "c");
    await simulateCohort({ outDir: c, ...tiny, seed: 8, subjects: 1 });
    expect(readFileSync(join(c, "sub-01.npy")).equals(readFileSync(join(root, "a", "sub-01.npy")))).toBe(false);
    // The cohort shrank from nothing: only the requested subject files exist.
    expect(readdirSync(c).filter((f) => f.startsWith("sub-"))).toEqual(["sub-01.npy"]);
  });

  it("rejects options that cannot work", async () => {
    await expect(simulateCohort({ outDir: join(root, "x"), minutes: 0.1, tr: 2 })).rejects.toThrow(/rows; at least 10/);
    await expect(simulateCohort({ outDir: join(root, "x"), ar1: 1 })).rejects.toThrow(/ar1/);
  });
});
