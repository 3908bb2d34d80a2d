import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readWav } from "../src/audio.js";
import { UserError } from "../src/errors.js";
import {
  addNoise,
  applyBiquad,
  biquadGain,
  colourChannel,
  highPass,
  highShelf,
  lowPass,
  peakNormalize,
} from "../src/corpus/augment.js";
import {
  PROFILES,
  TINY_PROFILE,
  corpusName,
  defaultCacheDir,
  ensureCorpus,
  generateCorpus,
  loadCorpus,
  loadUtteranceAudio,
  makeAsvTrials,
  type CorpusProfile,
} from "../src/corpus/generate.js";
import { Rng } from "../src/random.js";
import { centreInFrame } from "../src/corpus/render.js";
import { ACCENTS, EspeakSynth, PHONE_SET, parseEspeakPhonemes } from "../src/corpus/synth.js";
import {
  CHAR_SET,
  INTENT_SLOTS,
  KS_CLASSES,
  KS_KEYWORDS,
  KS_UNKNOWN_WORDS,
  allCommandPhrasings,
  allIntents,
  commandText,
  freeSentence,
  freeSentenceVocabulary,
  normalizeTranscript,
} from "../src/corpus/text.js";
import type { Corpus, Utterance } from "../src/corpus/types.js";

const TINY: CorpusProfile = TINY_PROFILE;

const TRANSCRIPT = /^[A-Z']+( [A-Z']+)*$/;

const isKeywordClip = (u: Utterance) => u.keyword !== null;
const sentencesOf = (us: readonly Utterance[]) => us.filter((u) => !isKeywordClip(u));
const keywordClipsOf = (us: readonly Utterance[]) => us.filter(isKeywordClip);
const rmsDb = (x: Float32Array) => 10 * Math.log10(x.reduce((s, v) => s + v * v, 0) / x.length);

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "superb-corpus-test-"));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe("text", () => {
  it("normalises transcripts", () => {
    expect(normalizeTranscript("  Turn on, the kitchen-lights!  It's 'fine' ")).toBe("TURN ON THE KITCHEN LIGHTS IT'S FINE");
    expect(CHAR_SET).toContain(" ");
    expect(CHAR_SET).toHaveLength(28);
  });

  it("generates normalised commands for every intent and varied free sentences", () => {
    const rng = new Rng(1);
    for (const intent of allIntents()) {
      expect(INTENT_SLOTS.action).toContain(intent.action);
      expect(INTENT_SLOTS.object).toContain(intent.object);
      expect(INTENT_SLOTS.location).toContain(intent.location);
      expect(commandText(rng, intent)).toMatch(TRANSCRIPT);
    }
    expect(allIntents().length).toBeGreaterThanOrEqual(30);
    expect(allCommandPhrasings().length).toBeGreaterThan(150);
    const sentences = Array.from({ length: 200 }, () => freeSentence(rng, 10));
    for (const s of sentences) {
      expect(s).toMatch(TRANSCRIPT);
      expect(s.split(" ").length).toBeLessThanOrEqual(10);
    }
    expect(new Set(sentences).size).toBeGreaterThan(190);
    expect(freeSentenceVocabulary().length).toBeGreaterThan(300);
    expect(freeSentence(new Rng(9))).toBe(freeSentence(new Rng(9)));
  });
});

