/**
 * BOLD matrices [rows = TRs x cols = targets (ROIs or voxels)] from the formats brain data come in:
 *
 * - whitespace-separated text (`.txt`, `.tsv`, `.dat`, anything not listed below): one row per line;
 * - CSV (`.csv`): comma-separated, one row per line;
 *   for both, an optional first line of non-numeric names is read as the column names, and blank
 *   lines and lines starting with `#` are ignored;
 * - NumPy `.npy`: float32 or float64 (little-endian, C order), shape [rows, cols] or [rows];
 * - NIfTI `.nii` / `.nii.gz`: a 4-D image [x, y, z, t] (rows = t). With a 3-D mask of the same
 *   x, y, z, the columns are the mask's nonzero voxels; without one, every voxel. Voxel order is
 *   C order over (x, y, z), z varying fastest, which is what `data[mask]` gives in numpy/nibabel
 *   and nilearn's NiftiMasker, so columns line up with Python tools. Column names are `x,y,z`.
 */
import { readUserFile } from "../fs-atomic.js";
import { UserError } from "../errors.js";
import { decodeNpy } from "../npy.js";
import { readNifti } from "./nifti.js";

export interface BoldMatrix {
  /** [rows x cols] row-major */
  data: Float32Array;
  rows: number;
  cols: number;
  /** Column names from a header row or NIfTI voxel coordinates. */
  names?: string[];
}

export interface ReadBoldOptions {
  /** A 3-D NIfTI mask (only for NIfTI BOLD). */
  mask?: string;
}

function readBytes(file: string): Uint8Array {
  return readUserFile(file, "a BOLD file");
}

export function boldFormat(file: string): "text" | "csv" | "npy" | "nifti" {
  const f = file.toLowerCase();
  if (f.endsWith(".nii") || f.endsWith(".nii.gz")) return "nifti";
  if (f.endsWith(".npy")) return "npy";
  if (f.endsWith(".csv")) return "csv";
  return "text";
}

/** Reads a BOLD matrix; the format follows the file name (see the top of this file). */
export function readBold(file: string, opts: ReadBoldOptions = {}): BoldMatrix {
  const format = boldFormat(file);
  if (opts.mask !== undefined && format !== "nifti") throw new UserError(`${opts.mask}: a mask applies only to NIfTI BOLD, but ${file} is ${format}`);
  if (format === "nifti") return readNiftiBold(file, opts.mask);
  const bytes = readBytes(file);
  if (format === "npy") return parseNpyBold(bytes, file);
  return parseTextBold(new TextDecoder("utf-8").decode(bytes), file, format === "csv" ? "," : null);
}

/** Text or CSV (`sep` ","; null = any whitespace). */
export function parseTextBold(text: string, source: string, sep: string | null): BoldMatrix {
  const lines = text.split(/\r?\n/);
  const values: number[] = [];
  let names: string[] | undefined;
  let cols = -1;
  let rows = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/^\uFEFF/, "").trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = sep === null ? line.split(/\s+/) : line.split(sep).map((f) => f.trim());
    const nums = fields.map(parseValue);
    if (nums.some((v) => v === undefined)) {
      if (rows === 0 && names === undefined && nums.every((v) => v === undefined)) {
        names = fields.map((f) => f.replace(/^"(.*)"$/, "$1"));
        cols = fields.length;
        continue;
      }
      const bad = fields[nums.findIndex((v) => v === undefined)];
      throw new UserError(`${source}: line ${i + 1}: "${bad}" is not a number`);
    }
    if (cols < 0) cols = fields.length;
    else if (fields.length !== cols) throw new UserError(`${source}: line ${i + 1} has ${fields.length} values, expected ${cols}${names ? " (as in the header)" : " (as in the first row)"}`);
    for (const v of nums) values.push(v as number);
    rows++;
  }
  if (rows === 0) throw new UserError(`${source}: no data rows`);
  return { data: Float32Array.from(values), rows, cols, names };
}

/** A numeric field; NaN / Inf spellings are numbers (validation reports them later); else undefined. */
function parseValue(field: string): number | undefined {
  const f = field.replace(/^"(.*)"$/, "$1");
  if (/^[+-]?(nan|inf|infinity)$/i.test(f)) {
    const neg = f.startsWith("-");
    return /nan/i.test(f) ? NaN : neg ? -Infinity : Infinity;
  }
  if (f === "" || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(f)) return undefined;
  return Number(f);
}

