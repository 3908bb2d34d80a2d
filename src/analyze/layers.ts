/**
 * Featurizer layer weights of two upstreams compared task by task: which hidden layers each
 * task's head draws on before (A, e.g. "base") and after (B, e.g. "refined") a change to the
 * upstream. Layer l is hidden state l: 0 is the CNN/projection output (before the transformer),
 * 1..L-1 the transformer layers' outputs, as in s3prl and HF `output_hidden_states`.
 */
import Table from "cli-table3";
import { UserError } from "../errors.js";
import { combineSvgs, groupedBarChartSvg } from "../plot/svg.js";
import { upstreamFolderName, type TaskResult } from "../results.js";

export type AnalysisFormat = "table" | "markdown" | "json";

export interface LayerWeightSummary {
  /** Shannon entropy of the weights in nats (0 ln 0 = 0). */
  entropy: number;
  /** entropy / ln L: 1 for uniform weights, 0 for all weight on one layer (0 when L = 1). */
  normalizedEntropy: number;
  /** sum_l w_l * l, with layers numbered from 0. */
  meanLayer: number;
  /** Index of the largest weight (the first one on ties). */
  argmax: number;
}

export interface TaskLayerWeights {
  task: string;
  numLayers: number;
  /** Weights of upstream A (the first of the pair) and B, one per layer. */
  a: number[];
  b: number[];
  /** b[l] - a[l]. */
  diff: number[];
  summaryA: LayerWeightSummary;
  summaryB: LayerWeightSummary;
}

export interface LayerWeightAnalysis {
  upstreams: [string, string];
  tasks: TaskLayerWeights[];
  /** Tasks skipped and other caveats, one sentence each. */
  notes: string[];
}

const TASK_ORDER = ["pr", "asr", "ic", "sid", "asv"];

function rank(task: string): number {
  const i = TASK_ORDER.indexOf(task);
  return i < 0 ? TASK_ORDER.length : i;
}

/** Softmax outputs sum to 1 up to float32 rounding; a looser sum means the file is not what we think. */
const SUM_TOLERANCE = 1e-3;

export function summarizeLayerWeights(w: readonly number[]): LayerWeightSummary {
  let entropy = 0;
  let meanLayer = 0;
  let argmax = 0;
  w.forEach((x, l) => {
    if (x > 0) entropy -= x * Math.log(x);
    meanLayer += x * l;
    if (x > w[argmax]) argmax = l;
  });
  const normalizedEntropy = w.length > 1 ? entropy / Math.log(w.length) : 0;
  return { entropy, normalizedEntropy, meanLayer, argmax };
}

function matches(r: TaskResult, upstream: string): boolean {
  // Results may be named by spec ("hf:/m/x") or by their folder name ("hf__m_x").
  return r.upstream === upstream || upstreamFolderName(r.upstream) === upstream;
}

function checkWeights(r: TaskResult): number[] {
  const w = r.layerWeights;
  const where = `${r.upstream}/${r.task}`;
  if (!Array.isArray(w) || w.length === 0 || !w.every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0)) {
    throw new UserError(`${where}: layerWeights must be a non-empty list of non-negative numbers`);
  }
  const sum = w.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > SUM_TOLERANCE) throw new UserError(`${where}: layerWeights sum to ${sum.toFixed(4)}, expected 1 (softmax weights)`);
  return [...w];
}

function byTask(results: readonly TaskResult[], upstream: string): Map<string, TaskResult> {
  const out = new Map<string, TaskResult>();
  for (const r of results) {
    if (!matches(r, upstream)) continue;
    if (out.has(r.task)) throw new UserError(`${upstream}/${r.task}: several results; analyse one results folder at a time`);
    out.set(r.task, r);
  }
  return out;
}

/**
 * Compares the layer weights of upstreams A and B per task (all tasks either has, or `tasks`).
 * A task that only one side has is skipped with a note; an upstream with no results at all, a
 * task whose layer counts differ, or no task left to compare are errors.
 */
