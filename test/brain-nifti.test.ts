import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { decodeNifti, encodeNifti1, readNifti } from "../src/brain/nifti.js";
import { expectUserError } from "./helpers/errors.js";

const dir = mkdtempSync(join(tmpdir(), "superb-nifti-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const values = Float32Array.from({ length: 2 * 3 * 2 }, (_, i) => i + 0.5);

/** A valid 2x3x2 float32 NIfTI-1 with header fields patched (offsets from the NIfTI-1 spec). */
function nifti1(patch: (v: DataView) => void = () => {}): Uint8Array {
  const bytes = encodeNifti1(values, [2, 3, 2]);
  patch(new DataView(bytes.buffer));
  return bytes;
}

/** A little-endian float32 NIfTI-2 (540-byte header) of `values`, voxels at `voxOffset`. */
function nifti2(voxOffset: number, dims: number[] = [2, 3, 2]): Uint8Array {
  const out = new Uint8Array(Math.max(voxOffset, 544) + values.length * 4);
  const v = new DataView(out.buffer);
  v.setInt32(0, 540, true);
  out.set([0x6e, 0x2b, 0x32, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], 4); // "n+2\0\r\n\032\n"
  v.setInt16(12, 16, true); // float32
  v.setInt16(14, 32, true);
  v.setBigInt64(16, BigInt(dims.length), true);
  dims.forEach((d, i) => v.setBigInt64(24 + 8 * i, BigInt(d), true));
  v.setBigInt64(168, BigInt(voxOffset), true);
  v.setFloat64(176, 1, true); // scl_slope
  values.forEach((x, i) => voxOffset + 4 * i + 4 <= out.length && v.setFloat32(voxOffset + 4 * i, x, true));
  return out;
}

const setVoxOffset = (x: number) => (v: DataView) => v.setFloat32(108, x, true);

describe("decodeNifti validates the header before reading voxels", () => {
  it("reads the unpatched file (control)", () => {
    expect(decodeNifti(nifti1(), "ok.nii")).toEqual({ dims: [2, 3, 2], data: values, datatype: "float32" });
    expect(decodeNifti(nifti2(544), "ok2.nii").data).toEqual(values);
  });

  it.each([
    [-4, "-4"],
    [NaN, "NaN"],
    [352.5, "352.5"],
    [0, "0"],
    [100, "100"],
  ])("vox_offset %s (negative, NaN, fractional or inside the 348-byte header) is a UserError", async (offset, shown) => {
    await expectUserError(() => decodeNifti(nifti1(setVoxOffset(offset)), "bad.nii"), `bad.nii: invalid NIfTI vox_offset ${shown} (must be an integer >= 348, the header size)`);
  });

  it("vox_offset inside NIfTI-2's 540-byte header is a UserError; after it the file reads", async () => {
    await expectUserError(() => decodeNifti(nifti2(352), "n2.nii"), "n2.nii: invalid NIfTI vox_offset 352 (must be an integer >= 540, the header size)");
    expect(decodeNifti(nifti2(560), "n2.nii").data).toEqual(values);
  });

  it("vox_offset past the end is a truncation naming the file", async () => {
    await expectUserError(() => decodeNifti(nifti1(setVoxOffset(1e6)), "far.nii"), "far.nii: truncated: 2x3x2 float32 voxels need 1000048 bytes, file has 400");
  });

  it("dimension counts, sizes and their product are bounded", async () => {
    await expectUserError(() => decodeNifti(nifti1((v) => v.setInt16(40, 0, true)), "d.nii"), "d.nii: invalid NIfTI dimension count 0");
    await expectUserError(() => decodeNifti(nifti1((v) => v.setInt16(40, 8, true)), "d.nii"), "d.nii: invalid NIfTI dimension count 8");
    await expectUserError(() => decodeNifti(nifti1((v) => v.setInt16(44, -3, true)), "d.nii"), "d.nii: invalid NIfTI dimensions 2x-3x2");
    await expectUserError(() => decodeNifti(nifti1((v) => v.setInt16(44, 32767, true)), "d.nii"), /^d\.nii: truncated: 2x32767x2 float32 voxels need 524624 bytes/);
    // int64 dims: 2^40 x 2^40 overflows exact arithmetic long before any file is that large.
    await expectUserError(() => decodeNifti(nifti2(544, [2 ** 40, 2 ** 40]), "big.nii"), "big.nii: NIfTI dimensions 1099511627776x1099511627776 are implausibly large");
  });

  it("bitpix must match the data type", async () => {
    await expectUserError(() => decodeNifti(nifti1((v) => v.setInt16(72, 16, true)), "b.nii"), "b.nii: NIfTI bitpix 16 does not match data type float32 (32 bits)");
  });

  it("header extensions are not parsed (nifti-reader-js trusts their sizes), so a corrupt one does not matter", () => {
    // Voxels at 400, an extension flag, and an extension whose size is not a multiple of 16.
    const base = nifti1();
    const bytes = new Uint8Array(400 + values.length * 4);
    bytes.set(base.subarray(0, 348));
    const v = new DataView(bytes.buffer);
    v.setFloat32(108, 400, true);
    bytes[348] = 1;
    v.setInt32(352, 20, true);
    bytes.set(base.subarray(352), 400);
    expect(decodeNifti(bytes, "ext.nii").data).toEqual(values);
  });

  it("a .nii.gz that inflates far past what its header declares stops with a UserError", async () => {
    const bomb = new Uint8Array(16 << 20);
    bomb.set(nifti1());
    await expectUserError(() => decodeNifti(gzipSync(bomb), "bomb.nii.gz"), "bomb.nii.gz: decompresses to more data than its NIfTI header declares");
    expect(decodeNifti(gzipSync(nifti1()), "ok.nii.gz").data).toEqual(values);
    await expectUserError(() => decodeNifti(gzipSync(nifti1(setVoxOffset(-4))), "neg.nii.gz"), "neg.nii.gz: invalid NIfTI vox_offset -4");
  });

  it("readNifti names the file for a folder and a missing file", async () => {
    const folder = join(dir, "x.nii");
    mkdirSync(folder);
    await expectUserError(() => readNifti(folder), `${folder}: is a directory, expected a NIfTI file`);
    const cut = join(dir, "cut.nii");
    writeFileSync(cut, nifti1().subarray(0, 360));
    await expectUserError(() => readNifti(cut), `${cut}: truncated: 2x3x2 float32 voxels need 400 bytes, file has 360`);
  });
});
