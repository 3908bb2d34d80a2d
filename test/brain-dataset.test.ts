import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { writeWav16 } from "../src/audio.js";
import { readBold } from "../src/brain/bold-io.js";
import { columnProblem, loadBrainDataset } from "../src/brain/dataset.js";
import { encodeNifti1 } from "../src/brain/nifti.js";
import { stimulusFromTextGrid } from "../src/brain/stimulus.js";
import { formatTextGrid } from "../src/brain/textgrid.js";
import { encodeNpy, npyHeader } from "../src/npy.js";
import { Rng } from "../src/random.js";

const root = mkdtempSync(join(tmpdir(), "superb-brain-ds-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function folder(): string {
  const d = join(root, `d${counter++}`);
  mkdirSync(d, { recursive: true });
  return d;
}

function randomMatrix(rows: number, cols: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.round(rng.normal() * 1000) / 1000));
}

function writeText(file: string, m: number[][], sep = " ", header?: string[]): void {
  const lines = m.map((r) => r.join(sep));
  writeFileSync(file, (header ? [header.join(sep), ...lines] : lines).join("\n") + "\n");
}

function float64Npy(values: number[], shape: number[]): Uint8Array {
  const header = npyHeader(shape).replace("'<f4'", "'<f8'");
  const out = new Uint8Array(10 + header.length + values.length * 8);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const v = new DataView(out.buffer);
  v.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  values.forEach((x, i) => v.setFloat64(10 + header.length + 8 * i, x, true));
  return out;
}

/** A data set folder: a silent WAV of `seconds`, subjects given as matrices, tr 1. */
function dataset(subjects: Record<string, number[][]>, opts: { seconds?: number; firstRowTime?: number; targets?: string[] } = {}): string {
  const d = folder();
  writeWav16(join(d, "stim.wav"), new Float32Array(Math.round((opts.seconds ?? 20) * 16000)), 16000);
  for (const [id, m] of Object.entries(subjects)) writeText(join(d, `${id}.txt`), m);
  const manifest = {
    name: "test-set",
    tr: 1,
    firstRowTime: opts.firstRowTime ?? 0,
    targets: opts.targets,
    runs: [{ id: "r1", stimulus: { wav: "stim.wav" }, subjects: Object.keys(subjects).map((id) => ({ id, bold: `${id}.txt` })) }],
  };
  writeFileSync(join(d, "brain.json"), JSON.stringify(manifest));
  return d;
}

