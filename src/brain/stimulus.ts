/**
 * A stimulus waveform from word timings (a TextGrid word tier), for data sets whose audio is not
 * distributed (the Alice fMRI set ships only its TextGrid).
 *
 * Each word is synthesised with eSpeak NG in one fixed voice (STIMULUS_VOICE) and made to occupy
 * exactly its interval, so word timing on the stimulus clock is exact (the voice is not the
 * original narrator's):
 *   1. synthesise at 175 words/min and trim leading/trailing silence (5 ms frames below -40 dB of
 *      the loudest frame);
 *   2. if the trimmed length is outside [0.8, 1.25] of the interval, synthesise again at the rate
 *      that would fit (scaled by the length ratio, rounded to 10 wpm, clamped to eSpeak's 80-450);
 *   3. stretch the result to the interval length by linear interpolation (a residual change of
 *      speed and pitch, within ~25 % unless eSpeak's rate limits were hit, e.g. for a 30 ms "a"),
 *      with 3 ms fades against clicks, and place it at xmin.
 * Silence labels (SILENCE_LABELS) stay silent. Clitic intervals ("'s", "n't", ...) directly after
 * a word are merged with it ("did" + "n't" -> "didn't" over both intervals), since eSpeak cannot
 * say a clitic alone. The waveform starts at time 0 of the stimulus clock and ends at the
 * TextGrid's xmax; it is scaled down only if its peak exceeds 0.95.
 *
 * Synthesis is deterministic (src/corpus/synth.ts), and the result is cached as a 16-bit WAV in
 * `<cacheDir>/brain-stimuli/<key>.wav`, key = hash of the TextGrid bytes, tier, voice and
 * STIMULUS_VERSION. The first run returns the same 16-bit-quantised samples a cached run reads.
 */
import { readUserFile } from "../fs-atomic.js";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { decodeWav, encodeWav16, readWav } from "../audio.js";
import { defaultCacheDir } from "../corpus/generate.js";
import { EspeakSynth, TARGET_SAMPLE_RATE } from "../corpus/synth.js";
import { normalizeTranscript } from "../corpus/text.js";
import type { VoiceSettings } from "../corpus/types.js";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../fs-atomic.js";
import { startProgress } from "../progress.js";
import { decodeTextGridBytes, intervalTier, parseTextGrid, type TextGridInterval } from "./textgrid.js";
import type { StimulusWord } from "./types.js";

/** Bump when the synthesis changes: it is part of the cache key. */
export const STIMULUS_VERSION = 1;

export const STIMULUS_VOICE: Readonly<VoiceSettings> = { accent: "en-us", variant: "m3", pitch: 50, pitchRange: 50, rate: 175 };

/** Interval labels that mean "no speech" (Montreal Forced Aligner, HTK, Praat conventions). */
export const SILENCE_LABELS: ReadonlySet<string> = new Set(["", "sp", "sil", "spn", "pau", "<sil>", "<sp>", "#", "{sl}", "{lg}", "<unk>"]);

const SR = TARGET_SAMPLE_RATE;

/** What synthesis would produce from a TextGrid, known without synthesising. */
export interface StimulusPlan {
  source: string;
  tier: string;
  /** Spoken words (lower-case, synthesisable text), clitics merged. */
  words: StimulusWord[];
  /** Seconds: the TextGrid's xmax. */
  duration: number;
  /** Cache key (hex). */
  key: string;
  /** Labels that could not be spoken (nothing left after normalisation, or a clitic after a pause). */
  dropped: string[];
  voice: VoiceSettings;
}

export interface StimulusOptions {
  voice?: VoiceSettings;
  cacheDir?: string;
  /** Progress bar (default: on a TTY outside CI). */
  progress?: boolean;
  onProgress?: (done: number, total: number) => void;
  onNotice?: (msg: string) => void;
}

export interface SynthesizedStimulus {
  /** 16 kHz mono. */
  samples: Float32Array;
  plan: StimulusPlan;
  cachePath: string;
  cached: boolean;
  /** Wall time of synthesis (0 when read from the cache). */
  seconds: number;
}

function isClitic(label: string): boolean {
  return /^'[a-z]+$/i.test(label) || /^n't$/i.test(label);
}

