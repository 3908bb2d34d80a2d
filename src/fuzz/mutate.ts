/**
 * Byte-level mutations for the fuzz harness: bit flips, truncation, absurd header values and
 * random bytes, the classes a damaged disk, a wrong download or a hostile file hands a reader.
 * Pure and deterministic: the same seed bytes and Rng state give the same mutant, so any finding
 * can be regenerated from (format, mutant index, harness seed) alone.
 */
import { deriveSeed, Rng } from "../random.js";

export type MutationKind = "bitflip" | "truncate" | "absurd-value" | "random-bytes" | "splice" | "text-token";

export interface Mutant {
  bytes: Uint8Array;
  /** What was done, for the report: e.g. "bitflip@37.5", "truncate 1204->311". */
  description: string;
}

/** Values a header field rarely expects: zero, one, all ones, sign bits, huge, NaN, infinity. */
const ABSURD_INTS: readonly number[] = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0xffffff];
const ABSURD_FLOATS: readonly number[] = [0, -1, NaN, Infinity, -Infinity, 1e308, -1e308, 1e-45, 2 ** 32, 2 ** 53];
/** Tokens that break text formats: a huge number, a negative, NaN, a newline, a quote, an empty field. */
const ABSURD_TOKENS: readonly string[] = ["4294967296", "1e308", "-1", "NaN", "\n", '"', "", ",", "\t", "\u0000", "9".repeat(400), "[", "{", "../"];

export const MUTATION_KINDS: readonly MutationKind[] = ["bitflip", "truncate", "absurd-value", "random-bytes", "splice", "text-token"];

/** One mutation of `seed`, its kind drawn from the Rng (text-token only for textual seeds). */
export function mutate(seed: Uint8Array, rng: Rng, textual: boolean): Mutant {
  const kinds = textual ? MUTATION_KINDS : MUTATION_KINDS.filter((k) => k !== "text-token");
  const kind = rng.pick(kinds);
  switch (kind) {
    case "bitflip":
      return flipBits(seed, rng, rng.int(1, 8));
    case "truncate":
      return truncate(seed, rng.int(0, Math.max(0, seed.length - 1)));
    case "absurd-value":
      return writeAbsurdValue(seed, rng);
    case "random-bytes":
      return overwriteRandom(seed, rng);
    case "splice":
      return spliceChunk(seed, rng);
    case "text-token":
      return replaceToken(seed, rng);
  }
}

/** Flips `count` bits at random positions (the position is reported as byte.bit). */
export function flipBits(seed: Uint8Array, rng: Rng, count: number): Mutant {
  const bytes = seed.slice();
  if (bytes.length === 0) return { bytes, description: "bitflip on empty" };
  const at: string[] = [];
  for (let i = 0; i < count; i++) {
    const byte = rng.int(0, bytes.length - 1);
    const bit = rng.int(0, 7);
    bytes[byte] ^= 1 << bit;
    at.push(`${byte}.${bit}`);
  }
  return { bytes, description: `bitflip@${at.join(",")}` };
}

/** Keeps the first `length` bytes. */
export function truncate(seed: Uint8Array, length: number): Mutant {
  return { bytes: seed.slice(0, length), description: `truncate ${seed.length}->${length}` };
}

/**
 * Writes an absurd 1-, 2-, 4- or 8-byte integer or float (either byte order) at a random offset,
 * biased towards the first 512 bytes, where headers are.
 */
