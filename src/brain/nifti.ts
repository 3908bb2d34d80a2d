/**
 * NIfTI-1 / NIfTI-2 images (.nii, .nii.gz) through nifti-reader-js, converted to float32 with the
 * header's scl_slope / scl_inter applied. Data stay in file order (x fastest, then y, z, t).
 * encodeNifti1 writes a minimal single-file float32 NIfTI-1 (for tests and simulated sets).
 */
import { readUserFile } from "../fs-atomic.js";
import { kMaxLength } from "node:buffer";
import { constants as zlibConstants, gunzipSync, type ZlibOptions } from "node:zlib";
import * as nifti from "nifti-reader-js";
import { UserError, oneLine } from "../errors.js";

export interface NiftiImage {
  /** Sizes of the used dimensions: dims[1..dims[0]] of the header (x, y, z, t, ...). */
  dims: number[];
  /** Values in file order (x fastest), scaled by scl_slope / scl_inter when the slope is set. */
  data: Float32Array;
  /** The stored data type, e.g. "float32", "int16". */
  datatype: string;
}

const DATATYPES: Record<number, { name: string; bytes: number }> = {
  2: { name: "uint8", bytes: 1 },
  4: { name: "int16", bytes: 2 },
  8: { name: "int32", bytes: 4 },
  16: { name: "float32", bytes: 4 },
  64: { name: "float64", bytes: 8 },
  256: { name: "int8", bytes: 1 },
  512: { name: "uint16", bytes: 2 },
  768: { name: "uint32", bytes: 4 },
};

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

/** Fixed header sizes; the voxels cannot start inside the header. */
const HEADER_BYTES = { 1: 348, 2: 540 } as const;

/** Where the voxels are and what they hold, checked against the header alone (not the file size). */
interface Layout {
  dims: number[];
  type: { name: string; bytes: number };
  offset: number;
  count: number;
  /** offset + count * bytes: the bytes the image needs. */
  end: number;
}

/**
 * Reads the fixed header only: nifti-reader-js also walks the extensions, trusting their sizes
 * (a negative one loops forever), and this reader has no use for them.
 */
function readFixedHeader(buffer: ArrayBuffer, source: string): nifti.NIFTI1 | nifti.NIFTI2 {
  if (!nifti.isNIFTI(buffer)) throw new UserError(`${source}: not a NIfTI-1 or NIfTI-2 file (no "n+1"/"n+2" magic)`);
  const size = nifti.isNIFTI2(buffer) ? HEADER_BYTES[2] : HEADER_BYTES[1];
  if (buffer.byteLength < size) throw new UserError(source, `truncated NIfTI header (${buffer.byteLength} of ${size} bytes)`);
  try {
    return nifti.readHeader(buffer.slice(0, size));
  } catch (err) {
    throw new UserError(`${source}: unreadable NIfTI header (${oneLine(err)})`);
  }
}

/** The voxel layout, every header field bounded; the caller compares `end` with the bytes it has. */
function layoutOf(header: nifti.NIFTI1 | nifti.NIFTI2, source: string): Layout {
  const ndim = Number(header.dims[0]);
  if (!Number.isInteger(ndim) || ndim < 1 || ndim > 7) throw new UserError(`${source}: invalid NIfTI dimension count ${ndim}`);
  const dims = header.dims.slice(1, ndim + 1).map(Number);
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 1)) throw new UserError(`${source}: invalid NIfTI dimensions ${dims.join("x")}`);
  const type = DATATYPES[header.datatypeCode];
  if (!type) throw new UserError(`${source}: NIfTI data type code ${header.datatypeCode} is not supported (use float32, float64 or an integer type)`);
  if (header.numBitsPerVoxel !== type.bytes * 8) {
    throw new UserError(source, `NIfTI bitpix ${header.numBitsPerVoxel} does not match data type ${type.name} (${type.bytes * 8} bits)`);
  }
  const offset = Number(header.vox_offset);
  const min = header instanceof nifti.NIFTI2 ? HEADER_BYTES[2] : HEADER_BYTES[1];
  if (!Number.isSafeInteger(offset) || offset < min) throw new UserError(source, `invalid NIfTI vox_offset ${offset} (must be an integer >= ${min}, the header size)`);
  // Products past 2^53 lose exactness; no file is that large, so stop there.
  const count = dims.reduce((a, b) => a * b, 1);
  const end = offset + count * type.bytes;
  if (!Number.isSafeInteger(end)) throw new UserError(source, `NIfTI dimensions ${dims.join("x")} are implausibly large`);
  return { dims, type, offset, count, end };
}

/** Bytes a .nii.gz may decompress to beyond what its header declares (writers that pad). */
const GZIP_SLACK = 1 << 20;

