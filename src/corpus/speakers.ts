/**
 * Synthetic speakers: a fixed combination of eSpeak accent, voice variant, pitch, pitch range, rate
 * and channel colouring. Each parameter is drawn independently from overlapping ranges, so several
 * speakers share accent and variant and differ only in the continuous parameters: identification
 * is possible but not trivial.
 */
import { Rng } from "../random.js";
import { ACCENTS, VARIANTS } from "./synth.js";
import type { SpeakerProfile, VoiceSettings } from "./types.js";

const MALE = VARIANTS.filter((v) => v.startsWith("m"));
const FEMALE = VARIANTS.filter((v) => v.startsWith("f"));

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

function logUniform(rng: Rng, lo: number, hi: number): number {
  return Math.exp(rng.uniform(Math.log(lo), Math.log(hi)));
}

/** Speaker ids are `spk001`, `spk002`, ...: the seen speakers first, then the unseen ones. */
export function speakerId(index: number): string {
  return `spk${String(index + 1).padStart(3, "0")}`;
}

export function makeSpeakers(rng: Rng, seen: number, unseen: number): SpeakerProfile[] {
  const speakers: SpeakerProfile[] = [];
  for (let i = 0; i < seen + unseen; i++) {
    const variant = rng.chance(0.5) ? rng.pick(MALE) : rng.pick(FEMALE);
    speakers.push({
      id: speakerId(i),
      seen: i < seen,
      accent: rng.pick(ACCENTS).code,
      variant,
      pitch: Math.round(clamp(rng.normal(50, 14), 12, 88)),
      pitchRange: Math.round(clamp(rng.normal(50, 14), 15, 90)),
      rate: Math.round(clamp(rng.normal(165, 14), 130, 205)),
      channel: {
        lowCutHz: Math.round(logUniform(rng, 50, 300)),
        highCutHz: Math.round(logUniform(rng, 3400, 7600)),
        tiltDb: Math.round(rng.uniform(-6, 6) * 10) / 10,
      },
    });
  }
  return speakers;
}

/** Per-utterance prosody jitter around the speaker's settings (pitch +-4, rate +-5 %, 1 sd). */
export function jitterVoice(rng: Rng, speaker: SpeakerProfile): VoiceSettings {
  return {
    accent: speaker.accent,
    variant: speaker.variant,
    pitch: Math.round(clamp(speaker.pitch + rng.normal(0, 4), 0, 99)),
    pitchRange: Math.round(clamp(speaker.pitchRange + rng.normal(0, 3), 0, 99)),
    rate: Math.round(clamp(speaker.rate * (1 + rng.normal(0, 0.05)), 100, 260)),
  };
}
