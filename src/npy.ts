/**
 * NumPy `.npy` files (format version 1.0) holding one little-endian float32 C-order array: what
 * `np.load` reads directly. Layout (numpy/lib/format.py, "NEP 1"):
 *
 *   "\x93NUMPY" | major 1 | minor 0 | uint16 LE header length | header | data
 *
 * The header is the repr of a Python dict, `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`,
 * padded with spaces and terminated by "\n" so that magic + version + length + header is a multiple
 * of 64 bytes (the data is then 64-byte aligned). The padding follows NumPy's writer exactly (room
 * for the first axis to grow to 21 digits, and never an empty pad), so files are byte-identical to
 * `np.save` of the same float32 array.
 *
 * The reader also accepts format versions 2.0 and 3.0 (4-byte header length) and rejects anything
 * that is not float32 little-endian C order with a one-line UserError naming the file.
 */
import * as fs from "node:fs";
import { UserError } from "./errors.js";
import { writeFileAtomic } from "./fs-atomic.js";

export interface NpyArray {
  shape: number[];
  /** Row-major (C order) values. */
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;
/** NumPy itself refuses headers over 10000 bytes unless told otherwise; a float32 array's is under 200. */
const MAX_HEADER_BYTES = 1 << 16;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Python's repr of a shape tuple: (), (3,), (2, 3). */
function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(", ")})`;
}

/** The header (dict text, spaces, "\n") for a float32 C-order array, padded per the format spec. */
export function npyHeader(shape: readonly number[]): string {
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  // NumPy >= 1.24 leaves room for the first axis to grow to 21 digits in place; copying that
  // makes the output byte-identical to np.save's.
  if (shape.length > 0) dict += " ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const prefix = MAGIC.length + 2 + 2; // magic, version, uint16 length
  const withNewline = dict.length + 1;
  const pad = ALIGN - ((prefix + withNewline) % ALIGN);
  return `${dict}${" ".repeat(pad)}\n`;
}

/** Serialises a float32 array of the given shape to .npy v1.0 bytes. */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`npy: invalid shape [${shape.join(", ")}]`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`npy: shape [${shape.join(", ")}] needs ${count} values, got ${data.length}`);
  const header = npyHeader(shape);
  if (header.length > 0xffff) throw new Error(`npy: header of ${header.length} bytes does not fit format 1.0`);
  const out = new Uint8Array(10 + header.length + data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1; // major
  out[7] = 0; // minor
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i); // ASCII only
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  } else {
    const body = new DataView(out.buffer, 10 + header.length);
    for (let i = 0; i < data.length; i++) body.setFloat32(i * 4, data[i], true);
  }
  return out;
}

/** Writes a .npy file atomically (temporary file + rename): readers never see a partial array. */
export function writeNpy(file: string, data: Float32Array, shape: readonly number[]): void {
  writeFileAtomic(file, encodeNpy(data, shape));
}

/** Parses .npy bytes; `source` names the file in errors. */
export function decodeNpy(bytes: Uint8Array, source: string): NpyArray {
  const fail = (problem: string): never => {
    throw new UserError(`${source}: ${problem}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail("not a .npy file (bad magic)");
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail("truncated .npy header");
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    return fail(`unsupported .npy format version ${major}.${bytes[7]}`);
  }
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} is implausible (limit ${MAX_HEADER_BYTES}); corrupt file?`);
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) fail(`truncated: header needs ${headerLength} bytes, file has ${bytes.length - headerStart}`);
  const header = Buffer.from(bytes.subarray(headerStart, dataStart)).toString(major === 3 ? "utf8" : "latin1");

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail("malformed .npy header");
  if (descr !== "<f4") fail(`dtype ${descr} is not supported (only little-endian float32, '<f4')`);
  if (fortran === "True") fail("Fortran-order arrays are not supported");
  const shape = shapeText!
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (!shape.every((d) => Number.isSafeInteger(d))) fail(`invalid shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count * 4)) fail(`shape (${shape.join(", ")}) is implausibly large`);
  const available = bytes.length - dataStart;
  if (available < count * 4) fail(`truncated: shape (${shape.join(", ")}) needs ${count * 4} data bytes, file has ${available}`);
  if (available > count * 4) fail(`${available - count * 4} unexpected bytes after the array data`);
  if (LITTLE_ENDIAN_HOST) {
    // Copy into a fresh, aligned buffer (Buffer#slice would return a view of a pooled buffer).
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart, dataStart + count * 4));
    return { shape, data };
  }
  const data = new Float32Array(count);
  const body = new DataView(bytes.buffer, bytes.byteOffset + dataStart, count * 4);
  for (let i = 0; i < count; i++) data[i] = body.getFloat32(i * 4, true);
  return { shape, data };
}

export function readNpy(file: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === "ENOENT" ? `${file}: no such file` : `${file}: cannot read (${code ?? String(err)})`);
  }
  return decodeNpy(bytes, file);
}
