import * as fs from "node:fs";
import { UserError } from "./errors.js";
import { readUserFile, writeFileAtomic } from "./fs-atomic.js";

/**
 * The safetensors format (HuggingFace): 8-byte little-endian header length, a JSON header mapping
 * tensor names to {dtype, shape, data_offsets}, then the raw little-endian data. Chosen for
 * checkpoints because PyTorch and HF load it directly and, unlike pickle, it cannot run code.
 * The reader trusts nothing in the header: lengths, offsets, shapes and dtypes are checked before
 * any allocation.
 */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export type TensorMap = Map<string, NamedTensor>;

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
/** A header larger than this is hostile or broken (real ones are kilobytes). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export function encodeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const names = [...tensors.keys()];
  for (const name of names) {
    const t = tensors.get(name)!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape}] does not match ${t.data.length} values`);
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += " ";
  const headerBytes = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function writeSafetensors(file: string, tensors: TensorMap, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function decodeSafetensors(bytes: Uint8Array, source: string): { tensors: TensorMap; metadata: Record<string, string> } {
  const fail = (problem: string): never => {
    throw new UserError(`${source}: ${problem}`);
  };
  if (bytes.length < 8) fail("not a safetensors file (shorter than its 8-byte header length)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} is implausible; not a safetensors file or corrupt`);
  if (8 + headerLength > bytes.length) fail(`truncated: header needs ${headerLength} bytes, file has ${bytes.length - 8}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString("utf8")) as Record<string, unknown>;
  } catch {
    return fail("header is not valid JSON; not a safetensors file or corrupt");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("header is not a JSON object");
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: [string, HeaderEntry][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (raw && typeof raw === "object") for (const [k, v] of Object.entries(raw)) metadata[k] = String(v);
      continue;
    }
    const e = raw as Partial<HeaderEntry>;
    if (!e || typeof e.dtype !== "string" || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) {
      fail(`tensor ${name}: malformed header entry`);
    }
    const entry = e as HeaderEntry;
    // Own keys only: "constructor" is not a dtype.
    if (!Object.hasOwn(DTYPE_BYTES, entry.dtype)) fail(`tensor ${name}: unsupported dtype ${entry.dtype} (supported: ${Object.keys(DTYPE_BYTES).join(", ")})`);
    const size = DTYPE_BYTES[entry.dtype];
    if (!entry.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor ${name}: invalid shape ${JSON.stringify(entry.shape)}`);
    const [begin, end] = entry.data_offsets;
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin) fail(`tensor ${name}: invalid data offsets`);
    if (end > dataLength) fail(`truncated: tensor ${name} ends at byte ${end} of the data, which has ${dataLength}`);
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(count * size)) fail(`tensor ${name}: shape [${entry.shape}] is implausibly large`);
    if (count * size !== end - begin) fail(`tensor ${name}: shape [${entry.shape}] x ${entry.dtype} needs ${count * size} bytes, offsets give ${end - begin}`);
    entries.push([name, entry]);
  }
  checkCoverage(entries, dataLength, fail);
  const tensors: TensorMap = new Map();
  for (const [name, entry] of entries) {
    const [begin, end] = entry.data_offsets;
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { shape: entry.shape, data: toFloat32(raw, entry.dtype) });
  }
  return { tensors, metadata };
}

/**
 * The format requires the tensors to tile the data exactly: overlaps would alias memory, and holes
 * or trailing bytes mean the header does not describe the file (the reference reader rejects both).
 */
function checkCoverage(entries: [string, HeaderEntry][], dataLength: number, fail: (problem: string) => never): void {
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
  let covered = 0;
  let previous = "";
  for (const [name, { data_offsets: [begin, end] }] of sorted) {
    if (begin < covered) fail(`tensors ${previous} and ${name} overlap`);
    if (begin > covered) fail(`${begin - covered} data bytes before tensor ${name} belong to no tensor`);
    covered = end;
    previous = name;
  }
  if (covered !== dataLength) fail(`${dataLength - covered} data bytes after the last tensor belong to no tensor`);
}

export function readSafetensors(file: string): { tensors: TensorMap; metadata: Record<string, string> } {
  if (!fs.existsSync(file)) throw new UserError(`${file}: no such file`);
  return decodeSafetensors(readUserFile(file, "a safetensors file"), file);
}

function toFloat32(raw: Uint8Array, dtype: string): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const size = DTYPE_BYTES[dtype];
  const n = raw.byteLength / size;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (dtype === "F32") out[i] = view.getFloat32(i * 4, true);
    else if (dtype === "F64") out[i] = view.getFloat64(i * 8, true);
    else if (dtype === "BF16") out[i] = bf16ToFloat(view.getUint16(i * 2, true));
    else out[i] = f16ToFloat(view.getUint16(i * 2, true));
  }
  return out;
}

const scratch = new DataView(new ArrayBuffer(4));
function bf16ToFloat(bits: number): number {
  scratch.setUint32(0, bits << 16);
  return scratch.getFloat32(0);
}

function f16ToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
