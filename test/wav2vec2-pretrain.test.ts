import * as tf from "@tensorflow/tfjs";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend } from "../src/backend.js";
import { readSafetensors } from "../src/safetensors.js";
import { mulberry32 } from "../src/random.js";
import { parseWav2Vec2Config, presetConfig, type Wav2Vec2Config } from "../src/wav2vec2/config.js";
import { computeMaskIndices, maskedIndices, numMaskedSpans, sampleNegatives } from "../src/wav2vec2/masking.js";
import { countParams, initParams, paramSpecs } from "../src/wav2vec2/params.js";
import { writePretrainModelCard } from "../src/wav2vec2/model-card.js";
import { CHECKPOINT_FILE, epochBatches, learningRateAt, pretrainWav2Vec2, type PretrainProgress } from "../src/wav2vec2/pretrain.js";
import { candidateWeights, combineLosses, contrastiveLoss, diversityLoss, featurePenalty } from "../src/wav2vec2/pretrain-losses.js";
import { codevectorPerplexity, gumbelQuantize, gumbelTemperature, sampleGumbelNoise, temperatureDecayFor } from "../src/wav2vec2/quantizer.js";
import { createTfVariables } from "../src/wav2vec2/tfjs-model.js";

let tmp: string;
beforeAll(async () => {
  await initTensorBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-pretrain-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("span masking", () => {
  it("follows HF's span count and keeps every span inside the utterance", () => {
    const rng = mulberry32(1);
    for (const T of [20, 57, 114, 300]) {
      for (let rep = 0; rep < 50; rep++) {
        const m = computeMaskIndices(T, 0.65, 10, 2, rng);
        expect(m.length).toBe(T);
        const masked = maskedIndices(m).length;
        const lo = numMaskedSpans(T, 0.65, 10, 2, 0);
        const hi = numMaskedSpans(T, 0.65, 10, 2, 0.999999);
        // At least one full span, at most hi spans' worth of frames.
        expect(masked).toBeGreaterThanOrEqual(10);
        expect(masked).toBeLessThanOrEqual(hi * 10);
        expect(lo).toBeGreaterThanOrEqual(2);
      }
    }
    expect(numMaskedSpans(100, 0.65, 10, 2, 0.5)).toBe(7); // int(6.5 + 0.5)
    expect(numMaskedSpans(100, 0.05, 10, 2, 0.2)).toBe(2); // minMasks
    expect(numMaskedSpans(15, 0.65, 10, 2, 0.9)).toBe(1); // only one span of 10 fits in 15 frames
  });

  it("masks about 49 % of frames with the paper's setting, and is a pure function of the random source", () => {
    let masked = 0;
    const rng = mulberry32(7);
    for (let i = 0; i < 200; i++) masked += maskedIndices(computeMaskIndices(500, 0.65, 10, 2, rng)).length;
    const fraction = masked / (200 * 500);
    expect(fraction).toBeGreaterThan(0.42);
    expect(fraction).toBeLessThan(0.53);
    expect(computeMaskIndices(114, 0.65, 10, 2, mulberry32(3))).toEqual(computeMaskIndices(114, 0.65, 10, 2, mulberry32(3)));
    expect(() => computeMaskIndices(5, 0.65, 10, 2, mulberry32(3))).toThrow(RangeError);
  });

  it("masks whole spans: every run of masked frames is at least one span long", () => {
    const rng = mulberry32(11);
    for (let rep = 0; rep < 100; rep++) {
      const m = computeMaskIndices(120, 0.65, 10, 2, rng);
      let run = 0;
      for (let t = 0; t <= m.length; t++) {
        if (t < m.length && m[t]) run++;
        else {
          if (run > 0) expect(run).toBeGreaterThanOrEqual(10);
          run = 0;
        }
      }
    }
  });
});

describe("negative sampling", () => {
  it("draws K negatives per masked frame from the other masked frames, uniformly", () => {
    const idx = Int32Array.from([3, 4, 5, 6, 20, 21, 22]);
    const K = 50;
    const neg = sampleNegatives(idx, K, mulberry32(5));
    expect(neg.length).toBe(idx.length * K);
    const allowed = new Set(idx);
    const counts = new Map<number, number>();
    for (let i = 0; i < idx.length; i++) {
      for (let k = 0; k < K; k++) {
        const j = neg[i * K + k];
        expect(allowed.has(j)).toBe(true);
        expect(j).not.toBe(idx[i]);
        if (i === 0) counts.set(j, (counts.get(j) ?? 0) + 1);
      }
    }
    // Frame 3's negatives: about K/6 each of the other six frames.
    expect(counts.size).toBe(6);
    let total = 0;
    const big = sampleNegatives(idx, 6000, mulberry32(9));
    const c0 = new Map<number, number>();
    for (let k = 0; k < 6000; k++) c0.set(big[k], (c0.get(big[k]) ?? 0) + 1);
    for (const v of c0.values()) {
      expect(v).toBeGreaterThan(850);
      expect(v).toBeLessThan(1150);
      total += v;
    }
    expect(total).toBe(6000);
  });

  it("can draw distinct negatives, and refuses impossible requests", () => {
    const idx = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const neg = sampleNegatives(idx, 9, mulberry32(2), { distinct: true });
    for (let i = 0; i < 10; i++) {
      const row = [...neg.subarray(i * 9, (i + 1) * 9)].sort((a, b) => a - b);
      expect(row).toEqual([...idx].filter((j) => j !== i));
    }
    expect(() => sampleNegatives(idx, 10, mulberry32(2), { distinct: true })).toThrow(RangeError);
    expect(() => sampleNegatives([4], 3, mulberry32(2))).toThrow(RangeError);
    expect(sampleNegatives([], 3, mulberry32(2)).length).toBe(0);
  });
});

/** A config whose quantizer is easy to drive by hand: conv_dim[-1] = G*V = 4, codevector_dim 4. */
function handConfig(): Wav2Vec2Config {
  return presetConfig("tiny", {
    conv_dim: [8, 8, 8, 8, 8, 8, 4],
    hidden_size: 8,
    num_attention_heads: 2,
    intermediate_size: 16,
    num_conv_pos_embeddings: 4,
    num_conv_pos_embedding_groups: 2,
    num_codevector_groups: 2,
    num_codevectors_per_group: 2,
    codevector_dim: 4,
    proj_codevector_dim: 4,
  });
}

describe("Gumbel quantizer", () => {
  it("perplexity of the soft distribution matches a hand computation", () => {
    const c = handConfig();
    const params = initParams(c, 1, { pretraining: true });
    // weight_proj = identity, bias 0: the features are the logits.
    params.set("quantizer.weight_proj.weight", { shape: [4, 4], data: Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]) });
    params.set("quantizer.weight_proj.bias", { shape: [4], data: new Float32Array(4) });
    const vars = createTfVariables(params);
    const l3 = Math.log(3);
    // frame 0: group 0 p = [1/4, 3/4], group 1 p = [1/2, 1/2]; frame 1: [3/4, 1/4], [1/4, 3/4].
    const feats = tf.tensor3d([0, l3, 0, 0, l3, 0, 0, l3], [1, 2, 4]);
    const noise = new Float32Array(8);
    const both = gumbelQuantize(vars, c, feats, { temperature: 1, gumbelNoise: noise, mask: Float32Array.from([1, 1]) });
    // Marginals: g0 [1/2, 1/2] -> 2; g1 [3/8, 5/8] -> exp(0.661563) = 1.937819.
    const h1 = -(0.375 * Math.log(0.375) + 0.625 * Math.log(0.625));
    expect(both.perplexity.dataSync()[0]).toBeCloseTo(2 + Math.exp(h1), 5);
    expect(2 + Math.exp(h1)).toBeCloseTo(3.937819, 5);
    const first = gumbelQuantize(vars, c, feats, { temperature: 1, gumbelNoise: noise, mask: Float32Array.from([1, 0]) });
    // Frame 0 only: g0 [1/4, 3/4] -> exp(0.562335) = 1.754765; g1 -> 2.
    expect(first.perplexity.dataSync()[0]).toBeCloseTo(3.754765, 5);
    // The JS reference agrees.
    expect(codevectorPerplexity([0.25, 0.75, 0.5, 0.5, 0.75, 0.25, 0.25, 0.75], 2, 2)).toBeCloseTo(3.937819, 5);
    // Hard codes without noise = argmax; ties pick the first entry.
    expect([...both.codes]).toEqual([1, 0, 0, 1]);
    // Quantized vector = the chosen codevectors concatenated: codevectors [1, 4, 2].
    const cv = params.get("quantizer.codevectors")!.data;
    const q = both.quantized.dataSync();
    expect([...q.subarray(0, 4)].map((x) => Number(x.toFixed(5)))).toEqual([cv[2], cv[3], cv[4], cv[5]].map((x) => Number(x.toFixed(5))));
    tf.dispose([...vars.values()]);
  });

  it("straight-through: forward is one-hot, gradients reach weight_proj and the chosen codevectors", () => {
    const c = presetConfig("tiny");
    const vars = createTfVariables(initParams(c, 3, { pretraining: true }));
    const C = c.conv_dim[c.conv_dim.length - 1];
    const feats = tf.randomNormal([2, 5, C], 0, 1, "float32", 4) as tf.Tensor3D;
    const N = 10 * c.num_codevector_groups * c.num_codevectors_per_group;
    const noise = sampleGumbelNoise(N, mulberry32(8));
    const wp = vars.get("quantizer.weight_proj.weight")!;
    const cvv = vars.get("quantizer.codevectors")!;
    let codes: Int32Array = new Int32Array(0);
    const { grads } = tf.variableGrads(() => {
      const out = gumbelQuantize(vars, c, feats, { temperature: 2, gumbelNoise: noise, mask: null });
      codes = out.codes;
      return tf.sum(tf.mul(out.quantized, tf.randomNormal(out.quantized.shape, 0, 1, "float32", 5))) as tf.Scalar;
    }, [wp, cvv]);
    const gw = grads[wp.name].dataSync();
    expect(gw.some((x) => x !== 0)).toBe(true);
    // Codevector gradient is non-zero only for entries that were chosen.
    const gcv = grads[cvv.name].dataSync();
    const V = c.num_codevectors_per_group;
    const d = c.codevector_dim / c.num_codevector_groups;
    const chosen = new Set<number>();
    for (let r = 0; r < codes.length; r++) chosen.add((r % c.num_codevector_groups) * V + codes[r]);
    for (let e = 0; e < c.num_codevector_groups * V; e++) {
      const nz = gcv.subarray(e * d, (e + 1) * d).some((x) => x !== 0);
      expect(nz).toBe(chosen.has(e));
    }
    tf.dispose([...vars.values(), ...Object.values(grads)]);
  });

  it("anneals the temperature as fairseq, with a decay sized to the run", () => {
    expect(gumbelTemperature(0)).toBe(2);
    expect(gumbelTemperature(100_000)).toBeCloseTo(2 * 0.999995 ** 100_000, 10);
    expect(gumbelTemperature(1_000_000)).toBe(0.5);
    const decay = temperatureDecayFor(1000, 2, 0.5, 0.7);
    const s = { start: 2, end: 0.5, decay };
    expect(gumbelTemperature(700, s)).toBeCloseTo(0.5, 6);
    expect(gumbelTemperature(350, s)).toBeCloseTo(1, 6);
    expect(gumbelTemperature(900, s)).toBe(0.5);
  });
});

