/**
 * Brain refinement of a wav2vec 2.0 upstream (Li et al. 2024, "Refining self-supervised learnt
 * speech representation using brain activations"): a neural-encoding head on the upstream's
 * hidden states predicts the BOLD of every target (ROI/voxel) at a TR from the audio of the last
 * n TRs; the loss is MSE plus an L2 penalty on the head. Stage 1 trains the head with the upstream
 * frozen; stage 2 trains the upstream (transformer, projection and positional conv; the CNN only
 * with trainCnn) and the head together at a lower learning rate.
 *
 * The head: a softmax-weighted sum of all hidden states (weights start equal, as the SUPERB
 * featurizer), mean-pooled per TR bin, each layer standardised with statistics of the training
 * bins under the initial upstream, the n bins ending at row k's acquisition time flattened, one
 * linear map to the targets.
 *
 * Computation is shared between neighbouring rows: the stimulus is cut into segments of
 * `segmentRows` target rows plus the n - 1 bins of history before them; one forward pass serves
 * every row of a segment (the transformer sees the segment as one utterance). Segments never mix
 * training and held-out rows, and `history` rows before the held-out block are dropped from
 * training so no audio of a held-out window is trained on.
 *
 * Determinism: the segment order of stage-2 step s comes from (seed, s), so a resumed run repeats
 * an uninterrupted one (same backend and machine).
 */
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { initTensorBackend } from "../backend.js";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../fs-atomic.js";
import { packageVersion } from "../package-info.js";
import { startProgress } from "../progress.js";
import { Rng, deriveSeed } from "../random.js";
import { readSafetensors, writeSafetensors, type TensorMap } from "../safetensors.js";
import { SAMPLE_RATE } from "../upstream.js";
import { AdamW, gradsByParamName } from "../wav2vec2/adamw.js";
import { frameHop, numFrames, receptiveField, type Wav2Vec2Config } from "../wav2vec2/config.js";
import { loadHfFolder } from "../wav2vec2/hf-io.js";
import { zeroMeanUnitVarianceInPlace } from "../wav2vec2/normalize.js";
import { wav2vec2Identity } from "../wav2vec2/upstream.js";
import { buildOnnxModel } from "../wav2vec2/onnx-export.js";
import { paramSpecs, type ParamMap, type ParamTensor } from "../wav2vec2/params.js";
import { writeWav2Vec2Folder } from "../wav2vec2/pretrain.js";
import { createTfVariables, encodeHiddenStates, extractFeatures, projectFeatures, readTfParams } from "../wav2vec2/tfjs-model.js";
import { pearson } from "./stats.js";
import type { BrainDataset } from "./types.js";

export interface RefineOptions {
  /** HF folder of the upstream to refine (config.json + model.safetensors). */
  upstreamDir: string;
  /** Name recorded in the model card (e.g. "base"). */
  upstreamName?: string;
  /** The command line that started the run, for the model card. */
  command?: string;
  dataset: BrainDataset;
  outDir: string;
  /** TRs of audio history per prediction (default 6, Li et al.'s n). */
  history?: number;
  /**
   * Weight of the L2 penalty on the head's linear map, added to the mean squared error. "auto"
   * (default) picks it from L2_GRID by the MSE of a head trained on the first 75 % of each run's
   * training segments and validated on the rest (the held-out block is never looked at).
   */
  l2?: number | "auto";
  stage1Steps?: number;
  stage2Steps?: number;
  /** Adam learning rates (defaults 1e-2 for stage 1, 1e-5 for stage 2). */
  stage1LearningRate?: number;
  stage2LearningRate?: number;
  /** Target rows per segment (default 8: with n = 6 at TR 2 s, 26 s of audio per forward pass). */
  segmentRows?: number;
  /** Segments per stage-2 step (default 2). */
  batchSegments?: number;
  /** Fraction of each run's rows, at its end, held out to measure encoding r (default 0.2). */
  heldOutFraction?: number;
  /** Also train the CNN feature encoder in stage 2 (default false). */
  trainCnn?: boolean;
  /** "mean": the subject-average of z-scored BOLD per target (default); "subjects": every subject's targets. */
  targets?: "mean" | "subjects";
  seed?: number;
  /** Stage-2 steps between held-out evaluations and checkpoints (default 25). */
  evalEvery?: number;
  /** Stop after this many stage-2 steps in this call (checkpointed); rerun to continue. */
  stopAfter?: number;
  progress?: boolean;
  onProgress?: (p: RefineProgress) => void;
}

export interface RefineProgress {
  stage: 1 | 2;
  step: number;
  steps: number;
  loss: number;
}

export interface HeldOutScore {
  /** Mean over targets of Pearson r on the held-out rows. */
  r: number;
  /** Mean squared error on the held-out rows (targets z-scored with training statistics). */
  mse: number;
  perTarget: number[];
}

export interface RefineLogEntry {
  stage: 1 | 2;
  step: number;
  trainLoss: number;
  heldOut?: HeldOutScore;
  seconds: number;
}

