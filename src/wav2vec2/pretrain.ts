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
 * A step's batch is split into `shards` whose gradients are summed in shard order; worker threads
 * (one per core) compute shards in parallel, with results identical to one thread.
 *
 * Differences from fairseq's recipe, all deliberate for small CPU runs: no dropout / layerdrop
 * (the forward pass has none; runs are far shorter than would overfit), no feature_grad_mult
 * (it scales every feature-encoder gradient uniformly, which Adam cancels), feature penalty
 * weight 0 by default instead of 10 (see PretrainOptions.lossWeights), a peak learning rate of
 * 1e-3 with 8 % warm-up (fairseq: 5e-4 with 32k warm-up updates of 400k), the Gumbel
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
import { arrayPretrainData, pretrainDataId, type PretrainDataset } from "../pretrain-data.js";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../fs-atomic.js";
import { startProgress } from "../progress.js";
import { Rng, deriveSeed } from "../random.js";
import { readSafetensors, writeSafetensors, type TensorMap } from "../safetensors.js";
import { configToJson, frameHop, numFrames, receptiveField, validateConfig, type Wav2Vec2Config } from "./config.js";
import { AdamW, checkpointTensors, gradsByParamName, splitCheckpointTensors } from "./adamw.js";
import { zeroMeanUnitVarianceInPlace } from "./normalize.js";
import { PRETRAIN_MASK_PROB, computeMaskIndices, maskedIndices, sampleNegatives } from "./masking.js";
import { countParams, initParams, paramSpecs, type ParamMap } from "./params.js";
import { candidateWeights, combineLosses, contrastiveLoss, diversityLoss, featurePenalty, type LossWeights } from "./pretrain-losses.js";
import { gumbelQuantize, gumbelTemperature, linearPt, sampleGumbelNoise, temperatureDecayFor, type TemperatureSchedule } from "./quantizer.js";
import { createTfVariables, encodeHiddenStates, extractFeatures, projectFeatures, readTfParams, type TfParams } from "./tfjs-model.js";

export const SAMPLE_RATE = 16000;
export type { PretrainDataset } from "../pretrain-data.js";

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
  /**
   * Longest audio per shard in seconds (default 12): the crop is shortened so that a shard never
   * holds more. Bounds memory: the tfjs wasm heap must stay below 2 GB per thread (beyond that
   * tfjs-backend-wasm 4.22 fails with "memory access out of bounds"), and a training step needs
   * about 100 MB per second of audio for a 4-layer, 256-wide model.
   */
  maxShardSeconds?: number;
  /** Peak learning rate (default 1e-3; fairseq base uses 5e-4 over 400k updates). */
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
  /** Steps between checkpoints (default 100; a checkpoint is also written at the end). */
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
  /**
   * Loss weights. Default diversity = config.diversity_loss_weight (0.1) and feature penalty 0
   * (HF has none). fairseq's 10 is not the default because in short runs at our learning rates
   * it drives the CNN's GELU outputs to zero within ~10 steps (dead units) and the contrastive
   * loss then never leaves chance (measured on the tiny preset over 300 steps); fairseq's tiny
   * early learning rate (32k warm-up updates) keeps that from happening there.
   */
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
  return Array.isArray(data) ? arrayPretrainData(data as readonly Float32Array[]) : (data as PretrainDataset);
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
    if (r.normalizeAudio) zeroMeanUnitVarianceInPlace(row);
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

/** One gradient shard of a step: consecutive utterances of a prepared batch. */
export interface Shard {
  /** [B, S] row-major. */
  audio: Float32Array;
  batch: number;
  samples: number;
  frames: number;
  /** [B*T], 1 = masked. */
  mask: Float32Array;
  maskedIdx: Int32Array[];
  negatives: Int32Array[];
  gumbel: Float32Array;
}

