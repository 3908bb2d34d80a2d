/**
 * wav2vec 2.0 pre-training (the self-supervised objective of Baevski et al. 2020, as fairseq and
 * HF `Wav2Vec2ForPreTraining` implement it) on the tfjs model of tfjs-model.ts:
 *
 *   audio -> CNN features z (feature penalty) -> LayerNorm -> Gumbel quantizer -> project_q = targets
 *                                             -> projection -> masked_spec_embed at masked spans
 *                                             -> transformer -> project_hid = context
 *   loss = contrastive(context, targets, K negatives) / M + w_div * diversity + w_pen * penalty
 *
 * Determinism: every random choice of step s (batch order, crops, masks, negatives, Gumbel noise)
 * comes from generators seeded by (seed, s), so the "RNG state" of a checkpoint is its step
 * number and a resumed run repeats the uninterrupted one exactly (same backend and machine).
 *
 * Differences from fairseq's recipe, all deliberate for small CPU runs: no dropout / layerdrop
 * (the forward pass has none; runs are far shorter than would overfit), no feature_grad_mult
 * (it scales every feature-encoder gradient uniformly, which Adam cancels), the Gumbel
 * temperature anneals over the run's own length (see quantizer.ts), utterances are cropped to
 * the shortest of their length-bucketed batch (fairseq crops to the batch minimum too, but
 * batches by total samples), and each crop is normalised to zero mean / unit variance (HF
 * `do_normalize`, recorded in preprocessor_config.json).
 */
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { initTensorBackend } from "../backend.js";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../fs-atomic.js";
import { startProgress } from "../progress.js";
import { Rng, deriveSeed } from "../random.js";
import { readSafetensors, writeSafetensors, type TensorMap } from "../safetensors.js";
import { configToJson, frameHop, numFrames, receptiveField, validateConfig, type Wav2Vec2Config } from "./config.js";
import { PRETRAIN_MASK_PROB, computeMaskIndices, maskedIndices, sampleNegatives } from "./masking.js";
import { countParams, initParams, paramSpecs, type ParamMap } from "./params.js";
import { candidateWeights, combineLosses, contrastiveLoss, diversityLoss, featurePenalty, type LossWeights } from "./pretrain-losses.js";
import { gumbelQuantize, gumbelTemperature, linearPt, sampleGumbelNoise, temperatureDecayFor, type TemperatureSchedule } from "./quantizer.js";
import { createTfVariables, encodeHiddenStates, extractFeatures, projectFeatures, readTfParams, type TfParams } from "./tfjs-model.js";

export const SAMPLE_RATE = 16000;

/** Utterances for pre-training, loaded on demand. Lengths are needed up front for batching. */
export interface PretrainDataset {
  size: number;
  /** Samples (16 kHz) of utterance i. */
  length(i: number): number;
  /** The 16 kHz mono audio of utterance i. */
  load(i: number): Float32Array;
  /** Stable identity of the data for the checkpoint key (e.g. a corpus hash). Default: a hash of the audio. */
  id?: string;
}

export interface PretrainProgress {
  step: number;
  steps: number;
  /** Values of the step just run. */
  loss: number;
  contrastive: number;
  accuracy: number;
  perplexity: number;
  temperature: number;
  learningRate: number;
  /** Wall-clock seconds of training so far, over all resumed runs. */
  seconds: number;
  /** Seconds of audio per second of training, this run. */
  audioPerSecond: number;
}

export interface PretrainLogEntry {
  /** Steps completed. */
  step: number;
  /** Means over the steps since the previous entry. */
  loss: number;
  /** Cross-entropy per masked frame (nats; log(K + 1) at chance). */
  contrastive: number;
  diversity: number;
  featurePenalty: number;
  /** Fraction of masked frames whose positive had the highest logit. */
  accuracy: number;
  /** Soft codebook perplexity (max G*V). */
  perplexity: number;
  /** Fraction of masked frames. */
  maskedFraction: number;
  temperature: number;
  learningRate: number;
  gradNorm: number;
  /** Cumulative wall-clock seconds of training and seconds of audio seen. */
  seconds: number;
  audioSeconds: number;
  rssMB: number;
}

