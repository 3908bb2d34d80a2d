import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeFlacFile } from "../src/audio-file.js";
import { UserError } from "../src/errors.js";
import { FINDING_OUTCOMES, runFuzz } from "../src/fuzz/engine.js";
import { fuzzFormatNames } from "../src/fuzz/load.js";
import { flipBits, mutantOf, spliceChunk, truncate, writeAbsurdValue } from "../src/fuzz/mutate.js";
import { crc16, crc8, encodeFlacVerbatim, tone } from "../src/fuzz/seed-audio.js";
import { classifyError } from "../src/fuzz/worker.js";
import { Rng } from "../src/random.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-fuzz-test-"));
const bits = (a: Uint8Array, b: Uint8Array): number => a.reduce((n, x, i) => n + [...(x ^ b[i]).toString(2)].filter((c) => c === "1").length, 0);

describe("fuzz seeds", () => {
  it("CRC-8 and CRC-16 give the catalogue check values on \"123456789\"", () => {
    const check = [..."123456789"].map((c) => c.charCodeAt(0));
    expect(crc8(check)).toBe(0xf4); // CRC-8/SMBUS (poly 0x07, init 0)
    expect(crc16(check)).toBe(0xfee8); // CRC-16/UMTS (poly 0x8005, init 0)
  });

  it("the verbatim FLAC encoder's output decodes, through the FLAC library, to its 16-bit samples", async () => {
    const x = tone(0.15, 16000); // 2400 samples: two full 1024-sample frames and a short one
    const file = path.join(tmp, "tone.flac");
    fs.writeFileSync(file, encodeFlacVerbatim(x, 16000));
    const { samples, sampleRate } = await decodeFlacFile(file);
    expect(sampleRate).toBe(16000);
    expect(samples.length).toBe(2400);
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(samples[i] - Math.round(x[i] * 32767) / 32768));
    expect(worst).toBeLessThan(1e-7);
  });
});

describe("mutations", () => {
  const seed = Uint8Array.from({ length: 600 }, (_, i) => (i * 37) & 0xff);

  it("truncation keeps the first bytes; a one-bit flip changes exactly one bit", () => {
    expect([...truncate(seed, 3).bytes]).toEqual([0, 37, 74]);
    const flipped = flipBits(seed, new Rng(5), 1);
    expect(flipped.bytes.length).toBe(seed.length);
    expect(bits(seed, flipped.bytes)).toBe(1);
    expect(flipped.description).toMatch(/^bitflip@\d+\.\d$/);
  });

  it("an absurd value changes at most 8 consecutive bytes; a splice deletes, duplicates or inserts", () => {
    for (let s = 0; s < 50; s++) {
      const m = writeAbsurdValue(seed, new Rng(s));
      const changed = [...seed.keys()].filter((i) => m.bytes[i] !== seed[i]);
      if (changed.length > 0) expect(changed[changed.length - 1] - changed[0]).toBeLessThan(8);
      const sp = spliceChunk(seed, new Rng(s));
      const [, op, n, at] = /^(delete|duplicate|insert) (\d+)@(\d+)$/.exec(sp.description)!.map((v, i) => (i >= 2 ? Number(v) : v)) as [string, string, number, number];
      expect(sp.bytes.length).toBe(op === "delete" ? seed.length - Math.min(n, seed.length - at) : seed.length + n);
    }
  });

  it("a mutant is a function of (harness seed, format, index) alone", () => {
    const a = mutantOf(seed, 7, "wav", 12, false);
    expect(mutantOf(seed, 7, "wav", 12, false)).toEqual(a);
    expect(Buffer.from(mutantOf(seed, 7, "wav", 13, false).bytes).equals(Buffer.from(a.bytes))).toBe(false);
    expect(Buffer.from(mutantOf(seed, 8, "wav", 12, false).bytes).equals(Buffer.from(a.bytes))).toBe(false);
  });
});

