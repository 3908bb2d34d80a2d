import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.js";
import { encodeSafetensors, readSafetensors, type TensorMap } from "../src/safetensors.js";
import { presetConfig, type Wav2Vec2Config } from "../src/wav2vec2/config.js";
import { loadHfFolder, readHfConfig, saveHfFolder } from "../src/wav2vec2/hf-io.js";
import { expectUserError as expectUserErrorAsync } from "./helpers/errors.js";
import { initParams, makeRng, paramSpecs, weightNormWeight, type ParamMap } from "../src/wav2vec2/params.js";
import { createWav2Vec2Upstream } from "../src/wav2vec2/upstream.js";
import { upstream as hfDef } from "../upstreams/hf.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-hf-io-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

let dirCounter = 0;
function freshDir(): string {
  const d = path.join(tmp, `m${dirCounter++}`);
  fs.mkdirSync(d);
  return d;
}

function expectSameParams(a: ReadonlyMap<string, { shape: number[]; data: Float32Array }>, b: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, p] of a) {
    const q = b.get(k)!;
    expect(q.shape, k).toEqual(p.shape);
    expect(Buffer.from(q.data.buffer, q.data.byteOffset, q.data.byteLength).equals(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength)), k).toBe(true);
  }
}

/** A HF-style config.json as the Hub has it (task-model fields included). */
function hubConfigJson(c: Wav2Vec2Config): Record<string, unknown> {
  return {
    _name_or_path: "facebook/wav2vec2-base-960h",
    architectures: ["Wav2Vec2ForCTC"],
    model_type: "wav2vec2",
    vocab_size: 32,
    hidden_dropout: 0.1,
    feat_extract_activation: "gelu",
    ...c,
  };
}

const CONFIGS: { label: string; config: Wav2Vec2Config }[] = [
  { label: "base-like (group norm, post-LN)", config: presetConfig("tiny") },
  { label: "large-like (layer norm, stable LN, conv bias)", config: presetConfig("tiny", { feat_extract_norm: "layer", do_stable_layer_norm: true, conv_bias: true }) },
];