export interface PretrainOptions {
  config: Wav2Vec2Config;
  /** Audio as 16 kHz arrays, or a lazily loaded dataset. */
  data: readonly Float32Array[] | PretrainDataset;
  /** Receives checkpoints, then the HF folder and training-log.json. */
  outDir: string;
  steps: number;
  /** Utterances per step (default 8). */
  batchSize?: number;
  /**
   * Gradient shards per step (default 2): the batch is split into this many equal parts whose
   * gradients are summed, as data-parallel fairseq does (each shard's diversity loss uses its own
   * perplexity). Shards bound the memory of a step and are what worker threads share out.
   */
  shards?: number;
  /**
   * Threads computing shards in parallel (default min(shards, cores), 1 when the module runs
   * from TypeScript source). The result does not depend on it: shard gradients are always summed
   * in shard order.
   */
  workers?: number;
  /** Longest crop in seconds (default 4); batches are cropped to their shortest utterance. */
  cropSeconds?: number;
  /** Peak learning rate (default 5e-4, fairseq base). */
  learningRate?: number;
  /** Linear warm-up steps (default 8 % of steps, fairseq's 32k of 400k); then linear decay to 0. */
  warmupSteps?: number;
  /** Adam(W) betas, eps and decoupled weight decay (default 0.9, 0.98, 1e-6, 0.01: fairseq base). */
  adamBetas?: [number, number];
  adamEps?: number;
  weightDecay?: number;
  /** Clip the global gradient norm (default 0 = off). */
  clipNorm?: number;
  seed?: number;
  /** Steps between checkpoints (default 200; a checkpoint is also written at the end). */
  checkpointEvery?: number;
  /** Steps between training-log entries (default 25). */
  logEvery?: number;
  /** Gumbel temperature schedule; the default decay anneals 2 -> 0.5 over 70 % of `steps`. */
  temperature?: Partial<TemperatureSchedule>;
  /**
   * Masking, HF/fairseq semantics: int(maskProb * T / maskLength + U) spans. Default 0.65 (fairseq
   * pre-training; = the paper's start probability 0.065), not the config's mask_time_prob, which
   * in HF checkpoints is the fine-tuning SpecAugment value (0.05). maskLength: mask_time_length.
   */
  maskProb?: number;
  maskLength?: number;
  /** Minimum spans per utterance (fairseq: 2). */
  minMasks?: number;
  /** Negatives per masked frame (default config.num_negatives). */
  numNegatives?: number;
  /** Loss weights (default diversity = config.diversity_loss_weight, feature penalty 10 as fairseq). */
  lossWeights?: Partial<LossWeights>;
  /** Normalise each crop to zero mean / unit variance (default true; HF do_normalize). */
  normalizeAudio?: boolean;
  /** Start from these parameters instead of a random init (must include the pre-training heads). */
  initParams?: ParamMap;
  /** Keep checkpoint.safetensors after the final output is written (default false). */
  keepCheckpoint?: boolean;
  /** Stop (after checkpointing) once this many steps have run in this call; for tests and time boxes. */
  stopAfter?: number;
  /** Checked between steps: on abort the current step is checkpointed and a UserError thrown. */
  signal?: AbortSignal;
  onProgress?: (p: PretrainProgress) => void;
  /** Progress bar on stderr (default: when stderr is a TTY). */
  progress?: boolean;
}

export interface PretrainSummary {
  outDir: string;
  /** False when the run stopped early (stopAfter); rerun to continue. */
  completed: boolean;
  step: number;
  steps: number;
  resumedFromStep: number;
  stepsThisRun: number;
  /** Seconds of this call's training, and over all runs; CPU seconds of this process (all threads). */
  seconds: number;
  totalSeconds: number;
  cpuSeconds: number;
  /** Threads that computed shards. */
  workers: number;
  audioPerSecond: number;
  peakRssMB: number;
  parameters: number;
  last: PretrainLogEntry | null;
  files: string[];
}

export const CHECKPOINT_FILE = "checkpoint.safetensors";
export const LOG_FILE = "training-log.json";
const CHECKPOINT_FORMAT = "superb-wav2vec2-pretrain-v1";

// ---------------------------------------------------------------------------------------------
// Data

function asDataset(data: readonly Float32Array[] | PretrainDataset): PretrainDataset {
  if (!Array.isArray(data)) return data as PretrainDataset;
  const arrays = data as readonly Float32Array[];
  return { size: arrays.length, length: (i) => arrays[i].length, load: (i) => arrays[i] };
}

function datasetId(ds: PretrainDataset): string {
  if (ds.id !== undefined) return ds.id;
  const h = createHash("sha256");
  for (let i = 0; i < ds.size; i++) {
    const a = ds.load(i);
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    h.update(String(a.length));
  }
  return h.digest("hex").slice(0, 16);
}

