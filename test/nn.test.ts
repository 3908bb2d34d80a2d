import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend } from "../src/backend.js";
import { WeightedLayerSum } from "../src/featurizer.js";
import { ctcLoss, amSoftmaxLoss } from "../src/losses.js";
import { ctcLossAndGradient } from "../src/ctc.js";
import { BiLstm, Linear, ParameterSet, Tdnn, maskedMean, maskedMeanStd, stackFrames } from "../src/nn.js";
import { MeanPoolLinearHead } from "../downstreams/mean-pool-linear.js";

beforeAll(async () => {
  await initTensorBackend();
});

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe("featurizer", () => {
  it("starts as the plain average of the layers (weights 0) and its weights sum to 1", () => {
    const f = new WeightedLayerSum(3);
    // layers hold 1, 2, 6 -> average 3
    const stacked = tf.tensor4d([1, 1, 2, 2, 6, 6], [1, 3, 1, 2]);
    expect(Array.from(f.apply(stacked).dataSync())).toEqual([3, 3]);
    expect(f.layerWeights().reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    // softmax([ln 1, ln 3, 0]) = [1/5, 3/5, 1/5]: 0.2*1 + 0.6*2 + 0.2*6 = 2.6
    f.weights.assign(tf.tensor1d([0, Math.log(3), 0]));
    expect(f.apply(stacked).dataSync()[0]).toBeCloseTo(2.6, 5);
  });
});

describe("layers", () => {
  it("TDNN equals a dilated valid convolution computed by hand", () => {
    const params = new ParameterSet(1);
    const layer = new Tdnn(params, "t", 1, 1, 3, 2); // taps at t, t+2, t+4
    const w = params.variables.get("t.weight")!;
    w.assign(tf.tensor2d([1, 10, 100], [3, 1]));
    params.variables.get("t.bias")!.assign(tf.tensor1d([0.5]));
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 6, 1]);
    // y0 = 1 + 30 + 500 + .5 ; y1 = 2 + 40 + 600 + .5
    expect(Array.from(layer.apply(x).dataSync())).toEqual([531.5, 642.5]);
  });

  it("statistics pooling ignores padded frames", () => {
    const x = tf.tensor3d([1, 3, 100, 2, 2, 2], [2, 3, 1]);
    // utt 0 uses [1, 3]: mean 2, std 1 ; utt 1 uses [2, 2, 2]: mean 2, std ~sqrt(1e-5)
    const out = maskedMeanStd(x, [2, 3]).dataSync();
    expect(out[0]).toBeCloseTo(2, 5);
    expect(out[1]).toBeCloseTo(1, 4);
    expect(out[2]).toBeCloseTo(2, 5);
    expect(out[3]).toBeCloseTo(Math.sqrt(1e-5), 4);
  });

  it("mean pooling ignores padded frames", () => {
    // utt 0 uses frames [1, 10], [3, 30]; utt 1 all three of [2, 0], [4, 0], [9, 3]
    const x = tf.tensor3d([1, 10, 3, 30, 100, 100, 2, 0, 4, 0, 9, 3], [2, 3, 2]);
    const out = Array.from(maskedMean(x, [2, 3]).dataSync());
    [2, 20, 5, 1].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 5));
  });

  it("the mean-pool head equals projecting every frame and then pooling", () => {
    const params = new ParameterSet(3);
    const head = new MeanPoolLinearHead(params, 4, 3, 5);
    const x = tf.randomNormal([2, 6, 4], 0, 1, "float32", 7) as tf.Tensor3D;
    const lengths = [6, 4];
    const reference = new ParameterSet(3);
    const proj = new Linear(reference, "head.proj", 4, 5);
    const out = new Linear(reference, "head.out", 5, 3);
    // Same seed and creation order -> the same initial weights as the head's own layers.
    const frameWise = lengths.map((len, b) => {
      const frames = proj.apply(x.slice([b, 0, 0], [1, len, 4]).reshape([len, 4]));
      return out.apply(frames.mean(0, true));
    });
    const expected = tf.concat(frameWise, 0).dataSync();
    const got = head.forward(x, lengths).dataSync();
    expect(got.length).toBe(6);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
  });

  it("stacks frames with zero padding", () => {
    const x = tf.tensor3d([1, 2, 3], [1, 3, 1]);
    const y = stackFrames(x, 2);
    expect(y.shape).toEqual([1, 2, 2]);
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 0]);
  });

  it("BiLSTM matches a scalar reference LSTM in both directions and respects lengths", () => {
    const params = new ParameterSet(3);
    const lstm = new BiLstm(params, "l", 1, 1);
    const get = (n: string) => params.variables.get(n)!.dataSync();
    const wi = [get("l.weight_ih_l0"), get("l.weight_ih_l0_reverse")];
    const wh = [get("l.weight_hh_l0"), get("l.weight_hh_l0_reverse")];
    const bias = [get("l.bias_l0"), get("l.bias_l0_reverse")];
    const reference = (seq: number[], d: number) => {
      let h = 0;
      let c = 0;
      const out: number[] = [];
      for (const x of seq) {
        const g = [0, 1, 2, 3].map((k) => x * wi[d][k] + h * wh[d][k] + bias[d][k]);
        c = sigmoid(g[1]) * c + sigmoid(g[0]) * Math.tanh(g[2]);
        h = sigmoid(g[3]) * Math.tanh(c);
        out.push(h);
      }
      return out;
    };
    const seqs = [[0.5, -1, 2], [1, 0.25, 99]]; // the second has length 2: 99 is padding
    const y = lstm.apply(tf.tensor3d(seqs.flat(), [2, 3, 1]), [3, 2]).arraySync() as number[][][];
    for (const [b, len] of [[0, 3], [1, 2]] as const) {
      const seq = seqs[b].slice(0, len);
      const fwd = reference(seq, 0);
      const bwd = reference([...seq].reverse(), 1).reverse();
      for (let t = 0; t < len; t++) {
        expect(y[b][t][0]).toBeCloseTo(fwd[t], 5);
        expect(y[b][t][1]).toBeCloseTo(bwd[t], 5);
      }
    }
  });

  it("the custom LSTM recurrence equals the op-by-op tape version, values and gradients", () => {
    const params = new ParameterSet(11);
    const lstm = new BiLstm(params, "l", 3, 4);
    const x = tf.randomNormal([2, 5, 3], 0, 1, "float32", 2) as tf.Tensor3D;
    const weights = params.list();
    for (const d of [0, 1]) {
      const fast = (inp: tf.Tensor3D) => (lstm as unknown as { direction(x: tf.Tensor3D, d: number): tf.Tensor3D }).direction(inp, d);
      const ref = (inp: tf.Tensor3D) => lstm.directionReference(inp, d);
      const probe = tf.randomNormal([2, 5, 4], 0, 1, "float32", 9);
      const loss = (f: (i: tf.Tensor3D) => tf.Tensor3D) => () => tf.sum(tf.mul(f(x), probe)) as tf.Scalar;
      const a = tf.variableGrads(loss(fast), weights);
      const b = tf.variableGrads(loss(ref), weights);
      expect(a.value.dataSync()[0]).toBeCloseTo(b.value.dataSync()[0], 4);
      for (const name of Object.keys(b.grads)) {
        const ga = a.grads[name].dataSync();
        const gb = b.grads[name].dataSync();
        for (let i = 0; i < gb.length; i++) expect(Math.abs(ga[i] - gb[i])).toBeLessThan(1e-4);
      }
      // gradient with respect to the input too
      const gx = tf.grad((inp: tf.Tensor) => tf.sum(tf.mul(fast(inp as tf.Tensor3D), probe)))(x).dataSync();
      const gxRef = tf.grad((inp: tf.Tensor) => tf.sum(tf.mul(ref(inp as tf.Tensor3D), probe)))(x).dataSync();
      for (let i = 0; i < gx.length; i++) expect(Math.abs(gx[i] - gxRef[i])).toBeLessThan(1e-4);
    }
  });
});