describe("saveHfFolder / loadHfFolder", () => {
  it.each(CONFIGS)("round-trips config and parameters bit-exactly: $label", ({ config }) => {
    const dir = path.join(tmp, `rt-${config.feat_extract_norm}`);
    const params = initParams(config, 3, { randomAffine: true });
    saveHfFolder(dir, config, params, { producer: "superb test" });
    expect(fs.readdirSync(dir).sort()).toEqual(["config.json", "model.safetensors"]); // no temporary files left
    const json = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    expect(json.architectures).toEqual(["Wav2Vec2Model"]);
    expect(json.model_type).toBe("wav2vec2");
    const st = readSafetensors(path.join(dir, "model.safetensors"));
    expect(st.metadata).toEqual({ producer: "superb test", format: "pt" });
    // Wav2Vec2Model layout: no prefix, legacy weight-norm names, HF state_dict order.
    expect([...st.tensors.keys()]).toEqual(paramSpecs(config).map((s) => s.name));

    const loaded = loadHfFolder(dir);
    expect(loaded.config).toEqual(config);
    expect(loaded.metadata.format).toBe("pt");
    expect(loaded.ignoredKeys).toEqual([]);
    expectSameParams(params, loaded.params);
  });

  it("writes a Wav2Vec2ForPreTraining folder when the pre-training heads are present", () => {
    const config = presetConfig("tiny");
    const params = initParams(config, 4, { pretraining: true });
    const dir = freshDir();
    saveHfFolder(dir, config, params);
    const json = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    expect(json.architectures).toEqual(["Wav2Vec2ForPreTraining"]);
    const keys = [...readSafetensors(path.join(dir, "model.safetensors")).tensors.keys()];
    expect(keys).toContain("wav2vec2.encoder.layers.0.attention.q_proj.weight");
    expect(keys).toContain("quantizer.codevectors");
    expect(keys).toContain("project_q.weight");
    // Without asking for them the heads are ignored; with it they load under their own names.
    const plain = loadHfFolder(dir);
    expect(plain.params.has("quantizer.codevectors")).toBe(false);
    expect(plain.ignoredKeys.sort()).toEqual(["project_hid.bias", "project_hid.weight", "project_q.bias", "project_q.weight", "quantizer.codevectors", "quantizer.weight_proj.bias", "quantizer.weight_proj.weight"]);
    expectSameParams(params, loadHfFolder(dir, { pretraining: true }).params);
  });

  it("reads a hand-built Hub-style folder: wav2vec2. prefix, parametrizations names, task heads", () => {
    const config = presetConfig("tiny");
    const params = initParams(config, 5, { randomAffine: true });
    const tensors: TensorMap = new Map();
    for (const [name, p] of params) {
      const hfName = name
        .replace(/\.weight_g$/, ".parametrizations.weight.original0")
        .replace(/\.weight_v$/, ".parametrizations.weight.original1");
      tensors.set(`wav2vec2.${hfName}`, p);
    }
    tensors.set("lm_head.weight", { shape: [32, 64], data: new Float32Array(32 * 64) });
    tensors.set("lm_head.bias", { shape: [32], data: new Float32Array(32) });
    // Wav2Vec2ForXVector has a top-level feature_extractor Linear: a head, not the CNN.
    tensors.set("feature_extractor.weight", { shape: [4, 8], data: new Float32Array(32) });
    const dir = freshDir();
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(hubConfigJson(config)));
    fs.writeFileSync(path.join(dir, "model.safetensors"), encodeSafetensors(tensors, { format: "pt" }));
    const loaded = loadHfFolder(dir);
    expect(loaded.config).toEqual(config);
    expectSameParams(params, loaded.params);
    expect(loaded.ignoredKeys.sort()).toEqual(["feature_extractor.weight", "lm_head.bias", "lm_head.weight"]);
  });

  it("accepts a plain positional-conv weight (weight norm removed) and a missing masked_spec_embed", async () => {
    const config = presetConfig("tiny");
    const params = initParams(config, 6);
    const w = weightNormWeight(params.get("encoder.pos_conv_embed.conv.weight_g")!, params.get("encoder.pos_conv_embed.conv.weight_v")!);
    const tensors: TensorMap = new Map();
    for (const [name, p] of params) if (!name.startsWith("encoder.pos_conv_embed.conv.weight_") && name !== "masked_spec_embed") tensors.set(name, p);
    tensors.set("encoder.pos_conv_embed.conv.weight", w);
    const dir = freshDir();
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(hubConfigJson(config)));
    fs.writeFileSync(path.join(dir, "model.safetensors"), encodeSafetensors(tensors, { format: "pt" }));
    const loaded = loadHfFolder(dir);
    expect(Array.from(loaded.params.get("masked_spec_embed")!.data).every((v) => v === 0)).toBe(true);
    const w2 = weightNormWeight(loaded.params.get("encoder.pos_conv_embed.conv.weight_g")!, loaded.params.get("encoder.pos_conv_embed.conv.weight_v")!);
    let maxDiff = 0;
    for (let i = 0; i < w.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(w.data[i] - w2.data[i]));
    expect(maxDiff).toBeLessThan(1e-6);
  });

  it("reports problems as one line naming the folder or file", () => {
    const config = presetConfig("tiny");
    const params = initParams(config, 7);
    const expectUserError = (fn: () => unknown, pattern: RegExp): void => {
      let caught: unknown;
      try {
        fn();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(UserError);
      const message = (caught as Error).message;
      expect(message).not.toContain("\n");
      expect(message).toMatch(pattern);
    };

    expectUserError(() => loadHfFolder(path.join(tmp, "nope")), /nope: no such folder$/);

    // Truncated weights.
    const trunc = freshDir();
    saveHfFolder(trunc, config, params);
    const file = path.join(trunc, "model.safetensors");
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 1000));
    expectUserError(() => loadHfFolder(trunc), new RegExp(`^${esc(file)}: truncated`));
    fs.writeFileSync(file, bytes.subarray(0, 100));
    expectUserError(() => loadHfFolder(trunc), new RegExp(`^${esc(file)}: truncated`));

    // A missing encoder key and a wrong shape, named with the file.
    const missing = freshDir();
    const fewer: ParamMap = new Map(params);
    fewer.delete("encoder.layers.1.feed_forward.output_dense.weight");
    fs.writeFileSync(path.join(missing, "config.json"), JSON.stringify(hubConfigJson(config)));
    fs.writeFileSync(path.join(missing, "model.safetensors"), encodeSafetensors(fewer));
    expectUserError(() => loadHfFolder(missing), new RegExp(`^${esc(missing)}.*missing encoder\\.layers\\.1\\.feed_forward\\.output_dense\\.weight`));
    const wrong: ParamMap = new Map(params);
    wrong.set("encoder.layers.0.attention.q_proj.weight", { shape: [32, 64], data: new Float32Array(32 * 64) });
    fs.writeFileSync(path.join(missing, "model.safetensors"), encodeSafetensors(wrong));
    expectUserError(() => loadHfFolder(missing), /encoder\.layers\.0\.attention\.q_proj\.weight has shape \[32, 64\], expected \[64, 64\]/);
    // A checkpoint for another config (more layers than config.json says).
    const deeper = initParams(presetConfig("tiny", { num_hidden_layers: 3 }), 7);
    fs.writeFileSync(path.join(missing, "model.safetensors"), encodeSafetensors(deeper));
    expectUserError(() => loadHfFolder(missing), /unexpected parameter encoder\.layers\.2\./);
    // Not a wav2vec2 checkpoint at all.
    fs.writeFileSync(path.join(missing, "model.safetensors"), encodeSafetensors(new Map([["bert.embeddings.weight", { shape: [2], data: new Float32Array(2) }]])));
    expectUserError(() => loadHfFolder(missing), /no wav2vec2 encoder parameters found \(first keys: bert\.embeddings\.weight\)/);

    // config.json problems.
    const badConfig = freshDir();
    fs.writeFileSync(path.join(badConfig, "config.json"), JSON.stringify({ model_type: "hubert" }));
    expectUserError(() => loadHfFolder(badConfig), /config\.json: model_type is "hubert", expected "wav2vec2"$/);
    fs.writeFileSync(path.join(badConfig, "config.json"), "{ not json");
    expectUserError(() => loadHfFolder(badConfig), /config\.json: not valid JSON/);
    const noConfig = freshDir();
    expectUserError(() => loadHfFolder(noConfig), /no config\.json/);

    // Pickle checkpoints are refused, with the conversion hint.
    const pickle = freshDir();
    fs.writeFileSync(path.join(pickle, "config.json"), JSON.stringify(hubConfigJson(config)));
    fs.writeFileSync(path.join(pickle, "pytorch_model.bin"), Buffer.from([0x80, 0x02, 0x7d, 0x71]));
    expectUserError(
      () => loadHfFolder(pickle),
      new RegExp(
        `^${esc(pickle)}: pickle checkpoints \\(pytorch_model\\.bin\\) are not loaded because they can execute code; ` +
          "convert to safetensors \\(e\\.g\\. `model\\.save_pretrained\\(dir, safe_serialization=True\\)`\\)$",
      ),
    );
    fs.rmSync(path.join(pickle, "pytorch_model.bin"));
    fs.writeFileSync(path.join(pickle, "checkpoint_best.pt"), Buffer.from([0x80]));
    expectUserError(() => loadHfFolder(pickle), /pickle checkpoints \(checkpoint_best\.pt\)/);
    expectUserError(() => loadHfFolder(path.join(pickle, "checkpoint_best.pt")), /checkpoint_best\.pt: pickle checkpoints \(checkpoint_best\.pt\) are not loaded/);
    fs.rmSync(path.join(pickle, "checkpoint_best.pt"));
    fs.writeFileSync(path.join(pickle, "training_args.bin"), Buffer.from([0x80])); // Trainer state, not weights
    expectUserError(() => loadHfFolder(pickle), /no model\.safetensors/);
    expectUserError(() => loadHfFolder(path.join(pickle, "config.json")), /config\.json: not a folder/);
  });

  it("loads sharded checkpoints (model.safetensors.index.json)", () => {
    const config = presetConfig("tiny");
    const params = initParams(config, 8);
    const names = [...params.keys()];
    const half = Math.floor(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const dir = freshDir();
    const weightMap: Record<string, string> = {};
    shards.forEach((keys, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      fs.writeFileSync(path.join(dir, file), encodeSafetensors(new Map(keys.map((k) => [k, params.get(k)!])), { format: "pt" }));
      for (const k of keys) weightMap[k] = file;
    });
    fs.writeFileSync(path.join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(hubConfigJson(config)));
    expectSameParams(params, loadHfFolder(dir).params);
    weightMap[names[0]] = "../escape.safetensors";
    fs.writeFileSync(path.join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: weightMap }));
    expect(() => loadHfFolder(dir)).toThrow(/invalid shard name/);
  });
});