/** HF's contrastive loss written literally: gather [K+1] logits, -inf for neg_is_pos, CE with target 0. */
function referenceContrastive(ctx: number[][], tgt: number[][], maskedIdx: number[], neg: number[], K: number, temperature: number, codes?: number[]): { loss: number; correct: number } {
  const cos = (a: number[], b: number[]): number => {
    const dot = a.reduce((s, x, i) => s + x * b[i], 0);
    return dot / Math.max(Math.hypot(...a) * Math.hypot(...b), 1e-8);
  };
  let loss = 0;
  let correct = 0;
  maskedIdx.forEach((t, i) => {
    const logits = [cos(ctx[t], tgt[t]) / temperature];
    for (let k = 0; k < K; k++) {
      const j = neg[i * K + k];
      const same = codes ? codes[j] === codes[t] : tgt[j].every((x, d) => x === tgt[t][d]);
      logits.push(same ? -Infinity : cos(ctx[t], tgt[j]) / temperature);
    }
    const mx = Math.max(...logits);
    const lse = mx + Math.log(logits.reduce((s, l) => s + Math.exp(l - mx), 0));
    loss += lse - logits[0];
    if (logits.slice(1).every((l) => logits[0] > l)) correct += 1;
  });
  return { loss, correct };
}

describe("pre-training losses", () => {
  it("contrastive loss matches a hand-computed example", () => {
    // T = 3, frames 0 and 1 masked, K = 1: frame 0's negative is 1 and vice versa.
    const ctx = tf.tensor3d([1, 0, 0, 2, 5, 5], [1, 3, 2]); // c1 = (0, 2): cosine ignores length
    const tgt = tf.tensor3d([1, 0, 0.6, 0.8, 1, 1], [1, 3, 2]);
    const mask = Float32Array.from([1, 1, 0]);
    const w = candidateWeights(3, [0, 1], [1, 0], 1);
    expect([...w]).toEqual([1, 1, 0, 1, 1, 0, 0, 0, 0]);
    // Temperature 1: frame 0 logits [1, 0.6], frame 1 logits [0.8, 0].
    const expected = Math.log(1 + Math.exp(-0.4)) + Math.log(1 + Math.exp(-0.8));
    expect(expected).toBeCloseTo(0.884116, 5);
    const r = contrastiveLoss(ctx, tgt, [w], mask, 1);
    expect(r.loss.dataSync()[0]).toBeCloseTo(expected, 5);
    expect(r.correct.dataSync()[0]).toBe(2);
    // A negative drawn twice counts twice: log(e^1 + 2 e^0.6) - 1 for frame 0.
    const w2 = candidateWeights(3, [0, 1], [1, 1, 0, 0], 2);
    const expected2 = Math.log(Math.exp(1) + 2 * Math.exp(0.6)) - 1 + Math.log(Math.exp(0.8) + 2) - 0.8;
    expect(contrastiveLoss(ctx, tgt, [w2], mask, 1).loss.dataSync()[0]).toBeCloseTo(expected2, 5);
    // Negatives with the positive's codes are dropped (HF neg_is_pos -> -inf): only the positive remains.
    const w3 = candidateWeights(3, [0, 1], [1, 0], 1, [7, 7, 2], 1);
    expect(contrastiveLoss(ctx, tgt, [w3], mask, 1).loss.dataSync()[0]).toBeCloseTo(0, 6);
    // Temperature 0.1 (the default).
    const e01 = Math.log(1 + Math.exp(-4)) + Math.log(1 + Math.exp(-8));
    expect(contrastiveLoss(ctx, tgt, [w], mask, 0.1).loss.dataSync()[0]).toBeCloseTo(e01, 5);
  });

  it("equals HF's formulation on random data, including gradients that vanish at unmasked frames", () => {
    const rng = mulberry32(21);
    const B = 2;
    const T = 30;
    const P = 6;
    const K = 8;
    const ctxData = Array.from({ length: B * T * P }, () => rng() * 2 - 1);
    const tgtData = Array.from({ length: B * T * P }, () => rng() * 2 - 1);
    const mask = new Float32Array(B * T);
    const weights: Float32Array[] = [];
    let refLoss = 0;
    let refCorrect = 0;
    for (let b = 0; b < B; b++) {
      const m = computeMaskIndices(T, 0.65, 5, 2, rng);
      mask.set(m, b * T);
      const idx = [...maskedIndices(m)];
      const neg = sampleNegatives(idx, K, rng);
      // Fake codes: frames with equal t % 4 share codes, so some negatives are dropped.
      const codes = Array.from({ length: T }, (_, t) => t % 4);
      weights.push(candidateWeights(T, idx, neg, K, codes, 1));
      const rows = (d: number[]): number[][] => Array.from({ length: T }, (_, t) => d.slice((b * T + t) * P, (b * T + t + 1) * P));
      const r = referenceContrastive(rows(ctxData), rows(tgtData), idx, [...neg], K, 0.1, codes);
      refLoss += r.loss;
      refCorrect += r.correct;
    }
    const ctx = tf.tensor3d(ctxData, [B, T, P]);
    const tgt = tf.tensor3d(tgtData, [B, T, P]);
    const r = contrastiveLoss(ctx, tgt, weights, mask, 0.1);
    expect(r.loss.dataSync()[0]).toBeCloseTo(refLoss, 3);
    expect(r.correct.dataSync()[0]).toBe(refCorrect);
    const [gc] = tf.grads((a: tf.Tensor) => contrastiveLoss(a as tf.Tensor3D, tgt, weights, mask, 0.1).loss)([ctx]);
    const g = gc.dataSync();
    for (let i = 0; i < B * T; i++) {
      const row = g.subarray(i * P, (i + 1) * P);
      if (!mask[i]) expect(row.every((x) => x === 0)).toBe(true);
      else expect(row.some((x) => x !== 0)).toBe(true);
    }
  });

  it("diversity loss, feature penalty and their combination", () => {
    expect(diversityLoss(tf.scalar(16), 16).dataSync()[0]).toBeCloseTo(0, 7);
    expect(diversityLoss(tf.scalar(4), 16).dataSync()[0]).toBeCloseTo(0.75, 7);
    expect(featurePenalty(tf.tensor([1, -2, 3, 0])).dataSync()[0]).toBeCloseTo(14 / 4, 6);
    const total = combineLosses(tf.scalar(20), tf.scalar(0.5), tf.scalar(0.01), 10, { diversity: 0.1, featurePenalty: 10 });
    expect(total.dataSync()[0]).toBeCloseTo(2 + 0.05 + 0.1, 6);
  });
});

