import { describe, expect, it } from "vitest";
import { poolStatistics, ridgeClassifierProbe, type ProbeSet } from "../src/analyze/probe.js";
import { Rng } from "../src/random.js";

describe("linear probe", () => {
  it("pools each layer to its mean and (population) standard deviation over frames", () => {
    // 2 layers x 3 frames x 2 dims
    const block = Float32Array.from([1, 0, 2, 0, 3, 6, /* layer 1 */ 5, 5, 5, 5, 5, 5]);
    const [l0, l1] = poolStatistics(block, 2, 3, 2);
    expect(Array.from(l0.slice(0, 2))).toEqual([2, 2]);
    expect(l0[2]).toBeCloseTo(Math.sqrt(2 / 3), 12);
    expect(l0[3]).toBeCloseTo(Math.sqrt(8), 12);
    expect(Array.from(l1)).toEqual([5, 5, 0, 0]);
  });

  /** Utterances of k classes: class c has mean `separation` * e_c in 8 dims, plus unit noise. */
  function clusters(rng: Rng, perClass: number, k: number, separation: number, shuffleLabels = false): ProbeSet {
    const x: Float64Array[] = [];
    const y: number[] = [];
    for (let c = 0; c < k; c++) {
      for (let i = 0; i < perClass; i++) {
        const v = Float64Array.from({ length: 8 }, (_, d) => (d === c ? separation : 0) + rng.normal());
        x.push(v);
        y.push(c);
      }
    }
    if (shuffleLabels) {
      const order = rng.shuffle(y.map((_, i) => i));
      return { x, y: order.map((i) => y[i]) };
    }
    return { x, y };
  }

  it("finds well separated classes and stays at chance on shuffled labels", () => {
    const rng = new Rng(5);
    const sep = ridgeClassifierProbe(clusters(rng, 40, 4, 6), clusters(rng, 10, 4, 6), clusters(rng, 20, 4, 6), 4);
    expect(sep.testAccuracy).toBeGreaterThan(97);
    const none = ridgeClassifierProbe(clusters(rng, 40, 4, 6, true), clusters(rng, 10, 4, 6, true), clusters(rng, 20, 4, 6, true), 4);
    expect(none.testAccuracy).toBeLessThan(45); // chance is 25 %
  });

  it("chooses the alpha with the best dev accuracy and reports test accuracy for that alpha", () => {
    const rng = new Rng(9);
    // Few training utterances in 8 dims, so the penalty matters.
    const [train, dev, test] = [clusters(rng, 3, 4, 1.5), clusters(rng, 30, 4, 1.5), clusters(rng, 30, 4, 1.5)];
    const alphas = [1e-3, 1, 30, 1000];
    const each = alphas.map((a) => ridgeClassifierProbe(train, dev, test, 4, [a]));
    const chosen = ridgeClassifierProbe(train, dev, test, 4, alphas);
    const bestDev = Math.max(...each.map((e) => e.devAccuracy));
    const first = each.find((e) => e.devAccuracy === bestDev)!;
    expect(chosen.alpha).toBe(first.alpha);
    expect(chosen.testAccuracy).toBe(first.testAccuracy);
    expect(new Set(each.map((e) => e.devAccuracy)).size).toBeGreaterThan(1); // the choice is not vacuous
  });
});
