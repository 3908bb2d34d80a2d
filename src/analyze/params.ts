/**
 * How far training moved each part of a wav2vec 2.0 model: the relative change
 * 100 * ||θB − θA||₂ / ||θA||₂ of every (transformer layer, parameter type) cell, of the
 * model-level modules, of each parameter group and of the whole encoder, as in the per-layer,
 * per-type heatmaps of Li et al. (2024, Figure 2). Each cell's tensors (e.g. a projection's
 * weight and bias) are concatenated into one vector before taking norms.
 *
 * Choices, so that numbers mean what they say:
 * - The positional conv is compared through its effective weight w = g · v / ||v|| (plus its
 *   bias), not g and v separately: weight norm is a reparametrisation, and v can grow or shrink
 *   without changing what the model computes.
 * - `masked_spec_embed` (only used while pre-training, to replace masked frames) and the
 *   pre-training heads (quantizer, project_q, project_hid) are left out: they do not affect the
 *   hidden states a downstream sees.
 */
import Table from "cli-table3";
import { UserError } from "../errors.js";
import { combineSvgs, heatmapSvg } from "../plot/svg.js";
import type { Wav2Vec2Config } from "../wav2vec2/config.js";
import { loadHfFolder } from "../wav2vec2/hf-io.js";
import { resolveWav2Vec2Folder } from "../wav2vec2/shipped.js";
import { numElements, paramSpecs, weightNormWeight, type ParamGroup, type ParamMap, type ParamTensor } from "../wav2vec2/params.js";
import type { AnalysisFormat } from "./layers.js";

export const LAYER_PARAM_TYPES = [
  "attention.q",
  "attention.k",
  "attention.v",
  "attention.out",
  "feed_forward.intermediate",
  "feed_forward.output",
  "layer_norm",
  "final_layer_norm",
] as const;

export type LayerParamType = (typeof LAYER_PARAM_TYPES)[number];

export type ModelComponent = "conv encoder" | "feature projection" | "positional conv" | "encoder layer norm";

export interface ParamChange {
  /** 100 * ||B − A|| / ||A||; null when ||A|| = 0 and B differs (no relative scale), 0 when both are 0. */
  percent: number | null;
  normA: number;
  normDiff: number;
  /** Number of scalars compared. */
  numel: number;
}

export interface LayerParamChange {
  layer: number;
  cells: Record<LayerParamType, ParamChange>;
  /** All parameters of the layer together. */
  overall: ParamChange;
}

export interface ModelParamChange {
  component: ModelComponent;
  /** Conv layer index for "conv encoder", else undefined. */
  index?: number;
  /** Row name: "conv encoder 3", "feature projection", ... */
  label: string;
  change: ParamChange;
}

export interface ParamChangeAnalysis {
  types: LayerParamType[];
  layers: LayerParamChange[];
  model: ModelParamChange[];
  /** One row per parameter group of src/wav2vec2/params.ts (masking and pre-training excluded). */
  groups: { group: ParamGroup; change: ParamChange }[];
  /** Every compared parameter together. */
  overall: ParamChange;
  notes: string[];
}

/** Accumulates squared norms in float64 (float32 sums of ~10^6 squares lose digits). */
class Acc {
  a2 = 0;
  d2 = 0;
  numel = 0;
  add(a: Float32Array, b: Float32Array): void {
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      const d = b[i] - x;
      this.a2 += x * x;
      this.d2 += d * d;
    }
    this.numel += a.length;
  }
  merge(o: Acc): void {
    this.a2 += o.a2;
    this.d2 += o.d2;
    this.numel += o.numel;
  }
  result(): ParamChange {
    const normA = Math.sqrt(this.a2);
    const normDiff = Math.sqrt(this.d2);
    const percent = normA > 0 ? (100 * normDiff) / normA : normDiff === 0 ? 0 : null;
    return { percent, normA, normDiff, numel: this.numel };
  }
}

const PROJ_TYPES: Record<string, LayerParamType> = {
  q_proj: "attention.q",
  k_proj: "attention.k",
  v_proj: "attention.v",
  out_proj: "attention.out",
  intermediate_dense: "feed_forward.intermediate",
  output_dense: "feed_forward.output",
};

/** The (layer, type) cell of a transformer-layer parameter, from its HF name. */
function layerType(name: string): LayerParamType {
  const m = /^encoder\.layers\.\d+\.(?:attention\.(q_proj|k_proj|v_proj|out_proj)|feed_forward\.(intermediate_dense|output_dense)|(layer_norm|final_layer_norm))\./.exec(name);
  if (!m) throw new Error(`internal: no parameter type for ${name}`);
  return m[3] !== undefined ? (m[3] as LayerParamType) : PROJ_TYPES[m[1] ?? m[2]];
}