describe("readBold", () => {
  const m = randomMatrix(5, 3, 1);

  it("reads whitespace text and CSV with or without a header row", () => {
    const d = folder();
    writeText(join(d, "a.txt"), m, "\t");
    writeText(join(d, "b.csv"), m, ",");
    writeText(join(d, "c.csv"), m, ",", ["A", "B", "C"]);
    writeText(join(d, "d.txt"), m, "   ", ["A", "B", "C"]);
    for (const f of ["a.txt", "b.csv", "c.csv", "d.txt"]) {
      const b = readBold(join(d, f));
      expect([b.rows, b.cols], f).toEqual([5, 3]);
      expect(Array.from(b.data)).toEqual(m.flat().map(Math.fround));
    }
    expect(readBold(join(d, "a.txt")).names).toBeUndefined();
    expect(readBold(join(d, "c.csv")).names).toEqual(["A", "B", "C"]);
    writeFileSync(join(d, "bad.txt"), "1 2 3\n4 5\n");
    expect(() => readBold(join(d, "bad.txt"))).toThrow(/bad\.txt: line 2 has 2 values, expected 3/);
    writeFileSync(join(d, "bad2.csv"), "1,2\n3,x\n");
    expect(() => readBold(join(d, "bad2.csv"))).toThrow(/bad2\.csv: line 2: "x" is not a number/);
    expect(() => readBold(join(d, "none.txt"))).toThrow(/none\.txt: file not found/);
  });

  it("reads float32 and float64 .npy", () => {
    const d = folder();
    writeFileSync(join(d, "f4.npy"), encodeNpy(Float32Array.from(m.flat()), [5, 3]));
    writeFileSync(join(d, "f8.npy"), float64Npy(m.flat(), [5, 3]));
    for (const f of ["f4.npy", "f8.npy"]) {
      const b = readBold(join(d, f));
      expect([b.rows, b.cols]).toEqual([5, 3]);
      expect(Array.from(b.data)).toEqual(m.flat().map(Math.fround));
    }
    writeFileSync(join(d, "f8bad.npy"), float64Npy(m.flat(), [5, 4]));
    expect(() => readBold(join(d, "f8bad.npy"))).toThrow(/f8bad\.npy: shape \(5, 4\) needs 160 float64 data bytes, file has 120/);
  });

  it("reads a 4-D NIfTI with a mask (C-order voxels), gzipped or not, and rejects a mismatched mask", () => {
    const d = folder();
    const [nx, ny, nz, nt] = [2, 3, 2, 4];
    const vol = new Float32Array(nx * ny * nz * nt);
    // value = t*1000 + x*100 + y*10 + z, file order x fastest
    for (let t = 0; t < nt; t++) for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) vol[x + nx * (y + ny * (z + nz * t))] = t * 1000 + x * 100 + y * 10 + z;
    writeFileSync(join(d, "bold.nii"), encodeNifti1(vol, [nx, ny, nz, nt], { tr: 2 }));
    writeFileSync(join(d, "bold.nii.gz"), gzipSync(encodeNifti1(vol, [nx, ny, nz, nt])));
    const mask = new Float32Array(nx * ny * nz);
    const keep = [[0, 1, 1], [1, 0, 0], [0, 2, 0]]; // x,y,z
    for (const [x, y, z] of keep) mask[x + nx * (y + ny * z)] = 1;
    writeFileSync(join(d, "mask.nii.gz"), gzipSync(encodeNifti1(mask, [nx, ny, nz])));
    writeFileSync(join(d, "mask-small.nii"), encodeNifti1(new Float32Array(2 * 3 * 1).fill(1), [2, 3, 1]));

    for (const f of ["bold.nii", "bold.nii.gz"]) {
      const b = readBold(join(d, f), { mask: join(d, "mask.nii.gz") });
      expect([b.rows, b.cols]).toEqual([4, 3]);
      // C order over (x, y, z): (0,1,1), (0,2,0), (1,0,0)
      expect(b.names).toEqual(["0,1,1", "0,2,0", "1,0,0"]);
      expect(Array.from(b.data.subarray(0, 3))).toEqual([11, 20, 100]);
      expect(Array.from(b.data.subarray(9, 12))).toEqual([3011, 3020, 3100]);
    }
    const all = readBold(join(d, "bold.nii"));
    expect([all.rows, all.cols]).toEqual([4, 12]);
    expect(() => readBold(join(d, "bold.nii"), { mask: join(d, "mask-small.nii") })).toThrow(/bold\.nii: NIfTI dimensions 2x3x2 \(x 4 volumes\) do not match mask .*mask-small\.nii \(2x3x1\)/);
    expect(() => readBold(join(d, "mask.nii.gz"))).toThrow(/expected a 4-D NIfTI image/);
    writeFileSync(join(d, "junk.nii"), new Uint8Array(400));
    expect(() => readBold(join(d, "junk.nii"))).toThrow(/junk\.nii: not a NIfTI-1 or NIfTI-2 file/);
  });
});

