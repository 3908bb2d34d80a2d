import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { presetConfig } from "../src/wav2vec2/config.js";
import { saveHfFolder } from "../src/wav2vec2/hf-io.js";
import { initParams } from "../src/wav2vec2/params.js";
import { CLI, TEST_CACHE } from "./helpers/cli.js";

const SCRIPT = path.resolve("scripts/pr-compare.sh");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-pr-gate-"));
const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });

/** A fake GitHub REST API holding one pull request's comments. */
function fakeGitHub(): Promise<{ url: string; comments: { id: number; body: string }[]; calls: string[]; close: () => void }> {
  const comments: { id: number; body: string }[] = [];
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString()));
    req.on("end", () => {
      calls.push(`${req.method} ${req.url?.split("?")[0]}`);
      const reply = (v: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(v));
      if (req.method === "GET") return reply(comments);
      const body = (JSON.parse(data) as { body: string }).body;
      if (req.method === "POST") {
        comments.push({ id: 100 + comments.length, body });
        return reply(comments[comments.length - 1]);
      }
      const id = Number(req.url?.split("/").pop());
      const c = comments.find((x) => x.id === id)!;
      c.body = body;
      reply(c);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, comments, calls, close: () => server.close() })));
}

function runGate(cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", [SCRIPT], { cwd, env: { ...process.env, SUPERB: `${process.execPath} ${CLI}`, SUPERB_CACHE_DIR: TEST_CACHE, BASE_REF: "main", TASKS: "sid", SUPERB_ARGS: "--profile quick --steps 200 --jobs 1", OUT: path.join(tmp, "out"), ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("pull-request gate (scripts/pr-compare.sh, as the workflow runs it)", () => {
  const repo = path.join(tmp, "repo");
  const config = presetConfig("tiny");
  fs.mkdirSync(repo);
  git(repo, "init", "-q", "-b", "main");
  saveHfFolder(path.join(repo, "upstreams", "tiny"), config, initParams(config, 1));
  git(repo, "add", ".");
  git(repo, "commit", "-qm", "base");
  git(repo, "checkout", "-qb", "pr");
  let github: Awaited<ReturnType<typeof fakeGitHub>> | undefined;
  afterAll(() => github?.close());

  it("a PR that leaves the weights alone passes, and its comment is posted once and then updated in place", async () => {
    fs.writeFileSync(path.join(repo, "upstreams", "tiny", "MODEL_CARD.md"), "a wording change only\n");
    git(repo, "add", ".");
    git(repo, "commit", "-qm", "docs");
    github = await fakeGitHub();
    const env = { GITHUB_TOKEN: "t", PR_NUMBER: "7", GITHUB_REPOSITORY: "o/r", GITHUB_API_URL: github.url };
    const first = await runGate(repo, env);
    expect(first.stderr).not.toMatch(/internal error/);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/posted comment 100/);
    const second = await runGate(repo, env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/updated comment 100/);
    expect(github.comments).toHaveLength(1);
    expect(github.calls.filter((c) => c.startsWith("POST"))).toHaveLength(1);
    expect(github.calls).toContain("PATCH /repos/o/r/issues/comments/100");
    const body = github.comments[0].body;
    expect(body.split("\n")[0]).toBe("<!-- superb-compare -->");
    expect(body).toMatch(/### `tiny`: this pull request vs the merge base [0-9a-f]{10}/);
    expect(body).toMatch(/\| SID \| ACCURACY ↑ \| ([\d.]+) \| \1 \| 0\.00 \| \[0\.00, 0\.00\] \| 1\.0000 \(mcnemar-exact\) \| inconclusive \|/);
  }, 300_000);

  it("exits 1 exactly when the comment reports a significant regression (new weights)", async () => {
    saveHfFolder(path.join(repo, "upstreams", "tiny"), config, initParams(config, 2));
    git(repo, "add", ".");
    git(repo, "commit", "-qm", "new weights");
    const r = await runGate(repo, {});
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stdout).toMatch(/comment written to .*comment\.md/);
    const comment = fs.readFileSync(path.join(tmp, "out", "comment.md"), "utf8");
    expect(comment).toMatch(/\| SID \| ACCURACY ↑ \|/);
    expect(r.code).toBe(/\| worse \|/.test(comment) ? 1 : 0);
  }, 300_000);
});
