/**
 * Brain data sets: loading and validation.
 *
 * A data set on disk is a manifest, `brain.json`, with paths relative to its folder:
 *
 *   {
 *     "name": "my-set",                 // required: letters, digits, . _ -
 *     "tr": 2,                          // required: seconds per BOLD row
 *     "firstRowTime": 20,               // stimulus time (s) of row 0, after discarded volumes; default 0
 *     "targets": ["A", "B"],            // optional column names; else a CSV/text header, NIfTI x,y,z, or t1..tN
 *     "runs": [{
 *       "id": "run1",
 *       "stimulus": { "wav": "stim.wav" },          // or { "textgrid": "words.TextGrid", "tier": "word" }
 *                                                    // (synthesised, see stimulus.ts), or both (audio + word timings)
 *       "firstRowTime": 20,                          // optional per-run override
 *       "subjects": [
 *         { "id": "s1", "bold": "s1.txt" },          // text, .csv, .npy or 4-D .nii/.nii.gz (bold-io.ts)
 *         { "id": "s2", "bold": "s2.nii.gz", "mask": "mask.nii.gz" }
 *       ]
 *     }]
 *   }
 *
 * loadBrainDataset(pathOrName) accepts a brain.json, a folder holding one (simulated sets from
 * simulate.ts are such folders; their truth.json is attached), the Alice fMRI folder, or the names
 * "alice" / "alice:10mm" (SUPERB_ALICE_DIR or ../shared/data/alice-fmri beside the package root).
 * A path to the Alice folder may carry the same ":6mm"/":10mm" suffix.
 *
 * Validation. Errors (UserError, one line naming the file): a malformed manifest, a missing file,
 * NIfTI dimensions that do not match the mask, subjects of one run with different row counts
 * (both named), a different number of targets than the data set's (or header names that differ
 * from `targets`), and BOLD longer than the stimulus: the last row's time, firstRowTime + (rows-1)
 * * tr, may not exceed the stimulus duration (i.e. rows * tr + firstRowTime <= duration + tr).
 * BOLD that ends more than one TR before the stimulus is fine and reported through onNotice.
 * Reported skips (BrainDataset.skipped, and onNotice): a subject with any constant or non-finite
 * column. Deliberately all or nothing per subject: a partly usable subject would give targets
 * with different subject counts, which every consumer would have to handle. A run left without
 * subjects is dropped; a data set left without runs is an error.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { loadAudio16k } from "../audio.js";
import type { VoiceSettings } from "../corpus/types.js";
import { UserError, oneLine } from "../errors.js";
import { ALICE_RADII, aliceManifest, defaultAliceDir, looksLikeAlice, type AliceRadius } from "./alice.js";
import { boldFormat, readBold, type BoldMatrix } from "./bold-io.js";
import { STIMULUS_VOICE, planTextGridStimulus, spokenWords, synthesizePlanned } from "./stimulus.js";
import { intervalTier, readTextGrid } from "./textgrid.js";
import type { BrainDataset, BrainManifest, BrainRun, BrainSubject, ManifestRun, ManifestSubject, SimulationTruth, SkippedSubject, StimulusSpec, StimulusWord } from "./types.js";

export const MANIFEST_FILE = "brain.json";
export const TRUTH_FILE = "truth.json";
const SR = 16000;

export interface LoadBrainOptions {
  /** Where synthesised stimuli are cached (default: the project cache folder). */
  cacheDir?: string;
  onNotice?: (msg: string) => void;
  /** Progress of stimulus synthesis (words done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Progress bar for stimulus synthesis (default: on a TTY outside CI). */
  progress?: boolean;
  /**
   * false: do not synthesise TextGrid stimuli (the run's `stimulus` is then empty; its duration,
   * words and the data set hash are unchanged). WAV stimuli are always read. Default true.
   */
  stimulus?: boolean;
  /** eSpeak voice for synthesised stimuli (default STIMULUS_VOICE). */
  voice?: VoiceSettings;
}

// ---------------------------------------------------------------------------------------------
// Manifest parsing

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string, source: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new UserError(`${source}: unknown key "${k}" in ${where} (known: ${allowed.join(", ")})`);
  }
}

function str(obj: Record<string, unknown>, key: string, where: string, source: string): string {
  const v = obj[key];
  if (typeof v !== "string" || v.trim() === "") throw new UserError(`${source}: ${where}.${key} must be a non-empty string`);
  return v;
}