/** Spoken words of a word tier: silences removed, text normalised for eSpeak, clitics merged. */
export function spokenWords(intervals: readonly TextGridInterval[]): { words: StimulusWord[]; dropped: string[] } {
  const words: StimulusWord[] = [];
  const dropped: string[] = [];
  let prevSpoken = false;
  for (const iv of intervals) {
    const label = iv.text.trim();
    if (SILENCE_LABELS.has(label.toLowerCase())) {
      prevSpoken = false;
      continue;
    }
    if (isClitic(label)) {
      const prev = words[words.length - 1];
      if (prevSpoken && prev && Math.abs(prev.xmax - iv.xmin) < 1e-6 && !prev.text.includes("'")) {
        prev.text += label.toLowerCase();
        prev.xmax = iv.xmax;
      } else {
        dropped.push(label);
      }
      prevSpoken = true;
      continue;
    }
    const text = normalizeTranscript(label).toLowerCase();
    if (text === "" || iv.xmax - iv.xmin <= 0) {
      dropped.push(label);
      prevSpoken = false;
      continue;
    }
    words.push({ text, xmin: iv.xmin, xmax: iv.xmax });
    prevSpoken = true;
  }
  return { words, dropped };
}

function sha256(parts: Array<string | Uint8Array>): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex");
}

/** Reads a TextGrid and plans its stimulus (cheap: no synthesis). */
export function planTextGridStimulus(file: string, tier = "word", voice: VoiceSettings = STIMULUS_VOICE): StimulusPlan {
  const bytes = readUserFile(file, "a TextGrid");
  const tg = parseTextGrid(decodeTextGridBytes(bytes), file);
  const { words, dropped } = spokenWords(intervalTier(tg, tier, file));
  if (words.length === 0) throw new UserError(`${file}: tier "${tier}" has no spoken words`);
  if (!(tg.xmax > 0)) throw new UserError(`${file}: TextGrid ends at ${tg.xmax} s`);
  const key = sha256([`brain-stimulus-v${STIMULUS_VERSION}`, JSON.stringify(voice), tier, bytes]).slice(0, 24);
  return { source: file, tier, words, duration: tg.xmax, key, dropped, voice: { ...voice } };
}

/** Start and end (exclusive) of the audible part: 5 ms frames above -40 dB of the loudest frame. */
export function trimSilence(x: Float32Array, frame = 80, relDb = -40): [number, number] {
  const frames = Math.ceil(x.length / frame);
  const rms = new Float64Array(frames);
  let max = 0;
  for (let f = 0; f < frames; f++) {
    let s = 0;
    const end = Math.min(x.length, (f + 1) * frame);
    for (let i = f * frame; i < end; i++) s += x[i] * x[i];
    rms[f] = Math.sqrt(s / Math.max(1, end - f * frame));
    if (rms[f] > max) max = rms[f];
  }
  if (max === 0) return [0, 0];
  const thr = max * 10 ** (relDb / 20);
  let a = 0;
  while (a < frames && rms[a] < thr) a++;
  let b = frames - 1;
  while (b > a && rms[b] < thr) b--;
  return [a * frame, Math.min(x.length, (b + 1) * frame)];
}

/** Linear-interpolation stretch of x to exactly n samples. */
export function stretchTo(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  if (x.length === 0 || n === 0) return out;
  if (x.length === 1 || n === 1) return out.fill(x[0]);
  const step = (x.length - 1) / (n - 1);
  for (let i = 0; i < n; i++) {
    const p = i * step;
    const j = Math.floor(p);
    const f = p - j;
    out[i] = j + 1 < x.length ? x[j] * (1 - f) + x[j + 1] * f : x[j];
  }
  return out;
}

function fade(x: Float32Array, n: number): void {
  const m = Math.min(n, Math.floor(x.length / 2));
  for (let i = 0; i < m; i++) {
    const g = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / m);
    x[i] *= g;
    x[x.length - 1 - i] *= g;
  }
}

/** Synthesises one word (memoised by text and rate: words repeat a lot). */
class WordSynth {
  private readonly memo = new Map<string, Float32Array>();
  constructor(
    private readonly synth: EspeakSynth,
    private readonly voice: VoiceSettings,
  ) {}

