/**
 * Audio of dataset items: WAV (src/audio.ts) and FLAC (@wasm-audio-decoders/flac, libFLAC in
 * WebAssembly), resampled to 16 kHz, optionally cropped to a segment. Durations are read from the
 * headers alone, so listing a corpus of 100k files does not decode it.
 */
import * as fs from "node:fs";
import { FLACDecoder } from "@wasm-audio-decoders/flac";
import { checkAudioFormat, checkWavFormat, decodeWav } from "./audio.js";
import type { DatasetItem } from "./dataset.js";
import { resample } from "./dsp/resample.js";
import { UserError } from "./errors.js";
import { readUserFile } from "./fs-atomic.js";
import { SAMPLE_RATE } from "./upstream.js";

export interface AudioHeader {
  sampleRate: number;
  channels: number;
  /** Samples per channel. */
  frames: number;
  durationSec: number;
}

function readHead(file: string, bytes: number): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: ${code === "ENOENT" ? "audio file not found" : `cannot read (${code ?? String(err)})`}`);
  }
  try {
    const buf = new Uint8Array(bytes);
    const n = fs.readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } catch (err) {
    // A folder opens fine on Linux; reading it is what fails (EISDIR).
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(file, code === "EISDIR" ? "is a folder, not an audio file" : `cannot read (${code ?? String(err)})`);
  } finally {
    fs.closeSync(fd);
  }
}

const fourCC = (b: Uint8Array, o: number) => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);

/** Sample rate, channels and length of a WAV or FLAC file from its header (a UserError naming the file otherwise). */
export function readAudioHeader(file: string): AudioHeader {
  // 4 KiB holds the header of nearly every file; a WAV with large chunks before "data" gets a second, longer read.
  const head = readHead(file, 1 << 12);
  if (head.length >= 4 && fourCC(head, 0) === "fLaC") return flacHeader(head, file);
  if (head.length >= 12 && ["RIFF", "RIFX", "RF64"].includes(fourCC(head, 0)) && fourCC(head, 8) === "WAVE") {
    const header = wavHeader(head, file) ?? (head.length < 1 << 12 ? undefined : wavHeader(readHead(file, 1 << 20), file));
    if (header) return header;
    throw new UserError(`${file}: corrupt WAV (no fmt or data chunk in the header)`);
  }
  throw new UserError(`${file}: not a WAV or FLAC file`);
}

/** STREAMINFO's fields, bounded like a WAV header's before anything is decoded. */
function flacHeader(b: Uint8Array, file: string): AudioHeader {
  // The first metadata block must be STREAMINFO (type 0, 34 bytes).
  const length = (b[5] << 16) | (b[6] << 8) | b[7];
  if (b.length < 42 || (b[4] & 0x7f) !== 0 || length !== 34) throw new UserError(`${file}: corrupt FLAC (no STREAMINFO block)`);
  const s = 8;
  const sampleRate = (b[s + 10] << 12) | (b[s + 11] << 4) | (b[s + 12] >> 4);
  const channels = ((b[s + 12] >> 1) & 0x7) + 1;
  const frames = (b[s + 13] & 0x0f) * 2 ** 32 + ((b[s + 14] << 24) >>> 0) + (b[s + 15] << 16) + (b[s + 16] << 8) + b[s + 17];
  checkAudioFormat(file, sampleRate, channels);
  return { sampleRate, channels, frames, durationSec: frames / sampleRate };
}

/** The header of a WAV, or undefined when `b` ends before the fmt and data chunks are found. */
function wavHeader(b: Uint8Array, file: string): AudioHeader | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = fourCC(b, 0) !== "RIFX";
  let offset = 12;
  let fmt: ReturnType<typeof checkWavFormat> & { sampleRate: number } | undefined;
  while (offset + 8 <= b.length) {
    const id = fourCC(b, offset);
    const size = view.getUint32(offset + 4, le);
    if (id === "fmt " && offset + 24 <= b.length) {
      const f = readFmt(view, offset + 8, size, le);
      fmt = { ...checkWavFormat(file, f), sampleRate: f.sampleRate };
    } else if (id === "data") {
      if (!fmt) throw new UserError(`${file}: corrupt WAV (data chunk before the fmt chunk)`);
      const fileSize = fs.statSync(file).size;
      // A truncated file holds fewer bytes than its data chunk declares: count what is there.
      const bytes = Math.min(size, Math.max(0, fileSize - offset - 8));
      const frames = Math.floor(bytes / fmt.frameBytes);
      return { sampleRate: fmt.sampleRate, channels: fmt.channels, frames, durationSec: frames / fmt.sampleRate };
    }
    offset += 8 + size + (size & 1);
  }
  return undefined;
}

/** The fmt chunk at `o` (its data); WAVE_FORMAT_EXTENSIBLE's subformat when present, else format 0 (unsupported). */
function readFmt(view: DataView, o: number, size: number, le: boolean) {
  let format = view.getUint16(o, le);
  if (format === 0xfffe) format = size >= 26 && o + 26 <= view.byteLength ? view.getUint16(o + 24, le) : 0;
  return {
    format,
    numChannels: view.getUint16(o + 2, le),
    sampleRate: view.getUint32(o + 4, le),
    blockAlign: view.getUint16(o + 12, le),
    bitsPerSample: view.getUint16(o + 14, le),
  };
}

let flacDecoder: Promise<FLACDecoder> | undefined;
/** The one decoder instance decodes one file at a time: a reset during another decode crashes libFLAC's wasm. */
let decodeQueue: Promise<unknown> = Promise.resolve();

async function decoder(): Promise<FLACDecoder> {
  flacDecoder ??= (async () => {
    const d = new FLACDecoder();
    await d.ready;
    return d;
  })();
  return flacDecoder;
}

const FLAC_TAIL_PADDING = 64;

async function decodeExclusive(bytes: Uint8Array) {
  const run = decodeQueue.then(async () => {
    const d = await decoder();
    await d.reset();
    // codec-parser only emits a frame once it has seen bytes past it; a short final frame (a
    // 13-byte constant subframe of digital silence, say) is otherwise dropped. Zeros hold no sync code.
    const padded = new Uint8Array(bytes.length + FLAC_TAIL_PADDING);
    padded.set(bytes);
    return d.decodeFile(padded);
  });
  decodeQueue = run.catch(() => undefined);
  return run;
}

/** Decodes a FLAC file to mono float samples (channels averaged); a corrupt file is a UserError naming it. */
export async function decodeFlacFile(file: string): Promise<{ samples: Float32Array; sampleRate: number }> {
  const bytes = readUserFile(file, "a FLAC file");
  if (bytes.length < 4 || fourCC(bytes, 0) !== "fLaC") throw new UserError(`${file}: not a FLAC file (no fLaC signature)`);
  const expected = flacHeader(bytes.subarray(0, 42), file).frames;
  const out = await decodeExclusive(bytes);
  if (out.errors.length > 0) throw new UserError(`${file}: corrupt FLAC (${out.errors.length} decode error${out.errors.length === 1 ? "" : "s"}, first: ${out.errors[0].message})`);
  if (out.samplesDecoded === 0 || out.channelData.length === 0) throw new UserError(`${file}: corrupt FLAC (no audio decoded)`);
  // Frame headers carry their own rate; it gets the same bounds as STREAMINFO's before resampling.
  checkAudioFormat(file, out.sampleRate, out.channelData.length);
  // The decoder scales k-bit integers by 1 / (2^(k-1) - 1); decodeWav (and torchaudio) by 1 / 2^(k-1).
  const rescale = out.bitDepth > 0 ? (2 ** (out.bitDepth - 1) - 1) / 2 ** (out.bitDepth - 1) : 1;
  const channels = out.channelData.map((ch) => ch.map((v) => v * rescale));
  let samples: Float32Array;
  if (channels.length === 1) samples = Float32Array.from(channels[0].subarray(0, out.samplesDecoded));
  else {
    samples = new Float32Array(out.samplesDecoded);
    for (const ch of channels) for (let i = 0; i < samples.length; i++) samples[i] += ch[i] / channels.length;
  }
  if (expected > 0 && out.samplesDecoded < expected) throw new UserError(`${file}: truncated FLAC (${out.samplesDecoded} of ${expected} samples decoded)`);
  return { samples, sampleRate: out.sampleRate };
}

export interface ItemAudioOptions {
  /** One-line notices (resampling). Called once per file and rate. */
  onNotice?: (message: string) => void;
}

/**
 * The last file a segment was cut from, decoded: Speech Commands' `_silence_` items are hundreds
 * of 1 s crops of a few long noise files, which would otherwise be decoded once per crop.
 */
let lastSegmentSource: { path: string; audio: Float32Array } | undefined;

async function loadWhole16k(file: string, opts: ItemAudioOptions): Promise<Float32Array> {
  const { samples, sampleRate } = /\.flac$/i.test(file) ? await decodeFlacFile(file) : decodeWav(readUserFile(file, "a WAV file"), file);
  if (sampleRate === SAMPLE_RATE) return samples;
  const audio = resample(samples, sampleRate, SAMPLE_RATE);
  if (audio.length === 0) throw new UserError(`${file}: too short to resample (${samples.length} samples at ${sampleRate} Hz)`);
  opts.onNotice?.(`${file}: resampled ${sampleRate} Hz -> ${SAMPLE_RATE} Hz`);
  return audio;
}

/** An item's audio as 16 kHz mono float samples: decoded, resampled and cropped to its segment. */
export async function loadItemAudio(item: Pick<DatasetItem, "path" | "segment">, opts: ItemAudioOptions = {}): Promise<Float32Array> {
  if (!item.segment) return loadWhole16k(item.path, opts);
  let audio = lastSegmentSource?.path === item.path ? lastSegmentSource.audio : undefined;
  if (!audio) {
    audio = await loadWhole16k(item.path, opts);
    lastSegmentSource = { path: item.path, audio };
  }
  const start = Math.round(item.segment.startSec * SAMPLE_RATE);
  const length = Math.round(item.segment.durationSec * SAMPLE_RATE);
  if (start + length > audio.length) throw new UserError(`${item.path}: segment ${item.segment.startSec}+${item.segment.durationSec} s is past the end of the file (${(audio.length / SAMPLE_RATE).toFixed(2)} s)`);
  return audio.slice(start, start + length);
}
