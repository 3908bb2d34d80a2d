import { describe, expect, it } from "vitest";
import { upstream as fbankDef } from "../upstreams/fbank.js";
import { upstream as mfccDef } from "../upstreams/mfcc.js";
import { computeFbank } from "../src/dsp/fbank.js";
import { mfccWithDeltas } from "../src/dsp/mfcc.js";

function noise(n: number, seed = 5): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296 - 0.5) * 0.5;
  });
}

describe.each([
  { def: fbankDef, name: "fbank", dim: 80, reference: (x: Float32Array) => computeFbank(x).data },
  { def: mfccDef, name: "mfcc", dim: 39, reference: (x: Float32Array) => mfccWithDeltas(x).data },
])("$name upstream", ({ def, name, dim, reference }) => {
  it("describes itself", async () => {
    expect(def.name).toBe(name);
    expect(def.description.length).toBeGreaterThan(10);
    const up = await def.create();
    expect(up.name).toBe(name);
    expect(up.identity).toMatch(new RegExp(`^${name}-[0-9a-f]{12}$`));
    expect(up.frameRate).toBe(100);
    expect(up.numLayers).toBe(1);
    expect(up.hiddenSize).toBe(dim);
    // identity is a pure function of the configuration
    expect((await def.create()).identity).toBe(up.identity);
    await up.dispose();
  });

  it("extracts one layer of [numFrames x dim] equal to the DSP function", async () => {
    const up = await def.create();
    const x = noise(16000);
    const h = await up.extractHiddenStates(x);
    expect(h.numFrames).toBe(98);
    expect(h.dim).toBe(dim);
    expect(h.layers.length).toBe(1);
    expect(h.layers[0].length).toBe(98 * dim);
    expect(h.layers[0]).toEqual(reference(x));
    expect(h.layers[0].every(Number.isFinite)).toBe(true);
    // repeated calls reuse buffers without cross-talk
    expect((await up.extractHiddenStates(x)).layers[0]).toEqual(h.layers[0]);
  });

  it("audio shorter than one frame gives 0 frames, not a crash", async () => {
    const up = await def.create();
    for (const n of [0, 1, 399]) {
      const h = await up.extractHiddenStates(new Float32Array(n));
      expect(h).toEqual({ layers: [new Float32Array(0)], numFrames: 0, dim });
    }
  });

  it("is much faster than real time on 60 s of noise", async () => {
    const up = await def.create();
    const x = noise(60 * 16000, 9);
    await up.extractHiddenStates(x.subarray(0, 16000)); // warm-up (JIT)
    const t0 = performance.now();
    const h = await up.extractHiddenStates(x);
    const seconds = (performance.now() - t0) / 1000;
    expect(h.numFrames).toBe(5998);
    const speed = 60 / seconds;
    console.log(`${name}: 60 s of audio in ${(seconds * 1000).toFixed(0)} ms = ${speed.toFixed(0)}x real time`);
    // Generous bound so slow CI machines pass; measured speed is in the log line above.
    expect(speed).toBeGreaterThan(20);
  });
});

it("fbank and mfcc identities differ", async () => {
  expect((await fbankDef.create()).identity).not.toBe((await mfccDef.create()).identity);
});
