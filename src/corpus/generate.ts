/**
 * The embedded synthetic corpus: planning (speakers, texts, splits, nuisances, ASV trials),
 * rendering (in worker threads when the compiled worker is available, else in-process), caching
 * with atomic publication, and loading with validation.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { readWav } from "../audio.js";
import { UserError } from "../errors.js";
import { startProgress } from "../progress.js";
import { Rng, deriveSeed } from "../random.js";
import { varyChannel } from "./augment.js";
import { renderUtterance, type UttJob, type UttResult } from "./render.js";
import { jitterVoice, makeSpeakers } from "./speakers.js";
import { EspeakSynth, PHONE_SET, TARGET_SAMPLE_RATE } from "./synth.js";
import type { WorkerReply } from "./synth-worker.js";
import { CHAR_SET, INTENT_SLOTS, KS_CLASSES, KS_KEYWORDS, KS_SILENCE, KS_UNKNOWN, KS_UNKNOWN_WORDS, allIntents, commandText, freeSentence } from "./text.js";
import type { AsvTrial, Corpus, CorpusManifest, IntentSlots, SpeakerProfile, Split, Utterance } from "./types.js";

/** Bump whenever generated content changes: it is part of the cache folder name. */
export const GENERATOR_VERSION = 3;

export interface CorpusProfile {
  name: string;
  seenSpeakers: number;
  unseenSpeakers: number;
  /** Utterances per seen speaker, split about 70/15/15 into train/dev/test. */
  uttsPerSeenSpeaker: number;
  /** Utterances per unseen speaker (all test; the ASV trials use these). */
  uttsPerUnseenSpeaker: number;
  /** Fraction of intent commands among each speaker's utterances (the rest are free sentences). */
  commandFraction: number;
  /** Same-speaker ASV trials; as many different-speaker trials are added. */
  asvTargetTrials: number;
  /** Additive-noise SNR range in dB (uniform). */
  snrDbRange: [number, number];
  /** Longest free sentence in words. */
  maxSentenceWords: number;
  /** 1 s keyword-spotting clips per seen speaker (classes balanced), split about 70/15/15 on their own. */
  keywordUttsPerSeenSpeaker: number;
  /** Keyword-spotting clips per unseen speaker (all test). */
  keywordUttsPerUnseenSpeaker: number;
}

export const PROFILES: Record<"quick" | "full", CorpusProfile> = {
  /** The default run: 16 speakers, 472 utterances (~18 min of audio) + 360 keyword clips, some 20 s to generate. */
  quick: {
    name: "quick",
    seenSpeakers: 10,
    unseenSpeakers: 6,
    uttsPerSeenSpeaker: 40,
    uttsPerUnseenSpeaker: 12,
    commandFraction: 0.9,
    asvTargetTrials: 300,
    snrDbRange: [5, 30],
    maxSentenceWords: 9,
    keywordUttsPerSeenSpeaker: 36,
    keywordUttsPerUnseenSpeaker: 0,
  },
  /** For benchmarks and the leaderboard: 76 speakers, 1936 utterances (over an hour of audio) + 1440 keyword clips. */
  full: {
    name: "full",
    seenSpeakers: 60,
    unseenSpeakers: 16,
    uttsPerSeenSpeaker: 28,
    uttsPerUnseenSpeaker: 16,
    commandFraction: 0.5,
    asvTargetTrials: 1000,
    snrDbRange: [5, 30],
    maxSentenceWords: 12,
    keywordUttsPerSeenSpeaker: 24,
    keywordUttsPerUnseenSpeaker: 0,
  },
};

/**
 * A tiny custom profile for unit tests (5 speakers, 26 utterances + 18 keyword clips, about a second to generate):
 * pass it as `ensureCorpus({ profile: TINY_PROFILE, cacheDir })` or to `generateCorpus`.
 */
export const TINY_PROFILE: CorpusProfile = {
  name: "tiny",
  seenSpeakers: 3,
  unseenSpeakers: 2,
  uttsPerSeenSpeaker: 6,
  uttsPerUnseenSpeaker: 4,
  commandFraction: 0.5,
  asvTargetTrials: 6,
  snrDbRange: [5, 30],
  maxSentenceWords: 8,
  keywordUttsPerSeenSpeaker: 6,
  keywordUttsPerUnseenSpeaker: 0,
};

