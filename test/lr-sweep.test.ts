import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { superb } from "./helpers/cli.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-lr-"));
type Result = { value: number; devValue: number; layerWeights: number[]; training: { learningRate: number; lrSweep?: { learningRate: number; devValue: number }[] } };
const read = (dir: string): Result => JSON.parse(fs.readFileSync(path.join(dir, "fbank", "sid.json"), "utf8")) as Result;

describe("learning-rate sweep", () => {
  it("trains every rate on the same features, keeps the best on dev, and equals a plain run at that rate", async () => {
    const args = ["run", "--upstream", "fbank", "--task", "sid", "--profile", "quick", "--steps", "150", "--no-progress"];
    const grid = [1e-3, 1e-2, 1e-1];
    const sweep = path.join(tmp, "sweep");
    const r = await superb([...args, "--lr", grid.join(","), "--results-dir", sweep]);
    expect(r.code).toBe(0);
    const swept = read(sweep);
    expect(swept.training.lrSweep!.map((x) => x.learningRate)).toEqual(grid);
    const devs = swept.training.lrSweep!.map((x) => x.devValue);
    // The first rate with the highest dev accuracy (ties go to the smaller rate).
    const chosen = grid[devs.indexOf(Math.max(...devs))];
    expect(swept.training.learningRate).toBe(chosen);
    expect(swept.devValue).toBe(Math.max(...devs));
    expect(fs.readdirSync(path.join(sweep, "fbank")).sort()).toEqual(["sid.items.jsonl", "sid.json"]);

    const plain = path.join(tmp, "plain");
    expect((await superb([...args, "--lr", String(chosen), "--results-dir", plain])).code).toBe(0);
    const single = read(plain);
    expect([single.value, single.devValue, single.layerWeights]).toEqual([swept.value, swept.devValue, swept.layerWeights]);
    expect(single.training.lrSweep).toBeUndefined();
  }, 300_000);
});
