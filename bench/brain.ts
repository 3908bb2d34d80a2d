/**
 * Brain-side benchmarks on the real Alice data (../shared/data/alice-fmri):
 *
 *   npm run bench:brain -- [--upstream base] [--hemodynamic fir|hrf]
 *
 * Times `superb brain-score` of every layer of an upstream (stimulus synthesis cached after the
 * first run, hidden states extracted fresh into a temporary cache), and prints the table.
 * Refinement is timed by `superb refine` itself (its model card records the wall time).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultCacheDir } from "../src/corpus/generate.js";
import { loadBrainDataset } from "../src/brain/dataset.js";
import { runBrainScore } from "../src/brain/pipeline.js";
import { formatBrainScoreTable } from "../src/brain/score.js";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const upstream = arg("upstream") ?? "base";
  const hemodynamic = (arg("hemodynamic") ?? "fir") as "fir" | "hrf";
  const t0 = performance.now();
  // The stimulus is synthesised once into the user's cache; the features go to a fresh folder so
  // the timing includes extraction.
  const ds = await loadBrainDataset("alice", { cacheDir: defaultCacheDir(), progress: false });
  const tLoad = (performance.now() - t0) / 1000;
  const featureCache = fs.mkdtempSync(path.join(os.tmpdir(), "superb-bench-brain-"));
  try {
    const t1 = performance.now();
    const report = await runBrainScore({ upstream, brain: ds, cacheDir: featureCache, hemodynamic, progress: false });
    const total = (performance.now() - t1) / 1000;
    process.stdout.write(`${formatBrainScoreTable(report)}\n`);
    const t = report.timings;
    process.stdout.write(
      `brain score of ${report.layers} layers of ${upstream} on ${ds.name} (${report.dataset.subjects} subjects x ${report.rows} TRs x ${ds.targetNames.length} ROIs, ${hemodynamic}): ` +
        `${total.toFixed(1)} s (hidden states ${t.extractSeconds.toFixed(1)} s, scoring ${t.scoreSeconds.toFixed(1)} s); data set load ${tLoad.toFixed(1)} s; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB\n`,
    );
  } finally {
    fs.rmSync(featureCache, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:brain: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
