import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { loadAudio16k } from "./audio.js";
import { initTensorBackend } from "./backend.js";
import { defaultCacheDir, ensureCorpus } from "./corpus/generate.js";
import type { Split } from "./corpus/types.js";
import { UserError } from "./errors.js";
import { ensureSplitFeatures } from "./feature-cache.js";
import { gitCommit, packageVersion } from "./package-info.js";
import { startProgress } from "./progress.js";
import { createUpstream, resolveTasks } from "./registry.js";
import { ensureWritableDir, resultPath, upstreamFolderName, writeResult, type TaskResult } from "./results.js";
import type { TaskJob, TaskWorkerMessage } from "./task-worker.js";
import type { TrainingOptions } from "./task.js";
import { trainAndEvaluate, type TrainResult } from "./train.js";

export interface RunOptions {
  /** Upstream spec: a registry name ("fbank") or prefix form ("hf:<dir>"). */
  upstream: string;
  /** "all" or comma-separated task names. */
  tasks: string;
  profile?: string;
  /** Training seed (head initialisation and batch order). */
  seed?: number;
  /** Corpus seed: the same corpus seed gives the identical corpus. */
  corpusSeed?: number;
  resultsDir?: string;
  cacheDir?: string;
  /** Overrides of the task defaults. */
  learningRate?: number;
  steps?: number;
  batchSize?: number;
  progress?: boolean;
  /** Tasks trained at once, each in a worker thread (default: one per core, at most 2). */
  jobs?: number;
  /** One-line status messages (phase changes, notices). */
  log?: (message: string) => void;
}

export const DEFAULT_PROFILE = "quick";
export const DEFAULT_SEED = 0;
export const DEFAULT_CORPUS_SEED = 1234;

/**
 * Runs tasks on one upstream: corpus (synthesised on first use), features (extracted once per
 * upstream/corpus/split), then each task's training, model selection and test. Each result is
 * written to <resultsDir>/<upstream>/<task>.json as soon as that task ends.
 */
