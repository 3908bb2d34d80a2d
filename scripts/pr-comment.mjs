// Posts a pull-request comment, or updates the one carrying the same hidden marker (its first
// line), so a bot leaves one comment per PR however often it runs. Uses the GitHub REST API:
// GITHUB_API_URL (default https://api.github.com), GITHUB_REPOSITORY (owner/name), PR_NUMBER,
// GITHUB_TOKEN. Usage: node scripts/pr-comment.mjs comment.md
import { readFileSync } from "node:fs";

const [file] = process.argv.slice(2);
const body = readFileSync(file, "utf8");
const marker = body.split("\n")[0];
const api = process.env.GITHUB_API_URL ?? "https://api.github.com";
const { GITHUB_REPOSITORY: repo, PR_NUMBER: pr, GITHUB_TOKEN: token } = process.env;
if (!repo || !pr || !token) throw new Error("pr-comment: set GITHUB_REPOSITORY, PR_NUMBER and GITHUB_TOKEN");
const headers = { authorization: `Bearer ${token}`, accept: "application/vnd.github+json", "content-type": "application/json" };

async function call(method, url, payload) {
  const res = await fetch(url, { method, headers, body: payload === undefined ? undefined : JSON.stringify(payload) });
  if (!res.ok) throw new Error(`pr-comment: ${method} ${url}: HTTP ${res.status}`);
  return res.json();
}

// Comments come 100 a page; the marker may sit on any page.
let existing;
for (let page = 1; existing === undefined; page++) {
  const comments = await call("GET", `${api}/repos/${repo}/issues/${pr}/comments?per_page=100&page=${page}`);
  existing = comments.find((c) => typeof c.body === "string" && c.body.split("\n")[0] === marker);
  if (comments.length < 100) break;
}
if (existing) {
  await call("PATCH", `${api}/repos/${repo}/issues/comments/${existing.id}`, { body });
  console.log(`updated comment ${existing.id}`);
} else {
  const created = await call("POST", `${api}/repos/${repo}/issues/${pr}/comments`, { body });
  console.log(`posted comment ${created.id}`);
}
