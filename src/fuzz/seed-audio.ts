/**
 * Audio seeds for the fuzz harness, made in memory: a tone as 16-bit PCM WAV (the project's own
 * encoder), as 32-bit float WAV, and as FLAC. FLAC has no encoder among the dependencies, and the
 * harness only needs a valid stream, so this writes the simplest legal one: fixed-blocksize frames
 * of VERBATIM subframes (FLAC format spec, "FRAME_HEADER" and "SUBFRAME_VERBATIM") with their
 * CRC-8 and CRC-16. Compression is not the point; a real decoder accepting it is (tested).
 */
import { encodeWav16 } from "../audio.js";

/** A `seconds`-long tone with a little harmonic content, peak 0.5. */
export function tone(seconds: number, sampleRate: number, hz = 440): Float32Array {
  const n = Math.round(seconds * sampleRate);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    x[i] = 0.4 * Math.sin(2 * Math.PI * hz * t) + 0.1 * Math.sin(2 * Math.PI * 3 * hz * t);
  }
  return x;
}

export function toneWav16(seconds: number, sampleRate: number, hz = 440): Uint8Array {
  return encodeWav16(tone(seconds, sampleRate, hz), sampleRate);
}

/** IEEE float WAV (format tag 3), interleaved channels. */
export function encodeWavFloat32(channels: Float32Array[], sampleRate: number): Uint8Array {
  const frames = channels[0].length;
  const dataBytes = frames * channels.length * 4;
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string): void => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 3, true);
  v.setUint16(22, channels.length, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * channels.length * 4, true);
  v.setUint16(32, channels.length * 4, true);
  v.setUint16(34, 32, true);
  ascii(36, "data");
  v.setUint32(40, dataBytes, true);
  for (let i = 0; i < frames; i++) channels.forEach((c, ch) => v.setFloat32(44 + (i * channels.length + ch) * 4, c[i], true));
  return out;
}

class BitWriter {
  private bytes: number[] = [];
  private acc = 0;
  private bits = 0;

  write(value: number, width: number): void {
    for (let b = width - 1; b >= 0; b--) {
      this.acc = (this.acc << 1) | (Math.floor(value / 2 ** b) & 1);
      if (++this.bits === 8) {
        this.bytes.push(this.acc);
        this.acc = 0;
        this.bits = 0;
      }
    }
  }

  alignToByte(): void {
    if (this.bits > 0) this.write(0, 8 - this.bits);
  }

  get length(): number {
    return this.bytes.length;
  }

  take(from = 0): number[] {
    return this.bytes.slice(from);
  }
}

/** CRC-8, polynomial x^8 + x^2 + x + 1 (0x07), initial 0: the FLAC frame-header check. */
export function crc8(bytes: readonly number[]): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/** CRC-16, polynomial x^16 + x^15 + x^2 + 1 (0x8005), initial 0: the FLAC frame check. */
export function crc16(bytes: readonly number[]): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

const BLOCK_SIZE = 1024;

/**
 * Mono 16-bit FLAC of `samples` (in [-1, 1]) at `sampleRate`, as VERBATIM frames. With
 * `silentTail` n, n zero samples follow as one last CONSTANT frame (13 bytes), as encoders write
 * digital silence at the end of a recording.
 */
export function encodeFlacVerbatim(samples: Float32Array, sampleRate: number, opts: { silentTail?: number } = {}): Uint8Array {
  const tail = opts.silentTail ?? 0;
  const pcm = Int16Array.from(samples, (s) => Math.max(-32768, Math.min(32767, Math.round(s * 32767))));
  const w = new BitWriter();
  for (const c of "fLaC") w.write(c.charCodeAt(0), 8);
  w.write(1, 1); // last metadata block
  w.write(0, 7); // STREAMINFO
  w.write(34, 24);
  w.write(BLOCK_SIZE, 16);
  w.write(BLOCK_SIZE, 16);
  w.write(0, 24); // min/max frame size unknown
  w.write(0, 24);
  w.write(sampleRate, 20);
  w.write(0, 3); // channels - 1
  w.write(15, 5); // bits per sample - 1
  w.write(pcm.length + tail, 36);
  for (let i = 0; i < 16; i++) w.write(0, 8); // MD5 unknown (allowed: all zero)
  const frames = Math.ceil(pcm.length / BLOCK_SIZE);
  if (frames + (tail > 0 ? 1 : 0) > 127) throw new Error("encodeFlacVerbatim: at most 127 frames (one-byte frame numbers)");
  const rateCode = FRAME_RATE_CODES[sampleRate];
  if (rateCode === undefined) throw new Error(`encodeFlacVerbatim: no frame-header code for ${sampleRate} Hz`);
  for (let f = 0; f < frames; f++) writeFrame(w, pcm.subarray(f * BLOCK_SIZE, (f + 1) * BLOCK_SIZE), f, rateCode);
  if (tail > 0) writeFrame(w, new Int16Array(tail), frames, rateCode, true);
  return Uint8Array.from(w.take());
}

/**
 * Frame-header sample-rate codes. The spec allows 0000 ("see STREAMINFO"), but the decoder's frame
 * parser (codec-parser) skips such frames, so the rate is coded in every frame, as encoders do.
 */
const FRAME_RATE_CODES: Record<number, number> = { 8000: 0b0100, 16000: 0b0101, 22050: 0b0110, 24000: 0b0111, 32000: 0b1000, 44100: 0b1001, 48000: 0b1010 };

function writeFrame(w: BitWriter, block: Int16Array, frameNumber: number, rateCode: number, constant = false): void {
  const start = w.length;
  w.write(0b11111111111110, 14); // sync
  w.write(0, 1); // reserved
  w.write(0, 1); // fixed blocksize
  w.write(0b0111, 4); // blocksize - 1 follows as 16 bits
  w.write(rateCode, 4);
  w.write(0b0000, 4); // mono
  w.write(0b100, 3); // 16 bits per sample
  w.write(0, 1);
  w.write(frameNumber, 8); // UTF-8 coded; < 128 is one byte
  w.write(block.length - 1, 16);
  w.write(crc8(w.take(start)), 8);
  w.write(0, 1); // subframe padding
  w.write(constant ? 0b000000 : 0b000001, 6); // CONSTANT or VERBATIM
  w.write(0, 1); // no wasted bits
  if (constant) w.write(block[0] & 0xffff, 16);
  else for (const s of block) w.write(s & 0xffff, 16);
  w.alignToByte();
  w.write(crc16(w.take(start)), 16);
}