/**
 * The batches of one epoch: a seeded shuffle, cut into buckets of 8 batches whose utterances are
 * sorted by length (so a batch's shortest utterance wastes little of the others), cut into batches
 * (an incomplete last batch is dropped), in a shuffled order.
 */
export function epochBatches(lengths: readonly number[], batchSize: number, seed: number, epoch: number): number[][] {
  const rng = new Rng(deriveSeed(seed, `pretrain-epoch:${epoch}`));
  const order = rng.shuffle(lengths.map((_, i) => i));
  const bucket = batchSize * 8;
  const batches: number[][] = [];
  for (let c = 0; c < order.length; c += bucket) {
    const chunk = order.slice(c, c + bucket).sort((a, b) => lengths[a] - lengths[b] || a - b);
    for (let i = 0; i + batchSize <= chunk.length; i += batchSize) batches.push(chunk.slice(i, i + batchSize));
  }
  return rng.shuffle(batches);
}

export interface PreparedBatch {
  /** [B, S] row-major. */
  audio: Float32Array;
  batch: number;
  samples: number;
  frames: number;
  /** [B*T], 1 = masked. */
  mask: Float32Array;
  maskedIdx: Int32Array[];
  /** Per utterance [M_b, K] negative frame indices. */
  negatives: Int32Array[];
  gumbel: Float32Array;
  numMasked: number;
}

interface StepRandomness {
  maskProb: number;
  maskLength: number;
  minMasks: number;
  numNegatives: number;
  normalizeAudio: boolean;
}

/** Crops, normalises and masks the utterances of one step (all randomness from (seed, step)). */
export function prepareBatch(c: Wav2Vec2Config, clips: Float32Array[], cropSamples: number, seed: number, step: number, r: StepRandomness): PreparedBatch {
  const B = clips.length;
  const S = Math.min(cropSamples, ...clips.map((a) => a.length));
  const T = numFrames(c, S);
  const cropRng = new Rng(deriveSeed(seed, `crop:${step}`));
  const audio = new Float32Array(B * S);
  clips.forEach((a, b) => {
    const off = Math.floor(cropRng.float() * (a.length - S + 1));
    const row = audio.subarray(b * S, (b + 1) * S);
    row.set(a.subarray(off, off + S));
    if (r.normalizeAudio) {
      let mean = 0;
      for (const x of row) mean += x;
      mean /= S;
      let v = 0;
      for (const x of row) v += (x - mean) * (x - mean);
      const inv = 1 / Math.sqrt(v / S + 1e-7);
      for (let i = 0; i < S; i++) row[i] = (row[i] - mean) * inv;
    }
  });
  const maskRng = new Rng(deriveSeed(seed, `mask:${step}`));
  const negRng = new Rng(deriveSeed(seed, `negatives:${step}`));
  const mask = new Float32Array(B * T);
  const maskedIdx: Int32Array[] = [];
  const negatives: Int32Array[] = [];
  let numMasked = 0;
  for (let b = 0; b < B; b++) {
    const m = computeMaskIndices(T, r.maskProb, r.maskLength, r.minMasks, () => maskRng.float());
    const idx = maskedIndices(m);
    mask.set(m, b * T);
    maskedIdx.push(idx);
    negatives.push(sampleNegatives(idx, r.numNegatives, () => negRng.float()));
    numMasked += idx.length;
  }
  const gumbelRng = new Rng(deriveSeed(seed, `gumbel:${step}`));
  const gumbel = sampleGumbelNoise(B * T * c.num_codevector_groups * c.num_codevectors_per_group, () => gumbelRng.float());
  return { audio, batch: B, samples: S, frames: T, mask, maskedIdx, negatives, gumbel, numMasked };
}

// ---------------------------------------------------------------------------------------------
// Forward pass and loss

export interface StepStats {
  contrastiveSum: tf.Scalar;
  correct: tf.Scalar;
  perplexity: tf.Scalar;
  diversity: tf.Scalar;
  penalty: tf.Scalar;
}

/**
 * The pre-training loss of one prepared batch (scalar, per masked frame) and its parts. The
 * parts are tf.keep()-ed so they survive the gradient tape's tidy: the caller disposes them.
 */