describe("augment", () => {
  it("low-pass at fs/4 has the hand-computed RBJ coefficients and -3 dB at the cut-off", () => {
    // w0 = pi/2: cos = 0, alpha = 1/(2Q) = 0.70711; b = (0.5, 1, 0.5)/1.70711, a2 = 0.29289/1.70711
    const f = lowPass(4000, 16000);
    expect(f.b0).toBeCloseTo(0.292893, 5);
    expect(f.b1).toBeCloseTo(0.585786, 5);
    expect(f.b2).toBeCloseTo(0.292893, 5);
    expect(f.a1).toBeCloseTo(0, 9);
    expect(f.a2).toBeCloseTo(0.171573, 5);
    expect(biquadGain(f, 4000, 16000)).toBeCloseTo(Math.SQRT1_2, 6);
    // Steady-state amplitude of a filtered 4 kHz sine: with 4 samples per period, amplitude =
    // sqrt(2 * mean square) whatever the phase shift.
    const x = new Float32Array(4000).map((_, n) => Math.sin((Math.PI / 2) * n + 0.3));
    const tail = applyBiquad(x, f).subarray(3000);
    const meanSquare = tail.reduce((s, v) => s + v * v, 0) / tail.length;
    expect(Math.sqrt(2 * meanSquare)).toBeCloseTo(Math.SQRT1_2, 3);
  });

  it("high-pass removes DC and high shelf gives 0 dB at DC, gain at Nyquist", () => {
    expect(biquadGain(highPass(100, 16000), 0, 16000)).toBeCloseTo(0, 9);
    expect(biquadGain(highPass(100, 16000), 100, 16000)).toBeCloseTo(Math.SQRT1_2, 6);
    const shelf = highShelf(1000, 16000, 6);
    expect(biquadGain(shelf, 0, 16000)).toBeCloseTo(1, 6);
    expect(biquadGain(shelf, 8000, 16000)).toBeCloseTo(1.995262, 5); // 10^(6/20)
    // An alternating +-1 sequence is the Nyquist tone.
    const alt = new Float32Array(2000).map((_, n) => (n % 2 ? -1 : 1));
    expect(Math.abs(applyBiquad(alt, shelf)[1999])).toBeCloseTo(1.995262, 3);
    const dc = colourChannel(new Float32Array(16000).fill(1), 16000, { lowCutHz: 100, highCutHz: 5000, tiltDb: 3 });
    expect(Math.abs(dc[15999])).toBeLessThan(1e-3);
  });

  it("adds noise at the exact SNR and normalises the peak", () => {
    // signal power 1, noise power 1, SNR 20 dB -> noise scaled by 0.1
    const y = addNoise(new Float32Array([1, -1, 1, -1]), new Float32Array([1, 1, 1, 1]), 20);
    expect(Array.from(y)).toEqual([1.1, -0.9, 1.1, -0.9].map(Math.fround));
    expect(Array.from(peakNormalize(new Float32Array([0.5, -0.25, 0.1]), 0.9))).toEqual([0.9, -0.45, 0.18].map(Math.fround));
    expect(Array.from(peakNormalize(new Float32Array(3), 0.9))).toEqual([0, 0, 0]);
  });
});

describe("keyword clip framing", () => {
  it("centres the audible part in a fixed frame and crops long words about their centre", () => {
    const word = new Float32Array([0, 0, 0, 0.5, 1, 0.5, 0, 0]);
    expect(Array.from(centreInFrame(word, 7))).toEqual([0, 0, 0.5, 1, 0.5, 0, 0]);
    expect(Array.from(centreInFrame(word, 6))).toEqual([0, 0.5, 1, 0.5, 0, 0]);
    const long = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
    expect(Array.from(centreInFrame(long, 4))).toEqual([3, 4, 5, 6]);
    expect(Array.from(centreInFrame(new Float32Array(5), 3))).toEqual([0, 0, 0]);
  });
});

