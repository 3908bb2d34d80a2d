import { describe, expect, it } from "vitest";
import {
  accuracy,
  characterErrorRate,
  editDistance,
  editOperations,
  equalErrorRate,
  errorRate,
  minDcf,
  wordErrorRate,
} from "../src/metrics.js";

const chars = (s: string): string[] => Array.from(s);

describe("editDistance / editOperations", () => {
  it("kitten -> sitting", () => {
    // k->s (sub), e->i (sub), +g (ins): 3 edits, 4 hits (i, t, t, n).
    expect(editDistance(chars("kitten"), chars("sitting"))).toBe(3);
    expect(editDistance(chars("sitting"), chars("kitten"))).toBe(3);
    expect(editOperations(chars("kitten"), chars("sitting"))).toEqual({
      distance: 3,
      hits: 4,
      substitutions: 2,
      deletions: 0,
      insertions: 1,
    });
  });

  it("empty sides", () => {
    expect(editDistance([], [])).toBe(0);
    expect(editDistance([], ["a", "b"])).toBe(2);
    expect(editDistance(["a", "b", "c"], [])).toBe(3);
    expect(editOperations([], ["a", "b"])).toEqual({ distance: 2, hits: 0, substitutions: 0, deletions: 0, insertions: 2 });
    expect(editOperations(["a", "b", "c"], [])).toEqual({ distance: 3, hits: 0, substitutions: 0, deletions: 3, insertions: 0 });
  });

  it("one deletion and one insertion beat three substitutions", () => {
    // ref a b c d / hyp a c d e: drop b, add e = 2; the all-substitution alignment costs 3.
    expect(editOperations([1, 2, 3, 4], [1, 3, 4, 5])).toEqual({
      distance: 2,
      hits: 3,
      substitutions: 0,
      deletions: 1,
      insertions: 1,
    });
  });

  it("breaks cost ties towards substitutions", () => {
    // ref a b / hyp b a: "2 subs" and "del a, hit b, ins a" both cost 2; the diagonal wins.
    expect(editOperations(["a", "b"], ["b", "a"])).toEqual({
      distance: 2,
      hits: 0,
      substitutions: 2,
      deletions: 0,
      insertions: 0,
    });
  });

  it("editOperations agrees with editDistance on random sequences", () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let trial = 0; trial < 200; trial++) {
      const a = Array.from({ length: rand(8) }, () => rand(3));
      const b = Array.from({ length: rand(8) }, () => rand(3));
      const ops = editOperations(a, b);
      expect(ops.distance).toBe(editDistance(a, b));
      expect(ops.substitutions + ops.deletions + ops.insertions).toBe(ops.distance);
      expect(ops.hits + ops.substitutions + ops.deletions).toBe(a.length);
      expect(ops.hits + ops.substitutions + ops.insertions).toBe(b.length);
    }
  });
});

describe("errorRate / wordErrorRate / characterErrorRate", () => {
  it("pools errors over the corpus instead of averaging per utterance", () => {
    // utt 1: a b c d -> a x c d: 1 sub / 4; utt 2: e -> (nothing): 1 del / 1.
    // corpus: 100 * (1 + 1) / (4 + 1) = 40 (a per-utterance mean would be (25 + 100) / 2 = 62.5).
    expect(errorRate([["a", "b", "c", "d"], ["e"]], [["a", "x", "c", "d"], []])).toBeCloseTo(40, 12);
  });

  it("can exceed 100 with insertions", () => {
    // ref a / hyp a b c: 2 insertions / 1 reference token = 200 %.
    expect(errorRate([["a"]], [["a", "b", "c"]])).toBe(200);
  });

  it("WER splits on any whitespace", () => {
    // utt 1: "the cat sat on the mat" vs "the cat sit on mat": sat->sit (sub) + missing "the" (del) = 2 / 6.
    // utt 2: "hello world" vs " hello  world extra ": 1 insertion / 2 (extra spaces are not words).
    // 100 * (2 + 1) / (6 + 2) = 37.5
    expect(
      wordErrorRate(["the cat sat on the mat", "hello world"], ["the cat sit on mat", " hello  world extra "]),
    ).toBeCloseTo(37.5, 12);
  });

  it("CER counts every character including spaces", () => {
    // "abc" vs "abd": 1 sub / 3; "a b" vs "ab": the space is deleted, 1 / 3. 100 * 2 / 6.
    expect(characterErrorRate(["abc", "a b"], ["abd", "ab"])).toBeCloseTo(100 / 3, 12);
  });

  it("throws on mismatched lengths or empty references", () => {
    expect(() => errorRate([["a"]], [])).toThrow(/1 references but 0 hypotheses/);
    expect(() => errorRate([[]], [["a"]])).toThrow(/total reference length is 0/);
    expect(() => wordErrorRate(["  "], ["a"])).toThrow(/total reference length is 0/);
    expect(() => wordErrorRate([], [])).toThrow(/total reference length is 0/);
  });
});

