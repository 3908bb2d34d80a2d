/**
 * WAV input/output: the project's one WAV codec (decodeWav / encodeWav16 on bytes, readWav /
 * writeWav16 on files). Every problem with a user's file becomes a one-line UserError that names
 * the file; the rest of the pipeline can then assume finite mono float samples.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import wavefile from "wavefile";
import { resample } from "./dsp/resample.js";
import { UserError } from "./errors.js";
import { SAMPLE_RATE } from "./upstream.js";

// wavefile ships as CommonJS/UMD; its named export is only reachable through the default import.
const { WaveFile } = wavefile;

export interface AudioData {
  /** Mono samples; integer PCM is scaled to [-1, 1), float data is passed through unchanged. */
  samples: Float32Array;
  sampleRate: number;
}

export interface LoadAudioOptions {
  /** Resample other rates to 16 kHz (default true); when false a wrong rate is a UserError. */
  resample?: boolean;
  /** Receives one-line notices such as "<file>: resampled 44100 Hz -> 16000 Hz". */
  onNotice?: (msg: string) => void;
}

/** The fields of wavefile's `fmt` object that we rely on (its typings declare it as `object`). */
interface FmtChunk {
  audioFormat: number;
  numChannels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
  subformat: number[];
}

interface DataChunk {
  chunkSize: number;
  samples: Uint8Array;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

const FORMAT_NAMES: Record<number, string> = {
  0x0002: "Microsoft ADPCM",
  0x0006: "A-law",
  0x0007: "mu-law",
  0x0011: "IMA ADPCM",
  0x0031: "GSM 6.10",
  0x0055: "MPEG layer 3",
};

const CONVERT_HINT = "convert it, e.g. ffmpeg -i in.wav -ac 1 -ar 16000 -c:a pcm_s16le out.wav";

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UserError(`${path}: file not found`);
    if (code === "EISDIR") throw new UserError(`${path}: is a directory, expected a WAV file`);
    if (code === "EACCES" || code === "EPERM") throw new UserError(`${path}: permission denied`);
    throw new UserError(`${path}: cannot read file (${code ?? String(err)})`);
  }
}

function fourCC(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]);
}

/** Reads and decodes a WAV file to mono float samples. Throws UserError for any bad input. */
export function readWav(path: string): AudioData {
  return decodeWav(readBytes(path), path);
}

/**
 * Decodes WAV bytes to mono float samples (channels averaged). Throws a one-line UserError naming
 * `source` (a file path, or a description such as "eSpeak output") for any bad input.
 */
