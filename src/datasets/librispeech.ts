/**
 * LibriSpeech as distributed: ROOT/<subset>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac beside
 * <spk>-<chapter>.trans.txt (`UTTID WORD WORD ...`). Serves ASR (characters) and PR (phones through
 * a g2p lexicon, as s3prl's libriphone reads it: `WORD<TAB>PH PH ...`, first pronunciation wins).
 * Durations come from the FLAC headers, so opening train-clean-100 decodes nothing.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { readAudioHeader } from "../audio-file.js";
import {
  fingerprintDataset,
  readDirOrProblem,
  readLinesOrProblem,
  requireRootFolder,
  SPLITS,
  TaskUnavailable,
  type Dataset,
  type DatasetDefinition,
  type DatasetFingerprint,
  type DatasetItem,
  type DatasetOptions,
  type ProblemList,
  type Split,
  type TaskData,
} from "../dataset.js";
import { UserError } from "../errors.js";
import { readUserFile } from "../fs-atomic.js";

const KIND = "librispeech";
const TASKS = ["pr", "asr"] as const;

export const DEFAULT_SUBSETS: Readonly<Record<Split, string>> = { train: "train-clean-100", dev: "dev-clean", test: "test-clean" };

/** ASR characters in vocabulary order: space is the word boundary (s3prl's "|"). */
export const LIBRISPEECH_CHARS: readonly string[] = [" ", "'", ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ"];
const CHAR_SET = new Set(LIBRISPEECH_CHARS);

/** How many missing words a PR error lists by name. */
const MISSING_SHOWN = 5;

export interface Lexicon {
  /** Word (upper case) -> its first pronunciation in the file. */
  pronunciations: Map<string, string[]>;
  /** Every phone any line of the lexicon uses, sorted. */
  phoneSet: string[];
  /** Later pronunciations of words already seen (ignored, as s3prl does). */
  alternatives: number;
}

/**
 * Parses a lexicon in s3prl's g2p format: `WORD<TAB>PH PH ...`, or whitespace after the word when
 * a line has no tab. Blank lines are skipped; the first pronunciation of a word wins. A malformed
 * line is a UserError naming file:line (with the count of the other malformed lines).
 */
export function parseLexicon(text: string, file: string): Lexicon {
  const pronunciations = new Map<string, string[]>();
  const phones = new Set<string>();
  const bad: { line: number; message: string }[] = [];
  let alternatives = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\s+$/, "");
    if (raw === "") continue;
    const tab = raw.indexOf("\t");
    let word: string;
    let rest: string;
    if (tab >= 0) {
      word = raw.slice(0, tab).trim();
      rest = raw.slice(tab + 1);
    } else {
      // [\s\S], not ".": a lone \r or U+2028 inside a line must not make the match fail.
      const m = /^(\S*)\s*([\s\S]*)$/.exec(raw) as RegExpExecArray;
      word = m[1];
      rest = m[2];
    }
    const phs = rest.split(/\s+/).filter((p) => p !== "");
    const problem =
      word === "" ? "no word before the pronunciation"
      : /\s/.test(word) ? `word "${word}" contains a space`
      : phs.length === 0 ? `word "${word}" has no pronunciation; expected WORD<TAB>PH PH ...`
      : undefined;
    if (problem) {
      bad.push({ line: i + 1, message: `malformed lexicon line (${problem})` });
      continue;
    }
    for (const p of phs) phones.add(p);
    const key = word.toUpperCase();
    if (pronunciations.has(key)) alternatives++;
    else pronunciations.set(key, phs);
  }
  if (bad.length > 0) {
    const more = bad.length - 1;
    throw new UserError(`${file}:${bad[0].line}: ${bad[0].message}${more > 0 ? ` (and ${more} more malformed line${more === 1 ? "" : "s"})` : ""}`);
  }
  if (pronunciations.size === 0) throw new UserError(`${file}: the lexicon is empty (expected lines WORD<TAB>PH PH ...)`);
  return { pronunciations, phoneSet: [...phones].sort(), alternatives };
}

/** A transcript line with a character outside LIBRISPEECH_CHARS: ASR cannot use it. */
interface BadCharLine {
  file: string;
  line: number;
  char: string;
}