describe("accuracy", () => {
  it("from flags and from counts", () => {
    // 3 of 4 correct = 75 %.
    expect(accuracy([true, false, true, true])).toBe(75);
    expect(accuracy(3, 4)).toBe(75);
    expect(accuracy(0, 7)).toBe(0);
  });

  it("rejects undefined cases", () => {
    expect(() => accuracy([])).toThrow(/no items/);
    expect(() => accuracy(1, 0)).toThrow(/total must be > 0/);
    expect(() => accuracy(5, 4)).toThrow(/correct must lie/);
  });
});

// Label 1 = target, 0 = non-target; accept iff score >= threshold; ROC point k accepts the k
// highest distinct score groups; point 0 rejects everything and has threshold max(score) + 1.
describe("equalErrorRate", () => {
  it("perfectly separated: 0 %", () => {
    // Targets 0.9, 0.8 above non-targets 0.3, 0.2. ROC (FAR, TPR): (0,0) (0,.5) (0,1) ...
    // (0,1) is on FAR = FRR = 0, reached at threshold 0.8 (the lowest target).
    expect(equalErrorRate([0.9, 0.8, 0.3, 0.2], [1, 1, 0, 0])).toEqual({ eer: 0, threshold: 0.8 });
  });

  it("perfectly inverted: 100 %", () => {
    // Non-targets 0.9, 0.8 above targets: ROC (0,0) (.5,0) (1,0) ...; (1,0) has FAR = FRR = 1.
    expect(equalErrorRate([0.9, 0.8, 0.3, 0.2], [0, 0, 1, 1])).toEqual({ eer: 100, threshold: 0.8 });
  });

  it("all scores equal: 50 %", () => {
    // One tie group: ROC is the single segment (0,0) -> (1,1), which meets TPR = 1 - FAR at
    // (0.5, 0.5) -> EER 50 %; threshold halfway between 1.5 (= max + 1) and 0.5 = 1.0.
    expect(equalErrorRate([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])).toEqual({ eer: 50, threshold: 1 });
    // Same with unbalanced classes (1 target, 2 non-targets).
    expect(equalErrorRate([2, 2, 2], [1, 0, 0])).toEqual({ eer: 50, threshold: 2.5 });
  });

  it("crossing on a vertical ROC segment", () => {
    // Targets {0.8, 0.6}, non-targets {0.7, 0.5, 0.3, 0.1}; P = 2, N = 4.
    // ROC: th 1.8 (0,0); 0.8 (0,.5); 0.7 (.25,.5); 0.6 (.25,1); ...
    // FAR + TPR goes .75 -> 1.25 on (.25,.5)->(.25,1): crossing at t = .5, i.e. (.25,.75):
    // FAR = .25 = FRR -> EER 25 %, threshold = .7 + .5 * (.6 - .7) = .65.
    const r = equalErrorRate([0.8, 0.7, 0.6, 0.5, 0.3, 0.1], [1, 0, 1, 0, 0, 0]);
    expect(r.eer).toBeCloseTo(25, 12);
    expect(r.threshold).toBeCloseTo(0.65, 12);
  });

  it("crossing on a horizontal ROC segment", () => {
    // Targets {0.9, 0.5}, non-targets {0.8, 0.7, 0.1}; P = 2, N = 3.
    // ROC: (0,0) (0,.5)@.9 (1/3,.5)@.8 (2/3,.5)@.7 ...; FAR + TPR: 5/6 -> 7/6 on the last one,
    // t = .5, point (.5,.5): EER 50 %, threshold (.8 + .7) / 2 = .75.
    const r = equalErrorRate([0.9, 0.8, 0.7, 0.5, 0.1], [1, 0, 0, 1, 0]);
    expect(r.eer).toBeCloseTo(50, 12);
    expect(r.threshold).toBeCloseTo(0.75, 12);
  });

  it("crossing exactly on an ROC point", () => {
    // Targets {.9, .6, .4, .2}, non-targets {.7, .3}; P = 4, N = 2.
    // ROC: (0,0) (0,.25)@.9 (.5,.25)@.7 (.5,.5)@.6: FAR = FRR = .5 exactly -> 50 %, threshold .6.
    expect(equalErrorRate([0.9, 0.7, 0.6, 0.4, 0.3, 0.2], [1, 0, 1, 1, 0, 1])).toEqual({ eer: 50, threshold: 0.6 });
  });

  it("interpolates along a diagonal segment created by a tie (5 trials, worked by hand)", () => {
    // Targets {.9, .5, .5}, non-targets {.5, .1}; P = 3, N = 2. The .5 group (2 targets + 1
    // non-target) is accepted or rejected as a whole.
    // ROC (FAR, TPR): th 1.9 (0,0); .9 (0,1/3); .5 (1/2,1); .1 (1,1).
    // Segment (0,1/3) -> (1/2,1): FAR = t/2, TPR = 1/3 + 2t/3. FAR = FRR <=> t/2 = 2/3 - 2t/3
    // <=> 7t/6 = 2/3 <=> t = 4/7. EER = FAR = 2/7 = 28.5714...% (FRR = 1 - 5/7 = 2/7 too).
    // threshold = .9 + 4/7 * (.5 - .9) = 4.7 / 7 = .671428...
    const scores = [0.9, 0.5, 0.5, 0.5, 0.1];
    const labels: (0 | 1)[] = [1, 1, 0, 1, 0];
    const r = equalErrorRate(scores, labels);
    expect(r.eer).toBeCloseTo((100 * 2) / 7, 12);
    expect(r.threshold).toBeCloseTo(4.7 / 7, 12);
    // Tied scores move together, so the order of the trials does not matter.
    const r2 = equalErrorRate([0.5, 0.1, 0.5, 0.9, 0.5], [0, 0, 1, 1, 1]);
    expect(r2.eer).toBeCloseTo(r.eer, 12);
    expect(r2.threshold).toBeCloseTo(r.threshold, 12);
    // Breaking the tie either way changes the answer: non-target slightly above -> the crossing is
    // on the vertical segment FAR = 1/2 -> 50 %; slightly below -> separable -> 0 %.
    expect(equalErrorRate([0.9, 0.5, 0.5000001, 0.5, 0.1], labels).eer).toBeCloseTo(50, 12);
    expect(equalErrorRate([0.9, 0.5, 0.4999999, 0.5, 0.1], labels).eer).toBe(0);
  });

  it("rejects undefined inputs", () => {
    expect(() => equalErrorRate([0.1, 0.2], [1, 1])).toThrow(/no non-target trials/);
    expect(() => equalErrorRate([0.1, 0.2], [0, 0])).toThrow(/no target trials/);
    expect(() => equalErrorRate([0.1, Number.NaN], [1, 0])).toThrow(/score 1 is NaN/);
    expect(() => equalErrorRate([0.1], [1, 0])).toThrow(/1 scores but 2 labels/);
    expect(() => equalErrorRate([0.1, 0.2], [1, 2 as 0 | 1])).toThrow(/must be 0 or 1/);
  });
});