function sameShape(x: readonly number[], y: readonly number[]): boolean {
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

function get(map: ParamMap, name: string, side: "A" | "B"): ParamTensor {
  const t = map.get(name);
  if (t === undefined) throw new UserError(`${name}: missing from upstream ${side}`);
  return t;
}

const POS_G = "encoder.pos_conv_embed.conv.weight_g";
const POS_V = "encoder.pos_conv_embed.conv.weight_v";

/**
 * Relative change of every parameter cell from A to B. Both maps must hold the parameters of
 * `config` with the same shapes (a shape mismatch or a missing tensor is a UserError naming it).
 */
export function analyzeParamChange(a: ParamMap, b: ParamMap, config: Wav2Vec2Config): ParamChangeAnalysis {
  const L = config.num_hidden_layers;
  const layerAcc = Array.from({ length: L }, () => new Map<LayerParamType, Acc>(LAYER_PARAM_TYPES.map((t) => [t, new Acc()])));
  const convAcc = config.conv_dim.map(() => new Acc());
  const moduleAcc = new Map<Exclude<ModelComponent, "conv encoder">, Acc>([
    ["feature projection", new Acc()],
    ["positional conv", new Acc()],
    ["encoder layer norm", new Acc()],
  ]);
  const groupAcc = new Map<ParamGroup, Acc>();
  const overall = new Acc();
  const notes: string[] = [];

  const specs = paramSpecs(config).filter((s) => s.group !== "masking" && s.group !== "pretraining");
  for (const s of specs) {
    const ta = get(a, s.name, "A");
    const tb = get(b, s.name, "B");
    if (!sameShape(ta.shape, tb.shape)) {
      throw new UserError(`${s.name}: shape [${ta.shape.join(", ")}] in A but [${tb.shape.join(", ")}] in B; the upstreams have different architectures`);
    }
    if (!sameShape(ta.shape, s.shape) || ta.data.length !== numElements(s.shape) || tb.data.length !== numElements(s.shape)) {
      throw new UserError(`${s.name}: shape [${ta.shape.join(", ")}], expected [${s.shape.join(", ")}] for this config`);
    }
  }

  const add = (acc: Acc, da: Float32Array, db: Float32Array, group: ParamGroup): void => {
    const part = new Acc();
    part.add(da, db);
    acc.merge(part);
    if (!groupAcc.has(group)) groupAcc.set(group, new Acc());
    groupAcc.get(group)!.merge(part);
    overall.merge(part);
  };

  for (const s of specs) {
    if (s.name === POS_G) continue; // compared with weight_v, as the effective weight
    let da = a.get(s.name)!.data;
    let db = b.get(s.name)!.data;
    if (s.name === POS_V) {
      da = weightNormWeight(a.get(POS_G)!, a.get(POS_V)!).data;
      db = weightNormWeight(b.get(POS_G)!, b.get(POS_V)!).data;
    }
    if (s.layer !== undefined) {
      add(layerAcc[s.layer].get(layerType(s.name))!, da, db, s.group);
      continue;
    }
    switch (s.group) {
      case "feature_extractor": {
        const m = /^feature_extractor\.conv_layers\.(\d+)\./.exec(s.name);
        if (!m) throw new Error(`internal: unexpected ${s.name}`);
        add(convAcc[Number(m[1])], da, db, s.group);
        break;
      }
      case "feature_projection":
        add(moduleAcc.get("feature projection")!, da, db, s.group);
        break;
      case "pos_conv":
        add(moduleAcc.get("positional conv")!, da, db, s.group);
        break;
      case "encoder_layer_norm":
        add(moduleAcc.get("encoder layer norm")!, da, db, s.group);
        break;
      default:
        throw new Error(`internal: parameter ${s.name} of group ${s.group} has no row`);
    }
  }

  const layers: LayerParamChange[] = layerAcc.map((cells, layer) => {
    const all = new Acc();
    for (const acc of cells.values()) all.merge(acc);
    const out = {} as Record<LayerParamType, ParamChange>;
    for (const t of LAYER_PARAM_TYPES) out[t] = cells.get(t)!.result();
    return { layer, cells: out, overall: all.result() };
  });
  const model: ModelParamChange[] = [
    ...convAcc.map((acc, index) => ({ component: "conv encoder" as const, index, label: `conv encoder ${index}`, change: acc.result() })),
    ...[...moduleAcc].map(([component, acc]) => ({ component, label: component, change: acc.result() })),
  ];
  const groups = [...groupAcc].map(([group, acc]) => ({ group, change: acc.result() }));
  const unchanged = overall.result();
  if (unchanged.normDiff === 0) notes.push("A and B are identical in every compared parameter.");
  if ([...layers.flatMap((l) => Object.values(l.cells)), ...model.map((m) => m.change)].some((c) => c.percent === null)) {
    notes.push("n/a: the parameter is all zeros in A, so a relative change is undefined (see normDiff in json).");
  }
  return { types: [...LAYER_PARAM_TYPES], layers, model, groups, overall: unchanged, notes };
}

export function formatPercent(p: number | null): string {
  if (p === null) return "n/a";
  if (p === 0) return "0";
  // Fine-tuning changes can be tiny: keep them visible rather than rounding to 0.00.
  if (p < 0.01) return p.toExponential(1);
  return p.toFixed(2);
}

function render(format: "table" | "markdown", head: string[], rows: string[][]): string {
  if (format === "markdown") {
    const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
    for (const r of rows) lines.push(`| ${r.join(" | ")} |`);
    return lines.join("\n");
  }
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) table.push(r);
  return table.toString();
}

