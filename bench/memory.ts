/**
 * npm run bench:memory [-- --speakers 40 --files 20 --factor 4 --steps 50 --upstream base]
 *
 * "Memory stays flat as data grows": SID on a generated VoxCeleb1-layout set at 1x and 4x size,
 * each `superb run` in its own child process with a fresh cache (so extraction is measured too),
 * reporting the child's peak RSS. The 4x set has 4x the files per speaker (the same speakers):
 * the Speech Commands folder has too few speakers for 4x of them, and keeping the speaker set
 * keeps the model the same size, so any growth is the data's. Target: 4x / 1x within 1.2.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { buildVoxCeleb1Layout } from "../test/fixtures/layouts.js";
import { SPEECH_COMMANDS_DIR } from "./layouts.js";

const { values } = parseArgs({
  options: {
    speakers: { type: "string", default: "40" },
    files: { type: "string", default: "20" },
    factor: { type: "string", default: "4" },
    steps: { type: "string", default: "50" },
    upstream: { type: "string", default: "base" },
    out: { type: "string", default: path.join(os.tmpdir(), "superb-bench-memory") },
    // Measure with the /proc fallback even where GNU time exists.
    proc: { type: "boolean", default: false },
  },
});
const speakers = Number(values.speakers);
const files = Number(values.files);
const factor = Number(values.factor);
const out = path.resolve(values.out!);
const cli = path.resolve("dist/src/cli.js");
const TIME = "/usr/bin/time";

/**
 * Runs `node args` and returns its peak RSS in bytes: GNU time's "Maximum resident set size"
 * (from wait4, exact) when /usr/bin/time exists, else the child's VmHWM polled from /proc.
 */
function peakRss(args: string[], log: string): Promise<{ bytes: number; seconds: number; via: string }> {
  const useTime = !values.proc && fs.existsSync(TIME);
  const t0 = performance.now();
  const child = useTime ? spawn(TIME, ["-v", process.execPath, ...args], { stdio: ["ignore", "pipe", "pipe"] }) : spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const logStream = fs.createWriteStream(log);
  let stderr = "";
  child.stdout.pipe(logStream, { end: false });
  child.stderr.on("data", (b: Buffer) => {
    stderr += b.toString();
    logStream.write(b);
  });
  // VmHWM only rises, so the last sample before exit is the peak (minus at most one interval).
  let hwm = 0;
  const poll = useTime ? undefined : setInterval(() => {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"));
    if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
  }, 50);
  return new Promise((resolve, reject) => {
    child.on("close", (code) => {
      clearInterval(poll);
      logStream.end();
      if (code !== 0) return reject(new Error(`child exited ${code}; see ${log}`));
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      resolve({ bytes: m ? Number(m[1]) * 1024 : hwm, seconds: (performance.now() - t0) / 1000, via: m ? "GNU time (wait4 ru_maxrss)" : "/proc VmHWM, polled" });
    });
    child.on("error", reject);
  });
}

const rows: { label: string; files: number; mb: number; seconds: number; via: string }[] = [];
for (const [label, scale] of [["1x", 1], [`${factor}x`, factor]] as const) {
  const dir = path.join(out, label);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  // videos x utterances = files per speaker; repeated clips are fine for measuring memory.
  const layout = buildVoxCeleb1Layout(dir, SPEECH_COMMANDS_DIR, { speakers, videosPerSpeaker: 4, utterancesPerVideo: (files * scale) / 4, testSpeakers: 0, layout: "root", repeatClips: true });
  const args = [cli, "run", "--upstream", values.upstream!, "--task", "sid", "--data", `voxceleb1=${layout.root}`, "--steps", values.steps!, "--cache-dir", path.join(dir, "cache"), "--results-dir", path.join(dir, "results"), "--no-progress"];
  console.log(`${label}: ${speakers} speakers x ${files * scale} files = ${layout.files.length} files\n  node ${args.join(" ")}`);
  const r = await peakRss(args, path.join(dir, "run.log"));
  rows.push({ label, files: layout.files.length, mb: r.bytes / 2 ** 20, seconds: r.seconds, via: r.via });
  console.log(`  peak RSS ${(r.bytes / 2 ** 20).toFixed(0)} MiB, wall ${r.seconds.toFixed(1)} s (log: ${path.join(dir, "run.log")})`);
}
const ratio = rows[1].mb / rows[0].mb;
console.log(`\n| size | files | peak RSS MiB | wall s |\n|---|---:|---:|---:|`);
for (const r of rows) console.log(`| ${r.label} | ${r.files} | ${r.mb.toFixed(0)} | ${r.seconds.toFixed(1)} |`);
console.log(`\nratio ${rows[1].label}/${rows[0].label}: ${ratio.toFixed(2)} (target <= 1.2: ${ratio <= 1.2 ? "met" : "NOT met"}); peak RSS via ${rows[0].via}; SID --steps ${values.steps}, upstream ${values.upstream}`);
