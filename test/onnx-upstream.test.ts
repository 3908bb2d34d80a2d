import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.js";
import { createOnnxFileUpstream, type OnnxFileUpstream } from "../src/onnx-upstream.js";
import { createUpstream } from "../src/registry.js";
import type { HiddenStates } from "../src/upstream.js";
import { presetConfig } from "../src/wav2vec2/config.js";
import { buildOnnxModel } from "../src/wav2vec2/onnx-export.js";
import { DataType, nodeProto, PbWriter, tensorProto, valueInfo } from "../src/wav2vec2/onnx-proto.js";
import { initParams, makeRng } from "../src/wav2vec2/params.js";
import { createWav2Vec2Upstream, type Wav2Vec2Upstream } from "../src/wav2vec2/upstream.js";
import { upstream as wav2vec2BaseDef } from "../upstreams/wav2vec2-base.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-onnx-up-"));
const config = presetConfig("tiny");
const params = initParams(config, 11, { randomAffine: true });
const H = config.hidden_size;
const N = config.num_hidden_layers; // hidden states 0..N

// ---------------------------------------------------------------------------------------------
// Re-exports of the project's own ONNX graph with other output layouts, made by editing the
// serialised ModelProto: protobuf fields are (tag, payload) records, so the graph (ModelProto
// field 7) can be rebuilt from its records minus the outputs (GraphProto field 12) plus new ones.

function readVarint(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const byte = b[pos++];
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) return [v, pos];
    mul *= 128;
  }
}