describe("losses", () => {
  it("the tfjs CTC op returns the JS loss and gradient, scaled by batch and label length", () => {
    const logits = tf.randomNormal([2, 6, 4], 0, 1, "float32", 5) as tf.Tensor3D;
    const labels = [[1, 2], [3, 3, 1]];
    const lengths = [6, 5];
    const [loss, grad] = tf.tidy(() => {
      const g = tf.grad((x: tf.Tensor) => ctcLoss(x as tf.Tensor3D, lengths, labels))(logits);
      return [ctcLoss(logits, lengths, labels), g];
    });
    const data = logits.dataSync() as Float32Array;
    const r0 = ctcLossAndGradient(data.subarray(0, 24), 6, 4, labels[0]);
    const r1 = ctcLossAndGradient(data.subarray(24, 24 + 20), 5, 4, labels[1]);
    expect(loss.dataSync()[0]).toBeCloseTo((r0.loss / 2 + r1.loss / 3) / 2, 4);
    const g = grad.dataSync();
    expect(g[5]).toBeCloseTo(r0.gradient[5] / 4, 5);
    expect(g[24 + 7]).toBeCloseTo(r1.gradient[7] / 6, 5);
    expect(g[24 + 20]).toBe(0); // padded frame of utterance 1
  });

  it("AM-softmax equals the hand formula", () => {
    // e = [1, 0] ; class weights columns [1,0] and [0,1]: cos = [1, 0]; target 0, s = 30, m = 0.4
    // logits = [30*(1-0.4), 0] = [18, 0]; loss = -log(e^18 / (e^18 + 1)) = log(1 + e^-18)
    const loss = amSoftmaxLoss(tf.tensor2d([[2, 0]]), tf.tensor2d([[1, 0], [0, 1]]), [0]).dataSync()[0];
    expect(loss).toBeCloseTo(Math.log1p(Math.exp(-18)), 7);
  });
});