export function decodeWav(bytes: Uint8Array, source: string): AudioData {
  if (bytes.length === 0) throw new UserError(`${source}: empty file (0 bytes)`);
  const container = bytes.length >= 12 ? fourCC(bytes, 0) : "";
  if (!["RIFF", "RIFX", "RF64"].includes(container) || fourCC(bytes, 8) !== "WAVE") {
    throw new UserError(`${source}: not a RIFF/WAVE file`);
  }
  const littleEndian = container !== "RIFX";
  const header = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riffSize = header.getUint32(4, littleEndian);
  // RF64 and streaming writers put a placeholder here; only trust it when it is plausible.
  const declaredLength = container === "RF64" || riffSize === 0xffffffff ? -1 : riffSize + 8;

  let wav: InstanceType<typeof WaveFile>;
  try {
    wav = new WaveFile(bytes);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (declaredLength > bytes.length) {
      throw new UserError(`${source}: truncated WAV file (header declares ${declaredLength} bytes, file has ${bytes.length})`);
    }
    throw new UserError(`${source}: corrupt WAV file (${reason.replace(/\.$/, "")})`);
  }
  const fmt = wav.fmt as FmtChunk;
  const data = wav.data as DataChunk;

  let format = fmt.audioFormat;
  if (format === WAVE_FORMAT_EXTENSIBLE) format = fmt.subformat[0] ?? 0;
  const { isFloat, bits, channels, frameBytes } = checkWavFormat(source, { ...fmt, format });
  const bytesPerSample = bits / 8;

  const raw = data.samples;
  if (data.chunkSize !== 0xffffffff && container !== "RF64" && data.chunkSize > raw.length) {
    throw new UserError(`${source}: truncated WAV file (data chunk declares ${data.chunkSize} bytes, only ${raw.length} present)`);
  }
  // A trailing partial frame (odd writer, cut file) carries no complete sample; drop it.
  const numFrames = Math.floor(raw.length / frameBytes);
  if (numFrames === 0) throw new UserError(`${source}: no audio samples (empty data chunk)`);

  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const decode = sampleDecoder(view, bits, isFloat, littleEndian);
  const samples = new Float32Array(numFrames);
  const invChannels = 1 / channels;
  for (let i = 0; i < numFrames; i++) {
    let sum = 0;
    const base = i * frameBytes;
    for (let c = 0; c < channels; c++) sum += decode(base + c * bytesPerSample);
    if (!Number.isFinite(sum)) {
      throw new UserError(`${source}: contains NaN or infinite samples (first at sample ${i}, ${(i / fmt.sampleRate).toFixed(3)} s)`);
    }
    samples[i] = channels === 1 ? sum : sum * invChannels;
  }
  return { samples, sampleRate: fmt.sampleRate };
}

/**
 * Plausible audio headers. 1 kHz (below telephony) to 384 kHz (the fastest common recorders):
 * anything else is a corrupt header, and resampling it to 16 kHz would take minutes or gigabytes.
 * 256 channels is beyond the largest microphone arrays.
 */
export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 384_000;
export const MAX_CHANNELS = 256;

/** Throws a UserError naming `source` unless the sample rate and channel count are plausible (above). */
export function checkAudioFormat(source: string, sampleRate: number, channels: number): void {
  if (!Number.isInteger(sampleRate) || sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    throw new UserError(source, `implausible sample rate ${sampleRate} Hz (supported: ${MIN_SAMPLE_RATE}-${MAX_SAMPLE_RATE} Hz); corrupt header?`);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
    throw new UserError(source, `implausible channel count ${channels} (supported: 1-${MAX_CHANNELS}); corrupt header?`);
  }
}