/** Splits a batch into `shards` parts of equal size (batch size must be a multiple). */
export function splitBatch(c: Wav2Vec2Config, b: PreparedBatch, shards: number): Shard[] {
  if (b.batch % shards !== 0) throw new Error(`internal: batch of ${b.batch} does not split into ${shards} shards`);
  const n = b.batch / shards;
  const T = b.frames;
  const GV = c.num_codevector_groups * c.num_codevectors_per_group;
  return Array.from({ length: shards }, (_, s) => ({
    audio: b.audio.slice(s * n * b.samples, (s + 1) * n * b.samples),
    batch: n,
    samples: b.samples,
    frames: T,
    mask: b.mask.slice(s * n * T, (s + 1) * n * T),
    maskedIdx: b.maskedIdx.slice(s * n, (s + 1) * n),
    negatives: b.negatives.slice(s * n, (s + 1) * n),
    gumbel: b.gumbel.slice(s * n * T * GV, (s + 1) * n * T * GV),
  }));
}

/** How a shard's loss is scaled so that the shard losses sum to the step's loss. */
export interface ShardScale {
  /** Masked frames of the whole step (the contrastive sum is divided by it). */
  totalMasked: number;
  /** This shard's share of the step's utterances (weights its diversity and penalty terms). */
  fraction: number;
}

export interface ShardStats {
  loss: number;
  contrastiveSum: number;
  correct: number;
  perplexity: number;
  diversity: number;
  penalty: number;
}

/**
 * The loss of one shard: contrastiveSum / totalMasked + fraction * (w_div * diversity + w_pen *
 * penalty), so that summing the shards of a step gives the per-masked-frame objective of
 * combineLosses. Returns the scalar and its parts (tf.keep()-ed: they survive the gradient tape's
 * tidy; the caller disposes them).
 */
export function shardLoss(
  params: TfParams,
  c: Wav2Vec2Config,
  shard: Shard,
  temperature: number,
  weights: LossWeights,
  numNegatives: number,
  scale: ShardScale,
): { loss: tf.Scalar; parts: tf.Scalar[] } {
  const { batch: B, samples: S, frames: T } = shard;
  const audio = tf.tensor2d(shard.audio, [B, S]);
  const feats = extractFeatures(params, c, audio);
  if (feats.shape[1] !== T) throw new Error(`internal: ${feats.shape[1]} frames, expected ${T}`);
  const penalty = featurePenalty(feats);
  const { hidden, normed } = projectFeatures(params, c, feats);
  const get = (n: string): tf.Tensor => {
    const t = params.get(n);
    if (t === undefined) throw new Error(`wav2vec2 pretrain: missing parameter ${n}`);
    return t;
  };
  // HF _mask_hidden_states: masked frames of the projected features become masked_spec_embed.
  const m = tf.tensor3d(shard.mask, [B, T, 1]);
  const masked = tf.add(tf.mul(hidden, tf.sub(1, m)), tf.mul(m, get("masked_spec_embed"))) as tf.Tensor3D;
  const states = encodeHiddenStates(params, c, masked);
  const context = linearPt(states[states.length - 1], get("project_hid.weight"), get("project_hid.bias")) as tf.Tensor3D;
  const q = gumbelQuantize(params, c, normed, { temperature, gumbelNoise: shard.gumbel, mask: shard.mask });
  const targets = linearPt(q.quantized, get("project_q.weight"), get("project_q.bias")) as tf.Tensor3D;
  const G = c.num_codevector_groups;
  const W = shard.maskedIdx.map((idx, b) => candidateWeights(T, idx, shard.negatives[b], numNegatives, q.codes.subarray(b * T * G, (b + 1) * T * G), G));
  const con = contrastiveLoss(context, targets, W, shard.mask, c.contrastive_logits_temperature);
  const diversity = diversityLoss(q.perplexity, G * c.num_codevectors_per_group);
  const extra = combineLosses(tf.scalar(0), diversity, penalty, 1, weights);
  const loss = tf.add(tf.div(con.loss, Math.max(1, scale.totalMasked)), tf.mul(extra, scale.fraction)) as tf.Scalar;
  return { loss, parts: [con.loss, con.correct, q.perplexity, diversity, penalty].map((t) => tf.keep(t)) };
}

