/**
 * A simulated brain data set with a known answer: a synthetic narrative, and ROI time courses
 * generated from three feature families of it, so that an encoding analysis can be checked
 * against the truth (which family drives which ROI, how well a perfect model could do).
 *
 * Stimulus: free sentences from the corpus grammar (src/corpus/text.ts, seeded), synthesised one
 * by one with eSpeak in one voice, silence-trimmed and joined with 0.3-0.9 s pauses after a 0.5 s
 * lead-in, until `minutes` are filled (the rest is silence). eSpeak reports no timings, so word and
 * phone timings are estimated: each sentence's audible span is divided among its words in
 * proportion to their phone counts (eSpeak's `-x` output separates words by spaces; if its word
 * count differs from the text's, phones are spread over words in proportion to their letters),
 * and each word's span evenly among its phones. The generating features use these timings, so
 * they are the truth by construction; words.TextGrid records them.
 *
 * Features at 100 Hz (10 ms frames):
 *   acoustic: log energy of the whole band, of the low third and of the high third of a 24-band
 *             mel filterbank (25 ms windows);
 *   phonetic: impulses at phone onsets, vowel onsets, fricative onsets;
 *   lexical:  impulses at word onsets, sentence onsets, sentence offsets.
 * Each is convolved with the SPM HRF (hrf.ts, sampled at 10 ms) and sampled at the row times
 * firstRowTime + k * tr, then z-scored over rows. ROI r of family F (two per family, named
 * "A1-acoustic", "A2-acoustic", "STG-phonetic", "STS-phonetic", "IFG-lexical", "ATL-lexical") has
 * group weights w ~ U(0.5, 1.5) over F's features; subject s uses w * max(0.05, 1 + jitter * N(0, 1)).
 * signal = sum_f w_f z_f, scaled to unit variance over rows; noise = AR(1) with coefficient ar1 and
 * unit marginal variance, times sqrt(1 / snr). So snr = var(signal) / var(noise), and a perfect
 * model reaches r = sqrt(snr / (1 + snr)) on average (truth.ceilingR).
 *
 * Output folder: stimulus.wav, words.TextGrid (tiers "word" with "sp" pauses, "phone"),
 * sub-01.npy ... (float32 [rows x 6]), brain.json (loadable by loadBrainDataset) and truth.json.
 * Everything is a deterministic function of the options (same seed, same bytes).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { decodeWav, encodeWav16, readWav } from "../audio.js";
import { computeFbank } from "../dsp/fbank.js";
import { EspeakSynth, PHONE_SET, TARGET_SAMPLE_RATE, parseEspeakPhonemes } from "../corpus/synth.js";
import { freeSentence } from "../corpus/text.js";
import type { VoiceSettings } from "../corpus/types.js";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../fs-atomic.js";
import { encodeNpy } from "../npy.js";
import { startProgress } from "../progress.js";
import { Rng, deriveSeed } from "../random.js";
import { hrfKernel } from "./hrf.js";
import { trimSilence } from "./stimulus.js";
import { formatTextGrid, type TextGridInterval } from "./textgrid.js";
import type { BrainManifest, FeatureFamily, SimulatedFeature, SimulatedRoi, SimulationTruth } from "./types.js";

export const SIMULATION_VERSION = 1;
const SR = TARGET_SAMPLE_RATE;
const FEATURE_RATE = 100;

export const SIMULATION_VOICE: Readonly<VoiceSettings> = { accent: "en-us", variant: "m3", pitch: 50, pitchRange: 50, rate: 165 };

export const SIMULATED_FEATURES: readonly SimulatedFeature[] = [
  { name: "loudness", family: "acoustic", description: "log energy, all 24 mel bands (25 ms windows, 10 ms hop)" },
  { name: "low-band", family: "acoustic", description: "log energy, mel bands 1-8 (about 20-900 Hz)" },
  { name: "high-band", family: "acoustic", description: "log energy, mel bands 17-24 (about 3-8 kHz)" },
  { name: "phone-onsets", family: "phonetic", description: "impulse at every phone onset" },
  { name: "vowel-onsets", family: "phonetic", description: "impulse at every vowel or diphthong onset" },
  { name: "fricative-onsets", family: "phonetic", description: "impulse at every fricative onset (f v T D s z S Z h)" },
  { name: "word-onsets", family: "lexical", description: "impulse at every word onset" },
  { name: "sentence-onsets", family: "lexical", description: "impulse at every sentence onset" },
  { name: "sentence-offsets", family: "lexical", description: "impulse at every sentence offset" },
];

const ROI_LAYOUT: ReadonlyArray<{ name: string; family: FeatureFamily }> = [
  { name: "A1-acoustic", family: "acoustic" },
  { name: "A2-acoustic", family: "acoustic" },
  { name: "STG-phonetic", family: "phonetic" },
  { name: "STS-phonetic", family: "phonetic" },
  { name: "IFG-lexical", family: "lexical" },
  { name: "ATL-lexical", family: "lexical" },
];

const VOWELS = new Set(PHONE_SET.slice(PHONE_SET.indexOf("I")));
const FRICATIVES = new Set(["f", "v", "T", "D", "s", "z", "S", "Z", "h"]);

export interface SimulateOptions {
  outDir: string;
  /** Default 8. */
  subjects?: number;
  /** Stimulus length in minutes. Default 6. */
  minutes?: number;
  /** Seconds. Default 2. */
  tr?: number;
  /** var(signal) / var(noise). Default 1. */
  snr?: number;
  /** AR(1) coefficient of the noise, in [0, 1). Default 0.3. */
  ar1?: number;
  /** Default 1. */
  seed?: number;
  /** Relative standard deviation of per-subject weights. Default 0.2. */
  weightJitter?: number;
  /** Volumes "discarded" before row 0: firstRowTime = discardVolumes * tr. Default 2. */
  discardVolumes?: number;
  /** If set, the synthesised narrative is cached in <cacheDir>/brain-stimuli (reused across SNRs, cohorts). */
  cacheDir?: string;
  progress?: boolean;
  onNotice?: (msg: string) => void;
}

