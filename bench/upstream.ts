/**
 * Speed of the wav2vec2-base ONNX upstream (random weights) in onnxruntime-node, as x real time.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/upstream.js [--threads 2] [--opt all|extended|basic|disabled]
 *       [--no-fuse-qkv] [--int8] [--seconds 10,60] [--repeats 3] [--batch 1]
 *
 * --int8 quantises the transformer Linear layers (not numerically equivalent to the float model).
 * Each run also reports GFLOP/s (2 x the graph's multiply-adds, forwardMacs) next to this
 * machine's rate for one FFN-sized MatMul in the same onnxruntime, measured just before: how close
 * the graph is to what the hardware gives, and what rate 15x real time would take.
 */
import * as ort from "onnxruntime-node";
import { forwardMacs, presetConfig } from "../src/wav2vec2/config.js";
import { DataType, graphProto, modelProto, nodeProto, tensorProto, valueInfo } from "../src/wav2vec2/onnx-proto.js";
import { createOnnxSession, runHiddenStates, type OnnxSessionOptions } from "../src/wav2vec2/onnx-export.js";
import { countParams, initParams } from "../src/wav2vec2/params.js";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

type OptLevel = NonNullable<OnnxSessionOptions["graphOptimizationLevel"]>;

/** GFLOP/s of one [m x k] x [k x n] MatMul (a wav2vec2-base FFN layer on 10 s) in onnxruntime-node. */
async function matMulGflops(threads: number, m = 500, k = 768, n = 3072): Promise<number> {
  const w = Float32Array.from({ length: k * n }, (_, i) => Math.sin(i) * 0.01);
  const graph = graphProto({
    name: "matmul",
    nodes: [nodeProto("MatMul", ["x", "w"], ["y"], "mm")],
    initializers: [tensorProto("w", [k, n], w)],
    inputs: [valueInfo("x", DataType.FLOAT, [m, k])],
    outputs: [valueInfo("y", DataType.FLOAT, [m, n])],
  });
  const bytes = modelProto({ irVersion: 8, opsets: [{ domain: "", version: 17 }], producerName: "superb-bench", producerVersion: "1", graph });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" });
  const x = new ort.Tensor("float32", Float32Array.from({ length: m * k }, (_, i) => Math.cos(i)), [m, k]);
  for (let i = 0; i < 3; i++) await session.run({ x });
  // Median of 7 rounds of 20 runs: one round is only ~0.2 s, and this machine's speed wanders.
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    for (let i = 0; i < 20; i++) await session.run({ x });
    rounds.push((performance.now() - t) / 1000 / 20);
  }
  await session.release();
  rounds.sort((a, b) => a - b);
  return (2 * m * k * n) / rounds[3] / 1e9;
}

async function main(): Promise<void> {
  const threads = Number(arg("threads") ?? 2);
  const opt = (arg("opt") ?? "all") as OptLevel;
  const fuseQkv = !process.argv.includes("--no-fuse-qkv");
  const quantize = process.argv.includes("--int8") ? "int8-dynamic" : "none";
  const seconds = (arg("seconds") ?? "10,60").split(",").map(Number);
  const repeats = Number(arg("repeats") ?? 3);
  const batch = Number(arg("batch") ?? 1);

  const config = presetConfig("wav2vec2-base");
  let t0 = performance.now();
  const params = initParams(config, 0);
  console.log(`wav2vec2-base: ${(countParams(config) / 1e6).toFixed(1)}M parameters, init ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  t0 = performance.now();
  const session = await createOnnxSession(config, params, { intraOpNumThreads: threads, graphOptimizationLevel: opt, fuseQkv, quantize });
  console.log(`export + session: ${((performance.now() - t0) / 1000).toFixed(1)} s (threads ${threads}, opt ${opt}, fuseQkv ${fuseQkv}, quantize ${quantize})`);

  const clip = (s: number): Float32Array =>
    Float32Array.from({ length: Math.round(s * 16000) }, (_, i) => 0.1 * Math.sin(i * 0.05) + 0.01 * Math.sin(i * 0.0123));
  await runHiddenStates(session, clip(1)); // warm-up

  for (const s of seconds) {
    // Measured next to each timing: this machine's speed wanders by up to 2x within minutes.
    const roofline = await matMulGflops(threads);
    console.log(`onnxruntime MatMul [500 x 768] x [768 x 3072], ${threads} threads: ${roofline.toFixed(0)} GFLOP/s`);
    const audio = Array.from({ length: batch }, () => clip(s));
    const times: number[] = [];
    let frames = 0;
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      const out = await runHiddenStates(session, audio);
      times.push((performance.now() - t) / 1000);
      frames = out.numFrames;
    }
    times.sort((a, b) => a - b);
    const med = times[Math.floor(times.length / 2)];
    const gflop = (2 * batch * forwardMacs(config, Math.round(s * 16000)).total) / 1e9;
    console.log(
      `${s} s x ${batch}: ${frames} frames, median ${med.toFixed(2)} s (min ${times[0].toFixed(2)}) -> ${((s * batch) / med).toFixed(1)}x real time, ` +
        `${(gflop / med).toFixed(0)} GFLOP/s (${((100 * gflop) / med / roofline).toFixed(0)} % of the MatMul rate); 15x would need ${((gflop * 15) / (s * batch)).toFixed(0)} GFLOP/s`,
    );
  }
  await session.release();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