/** `$SUPERB_CACHE_DIR` if set, else `~/.cache/superb`; corpora live in its `corpus/` folder. */
export function defaultCacheDir(): string {
  const env = process.env.SUPERB_CACHE_DIR;
  return env && env.trim() !== "" ? env : join(homedir(), ".cache", "superb");
}

export interface EnsureCorpusOptions {
  /** "quick", "full", or a custom profile (e.g. a tiny one for tests). */
  profile: string | CorpusProfile;
  seed?: number;
  cacheDir?: string;
  progress?: boolean;
  /** Worker threads for synthesis; default min(cores, 4). */
  workers?: number;
}

export interface GenerateOptions {
  progress?: boolean;
  workers?: number;
}

export const DEFAULT_SEED = 1234;

function resolveProfile(profile: string | CorpusProfile): CorpusProfile {
  if (typeof profile !== "string") {
    validateProfile(profile);
    return profile;
  }
  if (profile === "quick" || profile === "full") return PROFILES[profile];
  throw new UserError(`unknown corpus profile "${profile}"; known profiles: ${Object.keys(PROFILES).join(", ")}`);
}

function validateProfile(p: CorpusProfile): void {
  const ints: Array<[string, number, number]> = [
    ["seenSpeakers", p.seenSpeakers, 1],
    ["unseenSpeakers", p.unseenSpeakers, 0],
    ["uttsPerSeenSpeaker", p.uttsPerSeenSpeaker, 3],
    ["uttsPerUnseenSpeaker", p.uttsPerUnseenSpeaker, 0],
    ["asvTargetTrials", p.asvTargetTrials, 0],
    ["maxSentenceWords", p.maxSentenceWords, 3],
    ["keywordUttsPerSeenSpeaker", p.keywordUttsPerSeenSpeaker, 0],
    ["keywordUttsPerUnseenSpeaker", p.keywordUttsPerUnseenSpeaker, 0],
  ];
  for (const [key, v, min] of ints) {
    if (!Number.isInteger(v) || v < min) throw new UserError(`corpus profile ${p.name}: ${key} must be an integer >= ${min}`);
  }
  if (!/^[a-z0-9][a-z0-9-]*$/.test(p.name)) throw new UserError(`corpus profile name "${p.name}" must be lower-case letters, digits and dashes`);
  if (!(p.commandFraction >= 0 && p.commandFraction <= 1)) throw new UserError(`corpus profile ${p.name}: commandFraction must be in [0, 1]`);
  if (!(p.snrDbRange[0] <= p.snrDbRange[1])) throw new UserError(`corpus profile ${p.name}: snrDbRange must be [low, high]`);
}

/** Cache folder name: profile name, a hash of its settings, seed and generator version. */
export function corpusName(profile: CorpusProfile, seed: number): string {
  // Every profile, the built-in ones too, carries a hash of its settings: resizing "quick" must
  // never load a stale cached corpus of the old size.
  return `synth-${profile.name}-${sha256(JSON.stringify(profile)).slice(0, 8)}-s${seed}-v${GENERATOR_VERSION}`;
}

function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

// ---------------------------------------------------------------------------------------------
// Planning

