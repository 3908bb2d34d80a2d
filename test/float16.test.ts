import { describe, expect, it } from "vitest";
import { float16ToFloat32, float32ToFloat16, fromFloat16Bits, toFloat16Bits } from "../src/float16.js";

describe("float16", () => {
  it("encodes hand-checked values (IEEE 754 binary16)", () => {
    // 1 = 0 01111 0000000000; -2 = 1 10000 0...; 0.5 = 0 01110 ...; 65504 = largest finite; 2^-24 = smallest subnormal.
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(0.5)).toBe(0x3800);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(toFloat16Bits(0)).toBe(0);
    expect(toFloat16Bits(1e6)).toBe(0x7c00); // overflow to +inf
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    // 1/3 = 0 01101 0101010101 (0x3555).
    expect(toFloat16Bits(1 / 3)).toBe(0x3555);
  });

  it("decodes the same values back", () => {
    expect(fromFloat16Bits(0x3c00)).toBe(1);
    expect(fromFloat16Bits(0xc000)).toBe(-2);
    expect(fromFloat16Bits(0x7bff)).toBe(65504);
    expect(fromFloat16Bits(0x0001)).toBe(2 ** -24);
    expect(fromFloat16Bits(0x3555)).toBe(0.333251953125);
    expect(fromFloat16Bits(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(fromFloat16Bits(0x7e00))).toBe(true);
  });

  it("round-trips arrays within half a unit in the last place (relative 2^-11)", () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10 ** ((i % 7) - 3));
    const back = float16ToFloat32(float32ToFloat16(values));
    for (let i = 0; i < values.length; i++) {
      if (Math.abs(values[i]) < 2 ** -14) expect(Math.abs(back[i] - values[i])).toBeLessThanOrEqual(2 ** -25);
      else expect(Math.abs(back[i] - values[i]) / Math.abs(values[i])).toBeLessThanOrEqual(2 ** -11);
    }
  });
});
