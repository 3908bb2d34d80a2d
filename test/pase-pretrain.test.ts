import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASE_PLUS_TINY } from "../src/pase/config.js";
import { writePaseModelCard } from "../src/pase/model-card.js";
import { NO_DISTORTIONS } from "../src/pase/distortions.js";
import { initPaseParams, paseParamSpecs } from "../src/pase/params.js";
import { PASE_CHECKPOINT_FILE, PASE_LOG_FILE, pretrainPase } from "../src/pase/pretrain.js";
import { createPaseUpstream, loadPaseFolder } from "../src/pase/upstream.js";
import { PASE_PLUS_WORKERS } from "../src/pase/workers.js";
import { readSafetensors } from "../src/safetensors.js";
import { makeRng } from "../src/wav2vec2/params.js";
import { expectUserError } from "./helpers/errors.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-pase-pretrain-"));
beforeAll(async () => {
  await tf.setBackend("wasm");
  await tf.ready();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Voiced clips: a pitch per clip (so GIM can tell clips apart) plus noise, 0.4-0.7 s. */
function clips(n: number, seed: number): Float32Array[] {
  return Array.from({ length: n }, (_, k) => {
    const rng = makeRng(seed, `clip${k}`);
    const f0 = 100 + 25 * k;
    return Float32Array.from({ length: 6400 + 800 * (k % 4) }, (_, i) => 0.4 * Math.sin((2 * Math.PI * f0 * i) / 16000) + 0.2 * Math.sin((2 * Math.PI * 3 * f0 * i) / 16000) + 0.05 * (rng() * 2 - 1));
  });
}

const config = PASE_PLUS_TINY;

describe("PASE+ pre-training (tiny encoder, all twelve workers, PASE+'s distortions)", () => {
  it("trains, lowers the summed worker loss, and writes a folder the upstream loads", async () => {
    const out = path.join(tmp, "run");
    const summary = await pretrainPase({ config, data: clips(8, 1), outDir: out, steps: 50, batchSize: 4, seed: 3, learningRate: 3e-3, progress: false });
    expect(summary.completed).toBe(true);
    const log = summary.log;
    expect(log.map((e) => e.step)).toEqual([25, 50]);
    for (const e of log) expect(Object.keys(e.workers).sort()).toEqual(PASE_PLUS_WORKERS.map((w) => w.name).sort());
    expect(log[1].loss).toBeLessThan(log[0].loss);
    expect(fs.existsSync(path.join(out, PASE_CHECKPOINT_FILE))).toBe(false);
    const { tensors } = readSafetensors(path.join(out, "model.safetensors"));
    expect([...tensors.keys()]).toEqual(paseParamSpecs(config).map((s) => s.name));
    // BatchNorm running statistics moved off their init.
    expect(Array.from(tensors.get("blocks.0.norm.running_var")!.data).some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
    const { config: loaded, params } = loadPaseFolder(out);
    expect(loaded).toEqual(config);
    const up = await createPaseUpstream("pase-test", loaded, params);
    const h = await up.extractHiddenStates(clips(1, 9)[0]);
    expect(h.numFrames).toBe(40); // 6400 samples / 160
    expect(h.layers.length).toBe(9);
    await up.dispose();
    const card = fs.readFileSync(writePaseModelCard(out, "superb pretrain --recipe pase+ --config pase+-tiny --out x"), "utf8");
    expect(card).toContain("    superb pretrain --recipe pase+ --config pase+-tiny --out x");
    expect(card).toContain("| seed | 3 |");
    expect(card).toContain("| 50 | ");
  });

  it("updates every encoder parameter, and on one fixed, undistorted batch the summed loss falls by a tenth (it stays flat when no update lands)", async () => {
    // Equal-length clips cropped whole, no distortions: every step sees the same batch, so only
    // the updates can move the loss (a run whose gradients never reach Adam stays flat).
    const fixed = clips(4, 5).map((a) => a.subarray(0, 6400));
    const out = path.join(tmp, "fixed");
    const summary = await pretrainPase({ config, data: fixed, outDir: out, steps: 30, batchSize: 4, seed: 4, learningRate: 3e-3, cropSeconds: 0.4, distortions: NO_DISTORTIONS, progress: false });
    const [first, last] = summary.log;
    expect(last.step).toBe(30);
    expect(last.loss).toBeLessThan(0.9 * first.loss);
    const init = initPaseParams(config, 4);
    const trained = readSafetensors(path.join(out, "model.safetensors")).tensors;
    for (const spec of paseParamSpecs(config)) {
      const a = init.get(spec.name)!.data;
      const b = trained.get(spec.name)!.data;
      expect(a.some((v, i) => v !== b[i]), spec.name).toBe(true);
    }
  });

  it("resumes after an interruption and ends exactly where an uninterrupted run does; a finished folder is not retrained", async () => {
    const data = clips(6, 2);
    const opts = { config, data, steps: 6, batchSize: 3, seed: 9, checkpointEvery: 2, progress: false };
    const straight = path.join(tmp, "straight");
    await pretrainPase({ ...opts, outDir: straight });
    const resumed = path.join(tmp, "resumed");
    const first = await pretrainPase({ ...opts, outDir: resumed, stopAfter: 3 });
    expect(first.completed).toBe(false);
    expect(fs.existsSync(path.join(resumed, "model.safetensors"))).toBe(false);
    const second = await pretrainPase({ ...opts, outDir: resumed });
    expect(second.resumedFromStep).toBe(3);
    expect(second.stepsThisRun).toBe(3);
    const a = readSafetensors(path.join(straight, "model.safetensors")).tensors;
    const b = readSafetensors(path.join(resumed, "model.safetensors")).tensors;
    for (const [name, t] of a) expect(Array.from(b.get(name)!.data)).toEqual(Array.from(t.data));
    type Log = { log: { step: number; loss: number; workers: Record<string, number> }[] };
    const losses = (l: Log) => l.log.map((e) => ({ step: e.step, loss: e.loss, workers: e.workers }));
    const logA = JSON.parse(fs.readFileSync(path.join(straight, PASE_LOG_FILE), "utf8")) as Log;
    const logB = JSON.parse(fs.readFileSync(path.join(resumed, PASE_LOG_FILE), "utf8")) as Log;
    expect(losses(logB)).toEqual(losses(logA));
    const again = await pretrainPase({ ...opts, outDir: resumed });
    expect(again.stepsThisRun).toBe(0);
    await expectUserError(() => pretrainPase({ ...opts, seed: 10, outDir: resumed }), `${resumed} already holds a finished PASE+ pre-training of a different run; use another --out folder`);
  });

  it("refuses a checkpoint of a different run, naming what differs", async () => {
    const out = path.join(tmp, "other");
    const data = clips(4, 4);
    await pretrainPase({ config, data, outDir: out, steps: 4, batchSize: 2, seed: 1, stopAfter: 1, progress: false });
    await expect(pretrainPase({ config, data, outDir: out, steps: 4, batchSize: 2, seed: 2, progress: false })).rejects.toThrow(/different pre-training run \(differs in: seed\)/);
  });
});
