import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.js";
import { decodeNpy, encodeNpy, npyHeader, readNpy, writeNpy } from "../src/npy.js";
import { expectUserError } from "./helpers/errors.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-npy-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A .npy v1.0 file built by hand from the format spec: magic, version, uint16 LE length, header, LE float32 data. */
function handBuilt(dictText: string, values: number[]): Uint8Array {
  // Total of magic (6) + version (2) + length (2) + header must be a multiple of 64; the header ends in "\n".
  const unpadded = 10 + dictText.length + 1;
  const pad = 64 - (unpadded % 64);
  const header = dictText + " ".repeat(pad) + "\n";
  const bytes = new Uint8Array(10 + header.length + 4 * values.length);
  bytes.set([0x93, ..."NUMPY"].map((c) => (typeof c === "number" ? c : c.charCodeAt(0))), 0);
  bytes[6] = 1;
  bytes[7] = 0;
  bytes[8] = header.length & 0xff;
  bytes[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
  const dv = new DataView(bytes.buffer);
  values.forEach((v, i) => dv.setFloat32(10 + header.length + 4 * i, v, true));
  return bytes;
}

describe("npy", () => {
  it("encodes exactly the hand-built bytes (NumPy's header text, 64-byte aligned)", () => {
    // NumPy >= 1.24 puts 21 - digits(shape[0]) spaces after the dict (room to grow axis 0).
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + " ".repeat(20);
    const expected = handBuilt(dict, [1, 2, 3, 4, 5, 6.5]);
    const bytes = encodeNpy(Float32Array.from([1, 2, 3, 4, 5, 6.5]), [2, 3]);
    expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true);
    expect((10 + (bytes[8] | (bytes[9] << 8))) % 64).toBe(0);
    expect(bytes.length).toBe(128 + 24);
  });

  it("writes the header NumPy 2.4 writes for 0-d, 1-d and empty shapes", () => {
    // Recorded from numpy.lib.format.write_array_header_1_0 (all 128 bytes with the prefix).
    const cases: [number[], string][] = [
      [[3], "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"],
      [[], "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"],
      [[13, 0, 768], "{'descr': '<f4', 'fortran_order': False, 'shape': (13, 0, 768), }"],
    ];
    for (const [shape, dict] of cases) {
      const h = npyHeader(shape);
      expect(h.startsWith(dict)).toBe(true);
      expect(h.endsWith(" \n")).toBe(true);
      expect(h.slice(dict.length, -1).trim()).toBe("");
      expect(10 + h.length).toBe(128);
    }
    // A header that would end exactly on 64 bytes still gets a full pad (NumPy's rule).
    for (let d = 0; d < 200; d++) {
      const h = npyHeader([1, d * 1001]);
      expect((10 + h.length) % 64).toBe(0);
      expect(h.endsWith(" \n")).toBe(true);
    }
  });

  it("round-trips through a file, including zero-size arrays", () => {
    const data = Float32Array.from({ length: 3 * 5 * 7 }, (_, i) => Math.sin(i) * 1e3);
    const file = path.join(tmp, "x.npy");
    writeNpy(file, data, [3, 5, 7]);
    const back = readNpy(file);
    expect(back.shape).toEqual([3, 5, 7]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
    writeNpy(file, new Float32Array(0), [13, 0, 4]);
    expect(readNpy(file)).toEqual({ shape: [13, 0, 4], data: new Float32Array(0) });
    expect(fs.readdirSync(tmp).filter((f) => f.includes("tmp"))).toEqual([]);
  });

  it("reads hand-built files and rejects what it cannot represent, naming the file", () => {
    const plain = handBuilt("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", [0.5, -2]);
    expect(decodeNpy(plain, "p.npy")).toEqual({ shape: [2], data: Float32Array.from([0.5, -2]) });
    const f8 = handBuilt("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", [0, 0]);
    expect(() => decodeNpy(f8, "f8.npy")).toThrow(/^f8\.npy: dtype <f8 is not supported/);
    const fortran = handBuilt("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", [0]);
    expect(() => decodeNpy(fortran, "f.npy")).toThrow(/Fortran-order/);
    const good = encodeNpy(Float32Array.from([1, 2, 3]), [3]);
    expect(() => decodeNpy(good.subarray(0, good.length - 2), "t.npy")).toThrow(/^t\.npy: truncated/);
    expect(() => decodeNpy(good.subarray(0, 40), "h.npy")).toThrow(/^h\.npy: truncated/);
    expect(() => decodeNpy(Buffer.from("hello world, not numpy"), "j.npy")).toThrow(UserError);
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/needs 6 values/);
    expect(() => readNpy(path.join(tmp, "missing.npy"))).toThrow(/missing\.npy: no such file/);
  });

  it("rejects an oversized header and a shape whose size overflows, naming the file", async () => {
    // Format 2.0: a 4-byte header length; 100000 bytes of header is no float32 array's.
    const long = new Uint8Array(12 + 100_000);
    long.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
    new DataView(long.buffer).setUint32(8, 100_000, true);
    long.set(Buffer.from("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }"), 12);
    await expectUserError(() => decodeNpy(long, "long.npy"), "long.npy: header length 100000 is implausible (limit 65536)");
    const big = handBuilt("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", [0]);
    await expectUserError(() => decodeNpy(big, "big.npy"), "big.npy: shape (4294967296, 4294967296) is implausibly large");
  });
});
