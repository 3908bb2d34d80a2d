import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeSafetensors, encodeSafetensors, readSafetensors, type TensorMap } from "../src/safetensors.js";
import { expectUserError } from "./helpers/errors.js";

/** A file of the given header entries followed by `dataBytes` zero bytes. */
function withHeader(header: Record<string, unknown>, dataBytes: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + dataBytes);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  return bytes;
}

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

  it("requires the tensors to tile the data exactly: no overlap, hole or trailing bytes", async () => {
    const f32 = (begin: number, end: number) => ({ dtype: "F32", shape: [(end - begin) / 4], data_offsets: [begin, end] });
    await expectUserError(() => decodeSafetensors(withHeader({ a: f32(0, 8), b: f32(4, 12) }, 12), "o.safetensors"), "o.safetensors: tensors a and b overlap");
    await expectUserError(() => decodeSafetensors(withHeader({ a: f32(0, 4), b: f32(8, 12) }, 12), "g.safetensors"), "g.safetensors: 4 data bytes before tensor b belong to no tensor");
    await expectUserError(() => decodeSafetensors(withHeader({ a: f32(4, 8) }, 8), "s.safetensors"), "s.safetensors: 4 data bytes before tensor a belong to no tensor");
    await expectUserError(() => decodeSafetensors(withHeader({ a: f32(0, 4) }, 12), "t.safetensors"), "t.safetensors: 8 data bytes after the last tensor belong to no tensor");
    // Zero-size tensors may sit anywhere, even at the same offset as another.
    const empty = { dtype: "F32", shape: [0], data_offsets: [4, 4] };
    expect(decodeSafetensors(withHeader({ z: empty, a: f32(0, 4), b: f32(4, 8) }, 8), "z").tensors.get("z")?.shape).toEqual([0]);
  });

  it("rejects implausible header lengths, dtypes and shapes before allocating", async () => {
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 53n, true);
    await expectUserError(() => decodeSafetensors(huge, "h.safetensors"), "h.safetensors: header length 9007199254740992 is implausible");
    const proto = withHeader({ t: { dtype: "constructor", shape: [1], data_offsets: [0, 4] } }, 4);
    await expectUserError(() => decodeSafetensors(proto, "p.safetensors"), "p.safetensors: tensor t: unsupported dtype constructor");
    const overflow = withHeader({ t: { dtype: "F32", shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 4] } }, 4);
    await expectUserError(() => decodeSafetensors(overflow, "x.safetensors"), "x.safetensors: tensor t: shape [1073741824,1073741824,1073741824] is implausibly large");
  });

  it("readSafetensors names a folder given as the file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "superb-st-"));
    try {
      await expectUserError(() => readSafetensors(dir), `${dir}: is a directory, expected a safetensors file`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