/** Loss and gradients of one shard; gradients keyed by parameter name (the caller disposes them). */
export function shardGradients(
  vars: ReadonlyMap<string, tf.Variable>,
  c: Wav2Vec2Config,
  shard: Shard,
  temperature: number,
  weights: LossWeights,
  numNegatives: number,
  scale: ShardScale,
): { grads: Map<string, tf.Tensor>; stats: ShardStats } {
  let parts: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = shardLoss(vars, c, shard, temperature, weights, numNegatives, scale);
    parts = out.parts;
    return out.loss;
  }, [...vars.values()]);
  const [contrastiveSum, correct, perplexity, diversity, penalty] = parts.map((t) => t.dataSync()[0]);
  const stats: ShardStats = { loss: value.dataSync()[0], contrastiveSum, correct, perplexity, diversity, penalty };
  tf.dispose([value, ...parts]);
  return { grads: gradsByParamName(vars, grads), stats };
}

// ---------------------------------------------------------------------------------------------
// Worker threads: each holds a replica of the parameters, receives them before every step with
// its shards, and returns the shard gradients flattened in paramSpecs order.

interface WorkerInit {
  kind: "superb-wav2vec2-pretrain";
  config: Wav2Vec2Config;
}

interface WorkerJob {
  params: Float32Array;
  shards: Shard[];
  scales: ShardScale[];
  temperature: number;
  weights: LossWeights;
  numNegatives: number;
}

type WorkerReply = { ok: true; grads: Float32Array[]; stats: ShardStats[] } | { ok: false; error: string };

function flattenInto(names: readonly string[], sizes: readonly number[], get: (name: string) => ArrayLike<number>): Float32Array {
  const out = new Float32Array(sizes.reduce((a, b) => a + b, 0));
  let off = 0;
  names.forEach((n, i) => {
    out.set(get(n), off);
    off += sizes[i];
  });
  return out;
}

async function workerMain(init: WorkerInit): Promise<void> {
  await initTensorBackend();
  const c = init.config;
  const specs = paramSpecs(c, { pretraining: true });
  const vars = createTfVariables(initParams(c, 0, { pretraining: true }));
  const names = specs.map((s) => s.name);
  const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1));
  parentPort!.on("message", (job: WorkerJob | null) => {
    if (job === null) {
      parentPort!.close();
      return;
    }
    let reply: WorkerReply;
    const transfer: ArrayBuffer[] = [];
    try {
      let off = 0;
      specs.forEach((s, i) => {
        // assign() takes its own reference: the temporary must be disposed or every step leaks a copy.
        const t = tf.tensor(job.params.subarray(off, off + sizes[i]), s.shape);
        vars.get(s.name)!.assign(t);
        t.dispose();
        off += sizes[i];
      });
      const grads: Float32Array[] = [];
      const stats: ShardStats[] = [];
      job.shards.forEach((shard, k) => {
        const r = shardGradients(vars, c, shard, job.temperature, job.weights, job.numNegatives, job.scales[k]);
        const flat = flattenInto(names, sizes, (n) => {
          const g = r.grads.get(n);
          return g === undefined ? new Float32Array(sizes[names.indexOf(n)]) : (g.dataSync() as Float32Array);
        });
        tf.dispose([...r.grads.values()]);
        grads.push(flat);
        transfer.push(flat.buffer as ArrayBuffer);
        stats.push(r.stats);
      });
      reply = { ok: true, grads, stats };
    } catch (err) {
      reply = { ok: false, error: err instanceof Error ? `${err.message}\n${err.stack ?? ""}` : String(err) };
      transfer.length = 0;
    }
    parentPort!.postMessage(reply, transfer);
  });
}

if (!isMainThread && (workerData as WorkerInit | undefined)?.kind === "superb-wav2vec2-pretrain") {
  void workerMain(workerData as WorkerInit);
}

/** A worker thread running this module; usable only from compiled JavaScript. */
class ShardWorker {
  private readonly worker: Worker;
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(config: Wav2Vec2Config) {
    this.worker = new Worker(fileURLToPath(import.meta.url), { workerData: { kind: "superb-wav2vec2-pretrain", config } satisfies WorkerInit });
    this.worker.on("message", (r: WorkerReply) => {
      const p = this.pending;
      this.pending = null;
      p?.resolve(r);
    });
    const fail = (err: Error): void => {
      this.failure = err;
      const p = this.pending;
      this.pending = null;
      p?.reject(err);
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => {
      if (code !== 0) fail(new Error(`pre-training worker exited with code ${code}`));
    });
  }