describe("schedules and batching", () => {
  it("warms up linearly then decays linearly to zero", () => {
    expect(learningRateAt(0, 100, 1e-3, 10)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(9, 100, 1e-3, 10)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(10, 100, 1e-3, 10)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(55, 100, 1e-3, 10)).toBeCloseTo(0.5e-3, 12);
    expect(learningRateAt(100, 100, 1e-3, 10)).toBe(0);
  });

  it("plans each epoch deterministically from the seed, every batch length-bucketed", () => {
    const lengths = Array.from({ length: 50 }, (_, i) => 16000 + ((i * 7919) % 37) * 1000);
    const a = epochBatches(lengths, 4, 3, 0);
    expect(epochBatches(lengths, 4, 3, 0)).toEqual(a);
    expect(epochBatches(lengths, 4, 3, 1)).not.toEqual(a);
    expect(a.length).toBe(12);
    const seen = a.flat();
    expect(new Set(seen).size).toBe(seen.length);
  });
});

/** A few seconds of synthetic "speech": harmonic tones with moving pitch, plus noise bursts. */
function syntheticData(n: number, seconds: number, seed: number): Float32Array[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const len = Math.round(seconds * 16000 * (0.8 + 0.4 * rng()));
    const f0 = 100 + 150 * rng();
    const out = new Float32Array(len);
    let phase = 0;
    for (let i = 0; i < len; i++) {
      const t = i / 16000;
      const f = f0 * (1 + 0.3 * Math.sin(2 * Math.PI * 2 * t));
      phase += (2 * Math.PI * f) / 16000;
      const voiced = Math.sin(2 * Math.PI * 3 * t) > -0.3;
      out[i] = voiced ? 0.4 * Math.sin(phase) + 0.2 * Math.sin(3 * phase) + 0.05 * (rng() - 0.5) : 0.3 * (rng() - 0.5);
    }
    return out;
  });
}