describe("HF folder input validation", () => {
  const config = presetConfig("tiny");
  const withConfig = (json: unknown): string => {
    const dir = freshDir();
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(json));
    return dir;
  };

  it.each([
    ["num_hidden_layers", 2 ** 32, "num_hidden_layers must be an integer in [0, 256], got 4294967296"],
    ["conv_stride", [1e308, 2, 2, 2, 2, 2, 2], "conv_stride must be a list of 1 to 32 integers in [1, 1024], got 1e+308 at index 0"],
    ["hidden_size", -1, "hidden_size must be an integer in [1, 16384], got -1"],
    ["num_attention_heads", "4", 'num_attention_heads must be an integer in [1, 1024], got "4"'],
    ["conv_kernel", [10, 3], "conv_dim, conv_kernel and conv_stride must have the same length (got 7, 2, 7)"],
  ])("config.json %s = %j is a UserError naming the file and the field", async (field, value, problem) => {
    const dir = withConfig({ ...hubConfigJson(config), [field]: value });
    const file = path.join(dir, "config.json");
    await expectUserErrorAsync(() => readHfConfig(dir), new RegExp(`^${esc(file)}: ${esc(problem)}$`));
    await expectUserErrorAsync(() => loadHfFolder(dir), new RegExp(`^${esc(file)}: ${esc(problem)}$`));
  });

  it("a config.json that is a folder, is not an object, or is huge", async () => {
    const folder = freshDir();
    fs.mkdirSync(path.join(folder, "config.json"));
    await expectUserErrorAsync(() => readHfConfig(folder), `${path.join(folder, "config.json")}: is a directory, expected a JSON file`);
    await expectUserErrorAsync(() => readHfConfig(withConfig([1, 2])), /config\.json: expected a JSON object$/);
    const huge = freshDir();
    fs.writeFileSync(path.join(huge, "config.json"), " ".repeat(17 << 20));
    await expectUserErrorAsync(() => readHfConfig(huge), new RegExp(`^${esc(path.join(huge, "config.json"))}: 17825792 bytes is too large for a JSON config`));
  });

  it("a model.safetensors that is a folder (or unreadable) is a UserError naming it", async () => {
    const dir = withConfig(hubConfigJson(config));
    const weights = path.join(dir, "model.safetensors");
    fs.mkdirSync(weights);
    await expectUserErrorAsync(() => loadHfFolder(dir), `${weights}: is a directory, expected a safetensors file`);
    fs.rmdirSync(weights);
    saveHfFolder(dir, config, initParams(config, 1));
    // Root reads any file, so the permission case only runs as another user.
    if (process.getuid?.() !== 0) {
      fs.chmodSync(weights, 0o000);
      try {
        await expectUserErrorAsync(() => loadHfFolder(dir), `${weights}: cannot read (EACCES)`);
      } finally {
        fs.chmodSync(weights, 0o644);
      }
    }
  });

  it("model.safetensors.index.json: weight_map must map names to shard files inside the folder", async () => {
    const dir = withConfig(hubConfigJson(config));
    const index = path.join(dir, "model.safetensors.index.json");
    const problem = (json: string, pattern: string | RegExp) => {
      fs.writeFileSync(index, json);
      return expectUserErrorAsync(() => loadHfFolder(dir), pattern);
    };
    await problem("null", `${index}: expected a JSON object`);
    await problem("{}", `${index}: weight_map must be an object mapping tensor names to shard files`);
    await problem('{"weight_map": ["model-1.safetensors"]}', `${index}: weight_map must be an object mapping tensor names to shard files`);
    await problem('{"weight_map": "model-1.safetensors"}', `${index}: weight_map must be an object mapping tensor names to shard files`);
    await problem('{"weight_map": {}}', `${index}: empty weight_map`);
    await problem('{"weight_map": {"a": 7}}', `${index}: invalid shard name 7`);
    await problem('{"weight_map": {"a": "/etc/passwd.safetensors"}}', `${index}: invalid shard name "/etc/passwd.safetensors"`);
    await problem('{"weight_map": {"a": "../up.safetensors"}}', `${index}: invalid shard name "../up.safetensors"`);
    await problem('{"weight_map": {"a": "sub/x.safetensors"}}', `${index}: invalid shard name "sub/x.safetensors"`);
    await problem('{"weight_map": {"a": "x\\u0000.safetensors"}}', /index\.json: invalid shard name "x\\u0000\.safetensors"$/);
    await problem('{"weight_map": {"a": "model.bin"}}', `${index}: invalid shard name "model.bin"`);
  });
});