export interface RefineSummary {
  outDir: string;
  completed: boolean;
  /** The frozen upstream with the stage-1 head. */
  before: HeldOutScore | null;
  /** After stage 2. */
  after: HeldOutScore | null;
  targetNames: string[];
  layerWeights: number[];
  /** The penalty weight used (chosen by validation when l2 was "auto"). */
  l2: number;
  /** Validation MSE per candidate when l2 was "auto". */
  l2Search: { l2: number; validationMse: number }[];
  trainRows: number;
  heldOutRows: number;
  seconds: number;
  /** Relative change (%) of all upstream parameters, ||after - before|| / ||before||. */
  parameterChangePercent: number;
  log: RefineLogEntry[];
}

/** Candidate penalty weights for l2 "auto". */
export const L2_GRID: readonly number[] = [1e-3, 1e-2, 1e-1, 1, 10];

export const REFINE_CHECKPOINT_FILE = "refine-checkpoint.safetensors";
export const REFINE_LOG_FILE = "refine-log.json";
export const HEAD_FILE = "encoding-head.safetensors";
const CHECKPOINT_FORMAT = "superb-brain-refine-v1";

/** One stretch of stimulus: the bins of its rows' histories and which of them are target rows. */
interface Segment {
  run: number;
  /** Audio [start, start + samples) of the run's stimulus (may reach before 0 / past the end: zeros). */
  startSample: number;
  samples: number;
  /** Number of TR bins covered (history - 1 + rows). */
  bins: number;
  /** [bins x frames] mean-pooling matrix, row-major. */
  pool: Float32Array;
  frames: number;
  /** Target rows (indices into the run's rows), consecutive. */
  firstRow: number;
  rows: number;
  heldOut: boolean;
}

interface Targets {
  /** Per run: [rows x targets] z-scored with the training rows' statistics. */
  y: Float32Array[];
  names: string[];
}

/** The BOLD to predict, per run, z-scored per column with the training rows' mean and deviation. */
export function refinementTargets(dataset: BrainDataset, mode: "mean" | "subjects", isTrainRow: (run: number, row: number) => boolean): Targets {
  const V = dataset.targetNames.length;
  const y: Float32Array[] = [];
  let names: string[] = [];
  dataset.runs.forEach((run, ri) => {
    if (run.subjects.length === 0) throw new UserError(`brain data set ${dataset.name}: run ${run.id} has no usable subject`);
    const R = run.subjects[0].rows;
    const zs = run.subjects.map((s) => zscoreByTrainRows(s.bold, R, V, (k) => isTrainRow(ri, k)));
    let out: Float32Array;
    if (mode === "mean") {
      out = new Float32Array(R * V);
      for (const z of zs) for (let i = 0; i < out.length; i++) out[i] += z[i] / zs.length;
      out = zscoreByTrainRows(out, R, V, (k) => isTrainRow(ri, k));
      if (ri === 0) names = [...dataset.targetNames];
    } else {
      const C = V * zs.length;
      out = new Float32Array(R * C);
      zs.forEach((z, si) => {
        for (let k = 0; k < R; k++) for (let v = 0; v < V; v++) out[k * C + si * V + v] = z[k * V + v];
      });
      if (ri === 0) names = run.subjects.flatMap((s) => dataset.targetNames.map((t) => `${s.id}:${t}`));
    }
    y.push(out);
  });
  return { y, names };
}

function zscoreByTrainRows(x: Float32Array, rows: number, cols: number, isTrain: (row: number) => boolean): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let c = 0; c < cols; c++) {
    let n = 0;
    let mean = 0;
    for (let k = 0; k < rows; k++) if (isTrain(k)) { mean += x[k * cols + c]; n++; }
    mean /= Math.max(1, n);
    let v = 0;
    for (let k = 0; k < rows; k++) if (isTrain(k)) v += (x[k * cols + c] - mean) ** 2;
    const sd = Math.sqrt(v / Math.max(1, n - 1));
    const inv = sd > 0 ? 1 / sd : 0;
    for (let k = 0; k < rows; k++) out[k * cols + c] = (x[k * cols + c] - mean) * inv;
  }
  return out;
}

/** Contiguous split of a run's rows: training rows, a gap of `history` rows, then the held-out block. */
export function splitRows(rows: number, heldOutFraction: number, history: number): { trainEnd: number; heldOutStart: number } {
  const held = Math.max(1, Math.round(rows * heldOutFraction));
  const heldOutStart = rows - held;
  const trainEnd = heldOutStart - history;
  if (trainEnd < 2) throw new UserError(`brain data: ${rows} rows are too few for a held-out block of ${held} rows and a history of ${history} TRs`);
  return { trainEnd, heldOutStart };
}

