/**
 * Fluent Speech Commands (IC) as s3prl reads it: ROOT = `fluent_speech_commands_dataset`, with
 * `data/{train,valid,test}_data.csv` and `wavs/speakers/<spk>/<file>.wav`. Columns are found by
 * header name (the real CSVs, written by pandas, start with an unnamed index column); `valid` is
 * the dev split. Slot values come from the training split alone, as the classifier's output set.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readAudioHeader } from "../audio-file.js";
import { TaskUnavailable, type Dataset, type DatasetDefinition, type DatasetItem, type DatasetOptions, fingerprintDataset, type IntentSlots, ProblemList, readLinesOrProblem, requireRootFolder, type Split, SPLITS, type TaskData } from "../dataset.js";
import { UserError } from "../errors.js";
import { startProgress } from "../progress.js";

/** The result of parsing one CSV line; `error` is set (and `fields` partial) when it is malformed. */
export interface CsvLine {
  fields: string[];
  error?: string;
}

/**
 * One RFC-4180 record on one line: comma-separated, a field in double quotes may hold commas and
 * `""` for a quote. A quote inside an unquoted field is kept as text (as pandas and Python's csv
 * module do); text after a closing quote and an unterminated quote are errors. Records spanning
 * lines (newlines inside quotes) are not supported: FSC has none, and they show as unterminated.
 */
export function parseCsvLine(line: string): CsvLine {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return { fields: [...fields, value + line.slice(i)], error: `unterminated quoted field (field ${fields.length + 1})` };
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      if (i === line.length) return { fields };
      if (line[i] !== ",") return { fields, error: `text after the closing quote of field ${fields.length}` };
      i++;
    } else {
      const comma = line.indexOf(",", i);
      if (comma < 0) {
        fields.push(line.slice(i));
        return { fields };
      }
      fields.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}

const SPLIT_FILES: Record<Split, string> = { train: "train_data.csv", dev: "valid_data.csv", test: "test_data.csv" };
const SLOTS = ["action", "object", "location"] as const;
const COLUMNS = ["path", "speakerId", "transcription", ...SLOTS] as const;
type Column = (typeof COLUMNS)[number];

interface Row {
  file: string;
  line: number;
  item: DatasetItem & { intent: IntentSlots };
}

/** A row's wav: the problem when it is missing or its header does not parse, else its duration. */
function wavDuration(wav: string): { durationSec: number } | { problem: string } {
  try {
    return { durationSec: readAudioHeader(wav).durationSec };
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    return { problem: fs.existsSync(wav) ? err.message : `${wav}: wav file not found` };
  }
}

function readSplitCsv(root: string, split: Split, problems: ProblemList, progress: boolean): Row[] {
  const file = path.join(root, "data", SPLIT_FILES[split]);
  const lines = readLinesOrProblem(file, problems, `${split === "dev" ? "valid (dev)" : split} CSV`);
  if (!lines) return [];
  const header = parseCsvLine((lines[0] ?? "").replace(/^\uFEFF/, ""));
  if (header.error || lines[0].trim() === "") {
    problems.add(file, header.error ? `header: ${header.error}` : "empty file (no header line)", 1);
    return [];
  }
  const names = header.fields.map((f) => f.trim());
  const col = {} as Record<Column, number>;
  let missing = false;
  for (const c of COLUMNS) {
    col[c] = names.indexOf(c);
    if (col[c] < 0) {
      problems.add(file, `no "${c}" column in the header (columns: ${names.filter((n) => n !== "").join(", ")})`, 1);
      missing = true;
    }
  }
  if (missing) return [];
  const rows: Row[] = [];
  const bar = startProgress({ label: `reading ${SPLIT_FILES[split]}`, total: lines.length - 1, unit: "rows", enabled: progress });
  for (let n = 1; n < lines.length; n++) {
    bar.increment();
    const line = n + 1;
    if (lines[n].trim() === "") continue;
    const parsed = parseCsvLine(lines[n]);
    if (parsed.error) {
      problems.add(file, parsed.error, line);
      continue;
    }
    const f = parsed.fields;
    if (f.length !== names.length) {
      problems.add(file, `${f.length} fields, the header has ${names.length}`, line);
      continue;
    }
    let bad = false;
    for (const c of ["path", "speakerId", ...SLOTS] as const) {
      if (f[col[c]].trim() === "") {
        problems.add(file, `empty ${c}`, line);
        bad = true;
      }
    }
    if (bad) continue;
    const rel = f[col.path];
    const wav = path.resolve(root, rel);
    const audio = wavDuration(wav);
    if ("problem" in audio) {
      problems.add(file, audio.problem, line);
      continue;
    }
    rows.push({
      file,
      line,
      item: {
        // The CSV's path is unique per utterance; without ".wav" it reads as an id.
        id: rel.replace(/\\/g, "/").replace(/\.wav$/i, ""),
        path: wav,
        durationSec: audio.durationSec,
        speaker: f[col.speakerId],
        text: f[col.transcription],
        intent: { action: f[col.action], object: f[col.object], location: f[col.location] },
      },
    });
  }
  bar.stop();
  return rows;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function open(root: string, options: DatasetOptions, problems: ProblemList): Promise<Dataset> {
  requireRootFolder(root, "fsc");
  const rows = {} as Record<Split, Row[]>;
  const firstSeen = new Map<string, string>();
  for (const split of SPLITS) {
    rows[split] = readSplitCsv(root, split, problems, options.progress ?? false).filter((r) => {
      const where = `${r.file}:${r.line}`;
      const first = firstSeen.get(r.item.id);
      if (first !== undefined) problems.add(r.file, `${r.item.id}: listed twice (first at ${first})`, r.line);
      else firstSeen.set(r.item.id, where);
      return first === undefined;
    });
  }
  const slotValues = {} as Record<(typeof SLOTS)[number], string[]>;
  for (const s of SLOTS) slotValues[s] = [...new Set(rows.train.map((r) => r.item.intent[s]))].sort(compare);
  // A dev/test value the classifier cannot output would count as a silent error: report it, drop the row.
  const splits = {} as Record<Split, DatasetItem[]>;
  for (const split of SPLITS) {
    splits[split] = rows[split]
      .filter((r) => {
        if (split === "train") return true;
        const unknown = SLOTS.filter((s) => !slotValues[s].includes(r.item.intent[s]));
        for (const s of unknown) problems.add(r.file, `${s} "${r.item.intent[s]}" does not occur in ${SPLIT_FILES.train} (the classifier's ${s}s: ${slotValues[s].join(", ")})`, r.line);
        return unknown.length === 0;
      })
      .map((r) => r.item);
  }
  const items = SPLITS.flatMap((s) => rows[s].map((r) => r.item));
  const metadata = SPLITS.map((s) => path.join(root, "data", SPLIT_FILES[s])).filter((f) => fs.existsSync(f));
  return {
    kind: "fsc",
    root,
    fingerprint: fingerprintDataset("fsc", root, items, metadata),
    items,
    tasks: ["ic"],
    taskData(task: string): TaskData {
      if (task !== "ic") throw new TaskUnavailable(`fsc (${root}) serves only the ic task, not ${task}`);
      return {
        splits: { train: [...splits.train], dev: [...splits.dev], test: [...splits.test] },
        intentSlots: { action: [...slotValues.action], object: [...slotValues.object], location: [...slotValues.location] },
      };
    },
  };
}

export const dataset: DatasetDefinition = {
  kind: "fsc",
  description: "Fluent Speech Commands (IC): the fluent_speech_commands_dataset folder with data/*_data.csv and wavs/speakers/",
  tasks: ["ic"],
  open,
};
