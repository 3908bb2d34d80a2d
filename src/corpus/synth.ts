/**
 * eSpeak NG (WebAssembly, in-process) as a deterministic synthesiser: text + voice settings ->
 * 16 kHz Float32Array + the phone sequence eSpeak itself used.
 *
 * Speed: the package exports only the C `main` (no callMain, no malloc), and a fresh instance costs
 * ~90 ms. eSpeak keeps state between runs of `main` (its output then differs from a fresh run), so
 * we snapshot the linear memory once after start-up and restore it before each run: every run is
 * then byte-identical to a fresh instance, at ~20 ms per utterance including the 22.05 -> 16 kHz
 * resampling (src/dsp/resample.ts). eSpeak seeds its noise generator from time(), so the clock
 * imports are pinned to a constant for reproducibility.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import ESpeakNg, { type ESpeakNgModule } from "espeak-ng";
import { decodeWav } from "../audio.js";
import { resample } from "../dsp/resample.js";
import { SAMPLE_RATE } from "../upstream.js";
import type { VoiceSettings } from "./types.js";

export const ESPEAK_SAMPLE_RATE = 22050;
/** The corpus rate: what every upstream consumes. */
export const TARGET_SAMPLE_RATE = SAMPLE_RATE;

/** eSpeak English accents used for speakers (language codes accepted by `-v`) and their voice files. */
export const ACCENTS: ReadonlyArray<{ code: string; file: string }> = [
  { code: "en-us", file: "gmw/en-US" },
  { code: "en-us-nyc", file: "gmw/en-US-nyc" },
  { code: "en-gb", file: "gmw/en" },
  { code: "en-gb-x-rp", file: "gmw/en-GB-x-rp" },
  { code: "en-gb-scotland", file: "gmw/en-GB-scotland" },
  { code: "en-gb-x-gbclan", file: "gmw/en-GB-x-gbclan" },
  { code: "en-gb-x-gbcwmd", file: "gmw/en-GB-x-gbcwmd" },
  { code: "en-029", file: "gmw/en-029" },
];

/** Voice variants (files in espeak-ng-data/voices/!v): the classic male and female variants. */
export const VARIANTS: readonly string[] = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5"];

const DATA_DIR = "/usr/local/share/espeak-ng-data";

/**
 * The corpus phone set: eSpeak's English phoneme mnemonics (`-x` output) with stress and syllable
 * marks removed and accent/position variants folded into their base phoneme (see PHONE_MAP).
 *
 *   consonants: p b t d k g f v T(thin) D(this) s z S(ship) Z(measure) h tS(chin) dZ(jam)
 *               m n N(sing) l r w j(yes)
 *   short vowels: I(kit) E(dress) a(trap) aa(bath) 0(lot) V(strut) U(foot) @(comma) 3(letter)
 *   long vowels: i:(fleece, happy) u:(goose) A:(palm) O:(thought) 3:(nurse)
 *   diphthongs: eI(face) aI(price) OI(choice) aU(mouth) oU(goat)
 *   centring: i@(near) e@(square) A@(start) O@(north) U@(cure) o@(US force) aI@(fire) aU@(hour)
 */
export const PHONE_SET: readonly string[] = [
  "p", "b", "t", "d", "k", "g", "f", "v", "T", "D", "s", "z", "S", "Z", "h", "tS", "dZ",
  "m", "n", "N", "l", "r", "w", "j",
  "I", "E", "a", "aa", "0", "V", "U", "@", "3",
  "i:", "u:", "A:", "O:", "3:",
  "eI", "aI", "OI", "aU", "oU",
  "i@", "e@", "A@", "O@", "U@", "o@", "aI@", "aU@",
];