export function pretrainLoss(
  params: TfParams,
  c: Wav2Vec2Config,
  batch: PreparedBatch,
  temperature: number,
  weights: LossWeights,
  numNegatives: number,
): { loss: tf.Scalar; stats: StepStats } {
  const { batch: B, samples: S, frames: T } = batch;
  const audio = tf.tensor2d(batch.audio, [B, S]);
  const feats = extractFeatures(params, c, audio);
  if (feats.shape[1] !== T) throw new Error(`internal: ${feats.shape[1]} frames, expected ${T}`);
  const penalty = featurePenalty(feats);
  const { hidden, normed } = projectFeatures(params, c, feats);
  const embed = params.get("masked_spec_embed");
  if (embed === undefined) throw new Error("wav2vec2 pretrain: missing parameter masked_spec_embed");
  const m = tf.tensor3d(batch.mask, [B, T, 1]);
  const masked = tf.add(tf.mul(hidden, tf.sub(1, m)), tf.mul(m, embed)) as tf.Tensor3D;
  const states = encodeHiddenStates(params, c, masked);
  const last = states[states.length - 1];
  const get = (n: string): tf.Tensor => {
    const t = params.get(n);
    if (t === undefined) throw new Error(`wav2vec2 pretrain: missing parameter ${n}`);
    return t;
  };
  const context = linearPt(last, get("project_hid.weight"), get("project_hid.bias")) as tf.Tensor3D;
  const q = gumbelQuantize(params, c, normed, { temperature, gumbelNoise: batch.gumbel, mask: batch.mask });
  const targets = linearPt(q.quantized, get("project_q.weight"), get("project_q.bias")) as tf.Tensor3D;
  const G = c.num_codevector_groups;
  const W = batch.maskedIdx.map((idx, b) => candidateWeights(T, idx, batch.negatives[b], numNegatives, q.codes.subarray(b * T * G, (b + 1) * T * G), G));
  const con = contrastiveLoss(context, targets, W, batch.mask, c.contrastive_logits_temperature);
  const diversity = diversityLoss(q.perplexity, G * c.num_codevectors_per_group);
  const loss = combineLosses(con.loss, diversity, penalty, batch.numMasked, weights);
  const stats: StepStats = {
    contrastiveSum: tf.keep(con.loss),
    correct: tf.keep(con.correct),
    perplexity: tf.keep(q.perplexity),
    diversity: tf.keep(diversity),
    penalty: tf.keep(penalty),
  };
  return { loss, stats };
}

// ---------------------------------------------------------------------------------------------
// Optimiser

/** Linear warm-up to the peak, then linear decay to 0 at `steps` (fairseq polynomial_decay, power 1). */
export function learningRateAt(step: number, steps: number, peak: number, warmup: number): number {
  if (warmup > 0 && step < warmup) return (peak * (step + 1)) / warmup;
  const rest = Math.max(1, steps - warmup);
  return peak * Math.max(0, 1 - (step - warmup) / rest);
}

class AdamW {
  readonly m = new Map<string, tf.Tensor>();
  readonly v = new Map<string, tf.Tensor>();
  constructor(
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly eps: number,
    private readonly weightDecay: number,
  ) {}