function makeSegments(c: Wav2Vec2Config, dataset: BrainDataset, history: number, segmentRows: number, heldOutFraction: number): Segment[] {
  const hop = frameHop(c);
  const rf = receptiveField(c);
  const segs: Segment[] = [];
  dataset.runs.forEach((run, ri) => {
    const R = run.subjects[0].rows;
    const { trainEnd, heldOutStart } = splitRows(R, heldOutFraction, history);
    const binSamples = Math.round(run.tr * SAMPLE_RATE);
    const add = (first: number, end: number, heldOut: boolean): void => {
      for (let r0 = first; r0 < end; r0 += segmentRows) {
        const rows = Math.min(segmentRows, end - r0);
        const bins = history - 1 + rows;
        // Row k is acquired at firstRowTime + k * tr; its bins are the n TRs of audio before that.
        const endTime = run.firstRowTime + (r0 + rows - 1) * run.tr;
        const endSample = Math.round(endTime * SAMPLE_RATE);
        const samples = bins * binSamples;
        const startSample = endSample - samples;
        const frames = numFrames(c, samples);
        const pool = new Float32Array(bins * frames);
        const counts = new Float32Array(bins);
        for (let i = 0; i < frames; i++) {
          const centre = i * hop + rf / 2;
          const b = Math.min(bins - 1, Math.floor(centre / binSamples));
          pool[b * frames + i] = 1;
          counts[b]++;
        }
        for (let b = 0; b < bins; b++) {
          if (counts[b] === 0) throw new Error(`internal: TR bin without frames (tr ${run.tr} s)`);
          for (let i = 0; i < frames; i++) pool[b * frames + i] /= counts[b];
        }
        segs.push({ run: ri, startSample, samples, bins, pool, frames, firstRow: r0, rows, heldOut });
      }
    };
    add(0, trainEnd, false);
    add(heldOutStart, R, true);
  });
  return segs;
}

function segmentAudio(stimulus: Float32Array, seg: Segment, normalize: boolean): Float32Array {
  const out = new Float32Array(seg.samples);
  const from = Math.max(0, seg.startSample);
  const to = Math.min(stimulus.length, seg.startSample + seg.samples);
  if (to > from) out.set(stimulus.subarray(from, to), from - seg.startSample);
  return normalize ? zeroMeanUnitVarianceInPlace(out) : out;
}

/** Parameters stage 2 trains: the encoder side, not the pre-training heads or the mask embedding. */
function trainableNames(c: Wav2Vec2Config, trainCnn: boolean): string[] {
  return paramSpecs(c)
    .filter((s) => s.group !== "masking" && s.group !== "pretraining" && (trainCnn || s.group !== "feature_extractor"))
    .map((s) => s.name);
}

interface Head {
  layerLogits: tf.Variable;
  /** [history * dim, targets] */
  weight: tf.Variable;
  bias: tf.Variable;
}

function headVariables(h: Head): Map<string, tf.Variable> {
  return new Map([["head.layer_logits", h.layerLogits], ["head.weight", h.weight], ["head.bias", h.bias]]);
}

/**
 * Head prediction for one segment from its per-layer pooled bin features [L][bins, D]
 * (standardised): softmax-weighted layer sum, then for each target row j the bins j..j+n-1
 * times the matching slices of the weight.
 */
function headPredict(h: Head, pooled: tf.Tensor3D, history: number, rows: number): tf.Tensor2D {
  const [L, bins, D] = pooled.shape;
  const w = tf.softmax(h.layerLogits);
  const mixed = tf.reshape(tf.matMul(tf.reshape(w, [1, L]), tf.reshape(pooled, [L, bins * D])), [bins, D]);
  let pred: tf.Tensor2D | null = null;
  for (let i = 0; i < history; i++) {
    const x = tf.slice(mixed, [i, 0], [rows, D]);
    const wi = tf.slice(h.weight, [i * D, 0], [D, h.weight.shape[1] as number]);
    const term = tf.matMul(x, wi) as tf.Tensor2D;
    pred = pred === null ? term : (tf.add(pred, term) as tf.Tensor2D);
  }
  return tf.add(pred as tf.Tensor2D, h.bias) as tf.Tensor2D;
}

/** Pooled, standardised per-layer features [L, bins, D] of one segment (differentiable in the upstream params). */
function segmentPooled(params: ReadonlyMap<string, tf.Tensor>, c: Wav2Vec2Config, cnnOut: tf.Tensor3D, seg: Segment, mean: tf.Tensor, invStd: tf.Tensor): tf.Tensor3D {
  const { hidden } = projectFeatures(params, c, cnnOut);
  const states = encodeHiddenStates(params, c, hidden);
  const pool = tf.tensor2d(seg.pool, [seg.bins, seg.frames]);
  const pooled = tf.stack(states.map((s) => tf.matMul(pool, tf.reshape(s, [seg.frames, c.hidden_size])))) as tf.Tensor3D; // [L, bins, D]
  return tf.mul(tf.sub(pooled, mean), invStd) as tf.Tensor3D;
}

function runDescriptor(opts: { l2: number | "auto" } & Required<Pick<RefineOptions, "history" | "stage1Steps" | "stage2Steps" | "stage1LearningRate" | "stage2LearningRate" | "segmentRows" | "batchSegments" | "heldOutFraction" | "trainCnn" | "targets" | "seed">>, upstreamHash: string, dataHash: string): string {
  return createHash("sha256").update(JSON.stringify({ ...opts, upstreamHash, dataHash, format: CHECKPOINT_FORMAT })).digest("hex").slice(0, 16);
}