describe("the base upstream's config", () => {
  it("is a valid config whose float32 weights (with the pre-training heads) fit in 20 MB", () => {
    const c = presetConfig("base");
    expect(countParams(c, { pretraining: true }) * 4).toBeLessThanOrEqual(20e6);
    expect(c.conv_kernel).toEqual([10, 3, 3, 3, 3, 2, 2]);
  });
});

describe("pretrainWav2Vec2", () => {
  const config = presetConfig("tiny", { num_negatives: 10 });

  it("reduces the loss over 30 steps on a tiny synthetic dataset", async () => {
    const data = syntheticData(8, 1.2, 1);
    const seen: PretrainProgress[] = [];
    const out = path.join(tmp, "learn");
    const summary = await pretrainWav2Vec2({
      config, data, outDir: out, steps: 30, batchSize: 4, cropSeconds: 1, learningRate: 2e-3, warmupSteps: 4, seed: 5,
      logEvery: 10, progress: false, onProgress: (p) => seen.push(p),
    });
    expect(summary.completed).toBe(true);
    expect(seen.length).toBe(30);
    const mean = (xs: PretrainProgress[], f: (p: PretrainProgress) => number): number => xs.reduce((s, p) => s + f(p), 0) / xs.length;
    const early = seen.slice(0, 6);
    const late = seen.slice(-6);
    expect(mean(late, (p) => p.loss)).toBeLessThan(mean(early, (p) => p.loss) - 0.1);
    expect(mean(late, (p) => p.contrastive)).toBeLessThan(mean(early, (p) => p.contrastive));
    for (const p of seen) {
      expect(p.accuracy).toBeGreaterThanOrEqual(0);
      expect(p.accuracy).toBeLessThanOrEqual(1);
      expect(p.perplexity).toBeGreaterThan(1);
      expect(p.perplexity).toBeLessThanOrEqual(config.num_codevector_groups * config.num_codevectors_per_group + 1e-3);
    }
    const log = JSON.parse(fs.readFileSync(path.join(out, "training-log.json"), "utf8")) as { completed: boolean; entries: { step: number; accuracy: number; temperature: number }[] };
    expect(log.completed).toBe(true);
    expect(log.entries.map((e) => e.step)).toEqual([10, 20, 30]);
    expect(log.entries[2].temperature).toBe(0.5);
    expect(fs.existsSync(path.join(out, CHECKPOINT_FILE))).toBe(false);
    // The model card is written from the folder's own config and log.
    const card = fs.readFileSync(writePretrainModelCard(out, "superb pretrain --config tiny --out x --steps 30"), "utf8");
    expect(card).toContain("    superb pretrain --config tiny --out x --steps 30");
    expect(card).toContain("| seed | 5 |");
    for (const e of log.entries) expect(card).toContain(`| ${e.step} | `);
  });

  it("writes an HF folder whose tensors are exactly paramSpecs(config, {pretraining: true})", async () => {
    const out = path.join(tmp, "folder");
    await pretrainWav2Vec2({ config, data: syntheticData(4, 1, 2), outDir: out, steps: 2, batchSize: 2, seed: 1, progress: false });
    const { tensors, metadata } = readSafetensors(path.join(out, "model.safetensors"));
    expect(metadata.format).toBe("pt");
    const specs = paramSpecs(config, { pretraining: true });
    expect([...tensors.keys()]).toEqual(specs.map((s) => s.name));
    for (const s of specs) expect(tensors.get(s.name)!.shape).toEqual(s.shape);
    const json = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8")) as Record<string, unknown>;
    expect(json.model_type).toBe("wav2vec2");
    expect(parseWav2Vec2Config(json)).toEqual(config);
    const pre = JSON.parse(fs.readFileSync(path.join(out, "preprocessor_config.json"), "utf8")) as Record<string, unknown>;
    expect(pre.do_normalize).toBe(true);
    expect(pre.sampling_rate).toBe(16000);
  });

  it("resumes after an interruption and ends exactly where an uninterrupted run does", async () => {
    const data = syntheticData(6, 1, 3);
    // Interrupted at step 3, between log entries (every 2 steps) and after a checkpoint at step 2.
    const opts = { config, data, steps: 6, batchSize: 3, seed: 9, checkpointEvery: 2, logEvery: 2, progress: false, learningRate: 1e-3 };
    const straight = path.join(tmp, "straight");
    await pretrainWav2Vec2({ ...opts, outDir: straight });
    const resumed = path.join(tmp, "resumed");
    const first = await pretrainWav2Vec2({ ...opts, outDir: resumed, stopAfter: 3 });
    expect(first.completed).toBe(false);
    expect(first.step).toBe(3);
    expect(fs.existsSync(path.join(resumed, CHECKPOINT_FILE))).toBe(true);
    expect(fs.existsSync(path.join(resumed, "model.safetensors"))).toBe(false);
    const second = await pretrainWav2Vec2({ ...opts, outDir: resumed });
    expect(second.resumedFromStep).toBe(3);
    expect(second.stepsThisRun).toBe(3);
    const a = readSafetensors(path.join(straight, "model.safetensors")).tensors;
    const b = readSafetensors(path.join(resumed, "model.safetensors")).tensors;
    let maxDiff = 0;
    for (const [name, t] of a) {
      const u = b.get(name)!.data;
      for (let i = 0; i < t.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(t.data[i] - u[i]));
    }
    expect(maxDiff).toBeLessThan(1e-6);
    const logA = JSON.parse(fs.readFileSync(path.join(straight, "training-log.json"), "utf8")) as { entries: { step: number; loss: number; accuracy: number }[] };
    const logB = JSON.parse(fs.readFileSync(path.join(resumed, "training-log.json"), "utf8")) as { entries: { step: number; loss: number; accuracy: number }[] };
    expect(logB.entries.map((e) => e.step)).toEqual([2, 4, 6]);
    logA.entries.forEach((e, i) => {
      expect(logB.entries[i].loss).toBeCloseTo(e.loss, 5);
      expect(logB.entries[i].accuracy).toBeCloseTo(e.accuracy, 6);
    });
    // A finished folder is reported, not retrained.
    const again = await pretrainWav2Vec2({ ...opts, outDir: resumed });
    expect(again.stepsThisRun).toBe(0);
    expect(again.completed).toBe(true);
  });

  it("refuses to resume a checkpoint of a different run", async () => {
    const data = syntheticData(4, 1, 4);
    const out = path.join(tmp, "other");
    await pretrainWav2Vec2({ config, data, outDir: out, steps: 4, batchSize: 2, seed: 1, stopAfter: 1, progress: false });
    await expect(pretrainWav2Vec2({ config, data, outDir: out, steps: 4, batchSize: 2, seed: 2, progress: false })).rejects.toThrow(/different pre-training run.*seed/);
  });
});