export function writeAbsurdValue(seed: Uint8Array, rng: Rng): Mutant {
  const bytes = seed.slice();
  if (bytes.length === 0) return { bytes, description: "absurd-value on empty" };
  const headerEnd = Math.min(bytes.length, 512);
  const offset = rng.chance(0.8) ? rng.int(0, headerEnd - 1) : rng.int(0, bytes.length - 1);
  const little = rng.chance(0.7);
  const scratch = new DataView(new ArrayBuffer(8));
  let width: number;
  let label: string;
  if (rng.chance(0.75)) {
    width = rng.pick([1, 2, 4, 8]);
    const v = rng.pick(ABSURD_INTS);
    if (width === 8) scratch.setBigUint64(0, BigInt(v) * (rng.chance(0.5) ? 1n : 0x100000000n), little);
    else scratch.setUint32(0, v >>> 0, little);
    label = `int${width * 8}=${v}`;
  } else {
    width = rng.pick([4, 8]);
    const v = rng.pick(ABSURD_FLOATS);
    if (width === 4) scratch.setFloat32(0, v, little);
    else scratch.setFloat64(0, v, little);
    label = `float${width * 8}=${v}`;
  }
  // For 1- and 2-byte writes of a 32-bit pattern, take the low-order bytes.
  const start = little || width === 8 || width === 4 ? 0 : 4 - width;
  for (let i = 0; i < width && offset + i < bytes.length; i++) bytes[offset + i] = scratch.getUint8(start + i);
  return { bytes, description: `absurd ${label}${little ? "le" : "be"}@${offset}` };
}

/** Overwrites a run of 1..64 bytes with random ones. */
export function overwriteRandom(seed: Uint8Array, rng: Rng): Mutant {
  const bytes = seed.slice();
  if (bytes.length === 0) return { bytes: randomBytes(rng, rng.int(1, 64)), description: "random bytes on empty" };
  const offset = rng.int(0, bytes.length - 1);
  const n = Math.min(rng.int(1, 64), bytes.length - offset);
  for (let i = 0; i < n; i++) bytes[offset + i] = rng.int(0, 255);
  return { bytes, description: `random ${n} bytes@${offset}` };
}

/** Deletes a chunk, duplicates one, or inserts random bytes, shifting everything after it. */
export function spliceChunk(seed: Uint8Array, rng: Rng): Mutant {
  const at = rng.int(0, seed.length);
  const len = rng.int(1, Math.max(1, Math.min(256, seed.length)));
  const op = rng.pick(["delete", "duplicate", "insert"] as const);
  const head = seed.subarray(0, at);
  if (op === "delete") return { bytes: concat(head, seed.subarray(Math.min(seed.length, at + len))), description: `delete ${len}@${at}` };
  const chunk = op === "duplicate" ? seed.subarray(at, at + len) : randomBytes(rng, len);
  return { bytes: concat(head, chunk, seed.subarray(at)), description: `${op} ${chunk.length}@${at}` };
}

/** Replaces one whitespace/punctuation-delimited token of a text file with an absurd one. */
export function replaceToken(seed: Uint8Array, rng: Rng): Mutant {
  const text = Buffer.from(seed).toString("latin1");
  const tokens = [...text.matchAll(/[^\s,;:"=\[\]{}]+/g)];
  if (tokens.length === 0) return overwriteRandom(seed, rng);
  const t = rng.pick(tokens);
  const replacement = rng.pick(ABSURD_TOKENS);
  const start = t.index ?? 0;
  const out = text.slice(0, start) + replacement + text.slice(start + t[0].length);
  return { bytes: new Uint8Array(Buffer.from(out, "latin1")), description: `token "${t[0].slice(0, 20)}"->${JSON.stringify(replacement.slice(0, 8))}@${start}` };
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(0, 255);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Mutant number `index` of a format: one to three stacked mutations of its seed, from an Rng
 * seeded by (harness seed, format, index) alone, so a finding is regenerated from its numbers.
 */
export function mutantOf(seed: Uint8Array, harnessSeed: number, format: string, index: number, textual: boolean): Mutant {
  const rng = new Rng(deriveSeed(harnessSeed, `${format}#${index}`));
  const rounds = rng.pick([1, 1, 1, 2, 3]);
  let current: Mutant = { bytes: seed, description: "" };
  const steps: string[] = [];
  for (let r = 0; r < rounds; r++) {
    current = mutate(current.bytes, rng, textual);
    steps.push(current.description);
  }
  return { bytes: current.bytes, description: steps.join(" + ") };
}
