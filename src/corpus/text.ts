/**
 * Text of the synthetic corpus: spoken-command intents (Fluent-Speech-Commands style slots) and free
 * sentences from a small grammar. All wording is written for this project; all choices go through
 * the seeded Rng so that a seed fixes every transcript.
 */
import { Rng } from "../random.js";
import type { IntentSlots } from "./types.js";

/** Character vocabulary of transcripts; word boundaries are the space character " ". */
export const CHAR_SET: readonly string[] = [
  " ",
  "'",
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ".split(""),
];

/** Upper-case, keep A-Z and word-internal apostrophes, single spaces, no leading/trailing space. */
export function normalizeTranscript(text: string): string {
  return text
    .toUpperCase()
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[^A-Z']+/g, " ")
    .split(" ")
    .map((w) => w.replace(/^'+|'+$/g, ""))
    .filter((w) => w.length > 0)
    .join(" ");
}

// ---------------------------------------------------------------------------------------------
// Intent commands

export const ACTIONS = ["activate", "deactivate", "increase", "decrease", "bring", "change language"] as const;
export const OBJECTS = [
  "none", "lights", "lamp", "music", "heat", "volume",
  "shoes", "socks", "newspaper", "juice",
  "chinese", "korean", "english", "german",
] as const;
export const LOCATIONS = ["none", "kitchen", "bedroom", "washroom"] as const;

/** Slot vocabularies in a fixed order (the IC head's output classes). */
export const INTENT_SLOTS: { action: string[]; object: string[]; location: string[] } = {
  action: [...ACTIONS],
  object: [...OBJECTS],
  location: [...LOCATIONS],
};

const ROOMS = ["kitchen", "bedroom", "washroom"] as const;

/** Phrasings of one intent; `{L}` stands for the location word. */
interface IntentDef {
  slots: IntentSlots;
  phrasings: string[];
}

function withRooms(
  action: string,
  object: string,
  inRoom: string[],
  anywhere: string[],
): IntentDef[] {
  const defs: IntentDef[] = [{ slots: { action, object, location: "none" }, phrasings: anywhere }];
  for (const room of ROOMS) {
    defs.push({
      slots: { action, object, location: room },
      phrasings: inRoom.map((p) => p.replaceAll("{L}", room)),
    });
  }
  return defs;
}

function simple(action: string, object: string, phrasings: string[]): IntentDef {
  return { slots: { action, object, location: "none" }, phrasings };
}

function buildIntents(): IntentDef[] {
  const defs: IntentDef[] = [];
  defs.push(
    ...withRooms(
      "activate",
      "lights",
      [
        "turn on the {L} lights",
        "switch on the lights in the {L}",
        "switch the lights on in the {L}",
        "{L} lights on please",
        "lights on in the {L}",
        "please turn the {L} lights on",
        "could you turn on the lights in the {L}",
        "i need the lights on in the {L}",
      ],
      [
        "turn on the lights",
        "switch the lights on",
        "lights on please",
        "please turn the lights on",
        "could you switch on the lights",
        "i need some light in here",
      ],
    ),
    ...withRooms(
      "deactivate",
      "lights",
      [
        "turn off the {L} lights",
        "switch off the lights in the {L}",
        "switch the lights off in the {L}",
        "{L} lights off please",
        "lights off in the {L}",
        "please turn the {L} lights off",
        "kill the lights in the {L}",
      ],
      [
        "turn off the lights",
        "switch the lights off",
        "lights off please",
        "please turn the lights off",
        "kill the lights",
        "could you switch off the lights",
      ],
    ),
    simple("increase", "lights", [
      "make the lights brighter",
      "brighten the lights",
      "turn the lights up a bit",
      "more light please",
      "the lights are too dim",
    ]),
    simple("decrease", "lights", [
      "dim the lights",
      "make the lights dimmer",
      "turn the lights down a bit",
      "less light please",
      "the lights are too bright",
    ]),
    simple("activate", "lamp", [
      "turn on the lamp",
      "switch the lamp on",
      "lamp on please",
      "please turn the lamp on",
      "could you switch on the lamp",
    ]),
    simple("deactivate", "lamp", [
      "turn off the lamp",
      "switch the lamp off",
      "lamp off please",
      "please turn the lamp off",
      "could you switch off the lamp",
    ]),
    simple("activate", "music", [
      "play some music",
      "start the music",
      "put some music on",
      "music on please",
      "i want to hear some music",
      "turn on the music",
    ]),
    simple("deactivate", "music", [
      "stop the music",
      "turn off the music",
      "pause the music",
      "music off please",
      "no more music",
      "switch the music off",
    ]),
    ...withRooms(
      "increase",
      "heat",
      [
        "turn up the heat in the {L}",
        "make the {L} warmer",
        "increase the temperature in the {L}",
        "the {L} is too cold",
        "heat up the {L}",
        "more heat in the {L} please",
      ],
      [
        "turn up the heat",
        "make it warmer",
        "increase the temperature",
        "it is too cold in here",
        "more heat please",
        "i'm freezing turn the heat up",
      ],
    ),
    ...withRooms(
      "decrease",
      "heat",
      [
        "turn down the heat in the {L}",
        "make the {L} cooler",
        "decrease the temperature in the {L}",
        "the {L} is too hot",
        "cool down the {L}",
        "less heat in the {L} please",
      ],
      [
        "turn down the heat",
        "make it cooler",
        "decrease the temperature",
        "it's too hot in here",
        "less heat please",
        "turn the heat down",
      ],
    ),
    simple("increase", "volume", [
      "turn up the volume",
      "make it louder",
      "louder please",
      "increase the volume",
      "i can't hear that",
      "volume up",
    ]),
    simple("decrease", "volume", [
      "turn down the volume",
      "make it quieter",
      "quieter please",
      "decrease the volume",
      "that's too loud",
      "volume down",
    ]),
  );
  for (const item of ["shoes", "socks"]) {
    defs.push(
      simple("bring", item, [
        `bring me my ${item}`,
        `fetch my ${item}`,
        `get me my ${item} please`,
        `could you bring my ${item}`,
        `i need my ${item}`,
        `go and get my ${item}`,
      ]),
    );
  }
  defs.push(
    simple("bring", "newspaper", [
      "bring me the newspaper",
      "fetch the newspaper",
      "get me today's newspaper",
      "i want to read the newspaper",
      "could you bring the newspaper",
    ]),
    simple("bring", "juice", [
      "bring me some juice",
      "fetch the juice",
      "get me a glass of juice",
      "i'd like some juice",
      "could you bring me juice",
    ]),
    simple("change language", "none", [
      "change the language",
      "switch the language",
      "use a different language",
      "open the language settings",
      "i want another language",
    ]),
  );
  for (const lang of ["chinese", "korean", "english", "german"]) {
    defs.push(
      simple("change language", lang, [
        `change the language to ${lang}`,
        `switch to ${lang}`,
        `set the language to ${lang}`,
        `use ${lang} please`,
        `i want everything in ${lang}`,
      ]),
    );
  }
  return defs;
}

const INTENTS: readonly IntentDef[] = buildIntents();

/** Every valid intent (slot combination), in a fixed order. */
export function allIntents(): IntentSlots[] {
  return INTENTS.map((d) => ({ ...d.slots }));
}

export function intentKey(slots: IntentSlots): string {
  return `${slots.action}|${slots.object}|${slots.location}`;
}

/** One random phrasing of the given intent, normalised. */
export function commandText(rng: Rng, slots: IntentSlots): string {
  const def = INTENTS.find((d) => intentKey(d.slots) === intentKey(slots));
  if (!def) throw new Error(`unknown intent ${intentKey(slots)}`);
  return normalizeTranscript(rng.pick(def.phrasings));
}

/** All phrasings of all intents (normalised), e.g. for vocabulary checks. */
export function allCommandPhrasings(): string[] {
  return INTENTS.flatMap((d) => d.phrasings.map(normalizeTranscript));
}

// ---------------------------------------------------------------------------------------------
// Free sentences

const NAMES = [
  "anna", "ben", "clara", "david", "emma", "frank", "grace", "henry", "iris", "jack",
  "laura", "martin", "nina", "oscar", "paula", "robert", "sarah", "tom", "victor", "wendy",
];

const NOUNS = [
  "apple", "basket", "bicycle", "bird", "blanket", "boat", "book", "bottle", "bread", "bridge",
  "brother", "bucket", "butter", "button", "cake", "camera", "candle", "car", "carpet", "cat",
  "chair", "cheese", "child", "clock", "cloud", "coat", "coffee", "computer", "cousin", "cow",
  "cup", "doctor", "dog", "door", "dress", "drum", "egg", "engine", "farmer", "feather",
  "fence", "field", "fish", "flower", "forest", "fox", "friend", "garden", "gate", "glass",
  "guitar", "hammer", "hat", "horse", "island", "jacket", "key", "kitten", "ladder", "lake",
  "letter", "lion", "map", "market", "mirror", "monkey", "mountain", "nurse", "orange", "painter",
  "paper", "parcel", "pencil", "piano", "picture", "pillow", "plate", "pocket", "potato", "puppy",
  "rabbit", "radio", "river", "road", "rope", "sailor", "sandwich", "school", "sheep", "shirt",
  "singer", "sister", "spoon", "station", "stone", "story", "student", "table", "teacher", "ticket",
  "tiger", "towel", "tower", "train", "tree", "truck", "umbrella", "village", "wagon", "wallet",
  "whistle", "window", "winter", "wolf",
];

const ADJECTIVES = [
  "angry", "big", "black", "blue", "bright", "broken", "busy", "calm", "careful", "cheap",
  "clean", "clever", "cold", "curious", "dark", "dirty", "dusty", "empty", "famous", "fast",
  "friendly", "funny", "gentle", "golden", "green", "happy", "heavy", "huge", "hungry", "little",
  "lonely", "loud", "lucky", "narrow", "new", "noisy", "old", "polite", "quiet", "red",
  "round", "rusty", "sad", "shiny", "sleepy", "small", "soft", "strange", "strong", "tall",
  "tiny", "warm", "wet", "white", "wild", "wooden", "yellow", "young",
];

/** [base, past] pairs of transitive verbs. */
const VERBS_T: Array<[string, string]> = [
  ["carry", "carried"], ["catch", "caught"], ["clean", "cleaned"], ["draw", "drew"], ["find", "found"],
  ["fix", "fixed"], ["follow", "followed"], ["hide", "hid"], ["hold", "held"], ["keep", "kept"],
  ["lift", "lifted"], ["like", "liked"], ["lose", "lost"], ["move", "moved"], ["open", "opened"],
  ["paint", "painted"], ["push", "pushed"], ["sell", "sold"], ["send", "sent"], ["share", "shared"],
  ["take", "took"], ["throw", "threw"], ["visit", "visited"], ["wash", "washed"], ["watch", "watched"],
  ["buy", "bought"], ["borrow", "borrowed"], ["build", "built"], ["choose", "chose"], ["cover", "covered"],
  ["drop", "dropped"], ["feed", "fed"], ["forget", "forgot"], ["grab", "grabbed"], ["leave", "left"],
  ["notice", "noticed"], ["pack", "packed"], ["pull", "pulled"], ["remember", "remembered"], ["show", "showed"],
];

/** [base, past] pairs of intransitive verbs. */
const VERBS_I: Array<[string, string]> = [
  ["arrive", "arrived"], ["dance", "danced"], ["disappear", "disappeared"], ["fall", "fell"], ["jump", "jumped"],
  ["laugh", "laughed"], ["listen", "listened"], ["rest", "rested"], ["run", "ran"], ["shout", "shouted"],
  ["sing", "sang"], ["sit", "sat"], ["sleep", "slept"], ["smile", "smiled"], ["stay", "stayed"],
  ["swim", "swam"], ["travel", "travelled"], ["wait", "waited"], ["walk", "walked"], ["whisper", "whispered"],
  ["work", "worked"], ["wander", "wandered"], ["cry", "cried"], ["hurry", "hurried"],
];

const ADVERBS = [
  "quickly", "slowly", "quietly", "loudly", "happily", "sadly", "carefully", "suddenly", "gently", "proudly",
  "calmly", "easily", "badly", "politely", "nervously", "early", "late", "again", "together", "alone",
];

const PREPOSITIONS = ["in", "near", "behind", "under", "beside", "across", "around", "inside", "outside", "past", "towards", "above"];

const PLACES = [
  "the park", "the station", "the old bridge", "the village", "the market", "the school", "the river",
  "the garden", "the forest", "the hotel", "the harbour", "the library", "the museum", "the hospital",
  "the farm", "the beach", "the church", "the castle", "the city", "the valley", "the kitchen table",
  "the front door", "the big window", "the tall tower", "the narrow road",
];

const TIMES = [
  "yesterday", "today", "last night", "this morning", "after lunch", "before dinner", "on monday",
  "on friday", "every sunday", "at noon", "in the evening", "last summer", "next week", "tomorrow", "at midnight",
];

const PRONOUNS = ["he", "she", "they", "we", "i", "you"];

function nounPhrase(rng: Rng): string {
  const det = rng.pick(["the", "the", "a", "my", "your", "her", "his", "our", "that", "this"]);
  const adj = rng.chance(0.55) ? rng.pick(ADJECTIVES) + " " : "";
  const noun = rng.pick(NOUNS);
  const phrase = `${det} ${adj}${noun}`;
  return phrase.replace(/^a ([aeiou])/, "an $1");
}

function subject(rng: Rng): string {
  const r = rng.float();
  if (r < 0.35) return rng.pick(NAMES);
  if (r < 0.55) return rng.pick(PRONOUNS);
  return nounPhrase(rng);
}

function optional(rng: Rng, p: number, make: () => string): string {
  return rng.chance(p) ? " " + make() : "";
}

type Template = (rng: Rng) => string;

const TEMPLATES: Template[] = [
  (r) => `${subject(r)} ${r.pick(VERBS_T)[1]} ${nounPhrase(r)}${optional(r, 0.4, () => `${r.pick(PREPOSITIONS)} ${r.pick(PLACES)}`)}${optional(r, 0.3, () => r.pick(TIMES))}`,
  (r) => `${subject(r)} ${r.pick(VERBS_I)[1]}${optional(r, 0.5, () => r.pick(ADVERBS))}${optional(r, 0.6, () => `${r.pick(PREPOSITIONS)} ${r.pick(PLACES)}`)}`,
  (r) => `${nounPhrase(r)} was ${r.pick(ADJECTIVES)}${optional(r, 0.5, () => r.pick(TIMES))}`,
  (r) => `there was ${nounPhrase(r).replace(/^(the|my|your|her|his|our|that|this) /, "a ").replace(/^a ([aeiou])/, "an $1")} ${r.pick(PREPOSITIONS)} ${r.pick(PLACES)}`,
  (r) => `did ${subject(r)} ${r.pick(VERBS_T)[0]} ${nounPhrase(r)}${optional(r, 0.4, () => r.pick(TIMES))}`,
  (r) => `${subject(r)} will ${r.pick(VERBS_T)[0]} ${nounPhrase(r)} ${r.pick(TIMES)}`,
  (r) => `why did ${subject(r)} ${r.pick(VERBS_I)[0]} ${r.pick(PREPOSITIONS)} ${r.pick(PLACES)}`,
  (r) => `please don't ${r.pick(VERBS_T)[0]} ${nounPhrase(r)}`,
  (r) => `${r.pick(NAMES)}'s ${r.pick(NOUNS)} is ${r.pick(ADJECTIVES)}${optional(r, 0.4, () => `and ${r.pick(ADJECTIVES)}`)}`,
  (r) => `${subject(r)} said that ${subject(r)} ${r.pick(VERBS_I)[1]}${optional(r, 0.5, () => r.pick(ADVERBS))}`,
  (r) => `${r.pick(TIMES)} ${subject(r)} ${r.pick(VERBS_T)[1]} ${nounPhrase(r)}`,
  (r) => `we couldn't ${r.pick(VERBS_T)[0]} ${nounPhrase(r)} because it was ${r.pick(ADJECTIVES)}`,
];

/** Words a free sentence may use, for vocabulary statistics and pronunciation checks. */
export function freeSentenceVocabulary(): string[] {
  const words = new Set<string>();
  const add = (s: string) => s.split(/\s+/).forEach((w) => w && words.add(w));
  [...NAMES, ...NOUNS, ...ADJECTIVES, ...ADVERBS, ...PREPOSITIONS, ...PLACES, ...TIMES, ...PRONOUNS].forEach(add);
  [...VERBS_T, ...VERBS_I].forEach(([b, p]) => { add(b); add(p); });
  add("the a an my your her his our that this was there did will why please don't 's is and said we couldn't because it");
  return [...words].sort();
}

/** One free sentence of 3 to `maxWords` words, normalised. */
export function freeSentence(rng: Rng, maxWords = 12): string {
  for (;;) {
    const text = normalizeTranscript(rng.pick(TEMPLATES)(rng));
    const n = text.split(" ").length;
    if (n >= 3 && n <= maxWords) return text;
  }
}

// ---------------------------------------------------------------------------------------------
// Keyword spotting (Speech Commands v1 as SUPERB uses it)

/** The ten target keywords of SUPERB KS, in their conventional order. */
export const KS_KEYWORDS: readonly string[] = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"];

export const KS_UNKNOWN = "_unknown_";
export const KS_SILENCE = "_silence_";

/** KS output classes in order: the ten keywords, then `_unknown_` and `_silence_`. */
export const KS_CLASSES: readonly string[] = [...KS_KEYWORDS, KS_UNKNOWN, KS_SILENCE];

/** Other short words spoken in `_unknown_` clips: the Speech Commands auxiliary words. */
export const KS_UNKNOWN_WORDS: readonly string[] = ["bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow"];