function toMatrix(shape: number[], data: Float32Array, source: string): BoldMatrix {
  if (shape.length === 1) return { data, rows: shape[0], cols: 1 };
  if (shape.length !== 2) throw new UserError(`${source}: expected a [rows, cols] array, got shape (${shape.join(", ")})`);
  if (shape[0] === 0 || shape[1] === 0) throw new UserError(`${source}: empty array, shape (${shape.join(", ")})`);
  return { data, rows: shape[0], cols: shape[1] };
}

/** .npy of float32 (src/npy.ts) or float64 (read here: the project's own writer only needs float32). */
export function parseNpyBold(bytes: Uint8Array, source: string): BoldMatrix {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 12 || magic.some((b, i) => bytes[i] !== b)) throw new UserError(`${source}: not a .npy file (bad magic)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerStart = major === 1 ? 10 : 12;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const header = Buffer.from(bytes.subarray(headerStart, Math.min(bytes.length, headerStart + headerLength))).toString("latin1");
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  if (descr !== "<f8" || (major !== 1 && major !== 2 && major !== 3)) {
    // float32 and every error case: the project's reader (clear one-line errors).
    const arr = decodeNpy(bytes, source);
    return toMatrix(arr.shape, arr.data, source);
  }
  if (/'fortran_order'\s*:\s*True/.test(header)) throw new UserError(`${source}: Fortran-order arrays are not supported`);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw new UserError(`${source}: malformed .npy header`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new UserError(`${source}: invalid .npy shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.length - dataStart !== count * 8) throw new UserError(`${source}: shape (${shape.join(", ")}) needs ${count * 8} float64 data bytes, file has ${bytes.length - dataStart}`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat64(dataStart + i * 8, true);
  return toMatrix(shape, data, source);
}

function readNiftiBold(file: string, maskFile: string | undefined): BoldMatrix {
  const img = readNifti(file);
  const dims = img.dims;
  // A 4-D series; trailing singleton dimensions (x, y, z, t, 1) are accepted.
  while (dims.length > 4 && dims[dims.length - 1] === 1) dims.pop();
  if (dims.length !== 4) throw new UserError(`${file}: expected a 4-D NIfTI image (x, y, z, time), got ${dims.length}-D ${dims.join("x")}`);
  const [nx, ny, nz, nt] = dims;
  const spatial = nx * ny * nz;
  let keep: number[];
  if (maskFile !== undefined) {
    const mask = readNifti(maskFile);
    const md = mask.dims;
    while (md.length > 3 && md[md.length - 1] === 1) md.pop();
    if (md.length !== 3 || md[0] !== nx || md[1] !== ny || md[2] !== nz) {
      throw new UserError(`${file}: NIfTI dimensions ${nx}x${ny}x${nz} (x ${nt} volumes) do not match mask ${maskFile} (${md.join("x")})`);
    }
    keep = voxelsInCOrder(nx, ny, nz, (idx) => mask.data[idx] !== 0 && !Number.isNaN(mask.data[idx]));
    if (keep.length === 0) throw new UserError(`${maskFile}: the mask has no nonzero voxels`);
  } else {
    keep = voxelsInCOrder(nx, ny, nz, () => true);
  }
  const cols = keep.length;
  const data = new Float32Array(nt * cols);
  for (let t = 0; t < nt; t++) {
    const base = t * spatial;
    const row = t * cols;
    for (let c = 0; c < cols; c++) data[row + c] = img.data[base + keep[c]];
  }
  const names = keep.map((idx) => {
    const x = idx % nx;
    const y = Math.floor(idx / nx) % ny;
    const z = Math.floor(idx / (nx * ny));
    return `${x},${y},${z}`;
  });
  return { data, rows: nt, cols, names };
}

/** File-order indices (x fastest) of the selected voxels, listed in C order (z fastest). */
function voxelsInCOrder(nx: number, ny: number, nz: number, selected: (fileIndex: number) => boolean): number[] {
  const out: number[] = [];
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      for (let z = 0; z < nz; z++) {
        const idx = x + nx * (y + ny * z);
        if (selected(idx)) out.push(idx);
      }
    }
  }
  return out;
}
