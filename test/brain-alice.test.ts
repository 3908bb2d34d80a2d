import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ALICE_ROIS, defaultAliceDir } from "../src/brain/alice.js";
import { loadBrainDataset, resolveBrainDataset } from "../src/brain/dataset.js";
import { convolveCausal, hrfKernel } from "../src/brain/hrf.js";

const dir = defaultAliceDir();
const present = existsSync(join(dir, "DownTheRabbitHoleFinal_exp120_pad_1.TextGrid"));
if (!present) console.warn(`brain-alice tests skipped: the Alice fMRI data is not at ${dir} (set SUPERB_ALICE_DIR)`);

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describe.skipIf(!present)("Alice fMRI data (real)", () => {
  it("loads 27 usable subjects x 362 rows x 6 ROIs, with s33 skipped and why", async () => {
    const notices: string[] = [];
    const ds = await loadBrainDataset("alice", { stimulus: false, onNotice: (m) => notices.push(m) });
    expect(ds.name).toBe("alice-6mm");
    expect(ds.targetNames).toEqual(ALICE_ROIS);
    expect(ds.runs).toHaveLength(1);
    const run = ds.runs[0];
    expect(run.tr).toBe(2);
    expect(run.firstRowTime).toBe(20);
    expect(run.subjects).toHaveLength(27);
    for (const s of run.subjects) {
      expect(s.rows).toBe(362);
      expect(s.bold.length).toBe(362 * 6);
    }
    expect(run.subjects.map((s) => s.id)).not.toContain("s33");
    expect(ds.skipped).toEqual([{ subject: "s33", run: "alice-ch1", reason: "s33-timecourses.txt: all 6 columns are constant (every value is 0)" }]);
    expect(notices.some((n) => n.includes("skipping subject s33"))).toBe(true);
    expect(run.stimulusDuration).toBeCloseTo(743.634, 2);
    expect(run.stimulus.length).toBe(0); // not synthesised with stimulus: false
    expect(run.words).toHaveLength(2101);
    expect(run.words?.[0]).toEqual({ text: "alice", xmin: 20.05891632653599, xmax: 20.621637414967992 });
  });

  it("resolves alice:10mm and the folder itself", async () => {
    expect(resolveBrainDataset("alice:10mm")).toEqual({ kind: "alice", dir, radius: "10mm" });
    expect(resolveBrainDataset(dir)).toEqual({ kind: "alice", dir, radius: "6mm" });
    const ds = await loadBrainDataset(`${dir}:10mm`, { stimulus: false });
    expect(ds.name).toBe("alice-10mm");
    expect(ds.runs[0].subjects).toHaveLength(27);
    const six = await loadBrainDataset(dir, { stimulus: false });
    expect(six.hash).not.toBe(ds.hash);
  });

  it("word timings line up with the authors' word-rate predictor at row k = (10 + k) * 2 s", async () => {
    const ds = await loadBrainDataset("alice", { stimulus: false });
    const run = ds.runs[0];
    const rate = 10; // 100 ms bins
    const onsets = new Float64Array(Math.ceil((run.stimulusDuration ?? 0) * rate) + 1);
    for (const w of run.words ?? []) onsets[Math.round(w.xmin * rate)] += 1;
    const conv = convolveCausal(onsets, hrfKernel(run.tr, { oversampling: run.tr * rate }));
    const sampled = Array.from({ length: 362 }, (_, k) => conv[Math.round((run.firstRowTime + k * run.tr) * rate)]);
    const reference = readFileSync(join(dir, "s18-rate.txt"), "utf8").trim().split(/\s+/).map(Number);
    expect(reference).toHaveLength(362);
    expect(pearson(sampled, reference)).toBeGreaterThan(0.95);
  });
});