/** Top-level records of a message: field number and the raw bytes of the whole record. */
function records(b: Uint8Array): { field: number; raw: Uint8Array; payload: Uint8Array }[] {
  const out: { field: number; raw: Uint8Array; payload: Uint8Array }[] = [];
  let pos = 0;
  while (pos < b.length) {
    const start = pos;
    const [tag, p1] = readVarint(b, pos);
    const wire = tag & 7;
    let payloadStart = p1;
    let end: number;
    if (wire === 0) end = readVarint(b, p1)[1];
    else if (wire === 5) end = p1 + 4;
    else if (wire === 1) end = p1 + 8;
    else if (wire === 2) {
      const [len, p2] = readVarint(b, p1);
      payloadStart = p2;
      end = p2 + len;
    } else throw new Error(`wire type ${wire}`);
    out.push({ field: Math.floor(tag / 8), raw: b.subarray(start, end), payload: b.subarray(payloadStart, end) });
    pos = end;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** Rewrites the graph: optionally drops its outputs, then appends nodes, initializers, inputs and outputs. */
function editGraph(
  model: Uint8Array,
  edit: { dropOutputs?: boolean; nodes?: PbWriter[]; initializers?: PbWriter[]; inputs?: PbWriter[]; outputs?: PbWriter[] },
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const r of records(model)) {
    if (r.field !== 7) {
      parts.push(r.raw);
      continue;
    }
    const g = new PbWriter();
    for (const n of edit.nodes ?? []) g.message(1, n);
    for (const t of edit.initializers ?? []) g.message(5, t);
    for (const i of edit.inputs ?? []) g.message(11, i);
    for (const o of edit.outputs ?? []) g.message(12, o);
    const kept = records(r.payload).filter((x) => !(edit.dropOutputs && x.field === 12)).map((x) => x.raw);
    const w = new PbWriter();
    w.bytes(7, concat([...kept, g.finish()]));
    parts.push(w.finish());
  }
  return concat(parts);
}

/** One stacked output: [layers, batch, frames, dim] (layerAxis 0) or [batch, layers, frames, dim] (1). */
function stackedModel(base: Uint8Array, layerAxis: 0 | 1): Uint8Array {
  const axes = tensorProto("stack_axes", [1], BigInt64Array.of(BigInt(layerAxis)));
  const nodes: PbWriter[] = [];
  const parts: string[] = [];
  for (let i = 0; i <= N; i++) {
    nodes.push(nodeProto("Unsqueeze", [`hidden_states.${i}`, "stack_axes"], [`unsq_${i}`], `stack_unsq_${i}`));
    parts.push(`unsq_${i}`);
  }
  nodes.push(nodeProto("Concat", parts, ["stacked"], "stack_concat", [{ name: "axis", int: layerAxis }]));
  const dims = layerAxis === 0 ? [N + 1, "batch", "frames", H] : ["batch", N + 1, "frames", H];
  return editGraph(base, { dropOutputs: true, nodes, initializers: [axes], outputs: [valueInfo("stacked", DataType.FLOAT, dims)] });
}

let baseFile: string;
let baseBytes: Uint8Array;
let reference: Wav2Vec2Upstream;
let separate: OnnxFileUpstream;

function testAudio(samples: number, seed: number): Float32Array {
  const rng = makeRng(seed, "onnx-upstream");
  return Float32Array.from({ length: samples }, (_, i) => 0.3 * Math.sin(i * 0.03 * (1 + seed)) + 0.05 * (rng() - 0.5));
}

function maxDiff(a: HiddenStates, b: HiddenStates): number {
  expect(a.numFrames).toBe(b.numFrames);
  expect(a.dim).toBe(b.dim);
  expect(a.layers.length).toBe(b.layers.length);
  let m = 0;
  a.layers.forEach((l, i) => {
    expect(l.length).toBe(b.layers[i].length);
    for (let j = 0; j < l.length; j++) m = Math.max(m, Math.abs(l[j] - b.layers[i][j]));
  });
  return m;
}

beforeAll(async () => {
  baseBytes = buildOnnxModel(config, params);
  baseFile = path.join(tmp, "tiny.onnx");
  fs.writeFileSync(baseFile, baseBytes);
  reference = await createWav2Vec2Upstream("tiny", config, params);
  separate = await createOnnxFileUpstream(baseFile);
});

afterAll(async () => {
  await separate?.dispose();
  await reference?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("onnx:<path> upstream", () => {
  it("probes a model with one output per layer (the project's own export)", () => {
    expect(separate.layout).toEqual({
      inputName: "input_values",
      kind: "separate",
      outputNames: ["hidden_states.0", "hidden_states.1", "hidden_states.2"],
      layerAxis: 0,
      numLayers: 3,
      dim: 64,
      frameRate: 50,
      minSamples: 400, // wav2vec2's receptive field
      batchable: true,
    });
    expect(separate.name).toBe("onnx");
    expect(separate.numLayers).toBe(3);
    expect(separate.hiddenSize).toBe(64);
    expect(separate.frameRate).toBe(50);
    expect(separate.identity).toBe(`onnx-${createHash("sha256").update(baseBytes).digest("hex").slice(0, 12)}`);
  });

  it("gives the same hidden states as the in-memory wav2vec2 upstream, and zero frames below the receptive field", async () => {
    for (const n of [16000, 12345, 400]) {
      const audio = testAudio(n, n);
      expect(maxDiff(await separate.extractHiddenStates(audio), await reference.extractHiddenStates(audio))).toBeLessThan(1e-5);
    }
    for (const up of [separate, reference]) {
      const short = await up.extractHiddenStates(testAudio(399, 1));
      expect(short.numFrames).toBe(0);
      expect(short.layers.length).toBe(3);
      expect(short.layers.every((l) => l.length === 0)).toBe(true);
      expect((await up.extractHiddenStates(new Float32Array(0))).numFrames).toBe(0);
    }
  });

  it("batches equal-length clips with the same results as one at a time", async () => {
    const clips = [testAudio(16000, 1), testAudio(8000, 2), testAudio(16000, 3), testAudio(300, 4), testAudio(16000, 5)];
    for (const up of [separate, reference]) {
      const batched = await up.extractHiddenStatesBatch(clips);
      expect(batched.map((h) => h.numFrames)).toEqual([49, 24, 49, 0, 49]);
      for (let i = 0; i < clips.length; i++) {
        expect(maxDiff(batched[i], await up.extractHiddenStates(clips[i]))).toBeLessThan(1e-5);
      }
    }
  });

  it.each([0, 1] as const)("reads one stacked rank-4 output with the layers on axis %i", async (layerAxis) => {
    const file = path.join(tmp, `stacked${layerAxis}.onnx`);
    fs.writeFileSync(file, stackedModel(baseBytes, layerAxis));
    const up = await createOnnxFileUpstream(file);
    try {
      expect(up.layout.kind).toBe("stacked");
      expect(up.layout.layerAxis).toBe(layerAxis);
      expect(up.layout.outputNames).toEqual(["stacked"]);
      expect([up.numLayers, up.hiddenSize, up.frameRate, up.layout.minSamples, up.layout.batchable]).toEqual([3, 64, 50, 400, true]);
      const clips = [testAudio(16000, 6), testAudio(16000, 7), testAudio(5000, 8)];
      const batched = await up.extractHiddenStatesBatch(clips);
      for (let i = 0; i < clips.length; i++) {
        const ref = await reference.extractHiddenStates(clips[i]);
        expect(maxDiff(await up.extractHiddenStates(clips[i]), ref)).toBeLessThan(1e-5);
        expect(maxDiff(batched[i], ref)).toBeLessThan(1e-5);
      }
    } finally {
      await up.dispose();
    }
  });

  it("uses only the hidden_states* outputs when a model also has others (last_hidden_state)", async () => {
    const file = path.join(tmp, "extra.onnx");
    const extra = editGraph(baseBytes, {
      nodes: [nodeProto("Identity", [`hidden_states.${N}`], ["last_hidden_state"], "lhs")],
      outputs: [valueInfo("last_hidden_state", DataType.FLOAT, ["batch", "frames", H])],
    });
    fs.writeFileSync(file, extra);
    const up = await createOnnxFileUpstream(file);
    try {
      expect(up.layout.outputNames).toEqual(["hidden_states.0", "hidden_states.1", "hidden_states.2"]);
    } finally {
      await up.dispose();
    }
  });

  it("refuses unusable files with one-line errors naming the file", async () => {
    const expectUserError = async (p: Promise<unknown>, pattern: RegExp): Promise<void> => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).not.toContain("\n");
      expect((err as Error).message).toMatch(pattern);
    };
    await expectUserError(createOnnxFileUpstream(path.join(tmp, "missing.onnx")), /missing\.onnx: no such file$/);
    await expectUserError(createOnnxFileUpstream(tmp), /not a file/);

    const truncated = path.join(tmp, "truncated.onnx");
    fs.writeFileSync(truncated, baseBytes.subarray(0, Math.floor(baseBytes.length / 2)));
    await expectUserError(createOnnxFileUpstream(truncated), /^.*truncated\.onnx: not a loadable ONNX model \(Protobuf parsing failed\.\)$/);
    const graphless = path.join(tmp, "graphless.onnx");
    fs.writeFileSync(graphless, Uint8Array.of(0x08, 0x08)); // ModelProto { ir_version: 8 }
    await expectUserError(createOnnxFileUpstream(graphless), /graphless\.onnx: not a loadable ONNX model \(ModelProto does not have a graph\.\)$/);

    const twoInputs = path.join(tmp, "two-inputs.onnx");
    fs.writeFileSync(twoInputs, editGraph(baseBytes, { inputs: [valueInfo("attention_mask", DataType.FLOAT, ["batch", "samples"])] }));
    await expectUserError(createOnnxFileUpstream(twoInputs), /expected exactly one input .* has 2: input_values, attention_mask/);

    const pooled = path.join(tmp, "pooled.onnx");
    fs.writeFileSync(
      pooled,
      editGraph(baseBytes, {
        dropOutputs: true,
        nodes: [nodeProto("ReduceMean", [`hidden_states.${N}`], ["pooled"], "pool", [{ name: "axes", ints: [1] }])],
        outputs: [valueInfo("pooled", DataType.FLOAT, ["batch", 1, H])],
      }),
    );
    await expectUserError(createOnnxFileUpstream(pooled), /does not grow with the input length/);
  });

  it("is reachable through the registry as onnx:<path>", async () => {
    const up = await createUpstream(`onnx:${baseFile}`);
    try {
      expect(up.identity).toBe(separate.identity);
      expect(up.numLayers).toBe(3);
    } finally {
      await up.dispose();
    }
    await expect(createUpstream("onnx:")).rejects.toThrow(UserError);
  });
});

describe("wav2vec2 upstreams", () => {
  it("identity hashes config and parameters", async () => {
    expect(reference.identity).toMatch(/^tiny-[0-9a-f]{12}$/);
    const same = await createWav2Vec2Upstream("tiny", config, initParams(config, 11, { randomAffine: true }));
    const other = await createWav2Vec2Upstream("tiny", config, initParams(config, 12, { randomAffine: true }));
    try {
      expect(same.identity).toBe(reference.identity);
      expect(other.identity).not.toBe(reference.identity);
      expect(reference.numLayers).toBe(N + 1);
      expect(reference.frameRate).toBe(50);
    } finally {
      await same.dispose();
      await other.dispose();
    }
  });

  it("wav2vec2-base: the standard configuration, 13 x 768 at 50 Hz", async () => {
    expect(wav2vec2BaseDef.name).toBe("wav2vec2-base");
    expect(wav2vec2BaseDef.takesArgument).toBeFalsy();
    const up = await wav2vec2BaseDef.create();
    try {
      expect(up.name).toBe("wav2vec2-base");
      expect(up.identity).toMatch(/^wav2vec2-base-[0-9a-f]{12}$/);
      expect([up.numLayers, up.hiddenSize, up.frameRate]).toEqual([13, 768, 50]);
      const h = await up.extractHiddenStates(testAudio(16000, 9));
      expect(h.numFrames).toBe(49);
      expect(h.layers.length).toBe(13);
      expect(h.layers[12].length).toBe(49 * 768);
      expect(h.layers.every((l) => l.every(Number.isFinite))).toBe(true);
      expect((await up.extractHiddenStates(testAudio(399, 9))).numFrames).toBe(0);
    } finally {
      await up.dispose();
    }
  });
});