  /** Posts a job; the returned promise settles with the worker's reply. */
  run(job: WorkerJob): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    const p = new Promise<WorkerReply>((resolve, reject) => {
      this.pending = { resolve, reject };
    });
    const transfer = job.shards.flatMap((s) => [s.audio.buffer, s.gumbel.buffer, s.mask.buffer] as ArrayBuffer[]);
    this.worker.postMessage(job, transfer);
    return p;
  }

  async close(): Promise<void> {
    this.worker.postMessage(null);
    await this.worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// Optimiser

/** Linear warm-up to the peak, then linear decay to 0 at `steps` (fairseq polynomial_decay, power 1). */
export function learningRateAt(step: number, steps: number, peak: number, warmup: number): number {
  if (warmup > 0 && step < warmup) return (peak * (step + 1)) / warmup;
  const rest = Math.max(1, steps - warmup);
  return peak * Math.max(0, 1 - (step - warmup) / rest);
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
  shards: number;
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

function saveCheckpoint(file: string, run: RunDescriptor, step: number, seconds: number, audioSeconds: number, log: PretrainLogEntry[], pending: Accumulator, params: ParamMap, adam: AdamW): void {
  writeSafetensors(file, checkpointTensors(params, adam), {
    format: CHECKPOINT_FORMAT,
    run: JSON.stringify(run),
    step: String(step),
    seconds: String(seconds),
    audioSeconds: String(audioSeconds),
    log: JSON.stringify(log),
    pending: JSON.stringify(pending),
  });
}

interface Restored {
  step: number;
  seconds: number;
  audioSeconds: number;
  log: PretrainLogEntry[];
  /** Statistics of the steps since the last log entry. */
  pending: Accumulator;
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
  const { params, m, v } = splitCheckpointTensors(tensors);
  return {
    step: Number(metadata.step),
    seconds: Number(metadata.seconds),
    audioSeconds: Number(metadata.audioSeconds),
    log: JSON.parse(metadata.log ?? "[]") as PretrainLogEntry[],
    pending: metadata.pending ? (JSON.parse(metadata.pending) as Accumulator) : emptyAcc(),
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
 * outDir. See the module comment for the recipe.
 */
export async function pretrainWav2Vec2(opts: PretrainOptions): Promise<PretrainSummary> {
  await initTensorBackend();
  const c = validateConfig({ ...opts.config });
  const ds = asDataset(opts.data);
  const seed = opts.seed ?? 0;
  const steps = opts.steps;
  if (!Number.isInteger(steps) || steps < 1) throw new UserError(`pre-training steps must be a positive integer, got ${steps}`);
  const maskLength = opts.maskLength ?? c.mask_time_length;
  const minFrames = Math.max(2 * maskLength, maskLength + 2);
  const minSamples = receptiveField(c) + (minFrames - 1) * frameHop(c);
  let cropSamples = Math.max(minSamples, Math.round((opts.cropSeconds ?? 4) * SAMPLE_RATE));
  const usable: number[] = [];
  for (let i = 0; i < ds.size; i++) if (ds.length(i) >= minSamples) usable.push(i);
  if (usable.length === 0) {
    throw new UserError(`no utterance is long enough to pre-train on (need at least ${(minSamples / SAMPLE_RATE).toFixed(2)} s)`);
  }
  let shardCount = Math.max(1, Math.floor(opts.shards ?? 2));
  const batchSize = Math.min(opts.batchSize ?? 8, usable.length);
  // Shards must divide the batch; a batch smaller than the shard count gets one shard per utterance.
  shardCount = Math.min(shardCount, batchSize);
  while (batchSize % shardCount !== 0) shardCount -= 1;
  const shardCap = Math.floor(((opts.maxShardSeconds ?? 12) * SAMPLE_RATE * shardCount) / batchSize);
  cropSamples = Math.max(minSamples, Math.min(cropSamples, shardCap));
  const lengths = usable.map((i) => ds.length(i));
  const tStart = opts.temperature?.start ?? 2;
  const tEnd = opts.temperature?.end ?? 0.5;
  const schedule: TemperatureSchedule = { start: tStart, end: tEnd, decay: opts.temperature?.decay ?? temperatureDecayFor(steps, tStart, tEnd) };
  const lossWeights: LossWeights = {
    diversity: opts.lossWeights?.diversity ?? c.diversity_loss_weight,
    featurePenalty: opts.lossWeights?.featurePenalty ?? 0,
  };
  const randomness: StepRandomness = {
    maskProb: opts.maskProb ?? PRETRAIN_MASK_PROB,
    maskLength,
    minMasks: opts.minMasks ?? 2,
    numNegatives: opts.numNegatives ?? c.num_negatives,
    normalizeAudio: opts.normalizeAudio ?? true,
  };
  const peakLr = opts.learningRate ?? 1e-3;
  const warmup = opts.warmupSteps ?? Math.round(0.08 * steps);
  const [beta1, beta2] = opts.adamBetas ?? [0.9, 0.98];
  const adamEps = opts.adamEps ?? 1e-6;
  const weightDecay = opts.weightDecay ?? 0.01;
  const clipNorm = opts.clipNorm ?? 0;
  const checkpointEvery = Math.max(1, opts.checkpointEvery ?? 100);
  const logEvery = Math.max(1, opts.logEvery ?? 25);
  const run: RunDescriptor = {
    config: configToJson(c),
    seed,
    steps,
    batchSize,
    shards: shardCount,
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
    data: `${usable.length}:${pretrainDataId(ds)}`,
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
        totalSeconds: done.seconds, cpuSeconds: 0, workers: 0, audioPerSecond: 0, peakRssMB: 0, parameters, last, files: outputFiles(opts.outDir),
      };
    }
  }

  let step = 0;
  let seconds0 = 0;
  let audioSeconds = 0;
  let log: PretrainLogEntry[] = [];
  let pending = emptyAcc();
  let initial: ParamMap;
  const adam = new AdamW(beta1, beta2, adamEps, weightDecay);
  if (fs.existsSync(ckptFile)) {
    const r = loadCheckpoint(ckptFile, run);
    step = r.step;
    seconds0 = r.seconds;
    audioSeconds = r.audioSeconds;
    log = r.log;
    pending = r.pending;
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

  // Shard executors: this thread plus worker threads (compiled JavaScript only).
  const runningFromJs = fileURLToPath(import.meta.url).endsWith(".js");
  const workerCount = runningFromJs ? Math.max(1, Math.min(opts.workers ?? availableParallelism(), shardCount)) : 1;
  const workers: ShardWorker[] = Array.from({ length: workerCount - 1 }, () => new ShardWorker(c));
  const names = specs.map((s) => s.name);
  const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1));
  /** Gradients summed over the shards in shard order (whoever computed them), and per-shard stats. */
  const computeShards = async (shards: Shard[], scales: ShardScale[], temperature: number): Promise<{ grads: Map<string, tf.Tensor>; stats: ShardStats[] }> => {
    const owner = (k: number): number => k % workerCount;
    const replies: Promise<WorkerReply>[] = [];
    if (workers.length > 0) {
      const flatParams = flattenInto(names, sizes, (n) => vars.get(n)!.dataSync() as Float32Array);
      workers.forEach((w, i) => {
        const mine = shards.map((_, k) => k).filter((k) => owner(k) === i + 1);
        replies.push(
          w.run({
            params: i === workers.length - 1 ? flatParams : flatParams.slice(),
            shards: mine.map((k) => shards[k]),
            scales: mine.map((k) => scales[k]),
            temperature,
            weights: lossWeights,
            numNegatives: randomness.numNegatives,
          }),
        );
      });
    }
    // Awaited after this thread's own shards; marked handled now so that a worker failing while
    // this thread is still busy (or has thrown) is not an unhandled rejection.
    const allReplies = Promise.all(replies);
    allReplies.catch(() => undefined);
    const perShard: { grads: Map<string, tf.Tensor>; stats: ShardStats }[] = new Array(shards.length);
    try {
      for (let k = 0; k < shards.length; k++) {
        if (owner(k) === 0) perShard[k] = shardGradients(vars, c, shards[k], temperature, lossWeights, randomness.numNegatives, scales[k]);
      }
      const settled = await allReplies;
      settled.forEach((r, i) => {
        if (!r.ok) throw new Error(`pre-training worker failed: ${r.error}`);
        const mine = shards.map((_, k) => k).filter((k) => owner(k) === i + 1);
        mine.forEach((k, j) => {
          const flat = r.grads[j];
          const grads = new Map<string, tf.Tensor>();
          let off = 0;
          specs.forEach((s, n) => {
            grads.set(s.name, tf.tensor(flat.subarray(off, off + sizes[n]), s.shape));
            off += sizes[n];
          });
          perShard[k] = { grads, stats: r.stats[j] };
        });
      });
    } catch (err) {
      for (const p of perShard) if (p) tf.dispose([...p.grads.values()]);
      throw err;
    }
    const total = new Map<string, tf.Tensor>();
    for (const name of names) {
      const parts = perShard.map((p) => p.grads.get(name)).filter((g): g is tf.Tensor => g !== undefined);
      if (parts.length === 0) continue;
      let acc = parts[0];
      for (let k = 1; k < parts.length; k++) {
        const next = tf.add(acc, parts[k]);
        if (k > 1) acc.dispose();
        acc = next;
      }
      total.set(name, parts.length === 1 ? tf.clone(acc) : acc);
    }
    for (const p of perShard) tf.dispose([...p.grads.values()]);
    return { grads: total, stats: perShard.map((p) => p.stats) };
  };

  const bar = startProgress({ label: "pre-training", total: steps, unit: "steps", enabled: opts.progress });
  bar.increment(step);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let files: string[] = [];
  const elapsed = (): number => seconds0 + (performance.now() - t0) / 1000;
  let audioThisRun = 0;
  let peakRss = process.memoryUsage().rss;
  let acc = pending;
  let planEpoch = -1;
  let plan: number[][] = [];
  const perEpoch = Math.max(1, Math.floor(usable.length / batchSize));
  const writeCheckpoint = async (): Promise<void> => {
    saveCheckpoint(ckptFile, run, step, elapsed(), audioSeconds, log, acc, await readTfParams(vars), adam);
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

      const shards = splitBatch(c, batch, shardCount);
      const scales = shards.map((sh) => ({ totalMasked: batch.numMasked, fraction: sh.batch / batch.batch }));
      const { grads, stats } = await computeShards(shards, scales, temperature);
      const loss = stats.reduce((a, st) => a + st.loss, 0);
      const part = {
        contrastive: stats.reduce((a, st) => a + st.contrastiveSum, 0),
        correct: stats.reduce((a, st) => a + st.correct, 0),
        perplexity: stats.reduce((a, st) => a + st.perplexity, 0) / stats.length,
        diversity: stats.reduce((a, st) => a + st.diversity, 0) / stats.length,
        penalty: stats.reduce((a, st) => a + st.penalty, 0) / stats.length,
      };
      const gradNorm = Math.sqrt(tf.tidy(() => tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))).dataSync()[0]));
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        tf.dispose([...grads.values()]);
        throw new UserError(`pre-training diverged at step ${step} (loss ${loss}, gradient norm ${gradNorm}); lower the learning rate or set a gradient clip`);
      }
      const scale = clipNorm > 0 && gradNorm > clipNorm ? clipNorm / gradNorm : 1;
      adam.apply(vars, grads, lr, step + 1, scale);
      tf.dispose([...grads.values()]);

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
    if (step >= steps) {
      const final = await readTfParams(vars);
      files = writeWav2Vec2Folder(opts.outDir, c, final, { pretraining: true, doNormalize: randomness.normalizeAudio });
      writeFileAtomic(logFile, JSON.stringify({ completed: true, steps, seconds: round(elapsed(), 6), parameters, run, entries: log }, null, 2) + "\n");
      files.push(logFile);
      if (!opts.keepCheckpoint) fs.rmSync(ckptFile, { force: true });
      else files.push(ckptFile);
    }
  } finally {
    bar.stop();
    await Promise.all(workers.map((w) => w.close()));
    tf.dispose(varList);
    adam.dispose();
  }

  const runSeconds = (performance.now() - t0) / 1000;
  const completed = step >= steps;
  const cpu = process.cpuUsage(cpu0);
  return {
    outDir: opts.outDir,
    completed,
    step,
    steps,
    resumedFromStep,
    stepsThisRun: step - resumedFromStep,
    seconds: runSeconds,
    totalSeconds: elapsed(),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    workers: workerCount,
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
