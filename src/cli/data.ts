/** `--data KIND=DIR`, `--lexicon`, the feature-cache flags, and `superb data check`. */
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import Table from "cli-table3";
import { ProblemList, formatProblem, splitCounts, SPLITS, TaskUnavailable } from "../dataset.js";
import { UserError } from "../errors.js";
import { parseByteSize, type CacheDtype } from "../feature-cache.js";
import { listDatasets, listTasks } from "../registry.js";
import { parseDataSpecs } from "../run-data.js";

/** Collects repeated `--data` values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function cacheDtype(value: string): CacheDtype {
  if (value !== "float32" && value !== "float16") throw new InvalidArgumentError("expected float32 or float16");
  return value;
}

export function byteSize(value: string): number {
  try {
    return parseByteSize(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** The dataset flags of `run` (and the commands that read tasks' data). */
export function addDataOptions(cmd: Command): Command {
  return cmd
    .option("-d, --data <KIND=DIR>", "a dataset in its distributed layout (repeatable); kinds: see `superb data kinds`; tasks without one use the embedded corpus", collect, [])
    .option("--lexicon <file>", "PR on librispeech: a lexicon in s3prl's g2p format (WORD<TAB>PH PH ...)")
    .option("--subset <SPLIT=NAME>", "librispeech: the subset folder of a split (repeatable; default train=train-clean-100, dev=dev-clean, test=test-clean)", collect, []);
}

/** `--subset train=train-clean-360` values as a split -> folder map. */
export function parseSubsets(values: readonly string[]): Partial<Record<"train" | "dev" | "test", string>> {
  const out: Partial<Record<"train" | "dev" | "test", string>> = {};
  for (const v of values) {
    const m = /^(train|dev|test)=(.+)$/.exec(v);
    if (!m) throw new UserError(`--subset ${v}: expected SPLIT=NAME with SPLIT train, dev or test`);
    out[m[1] as "train" | "dev" | "test"] = m[2];
  }
  return out;
}

export function addCacheOptions(cmd: Command): Command {
  return cmd
    .option("--cache-dtype <type>", "feature cache element type: float32 or float16 (half the size)", cacheDtype, "float32")
    .option("--cache-budget <size>", "most features a run may extract, e.g. 200GB (stops before extracting if over)", byteSize)
    .option("--no-cache", "run the upstream on every batch instead of caching features (as s3prl does)");
}

export function registerDataCommands(program: Command): void {
  const data = program.command("data").description("datasets in their own layouts: check one, or list the kinds");
  data
    .command("kinds")
    .description("dataset kinds and the tasks each serves")
    .action(async () => {
      const table = new Table({ head: ["kind", "tasks", "description"], style: { head: [], border: [] } });
      for (const d of await listDatasets()) table.push([d.kind, d.tasks.join(", "), d.description]);
      process.stdout.write(`${table.toString()}\n`);
    });
  data
    .command("check")
    .description("validate datasets without training: counts per split and task, and every problem found")
    .argument("<KIND=DIR...>", "datasets, e.g. librispeech=/data/LibriSpeech (speech_commands_test=DIR adds the KS test set)")
    .option("--lexicon <file>", "lexicon for PR on librispeech")
    .action(async (specs: string[], opts: { lexicon?: string }) => {
      const parsed = await parseDataSpecs(specs);
      const defs = await listDatasets();
      const tasks = await listTasks();
      let failed = false;
      for (const [kind, spec] of parsed) {
        const def = defs.find((d) => d.kind === kind)!;
        const problems = new ProblemList();
        const dataset = await def.open(spec.root, { lexicon: opts.lexicon, subsets: spec.subsets }, problems);
        process.stdout.write(`${kind} ${dataset.root}: ${dataset.items.length} items, fingerprint ${dataset.fingerprint.hash}\n`);
        const table = new Table({ head: ["task", "split", "utterances", "hours", "speakers", "classes"], style: { head: [], border: [] } });
        const unavailable: string[] = [];
        for (const taskName of dataset.tasks) {
          if (!tasks.some((t) => t.name === taskName)) continue;
          try {
            const td = dataset.taskData(taskName);
            const counts = splitCounts(td);
            const classes = td.classes?.length ?? td.phoneSet?.length ?? td.charSet?.length ?? (td.intentSlots ? Object.values(td.intentSlots).map((v) => v.length).join("/") : "");
            for (const s of SPLITS) table.push([taskName, s, counts[s].utterances, counts[s].hours.toFixed(2), counts[s].speakers, s === "train" ? String(classes) : ""]);
            if (td.trials) table.push([taskName, "trials", td.trials.test.length, "", "", ""]);
          } catch (err) {
            if (!(err instanceof UserError)) throw err;
            // A layout may serve only some of its kind's tasks (VoxCeleb1 without a trial list: SID
            // only; LibriSpeech without --lexicon: ASR only); anything else is a problem of the data.
            if (err instanceof TaskUnavailable) unavailable.push(`task ${taskName} unavailable: ${err.message}`);
            else problems.add(dataset.root, `task ${taskName}: ${err.message}`);
          }
        }
        process.stdout.write(`${table.toString()}\n`);
        for (const u of unavailable) process.stdout.write(`${u}\n`);
        if (unavailable.length > 0 && unavailable.length === dataset.tasks.length) problems.add(dataset.root, "no task can run on this dataset (see above)");
        if (problems.length > 0) {
          failed = true;
          process.stdout.write(`${problems.length} problem${problems.length === 1 ? "" : "s"}:\n`);
          for (const p of problems.problems) process.stdout.write(`  ${formatProblem(p)}\n`);
        } else process.stdout.write("no problems found\n");
      }
      if (failed) throw new UserError("data check", "found problems (listed above)");
    });
}