/** Gunzips a .nii.gz no further than its header says the image needs, so a gzip bomb stops early. */
function gunzipNifti(raw: Uint8Array, source: string): Uint8Array {
  const gunzip = (input: Uint8Array, opts: ZlibOptions): Buffer => {
    try {
      return gunzipSync(input, opts);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw new UserError(source, "decompresses to more data than its NIfTI header declares");
      throw new UserError(`${source}: corrupt gzip data (${oneLine(err)})`);
    }
  };
  // A prefix of the stream, flushed as if cut there, yields the header (deflate expands at most ~1000x).
  const prefix = (n: number): Buffer => gunzip(raw.subarray(0, n), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  let n = 1024;
  let head = prefix(n);
  while (head.length < HEADER_BYTES[2] && n < raw.length) head = prefix((n *= 4));
  const { end } = layoutOf(readFixedHeader(toArrayBuffer(head), source), source);
  return gunzip(raw, { maxOutputLength: Math.min(end + GZIP_SLACK, kMaxLength) });
}

/** Decodes NIfTI bytes (gzip-compressed or not); `source` names the file in errors. */
export function decodeNifti(raw: Uint8Array, source: string): NiftiImage {
  const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipNifti(raw, source) : raw;
  const buffer = toArrayBuffer(bytes);
  const header = readFixedHeader(buffer, source);
  const { dims, type, offset, count, end } = layoutOf(header, source);
  if (end > bytes.byteLength) throw new UserError(`${source}: truncated: ${dims.join("x")} ${type.name} voxels need ${end} bytes, file has ${bytes.byteLength}`);
  const view = new DataView(buffer, offset, count * type.bytes);
  const le = header.littleEndian;
  const data = new Float32Array(count);
  const get: (o: number) => number =
    type.name === "uint8" ? (o) => view.getUint8(o)
    : type.name === "int8" ? (o) => view.getInt8(o)
    : type.name === "int16" ? (o) => view.getInt16(o, le)
    : type.name === "uint16" ? (o) => view.getUint16(o, le)
    : type.name === "int32" ? (o) => view.getInt32(o, le)
    : type.name === "uint32" ? (o) => view.getUint32(o, le)
    : type.name === "float32" ? (o) => view.getFloat32(o, le)
    : (o) => view.getFloat64(o, le);
  // NIfTI: a slope of 0 (or NaN) means "no scaling".
  const slope = header.scl_slope;
  const scale = Number.isFinite(slope) && slope !== 0;
  const inter = scale && Number.isFinite(header.scl_inter) ? header.scl_inter : 0;
  for (let i = 0; i < count; i++) {
    const v = get(i * type.bytes);
    data[i] = scale ? v * slope + inter : v;
  }
  return { dims, data, datatype: type.name };
}

export function readNifti(file: string): NiftiImage {
  const bytes = readUserFile(file, "a NIfTI file");
  return decodeNifti(bytes, file);
}

/**
 * A single-file NIfTI-1 (.nii) of float32 values in file order (x fastest), little-endian,
 * 1 mm voxels, identity orientation codes unset: 348-byte header, 4-byte empty extension, data.
 */
export function encodeNifti1(data: Float32Array, dims: readonly number[], opts: { tr?: number } = {}): Uint8Array {
  if (dims.length < 1 || dims.length > 7) throw new Error(`encodeNifti1: ${dims.length} dimensions`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeNifti1: dims ${dims.join("x")} need ${count} values, got ${data.length}`);
  const voxOffset = 352;
  const out = new Uint8Array(voxOffset + count * 4);
  const v = new DataView(out.buffer);
  v.setInt32(0, 348, true); // sizeof_hdr
  v.setInt16(40, dims.length, true);
  for (let i = 0; i < 7; i++) v.setInt16(42 + 2 * i, i < dims.length ? dims[i] : 1, true);
  v.setInt16(70, 16, true); // datatype float32
  v.setInt16(72, 32, true); // bitpix
  v.setFloat32(76, 1, true); // pixdim[0] (qfac)
  for (let i = 1; i <= 3; i++) v.setFloat32(76 + 4 * i, 1, true);
  if (dims.length >= 4) v.setFloat32(76 + 16, opts.tr ?? 1, true);
  v.setFloat32(108, voxOffset, true);
  v.setFloat32(112, 1, true); // scl_slope
  v.setFloat32(116, 0, true); // scl_inter
  v.setUint8(123, 2 | 8); // xyzt_units: mm, s
  out.set([0x6e, 0x2b, 0x31, 0x00], 344); // "n+1\0"
  for (let i = 0; i < count; i++) v.setFloat32(voxOffset + 4 * i, data[i], true);
  return out;
}