export interface SimulationResult {
  dir: string;
  manifestPath: string;
  truth: SimulationTruth;
  /** Wall time of narrative synthesis (0 when cached). */
  synthesisSeconds: number;
}

interface Narrative {
  samples: Float32Array;
  words: Array<{ text: string; xmin: number; xmax: number; sentence: number }>;
  phones: Array<{ phone: string; xmin: number; xmax: number }>;
  sentences: Array<{ text: string; xmin: number; xmax: number }>;
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/** Phones per word from eSpeak's `-x` output, or a letter-proportional split of all phones. */
function phonesPerWord(words: string[], raw: string, allPhones: string[]): string[][] {
  const groups = raw.trim().split(/\s+/).filter((g) => g !== "");
  if (groups.length === words.length) {
    const lists = groups.map((g) => parseEspeakPhonemes(g));
    if (lists.every((l) => l.length > 0)) return lists;
  }
  const letters = words.map((w) => Math.max(1, w.replace(/'/g, "").length));
  const total = letters.reduce((a, b) => a + b, 0);
  const out: string[][] = [];
  let start = 0;
  let acc = 0;
  for (let i = 0; i < words.length; i++) {
    acc += letters[i];
    let end = i === words.length - 1 ? allPhones.length : Math.round((acc / total) * allPhones.length);
    end = Math.max(end, start + 1);
    out.push(allPhones.slice(start, Math.min(end, allPhones.length)));
    start = Math.min(end, allPhones.length);
  }
  // A word that got no phones keeps a placeholder so its span still exists.
  return out.map((l) => (l.length > 0 ? l : ["@"]));
}

async function synthesizeNarrative(seed: number, minutes: number, progress: boolean | undefined): Promise<Narrative> {
  const synth = await EspeakSynth.create();
  const textRng = new Rng(deriveSeed(seed, "sim:text"));
  const pauseRng = new Rng(deriveSeed(seed, "sim:pauses"));
  const total = Math.round(minutes * 60 * SR);
  const out = new Float32Array(total);
  const narrative: Narrative = { samples: out, words: [], phones: [], sentences: [] };
  let pos = Math.round(0.5 * SR);
  const bar = startProgress({ label: "synthesising narrative", total: Math.round(minutes * 60), unit: "s", enabled: progress });
  try {
    for (let attempts = 0; attempts < 100000; attempts++) {
      const text = freeSentence(textRng, 12).toLowerCase();
      const r = synth.synthesize(text, SIMULATION_VOICE);
      const [a, b] = trimSilence(r.samples);
      const speech = r.samples.subarray(a, b);
      if (speech.length === 0) continue;
      if (pos + speech.length > total - Math.round(0.3 * SR)) break;
      out.set(speech, pos);
      const words = text.split(" ");
      const lists = phonesPerWord(words, r.rawPhonemes, r.phonemes);
      const totalPhones = lists.reduce((s, l) => s + l.length, 0);
      const t0 = pos / SR;
      const dur = speech.length / SR;
      let done = 0;
      words.forEach((w, i) => {
        const xmin = t0 + (dur * done) / totalPhones;
        done += lists[i].length;
        const xmax = t0 + (dur * done) / totalPhones;
        narrative.words.push({ text: w, xmin, xmax, sentence: narrative.sentences.length });
        lists[i].forEach((p, k) => {
          const step = (xmax - xmin) / lists[i].length;
          narrative.phones.push({ phone: p, xmin: xmin + k * step, xmax: xmin + (k + 1) * step });
        });
      });
      narrative.sentences.push({ text, xmin: t0, xmax: t0 + dur });
      bar.increment(Math.round(pos / SR + dur) - Math.round(pos / SR));
      pos += speech.length + Math.round(pauseRng.uniform(0.3, 0.9) * SR);
      if (narrative.sentences.length % 8 === 0) await new Promise((res) => setImmediate(res));
    }
  } finally {
    bar.stop();
  }
  if (narrative.sentences.length === 0) throw new UserError(`simulation: ${minutes} min is too short for one sentence`);
  // What a reader of stimulus.wav will see: the 16-bit version (features are computed from it).
  narrative.samples = decodeWav(encodeWav16(out, SR), "narrative").samples;
  return narrative;
}

/** Narrative from the cache (when given) or synthesised (and cached). */
async function narrativeFor(seed: number, minutes: number, opts: SimulateOptions): Promise<{ narrative: Narrative; seconds: number }> {
  const key = createHash("sha256").update(`sim-narrative-v${SIMULATION_VERSION}\0${seed}\0${minutes}\0${JSON.stringify(SIMULATION_VOICE)}`).digest("hex").slice(0, 24);
  const dir = opts.cacheDir ? join(opts.cacheDir, "brain-stimuli") : null;
  if (dir) {
    const wav = join(dir, `sim-${key}.wav`);
    const meta = join(dir, `sim-${key}.json`);
    if (existsSync(wav) && existsSync(meta)) {
      try {
        const m = JSON.parse(readFileSync(meta, "utf8")) as Omit<Narrative, "samples">;
        const { samples } = readWav(wav);
        if (samples.length === Math.round(minutes * 60 * SR) && Array.isArray(m.words)) return { narrative: { ...m, samples }, seconds: 0 };
      } catch {
        // A damaged cache entry is rebuilt below.
      }
      opts.onNotice?.(`${meta}: unreadable cached narrative; synthesising again`);
    }
  }
  const t0 = performance.now();
  const narrative = await synthesizeNarrative(seed, minutes, opts.progress);
  const seconds = (performance.now() - t0) / 1000;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, `sim-${key}.wav`), encodeWav16(narrative.samples, SR));
    const { samples: _unused, ...meta } = narrative;
    void _unused;
    writeFileAtomic(join(dir, `sim-${key}.json`), JSON.stringify(meta));
  }
  return { narrative, seconds };
}

/** The nine features at 100 Hz, in SIMULATED_FEATURES order. */
function computeFeatures(n: Narrative, frames: number): Float64Array[] {
  const fb = computeFbank(n.samples, { numMelBins: 24, useLogFbank: false });
  const band = (lo: number, hi: number): Float64Array => {
    const e = new Float64Array(frames);
    for (let t = 0; t < Math.min(frames, fb.numFrames); t++) {
      let s = 0;
      for (let b = lo; b < hi; b++) s += fb.data[t * fb.numBins + b];
      e[t] = s;
    }
    let mean = 0;
    for (let t = 0; t < frames; t++) mean += e[t];
    mean /= frames;
    // -30 dB of the mean energy as the floor, so silence is a finite low value.
    const floor = Math.max(1e-12, 1e-3 * mean);
    for (let t = 0; t < frames; t++) e[t] = Math.log(e[t] + floor);
    return e;
  };
  const impulses = (times: number[]): Float64Array => {
    const x = new Float64Array(frames);
    for (const t of times) {
      const i = Math.round(t * FEATURE_RATE);
      if (i >= 0 && i < frames) x[i] += 1;
    }
    return x;
  };
  return [
    band(0, 24),
    band(0, 8),
    band(16, 24),
    impulses(n.phones.map((p) => p.xmin)),
    impulses(n.phones.filter((p) => VOWELS.has(p.phone)).map((p) => p.xmin)),
    impulses(n.phones.filter((p) => FRICATIVES.has(p.phone)).map((p) => p.xmin)),
    impulses(n.words.map((w) => w.xmin)),
    impulses(n.sentences.map((s) => s.xmin)),
    impulses(n.sentences.map((s) => s.xmax)),
  ];
}

/** convolveCausal(x, kernel) evaluated only at the given indices. */
function convolveAt(x: Float64Array, kernel: Float64Array, indices: number[]): Float64Array {
  const out = new Float64Array(indices.length);
  indices.forEach((i, r) => {
    let acc = 0;
    const kmax = Math.min(i, kernel.length - 1);
    for (let k = 0; k <= kmax; k++) acc += kernel[k] * x[i - k];
    out[r] = acc;
  });
  return out;
}

function zscore(x: Float64Array): Float64Array {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let v2 = 0;
  for (const v of x) v2 += (v - mean) ** 2;
  const sd = Math.sqrt(v2 / x.length);
  return x.map((v) => (sd > 0 ? (v - mean) / sd : 0));
}

function checkOptions(o: SimulateOptions): Required<Omit<SimulateOptions, "cacheDir" | "progress" | "onNotice">> {
  const subjects = o.subjects ?? 8;
  const minutes = o.minutes ?? 6;
  const tr = o.tr ?? 2;
  const snr = o.snr ?? 1;
  const ar1 = o.ar1 ?? 0.3;
  const seed = o.seed ?? 1;
  const weightJitter = o.weightJitter ?? 0.2;
  const discardVolumes = o.discardVolumes ?? 2;
  if (!Number.isInteger(subjects) || subjects < 1 || subjects > 99) throw new UserError(`simulation: subjects must be an integer in 1..99, got ${subjects}`);
  if (!(minutes > 0) || minutes > 240) throw new UserError(`simulation: minutes must be in (0, 240], got ${minutes}`);
  if (!(tr >= 0.1) || tr > 10) throw new UserError(`simulation: tr must be in [0.1, 10] s, got ${tr}`);
  if (!(snr > 0) || !Number.isFinite(snr)) throw new UserError(`simulation: snr must be a positive number, got ${snr}`);
  if (!(ar1 >= 0 && ar1 < 1)) throw new UserError(`simulation: ar1 must be in [0, 1), got ${ar1}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UserError(`simulation: seed must be an integer in [0, 2^32), got ${seed}`);
  if (!(weightJitter >= 0)) throw new UserError(`simulation: weightJitter must be >= 0, got ${weightJitter}`);
  if (!Number.isInteger(discardVolumes) || discardVolumes < 0) throw new UserError(`simulation: discardVolumes must be a non-negative integer, got ${discardVolumes}`);
  const rows = Math.floor((minutes * 60 - discardVolumes * tr) / tr + 1e-9) + 1;
  if (rows < 10) throw new UserError(`simulation: ${minutes} min at TR ${tr} s gives ${rows} rows; at least 10 are needed`);
  return { outDir: o.outDir, subjects, minutes, tr, snr, ar1, seed, weightJitter, discardVolumes };
}

function subjectId(i: number): string {
  return `sub-${String(i + 1).padStart(2, "0")}`;
}

/** Simulates a cohort into opts.outDir (see the top of this file). */
export async function simulateCohort(opts: SimulateOptions): Promise<SimulationResult> {
  const o = checkOptions(opts);
  const { narrative, seconds } = await narrativeFor(o.seed, o.minutes, opts);
  const duration = narrative.samples.length / SR;
  const frames = Math.round(duration * FEATURE_RATE);
  const firstRowTime = o.discardVolumes * o.tr;
  const rows = Math.floor((duration - firstRowTime) / o.tr + 1e-9) + 1;
  const rowFrames = Array.from({ length: rows }, (_, k) => Math.min(frames - 1, Math.round((firstRowTime + k * o.tr) * FEATURE_RATE)));

  // Hemodynamic, TR-sampled, z-scored features.
  const kernel = hrfKernel(o.tr, { model: "spm", oversampling: o.tr * FEATURE_RATE });
  const feats = computeFeatures(narrative, frames).map((x) => zscore(convolveAt(x, kernel, rowFrames)));

  const weightRng = new Rng(deriveSeed(o.seed, "sim:weights"));
  const familyIndex = (f: FeatureFamily) => SIMULATED_FEATURES.map((x, i) => (x.family === f ? i : -1)).filter((i) => i >= 0);
  const rois: SimulatedRoi[] = ROI_LAYOUT.map((r) => ({ name: r.name, family: r.family, weights: familyIndex(r.family).map(() => round6(weightRng.uniform(0.5, 1.5))) }));

  mkdirSync(o.outDir, { recursive: true });
  const subjectWeights: SimulationTruth["subjectWeights"] = [];
  const ids = Array.from({ length: o.subjects }, (_, i) => subjectId(i));
  for (const id of ids) {
    const jitterRng = new Rng(deriveSeed(o.seed, `sim:subject-weights:${id}`));
    const noiseRng = new Rng(deriveSeed(o.seed, `sim:noise:${id}`));
    const weights = rois.map((r) => r.weights.map((w) => round6(w * Math.max(0.05, 1 + o.weightJitter * jitterRng.normal()))));
    subjectWeights.push({ subject: id, weights });
    const bold = new Float32Array(rows * rois.length);
    const noiseScale = Math.sqrt(1 / o.snr);
    const innovation = Math.sqrt(1 - o.ar1 * o.ar1);
    rois.forEach((r, c) => {
      const idx = familyIndex(r.family);
      const signal = new Float64Array(rows);
      idx.forEach((f, j) => {
        for (let t = 0; t < rows; t++) signal[t] += weights[c][j] * feats[f][t];
      });
      const s = zscore(signal);
      let e = noiseRng.normal();
      for (let t = 0; t < rows; t++) {
        if (t > 0) e = o.ar1 * e + innovation * noiseRng.normal();
        bold[t * rois.length + c] = s[t] + noiseScale * e;
      }
    });
    writeFileAtomic(join(o.outDir, `${id}.npy`), encodeNpy(bold, [rows, rois.length]));
  }
  // Subject files of an earlier, larger simulation into the same folder would otherwise linger.
  for (const f of readdirSync(o.outDir)) {
    if (/^sub-\d+\.npy$/.test(f) && !ids.includes(f.slice(0, -4))) rmSync(join(o.outDir, f), { force: true });
  }

  writeFileAtomic(join(o.outDir, "stimulus.wav"), encodeWav16(narrative.samples, SR));
  writeFileAtomic(join(o.outDir, "words.TextGrid"), wordsTextGrid(narrative, duration));
  const manifest: BrainManifest = {
    name: `sim-s${o.seed}`,
    tr: o.tr,
    firstRowTime,
    targets: rois.map((r) => r.name),
    runs: [{ id: "narrative", stimulus: { wav: "stimulus.wav", textgrid: "words.TextGrid", tier: "word" }, subjects: ids.map((id) => ({ id, bold: `${id}.npy` })) }],
  };
  const manifestPath = join(o.outDir, "brain.json");
  writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
  const truth: SimulationTruth = {
    kind: "superb-brain-simulation",
    version: SIMULATION_VERSION,
    seed: o.seed,
    subjects: o.subjects,
    minutes: o.minutes,
    tr: o.tr,
    firstRowTime,
    rows,
    snr: o.snr,
    ar1: o.ar1,
    weightJitter: o.weightJitter,
    hrf: { model: "spm", featureRate: FEATURE_RATE },
    ceilingR: round6(Math.sqrt(o.snr / (1 + o.snr))),
    voice: { ...SIMULATION_VOICE },
    features: SIMULATED_FEATURES.map((f) => ({ ...f })),
    rois,
    subjectWeights,
    timing: "eSpeak reports no timings: each sentence's audible span is split among its words by phone count, each word's evenly among its phones",
    sentences: narrative.sentences.length,
    words: narrative.words.length,
    phones: narrative.phones.length,
    files: { stimulus: "stimulus.wav", words: "words.TextGrid", manifest: "brain.json" },
  };
  writeFileAtomic(join(o.outDir, "truth.json"), JSON.stringify(truth, null, 2) + "\n");
  return { dir: o.outDir, manifestPath, truth, synthesisSeconds: seconds };
}

/**
 * The generating features of a simulation (SIMULATED_FEATURES at 100 Hz, before the HRF), one
 * [frames x features] block per family: the "true layers" that an analysis should recover.
 */
export async function simulatedFeatureLayers(opts: SimulateOptions): Promise<{ family: FeatureFamily; frameRate: number; numFrames: number; dim: number; data: Float32Array }[]> {
  const o = checkOptions(opts);
  const { narrative } = await narrativeFor(o.seed, o.minutes, opts);
  const frames = Math.round((narrative.samples.length / SR) * FEATURE_RATE);
  const feats = computeFeatures(narrative, frames);
  const families: FeatureFamily[] = ["acoustic", "phonetic", "lexical"];
  return families.map((family) => {
    const idx = SIMULATED_FEATURES.map((f, i) => (f.family === family ? i : -1)).filter((i) => i >= 0);
    const data = new Float32Array(frames * idx.length);
    for (let t = 0; t < frames; t++) idx.forEach((f, j) => (data[t * idx.length + j] = feats[f][t]));
    return { family, frameRate: FEATURE_RATE, numFrames: frames, dim: idx.length, data };
  });
}

/** Word tier (pauses labelled "sp", as in the Alice TextGrid) and phone tier. */
function wordsTextGrid(n: Narrative, duration: number): string {
  const fill = (items: Array<{ text: string; xmin: number; xmax: number }>): TextGridInterval[] => {
    const out: TextGridInterval[] = [];
    let t = 0;
    for (const it of items) {
      const xmin = round6(it.xmin);
      const xmax = round6(it.xmax);
      if (xmin > t) out.push({ xmin: t, xmax: xmin, text: "sp" });
      out.push({ xmin: Math.max(t, xmin), xmax, text: it.text });
      t = xmax;
    }
    const end = round6(duration);
    if (end > t) out.push({ xmin: t, xmax: end, text: "sp" });
    return out;
  };
  return formatTextGrid({
    xmin: 0,
    xmax: round6(duration),
    tiers: [
      { kind: "interval", name: "word", xmin: 0, xmax: round6(duration), intervals: fill(n.words) },
      { kind: "interval", name: "phone", xmin: 0, xmax: round6(duration), intervals: fill(n.phones.map((p) => ({ text: p.phone, xmin: p.xmin, xmax: p.xmax }))) },
    ],
  });
}
