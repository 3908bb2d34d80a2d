/**
 * The Alice fMRI data set (Brennan et al. 2016, CC BY 4.0; see ATTRIBUTION.md in its folder):
 * 6 ROI time courses x 362 TRs per participant, TR 2 s, first 10 volumes discarded (row k is the
 * volume at (10 + k) * 2 s of the stimulus clock), word timings in a TextGrid and no audio. It is
 * loaded through the generic manifest path (dataset.ts) from an in-memory manifest, so it gets the
 * same validation as any other set: s33, whose files are constant, is skipped with its reason.
 * The stimulus is synthesised from the TextGrid (stimulus.ts).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { UserError } from "../errors.js";
import { packageRoot } from "../package-info.js";
import type { BrainManifest } from "./types.js";

export const ALICE_TEXTGRID = "DownTheRabbitHoleFinal_exp120_pad_1.TextGrid";
export const ALICE_ROIS: readonly string[] = ["LATL", "RATL", "LPTL", "LIPL", "LPreM", "LIFG"];
export const ALICE_TR = 2;
/** 10 discarded volumes x 2 s. */
export const ALICE_FIRST_ROW_TIME = 20;
export type AliceRadius = "6mm" | "10mm";
export const ALICE_RADII: readonly AliceRadius[] = ["6mm", "10mm"];

/** `$SUPERB_ALICE_DIR`, else `../shared/data/alice-fmri` beside the package root. */
export function defaultAliceDir(): string {
  const env = process.env.SUPERB_ALICE_DIR;
  if (env && env.trim() !== "") return resolve(env);
  return resolve(packageRoot(), "..", "shared", "data", "alice-fmri");
}

/** True for a folder holding the Alice TextGrid and the 6mm/ time courses. */
export function looksLikeAlice(dir: string): boolean {
  try {
    return existsSync(join(dir, ALICE_TEXTGRID)) && statSync(join(dir, "6mm")).isDirectory();
  } catch {
    return false;
  }
}

/** The manifest of the Alice folder: one run, one subject per sNN-timecourses.txt (sorted by number). */
export function aliceManifest(dir: string, radius: AliceRadius = "6mm"): BrainManifest {
  if (!looksLikeAlice(dir)) throw new UserError(`${dir}: not the Alice fMRI folder (needs ${ALICE_TEXTGRID} and 6mm/)`);
  const sub = join(dir, radius);
  if (!existsSync(sub)) throw new UserError(`${sub}: folder not found (radius ${radius})`);
  const files = readdirSync(sub)
    .map((f) => /^s(\d+)-timecourses\.txt$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  if (files.length === 0) throw new UserError(`${sub}: no sNN-timecourses.txt files`);
  return {
    name: `alice-${radius}`,
    tr: ALICE_TR,
    firstRowTime: ALICE_FIRST_ROW_TIME,
    targets: [...ALICE_ROIS],
    runs: [
      {
        id: "alice-ch1",
        stimulus: { textgrid: ALICE_TEXTGRID, tier: "word" },
        subjects: files.map((m) => ({ id: `s${m[1]}`, bold: join(radius, m[0]) })),
      },
    ],
  };
}