function optStr(obj: Record<string, unknown>, key: string, where: string, source: string): string | undefined {
  return obj[key] === undefined ? undefined : str(obj, key, where, source);
}

function optNum(obj: Record<string, unknown>, key: string, where: string, source: string, min: number, strict: boolean): number | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || (strict ? v <= min : v < min)) {
    throw new UserError(`${source}: ${where}.${key} must be a number ${strict ? ">" : ">="} ${min}`);
  }
  return v;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Validates the JSON of a brain.json; `source` names the file in errors. */
export function parseBrainManifest(json: unknown, source: string): BrainManifest {
  if (!isRecord(json)) throw new UserError(`${source}: expected a JSON object`);
  checkKeys(json, ["name", "description", "tr", "firstRowTime", "targets", "runs"], "the manifest", source);
  const name = str(json, "name", "manifest", source);
  if (!ID.test(name)) throw new UserError(`${source}: name "${name}" must be letters, digits, ".", "_" and "-"`);
  const tr = optNum(json, "tr", "manifest", source, 0, true);
  if (tr === undefined) throw new UserError(`${source}: manifest.tr (seconds per BOLD row) is required`);
  const firstRowTime = optNum(json, "firstRowTime", "manifest", source, 0, false);
  let targets: string[] | undefined;
  if (json.targets !== undefined) {
    if (!Array.isArray(json.targets) || json.targets.length === 0 || !json.targets.every((t) => typeof t === "string" && t !== "")) {
      throw new UserError(`${source}: manifest.targets must be a non-empty array of names`);
    }
    targets = json.targets as string[];
    const dup = targets.find((t, i) => targets!.indexOf(t) !== i);
    if (dup !== undefined) throw new UserError(`${source}: target "${dup}" appears twice`);
  }
  if (!Array.isArray(json.runs) || json.runs.length === 0) throw new UserError(`${source}: manifest.runs must be a non-empty array`);
  const runIds = new Set<string>();
  const runs: ManifestRun[] = json.runs.map((r: unknown, i: number): ManifestRun => {
    const where = `runs[${i}]`;
    if (!isRecord(r)) throw new UserError(`${source}: ${where} must be an object`);
    checkKeys(r, ["id", "stimulus", "firstRowTime", "subjects"], where, source);
    const id = str(r, "id", where, source);
    if (!ID.test(id)) throw new UserError(`${source}: ${where}.id "${id}" must be letters, digits, ".", "_" and "-"`);
    if (runIds.has(id)) throw new UserError(`${source}: run id "${id}" appears twice`);
    runIds.add(id);
    const s = r.stimulus;
    if (!isRecord(s)) throw new UserError(`${source}: ${where}.stimulus must be an object like {"wav": "stim.wav"} or {"textgrid": "words.TextGrid"}`);
    checkKeys(s, ["wav", "textgrid", "tier"], `${where}.stimulus`, source);
    const stimulus: StimulusSpec = { wav: optStr(s, "wav", `${where}.stimulus`, source), textgrid: optStr(s, "textgrid", `${where}.stimulus`, source), tier: optStr(s, "tier", `${where}.stimulus`, source) };
    if (stimulus.wav === undefined && stimulus.textgrid === undefined) throw new UserError(`${source}: ${where}.stimulus needs "wav" or "textgrid"`);
    if (!Array.isArray(r.subjects) || r.subjects.length === 0) throw new UserError(`${source}: ${where}.subjects must be a non-empty array`);
    const subjectIds = new Set<string>();
    const subjects: ManifestSubject[] = r.subjects.map((sub: unknown, j: number): ManifestSubject => {
      const w = `${where}.subjects[${j}]`;
      if (!isRecord(sub)) throw new UserError(`${source}: ${w} must be an object`);
      checkKeys(sub, ["id", "bold", "mask"], w, source);
      const sid = str(sub, "id", w, source);
      if (!ID.test(sid)) throw new UserError(`${source}: ${w}.id "${sid}" must be letters, digits, ".", "_" and "-"`);
      if (subjectIds.has(sid)) throw new UserError(`${source}: subject "${sid}" appears twice in run "${id}"`);
      subjectIds.add(sid);
      return { id: sid, bold: str(sub, "bold", w, source), mask: optStr(sub, "mask", w, source) };
    });
    return { id, stimulus, firstRowTime: optNum(r, "firstRowTime", where, source, 0, false), subjects };
  });
  return { name, tr, firstRowTime, targets, runs };
}