/** Runs (or resumes) both stages and writes the refined upstream folder. */
export async function refineUpstream(options: RefineOptions): Promise<RefineSummary> {
  await initTensorBackend();
  const o = {
    history: options.history ?? 6,
    l2: options.l2 ?? ("auto" as const),
    stage1Steps: options.stage1Steps ?? 300,
    stage2Steps: options.stage2Steps ?? 300,
    stage1LearningRate: options.stage1LearningRate ?? 1e-2,
    stage2LearningRate: options.stage2LearningRate ?? 1e-5,
    segmentRows: options.segmentRows ?? 8,
    batchSegments: options.batchSegments ?? 2,
    heldOutFraction: options.heldOutFraction ?? 0.2,
    trainCnn: options.trainCnn ?? false,
    targets: options.targets ?? "mean",
    seed: options.seed ?? 0,
  };
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "number" && !(Number.isFinite(v) && v >= 0)) throw new UserError(`refine: ${k} must be a non-negative number, got ${v}`);
  }
  if (!Number.isInteger(o.history) || o.history < 1) throw new UserError(`refine: history must be a positive whole number of TRs, got ${o.history}`);
  if (!(o.heldOutFraction > 0 && o.heldOutFraction < 0.5)) throw new UserError(`refine: heldOutFraction must be in (0, 0.5), got ${o.heldOutFraction}`);
  const evalEvery = options.evalEvery ?? 25;
  const ds = options.dataset;
  const started = performance.now();

  const folder = loadHfFolder(options.upstreamDir, { pretraining: false });
  // The pre-training heads, when present, are carried over unchanged so the output can be pre-trained further.
  const full = withHeads(options.upstreamDir) ?? folder;
  const keepHeads = full !== folder;
  const c = folder.config;
  const normalize = folder.doNormalize;
  const segments = makeSegments(c, ds, o.history, o.segmentRows, o.heldOutFraction);
  const train = segments.filter((s) => !s.heldOut);
  const held = segments.filter((s) => s.heldOut);
  const splits = ds.runs.map((r) => splitRows(r.subjects[0].rows, o.heldOutFraction, o.history));
  const targets = refinementTargets(ds, o.targets, (ri, k) => k < splits[ri].trainEnd);
  const V = targets.names.length;
  const D = c.hidden_size;
  const L = c.num_hidden_layers + 1;
  // The upstream is keyed by the same config + weights hash that keys its feature cache.
  const descriptor = runDescriptor(o, wav2vec2Identity("refine", c, folder.params), ds.hash);

  fs.mkdirSync(options.outDir, { recursive: true });
  const ckptFile = path.join(options.outDir, REFINE_CHECKPOINT_FILE);

  const upstreamVars = createTfVariables(folder.params, false);
  const trainNames = trainableNames(c, o.trainCnn);
  const head: Head = {
    layerLogits: tf.variable(tf.zeros([L]), true, "head_layer_logits"),
    weight: tf.variable(tf.zeros([o.history * D, V]), true, "head_weight"),
    bias: tf.variable(tf.zeros([V]), true, "head_bias"),
  };
  const adam1 = new AdamW(0.9, 0.999, 1e-8, 0);
  const adam2 = new AdamW(0.9, 0.999, 1e-8, 0);
  let stage: 1 | 2 = 1;
  let step = 0;
  let log: RefineLogEntry[] = [];
  let before: HeldOutScore | null = null;
  let secondsBefore = 0;
  let l2Value = typeof o.l2 === "number" ? o.l2 : NaN;
  let l2Search: { l2: number; validationMse: number }[] = [];
  let featMean: Float32Array | null = null;
  let featInvStd: Float32Array | null = null;

  if (fs.existsSync(ckptFile)) {
    const st = readSafetensors(ckptFile);
    const m = st.metadata;
    if (m.format !== CHECKPOINT_FORMAT) throw new UserError(`${ckptFile}: not a refinement checkpoint`);
    if (m.descriptor !== descriptor) {
      throw new UserError(`${ckptFile}: belongs to a run with other settings or data; use another --out or delete the checkpoint`);
    }
    stage = Number(m.stage) as 1 | 2;
    step = Number(m.step);
    log = JSON.parse(m.log) as RefineLogEntry[];
    before = m.before ? (JSON.parse(m.before) as HeldOutScore) : null;
    secondsBefore = Number(m.seconds);
    l2Value = Number(m.l2);
    l2Search = m.l2Search ? (JSON.parse(m.l2Search) as typeof l2Search) : [];
    for (const [name, v] of upstreamVars) {
      const t = st.tensors.get(`param.${name}`);
      if (t) v.assign(tf.tensor(t.data, t.shape));
    }
    for (const [name, v] of headVariables(head)) {
      const t = st.tensors.get(name);
      if (!t) throw new UserError(`${ckptFile}: missing ${name}`);
      v.assign(tf.tensor(t.data, t.shape));
    }
    for (const [kind, adam] of [["adam1", adam1], ["adam2", adam2]] as const) {
      for (const [key, t] of st.tensors) {
        const prefix = `${kind}.`;
        if (!key.startsWith(prefix)) continue;
        const rest = key.slice(prefix.length);
        const which = rest.startsWith("m.") ? adam.m : adam.v;
        which.set(rest.slice(2), tf.tensor(t.data, t.shape));
      }
    }
    featMean = st.tensors.get("feat.mean")?.data ?? null;
    featInvStd = st.tensors.get("feat.inv_std")?.data ?? null;
  }

  const saveCheckpoint = async (): Promise<void> => {
    const tensors: TensorMap = new Map();
    for (const name of trainNames) {
      const v = upstreamVars.get(name)!;
      tensors.set(`param.${name}`, { shape: [...v.shape], data: (await v.data()) as Float32Array });
    }
    for (const [name, v] of headVariables(head)) tensors.set(name, { shape: [...v.shape], data: (await v.data()) as Float32Array });
    for (const [kind, adam] of [["adam1", adam1], ["adam2", adam2]] as const) {
      for (const [which, store] of [["m", adam.m], ["v", adam.v]] as const) {
        for (const [name, t] of store) tensors.set(`${kind}.${which}.${name}`, { shape: [...t.shape], data: (await t.data()) as Float32Array });
      }
    }
    if (featMean && featInvStd) {
      tensors.set("feat.mean", { shape: [L, 1, D], data: featMean });
      tensors.set("feat.inv_std", { shape: [L, 1, D], data: featInvStd });
    }
    writeSafetensors(ckptFile, tensors, {
      format: CHECKPOINT_FORMAT,
      descriptor,
      stage: String(stage),
      step: String(step),
      log: JSON.stringify(log),
      before: before ? JSON.stringify(before) : "",
      l2: String(l2Value),
      l2Search: JSON.stringify(l2Search),
      seconds: String(secondsBefore + (performance.now() - started) / 1000),
    });
  };

  // CNN features are computed once per segment when the CNN stays frozen (every stage 1 step and,
  // without trainCnn, every stage 2 step reuses them).
  const cnnCache = new Map<Segment, tf.Tensor3D>();
  const cnnFeatures = (seg: Segment): tf.Tensor3D => {
    const hit = cnnCache.get(seg);
    if (hit) return hit;
    const audio = segmentAudio(ds.runs[seg.run].stimulus, seg, normalize);
    const out = tf.tidy(() => extractFeatures(upstreamVars, c, tf.tensor2d(audio, [1, seg.samples])));
    // Kept: callers run inside tidy/variableGrads scopes, which would otherwise free the cache.
    if (!o.trainCnn) cnnCache.set(seg, tf.keep(out));
    return out;
  };
  const releaseCnn = (seg: Segment, t: tf.Tensor3D): void => {
    if (o.trainCnn) t.dispose();
    else if (!cnnCache.has(seg)) t.dispose();
  };
  const segTargets = (seg: Segment): tf.Tensor2D => tf.tensor2d(targets.y[seg.run].subarray(seg.firstRow * V, (seg.firstRow + seg.rows) * V), [seg.rows, V]);

  const progress = startProgress({ label: "refining", total: Math.max(0, o.stage1Steps + o.stage2Steps - (stage === 2 ? o.stage1Steps + step : step)), unit: "steps", enabled: options.progress });

  // Frozen-upstream pooled features, needed for the feature statistics, stage 1 and "before".
  let frozenPooled: Map<Segment, tf.Tensor3D> | null = null;
  const rawPooled = (seg: Segment): tf.Tensor3D =>
    tf.tidy(() => {
      const cnn = cnnFeatures(seg);
      const zero = tf.zeros([L, 1, D]);
      const one = tf.ones([L, 1, D]);
      const out = segmentPooled(upstreamVars, c, cnn, seg, zero, one);
      releaseCnn(seg, cnn);
      return out;
    });
  if (featMean === null || featInvStd === null || stage === 1) {
    frozenPooled = new Map(segments.map((s) => [s, rawPooled(s)]));
    if (featMean === null || featInvStd === null) {
      // Per-layer, per-dimension statistics over every training bin, fixed for both stages.
      const all = tf.concat(train.map((s) => frozenPooled!.get(s)!), 1);
      const { mean, variance } = tf.moments(all, 1, true);
      featMean = (await mean.data()) as Float32Array;
      featInvStd = Float32Array.from(await variance.data(), (v) => (v > 1e-12 ? 1 / Math.sqrt(v) : 0));
      tf.dispose([all, mean, variance]);
    }
  }
  const meanT = tf.tensor3d(featMean, [L, 1, D]);
  const invStdT = tf.tensor3d(featInvStd, [L, 1, D]);

  const penalty = (weight = l2Value): tf.Scalar => tf.mul(tf.sum(tf.square(head.weight)), weight) as tf.Scalar;
  const scoreHeldOut = (pooledOf: (s: Segment) => tf.Tensor3D): HeldOutScore => {
    const preds: number[][] = Array.from({ length: V }, () => []);
    const actual: number[][] = Array.from({ length: V }, () => []);
    let se = 0;
    let n = 0;
    for (const seg of held) {
      const [p, y] = tf.tidy(() => {
        const pooled = pooledOf(seg);
        return [headPredict(head, pooled, o.history, seg.rows).dataSync(), segTargets(seg).dataSync()];
      });
      for (let j = 0; j < seg.rows; j++) {
        for (let v = 0; v < V; v++) {
          preds[v].push(p[j * V + v]);
          actual[v].push(y[j * V + v]);
          se += (p[j * V + v] - y[j * V + v]) ** 2;
          n++;
        }
      }
    }
    const perTarget = preds.map((p, v) => pearson(p, actual[v]));
    return { r: perTarget.reduce((a, b) => a + b, 0) / V, mse: se / n, perTarget };
  };

  let aborted = false;
  try {
    // ---- Stage 1: the head alone on the frozen upstream (full batch over training segments).
    if (stage === 1) {
      const pooledStd = new Map(segments.map((s) => [s, tf.tidy(() => tf.mul(tf.sub(frozenPooled!.get(s)!, meanT), invStdT)) as tf.Tensor3D]));
      const vars = headVariables(head);
      const sse = (segs: readonly Segment[]): tf.Scalar => {
        let total: tf.Scalar = tf.scalar(0);
        for (const seg of segs) {
          const pred = headPredict(head, pooledStd.get(seg)!, o.history, seg.rows);
          total = tf.add(total, tf.sum(tf.square(tf.sub(pred, segTargets(seg))))) as tf.Scalar;
        }
        return total;
      };
      /** Full-batch Adam on the head from zeros; reports each step when `report` is set. */
      const fitHead = (segs: readonly Segment[], weight: number, report: boolean): number => {
        for (const v of vars.values()) v.assign(tf.zerosLike(v));
        const adam = report ? adam1 : new AdamW(0.9, 0.999, 1e-8, 0);
        const rows = segs.reduce((a, s) => a + s.rows, 0);
        let loss = NaN;
        for (let k = 0; k < o.stage1Steps; k++) {
          const { value, grads } = tf.variableGrads(() => tf.add(tf.div(sse(segs), rows * V), penalty(weight)) as tf.Scalar, [...vars.values()]);
          adam.apply(vars, gradsByParamName(vars, grads), o.stage1LearningRate, k + 1, 1);
          loss = value.dataSync()[0];
          tf.dispose([value, ...Object.values(grads)]);
          if (report) {
            step = k + 1;
            progress.increment(1, { stage: 1, loss: loss.toFixed(4) });
            options.onProgress?.({ stage: 1, step, steps: o.stage1Steps, loss });
            if (step === o.stage1Steps || step % 50 === 0) log.push({ stage: 1, step, trainLoss: loss, seconds: secondsBefore + (performance.now() - started) / 1000 });
          }
        }
        if (!report) adam.dispose();
        return loss;
      };
      if (o.l2 === "auto") {
        // Inner split: the last quarter of each run's training segments validates the penalty.
        const inner: Segment[] = [];
        const valid: Segment[] = [];
        ds.runs.forEach((_, ri) => {
          const segs = train.filter((s) => s.run === ri);
          const cut = Math.max(1, Math.floor(segs.length * 0.75));
          inner.push(...segs.slice(0, cut));
          valid.push(...segs.slice(cut));
        });
        if (valid.length === 0) throw new UserError("refine: too few training segments to choose --l2 automatically; give a number");
        const validRows = valid.reduce((a, s) => a + s.rows, 0);
        l2Search = L2_GRID.map((weight) => {
          fitHead(inner, weight, false);
          const mse = tf.tidy(() => sse(valid).dataSync()[0]) / (validRows * V);
          return { l2: weight, validationMse: mse };
        });
        l2Value = l2Search.reduce((best, c) => (c.validationMse < best.validationMse ? c : best)).l2;
      }
      fitHead(train, l2Value, true);
      before = scoreHeldOut((s) => pooledStd.get(s)!);
      log.push({ stage: 1, step, trainLoss: log.at(-1)?.trainLoss ?? NaN, heldOut: before, seconds: secondsBefore + (performance.now() - started) / 1000 });
      for (const t of pooledStd.values()) t.dispose();
      stage = 2;
      step = 0;
      await saveCheckpoint();
    }
    if (frozenPooled) for (const t of frozenPooled.values()) t.dispose();
    frozenPooled = null;

    // ---- Stage 2: upstream and head together.
    const trainVars = new Map<string, tf.Variable>();
    for (const name of trainNames) {
      const v0 = upstreamVars.get(name)!;
      const v = tf.variable(v0, true, `refine_${name.replace(/[^A-Za-z0-9_]/g, "_")}`);
      v0.dispose();
      upstreamVars.set(name, v);
      trainVars.set(name, v);
    }
    for (const [name, v] of headVariables(head)) trainVars.set(name, v);
    const pooledNow = (s: Segment): tf.Tensor3D => {
      const cnn = cnnFeatures(s);
      const out = segmentPooled(upstreamVars, c, cnn, s, meanT, invStdT);
      releaseCnn(s, cnn);
      return out;
    };
    let stepsThisCall = 0;
    let lastLoss = NaN;
    while (step < o.stage2Steps) {
      if (options.stopAfter !== undefined && stepsThisCall >= options.stopAfter) break;
      const rng = new Rng(deriveSeed(o.seed, `refine-step:${step}`));
      const batch = rng.shuffle(train.map((_, i) => i)).slice(0, Math.min(o.batchSegments, train.length)).map((i) => train[i]);
      const rows = batch.reduce((a, s) => a + s.rows, 0);
      // One segment at a time, gradients summed: the attention maps of a whole batch would not fit
      // the wasm heap (2 GB per thread). The loss is the batch's MSE + penalty, as if in one pass.
      const byName = new Map<string, tf.Tensor>();
      lastLoss = 0;
      batch.forEach((seg, bi) => {
        const { value, grads } = tf.variableGrads(() => {
          const pred = headPredict(head, pooledNow(seg), o.history, seg.rows);
          const sse = tf.div(tf.sum(tf.square(tf.sub(pred, segTargets(seg)))), rows * V) as tf.Scalar;
          return bi === 0 ? (tf.add(sse, penalty()) as tf.Scalar) : sse;
        }, [...trainVars.values()]);
        lastLoss += value.dataSync()[0];
        value.dispose();
        for (const [name, v] of trainVars) {
          const g = grads[v.name];
          if (g === undefined) continue;
          const prev = byName.get(name);
          if (prev === undefined) byName.set(name, g);
          else {
            byName.set(name, tf.add(prev, g));
            tf.dispose([prev, g]);
          }
        }
      });
      // Linear warm-up over the first 10 % of stage 2: Adam's first, unscaled steps would otherwise
      // jolt a pre-trained upstream that the stage-1 head is tuned to.
      const warmup = Math.max(1, Math.round(0.1 * o.stage2Steps));
      adam2.apply(trainVars, byName, o.stage2LearningRate * Math.min(1, (step + 1) / warmup), step + 1, 1);
      tf.dispose([...byName.values()]);
      if (!Number.isFinite(lastLoss)) throw new UserError(`refine: the loss became ${lastLoss} at stage-2 step ${step + 1}; lower --stage2-lr`);
      step++;
      stepsThisCall++;
      progress.increment(1, { stage: 2, loss: lastLoss.toFixed(4) });
      options.onProgress?.({ stage: 2, step, steps: o.stage2Steps, loss: lastLoss });
      if (step % evalEvery === 0 || step === o.stage2Steps) {
        const heldOut = scoreHeldOut(pooledNow);
        log.push({ stage: 2, step, trainLoss: lastLoss, heldOut, seconds: secondsBefore + (performance.now() - started) / 1000 });
        await saveCheckpoint();
      }
    }
    progress.stop();
    const completed = step >= o.stage2Steps;
    if (!completed) {
      await saveCheckpoint();
      return summarize(false);
    }
    const after = scoreHeldOut(pooledNow);

    // ---- Output: a HF folder (+ ONNX graph, head, log, model card) usable as hf:<outDir>.
    const refined: ParamMap = new Map(full.params);
    const readBack = await readTfParams(upstreamVars);
    for (const name of trainNames) refined.set(name, readBack.get(name)!);
    const changed = relativeChange(folder.params, refined, trainableNames(c, true));
    writeWav2Vec2Folder(options.outDir, c, refined, { pretraining: keepHeads, doNormalize: normalize });
    const encoderOnly: ParamMap = new Map([...refined].filter(([k]) => folder.params.has(k)));
    writeFileAtomic(path.join(options.outDir, "model.onnx"), buildOnnxModel(c, encoderOnly));
    const headTensors: TensorMap = new Map();
    for (const [name, v] of headVariables(head)) headTensors.set(name, { shape: [...v.shape], data: (await v.data()) as Float32Array });
    headTensors.set("feat.mean", { shape: [L, 1, D], data: featMean });
    headTensors.set("feat.inv_std", { shape: [L, 1, D], data: featInvStd });
    writeSafetensors(path.join(options.outDir, HEAD_FILE), headTensors, { targets: JSON.stringify(targets.names), history: String(o.history) });
    const summary = summarize(true, after, changed);
    writeFileAtomic(path.join(options.outDir, REFINE_LOG_FILE), `${JSON.stringify({ options: o, upstream: options.upstreamName ?? options.upstreamDir, dataset: ds.name, datasetHash: ds.hash, skipped: ds.skipped, ...summary, version: packageVersion() }, null, 2)}\n`);
    writeFileAtomic(path.join(options.outDir, "MODEL_CARD.md"), modelCard(options, o, summary, ds));
    fs.rmSync(ckptFile, { force: true });
    return summary;

    function summarize(done: boolean, afterScore: HeldOutScore | null = null, change = 0): RefineSummary {
      const w = tf.tidy(() => tf.softmax(head.layerLogits).dataSync());
      return {
        outDir: options.outDir,
        completed: done,
        before,
        after: afterScore,
        targetNames: targets.names,
        layerWeights: Array.from(w),
        l2: l2Value,
        l2Search,
        trainRows: train.reduce((a, s) => a + s.rows, 0),
        heldOutRows: held.reduce((a, s) => a + s.rows, 0),
        seconds: secondsBefore + (performance.now() - started) / 1000,
        parameterChangePercent: change,
        log,
      };
    }
  } catch (err) {
    aborted = isWasmAbort(err);
    if (aborted) {
      const seconds = (o.history - 1 + o.segmentRows) * (ds.runs[0]?.tr ?? 0);
      throw new UserError(`refine: TensorFlow.js ran out of memory (wasm heap) on segments of ${seconds} s of audio; lower --segment-rows (now ${o.segmentRows})`);
    }
    throw err;
  } finally {
    progress.stop();
    // After a wasm abort the heap is unusable and freeing would throw over the real error.
    if (!aborted) {
      for (const t of cnnCache.values()) t.dispose();
      if (frozenPooled) for (const t of frozenPooled.values()) t.dispose();
      tf.dispose([meanT, invStdT, head.layerLogits, head.weight, head.bias, ...upstreamVars.values()]);
      adam1.dispose();
      adam2.dispose();
    }
  }
}