describe("pretrainWav2Vec2 with worker threads", () => {
  // Worker threads run compiled JavaScript: use the build in dist/ when it is up to date
  // (`npm test` compiles first); skip otherwise.
  const here = path.dirname(new URL(import.meta.url).pathname);
  const compiled = path.join(here, "..", "dist", "src", "wav2vec2", "pretrain.js");
  const sources = ["pretrain.ts", "pretrain-losses.ts", "quantizer.ts", "masking.ts", "tfjs-model.ts"].map((f) => path.join(here, "..", "src", "wav2vec2", f));
  const fresh = fs.existsSync(compiled) && sources.every((f) => fs.statSync(f).mtimeMs <= fs.statSync(compiled).mtimeMs);

  it.skipIf(!fresh)("gives bit-identical results with 1 and 2 threads", async () => {
    const mod = (await import(compiled)) as typeof import("../src/wav2vec2/pretrain.js");
    const config = presetConfig("tiny", { num_negatives: 10 });
    const data = syntheticData(8, 1, 6);
    const opts = { config, data, steps: 3, batchSize: 4, shards: 2, seed: 3, progress: false };
    const one = await mod.pretrainWav2Vec2({ ...opts, outDir: path.join(tmp, "w1"), workers: 1 });
    const two = await mod.pretrainWav2Vec2({ ...opts, outDir: path.join(tmp, "w2"), workers: 2 });
    expect(one.workers).toBe(1);
    expect(two.workers).toBe(2);
    const a = fs.readFileSync(path.join(tmp, "w1", "model.safetensors"));
    const b = fs.readFileSync(path.join(tmp, "w2", "model.safetensors"));
    expect(Buffer.compare(a, b)).toBe(0);
  });
});