describe("loadBrainDataset validation", () => {
  it("loads a valid set and hashes its content", async () => {
    const d = dataset({ s1: randomMatrix(10, 2, 1), s2: randomMatrix(10, 2, 2) }, { targets: ["A", "B"] });
    const notices: string[] = [];
    const ds = await loadBrainDataset(d, { onNotice: (m) => notices.push(m) });
    expect(ds.targetNames).toEqual(["A", "B"]);
    expect(ds.runs[0].subjects.map((s) => s.id)).toEqual(["s1", "s2"]);
    expect(ds.runs[0].stimulus.length).toBe(20 * 16000);
    expect(ds.skipped).toEqual([]);
    // 10 rows of 1 s on a 20 s stimulus: too short is fine, but reported.
    expect(notices.some((n) => /BOLD covers 0\.0-10\.0 s of a 20\.0 s stimulus/.test(n))).toBe(true);
    const again = await loadBrainDataset(join(d, "brain.json"), {});
    expect(again.hash).toBe(ds.hash);
    const other = await loadBrainDataset(dataset({ s1: randomMatrix(10, 2, 1), s2: randomMatrix(10, 2, 3) }, { targets: ["A", "B"] }), {});
    expect(other.hash).not.toBe(ds.hash);
  });

  it("rejects subjects of different lengths, naming both", async () => {
    const d = dataset({ s1: randomMatrix(10, 2, 1), s2: randomMatrix(9, 2, 2) });
    await expect(loadBrainDataset(d, {})).rejects.toThrow(/s2\.txt: 9 rows, but .*s1\.txt \(subject "s1"\) has 10 in run "r1"/);
  });

  it("skips a subject with a NaN column and one that is constant, with reasons", async () => {
    const nan = randomMatrix(10, 3, 2);
    nan[4][1] = NaN;
    const constant = Array.from({ length: 10 }, () => [0, 0, 0]);
    const partlyConstant = randomMatrix(10, 3, 4).map((r) => [r[0], 5, r[2]]);
    const d = dataset({ s1: randomMatrix(10, 3, 1), s2: nan, s3: constant, s4: partlyConstant }, { targets: ["A", "B", "C"] });
    const ds = await loadBrainDataset(d, {});
    expect(ds.runs[0].subjects.map((s) => s.id)).toEqual(["s1"]);
    expect(ds.skipped).toEqual([
      { subject: "s2", run: "r1", reason: "s2.txt: 1 of 3 columns unusable (1 with NaN/Inf): B has NaN in row 5" },
      { subject: "s3", run: "r1", reason: "s3.txt: all 3 columns are constant (every value is 0)" },
      { subject: "s4", run: "r1", reason: "s4.txt: 1 of 3 columns unusable (1 constant): B is constant (5)" },
    ]);
    const onlyBad = dataset({ s3: constant });
    await expect(loadBrainDataset(onlyBad, {})).rejects.toThrow(/no usable subjects in any run \(s3: s3\.txt: all 3 columns are constant/);
  });

  it("rejects BOLD longer than the stimulus (more than one TR past its end)", async () => {
    // 20 s stimulus, TR 1: rows at 5..24 s (20 rows) end at 25 s > 21 s.
    const d = dataset({ s1: randomMatrix(20, 2, 1) }, { firstRowTime: 5 });
    await expect(loadBrainDataset(d, {})).rejects.toThrow(/s1\.txt: 20 rows x TR 1 s from 5 s end at 25\.00 s, more than one TR past the end of the stimulus \(20\.00 s/);
    // Rows at 0..20 s (21 rows): the last row is at the end of the stimulus, which is fine.
    await expect(loadBrainDataset(dataset({ s1: randomMatrix(21, 2, 1) }), {})).resolves.toBeDefined();
  });

  it("rejects target count mismatches, missing files and malformed manifests", async () => {
    await expect(loadBrainDataset(dataset({ s1: randomMatrix(10, 2, 1), s2: randomMatrix(10, 3, 2) }), {})).rejects.toThrow(/s2\.txt: 3 targets \(columns\), but .*s1\.txt has 2/);
    await expect(loadBrainDataset(dataset({ s1: randomMatrix(10, 2, 1) }, { targets: ["A", "B", "C"] }), {})).rejects.toThrow(/s1\.txt: 2 targets \(columns\), but .*brain\.json "targets" has 3/);
    const d = dataset({ s1: randomMatrix(10, 2, 1) });
    rmSync(join(d, "s1.txt"));
    await expect(loadBrainDataset(d, {})).rejects.toThrow(/s1\.txt: file not found \(BOLD of subject "s1", run "r1" in .*brain\.json\)/);
    const e = folder();
    writeFileSync(join(e, "brain.json"), JSON.stringify({ name: "x", tr: 2, runs: [{ id: "r", stimulus: {}, subjects: [] }] }));
    await expect(loadBrainDataset(e, {})).rejects.toThrow(/brain\.json: runs\[0\]\.stimulus needs "wav" or "textgrid"/);
    writeFileSync(join(e, "brain.json"), JSON.stringify({ name: "x", tr: 2, runz: [] }));
    await expect(loadBrainDataset(e, {})).rejects.toThrow(/brain\.json: unknown key "runz"/);
    writeFileSync(join(e, "brain.json"), "{ nope");
    await expect(loadBrainDataset(e, {})).rejects.toThrow(/brain\.json: not valid JSON/);
    await expect(loadBrainDataset(join(root, "nowhere"), {})).rejects.toThrow(/nowhere: no such file or folder/);
    await expect(loadBrainDataset(folder(), {})).rejects.toThrow(/not a brain data set/);
  });

  it("columnProblem accepts good data", () => {
    expect(columnProblem({ data: Float32Array.from([1, 2, 3, 4]), rows: 2, cols: 2 }, ["a", "b"])).toBeNull();
  });
});

describe("TextGrid stimuli", () => {
  it("synthesises words into their intervals once, then reads the cache", async () => {
    const d = folder();
    const cacheDir = join(d, "cache");
    writeFileSync(
      join(d, "words.TextGrid"),
      formatTextGrid({
        xmin: 0,
        xmax: 2,
        tiers: [{ kind: "interval", name: "word", xmin: 0, xmax: 2, intervals: [
          { xmin: 0, xmax: 0.4, text: "sp" },
          { xmin: 0.4, xmax: 0.9, text: "Rabbit" },
          { xmin: 0.9, xmax: 1.3, text: "hole" },
          { xmin: 1.3, xmax: 2, text: "sp" },
        ] }],
      }),
    );
    const first = await stimulusFromTextGrid(join(d, "words.TextGrid"), "word", { cacheDir, progress: false });
    expect(first.cached).toBe(false);
    expect(first.samples.length).toBe(32000);
    const energy = (a: number, b: number) => first.samples.subarray(a * 16000, b * 16000).reduce((s, v) => s + v * v, 0);
    expect(energy(0, 0.4)).toBe(0);
    expect(energy(1.3, 2)).toBe(0);
    expect(energy(0.4, 0.9)).toBeGreaterThan(0);
    expect(energy(0.9, 1.3)).toBeGreaterThan(0);
    const second = await stimulusFromTextGrid(join(d, "words.TextGrid"), "word", { cacheDir, progress: false });
    expect(second.cached).toBe(true);
    expect(second.cachePath).toBe(first.cachePath);
    expect(Array.from(second.samples)).toEqual(Array.from(first.samples));

    // The same TextGrid as a data set stimulus; stimulus: false skips synthesis but keeps duration and hash.
    writeText(join(d, "s1.txt"), randomMatrix(3, 2, 1));
    writeFileSync(join(d, "brain.json"), JSON.stringify({ name: "tg", tr: 0.5, firstRowTime: 0.5, runs: [{ id: "r1", stimulus: { textgrid: "words.TextGrid" }, subjects: [{ id: "s1", bold: "s1.txt" }] }] }));
    const lazy = await loadBrainDataset(d, { cacheDir, stimulus: false });
    expect(lazy.runs[0].stimulus.length).toBe(0);
    expect(lazy.runs[0].stimulusDuration).toBe(2);
    expect(lazy.runs[0].words?.map((w) => w.text)).toEqual(["rabbit", "hole"]);
    const full = await loadBrainDataset(d, { cacheDir });
    expect(full.runs[0].stimulus.length).toBe(32000);
    expect(full.hash).toBe(lazy.hash);
  });
});