/** The wasm backend's out-of-memory failures: an Emscripten abort or an out-of-bounds access. */
function isWasmAbort(err: unknown): boolean {
  const m = err instanceof Error ? err.message : String(err);
  return /^Aborted\(/.test(m) || /memory access out of bounds/.test(m);
}

function withHeads(dir: string): ReturnType<typeof loadHfFolder> | null {
  try {
    return loadHfFolder(dir, { pretraining: true });
  } catch {
    return null;
  }
}

function relativeChange(a: ReadonlyMap<string, ParamTensor>, b: ReadonlyMap<string, ParamTensor>, names: readonly string[]): number {
  let num = 0;
  let den = 0;
  for (const n of names) {
    const x = a.get(n);
    const y = b.get(n);
    if (!x || !y) continue;
    for (let i = 0; i < x.data.length; i++) {
      num += (y.data[i] - x.data[i]) ** 2;
      den += x.data[i] ** 2;
    }
  }
  return den > 0 ? (100 * Math.sqrt(num)) / Math.sqrt(den) : 0;
}

function modelCard(options: RefineOptions, o: Record<string, unknown>, s: RefineSummary, ds: BrainDataset): string {
  const f = (x: number | undefined) => (x === undefined ? "–" : x.toFixed(4));
  return `# ${path.basename(options.outDir)}: ${options.upstreamName ?? options.upstreamDir} refined on brain activity

Produced by \`superb refine\` (superb ${packageVersion()}), the method of Li et al. 2024: a neural-encoding
head on the upstream's hidden states predicts BOLD from the audio of the last ${String(o.history)} TRs; the loss is MSE +
${String(s.l2)} x ||W||^2 on the head${o.l2 === "auto" ? ` (chosen on an inner validation split from ${s.l2Search.map((c) => `${c.l2}: MSE ${c.validationMse.toFixed(4)}`).join(", ")})` : ""}. Stage 1 (${String(o.stage1Steps)} steps, lr ${String(o.stage1LearningRate)}) trains the head on the frozen upstream;
stage 2 (${String(o.stage2Steps)} steps, lr ${String(o.stage2LearningRate)}, ${String(o.batchSegments)} segments of ${String(o.segmentRows)} rows per step) trains the
upstream (${o.trainCnn ? "CNN included" : "CNN frozen"}) and the head together.
${options.command ? `
    ${options.command}
` : ""}
| | |
|---|---|
| data set | ${ds.name} (hash ${ds.hash}); ${ds.runs.length} run(s), ${ds.runs.map((r) => r.subjects.length).join("+")} subjects, TR ${ds.runs[0]?.tr} s |
| skipped | ${ds.skipped.length === 0 ? "none" : ds.skipped.map((x) => `${x.subject}: ${x.reason}`).join("; ")} |
| targets | ${o.targets === "mean" ? "subject-average of z-scored BOLD per target" : "every subject's targets"}: ${s.targetNames.length} (${s.targetNames.slice(0, 8).join(", ")}${s.targetNames.length > 8 ? ", ..." : ""}) |
| rows | ${s.trainRows} training, ${s.heldOutRows} held out (the last ${Math.round(100 * Number(o.heldOutFraction))} % of each run, after a gap of ${String(o.history)} rows) |
| seed | ${String(o.seed)} |
| held-out r before (frozen upstream + stage-1 head) | ${f(s.before?.r)} (MSE ${f(s.before?.mse)}) |
| held-out r after stage 2 | ${f(s.after?.r)} (MSE ${f(s.after?.mse)}) |
| per target r before -> after | ${s.targetNames.slice(0, 12).map((t, i) => `${t} ${f(s.before?.perTarget[i])} -> ${f(s.after?.perTarget[i])}`).join("; ")} |
| head layer weights | ${s.layerWeights.map((w) => w.toFixed(3)).join(" ")} |
| upstream parameter change | ${s.parameterChangePercent.toFixed(3)} % (relative L2 norm over the encoder) |
| wall time | ${s.seconds.toFixed(0)} s |

Files: config.json, model.safetensors, preprocessor_config.json (HuggingFace layout; loads with
\`Wav2Vec2Model.from_pretrained\`), model.onnx (every hidden state as an output), ${HEAD_FILE}
(the encoding head), ${REFINE_LOG_FILE} (options, per-step log). Use it as \`--upstream hf:<this folder>\`.
`;
}