describe("minDcf", () => {
  // Targets {.9, .6}, non-targets {.7, .5, .3, .1}; P = 2, N = 4. ROC points (Pmiss, Pfa):
  // th 1.9 (1,0); .9 (.5,0); .7 (.5,.25); .6 (0,.25); .5 (0,.5); .3 (0,.75); .1 (0,1).
  const scores = [0.9, 0.7, 0.6, 0.5, 0.3, 0.1];
  const labels: (0 | 1)[] = [1, 0, 1, 0, 0, 0];

  it("defaults pTarget = .01, cMiss = cFa = 1", () => {
    // C = .01 Pmiss + .99 Pfa: .01, .005, .2525, .2475, .495, ...; min .005 at th .9.
    // C_default = min(.01, .99) = .01 -> minDCF = .5.
    const r = minDcf(scores, labels);
    expect(r.minDcf).toBeCloseTo(0.5, 12);
    expect(r.threshold).toBe(0.9);
  });

  it("pTarget = .5", () => {
    // C = .5 (Pmiss + Pfa): .5, .25, .375, .125, .25, .375, .5; min .125 at th .6; / .5 = .25.
    const r = minDcf(scores, labels, { pTarget: 0.5 });
    expect(r.minDcf).toBeCloseTo(0.25, 12);
    expect(r.threshold).toBe(0.6);
  });

  it("cMiss = 10", () => {
    // C = .1 Pmiss + .99 Pfa: .1, .05, .2975, .2475, ...; min .05 at .9; C_default = min(.1, .99).
    const r = minDcf(scores, labels, { cMiss: 10 });
    expect(r.minDcf).toBeCloseTo(0.5, 12);
    expect(r.threshold).toBe(0.9);
  });

  it("separable, inverted and all-equal scores", () => {
    // Separable: the point (Pmiss, Pfa) = (0, 0) exists, first reached at the lowest target .8.
    expect(minDcf([0.9, 0.8, 0.3, 0.2], [1, 1, 0, 0])).toEqual({ minDcf: 0, threshold: 0.8 });
    // Inverted: every accept adds false alarms before any hit; best is "reject all" (C = .01),
    // so minDCF = 1 with threshold max + 1 = 1.9.
    expect(minDcf([0.9, 0.8, 0.3, 0.2], [0, 0, 1, 1])).toEqual({ minDcf: 1, threshold: 1.9 });
    // All equal: points (1,0) C = .01 and (0,1) C = .99 -> 1, threshold 1.5.
    expect(minDcf([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])).toEqual({ minDcf: 1, threshold: 1.5 });
  });

  it("tied scores move together", () => {
    // Targets {.9, .5, .5}, non-targets {.5, .1}, pTarget .5: points (1,0) .5; (2/3,0) 1/3;
    // (0,1/2) .25; (0,1) .5 -> min .25 at .5, / .5 = .5. (Splitting the .5 tie with its targets
    // first would add the point (0,0) and give 0.)
    const r = minDcf([0.9, 0.5, 0.5, 0.5, 0.1], [1, 1, 0, 1, 0], { pTarget: 0.5 });
    expect(r.minDcf).toBeCloseTo(0.5, 12);
    expect(r.threshold).toBe(0.5);
  });

  it("rejects bad options and undefined inputs", () => {
    expect(() => minDcf(scores, labels, { pTarget: 0 })).toThrow(/pTarget/);
    expect(() => minDcf(scores, labels, { cFa: -1 })).toThrow(/costs/);
    expect(() => minDcf([1, 2], [1, 1])).toThrow(/no non-target trials/);
    expect(() => minDcf([Number.NaN, 2], [1, 0])).toThrow(/NaN/);
  });
});