export function readBrainManifest(file: string): BrainManifest {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === "ENOENT" ? `${file}: file not found` : `${file}: cannot read (${code ?? String(err)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${oneLine(err)})`);
  }
  return parseBrainManifest(json, file);
}

// ---------------------------------------------------------------------------------------------
// Validation helpers

/** Why a subject's matrix is unusable, or null: constant or non-finite columns. */
export function columnProblem(m: BoldMatrix, names: readonly string[]): string | null {
  const bad: string[] = [];
  let constant = 0;
  let nonFinite = 0;
  for (let c = 0; c < m.cols; c++) {
    let min = Infinity;
    let max = -Infinity;
    let badRow = -1;
    for (let r = 0; r < m.rows; r++) {
      const v = m.data[r * m.cols + c];
      if (!Number.isFinite(v)) {
        badRow = r;
        break;
      }
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const name = names[c] ?? `column ${c + 1}`;
    if (badRow >= 0) {
      nonFinite++;
      bad.push(`${name} has ${m.data[badRow * m.cols + c]} in row ${badRow + 1}`);
    } else if (max === min) {
      constant++;
      bad.push(`${name} is constant (${min})`);
    }
  }
  if (bad.length === 0) return null;
  if (constant === m.cols) {
    const first = m.data[0];
    const same = m.data.every((v) => v === first);
    return `all ${m.cols} columns are constant${same ? ` (every value is ${first})` : ""}`;
  }
  const shown = bad.slice(0, 3).join("; ") + (bad.length > 3 ? `; and ${bad.length - 3} more` : "");
  const what = [constant > 0 ? `${constant} constant` : "", nonFinite > 0 ? `${nonFinite} with NaN/Inf` : ""].filter((s) => s).join(", ");
  return `${bad.length} of ${m.cols} columns unusable (${what}): ${shown}`;
}

function requireFile(file: string, what: string, manifestFile: string): void {
  if (!existsSync(file)) throw new UserError(`${file}: file not found (${what} in ${manifestFile})`);
}

function hashFloat32(h: ReturnType<typeof createHash>, data: Float32Array): void {
  h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

// ---------------------------------------------------------------------------------------------
// Loading

interface LoadedStimulus {
  samples: Float32Array;
  source: string;
  duration: number;
  words?: StimulusWord[];
  /** What identifies the stimulus content, for the data set hash. */
  identity: string;
}

async function loadStimulus(spec: StimulusSpec, baseDir: string, runId: string, manifestFile: string, opts: LoadBrainOptions): Promise<LoadedStimulus> {
  const tier = spec.tier ?? "word";
  if (spec.wav !== undefined) {
    const wav = resolve(baseDir, spec.wav);
    requireFile(wav, `stimulus of run "${runId}"`, manifestFile);
    const samples = loadAudio16k(wav, { onNotice: opts.onNotice });
    let words: StimulusWord[] | undefined;
    if (spec.textgrid !== undefined) {
      const tgFile = resolve(baseDir, spec.textgrid);
      requireFile(tgFile, `word timings of run "${runId}"`, manifestFile);
      words = spokenWords(intervalTier(readTextGrid(tgFile), tier, tgFile)).words;
    }
    const identity = createHash("sha256").update(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength)).update(JSON.stringify(words ?? null)).digest("hex");
    return { samples, source: wav, duration: samples.length / SR, words, identity };
  }
  const tgFile = resolve(baseDir, spec.textgrid as string);
  requireFile(tgFile, `stimulus word timings of run "${runId}"`, manifestFile);
  const plan = planTextGridStimulus(tgFile, tier, opts.voice ?? STIMULUS_VOICE);
  if (plan.dropped.length > 0) opts.onNotice?.(`${tgFile}: ${plan.dropped.length} labels not spoken (${plan.dropped.slice(0, 5).map((d) => `"${d}"`).join(", ")}${plan.dropped.length > 5 ? ", ..." : ""})`);
  let samples: Float32Array = new Float32Array(0);
  let source = `${tgFile} (synthesised with eSpeak, not loaded)`;
  if (opts.stimulus !== false) {
    const synth = await synthesizePlanned(plan, { cacheDir: opts.cacheDir, progress: opts.progress, onProgress: opts.onProgress, onNotice: opts.onNotice });
    samples = synth.samples;
    source = `${tgFile} (synthesised with eSpeak: ${synth.cachePath})`;
    if (!synth.cached) opts.onNotice?.(`${tgFile}: stimulus synthesised in ${synth.seconds.toFixed(0)} s`);
  }
  return { samples, source, duration: plan.duration, words: plan.words, identity: `textgrid:${plan.key}` };
}

interface LoadedSubject {
  spec: ManifestSubject;
  file: string;
  matrix: BoldMatrix;
  /** Names from a text/CSV header (declared by the user), as opposed to NIfTI coordinates. */
  headerNames: boolean;
}

/** Loads a data set described by a manifest object whose paths are relative to `baseDir`. */
export async function loadManifestDataset(manifest: BrainManifest, baseDir: string, manifestFile: string, opts: LoadBrainOptions = {}): Promise<BrainDataset> {
  const notice = opts.onNotice ?? (() => {});
  const hash = createHash("sha256").update(`brain-dataset-v1\0${manifest.name}\0${manifest.tr}\0`);
  let targetNames: string[] | undefined = manifest.targets ? [...manifest.targets] : undefined;
  let targetsFrom = manifest.targets ? `${manifestFile} "targets"` : "";
  const runs: BrainRun[] = [];
  const skipped: SkippedSubject[] = [];

  // BOLD first (cheap, and its errors should not wait for a stimulus synthesis).
  const loadedRuns: Array<{ run: ManifestRun; subjects: LoadedSubject[]; rows: number }> = [];
  for (const run of manifest.runs) {
    const subjects: LoadedSubject[] = [];
    for (const s of run.subjects) {
      const file = resolve(baseDir, s.bold);
      requireFile(file, `BOLD of subject "${s.id}", run "${run.id}"`, manifestFile);
      const mask = s.mask !== undefined ? resolve(baseDir, s.mask) : undefined;
      if (mask !== undefined) requireFile(mask, `mask of subject "${s.id}", run "${run.id}"`, manifestFile);
      const matrix = readBold(file, { mask });
      if (matrix.rows < 2) throw new UserError(`${file}: ${matrix.rows} row; a BOLD time course needs at least 2 rows`);
      const headerNames = matrix.names !== undefined && boldFormat(file) !== "nifti";
      // Target count and names must agree across every subject of every run.
      if (targetNames === undefined) {
        targetNames = matrix.names ? [...matrix.names] : Array.from({ length: matrix.cols }, (_, i) => `t${i + 1}`);
        targetsFrom = file;
      } else if (matrix.cols !== targetNames.length) {
        throw new UserError(`${file}: ${matrix.cols} targets (columns), but ${targetsFrom} has ${targetNames.length}`);
      }
      if (matrix.names && (headerNames || !manifest.targets) && matrix.names.some((n, i) => n !== targetNames![i])) {
        const i = matrix.names.findIndex((n, k) => n !== targetNames![k]);
        throw new UserError(`${file}: column ${i + 1} is "${matrix.names[i]}" but ${targetsFrom} names it "${targetNames[i]}"`);
      }
      subjects.push({ spec: s, file, matrix, headerNames });
    }
    const first = subjects[0];
    const other = subjects.find((s) => s.matrix.rows !== first.matrix.rows);
    if (other) {
      throw new UserError(`${other.file}: ${other.matrix.rows} rows, but ${first.file} (subject "${first.spec.id}") has ${first.matrix.rows} in run "${run.id}"; subjects of one run must have the same number of TRs`);
    }
    loadedRuns.push({ run, subjects, rows: first.matrix.rows });
  }
  const names = targetNames as string[];

  for (const { run, subjects, rows } of loadedRuns) {
    const firstRowTime = run.firstRowTime ?? manifest.firstRowTime ?? 0;
    const tr = manifest.tr;
    const stim = await loadStimulus(run.stimulus, baseDir, run.id, manifestFile, opts);
    const end = firstRowTime + rows * tr;
    // The last row (at firstRowTime + (rows-1) tr) must lie within the stimulus.
    if (end > stim.duration + tr + 1e-6) {
      throw new UserError(`${subjects[0].file}: ${rows} rows x TR ${tr} s from ${firstRowTime} s end at ${end.toFixed(2)} s, more than one TR past the end of the stimulus (${stim.duration.toFixed(2)} s, ${stim.source}) in run "${run.id}"`);
    }
    if (end < stim.duration - tr) {
      notice(`run "${run.id}": BOLD covers ${firstRowTime.toFixed(1)}-${end.toFixed(1)} s of a ${stim.duration.toFixed(1)} s stimulus (the rest has no BOLD rows)`);
    }
    hash.update(`run\0${run.id}\0${firstRowTime}\0${stim.identity}\0`);
    const usable: BrainSubject[] = [];
    for (const s of subjects) {
      const problem = columnProblem(s.matrix, names);
      if (problem !== null) {
        skipped.push({ subject: s.spec.id, run: run.id, reason: `${basename(s.file)}: ${problem}` });
        notice(`skipping subject ${s.spec.id} of run "${run.id}": ${s.file}: ${problem}`);
        hash.update(`skipped\0${s.spec.id}\0`);
        continue;
      }
      hash.update(`subject\0${s.spec.id}\0${s.matrix.rows}\0${s.matrix.cols}\0`);
      hashFloat32(hash, s.matrix.data);
      usable.push({ id: s.spec.id, bold: s.matrix.data, rows: s.matrix.rows, source: s.file });
    }
    if (usable.length === 0) {
      notice(`run "${run.id}": no usable subjects; the run is left out`);
      continue;
    }
    runs.push({ id: run.id, stimulus: stim.samples, stimulusSource: stim.source, tr, firstRowTime, subjects: usable, stimulusDuration: stim.duration, words: stim.words });
  }
  if (runs.length === 0) throw new UserError(`${manifestFile}: no usable subjects in any run (${skipped.map((s) => `${s.subject}: ${s.reason}`).join("; ")})`);
  hash.update(JSON.stringify(names));
  return { name: manifest.name, targetNames: names, runs, skipped, hash: hash.digest("hex").slice(0, 16) };
}

function readTruth(file: string): SimulationTruth {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${oneLine(err)})`);
  }
  if (!isRecord(json) || json.kind !== "superb-brain-simulation" || !Array.isArray(json.rois) || !Array.isArray(json.features) || typeof json.snr !== "number") {
    throw new UserError(`${file}: not a simulation truth file (expected "kind": "superb-brain-simulation" with rois, features and snr)`);
  }
  return json as unknown as SimulationTruth;
}

export type BrainDatasetLocation = { kind: "manifest"; file: string } | { kind: "alice"; dir: string; radius: AliceRadius };

/** Where a data-set argument points (see the top of this file). */
export function resolveBrainDataset(pathOrName: string): BrainDatasetLocation {
  const named = /^alice(?::(6mm|10mm))?$/i.exec(pathOrName);
  if (named && !existsSync(pathOrName)) {
    const dir = defaultAliceDir();
    if (!looksLikeAlice(dir)) throw new UserError(`${pathOrName}: the Alice fMRI data is not at ${dir} (set SUPERB_ALICE_DIR to its folder)`);
    return { kind: "alice", dir, radius: (named[1]?.toLowerCase() as AliceRadius | undefined) ?? "6mm" };
  }
  const suffix = /^(.*):(6mm|10mm)$/.exec(pathOrName);
  if (suffix && !existsSync(pathOrName) && looksLikeAlice(suffix[1])) return { kind: "alice", dir: resolve(suffix[1]), radius: suffix[2] as AliceRadius };
  if (!existsSync(pathOrName)) {
    throw new UserError(`${pathOrName}: no such file or folder (expected a ${MANIFEST_FILE}, a folder with one, the Alice fMRI folder, or "alice" / "alice:10mm")`);
  }
  if (statSync(pathOrName).isDirectory()) {
    const manifest = join(pathOrName, MANIFEST_FILE);
    if (existsSync(manifest)) return { kind: "manifest", file: resolve(manifest) };
    if (looksLikeAlice(pathOrName)) return { kind: "alice", dir: resolve(pathOrName), radius: "6mm" };
    throw new UserError(`${pathOrName}: not a brain data set (no ${MANIFEST_FILE}, and not the Alice fMRI folder)`);
  }
  return { kind: "manifest", file: resolve(pathOrName) };
}

/** Loads and validates a brain data set (see the top of this file for what is accepted). */
export async function loadBrainDataset(pathOrName: string, opts: LoadBrainOptions = {}): Promise<BrainDataset> {
  const loc = resolveBrainDataset(pathOrName);
  if (loc.kind === "alice") {
    if (!ALICE_RADII.includes(loc.radius)) throw new UserError(`${pathOrName}: unknown ROI radius ${loc.radius}`);
    return loadManifestDataset(aliceManifest(loc.dir, loc.radius), loc.dir, loc.dir, opts);
  }
  const manifest = readBrainManifest(loc.file);
  const ds = await loadManifestDataset(manifest, dirname(loc.file), loc.file, opts);
  const truthFile = join(dirname(loc.file), TRUTH_FILE);
  if (existsSync(truthFile)) ds.truth = readTruth(truthFile);
  return ds;
}