  trimmed(text: string, rate: number): Float32Array {
    const key = `${rate}|${text}`;
    let out = this.memo.get(key);
    if (!out) {
      const { samples } = this.synth.synthesize(text, { ...this.voice, rate });
      const [a, b] = trimSilence(samples);
      out = samples.slice(a, b);
      this.memo.set(key, out);
    }
    return out;
  }

  /** The word fitted to n samples. */
  fit(text: string, n: number): Float32Array {
    const base = this.voice.rate;
    let audio = this.trimmed(text, base);
    const ratio = audio.length / Math.max(1, n);
    if (ratio > 1.25 || ratio < 0.8) {
      const rate = Math.max(80, Math.min(450, Math.round((base * ratio) / 10) * 10));
      if (rate !== base) audio = this.trimmed(text, rate);
    }
    const out = stretchTo(audio, n);
    fade(out, Math.round(0.003 * SR));
    return out;
  }
}

/** Synthesises a planned stimulus (no cache). */
export async function renderStimulus(plan: StimulusPlan, opts: Pick<StimulusOptions, "progress" | "onProgress"> = {}): Promise<Float32Array> {
  const synth = await EspeakSynth.create();
  const words = new WordSynth(synth, plan.voice);
  const total = Math.round(plan.duration * SR);
  const out = new Float32Array(total);
  const bar = startProgress({ label: "synthesising stimulus", total: plan.words.length, unit: "words", enabled: opts.progress });
  try {
    for (let i = 0; i < plan.words.length; i++) {
      const w = plan.words[i];
      const start = Math.round(w.xmin * SR);
      const end = Math.min(total, Math.round(w.xmax * SR));
      if (end > start) {
        let audio: Float32Array;
        try {
          audio = words.fit(w.text, end - start);
        } catch (err) {
          throw new UserError(`${plan.source}: cannot synthesise word ${i + 1} "${w.text}" at ${w.xmin.toFixed(2)} s (${err instanceof Error ? err.message : String(err)})`);
        }
        out.set(audio, start);
      }
      bar.increment();
      opts.onProgress?.(i + 1, plan.words.length);
      if (i % 32 === 31) await new Promise((r) => setImmediate(r)); // let the progress bar draw
    }
  } finally {
    bar.stop();
  }
  let peak = 0;
  for (let i = 0; i < out.length; i++) peak = Math.max(peak, Math.abs(out[i]));
  if (peak > 0.95) {
    const g = 0.95 / peak;
    for (let i = 0; i < out.length; i++) out[i] *= g;
  }
  return out;
}

export function stimulusCachePath(cacheDir: string, key: string): string {
  return join(cacheDir, "brain-stimuli", `${key}.wav`);
}

/** The stimulus of a TextGrid: from the cache, or synthesised once and cached. */
export async function stimulusFromTextGrid(file: string, tier = "word", opts: StimulusOptions = {}): Promise<SynthesizedStimulus> {
  const plan = planTextGridStimulus(file, tier, opts.voice ?? STIMULUS_VOICE);
  return synthesizePlanned(plan, opts);
}

export async function synthesizePlanned(plan: StimulusPlan, opts: StimulusOptions = {}): Promise<SynthesizedStimulus> {
  const cachePath = stimulusCachePath(opts.cacheDir ?? defaultCacheDir(), plan.key);
  if (existsSync(cachePath)) {
    const { samples, sampleRate } = readWav(cachePath);
    if (sampleRate === SR && samples.length === Math.round(plan.duration * SR)) return { samples, plan, cachePath, cached: true, seconds: 0 };
    opts.onNotice?.(`${cachePath}: cached stimulus has the wrong length or rate; synthesising again`);
  }
  const t0 = performance.now();
  opts.onNotice?.(`${plan.source}: synthesising ${plan.words.length} words (${(plan.duration / 60).toFixed(1)} min of stimulus) with eSpeak; cached in ${cachePath}`);
  const rendered = await renderStimulus(plan, opts);
  const bytes = encodeWav16(rendered, SR);
  mkdirSync(dirname(cachePath), { recursive: true });
  writeFileAtomic(cachePath, bytes);
  const seconds = (performance.now() - t0) / 1000;
  // The cached WAV is 16-bit: return exactly what later runs will read.
  return { samples: decodeWav(bytes, cachePath).samples, plan, cachePath, cached: false, seconds };
}
