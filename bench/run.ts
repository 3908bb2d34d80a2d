/**
 * npm run bench:run [-- --upstream fbank --profile full --results-dir results]
 * Times `superb run --task all` with the corpus cached: once cold (features not cached), once warm.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { defaultCacheDir, ensureCorpus } from "../src/corpus/generate.js";
import { buildLeaderboard, formatLeaderboard } from "../src/leaderboard.js";
import { createUpstream } from "../src/registry.js";
import { readResults } from "../src/results.js";
import { DEFAULT_CORPUS_SEED, runBenchmark } from "../src/run.js";

const { values } = parseArgs({
  options: {
    upstream: { type: "string", default: "fbank" },
    profile: { type: "string", default: "full" },
    "results-dir": { type: "string", default: "results" },
    "cache-dir": { type: "string", default: defaultCacheDir() },
  },
});
const upstreamName = values.upstream!;
const profile = values.profile!;
const resultsDir = values["results-dir"]!;
const cacheDir = values["cache-dir"]!;

const t0 = performance.now();
const corpus = await ensureCorpus({ profile, seed: DEFAULT_CORPUS_SEED, cacheDir });
console.log(`corpus ${corpus.manifest.name} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (${(corpus.manifest.totalDurationSec / 60).toFixed(1)} min of audio)`);

// Cold: remove this upstream's cached features of this corpus.
const upstream = await createUpstream(upstreamName);
fs.rmSync(path.join(cacheDir, "features", upstream.identity.replace(/[^A-Za-z0-9_.-]/g, "_"), `embedded-${corpus.manifest.name}-${corpus.hash}`), { recursive: true, force: true });
await upstream.dispose();

const rows: string[] = [];
for (const label of ["cold", "warm"]) {
  const start = performance.now();
  const results = await runBenchmark({ upstream: upstreamName, tasks: "all", profile, resultsDir, cacheDir, log: (m) => console.log(`  ${m}`) });
  const wall = (performance.now() - start) / 1000;
  const extract = results[0]?.seconds.extract ?? 0;
  const perTask = results.map((r) => `${r.task} ${r.seconds.train.toFixed(0)}+${r.seconds.evaluate.toFixed(0)}`).join(", ");
  rows.push(`| ${label} | ${wall.toFixed(0)} | ${extract.toFixed(0)} | ${results.reduce((s, r) => s + r.seconds.train, 0).toFixed(0)} | ${results.reduce((s, r) => s + r.seconds.evaluate, 0).toFixed(0)} | ${perTask} |`);
}
console.log(`\n| run | wall s | extract s | train s | evaluate s | per task (train+eval s) |\n|---|---:|---:|---:|---:|---|\n${rows.join("\n")}`);
console.log(`\n${formatLeaderboard(buildLeaderboard(readResults(resultsDir).filter((r) => r.dataset.profile === profile)), "markdown")}`);
console.log(`\nresults in ${path.resolve(resultsDir)}`);