/** Directory entries sorted by name, following symlinks (fixtures and mirrors often link files). */
function sortedEntries(dir: string, problems: ProblemList, what: string): { name: string; isDir: boolean; isFile: boolean }[] {
  const out: { name: string; isDir: boolean; isFile: boolean }[] = [];
  for (const d of readDirOrProblem(dir, problems, what)) {
    let isDir = d.isDirectory();
    let isFile = d.isFile();
    if (d.isSymbolicLink()) {
      try {
        const st = fs.statSync(path.join(dir, d.name));
        isDir = st.isDirectory();
        isFile = st.isFile();
      } catch {
        problems.add(path.join(dir, d.name), "broken symbolic link");
        continue;
      }
    }
    out.push({ name: d.name, isDir, isFile });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The message of a UserError naming `file`, without the file (the problem list prints it). */
function withoutFile(message: string, file: string): string {
  return message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
}

interface ChapterResult {
  items: DatasetItem[];
  transFile?: string;
}

/** One chapter folder: its transcript and FLAC files, matched up. */
function readChapter(dir: string, spk: string, chapter: string, problems: ProblemList, badChars: BadCharLine[]): ChapterResult {
  const entries = sortedEntries(dir, problems, "chapter folder");
  const flacs = entries.filter((e) => e.isFile && e.name.toLowerCase().endsWith(".flac")).map((e) => e.name);
  const transName = `${spk}-${chapter}.trans.txt`;
  const transFile = path.join(dir, transName);
  if (!entries.some((e) => e.isFile && e.name === transName)) {
    if (flacs.length > 0) problems.add(transFile, `transcript file not found (${flacs.length === 1 ? `${flacs[0]} has` : `${flacs.length} .flac files here, first ${flacs[0]}, have`} no transcript)`);
    return { items: [] };
  }
  const lines = readLinesOrProblem(transFile, problems, "transcript file");
  if (!lines) return { items: [] };

  const prefix = `${spk}-${chapter}-`;
  const texts = new Map<string, { text: string; line: number }>();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === "") continue;
    const [id, ...words] = raw.split(/\s+/);
    if (words.length === 0) {
      problems.add(transFile, `malformed transcript line (expected "UTTID WORD WORD ...", got "${raw.slice(0, 60)}")`, i + 1);
      continue;
    }
    if (!id.startsWith(prefix) || !/^\d+$/.test(id.slice(prefix.length))) {
      problems.add(transFile, `malformed transcript line (utterance id "${id}" is not ${prefix}NNNN)`, i + 1);
      continue;
    }
    if (texts.has(id)) {
      problems.add(transFile, `utterance ${id} is transcribed twice (first at line ${texts.get(id)?.line})`, i + 1);
      continue;
    }
    const text = words.join(" ").toUpperCase();
    for (const ch of text) {
      if (!CHAR_SET.has(ch)) {
        badChars.push({ file: transFile, line: i + 1, char: ch });
        problems.add(transFile, `character ${JSON.stringify(ch)} is outside LibriSpeech's character set (A-Z, apostrophe, space)`, i + 1);
        break;
      }
    }
    texts.set(id, { text, line: i + 1 });
  }

  const items: DatasetItem[] = [];
  const seen = new Set<string>();
  for (const name of flacs) {
    const file = path.join(dir, name);
    const id = name.slice(0, -".flac".length);
    const t = texts.get(id);
    if (!t) {
      problems.add(file, `no transcript line for ${id} in ${transName}`);
      continue;
    }
    seen.add(id);
    let durationSec: number;
    try {
      durationSec = readAudioHeader(file).durationSec;
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      problems.add(file, withoutFile(err.message, file));
      continue;
    }
    items.push({ id, path: path.resolve(file), durationSec, speaker: spk, text: t.text });
  }
  for (const [id, t] of texts) if (!seen.has(id)) problems.add(transFile, `no audio file ${id}.flac for this transcript line`, t.line);
  return { items, transFile };
}

interface SubsetResult {
  items: DatasetItem[];
  transFiles: string[];
}

function readSubset(dir: string, problems: ProblemList, badChars: BadCharLine[]): SubsetResult {
  const items: DatasetItem[] = [];
  const transFiles: string[] = [];
  for (const spk of sortedEntries(dir, problems, "subset folder")) {
    if (!spk.isDir) continue; // LibriSpeech ships only speaker folders here; stray files do no harm
    const spkDir = path.join(dir, spk.name);
    for (const ch of sortedEntries(spkDir, problems, "speaker folder")) {
      if (!ch.isDir) continue;
      const r = readChapter(path.join(spkDir, ch.name), spk.name, ch.name, problems, badChars);
      items.push(...r.items);
      if (r.transFile) transFiles.push(r.transFile);
    }
  }
  return { items, transFiles };
}

