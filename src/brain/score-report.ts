/**
 * Brain-score results on disk: a JSON document (the full result plus context such as the
 * upstream and data set) and an SVG figure (r per layer for each target, with the control, and a
 * layer x target heatmap).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "../fs-atomic.js";
import { combineSvgs, heatmapSvg, lineChartSvg } from "../plot/svg.js";
import type { BrainScoreResult } from "./score.js";

/** Bump when the JSON layout changes. */
export const BRAIN_SCORE_FORMAT_VERSION = 1;

/** Free-form context saved beside the result (upstream, data set, hemodynamic model, ...). */
export type BrainScoreContext = Record<string, string | number | boolean | null>;

export interface BrainScoreDocument {
  kind: "brain-score";
  formatVersion: number;
  createdAt: string;
  context: BrainScoreContext;
  result: BrainScoreResult;
}

export function brainScoreDocument(result: BrainScoreResult, context: BrainScoreContext = {}): BrainScoreDocument {
  return { kind: "brain-score", formatVersion: BRAIN_SCORE_FORMAT_VERSION, createdAt: new Date().toISOString(), context, result };
}

/** Writes the result as JSON (atomically; the folder is created if missing). */
export function writeBrainScoreJson(file: string, result: BrainScoreResult, context: BrainScoreContext = {}): void {
  mkdirSync(dirname(file), { recursive: true });
  // Rounded to 6 decimals: r values do not carry more, and the file stays readable.
  const json = JSON.stringify(brainScoreDocument(result, context), (_key, value: unknown) => (typeof value === "number" && !Number.isInteger(value) ? Number(value.toPrecision(6)) : value), 2);
  writeFileAtomic(file, `${json}\n`);
}

/**
 * The figure: a line chart of mean r per layer for every target (plus the control averaged over
 * targets, when computed) above a heatmap of r [layer x target].
 */
export function brainScoreSvg(result: BrainScoreResult, title = "Brain score per layer"): string {
  const xLabels = Array.from({ length: result.layers }, (_, l) => String(l));
  const series = result.targetNames.map((name, j) => ({ label: name, values: result.r.map((row) => row[j]) }));
  if (result.controlR.length > 0) {
    const label = result.options.control === "shift" ? "control (shifted), mean" : "control (permuted), mean";
    series.push({ label, values: result.controlR.map((row) => row.reduce((a, b) => a + b, 0) / row.length) });
  }
  const lines = lineChartSvg({ title, xLabels, series, xLabel: "layer", yLabel: "Pearson r", yRange: [0, 0] });
  const heat = heatmapSvg({
    title: "r per layer and target",
    rowLabels: xLabels,
    colLabels: result.targetNames,
    values: result.r,
    diverging: true,
    showValues: true,
    valueFormat: (v) => v.toFixed(2),
    xLabel: "target",
    yLabel: "layer",
  });
  return combineSvgs([lines, heat], { columns: 1 });
}

export function writeBrainScoreSvg(file: string, result: BrainScoreResult, title?: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, brainScoreSvg(result, title));
}