interface PlannedUtt {
  utt: Omit<Utterance, "phonemes" | "durationSec">;
  job: Omit<UttJob, "outPath">;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function splitLabels(rng: Rng, n: number): Split[] {
  const nTest = Math.max(1, Math.round(0.15 * n));
  const nDev = Math.max(1, Math.round(0.15 * n));
  const labels: Split[] = [];
  for (let i = 0; i < n; i++) labels.push(i < nTest ? "test" : i < nTest + nDev ? "dev" : "train");
  return rng.shuffle(labels);
}

function planCorpus(profile: CorpusProfile, seed: number): { speakers: SpeakerProfile[]; planned: PlannedUtt[] } {
  const speakers = makeSpeakers(new Rng(deriveSeed(seed, "speakers")), profile.seenSpeakers, profile.unseenSpeakers);
  const textRng = new Rng(deriveSeed(seed, "text"));
  const planRng = new Rng(deriveSeed(seed, "plan"));
  const intents = allIntents();
  let intentQueue: IntentSlots[] = [];
  const nextIntent = (): IntentSlots => {
    if (intentQueue.length === 0) intentQueue = textRng.shuffle(intents);
    return intentQueue.pop() as IntentSlots;
  };
  const kwRng = new Rng(deriveSeed(seed, "keywords"));
  let unknownQueue: string[] = [];
  const nextUnknownWord = (): string => {
    if (unknownQueue.length === 0) unknownQueue = kwRng.shuffle(KS_UNKNOWN_WORDS);
    return unknownQueue.pop() as string;
  };
  const planned: PlannedUtt[] = [];
  for (const speaker of speakers) {
    const n = speaker.seen ? profile.uttsPerSeenSpeaker : profile.uttsPerUnseenSpeaker;
    const splits: Split[] = speaker.seen ? splitLabels(planRng, n) : new Array<Split>(n).fill("test");
    const nCommands = Math.round(n * profile.commandFraction);
    const kinds = planRng.shuffle(Array.from({ length: n }, (_, i) => i < nCommands));
    for (let k = 0; k < n; k++) {
      const id = `${speaker.id}-${String(k + 1).padStart(3, "0")}`;
      const intent = kinds[k] ? nextIntent() : null;
      const text = intent ? commandText(textRng, intent) : freeSentence(textRng, profile.maxSentenceWords);
      const snrDb = round(planRng.uniform(profile.snrDbRange[0], profile.snrDbRange[1]), 2);
      planned.push({
        utt: { id, path: `wav/${speaker.id}/${id}.wav`, speaker: speaker.id, split: splits[k], text, intent, keyword: null, snrDb },
        job: {
          index: planned.length,
          text,
          voice: jitterVoice(planRng, speaker),
          channel: varyChannel(planRng, speaker.channel, TARGET_SAMPLE_RATE),
          snrDb,
          noiseColour: round(planRng.uniform(0, 0.97), 3),
          noiseSeed: deriveSeed(seed, `noise:${id}`),
          peak: round(planRng.uniform(0.3, 0.95), 3),
          padBeforeSec: round(planRng.uniform(0.05, 0.3), 3),
          padAfterSec: round(planRng.uniform(0.05, 0.3), 3),
          fixedLengthSamples: null,
        },
      });
    }
    planKeywordClips(profile, seed, speaker, kwRng, nextUnknownWord, planned);
  }
  return { speakers, planned };
}

/** Keyword clips last exactly 1 s, like Speech Commands. */
export const KEYWORD_CLIP_SAMPLES = TARGET_SAMPLE_RATE;

/**
 * A speaker's keyword-spotting clips: classes round-robin over a per-speaker shuffle of the 12
 * classes (so counts differ by at most one), splits by splitLabels on their own. Drawn from their
 * own random stream, so the other utterances are the same whatever the keyword settings.
 */
function planKeywordClips(
  profile: CorpusProfile,
  seed: number,
  speaker: SpeakerProfile,
  rng: Rng,
  nextUnknownWord: () => string,
  planned: PlannedUtt[],
): void {
  const n = speaker.seen ? profile.keywordUttsPerSeenSpeaker : profile.keywordUttsPerUnseenSpeaker;
  if (n === 0) return;
  const splits: Split[] = speaker.seen ? splitLabels(rng, n) : new Array<Split>(n).fill("test");
  const classOrder = rng.shuffle(KS_CLASSES);
  for (let k = 0; k < n; k++) {
    const id = `${speaker.id}-ks${String(k + 1).padStart(3, "0")}`;
    const keyword = classOrder[k % classOrder.length];
    const word = keyword === KS_SILENCE ? "" : keyword === KS_UNKNOWN ? nextUnknownWord() : keyword;
    const text = word.toUpperCase();
    const snrDb = round(rng.uniform(profile.snrDbRange[0], profile.snrDbRange[1]), 2);
    planned.push({
      utt: { id, path: `wav/${speaker.id}/${id}.wav`, speaker: speaker.id, split: splits[k], text, intent: null, keyword, snrDb },
      job: {
        index: planned.length,
        text,
        voice: jitterVoice(rng, speaker),
        channel: varyChannel(rng, speaker.channel, TARGET_SAMPLE_RATE),
        snrDb,
        noiseColour: round(rng.uniform(0, 0.97), 3),
        noiseSeed: deriveSeed(seed, `noise:${id}`),
        peak: round(rng.uniform(0.3, 0.95), 3),
        padBeforeSec: 0,
        padAfterSec: 0,
        fixedLengthSamples: KEYWORD_CLIP_SAMPLES,
      },
    });
  }
}

/**
 * Balanced verification trials: `targets` same-speaker pairs (round-robin over speakers) and as
 * many different-speaker pairs (round-robin over speaker pairs), no duplicates, shuffled.
 */
export function makeAsvTrials(rng: Rng, bySpeaker: ReadonlyMap<string, readonly string[]>, targets: number): AsvTrial[] {
  const speakers = [...bySpeaker.keys()].sort();
  if (speakers.length < 2 || targets === 0) return [];
  const orient = (a: string, b: string): [string, string] => (rng.chance(0.5) ? [a, b] : [b, a]);
  const pairLists = speakers.map((s) => {
    const u = bySpeaker.get(s) ?? [];
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < u.length; i++) for (let j = i + 1; j < u.length; j++) pairs.push(orient(u[i], u[j]));
    return rng.shuffle(pairs);
  });
  const available = pairLists.reduce((s, l) => s + l.length, 0);
  const nTarget = Math.min(targets, available);
  const same: AsvTrial[] = [];
  for (let round = 0; same.length < nTarget; round++) {
    for (const list of pairLists) {
      if (same.length >= nTarget) break;
      const pair = list[round];
      if (pair) same.push({ enroll: pair[0], test: pair[1], label: 1 });
    }
  }
  const speakerPairs: Array<[string, string]> = [];
  for (let i = 0; i < speakers.length; i++) for (let j = i + 1; j < speakers.length; j++) speakerPairs.push([speakers[i], speakers[j]]);
  const order = rng.shuffle(speakerPairs);
  const seen = new Set<string>();
  const different: AsvTrial[] = [];
  for (let attempts = 0; different.length < nTarget && attempts < 100 * nTarget + 1000; attempts++) {
    const [sa, sb] = order[attempts % order.length];
    const [a, b] = orient(rng.pick(bySpeaker.get(sa) ?? []), rng.pick(bySpeaker.get(sb) ?? []));
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    if (seen.has(key)) continue;
    seen.add(key);
    different.push({ enroll: a, test: b, label: 0 });
  }
  // Equal numbers of both labels, even if too few different-speaker pairs exist.
  return rng.shuffle([...same.slice(0, different.length), ...different]);
}