function isFolder(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

class LibriSpeechDataset implements Dataset {
  readonly kind = KIND;
  readonly tasks = TASKS;
  private lexicon?: Lexicon;

  constructor(
    readonly root: string,
    readonly fingerprint: DatasetFingerprint,
    readonly items: readonly DatasetItem[],
    private readonly splits: Record<Split, DatasetItem[]>,
    private readonly badChars: readonly BadCharLine[],
    private readonly lexiconFile: string | undefined,
  ) {}

  taskData(task: string): TaskData {
    if (task === "asr") return this.asr();
    if (task === "pr") return this.pr();
    throw new TaskUnavailable(`${this.root}: librispeech serves the tasks ${TASKS.join(", ")}, not ${task}`);
  }

  private asr(): TaskData {
    if (this.badChars.length > 0) {
      const b = this.badChars[0];
      const more = this.badChars.length - 1;
      throw new UserError(`${b.file}:${b.line}: character ${JSON.stringify(b.char)} is outside LibriSpeech's character set (A-Z, apostrophe, space)${more > 0 ? ` (and ${more} more line${more === 1 ? "" : "s"})` : ""}`);
    }
    const present = new Set<string>();
    for (const s of SPLITS) for (const item of this.splits[s]) for (const ch of item.text ?? "") present.add(ch);
    return { splits: { ...this.splits }, charSet: LIBRISPEECH_CHARS.filter((c) => present.has(c)) };
  }

  private pr(): TaskData {
    if (this.lexiconFile === undefined) {
      throw new TaskUnavailable(`${this.root}: PR on librispeech needs --lexicon FILE in s3prl's g2p format (lines WORD<TAB>PH PH ..., e.g. librispeech-lexicon-200k-g2p.txt and librispeech-lexicon-allothers-g2p.txt concatenated)`);
    }
    this.lexicon ??= parseLexicon(Buffer.from(readUserFile(this.lexiconFile, "a lexicon file")).toString("utf8"), this.lexiconFile);
    const lex = this.lexicon.pronunciations;
    const missing = new Set<string>();
    const out = {} as Record<Split, DatasetItem[]>;
    for (const s of SPLITS) {
      out[s] = this.splits[s].map((item) => {
        const phonemes: string[] = [];
        for (const w of (item.text ?? "").split(" ")) {
          const p = lex.get(w);
          if (p) phonemes.push(...p);
          else if (w !== "") missing.add(w);
        }
        return { ...item, phonemes };
      });
    }
    if (missing.size > 0) {
      const first = [...missing].slice(0, MISSING_SHOWN).join(", ");
      throw new UserError(`${this.lexiconFile}: ${missing.size} word${missing.size === 1 ? "" : "s"} of the transcripts ${missing.size === 1 ? "is" : "are"} not in the lexicon (first: ${first})`);
    }
    return { splits: out, phoneSet: [...this.lexicon.phoneSet] };
  }
}

async function open(rootIn: string, options: DatasetOptions, problems: ProblemList): Promise<Dataset> {
  requireRootFolder(rootIn, KIND);
  const subsets: Record<Split, string> = { ...DEFAULT_SUBSETS, ...stripUndefined(options.subsets ?? {}) };
  let root = path.resolve(rootIn);
  // --data librispeech=DIR may name the folder holding LibriSpeech/ rather than LibriSpeech itself.
  if (!SPLITS.some((s) => isFolder(path.join(root, subsets[s]))) && isFolder(path.join(root, "LibriSpeech"))) root = path.join(root, "LibriSpeech");

  const badChars: BadCharLine[] = [];
  const read = new Map<string, SubsetResult>();
  const splits = {} as Record<Split, DatasetItem[]>;
  for (const split of SPLITS) {
    const name = subsets[split];
    let r = read.get(name);
    if (!r) {
      const dir = path.join(root, name);
      if (!isFolder(dir)) {
        problems.add(dir, `subset folder "${name}" for the ${split} split not found (choose another with --subset ${split}=NAME)`);
        r = { items: [], transFiles: [] };
      } else {
        r = readSubset(dir, problems, badChars);
        if (r.items.length === 0) problems.add(dir, `subset "${name}" (${split} split) holds no utterances (expected <spk>/<chapter>/<spk>-<chapter>-<utt>.flac with <spk>-<chapter>.trans.txt)`);
      }
      read.set(name, r);
    }
    splits[split] = r.items;
  }

  const items: DatasetItem[] = [];
  const transFiles: string[] = [];
  for (const r of read.values()) {
    items.push(...r.items);
    transFiles.push(...r.transFiles);
  }
  let fingerprint = fingerprintDataset(KIND, root, items, transFiles);
  let lexiconFile: string | undefined;
  if (options.lexicon !== undefined) {
    lexiconFile = path.resolve(options.lexicon);
    // The lexicon decides the PR targets, so it enters the hash by content (not by where it lies).
    let bytes: Uint8Array | undefined;
    try {
      bytes = fs.readFileSync(lexiconFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.add(lexiconFile, code === "ENOENT" ? "lexicon file not found (--lexicon)" : `cannot read the lexicon (${code ?? String(err)})`);
    }
    if (bytes) {
      const h = createHash("sha256").update(`${fingerprint.hash}\nlexicon\n`).update(bytes);
      fingerprint = { ...fingerprint, hash: h.digest("hex").slice(0, 16) };
    }
  }
  return new LibriSpeechDataset(root, fingerprint, items, splits, badChars, lexiconFile);
}

function stripUndefined(o: Partial<Record<Split, string>>): Partial<Record<Split, string>> {
  const out: Partial<Record<Split, string>> = {};
  for (const s of SPLITS) if (o[s] !== undefined && o[s] !== "") out[s] = o[s];
  return out;
}

export const dataset: DatasetDefinition = {
  kind: KIND,
  description: "LibriSpeech (train-clean-100 / dev-clean / test-clean): ASR characters, PR phones through --lexicon (s3prl g2p format)",
  tasks: TASKS,
  open,
};