/** The `fmt ` fields that decide how samples are read; `format` is the subformat for WAVE_FORMAT_EXTENSIBLE. */
export interface WavFormat {
  format: number;
  numChannels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

/**
 * Checks a WAV `fmt ` chunk (encoding, bit depth, rate, channels, block align) before any sample is
 * read, with a UserError naming `source`; returns what decoding needs.
 */
export function checkWavFormat(source: string, fmt: WavFormat): { isFloat: boolean; bits: number; channels: number; frameBytes: number } {
  const { format, bitsPerSample: bits, numChannels: channels } = fmt;
  // A cut fmt chunk leaves fields unread.
  if (![format, bits, channels, fmt.sampleRate, fmt.blockAlign].every(Number.isInteger)) throw new UserError(source, "corrupt WAV file (incomplete fmt chunk)");
  const isFloat = format === WAVE_FORMAT_IEEE_FLOAT;
  if (format !== WAVE_FORMAT_PCM && !isFloat) {
    const name = FORMAT_NAMES[format] ?? `format tag 0x${format.toString(16).padStart(4, "0")}`;
    throw new UserError(`${source}: unsupported WAV encoding ${name} (only PCM and float are read); ${CONVERT_HINT}`);
  }
  if (isFloat ? bits !== 32 && bits !== 64 : ![8, 16, 24, 32].includes(bits)) {
    throw new UserError(`${source}: unsupported ${isFloat ? "float" : "PCM"} bit depth ${bits}; ${CONVERT_HINT}`);
  }
  checkAudioFormat(source, fmt.sampleRate, channels);
  const frameBytes = (bits / 8) * channels;
  if (fmt.blockAlign !== frameBytes) {
    throw new UserError(`${source}: corrupt WAV file (block align ${fmt.blockAlign}, expected ${frameBytes})`);
  }
  return { isFloat, bits, channels, frameBytes };
}

/** Reader for one sample at a byte offset, scaled so integer PCM maps to [-1, 1). */
function sampleDecoder(view: DataView, bits: number, isFloat: boolean, le: boolean): (offset: number) => number {
  if (isFloat) return bits === 32 ? (o) => view.getFloat32(o, le) : (o) => view.getFloat64(o, le);
  switch (bits) {
    case 8: // 8-bit WAV is unsigned with a 128 offset
      return (o) => (view.getUint8(o) - 128) / 128;
    case 16:
      return (o) => view.getInt16(o, le) / 32768;
    case 24:
      return le
        ? (o) => ((view.getUint8(o) | (view.getUint8(o + 1) << 8) | (view.getInt8(o + 2) << 16)) / 8388608)
        : (o) => ((view.getUint8(o + 2) | (view.getUint8(o + 1) << 8) | (view.getInt8(o) << 16)) / 8388608);
    default:
      return (o) => view.getInt32(o, le) / 2147483648;
  }
}

/**
 * Reads a WAV file as 16 kHz mono. Other sample rates are resampled (reported via onNotice) unless
 * opts.resample is false, in which case they are a UserError.
 */
export function loadAudio16k(path: string, opts: LoadAudioOptions = {}): Float32Array {
  const { samples, sampleRate } = readWav(path);
  if (sampleRate === SAMPLE_RATE) return samples;
  if (opts.resample === false) {
    throw new UserError(`${path}: sample rate ${sampleRate} Hz, expected ${SAMPLE_RATE} Hz`);
  }
  const out = resample(samples, sampleRate, SAMPLE_RATE);
  if (out.length === 0) throw new UserError(`${path}: too short to resample (${samples.length} samples at ${sampleRate} Hz)`);
  opts.onNotice?.(`${path}: resampled ${sampleRate} Hz -> ${SAMPLE_RATE} Hz`);
  return out;
}

/**
 * Encodes mono samples as a 16-bit PCM WAV (44-byte header). Samples are clipped to [-1, 1] and
 * scaled by 32768 (the inverse of decodeWav, so k/32768 round-trips exactly); NaN is an error.
 */
export function encodeWav16(samples: Float32Array, sampleRate: number): Uint8Array {
  return encodePcm16(samples, sampleRate, "encodeWav16");
}

/** encodeWav16, with `caller` naming the operation in errors. */
function encodePcm16(samples: Float32Array, sampleRate: number, caller: string): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new Error(`invalid sample rate ${sampleRate}`);
  const dataBytes = samples.length * 2;
  const bytes = new Uint8Array(44 + dataBytes);
  const view = new DataView(bytes.buffer);
  const tag = (offset: number, s: string): void => {
    for (let i = 0; i < 4; i++) bytes[offset + i] = s.charCodeAt(i);
  };
  tag(0, "RIFF");
  view.setUint32(4, 36 + dataBytes, true);
  tag(8, "WAVE");
  tag(12, "fmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, WAVE_FORMAT_PCM, true);
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  tag(36, "data");
  view.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (Number.isNaN(v)) throw new Error(`${caller}: NaN at sample ${i}`);
    view.setInt16(44 + 2 * i, Math.max(-32768, Math.min(32767, Math.round(v * 32768))), true);
  }
  return bytes;
}

/**
 * Writes mono 16-bit PCM (see encodeWav16). The file appears atomically: written to a temporary
 * name in the same directory, then renamed, so readers never see a half-written WAV.
 */
export function writeWav16(path: string, audio: Float32Array, sampleRate: number): void {
  const bytes = encodePcm16(audio, sampleRate, `writeWav16(${path})`);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