describe("outcome classes", () => {
  it("a one-line UserError naming the folder is a clean rejection; one that names nothing is unclear; anything else a crash", () => {
    expect(classifyError(new UserError("/tmp/x/a.wav", "bad header"), "/tmp/x").outcome).toBe("rejected");
    expect(classifyError(new UserError("something is wrong"), "/tmp/x").outcome).toBe("unclear");
    const crash = classifyError(new RangeError("Offset is outside the bounds of the DataView"), "/tmp/x");
    expect(crash.outcome).toBe("crashed");
    expect(crash.message).toMatch(/^RangeError: Offset is outside/);
  });

  it("the harness tells hangs, crashes, memory blow-ups and dead processes apart, and saves each finding", async () => {
    // Readers that misbehave on purpose whenever the file differs from their seed.
    const module = path.join(tmp, "misbehaving-formats.mjs");
    fs.writeFileSync(
      module,
      `import * as fs from "node:fs";
const SEED = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
const same = (dir) => Buffer.from(fs.readFileSync(dir + "/a.bin")).equals(Buffer.from(SEED));
const make = (name, misbehave) => ({ name, description: name, textual: false,
  seeds: async () => [{ name: "s", files: { "a.bin": SEED }, target: "a.bin" }],
  read: async (dir) => { if (!same(dir)) await misbehave(); } });
const hog = [];
export const formats = [
  make("t-hang", () => { for (;;); }),
  make("t-throw", () => { throw new TypeError("x is undefined"); }),
  make("t-memory", () => { for (;;) hog.push(Buffer.alloc(32 << 20, 1)); }),
  make("t-exit", () => process.exit(3)),
];
`,
    );
    const seedBytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const mutants = 3;
    const changed = (f: string) => Array.from({ length: mutants }, (_, i) => mutantOf(seedBytes, 3, f, i, false)).filter((m) => !Buffer.from(m.bytes).equals(Buffer.from(seedBytes))).length;
    const findingsDir = path.join(tmp, "findings");
    const report = await runFuzz({ formats: ["t-hang", "t-throw", "t-memory", "t-exit"], mutantsPerFormat: mutants, harnessSeed: 3, timeoutMs: 3000, memoryMb: 300, jobs: 2, extraModules: [module], findingsDir });
    const by = Object.fromEntries(report.formats.map((f) => [f.format, f]));
    const zero = { parsed: 0, rejected: 0, unclear: 0, crashed: 0, hung: 0, overMemory: 0 };
    const messages = (f: string) => by[f].findings.map((x) => x.message).join("; ");
    expect(by["t-hang"].counts, messages("t-hang")).toEqual({ ...zero, parsed: mutants - changed("t-hang"), hung: changed("t-hang") });
    expect(by["t-throw"].counts, messages("t-throw")).toEqual({ ...zero, parsed: mutants - changed("t-throw"), crashed: changed("t-throw") });
    expect(by["t-memory"].counts, messages("t-memory")).toEqual({ ...zero, parsed: mutants - changed("t-memory"), overMemory: changed("t-memory") });
    expect(by["t-exit"].counts, messages("t-exit")).toEqual({ ...zero, parsed: mutants - changed("t-exit"), crashed: changed("t-exit") });
    expect(by["t-exit"].findings[0].message).toMatch(/reader process died \(exit 3\)/);
    const saved = by["t-throw"].findings[0].savedTo!;
    const finding = JSON.parse(fs.readFileSync(path.join(saved, "finding.json"), "utf8")) as { replay: string; mutant: number };
    expect(finding.replay).toBe(`superb fuzz --formats t-throw --seed 3 --only ${finding.mutant}`);
    expect(fs.readFileSync(path.join(saved, "a.bin"))).toEqual(Buffer.from(mutantOf(seedBytes, 3, "t-throw", finding.mutant, false).bytes));
  });
});

describe("every format superb reads", () => {
  it("covers the formats the readers take", () => {
    expect(fuzzFormatNames()).toEqual(expect.arrayContaining(["wav", "flac", "safetensors", "npy", "nifti", "textgrid", "bold-text", "brain-manifest", "corpus-manifest", "fsc-csv", "speech-commands-lists", "voxceleb1-lists", "librispeech-text", "checkpoint", "hf-config", "hf-weights", "onnx"]));
  });

  it("parses each unmutated seed and survives 40 mutants per format with no crash, hang, memory blow-up or unclear error", async () => {
    const report = await runFuzz({ formats: fuzzFormatNames(), mutantsPerFormat: 40, harnessSeed: 2026, timeoutMs: 20_000, memoryMb: 1536, jobs: 2 });
    const findings = report.formats.flatMap((f) => f.findings.map((x) => `${x.format} ${x.mutant ?? "seed"} ${x.outcome}: ${x.message}`));
    expect(findings).toEqual([]);
    for (const f of report.formats) {
      expect(f.counts.parsed + f.counts.rejected).toBe(40);
      for (const o of FINDING_OUTCOMES) expect(f.counts[o]).toBe(0);
    }
  });
});