  /** One update with the given (already clipped) gradients; `t` is the 1-based update count. */
  apply(vars: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number, t: number, gradScale: number): void {
    const bc1 = 1 - Math.pow(this.beta1, t);
    const bc2 = 1 - Math.pow(this.beta2, t);
    for (const [name, p] of vars) {
      const g0 = grads[p.name];
      if (g0 === undefined) continue;
      const oldM = this.m.get(name);
      const oldV = this.v.get(name);
      const [m, v] = tf.tidy(() => {
        const g = gradScale === 1 ? g0 : tf.mul(g0, gradScale);
        const m1 = oldM === undefined ? tf.mul(g, 1 - this.beta1) : tf.add(tf.mul(oldM, this.beta1), tf.mul(g, 1 - this.beta1));
        const v1 = oldV === undefined ? tf.mul(tf.square(g), 1 - this.beta2) : tf.add(tf.mul(oldV, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const update = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), this.eps));
        const decayed = this.weightDecay > 0 ? tf.mul(p, 1 - lr * this.weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
        return [m1, v1];
      });
      oldM?.dispose();
      oldV?.dispose();
      this.m.set(name, m);
      this.v.set(name, v);
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Output

/**
 * Writes a HF-format folder: config.json (architectures Wav2Vec2ForPreTraining), model.safetensors
 * with the parameter names of paramSpecs (HF names without the `wav2vec2.` prefix, which HF
 * `from_pretrained` accepts; metadata format "pt") and preprocessor_config.json.
 */
export function writeWav2Vec2Folder(dir: string, c: Wav2Vec2Config, params: ParamMap, opts: { pretraining?: boolean; doNormalize?: boolean } = {}): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const pretraining = opts.pretraining ?? true;
  const tensors: TensorMap = new Map();
  for (const spec of paramSpecs(c, { pretraining })) {
    const p = params.get(spec.name);
    if (p === undefined) throw new Error(`writeWav2Vec2Folder: missing parameter ${spec.name}`);
    tensors.set(spec.name, { shape: [...spec.shape], data: p.data });
  }
  const files = ["config.json", "model.safetensors", "preprocessor_config.json"].map((f) => path.join(dir, f));
  const config = { ...configToJson(c), architectures: [pretraining ? "Wav2Vec2ForPreTraining" : "Wav2Vec2Model"] };
  writeFileAtomic(files[0], JSON.stringify(config, null, 2) + "\n");
  writeSafetensors(files[1], tensors, { format: "pt" });
  const preprocessor = {
    feature_extractor_type: "Wav2Vec2FeatureExtractor",
    feature_size: 1,
    sampling_rate: SAMPLE_RATE,
    padding_value: 0.0,
    padding_side: "right",
    do_normalize: opts.doNormalize ?? true,
    return_attention_mask: false,
  };
  writeFileAtomic(files[2], JSON.stringify(preprocessor, null, 2) + "\n");
  return files;
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

interface RunDescriptor {
  config: Record<string, unknown>;
  seed: number;
  steps: number;
  batchSize: number;
  cropSamples: number;
  learningRate: number;
  warmupSteps: number;
  adam: [number, number, number, number];
  clipNorm: number;
  temperature: TemperatureSchedule;
  maskProb: number;
  maskLength: number;
  minMasks: number;
  numNegatives: number;
  lossWeights: LossWeights;
  normalizeAudio: boolean;
  data: string;
  init: string;
}

function describeDifferences(a: RunDescriptor, b: RunDescriptor): string {
  const diffs: string[] = [];
  for (const k of Object.keys(a) as (keyof RunDescriptor)[]) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) diffs.push(k);
  }
  return diffs.join(", ");
}

function saveCheckpoint(file: string, run: RunDescriptor, step: number, seconds: number, audioSeconds: number, log: PretrainLogEntry[], params: ParamMap, adam: AdamW): void {
  const tensors: TensorMap = new Map();
  for (const [name, p] of params) tensors.set(`param.${name}`, p);
  for (const [kind, store] of [["m", adam.m], ["v", adam.v]] as const) {
    for (const [name, t] of store) tensors.set(`adam.${kind}.${name}`, { shape: [...t.shape], data: t.dataSync() as Float32Array });
  }
  writeSafetensors(file, tensors, {
    format: CHECKPOINT_FORMAT,
    run: JSON.stringify(run),
    step: String(step),
    seconds: String(seconds),
    audioSeconds: String(audioSeconds),
    log: JSON.stringify(log),
  });
}

interface Restored {
  step: number;
  seconds: number;
  audioSeconds: number;
  log: PretrainLogEntry[];
  params: ParamMap;
  m: Map<string, tf.Tensor>;
  v: Map<string, tf.Tensor>;
}

function loadCheckpoint(file: string, run: RunDescriptor): Restored {
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== CHECKPOINT_FORMAT) throw new UserError(`${file}: not a wav2vec2 pre-training checkpoint`);
  const saved = JSON.parse(metadata.run ?? "{}") as RunDescriptor;
  if (JSON.stringify(saved) !== JSON.stringify(run)) {
    throw new UserError(
      `${file} belongs to a different pre-training run (differs in: ${describeDifferences(run, saved) || "settings"}); ` +
        `use another --out folder or delete the checkpoint to start over`,
    );
  }
  const params: ParamMap = new Map();
  const m = new Map<string, tf.Tensor>();
  const v = new Map<string, tf.Tensor>();
  for (const [key, t] of tensors) {
    if (key.startsWith("param.")) params.set(key.slice(6), t);
    else if (key.startsWith("adam.m.")) m.set(key.slice(7), tf.tensor(t.data, t.shape));
    else if (key.startsWith("adam.v.")) v.set(key.slice(7), tf.tensor(t.data, t.shape));
  }
  return {
    step: Number(metadata.step),
    seconds: Number(metadata.seconds),
    audioSeconds: Number(metadata.audioSeconds),
    log: JSON.parse(metadata.log ?? "[]") as PretrainLogEntry[],
    params,
    m,
    v,
  };
}