export async function runBenchmark(options: RunOptions): Promise<TaskResult[]> {
  const log = options.log ?? (() => {});
  const resultsDir = path.resolve(options.resultsDir ?? "results");
  const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir());
  const profile = options.profile ?? DEFAULT_PROFILE;
  const seed = options.seed ?? DEFAULT_SEED;
  const corpusSeed = options.corpusSeed ?? DEFAULT_CORPUS_SEED;

  // Everything that can be checked cheaply is checked before any long work starts.
  const tasks = await resolveTasks(options.tasks);
  ensureWritableDir(path.join(resultsDir, upstreamFolderName(options.upstream)));
  const backend = await initTensorBackend();
  const upstream = await createUpstream(options.upstream);
  try {
    const corpus = await ensureCorpus({ profile, seed: corpusSeed, cacheDir, progress: options.progress });
    log(`corpus ${corpus.manifest.name}: ${corpus.manifest.utterances.length} utterances, ${(corpus.manifest.totalDurationSec / 60).toFixed(1)} min, ${corpus.manifest.speakers.length} speakers (${corpus.dir})`);

    const notices = new Set<string>();
    const loadAudio = (file: string) => loadAudio16k(file, { onNotice: (m) => notices.add(m) });
    const { stores, extracted } = await ensureSplitFeatures({ upstream, corpus, cacheDir, loadAudio, progress: options.progress });
    let extractSeconds = 0;
    for (const [split, seconds] of Object.entries(extracted)) {
      extractSeconds += seconds;
      log(`extracted ${upstream.name} features of ${split} in ${seconds.toFixed(1)} s`);
    }
    for (const n of notices) log(n);

    // One job per task; with --jobs > 1 they train in worker threads, else here, one by one.
    const jobs: TaskJob[] = tasks.map((task) => {
      const defaults = profile === "quick" ? task.defaults.quick : task.defaults.full;
      const training: TrainingOptions = {
        learningRate: options.learningRate ?? defaults.learningRate,
        steps: options.steps ?? defaults.steps,
        batchSize: options.batchSize ?? defaults.batchSize,
        evalEvery: Math.min(defaults.evalEvery, options.steps ?? defaults.steps),
      };
      const finalPath = resultPath(resultsDir, options.upstream, task.name);
      return {
        task: task.name,
        corpusDir: corpus.dir,
        features: Object.fromEntries((["train", "dev", "test"] as const).map((split) => [split, { index: stores[split].indexPath, bin: stores[split].binPath }])) as TaskJob["features"],
        inputDim: upstream.hiddenSize,
        frameRate: upstream.frameRate,
        seed,
        options: training,
        checkpointPath: path.join(path.dirname(finalPath), `.${task.name}.checkpoint.safetensors`),
        // Steps are not part of the key: a rerun with more steps continues from the checkpoint.
        checkpointKey: JSON.stringify({ upstream: upstream.identity, corpus: corpus.hash, task: task.name, seed, learningRate: training.learningRate, batchSize: training.batchSize, evalEvery: training.evalEvery }),
      };
    });

    const results: TaskResult[] = [];
    const finish = (job: TaskJob, trained: TrainResult) => {
      const task = tasks.find((t) => t.name === job.task)!;
      const result: TaskResult = {
        upstream: options.upstream,
        upstreamIdentity: upstream.identity,
        task: task.name,
        metric: task.metric.name,
        value: trained.test.value,
        higherIsBetter: task.metric.higherIsBetter,
        secondary: trained.test.secondary,
        devValue: trained.dev.value,
        layerWeights: trained.layerWeights,
        corpus: { name: corpus.manifest.name, profile: corpus.manifest.profile, hash: corpus.hash, seed: corpus.manifest.seed },
        seed,
        training: { ...job.options, bestStep: trained.bestStep, finalTrainLoss: trained.finalTrainLoss, resumedFromStep: trained.resumedFromStep },
        // Extraction is shared by all tasks of a run; it is reported on each.
        seconds: { extract: extractSeconds, train: trained.seconds.train, evaluate: trained.seconds.evaluate },
        backend: backend.name,
        version: packageVersion(),
        gitCommit: gitCommit(),
        createdAt: new Date().toISOString(),
      };
      writeResult(resultsDir, result);
      fs.rmSync(job.checkpointPath, { force: true });
      results.push(result);
      log(`${task.name}: ${task.metric.name} ${result.value.toFixed(2)} (dev ${result.devValue.toFixed(2)}, best step ${trained.bestStep})`);
    };

    // Longest first, so the pool's lanes finish together.
    const cost = (j: TaskJob) => j.options.steps * (tasks.find((t) => t.name === j.task)!.costPerStep ?? 1);
    jobs.sort((a, b) => cost(b) - cost(a));
    const workerUrl = new URL("./task-worker.js", import.meta.url);
    const parallel = Math.min(options.jobs ?? defaultJobs(), jobs.length);
    for (const job of jobs) log(`training ${job.task} on ${options.upstream}: ${job.options.steps} steps, lr ${job.options.learningRate}, batch ${job.options.batchSize}`);
    if (parallel > 1 && fs.existsSync(fileURLToPath(workerUrl))) {
      await runInWorkers(jobs, parallel, workerUrl, finish, options.progress);
    } else {
      for (const job of jobs) {
        const task = tasks.find((t) => t.name === job.task)!;
        const trained = await trainAndEvaluate({
          task,
          context: { corpus, inputDim: job.inputDim, frameRate: job.frameRate, seed },
          splits: task.splits(corpus),
          stores,
          options: job.options,
          seed,
          checkpointPath: job.checkpointPath,
          checkpointKey: job.checkpointKey,
          progress: options.progress,
        });
        finish(job, trained);
      }
    }
    for (const s of Object.values(stores)) s.close();
    // In SUPERB order, whatever order the workers finished in.
    return tasks.map((t) => results.find((r) => r.task === t.name)!);
  } finally {
    await upstream.dispose();
  }
}

export function defaultJobs(): number {
  return Math.max(1, Math.min(2, os.availableParallelism()));
}

/** A pool of worker threads, one task each; a combined progress bar over all steps. */
async function runInWorkers(jobs: TaskJob[], parallel: number, workerUrl: URL, finish: (job: TaskJob, r: TrainResult) => void, progress?: boolean): Promise<void> {
  const bar = startProgress({ label: `training ${jobs.map((j) => j.task).join(",")}`, total: jobs.reduce((s, j) => s + j.options.steps, 0), unit: "steps", enabled: progress });
  const queue = [...jobs];
  const failures: { task: string; message: string; userError: boolean }[] = [];
  const runOne = (job: TaskJob) =>
    new Promise<void>((resolve) => {
      const worker = new Worker(workerUrl, { workerData: job });
      let settled = false;
      const settle = () => {
        if (!settled) {
          settled = true;
          void worker.terminate();
          resolve();
        }
      };
      worker.on("message", (msg: TaskWorkerMessage) => {
        if (msg.type === "step") bar.increment(1);
        else if (msg.type === "done") {
          finish(job, msg.result);
          settle();
        } else {
          failures.push(msg);
          settle();
        }
      });
      worker.on("error", (err) => {
        failures.push({ task: job.task, message: err.message, userError: false });
        settle();
      });
      worker.on("exit", (code) => {
        if (!settled) failures.push({ task: job.task, message: `worker exited with code ${code}`, userError: false });
        settle();
      });
    });
  const lanes = Array.from({ length: parallel }, async () => {
    while (queue.length > 0 && failures.length === 0) await runOne(queue.shift()!);
  });
  try {
    await Promise.all(lanes);
  } finally {
    bar.stop();
  }
  if (failures.length > 0) {
    const f = failures[0];
    if (f.userError) throw new UserError(f.message);
    throw new Error(`task ${f.task}: ${f.message}`);
  }
}