// ---------------------------------------------------------------------------------------------
// Rendering

function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), 4));
}

async function renderAll(jobs: UttJob[], workers: number, onDone: () => void): Promise<UttResult[]> {
  const results = new Array<UttResult>(jobs.length);
  const workerUrl = new URL("./synth-worker.js", import.meta.url);
  // Under a TypeScript runner (vitest) only the .ts worker exists; render in-process then.
  const useWorkers = workers > 1 && jobs.length > 16 && existsSync(fileURLToPath(workerUrl));
  if (!useWorkers) {
    const synth = await EspeakSynth.create();
    for (const job of jobs) {
      results[job.index] = renderUtterance(synth, job);
      onDone();
      if (job.index % 8 === 7) await new Promise((r) => setImmediate(r)); // let the progress bar draw
    }
    return results;
  }
  const batch = 4;
  let next = 0;
  const pool = Array.from({ length: Math.min(workers, Math.ceil(jobs.length / batch)) }, () => new Worker(workerUrl));
  try {
    await new Promise<void>((resolve, reject) => {
      let finished = 0;
      const outstanding = new Map<Worker, number>();
      const feed = (w: Worker) => {
        const slice = jobs.slice(next, next + batch);
        next += slice.length;
        outstanding.set(w, slice.length);
        if (slice.length > 0) w.postMessage(slice);
      };
      for (const w of pool) {
        w.on("message", (reply: WorkerReply) => {
          if (!reply.ok) {
            reject(new Error(`synthesis of utterance ${reply.index} failed: ${reply.error}`));
            return;
          }
          results[reply.result.index] = reply.result;
          finished++;
          onDone();
          if (finished === jobs.length) resolve();
          const left = (outstanding.get(w) ?? 1) - 1;
          outstanding.set(w, left);
          if (left === 0) feed(w);
        });
        w.on("error", reject);
        w.on("exit", (code) => {
          if (finished < jobs.length) reject(new Error(`synthesis worker exited early (code ${code})`));
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return results;
}

/** Generates a corpus into `dir` (created if needed); manifest.json is written last. */
export async function generateCorpus(dir: string, profile: CorpusProfile, seed: number = DEFAULT_SEED, opts: GenerateOptions = {}): Promise<Corpus> {
  validateProfile(profile);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UserError(`corpus seed must be an integer in [0, 2^32): ${seed}`);
  mkdirSync(dir, { recursive: true });
  const { speakers, planned } = planCorpus(profile, seed);
  const jobs: UttJob[] = planned.map((p) => ({ ...p.job, outPath: join(dir, p.utt.path) }));
  const progress = startProgress({ label: "synthesising corpus", total: jobs.length, unit: "utt", enabled: opts.progress });
  let results: UttResult[];
  try {
    results = await renderAll(jobs, opts.workers ?? defaultWorkers(), () => progress.increment());
  } finally {
    progress.stop();
  }
  const utterances: Utterance[] = planned.map((p, i) => ({
    id: p.utt.id,
    path: p.utt.path,
    speaker: p.utt.speaker,
    split: p.utt.split,
    text: p.utt.text,
    phonemes: results[i].phonemes,
    intent: p.utt.intent,
    keyword: p.utt.keyword,
    durationSec: round(results[i].numSamples / TARGET_SAMPLE_RATE, 4),
    snrDb: p.utt.snrDb,
  }));
  // ASV trials pair full utterances of unseen speakers; 1 s keyword clips are not used.
  const unseen = new Map<string, string[]>();
  for (const u of utterances) {
    if (u.keyword === null && !speakers.find((s) => s.id === u.speaker)?.seen) unseen.set(u.speaker, [...(unseen.get(u.speaker) ?? []), u.id]);
  }
  const manifest: CorpusManifest = {
    name: corpusName(profile, seed),
    profile: profile.name,
    seed,
    generatorVersion: GENERATOR_VERSION,
    sampleRate: TARGET_SAMPLE_RATE,
    phoneSet: [...PHONE_SET],
    charSet: [...CHAR_SET],
    intentSlots: { action: [...INTENT_SLOTS.action], object: [...INTENT_SLOTS.object], location: [...INTENT_SLOTS.location] },
    ksClasses: [...KS_CLASSES],
    speakers,
    utterances,
    asvTrials: makeAsvTrials(new Rng(deriveSeed(seed, "trials")), unseen, profile.asvTargetTrials),
    totalDurationSec: round(utterances.reduce((s, u) => s + u.durationSec, 0), 2),
  };
  const bytes = serializeManifest(manifest);
  const file = join(dir, "manifest.json");
  writeFileSync(file + ".part", bytes);
  renameSync(file + ".part", file);
  return { dir, manifest, hash: sha256(bytes).slice(0, 16) };
}

/** Stable, diff-friendly JSON: one speaker, utterance or trial per line. */
function serializeManifest(m: CorpusManifest): string {
  const lines: string[] = ["{"];
  const entries = Object.entries(m) as Array<[string, unknown]>;
  entries.forEach(([key, value], i) => {
    const comma = i < entries.length - 1 ? "," : "";
    if (Array.isArray(value) && (key === "speakers" || key === "utterances" || key === "asvTrials")) {
      lines.push(`  ${JSON.stringify(key)}: [`);
      value.forEach((item, j) => lines.push(`    ${JSON.stringify(item)}${j < value.length - 1 ? "," : ""}`));
      lines.push(`  ]${comma}`);
    } else {
      lines.push(`  ${JSON.stringify(key)}: ${JSON.stringify(value)}${comma}`);
    }
  });
  lines.push("}");
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// Cache

/** True if a process with this pid is running (so its temporary folder may still be in use). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes temporary folders of this corpus left by killed generations. */
function removeStaleTemps(root: string, name: string): void {
  const prefix = `.tmp-${name}-`;
  for (const entry of readdirSync(root)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length).split("-")[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
      rmSync(join(root, entry), { recursive: true, force: true });
    }
  }
}

/**
 * Returns the corpus for (profile, seed), generating it on first use into
 * `<cacheDir>/corpus/<name>`. Generation happens in a temporary sibling folder that is renamed
 * into place only when complete, so an interrupted run never leaves a corpus that looks complete.
 */
export async function ensureCorpus(opts: EnsureCorpusOptions): Promise<Corpus> {
  const profile = resolveProfile(opts.profile);
  const seed = opts.seed ?? DEFAULT_SEED;
  const root = join(opts.cacheDir ?? defaultCacheDir(), "corpus");
  const name = corpusName(profile, seed);
  const dir = join(root, name);
  if (existsSync(join(dir, "manifest.json"))) return loadCorpus(dir);
  mkdirSync(root, { recursive: true });
  removeStaleTemps(root, name);
  const tmp = join(root, `.tmp-${name}-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await generateCorpus(tmp, profile, seed, { progress: opts.progress, workers: opts.workers });
    if (existsSync(dir) && !existsSync(join(dir, "manifest.json"))) rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another process published the same corpus first; its content is identical.
      if (!existsSync(join(dir, "manifest.json"))) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return loadCorpus(dir);
}

// ---------------------------------------------------------------------------------------------
// Loading

class ManifestProblem extends Error {}

function fail(problem: string): never {
  throw new ManifestProblem(problem);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string" || v === "") fail(`${where} must be a non-empty string`);
  return v;
}

function num(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(`${where} must be a number`);
  return v;
}

function strArray(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) fail(`${where} must be an array of strings`);
  return v as string[];
}

function arr(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) fail(`${where} must be an array`);
  return v;
}

function rec(v: unknown, where: string): Record<string, unknown> {
  if (!isRecord(v)) fail(`${where} must be an object`);
  return v;
}

function validateManifest(raw: unknown, dir: string): CorpusManifest {
  const m = rec(raw, "the manifest");
  str(m.name, "name");
  str(m.profile, "profile");
  num(m.seed, "seed");
  num(m.generatorVersion, "generatorVersion");
  if (num(m.sampleRate, "sampleRate") !== TARGET_SAMPLE_RATE) fail(`sampleRate must be ${TARGET_SAMPLE_RATE}`);
  const phoneSet = new Set(strArray(m.phoneSet, "phoneSet"));
  const charSet = strArray(m.charSet, "charSet");
  const ksClasses = strArray(m.ksClasses, "ksClasses");
  if (ksClasses.join(",") !== KS_CLASSES.join(",")) fail(`ksClasses must be ${JSON.stringify(KS_CLASSES)}`);
  const ksSet = new Set(ksClasses);
  const slots = rec(m.intentSlots, "intentSlots");
  const slotSets = {
    action: new Set(strArray(slots.action, "intentSlots.action")),
    object: new Set(strArray(slots.object, "intentSlots.object")),
    location: new Set(strArray(slots.location, "intentSlots.location")),
  };
  const speakerSeen = new Map<string, boolean>();
  arr(m.speakers, "speakers").forEach((s, i) => {
    const where = `speakers[${i}]`;
    const sp = rec(s, where);
    const id = str(sp.id, `${where}.id`);
    if (typeof sp.seen !== "boolean") fail(`${where}.seen must be a boolean`);
    str(sp.accent, `${where}.accent`);
    str(sp.variant, `${where}.variant`);
    num(sp.pitch, `${where}.pitch`);
    num(sp.pitchRange, `${where}.pitchRange`);
    num(sp.rate, `${where}.rate`);
    const ch = rec(sp.channel, `${where}.channel`);
    num(ch.lowCutHz, `${where}.channel.lowCutHz`);
    num(ch.highCutHz, `${where}.channel.highCutHz`);
    num(ch.tiltDb, `${where}.channel.tiltDb`);
    if (speakerSeen.has(id)) fail(`${where}.id "${id}" is duplicated`);
    speakerSeen.set(id, sp.seen);
  });
  const charRe = new RegExp(`^[${charSet.map((c) => c.replace(/[\]\\^-]/g, "\\$&")).join("")}]*$`);
  const uttIds = new Set<string>();
  arr(m.utterances, "utterances").forEach((x, i) => {
    const where = `utterances[${i}]`;
    const u = rec(x, where);
    const id = str(u.id, `${where}.id`);
    if (uttIds.has(id)) fail(`${where}.id "${id}" is duplicated`);
    uttIds.add(id);
    const path = str(u.path, `${where}.path`);
    const speaker = str(u.speaker, `${where}.speaker`);
    if (!speakerSeen.has(speaker)) fail(`${where}.speaker "${speaker}" is not in speakers`);
    if (u.split !== "train" && u.split !== "dev" && u.split !== "test") fail(`${where}.split must be train, dev or test`);
    if (!speakerSeen.get(speaker) && u.split !== "test") fail(`${where}: unseen speaker ${speaker} in split ${u.split}`);
    let keyword: string | null = null;
    if (u.keyword !== null) {
      if (typeof u.keyword !== "string" || !ksSet.has(u.keyword)) {
        fail(`${where}.keyword ${u.keyword === undefined ? "is missing" : JSON.stringify(u.keyword) + " is not null or one of ksClasses"}`);
      }
      keyword = u.keyword;
      if (u.intent !== null) fail(`${where}: a keyword clip must have intent null`);
    }
    const silence = keyword === KS_SILENCE;
    if (typeof u.text !== "string") fail(`${where}.text must be a string`);
    const text = u.text;
    if (silence ? text !== "" : text === "") fail(silence ? `${where}.text must be "" for a ${KS_SILENCE} clip` : `${where}.text must be a non-empty string`);
    if (!charRe.test(text)) fail(`${where}.text has characters outside charSet`);
    if (keyword !== null && KS_KEYWORDS.includes(keyword) && text !== keyword.toUpperCase()) fail(`${where}.text "${text}" is not its keyword "${keyword}"`);
    if (keyword === KS_UNKNOWN && (!/^[A-Z']+$/.test(text) || KS_KEYWORDS.includes(text.toLowerCase()))) fail(`${where}.text "${text}" must be one non-keyword word for a ${KS_UNKNOWN} clip`);
    const phones = strArray(u.phonemes, `${where}.phonemes`);
    if (silence ? phones.length > 0 : phones.length === 0) fail(silence ? `${where}.phonemes must be empty for a ${KS_SILENCE} clip` : `${where}.phonemes is empty`);
    const bad = phones.find((p) => !phoneSet.has(p));
    if (bad !== undefined) fail(`${where}.phonemes has "${bad}", which is not in phoneSet`);
    if (u.intent !== null) {
      const it = rec(u.intent, `${where}.intent`);
      for (const k of ["action", "object", "location"] as const) {
        if (!slotSets[k].has(str(it[k], `${where}.intent.${k}`))) fail(`${where}.intent.${k} "${String(it[k])}" is not in intentSlots.${k}`);
      }
    }
    if (num(u.durationSec, `${where}.durationSec`) <= 0) fail(`${where}.durationSec must be positive`);
    num(u.snrDb, `${where}.snrDb`);
    if (path.includes("..") || path.startsWith("/") || !existsSync(join(dir, path))) fail(`${where}.path "${path}" does not exist in the corpus folder`);
  });
  arr(m.asvTrials, "asvTrials").forEach((x, i) => {
    const where = `asvTrials[${i}]`;
    const t = rec(x, where);
    for (const k of ["enroll", "test"] as const) {
      if (!uttIds.has(str(t[k], `${where}.${k}`))) fail(`${where}.${k} "${String(t[k])}" is not an utterance id`);
    }
    if (t.label !== 0 && t.label !== 1) fail(`${where}.label must be 0 or 1`);
  });
  num(m.totalDurationSec, "totalDurationSec");
  return m as unknown as CorpusManifest;
}

/** Loads and validates `<dir>/manifest.json`; problems become one-line UserErrors naming the file. */
export async function loadCorpus(dir: string): Promise<Corpus> {
  const file = join(dir, "manifest.json");
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new UserError(`corpus manifest ${file} not found (generate the corpus first, or check the folder)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new UserError(`corpus manifest ${file}: invalid JSON (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`);
  }
  try {
    const manifest = validateManifest(raw, dir);
    return { dir, manifest, hash: sha256(bytes).slice(0, 16) };
  } catch (err) {
    if (err instanceof ManifestProblem) throw new UserError(`corpus manifest ${file}: ${err.message}`);
    throw err;
  }
}

/** Reads an utterance's audio as 16 kHz mono samples in [-1, 1). */
export function loadUtteranceAudio(corpus: Corpus, utt: Utterance): Float32Array {
  const file = join(corpus.dir, utt.path);
  const { sampleRate, samples } = readWav(file);
  if (sampleRate !== corpus.manifest.sampleRate) throw new UserError(`${file}: sample rate ${sampleRate}, expected ${corpus.manifest.sampleRate}`);
  return samples;
}