describe("hf:<dir> upstream", () => {
  it("runs the saved model and matches the in-memory one", async () => {
    const config = presetConfig("tiny");
    const params = initParams(config, 9, { randomAffine: true });
    const dir = freshDir();
    saveHfFolder(dir, config, params);
    const fromDisk = await hfDef.create(dir);
    const inMemory = await createWav2Vec2Upstream("hf", config, params);
    try {
      expect(hfDef.takesArgument).toBe(true);
      expect(fromDisk.identity).toBe(inMemory.identity);
      expect(fromDisk.identity).toMatch(/^hf-[0-9a-f]{12}$/);
      expect(fromDisk.numLayers).toBe(3);
      expect(fromDisk.hiddenSize).toBe(64);
      expect(fromDisk.frameRate).toBe(50);
      const rng = makeRng(1, "audio");
      const audio = Float32Array.from({ length: 8000 }, () => rng() - 0.5);
      const a = await fromDisk.extractHiddenStates(audio);
      const b = await inMemory.extractHiddenStates(audio);
      expect(a.numFrames).toBe(24);
      expect(a.layers.map((l) => Array.from(l))).toEqual(b.layers.map((l) => Array.from(l)));
    } finally {
      await fromDisk.dispose();
      await inMemory.dispose();
    }
    await expect(hfDef.create(path.join(tmp, "absent"))).rejects.toThrow(/absent: no such folder/);
    await expect(hfDef.create("")).rejects.toThrow(UserError);
  });
});
