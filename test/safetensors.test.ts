import { describe, expect, it } from "vitest";
import { decodeSafetensors, encodeSafetensors, type TensorMap } from "../src/safetensors.js";

function sample(): TensorMap {
  return new Map([
    ["a.weight", { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    ["b", { shape: [1], data: Float32Array.from([-0.5]) }],
  ]);
}

describe("safetensors", () => {
  it("round-trips tensors and metadata, with an 8-byte aligned data section", () => {
    const bytes = encodeSafetensors(sample(), { step: "7" });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const { tensors, metadata } = decodeSafetensors(bytes, "x.safetensors");
    expect(metadata).toEqual({ step: "7" });
    expect(tensors.get("a.weight")!.shape).toEqual([2, 3]);
    expect(Array.from(tensors.get("a.weight")!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(tensors.get("b")!.data)).toEqual([-0.5]);
  });

  it("decodes F16 and BF16 (1.0 = 0x3c00 and 0x3f80; -2.0 = 0xc000 and 0xc000)", () => {
    const header = JSON.stringify({ h: { dtype: "F16", shape: [2], data_offsets: [0, 4] }, b: { dtype: "BF16", shape: [2], data_offsets: [4, 8] } });
    const bytes = new Uint8Array(8 + header.length + 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(Buffer.from(header), 8);
    const dv = new DataView(bytes.buffer, 8 + header.length);
    dv.setUint16(0, 0x3c00, true);
    dv.setUint16(2, 0xc000, true);
    dv.setUint16(4, 0x3f80, true);
    dv.setUint16(6, 0xc000, true);
    const { tensors } = decodeSafetensors(bytes, "f.safetensors");
    expect(Array.from(tensors.get("h")!.data)).toEqual([1, -2]);
    expect(Array.from(tensors.get("b")!.data)).toEqual([1, -2]);
  });

  it("rejects truncated and hostile files with one line naming the file", () => {
    const good = encodeSafetensors(sample());
    expect(() => decodeSafetensors(good.subarray(0, good.length - 4), "m.safetensors")).toThrow(/^m\.safetensors: truncated/);
    expect(() => decodeSafetensors(good.subarray(0, 5), "m.safetensors")).toThrow(/m\.safetensors: not a safetensors file/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 60n, true);
    expect(() => decodeSafetensors(huge, "h.safetensors")).toThrow(/h\.safetensors: header length .* implausible/);
    const lying = (entry: object) => {
      const header = JSON.stringify({ t: entry });
      const bytes = new Uint8Array(8 + header.length + 16);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
      bytes.set(Buffer.from(header), 8);
      return bytes;
    };
    expect(() => decodeSafetensors(lying({ dtype: "F32", shape: [1000000, 1000000], data_offsets: [0, 16] }), "s")).toThrow(/shape .* needs/);
    expect(() => decodeSafetensors(lying({ dtype: "I8", shape: [4], data_offsets: [0, 4] }), "s")).toThrow(/unsupported dtype I8/);
    expect(() => decodeSafetensors(lying({ dtype: "F32", shape: [4], data_offsets: [8, 24] }), "s")).toThrow(/truncated: tensor t/);
    expect(() => decodeSafetensors(lying({ dtype: "F32", shape: [-1], data_offsets: [0, 4] }), "s")).toThrow(/invalid shape/);
  });
});