export function formatParamAnalysis(x: ParamChangeAnalysis, format: AnalysisFormat): string {
  if (format === "json") return JSON.stringify(x, null, 2);
  const parts = [
    render(format, ["layer", ...x.types, "all"], x.layers.map((l) => [String(l.layer), ...x.types.map((t) => formatPercent(l.cells[t].percent)), formatPercent(l.overall.percent)])),
    render(format, ["module", "% change", "parameters"], x.model.map((m) => [m.label, formatPercent(m.change.percent), String(m.change.numel)])),
    render(format, ["group", "% change", "parameters"], [
      ...x.groups.map((g) => [g.group, formatPercent(g.change.percent), String(g.change.numel)]),
      ["all", formatPercent(x.overall.percent), String(x.overall.numel)],
    ]),
    ["% change: 100 * ||B − A||₂ / ||A||₂ per cell; positional conv compared through its effective weight g·v/||v||.", ...x.notes].join("\n"),
  ];
  return parts.join("\n\n");
}

/**
 * Rows = transformer layers, columns = parameter types (as Li et al. 2024, Figure 2), with the
 * model-level modules as a strip below on the same colour scale.
 */
export function paramChangeHeatmapSvg(x: ParamChangeAnalysis): string {
  const all = [...x.layers.flatMap((l) => x.types.map((t) => l.cells[t].percent)), ...x.model.map((m) => m.change.percent)];
  const finite = all.filter((v): v is number => v !== null && Number.isFinite(v));
  const domain: [number, number] = [0, finite.length > 0 && Math.max(...finite) > 0 ? Math.max(...finite) : 1];
  const valueFormat = (v: number) => formatPercent(v);
  const layers = heatmapSvg({
    title: "Relative parameter change (%) per transformer layer",
    rowLabels: x.layers.map((l) => `layer ${l.layer}`),
    colLabels: x.types,
    values: x.layers.map((l) => x.types.map((t) => l.cells[t].percent)),
    valueFormat,
    xLabel: "parameter type",
    yLabel: "layer",
    showValues: true,
    domain,
  });
  const modules = heatmapSvg({
    title: "Model-level modules (%)",
    rowLabels: ["change"],
    colLabels: x.model.map((m) => m.label),
    values: [x.model.map((m) => m.change.percent)],
    valueFormat,
    showValues: true,
    domain,
  });
  return combineSvgs([layers, modules], { gap: 4 });
}

/**
 * Parameters only compare between models of one architecture: same tensor names and shapes
 * (pre-training heads aside). Dropout rates, masking and other training-only fields may differ.
 */
export function checkSameArchitecture(a: Wav2Vec2Config, b: Wav2Vec2Config, nameA = "A", nameB = "B"): void {
  const fields = ["conv_dim", "conv_kernel", "conv_bias", "feat_extract_norm", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "num_conv_pos_embeddings", "num_conv_pos_embedding_groups", "do_stable_layer_norm"] as const;
  const differ = fields.filter((f) => JSON.stringify(a[f]) !== JSON.stringify(b[f]));
  if (differ.length > 0) {
    const shown = differ.slice(0, 3).map((f) => `${f} ${JSON.stringify(a[f])} vs ${JSON.stringify(b[f])}`).join(", ");
    throw new UserError(`${nameA} and ${nameB} have different architectures (${shown}); parameters only compare between models of one architecture`);
  }
}

/** Registered upstreams that are not wav2vec2 models (fbank, mfcc, ...), found like src/registry.ts does. */
export interface UpstreamParams {
  config: Wav2Vec2Config;
  params: ParamMap;
  /** The folder the parameters were read from. */
  source: string;
}

/**
 * Parameters of an upstream to compare: a HuggingFace folder path, `hf:<dir>`, or the name of a
 * shipped upstream (`upstreams/<name>/` under the package root). Upstreams without stored
 * parameters (fbank, mfcc, onnx:<file>, wav2vec2-base's run-time random init) are refused.
 */
export function loadUpstreamParams(spec: string): UpstreamParams {
  const dir = resolveWav2Vec2Folder(spec);
  const { config, params } = loadHfFolder(dir);
  return { config, params, source: dir };
}
