import * as tf from "@tensorflow/tfjs";

/**
 * The recurrent part of an LSTM as one custom op: hs = LSTM(proj, W_hh), where proj [T, B, 4H]
 * already holds x_t W_ih + b for every step (gate order i, f, g, o as PyTorch).
 *
 * Why not plain tfjs ops in a loop: on the wasm backend every op costs 10-500 us of overhead, the
 * tape's per-step matMul gradients are tiny inefficient matMuls, and a 2-layer BiLSTM over 125
 * frames made ~19k kernel calls per batch (1.7 s). Here the elementwise gate math runs in plain JS
 * on small arrays, the wasm backend does one [B, H] x [H, 4H] matMul per step, and the weight
 * gradient is a single [H, T*B] x [T*B, 4H] matMul after backpropagation through time.
 * test/nn.test.ts checks values and gradients against the op-by-op tfjs formulation.
 */
export function lstmRecurrence(proj: tf.Tensor3D, recurrentWeight: tf.Tensor2D): tf.Tensor3D {
  const op = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const projT = args[0] as tf.Tensor3D;
    const weight = args[1] as tf.Tensor2D;
    const [T, B, G] = projT.shape;
    const H = G / 4;
    const P = projT.dataSync() as Float32Array;
    const n = B * H;
    // Saved activations for backpropagation through time.
    const gi = new Float32Array(T * n);
    const gf = new Float32Array(T * n);
    const gg = new Float32Array(T * n);
    const go = new Float32Array(T * n);
    const cs = new Float32Array(T * n);
    const hs = new Float32Array(T * n);
    let h: Float32Array = new Float32Array(n);
    let c: Float32Array = new Float32Array(n);
    for (let t = 0; t < T; t++) {
      const hw = t === 0 ? new Float32Array(B * G) : (tf.tidy(() => tf.matMul(tf.tensor2d(h, [B, H]), weight)).dataSync() as Float32Array);
      const nextC = cs.subarray(t * n, (t + 1) * n);
      const nextH = hs.subarray(t * n, (t + 1) * n);
      for (let b = 0; b < B; b++) {
        const p = (t * B + b) * G;
        const q = b * G;
        for (let j = 0; j < H; j++) {
          const k = b * H + j;
          const i = sigmoid(P[p + j] + hw[q + j]);
          const f = sigmoid(P[p + H + j] + hw[q + H + j]);
          const g = Math.tanh(P[p + 2 * H + j] + hw[q + 2 * H + j]);
          const o = sigmoid(P[p + 3 * H + j] + hw[q + 3 * H + j]);
          const cell = f * c[k] + i * g;
          gi[t * n + k] = i;
          gf[t * n + k] = f;
          gg[t * n + k] = g;
          go[t * n + k] = o;
          nextC[k] = cell;
          nextH[k] = o * Math.tanh(cell);
        }
      }
      c = nextC;
      h = nextH;
    }
    const value = tf.tensor3d(hs, [T, B, H]);
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const dY = dy.dataSync() as Float32Array;
        const dGates = new Float32Array(T * B * G);
        let dh: Float32Array = new Float32Array(n);
        const dc = new Float32Array(n);
        const weightT = tf.transpose(weight);
        for (let t = T - 1; t >= 0; t--) {
          for (let b = 0; b < B; b++) {
            const q = (t * B + b) * G;
            for (let j = 0; j < H; j++) {
              const k = b * H + j;
              const s = t * n + k;
              const dhk = dh[k] + dY[s];
              const tc = Math.tanh(cs[s]);
              const i = gi[s];
              const f = gf[s];
              const g = gg[s];
              const o = go[s];
              const dck = dc[k] + dhk * o * (1 - tc * tc);
              const cPrev = t > 0 ? cs[s - n] : 0;
              dGates[q + j] = dck * g * i * (1 - i);
              dGates[q + H + j] = dck * cPrev * f * (1 - f);
              dGates[q + 2 * H + j] = dck * i * (1 - g * g);
              dGates[q + 3 * H + j] = dhk * tc * o * (1 - o);
              dc[k] = dck * f;
            }
          }
          if (t > 0) {
            const slice = dGates.subarray(t * B * G, (t + 1) * B * G);
            dh = tf.tidy(() => tf.matMul(tf.tensor2d(slice, [B, G]), weightT)).dataSync() as Float32Array;
          }
        }
        // dW = sum_t h_{t-1}^T dGates_t, with h_{-1} = 0: one matMul over all steps.
        const hPrev = new Float32Array(T * n);
        hPrev.set(hs.subarray(0, (T - 1) * n), n);
        const dProj = tf.tensor3d(dGates, [T, B, G]);
        const dWeight = tf.tidy(() => tf.matMul(tf.transpose(tf.tensor2d(hPrev, [T * B, H])), tf.tensor2d(dGates, [T * B, G])));
        weightT.dispose();
        return [dProj, dWeight];
      },
    };
  }) as Parameters<typeof tf.customGrad>[0]);
  return op(proj, recurrentWeight) as tf.Tensor3D;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