export function analyzeLayerWeights(results: TaskResult[], upstreams: [string, string], tasks?: string[]): LayerWeightAnalysis {
  const [nameA, nameB] = upstreams;
  if (nameA === nameB) throw new UserError(`upstreams: compare two different upstreams, got "${nameA}" twice`);
  const known = [...new Set(results.map((r) => r.upstream))].sort();
  const sides = upstreams.map((name) => {
    const m = byTask(results, name);
    if (m.size === 0) throw new UserError(`${name}: no results for this upstream (have: ${known.join(", ") || "none"})`);
    return m;
  });
  const [resA, resB] = sides;
  const notes: string[] = [];
  const wanted = tasks && tasks.length > 0 ? [...new Set(tasks)] : [...new Set([...resA.keys(), ...resB.keys()])];
  wanted.sort((x, y) => rank(x) - rank(y) || x.localeCompare(y));

  const out: TaskLayerWeights[] = [];
  for (const task of wanted) {
    const ra = resA.get(task);
    const rb = resB.get(task);
    if (!ra || !rb) {
      const missing = !ra && !rb ? `${nameA} and ${nameB}` : !ra ? nameA : nameB;
      notes.push(`${task}: skipped, no result for ${missing}.`);
      continue;
    }
    const a = checkWeights(ra);
    const b = checkWeights(rb);
    if (a.length !== b.length) {
      throw new UserError(`${task}: ${nameA} has ${a.length} layer weights but ${nameB} has ${b.length}; layer weights only compare between upstreams with the same number of layers`);
    }
    if (ra.corpus?.hash !== rb.corpus?.hash) {
      notes.push(`${task}: ${nameA} and ${nameB} were trained on different corpora (${ra.corpus?.name ?? "?"} vs ${rb.corpus?.name ?? "?"}).`);
    }
    out.push({
      task,
      numLayers: a.length,
      a,
      b,
      diff: b.map((x, l) => x - a[l]),
      summaryA: summarizeLayerWeights(a),
      summaryB: summarizeLayerWeights(b),
    });
  }
  if (out.length === 0) throw new UserError(`no task has results for both ${nameA} and ${nameB}${tasks && tasks.length > 0 ? ` among ${tasks.join(", ")}` : ""}`);
  return { upstreams: [nameA, nameB], tasks: out, notes };
}

function signed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  return v > 0 && Number(s) !== 0 ? `+${s}` : Number(s) === 0 ? (0).toFixed(digits) : s;
}

function summaryRows(x: LayerWeightAnalysis): { head: string[]; rows: string[][] } {
  const [a, b] = x.upstreams;
  const head = ["task", "layers", `H ${a} (nats)`, `H ${b} (nats)`, `H/ln L ${a}`, `H/ln L ${b}`, `mean layer ${a}`, `mean layer ${b}`, `argmax ${a}`, `argmax ${b}`];
  const rows = x.tasks.map((t) => [
    t.task,
    String(t.numLayers),
    t.summaryA.entropy.toFixed(3),
    t.summaryB.entropy.toFixed(3),
    t.summaryA.normalizedEntropy.toFixed(3),
    t.summaryB.normalizedEntropy.toFixed(3),
    t.summaryA.meanLayer.toFixed(2),
    t.summaryB.meanLayer.toFixed(2),
    String(t.summaryA.argmax),
    String(t.summaryB.argmax),
  ]);
  return { head, rows };
}

function weightRows(x: LayerWeightAnalysis, t: TaskLayerWeights): { head: string[]; rows: string[][] } {
  const [a, b] = x.upstreams;
  const head = [t.task, ...t.a.map((_, l) => `layer ${l}`)];
  const rows = [
    [a, ...t.a.map((v) => v.toFixed(3))],
    [b, ...t.b.map((v) => v.toFixed(3))],
    [`${b} − ${a}`, ...t.diff.map((v) => signed(v, 3))],
  ];
  return { head, rows };
}

export function markdownTable(head: string[], rows: string[][]): string {
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
  for (const r of rows) lines.push(`| ${r.join(" | ")} |`);
  return lines.join("\n");
}

export function textTable(head: string[], rows: string[][]): string {
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) table.push(r);
  return table.toString();
}

export function formatLayerAnalysis(x: LayerWeightAnalysis, format: AnalysisFormat): string {
  if (format === "json") return JSON.stringify(x, null, 2);
  const render = format === "markdown" ? markdownTable : textTable;
  const parts: string[] = [];
  const s = summaryRows(x);
  parts.push(render(s.head, s.rows));
  for (const t of x.tasks) {
    const w = weightRows(x, t);
    parts.push(render(w.head, w.rows));
  }
  const legend = "H: entropy of the layer weights (nats); H/ln L: 1 = uniform, 0 = one layer; mean layer: sum of weight x layer index (0 = CNN output).";
  parts.push([legend, ...x.notes].join("\n"));
  return parts.join("\n\n");
}

/**
 * One SVG with small multiples: a grouped bar chart per task (weights of A and B per layer),
 * two charts per row, all on one page so the tasks compare at a glance.
 */
export function layerAnalysisSvg(x: LayerWeightAnalysis): string {
  const [a, b] = x.upstreams;
  // One y range for all panels, so that bar heights compare across tasks.
  const top = Math.max(...x.tasks.flatMap((t) => [...t.a, ...t.b]));
  const charts = x.tasks.map((t) =>
    groupedBarChartSvg({
      title: `${t.task.toUpperCase()}: layer weights`,
      categories: t.a.map((_, l) => String(l)),
      series: [
        { label: a, values: t.a },
        { label: b, values: t.b },
      ],
      yLabel: "weight",
      xLabel: "layer (0 = CNN output)",
      yRange: [0, top],
      width: 420,
      height: 280,
    }),
  );
  return combineSvgs(charts, { columns: Math.min(2, charts.length), gap: 8, title: `Featurizer layer weights: ${a} vs ${b}` });
}