describe("eSpeak synthesis", () => {
  it("maps eSpeak phoneme output into the phone set and rejects unknown tokens", () => {
    expect(parseEspeakPhonemes("D|@2 k|w|'I|k  b|r|,aU|n _: l|'I|t#|@L\n")).toEqual(
      ["D", "@", "k", "w", "I", "k", "b", "r", "aU", "n", "l", "I", "t", "@", "l"],
    );
    expect(() => parseEspeakPhonemes("h|'x9|l")).toThrow(/x9/);
  });

  it("synthesises deterministically at 16 kHz, independent of previous runs", async () => {
    const synth = await EspeakSynth.create();
    const voice = { accent: "en-gb-scotland", variant: "f2", pitch: 60, pitchRange: 40, rate: 160 };
    const a = synth.synthesize("bring me my socks", voice);
    synth.synthesize("a completely different sentence", { accent: "en-029", variant: "m7", pitch: 20, pitchRange: 80, rate: 200 });
    const b = synth.synthesize("bring me my socks", voice);
    expect(Buffer.from(a.samples.buffer).equals(Buffer.from(b.samples.buffer))).toBe(true);
    expect(a.samples.length / 16000).toBeGreaterThan(0.6);
    expect(a.samples.length / 16000).toBeLessThan(2.5);
    expect(a.phonemes.length).toBeGreaterThan(8);
    expect(() => synth.synthesize("hello", { ...voice, accent: "en-xx" })).toThrow(/accent/);
  });

  it("knows every phoneme of the whole vocabulary in every accent", async () => {
    const synth = await EspeakSynth.create();
    const text = [...freeSentenceVocabulary(), ...allCommandPhrasings(), ...KS_KEYWORDS, ...KS_UNKNOWN_WORDS].join(" ").toLowerCase().replace(/[^a-z' ]/g, " ").replace(/\s+/g, " ").trim();
    const phones = new Set(PHONE_SET);
    for (const accent of ACCENTS) {
      const r = synth.synthesize(text, { accent: accent.code, variant: "m1", pitch: 50, pitchRange: 50, rate: 400 });
      expect(r.phonemes.every((p) => phones.has(p))).toBe(true);
    }
  });
});

describe("corpus generation", () => {
  it("is byte-identical for the same seed and differs for another seed", async () => {
    const a = await generateCorpus(join(work, "a"), TINY, 5);
    const b = await generateCorpus(join(work, "b"), TINY, 5);
    expect(a.hash).toBe(b.hash);
    expect(readFileSync(join(work, "a", "manifest.json")).equals(readFileSync(join(work, "b", "manifest.json")))).toBe(true);
    expect(keywordClipsOf(a.manifest.utterances)).toHaveLength(18);
    for (const u of a.manifest.utterances) {
      expect(readFileSync(join(work, "a", u.path)).equals(readFileSync(join(work, "b", u.path)))).toBe(true);
    }
    const c = await generateCorpus(join(work, "c"), TINY, 6);
    expect(c.hash).not.toBe(a.hash);
  });

  it("builds balanced ASV trials from the given speakers only", () => {
    const by = new Map([["x", ["x1", "x2", "x3"]], ["y", ["y1", "y2", "y3"]], ["z", ["z1", "z2"]]]);
    const trials = makeAsvTrials(new Rng(3), by, 5);
    expect(trials.filter((t) => t.label === 1)).toHaveLength(5);
    expect(trials.filter((t) => t.label === 0)).toHaveLength(5);
    for (const t of trials) expect(t.enroll[0] === t.test[0]).toBe(t.label === 1);
    expect(makeAsvTrials(new Rng(3), by, 5)).toEqual(trials);
  });

  describe("quick profile through the cache", () => {
    let corpus: Corpus;
    const cacheDir = () => join(work, "cache");

    beforeAll(async () => {
      // A killed earlier run: its temporary folder must be cleaned up and never used.
      const root = join(cacheDir(), "corpus");
      mkdirSync(join(root, `.tmp-${corpusName(PROFILES.quick, 1234)}-999999-dead`, "wav"), { recursive: true });
      corpus = await ensureCorpus({ profile: "quick", cacheDir: cacheDir(), progress: false });
    }, 180_000);

    it("has the documented size and leaves no temporary folders", () => {
      const m = corpus.manifest;
      expect(m.name).toMatch(/^synth-quick-[0-9a-f]{8}-s1234-v3$/);
      const q = PROFILES.quick;
      expect(m.speakers.filter((s) => s.seen)).toHaveLength(q.seenSpeakers);
      expect(m.speakers.filter((s) => !s.seen)).toHaveLength(q.unseenSpeakers);
      const sentenceCount = q.seenSpeakers * q.uttsPerSeenSpeaker + q.unseenSpeakers * q.uttsPerUnseenSpeaker;
      expect(m.utterances).toHaveLength(sentenceCount + q.seenSpeakers * q.keywordUttsPerSeenSpeaker + q.unseenSpeakers * q.keywordUttsPerUnseenSpeaker);
      expect(sentencesOf(m.utterances)).toHaveLength(sentenceCount);
      expect(m.ksClasses).toEqual([...KS_CLASSES]);
      expect(m.ksClasses).toEqual(["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_unknown_", "_silence_"]);
      expect(readdirSync(join(cacheDir(), "corpus"))).toEqual([m.name]);
      const sentences = sentencesOf(m.utterances);
      const commands = sentences.filter((u) => u.intent !== null).length;
      expect(commands / sentences.length).toBeCloseTo(q.commandFraction, 1);
      expect(keywordClipsOf(m.utterances).every((u) => u.intent === null)).toBe(true);
      const durations = sentences.map((u) => u.durationSec).sort((a, b) => a - b);
      expect(durations[Math.floor(durations.length * 0.2)]).toBeGreaterThan(1.5);
      expect(durations[Math.floor(durations.length * 0.8)]).toBeLessThan(3.2);
    });

    it("keeps unseen speakers out of train/dev and splits seen speakers about 70/15/15", () => {
      const m = corpus.manifest;
      const seen = new Set(m.speakers.filter((s) => s.seen).map((s) => s.id));
      for (const u of m.utterances) if (!seen.has(u.speaker)) expect(u.split).toBe("test");
      for (const id of seen) {
        // Sentences and keyword clips are each split on their own.
        for (const part of [sentencesOf, keywordClipsOf]) {
          const mine = part(m.utterances).filter((u) => u.speaker === id);
          const count = (s: string) => mine.filter((u) => u.split === s).length;
          expect(mine.length).toBeGreaterThan(0);
          expect(count("train") / mine.length).toBeCloseTo(0.7, 1);
          expect(count("dev") / mine.length).toBeCloseTo(0.15, 1);
          expect(count("test") / mine.length).toBeCloseTo(0.15, 1);
        }
      }
    });

    it("has balanced ASV trials among unseen speakers only", () => {
      const m = corpus.manifest;
      const speakerOf = new Map(m.utterances.map((u) => [u.id, u.speaker]));
      const seen = new Set(m.speakers.filter((s) => s.seen).map((s) => s.id));
      const pos = m.asvTrials.filter((t) => t.label === 1).length;
      expect(pos).toBe(PROFILES.quick.asvTargetTrials);
      expect(m.asvTrials).toHaveLength(2 * PROFILES.quick.asvTargetTrials);
      for (const t of m.asvTrials) {
        const a = speakerOf.get(t.enroll) as string, b = speakerOf.get(t.test) as string;
        expect(seen.has(a) || seen.has(b)).toBe(false);
        expect(a === b).toBe(t.label === 1);
        expect(t.enroll).not.toBe(t.test);
      }
    });

    it("has labels within the declared sets", () => {
      const m = corpus.manifest;
      const phones = new Set(m.phoneSet);
      expect(m.phoneSet).toEqual([...PHONE_SET]);
      for (const u of m.utterances) {
        if (u.keyword === "_silence_") continue;
        expect(u.text).toMatch(TRANSCRIPT);
        expect(u.phonemes.length).toBeGreaterThan(0);
        expect(u.phonemes.every((p) => phones.has(p))).toBe(true);
        if (u.intent) expect(m.intentSlots.action).toContain(u.intent.action);
        expect(u.snrDb).toBeGreaterThanOrEqual(5);
        expect(u.snrDb).toBeLessThanOrEqual(30);
      }
    });

    it("stores 16 kHz mono 16-bit WAVs matching the manifest durations", () => {
      for (const u of sentencesOf(corpus.manifest.utterances).slice(0, 40)) {
        const bytes = readFileSync(join(corpus.dir, u.path));
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        expect(view.getUint16(22, true)).toBe(1); // channels
        expect(view.getUint32(24, true)).toBe(16000);
        expect(view.getUint16(34, true)).toBe(16); // bits
        const samples = loadUtteranceAudio(corpus, u);
        expect(samples.length / 16000).toBeCloseTo(u.durationSec, 3);
        expect(u.durationSec).toBeGreaterThan(0.8);
        expect(u.durationSec).toBeLessThan(6);
        expect(Math.max(...samples.map(Math.abs))).toBeGreaterThan(0.25);
      }
    });

    it("has keyword clips of exactly 1 s at 16 kHz, the word centred, silence as quiet noise", () => {
      const clips = keywordClipsOf(corpus.manifest.utterances);
      expect(clips).toHaveLength(PROFILES.quick.seenSpeakers * PROFILES.quick.keywordUttsPerSeenSpeaker);
      for (const u of clips) {
        expect(u.durationSec).toBe(1);
        const { sampleRate, samples } = readWav(join(corpus.dir, u.path));
        expect(sampleRate).toBe(16000);
        expect(samples.length).toBe(16000);
        if (u.keyword === "_silence_") {
          // Background noise only: at the level of a word clip's background, far below a word.
          expect(rmsDb(samples)).toBeGreaterThan(-60);
          expect(rmsDb(samples)).toBeLessThan(-20);
          continue;
        }
        expect(Math.max(...samples.map(Math.abs))).toBeGreaterThan(0.25);
        if (u.snrDb >= 15) {
          // The word's energy is in the middle of the frame, not at an edge.
          let e = 0, et = 0;
          samples.forEach((v, i) => { e += v * v; et += v * v * i; });
          expect(et / e / 16000).toBeGreaterThan(0.3);
          expect(et / e / 16000).toBeLessThan(0.7);
          const edge = rmsDb(samples.subarray(0, 800));
          expect(edge).toBeLessThan(rmsDb(samples) - 6);
        }
      }
    });

    it("balances the KS classes per speaker, with the spoken word as text and silence empty", () => {
      const m = corpus.manifest;
      const unknownWords = new Set(KS_UNKNOWN_WORDS.map((w) => w.toUpperCase()));
      for (const s of m.speakers.filter((sp) => sp.seen)) {
        const mine = keywordClipsOf(m.utterances).filter((u) => u.speaker === s.id);
        expect(mine).toHaveLength(PROFILES.quick.keywordUttsPerSeenSpeaker);
        const counts = m.ksClasses.map((c) => mine.filter((u) => u.keyword === c).length);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }
      for (const u of keywordClipsOf(m.utterances)) {
        expect(m.ksClasses).toContain(u.keyword);
        if (u.keyword === "_silence_") {
          expect(u.text).toBe("");
          expect(u.phonemes).toEqual([]);
        } else if (u.keyword === "_unknown_") {
          expect(unknownWords.has(u.text)).toBe(true);
          expect(u.phonemes.length).toBeGreaterThan(0);
        } else {
          expect(u.text).toBe((u.keyword as string).toUpperCase());
          expect(u.phonemes.length).toBeGreaterThan(0);
        }
      }
      // Only silence clips have an empty text or no phonemes.
      for (const u of m.utterances) expect(u.text === "").toBe(u.keyword === "_silence_");
      for (const u of m.utterances) expect(u.phonemes.length === 0).toBe(u.keyword === "_silence_");
      for (const u of sentencesOf(m.utterances)) expect(u.keyword).toBeNull();
      // Same word, same voice settings aside: different speakers' "yes" differ in audio.
      const yes = keywordClipsOf(m.utterances).filter((u) => u.keyword === "yes").map((u) => readFileSync(join(corpus.dir, u.path)));
      expect(new Set(yes.map((b) => b.toString("base64"))).size).toBe(yes.length);
    });

    it("is loaded from the cache the second time", async () => {
      const t0 = Date.now();
      const again = await ensureCorpus({ profile: "quick", cacheDir: cacheDir() });
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(again.hash).toBe(corpus.hash);
    });
  });

  it("rejects unknown profiles and malformed manifests with one-line user errors", async () => {
    await expect(ensureCorpus({ profile: "huge", cacheDir: work })).rejects.toThrow(UserError);
    await expect(ensureCorpus({ profile: "huge", cacheDir: work })).rejects.toThrow(/quick, full/);
    const dir = join(work, "bad");
    const good = await generateCorpus(dir, TINY, 5);
    const file = join(dir, "manifest.json");
    const m = JSON.parse(readFileSync(file, "utf8"));
    const original = structuredClone(m);
    m.utterances[1].phonemes = ["p", "QQ"];
    writeFileSync(file, JSON.stringify(m));
    const err = await loadCorpus(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/utterances\[1\]\.phonemes.*QQ/);
    expect((err as Error).message).not.toContain("\n");
    // Keyword values: a class outside ksClasses, a missing field, text on a silence clip.
    const ks = original.utterances.findIndex((u: Utterance) => u.keyword !== null && u.keyword !== "_silence_");
    expect(ks).toBeGreaterThanOrEqual(0);
    const expectRejected = async (edit: (x: typeof m) => void, pattern: RegExp) => {
      const x = structuredClone(original);
      edit(x);
      writeFileSync(file, JSON.stringify(x));
      const e = await loadCorpus(dir).catch((caught: unknown) => caught);
      expect(e).toBeInstanceOf(UserError);
      expect((e as Error).message).toContain(file);
      expect((e as Error).message).toMatch(pattern);
      expect((e as Error).message).not.toContain("\n");
    };
    await expectRejected((x) => { x.utterances[ks].keyword = "maybe"; }, new RegExp(`utterances\\[${ks}\\]\\.keyword "maybe"`));
    await expectRejected((x) => { delete x.utterances[1].keyword; }, /utterances\[1\]\.keyword is missing/);
    await expectRejected((x) => { x.utterances[ks].keyword = "_silence_"; }, new RegExp(`utterances\\[${ks}\\]\\.text must be ""`));
    await expectRejected((x) => { x.utterances[0].text = ""; }, /utterances\[0\]\.text must be a non-empty string/);
    await expectRejected((x) => { x.ksClasses = ["yes", "no"]; }, /ksClasses must be/);
    writeFileSync(file, JSON.stringify(original));
    await expect(loadCorpus(dir)).resolves.toBeDefined();
    writeFileSync(file, "{ not json");
    await expect(loadCorpus(dir)).rejects.toThrow(/invalid JSON/);
    expect(good.hash).toHaveLength(16);
  });

  it("caches custom profiles under a name that includes their settings", async () => {
    const c = await ensureCorpus({ profile: TINY, seed: 5, cacheDir: join(work, "cache-tiny") });
    expect(c.manifest.name).toMatch(/^synth-tiny-[0-9a-f]{8}-s5-v3$/);
    expect(c.dir).toBe(join(work, "cache-tiny", "corpus", c.manifest.name));
    expect(c.manifest.utterances).toHaveLength(26 + 18);
    const other = corpusName({ ...TINY, uttsPerSeenSpeaker: 7 }, 5);
    expect(other).not.toBe(c.manifest.name);
    expect(corpusName({ ...TINY, keywordUttsPerSeenSpeaker: 7 }, 5)).not.toBe(c.manifest.name);
  });

  it("validates the keyword counts of a profile", async () => {
    for (const bad of [-1, 1.5]) {
      for (const key of ["keywordUttsPerSeenSpeaker", "keywordUttsPerUnseenSpeaker"] as const) {
        const err = await ensureCorpus({ profile: { ...TINY, [key]: bad }, cacheDir: work }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UserError);
        expect((err as Error).message).toMatch(new RegExp(`${key} must be an integer >= 0`));
      }
    }
  });

  it("gives unseen speakers' keyword clips to test, keeps keyword clips out of ASV trials and the sentences unchanged", async () => {
    const withUnseen = await generateCorpus(join(work, "kw-unseen"), { ...TINY, name: "tiny-kw", keywordUttsPerUnseenSpeaker: 13 }, 5);
    const m = withUnseen.manifest;
    const unseen = new Set(m.speakers.filter((s) => !s.seen).map((s) => s.id));
    const clips = keywordClipsOf(m.utterances);
    expect(clips).toHaveLength(3 * 6 + 2 * 13);
    for (const s of unseen) {
      const mine = clips.filter((u) => u.speaker === s);
      expect(mine).toHaveLength(13);
      expect(mine.every((u) => u.split === "test")).toBe(true);
      expect(new Set(mine.map((u) => u.keyword)).size).toBe(12);
    }
    const kwIds = new Set(clips.map((u) => u.id));
    expect(m.asvTrials.length).toBeGreaterThan(0);
    for (const t of m.asvTrials) expect(kwIds.has(t.enroll) || kwIds.has(t.test)).toBe(false);
    // Keyword clips come from their own random stream: the sentences match a corpus without keywords.
    const none = await generateCorpus(join(work, "kw-none"), { ...TINY, name: "tiny-kw", keywordUttsPerSeenSpeaker: 0 }, 5);
    expect(keywordClipsOf(none.manifest.utterances)).toHaveLength(0);
    expect(sentencesOf(m.utterances)).toEqual(none.manifest.utterances);
    expect(m.asvTrials).toEqual(none.manifest.asvTrials);
  });

  it("uses $SUPERB_CACHE_DIR as the default cache folder", () => {
    const old = process.env.SUPERB_CACHE_DIR;
    process.env.SUPERB_CACHE_DIR = "/some/where";
    expect(defaultCacheDir()).toBe("/some/where");
    delete process.env.SUPERB_CACHE_DIR;
    expect(defaultCacheDir()).toMatch(/\.cache[/\\]superb$/);
    if (old !== undefined) process.env.SUPERB_CACHE_DIR = old;
  });
});
