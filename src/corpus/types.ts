/** The manifest of a corpus: every label every task needs, in one JSON file beside the audio. */

export type Split = "train" | "dev" | "test";

export interface IntentSlots {
  action: string;
  object: string;
  location: string;
}

/** eSpeak voice settings: a speaker's base voice, jittered per utterance for synthesis. */
export interface VoiceSettings {
  /** eSpeak voice (language/accent, `-v`) e.g. "en-us", "en-gb-scotland". */
  accent: string;
  /** eSpeak voice variant e.g. "m3", "f2". */
  variant: string;
  /** eSpeak pitch 0-99 (`-p`) */
  pitch: number;
  /** eSpeak pitch range 0-99 (`-P`) */
  pitchRange: number;
  /** eSpeak rate in words per minute (`-s`) */
  rate: number;
}

export interface SpeakerProfile extends VoiceSettings {
  id: string;
  /** Seen speakers appear in train/dev/test (SID closed set); unseen ones only in test (ASV trials). */
  seen: boolean;
  /** Fixed channel colouring (biquad filter parameters and gain) applied to all of the speaker's audio. */
  channel: { lowCutHz: number; highCutHz: number; tiltDb: number };
}

export interface Utterance {
  id: string;
  /** Path of the 16 kHz mono WAV, relative to the corpus folder. */
  path: string;
  speaker: string;
  split: Split;
  /**
   * Character transcript: upper-case A-Z, apostrophe and space. For keyword clips the word spoken
   * (e.g. "YES", or "MARVIN" for an `_unknown_` clip); "" for `_silence_` clips (the only empty text).
   */
  text: string;
  /** Phone sequence in the corpus phone set (see CorpusManifest.phoneSet); empty only for `_silence_` clips. */
  phonemes: string[];
  /** Intent slots, for command utterances; null for free sentences and keyword clips. */
  intent: IntentSlots | null;
  /**
   * KS class of a keyword-spotting clip (one of CorpusManifest.ksClasses: "yes" .. "go",
   * "_unknown_", "_silence_"); null for every other utterance. Keyword clips are exactly 1 s.
   */
  keyword: string | null;
  durationSec: number;
  /**
   * Per-utterance nuisance, recorded for analysis. For `_silence_` clips (noise only) the noise is
   * at the level it would have under a word of nominal level at this SNR.
   */
  snrDb: number;
}

export interface AsvTrial {
  enroll: string;
  test: string;
  /** 1 = same speaker, 0 = different speakers. */
  label: 0 | 1;
}

export interface CorpusManifest {
  name: string;
  profile: string;
  seed: number;
  /** Version of the generator; a change invalidates caches. */
  generatorVersion: number;
  sampleRate: number;
  /** Documented phone set (eSpeak's ASCII phoneme mnemonics with stress marks removed). */
  phoneSet: string[];
  /** Character vocabulary for ASR (excluding the CTC blank). */
  charSet: string[];
  intentSlots: { action: string[]; object: string[]; location: string[] };
  /** KS classes in output order: the ten keywords, then "_unknown_" and "_silence_". */
  ksClasses: string[];
  speakers: SpeakerProfile[];
  utterances: Utterance[];
  asvTrials: AsvTrial[];
  totalDurationSec: number;
}

/** A corpus on disk: its manifest, the folder it lives in and a content hash for cache keys. */
export interface Corpus {
  dir: string;
  manifest: CorpusManifest;
  /** Hash of the manifest file; changes whenever the audio or labels change. */
  hash: string;
}
