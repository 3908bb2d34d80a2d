/**
 * npm run pretrain-data [-- --out DIR]
 *
 * The real-speech half of the shipped upstreams' pre-training data: a folder of symlinks to every
 * recording under ../shared/data that no bench:real test split uses (benchmarkTestSources), in
 * three sub-folders. Pass it to `superb pretrain --data DIR --data embedded:full`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { listAudioFiles } from "../src/pretrain-data.js";
import { benchmarkTestSources, FSDD_DIR, SHARED_DATA, SPEECH_COMMANDS_DIR } from "./layouts.js";

const { values } = parseArgs({ options: { out: { type: "string", default: path.join(os.tmpdir(), "superb-pretrain-real") } } });
const out = path.resolve(values.out!);
const LIBRISPEECH_DIR = path.join(SHARED_DATA, "librispeech-train-clean-100-samples");

for (const dir of [SPEECH_COMMANDS_DIR, FSDD_DIR, LIBRISPEECH_DIR]) {
  if (!fs.existsSync(dir)) {
    console.error(`pretrain-data: ${dir} not found (set SUPERB_SHARED_DATA to the folder holding the real recordings)`);
    process.exit(1);
  }
}
const held = benchmarkTestSources(SPEECH_COMMANDS_DIR, FSDD_DIR);
fs.rmSync(out, { recursive: true, force: true });
const counts: Record<string, { kept: number; held: number; seconds: number }> = {};
for (const [name, dir] of [["speech-commands", SPEECH_COMMANDS_DIR], ["fsdd", FSDD_DIR], ["librispeech", LIBRISPEECH_DIR]] as const) {
  const c = (counts[name] = { kept: 0, held: 0, seconds: 0 });
  for (const file of listAudioFiles(dir)) {
    if (held.has(file)) {
      c.held++;
      continue;
    }
    const link = path.join(out, name, path.relative(dir, file));
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(file, link);
    c.kept++;
  }
}
for (const [name, c] of Object.entries(counts)) console.log(`${name}: ${c.kept} files linked, ${c.held} held out (used by a bench:real test split)`);
console.log(out);