// ---------------------------------------------------------------------------------------------
// The training loop

interface Accumulator {
  steps: number;
  loss: number;
  contrastive: number;
  diversity: number;
  penalty: number;
  correct: number;
  masked: number;
  frames: number;
  perplexity: number;
  gradNorm: number;
}

const emptyAcc = (): Accumulator => ({ steps: 0, loss: 0, contrastive: 0, diversity: 0, penalty: 0, correct: 0, masked: 0, frames: 0, perplexity: 0, gradNorm: 0 });

function round(x: number, digits = 5): number {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : x;
}

/**
 * Pre-trains (or resumes pre-training) and writes the HF folder and training-log.json into
 * outDir. Call initTensorBackend() first. See the module comment for the recipe.
 */
export async function pretrainWav2Vec2(opts: PretrainOptions): Promise<PretrainSummary> {
  const c = validateConfig({ ...opts.config });
  const ds = asDataset(opts.data);
  const seed = opts.seed ?? 0;
  const steps = opts.steps;
  if (!Number.isInteger(steps) || steps < 1) throw new UserError(`pre-training steps must be a positive integer, got ${steps}`);
  const maskLength = opts.maskLength ?? c.mask_time_length;
  const minFrames = Math.max(2 * maskLength, maskLength + 2);
  const minSamples = receptiveField(c) + (minFrames - 1) * frameHop(c);
  const cropSamples = Math.max(minSamples, Math.round((opts.cropSeconds ?? 4) * SAMPLE_RATE));
  const usable: number[] = [];
  for (let i = 0; i < ds.size; i++) if (ds.length(i) >= minSamples) usable.push(i);
  if (usable.length === 0) {
    throw new UserError(`no utterance is long enough to pre-train on (need at least ${(minSamples / SAMPLE_RATE).toFixed(2)} s)`);
  }
  const batchSize = Math.min(opts.batchSize ?? 8, usable.length);
  const lengths = usable.map((i) => ds.length(i));
  const tStart = opts.temperature?.start ?? 2;
  const tEnd = opts.temperature?.end ?? 0.5;
  const schedule: TemperatureSchedule = { start: tStart, end: tEnd, decay: opts.temperature?.decay ?? temperatureDecayFor(steps, tStart, tEnd) };
  const lossWeights: LossWeights = {
    diversity: opts.lossWeights?.diversity ?? c.diversity_loss_weight,
    featurePenalty: opts.lossWeights?.featurePenalty ?? 10,
  };
  const randomness: StepRandomness = {
    maskProb: opts.maskProb ?? PRETRAIN_MASK_PROB,
    maskLength,
    minMasks: opts.minMasks ?? 2,
    numNegatives: opts.numNegatives ?? c.num_negatives,
    normalizeAudio: opts.normalizeAudio ?? true,
  };
  const peakLr = opts.learningRate ?? 5e-4;
  const warmup = opts.warmupSteps ?? Math.round(0.08 * steps);
  const [beta1, beta2] = opts.adamBetas ?? [0.9, 0.98];
  const adamEps = opts.adamEps ?? 1e-6;
  const weightDecay = opts.weightDecay ?? 0.01;
  const clipNorm = opts.clipNorm ?? 0;
  const checkpointEvery = Math.max(1, opts.checkpointEvery ?? 200);
  const logEvery = Math.max(1, opts.logEvery ?? 25);
  const run: RunDescriptor = {
    config: configToJson(c),
    seed,
    steps,
    batchSize,
    cropSamples,
    learningRate: peakLr,
    warmupSteps: warmup,
    adam: [beta1, beta2, adamEps, weightDecay],
    clipNorm,
    temperature: schedule,
    maskProb: randomness.maskProb,
    maskLength,
    minMasks: randomness.minMasks,
    numNegatives: randomness.numNegatives,
    lossWeights,
    normalizeAudio: randomness.normalizeAudio,
    data: `${usable.length}:${datasetId(ds)}`,
    init: opts.initParams ? hashParams(opts.initParams) : "random",
  };

  fs.mkdirSync(opts.outDir, { recursive: true });
  const ckptFile = path.join(opts.outDir, CHECKPOINT_FILE);
  const logFile = path.join(opts.outDir, LOG_FILE);
  const parameters = countParams(c, { pretraining: true });

  // A finished run in this folder: report it instead of training again.
  if (!fs.existsSync(ckptFile) && fs.existsSync(logFile)) {
    const done = readLog(logFile);
    if (done?.completed && JSON.stringify(done.run) === JSON.stringify(run) && fs.existsSync(path.join(opts.outDir, "model.safetensors"))) {
      const last = done.entries[done.entries.length - 1] ?? null;
      return {
        outDir: opts.outDir, completed: true, step: steps, steps, resumedFromStep: steps, stepsThisRun: 0, seconds: 0,
        totalSeconds: done.seconds, audioPerSecond: 0, peakRssMB: 0, parameters, last, files: outputFiles(opts.outDir),
      };
    }
  }

  let step = 0;
  let seconds0 = 0;
  let audioSeconds = 0;
  let log: PretrainLogEntry[] = [];
  let initial: ParamMap;
  const adam = new AdamW(beta1, beta2, adamEps, weightDecay);
  if (fs.existsSync(ckptFile)) {
    const r = loadCheckpoint(ckptFile, run);
    step = r.step;
    seconds0 = r.seconds;
    audioSeconds = r.audioSeconds;
    log = r.log;
    initial = r.params;
    for (const [k, t] of r.m) adam.m.set(k, t);
    for (const [k, t] of r.v) adam.v.set(k, t);
  } else {
    initial = opts.initParams ?? initParams(c, seed, { pretraining: true });
  }
  const specs = paramSpecs(c, { pretraining: true });
  const subset: ParamMap = new Map();
  for (const s of specs) {
    const p = initial.get(s.name);
    if (p === undefined || p.shape.join() !== s.shape.join()) throw new UserError(`pre-training parameters: ${s.name} is missing or has the wrong shape`);
    subset.set(s.name, p);
  }
  const vars = createTfVariables(subset);
  const varList = [...vars.values()];
  const resumedFromStep = step;

  const bar = startProgress({ label: "pre-training", total: steps, unit: "steps", enabled: opts.progress });
  bar.increment(step);
  const t0 = performance.now();
  const elapsed = (): number => seconds0 + (performance.now() - t0) / 1000;
  let audioThisRun = 0;
  let peakRss = process.memoryUsage().rss;
  let acc = emptyAcc();
  let planEpoch = -1;
  let plan: number[][] = [];
  const perEpoch = Math.max(1, Math.floor(usable.length / batchSize));
  const writeCheckpoint = async (): Promise<void> => {
    saveCheckpoint(ckptFile, run, step, elapsed(), audioSeconds, log, await readTfParams(vars), adam);
  };

  try {
    while (step < steps) {
      if (opts.signal?.aborted) {
        await writeCheckpoint();
        throw new UserError(`pre-training interrupted at step ${step} of ${steps}; run the same command again to resume`);
      }
      const epoch = Math.floor(step / perEpoch);
      if (epoch !== planEpoch) {
        plan = epochBatches(lengths, batchSize, seed, epoch);
        planEpoch = epoch;
      }
      const members = plan[step % plan.length].map((k) => usable[k]);
      const batch = prepareBatch(c, members.map((i) => ds.load(i)), cropSamples, seed, step, randomness);
      const temperature = gumbelTemperature(step, schedule);
      const lr = learningRateAt(step, steps, peakLr, warmup);

      let stats: StepStats | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const out = pretrainLoss(vars, c, batch, temperature, lossWeights, randomness.numNegatives);
        stats = out.stats;
        return out.loss;
      }, varList);
      const loss = (await value.data())[0];
      value.dispose();
      const gradNorm = Math.sqrt(
        tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))).dataSync()[0]),
      );
      const s = stats!;
      const part = {
        contrastive: s.contrastiveSum.dataSync()[0],
        correct: s.correct.dataSync()[0],
        perplexity: s.perplexity.dataSync()[0],
        diversity: s.diversity.dataSync()[0],
        penalty: s.penalty.dataSync()[0],
      };
      tf.dispose(Object.values(s));
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        tf.dispose(Object.values(grads));
        throw new UserError(`pre-training diverged at step ${step} (loss ${loss}, gradient norm ${gradNorm}); lower the learning rate or set a gradient clip`);
      }
      const scale = clipNorm > 0 && gradNorm > clipNorm ? clipNorm / gradNorm : 1;
      adam.apply(vars, grads, lr, step + 1, scale);
      tf.dispose(Object.values(grads));

      step += 1;
      const clipSeconds = (batch.batch * batch.samples) / SAMPLE_RATE;
      audioSeconds += clipSeconds;
      audioThisRun += clipSeconds;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      acc.steps += 1;
      acc.loss += loss;
      acc.contrastive += part.contrastive;
      acc.correct += part.correct;
      acc.masked += batch.numMasked;
      acc.frames += batch.batch * batch.frames;
      acc.perplexity += part.perplexity;
      acc.diversity += part.diversity;
      acc.penalty += part.penalty;
      acc.gradNorm += gradNorm;
      const runSeconds = (performance.now() - t0) / 1000;
      const progress: PretrainProgress = {
        step,
        steps,
        loss,
        contrastive: part.contrastive / Math.max(1, batch.numMasked),
        accuracy: part.correct / Math.max(1, batch.numMasked),
        perplexity: part.perplexity,
        temperature,
        learningRate: lr,
        seconds: elapsed(),
        audioPerSecond: runSeconds > 0 ? audioThisRun / runSeconds : 0,
      };
      opts.onProgress?.(progress);
      bar.increment(1, { loss: loss.toFixed(3), acc: progress.accuracy.toFixed(3), ppl: part.perplexity.toFixed(1) });
      if (step % logEvery === 0 || step === steps) {
        log.push({
          step,
          loss: round(acc.loss / acc.steps),
          contrastive: round(acc.contrastive / Math.max(1, acc.masked)),
          diversity: round(acc.diversity / acc.steps),
          featurePenalty: round(acc.penalty / acc.steps),
          accuracy: round(acc.correct / Math.max(1, acc.masked)),
          perplexity: round(acc.perplexity / acc.steps),
          maskedFraction: round(acc.masked / Math.max(1, acc.frames), 3),
          temperature: round(temperature),
          learningRate: round(lr),
          gradNorm: round(acc.gradNorm / acc.steps),
          seconds: round(elapsed(), 6),
          audioSeconds: round(audioSeconds, 7),
          rssMB: Math.round(peakRss / 2 ** 20),
        });
        acc = emptyAcc();
      }
      const stopping = opts.stopAfter !== undefined && step - resumedFromStep >= opts.stopAfter && step < steps;
      if (step % checkpointEvery === 0 || step === steps || stopping) await writeCheckpoint();
      if (stopping) break;
    }
  } finally {
    bar.stop();
  }

  const runSeconds = (performance.now() - t0) / 1000;
  const completed = step >= steps;
  let files: string[] = [];
  if (completed) {
    const final = await readTfParams(vars);
    files = writeWav2Vec2Folder(opts.outDir, c, final, { pretraining: true, doNormalize: randomness.normalizeAudio });
    writeFileAtomic(logFile, JSON.stringify({ completed: true, steps, seconds: round(elapsed(), 6), parameters, run, entries: log }, null, 2) + "\n");
    files.push(logFile);
    if (!opts.keepCheckpoint) fs.rmSync(ckptFile, { force: true });
    else files.push(ckptFile);
  }
  tf.dispose(varList);
  adam.dispose();
  return {
    outDir: opts.outDir,
    completed,
    step,
    steps,
    resumedFromStep,
    stepsThisRun: step - resumedFromStep,
    seconds: runSeconds,
    totalSeconds: elapsed(),
    audioPerSecond: runSeconds > 0 ? audioThisRun / runSeconds : 0,
    peakRssMB: Math.round(peakRss / 2 ** 20),
    parameters,
    last: log[log.length - 1] ?? null,
    files,
  };
}

function outputFiles(dir: string): string[] {
  return ["config.json", "model.safetensors", "preprocessor_config.json", LOG_FILE].map((f) => path.join(dir, f));
}

function readLog(file: string): { completed: boolean; seconds: number; run: RunDescriptor; entries: PretrainLogEntry[] } | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as { completed: boolean; seconds: number; run: RunDescriptor; entries: PretrainLogEntry[] };
  } catch {
    return undefined;
  }
}

function hashParams(p: ParamMap): string {
  const h = createHash("sha256");
  for (const name of [...p.keys()].sort()) {
    const t = p.get(name)!;
    h.update(name);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest("hex").slice(0, 16);
}
