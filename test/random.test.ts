import { describe, expect, it } from "vitest";
import { Rng, deriveSeed, mulberry32, seededShuffle } from "../src/random.js";

// Reference values from an independent uint32 implementation of Tommy Ettinger's mulberry32 C code:
//   z = (x += 0x6D2B79F5); z = (z ^ z >> 15) * (z | 1); z ^= z + (z ^ z >> 7) * (z | 61); return z ^ z >> 14;
const SEED0 = [1144304738, 1416247, 958946056];
const SEED42 = [2581720956, 1925393290, 3661312704];

describe("mulberry32", () => {
  it("gives the reference outputs for seeds 0 and 42", () => {
    const r0 = mulberry32(0);
    expect(SEED0.map(() => r0() * 4294967296)).toEqual(SEED0);
    const r42 = mulberry32(42);
    expect(SEED42.map(() => r42() * 4294967296)).toEqual(SEED42);
    expect(mulberry32(0)()).toBe(0.26642920868471265);
  });

  it("Rng.float is the same stream, and seeds are taken modulo 2^32", () => {
    const rng = new Rng(42);
    expect(SEED42.map(() => rng.float() * 4294967296)).toEqual(SEED42);
    expect(new Rng(2 ** 32 + 42).float()).toBe(new Rng(42).float());
    expect(mulberry32(-1)()).toBe(new Rng(0xffffffff).float());
  });

  it("seededShuffle is a fixed permutation per seed (Fisher-Yates over the stream)", () => {
    expect(seededShuffle(10, 7)).toEqual([6, 5, 8, 1, 2, 3, 4, 7, 9, 0]);
    expect(seededShuffle(10, 7)).toEqual(new Rng(7).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(seededShuffle(0, 7)).toEqual([]);
    expect(seededShuffle(1, 7)).toEqual([0]);
  });
});

describe("Rng helpers", () => {
  it("are deterministic and within bounds", () => {
    const a = new Rng(42), b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.float());
    expect(xs).toEqual(Array.from({ length: 5 }, () => b.float()));
    const r = new Rng(7);
    for (let i = 0; i < 1000; i++) {
      const v = r.int(3, 5);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(5);
    }
    const input = [1, 2, 3, 4, 5];
    expect(r.shuffle(input).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(input).toEqual([1, 2, 3, 4, 5]);
    const n = Array.from({ length: 20000 }, () => r.normal(1, 2));
    const mean = n.reduce((s, v) => s + v, 0) / n.length;
    const sd = Math.sqrt(n.reduce((s, v) => s + (v - mean) ** 2, 0) / n.length);
    expect(mean).toBeCloseTo(1, 1);
    expect(sd).toBeCloseTo(2, 1);
    expect(() => r.pick([])).toThrow(/empty/);
  });
});

describe("deriveSeed", () => {
  it("gives the reference values (FNV-1a over the label, then an avalanche round)", () => {
    expect(deriveSeed(0, "")).toBe(1572119809);
    expect(deriveSeed(1234, "speakers")).toBe(4024537809);
    expect(deriveSeed(1, "a")).toBe(2156595625);
    expect(deriveSeed(1, "a")).not.toBe(deriveSeed(1, "b"));
  });
});
