import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { jobIndexOf, planJobs } from "../src/plan.js";
import { readResults } from "../src/results.js";
import { superb } from "./helpers/cli.js";
import { expectUserError } from "./helpers/errors.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-fanout-"));

describe("fan-out: plan, run --job, merge", () => {
  it("numbers jobs upstream-major, then task in SUPERB order, then seed", async () => {
    const jobs = await planJobs(["fbank", "base"], "ks,sid", [0, 1]);
    expect(jobs.map((j) => `${j.index}:${j.upstream}/${j.task}/${j.seed}`)).toEqual([
      "0:fbank/ks/0", "1:fbank/ks/1", "2:fbank/sid/0", "3:fbank/sid/1", "4:base/ks/0", "5:base/ks/1", "6:base/sid/0", "7:base/sid/1",
    ]);
  });

  it("the shipped Kubernetes Indexed Job asks for exactly as many completions as its grid has jobs", async () => {
    const manifest = fs.readFileSync(path.resolve("deploy/k8s-indexed-job.yaml"), "utf8");
    const completions = Number(/completions: (\d+)/.exec(manifest)?.[1]);
    const grid = /--upstream (\S+) --task (\S+) --seeds (\S+) --job/.exec(manifest)!;
    expect((await planJobs(grid[1].split(","), grid[2], grid[3].split(",").map(Number))).length).toBe(completions);
  });

  it("takes the index from the flag, else SUPERB_JOB_INDEX, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX", async () => {
    expect(jobIndexOf("3", {})).toEqual({ index: 3, source: "--job" });
    expect(jobIndexOf(true, { SLURM_ARRAY_TASK_ID: "5" })).toEqual({ index: 5, source: "SLURM_ARRAY_TASK_ID" });
    expect(jobIndexOf(true, { JOB_COMPLETION_INDEX: "2", SUPERB_JOB_INDEX: "7" })).toEqual({ index: 7, source: "SUPERB_JOB_INDEX" });
    await expectUserError(() => jobIndexOf(true, {}), "--job: no index given");
    await expectUserError(() => jobIndexOf(true, { JOB_COMPLETION_INDEX: "-1" }), 'JOB_COMPLETION_INDEX: job index "-1" is not a non-negative integer');
  });

  it("a grid run as parallel processes and merged equals the same grid run in one process", async () => {
    const grid = ["--upstream", "fbank", "--task", "sid,ks", "--seeds", "0,1", "--steps", "200", "--profile", "quick", "--jobs", "1", "--no-progress"];
    const plan = await superb(["plan", ...grid.slice(0, 6), "--format", "json"]);
    expect((JSON.parse(plan.stdout) as { jobs: number }).jobs).toBe(4);
    // Each scheduler's way of passing the index, one per job.
    const envs: Record<string, string>[] = [{ SUPERB_JOB_INDEX: "0" }, { SLURM_ARRAY_TASK_ID: "1" }, { JOB_COMPLETION_INDEX: "2" }, {}];
    const dirs = envs.map((_, i) => path.join(tmp, `job-${i}`));
    const runs = await Promise.all(envs.map((env, i) => superb(["run", ...grid, "--results-dir", dirs[i], "--job", ...(i === 3 ? ["3"] : [])], env)));
    for (const r of runs) expect(r.stderr).not.toMatch(/internal error/);
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    const merged = path.join(tmp, "merged");
    const m = await superb(["merge", ...dirs, "--out", merged]);
    expect(m.code).toBe(0);
    expect(m.stderr).toMatch(/merged 4 results from 4 folders/);

    const sequential = path.join(tmp, "sequential");
    expect((await superb(["run", ...grid, "--results-dir", sequential])).code).toBe(0);
    const key = (r: { task: string; seed: number }) => `${r.task}/${r.seed}`;
    const summary = (dir: string) => readResults(dir).map((r) => [key(r), r.value, r.devValue, r.layerWeights, r.training.finalTrainLoss, r.testSet]).sort();
    expect(summary(merged)).toEqual(summary(sequential));
    expect(summary(merged).map((s) => s[0])).toEqual(["ks/0", "ks/1", "sid/0", "sid/1"]);
    for (const f of ["sid.items.jsonl", "ks.seed-1.items.jsonl"]) expect(fs.readFileSync(path.join(merged, "fbank", f), "utf8")).toBe(fs.readFileSync(path.join(sequential, "fbank", f), "utf8"));

    const outOfRange = await superb(["run", ...grid, "--results-dir", path.join(tmp, "x"), "--job", "4"]);
    expect(outOfRange.code).toBe(1);
    expect(outOfRange.stderr.trim()).toBe("superb: --job: job 4 does not exist: the grid has 4 jobs (0-3); see `superb plan`");
    const conflict = await superb(["merge", sequential, dirs[0], "--out", path.join(tmp, "conflict")]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^superb: .*job-0\/fbank\/(ks|sid)\..*: differs from .*sequential.*: the same result computed twice/);
  }, 600_000);
});