/** Raw eSpeak tokens that are variants of a corpus phone (or a phone pair, e.g. syllabic l). */
const PHONE_MAP: Readonly<Record<string, readonly string[]>> = {
  "@2": ["@"], "@5": ["@"], "@-": ["@"], "a#": ["@"],
  "I2": ["I"], "I#": ["I"], "i": ["i:"],
  "t#": ["t"], "t2": ["t"], "t[": ["t"], "?": ["t"], // flap, dental and glottal realisations of /t/
  "r-": ["r"], "n-": ["n"], "w#": ["w"],
  "aI2": ["aI"], "aI3": ["aI@"], "i@3": ["i@"],
  "VR": ["3:"], "IR": ["3:"], "O2": ["O:"], "O": ["O:"],
  "@L": ["@", "l"],
};

const PHONES = new Set(PHONE_SET);

/** Stress, syllable and linking marks in `-x` output; they are not sounds. */
const MARKS = /[',%=;]/g;

/**
 * Converts eSpeak `-x --sep=|` output into corpus phones. Pauses (`_`, `_:` ...) are dropped;
 * any other token outside the phone set is an error, so a data change cannot go unnoticed.
 */
export function parseEspeakPhonemes(raw: string, context = ""): string[] {
  const out: string[] = [];
  for (const token of raw.split(/[\s|]+/)) {
    const t = token.replace(MARKS, "");
    if (t === "" || t.startsWith("_")) continue;
    const mapped = PHONE_MAP[t];
    if (mapped) out.push(...mapped);
    else if (PHONES.has(t)) out.push(t);
    else throw new Error(`eSpeak phoneme ${JSON.stringify(token)} is not in the corpus phone set${context ? ` (${context})` : ""}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The engine

export interface SynthResult {
  /** Mono audio at 16 kHz, as eSpeak produced it (before any augmentation). */
  samples: Float32Array;
  /** Phones in PHONE_SET. */
  phonemes: string[];
  /** The raw `-x` output, for debugging. */
  rawPhonemes: string;
}

/** Where argv strings go: the top 64 KiB of linear memory, which eSpeak's heap never reaches. */
const ARGV_REGION = 65536;

let compiled: Promise<WebAssembly.Module> | null = null;

function compileEspeak(): Promise<WebAssembly.Module> {
  if (!compiled) {
    const require = createRequire(import.meta.url);
    const wasmPath = join(dirname(require.resolve("espeak-ng")), "espeak-ng.wasm");
    compiled = WebAssembly.compile(readFileSync(wasmPath));
  }
  return compiled;
}

export class EspeakSynth {
  private readonly stderr: string[] = [];
  /** Set when a run threw out of wasm: the stack pointer (a wasm global) is then not restored. */
  private broken = false;

  private constructor(
    private readonly mod: ESpeakNgModule,
    private readonly snapshot: Uint8Array,
  ) {}

  static async create(): Promise<EspeakSynth> {
    const wasm = await compileEspeak();
    const stderr: string[] = [];
    const mod = await ESpeakNg({
      noInitialRun: true,
      print: () => {},
      printErr: (s) => stderr.push(s),
      instantiateWasm: (imports, receive) => {
        const env = imports.env as Record<string, unknown>;
        // eSpeak seeds its noise from the clock; a fixed clock makes output reproducible.
        env.emscripten_date_now = () => 0;
        env.emscripten_get_now = () => 0;
        void WebAssembly.instantiate(wasm, imports).then((instance) => receive(instance, wasm));
        return {};
      },
    });
    const heap = mod.HEAPU8;
    for (let i = heap.length - ARGV_REGION; i < heap.length; i++) {
      if (heap[i] !== 0) throw new Error("eSpeak memory layout changed: the argv region is in use");
    }
    for (const a of ACCENTS) {
      if (!mod.FS.analyzePath(`${DATA_DIR}/lang/${a.file}`).exists) throw new Error(`eSpeak voice file lang/${a.file} missing`);
    }
    for (const v of VARIANTS) {
      if (!mod.FS.analyzePath(`${DATA_DIR}/voices/!v/${v}`).exists) throw new Error(`eSpeak variant ${v} missing`);
    }
    const synth = new EspeakSynth(mod, heap.slice());
    synth.stderr.push(...stderr);
    return synth;
  }

  /** Runs the eSpeak command line with `args` on a pristine copy of the start-up state. */
  private runMain(args: string[]): void {
    if (this.broken) throw new Error("eSpeak engine unusable after an earlier failure; create a new one");
    const heap = this.mod.HEAPU8;
    heap.set(this.snapshot);
    const argv = ["espeak-ng", ...args];
    const encoder = new TextEncoder();
    let p = heap.length - ARGV_REGION;
    const pointers: number[] = [];
    for (const a of argv) {
      const bytes = encoder.encode(a + "\0");
      pointers.push(p);
      heap.set(bytes, p);
      p += bytes.length;
    }
    p = (p + 3) & ~3;
    const argvPtr = p;
    if (argvPtr + 4 * (pointers.length + 1) > heap.length) throw new Error("eSpeak arguments too long");
    for (const q of pointers) {
      this.mod.HEAPU32[p >> 2] = q;
      p += 4;
    }
    this.mod.HEAPU32[p >> 2] = 0;
    const argvStart = heap.length - ARGV_REGION;
    const argvBytes = heap.slice(argvStart, p + 4);
    this.stderr.length = 0;
    let status: number;
    try {
      status = this.mod._main(argv.length, argvPtr);
    } catch (err) {
      this.broken = true;
      throw new Error(`eSpeak aborted: ${err instanceof Error ? err.message : String(err)} ${this.stderr.join(" ").slice(0, 300)}`);
    }
    const after = heap.subarray(argvStart, p + 4);
    if (after.some((b, i) => b !== argvBytes[i])) {
      this.broken = true;
      throw new Error("eSpeak's heap reached the argv region; the memory-layout assumption no longer holds");
    }
    if (status !== 0 || this.stderr.length > 0) {
      throw new Error(`eSpeak failed (status ${status}): ${this.stderr.join(" ").slice(0, 300)}`);
    }
  }

  synthesize(text: string, voice: VoiceSettings): SynthResult {
    if (!ACCENTS.some((a) => a.code === voice.accent)) throw new Error(`unknown accent ${voice.accent}`);
    if (!VARIANTS.includes(voice.variant)) throw new Error(`unknown voice variant ${voice.variant}`);
    if (!/^[a-z' ]+$/.test(text)) throw new Error(`text to synthesise must be lower-case words: ${JSON.stringify(text)}`);
    const wavPath = "/tmp/utt.wav";
    const phPath = "/tmp/utt.pho";
    this.runMain([
      "-x", "--sep=|", "--phonout", phPath, "-w", wavPath,
      "-v", `${voice.accent}+${voice.variant}`,
      "-p", String(clampInt(voice.pitch, 0, 99)),
      "-P", String(clampInt(voice.pitchRange, 0, 99)),
      "-s", String(clampInt(voice.rate, 80, 450)),
      text,
    ]);
    const fs = this.mod.FS;
    const wav = fs.readFile(wavPath);
    const rawPhonemes = fs.readFile(phPath, { encoding: "utf8" });
    fs.unlink(wavPath);
    fs.unlink(phPath);
    const decoded = decodeWav(wav, "eSpeak output");
    if (decoded.sampleRate !== ESPEAK_SAMPLE_RATE) throw new Error(`eSpeak wrote ${decoded.sampleRate} Hz audio`);
    const phonemes = parseEspeakPhonemes(rawPhonemes, `"${text}" with ${voice.accent}`);
    if (phonemes.length === 0) throw new Error(`eSpeak produced no phonemes for "${text}"`);
    return { samples: resample(decoded.samples, ESPEAK_SAMPLE_RATE, TARGET_SAMPLE_RATE), phonemes, rawPhonemes };
  }
}

function clampInt(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.round(v)));
}
