import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { initTensorBackend } from "./backend.js";
import { defaultCacheDir } from "./corpus/generate.js";
import { splitCounts, SPLITS, type Split } from "./dataset.js";
import type { CacheDtype, FeatureSource, FeatureStore } from "./feature-cache.js";
import { UserError } from "./errors.js";
import { gitCommit, packageVersion } from "./package-info.js";
import { startProgress } from "./progress.js";
import { createUpstream, resolveTasks } from "./registry.js";
import { checkWritableFolder } from "./fs-atomic.js";
import { DEFAULT_TRAINING_SEED, resultPath, saveResult, testSetHash, upstreamFolderName, type SavedResult, type TaskResult } from "./results.js";
import { checkCachePlan, planTaskData, prepareFeatures, type TaskDataPlan } from "./run-data.js";
import type { TaskJob, TaskWorkerMessage } from "./task-worker.js";
import { isBetter, type MetricSpec, type TrainingOptions } from "./task.js";
import { trainAndEvaluate, type TrainResult } from "./train.js";
import type { Upstream } from "./upstream.js";

export interface RunOptions {
  /** Upstream spec: a registry name ("fbank") or prefix form ("hf:<dir>"), or several (one shared pool of training lanes). */
  upstream: string | readonly string[];
  /** "all" or comma-separated task names. */
  tasks: string;
  /** `--data KIND=DIR` specs; a task without one reads the embedded corpus. */
  data?: readonly string[];
  /** `--lexicon FILE` (PR on LibriSpeech). */
  lexicon?: string;
  /** `--subset SPLIT=NAME` (LibriSpeech subset folders). */
  librispeechSubsets?: Partial<Record<Split, string>>;
  /** Embedded corpus profile. */
  profile?: string;
  /** Training seed (head initialisation and batch order). */
  seed?: number;
  /** Several training seeds: each task is trained once per seed on the same features (overrides `seed`). */
  seeds?: number[];
  /** Corpus seed: the same corpus seed gives the identical embedded corpus. */
  corpusSeed?: number;
  resultsDir?: string;
  cacheDir?: string;
  /** Feature cache element type (float16 halves the cache). */
  cacheDtype?: CacheDtype;
  /** Most bytes of features a run may extract. */
  cacheBudgetBytes?: number;
  /** Run the upstream per batch instead of caching features. */
  noCache?: boolean;
  /** Overrides of the task defaults. */
  learningRate?: number;
  /** A learning-rate grid: each rate is trained on the cached features and the best on dev is kept (overrides `learningRate`). */
  learningRates?: number[];
  /** Sweep a log grid around each task's default rate (LR_SWEEP_FACTORS). */
  lrSweep?: boolean;
  steps?: number;
  batchSize?: number;
  progress?: boolean;
  /** Tasks trained at once, each in a worker thread (default: one per core, at most 2). */
  jobs?: number;
  /** One-line status messages (phase changes, notices). */
  log?: (message: string) => void;
}

export const DEFAULT_PROFILE = "quick";
export const DEFAULT_SEED = DEFAULT_TRAINING_SEED;
export const DEFAULT_CORPUS_SEED = 1234;

/** `--lr-sweep`: the task's default rate times these, a half-decade log grid as SUPERB tunes it. */
export const LR_SWEEP_FACTORS: readonly number[] = [0.1, 10 ** -0.5, 1, 10 ** 0.5, 10];

/** The rates a task trains with: the user's grid, the sweep around its default, or one rate. */
function learningRatesOf(plan: TaskDataPlan, options: RunOptions): number[] {
  if (options.learningRates && options.learningRates.length > 0) return [...new Set(options.learningRates)];
  const base = trainingOptionsOf(plan, options).learningRate;
  return options.lrSweep ? LR_SWEEP_FACTORS.map((f) => Number((base * f).toPrecision(3))) : [base];
}

/** The training options of a task on its dataset: task defaults, then the dataset's, then the user's. */
function trainingOptionsOf(plan: TaskDataPlan, options: RunOptions): TrainingOptions {
  const defaults = { ...plan.task.defaults, ...(plan.dataset.trainingDefaults?.(plan.task.name) ?? {}) };
  const steps = options.steps ?? defaults.steps;
  return {
    learningRate: options.learningRate ?? defaults.learningRate,
    steps,
    batchSize: options.batchSize ?? defaults.batchSize,
    evalEvery: Math.min(defaults.evalEvery, steps),
  };
}

/** One upstream's part of a run: its features, ready for training. */
interface PreparedUpstream {
  spec: string;
  upstream: Upstream;
  features: Awaited<ReturnType<typeof prepareFeatures>>;
}

/**
 * Runs tasks on one or more upstreams: datasets (the embedded corpus is synthesised on first
 * use), features (extracted once per upstream and item set), then each (upstream, task)'s
 * training, model selection and test, all in one pool of worker lanes, longest first. Each
 * result is written to <resultsDir>/<upstream>/<task>.json as soon as that task ends.
 */
export async function runBenchmark(options: RunOptions): Promise<TaskResult[]> {
  const log = options.log ?? (() => {});
  const resultsDir = path.resolve(options.resultsDir ?? "results");
  const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir());
  const seeds = [...new Set(options.seeds ?? [options.seed ?? DEFAULT_SEED])];
  if (seeds.length === 0) throw new UserError("--seeds", "no seed given");
  const specs = typeof options.upstream === "string" ? [options.upstream] : [...options.upstream];
  if (specs.length === 0) throw new UserError("--upstream", "no upstream given");
  if (options.noCache && specs.length > 1) throw new UserError("--no-cache", "runs one upstream at a time; give one --upstream");

  // Everything that can be checked cheaply is checked before any long work starts.
  const tasks = await resolveTasks(options.tasks);
  // Checked, not created: a run refused later (an unknown upstream, a bad model) leaves no empty folders.
  for (const spec of specs) checkWritableFolder(path.join(resultsDir, upstreamFolderName(spec)), "results folder");
  checkWritableFolder(cacheDir, "cache folder (--cache-dir)");
  const backend = await initTensorBackend();
  const prepared: PreparedUpstream[] = [];
  try {
    for (const spec of specs) prepared.push({ spec, upstream: await createUpstream(spec), features: undefined as never });
    const plans = await planTaskData(tasks, { data: options.data, lexicon: options.lexicon, librispeechSubsets: options.librispeechSubsets, profile: options.profile ?? DEFAULT_PROFILE, corpusSeed: options.corpusSeed ?? DEFAULT_CORPUS_SEED, cacheDir, progress: options.progress });
    for (const p of plans) {
      const c = splitCounts(p.data);
      log(`${p.task.name} on ${p.dataset.kind} ${p.dataset.fingerprint.name} (${p.dataset.root}): ${SPLITS.map((s) => `${s} ${c[s].utterances} (${(c[s].hours * 60).toFixed(1)} min)`).join(", ")}`);
    }
    const cache = { dtype: options.cacheDtype ?? "float32", budgetBytes: options.cacheBudgetBytes, noCache: options.noCache };
    checkCachePlan(prepared.map((p) => p.upstream), plans, cacheDir, cache, log);
    for (const p of prepared) {
      const notices = new Set<string>();
      p.features = await prepareFeatures(p.upstream, plans, cacheDir, cache, { progress: options.progress, onNotice: (m) => notices.add(m) });
      if (p.features.extractSeconds > 0) log(`extracted ${p.upstream.name} features in ${p.features.extractSeconds.toFixed(1)} s`);
      for (const n of [...notices].slice(0, 5)) log(n);
      if (notices.size > 5) log(`(${notices.size - 5} more notices of the same kind)`);
    }
    const results = await trainAll(prepared, plans, options, { resultsDir, cacheDir }, seeds, backend.name, log);
    // Per upstream, in SUPERB order, then by seed, whatever order the workers finished in.
    return specs.flatMap((spec) => tasks.flatMap((t) => seeds.map((sd) => results.find((r) => r.upstream === spec && r.task === t.name && r.seed === sd)!)));
  } finally {
    for (const p of prepared) {
      p.features?.close();
      await p.upstream.dispose();
    }
  }
}

/** Trains every (upstream, task) job: in a pool of worker threads, or here one by one. */
async function trainAll(prepared: readonly PreparedUpstream[], plans: readonly TaskDataPlan[], options: RunOptions, dirs: { resultsDir: string; cacheDir: string }, seeds: readonly number[], backend: string, log: (m: string) => void): Promise<TaskResult[]> {
  const jobs = prepared.flatMap((p) =>
    plans.flatMap((plan) => {
      const rates = learningRatesOf(plan, options);
      return seeds.flatMap((seed) => rates.map((lr) => makeJob(plan, { ...options, learningRate: lr }, p.spec, p.upstream, dirs.resultsDir, seed, p.features.sources.get(plan.task.name)!, rates.length > 1)));
    }),
  );
  // Created only now, once every check has passed and real work starts: checkpoints go here.
  for (const j of jobs) fs.mkdirSync(path.dirname(j.checkpointPath), { recursive: true });
  const results: TaskResult[] = [];
  const unsaved: SavedResult[] = [];
  const planOf = (job: TaskJob) => plans.find((p) => p.task.name === job.task)!;
  const preparedOf = (job: TaskJob) => prepared.find((p) => p.spec === job.upstream)!;
  const finishSelected = (job: TaskJob, trained: TrainResult, sweep: LrSweepEntry[] | undefined, done: TaskJob[]) => {
    const plan = planOf(job);
    const p = preparedOf(job);
    const result = resultOf(plan, options, job.upstream, p.upstream.identity, backend, job.seed, job.options, trained, p.features.extractSeconds, sweep);
    // Never throws: a results folder that became unwritable during training must not cost the training.
    const saved = saveResult(dirs.resultsDir, path.join(dirs.cacheDir, "unsaved-results"), result, trained.test.items ?? []);
    if (saved.savedTo) {
      unsaved.push(saved);
      log(`${saved.file}: ${saved.problem}; saved the result to ${saved.savedTo}`);
    } else {
      for (const j of done) fs.rmSync(j.checkpointPath, { force: true });
    }
    results.push(result);
    const lrNote = sweep ? `, lr ${job.options.learningRate} chosen on dev of ${sweep.length}` : "";
    log(`${job.upstream} ${plan.task.name}${seeds.length > 1 ? ` seed ${job.seed}` : ""}: ${plan.task.metric.name} ${result.value.toFixed(2)} (dev ${result.devValue.toFixed(2)}, best step ${trained.bestStep}${lrNote})`);
  };
  const finish = selectOnDev(jobs, (job) => planOf(job).task.metric, finishSelected);
  // Longest first, so the pool's lanes finish together.
  // A step costs about costPerStep x frames per second (the heads run over every frame).
  const cost = (j: TaskJob) => j.options.steps * (planOf(j).task.costPerStep ?? 1) * j.frameRate;
  jobs.sort((a, b) => cost(b) - cost(a));
  const workerUrl = new URL("./task-worker.js", import.meta.url);
  // Without a cache the upstream runs inside training, which stays in this thread.
  const parallel = options.noCache ? 1 : Math.min(options.jobs ?? defaultJobs(), jobs.length);
  for (const job of jobs) log(`training ${job.task} on ${job.upstream}${seeds.length > 1 ? ` (seed ${job.seed})` : ""}: ${job.options.steps} steps, lr ${job.options.learningRate}, batch ${job.options.batchSize}`);
  if (parallel > 1 && fs.existsSync(fileURLToPath(workerUrl))) await runInWorkers(jobs, parallel, workerUrl, finish, log, options.progress);
  else await trainInThisThread(jobs, planOf, preparedOf, finish, log, options.progress);
  if (unsaved.length > 0) {
    const u = unsaved[0];
    throw new UserError(u.file, `${u.problem}; ${unsaved.length === 1 ? "the result was" : `${unsaved.length} results were`} saved to ${path.dirname(u.savedTo!)} instead (copy them into the results folder)`);
  }
  return results;
}

async function trainInThisThread(jobs: TaskJob[], planOf: (j: TaskJob) => TaskDataPlan, preparedOf: (j: TaskJob) => PreparedUpstream, finish: (job: TaskJob, r: TrainResult) => void, log: (m: string) => void, progress?: boolean): Promise<void> {
  for (const job of jobs) {
    const plan = planOf(job);
    const trained = await trainAndEvaluate({
      task: plan.task,
      context: { data: plan.data, inputDim: job.inputDim, frameRate: job.frameRate, seed: job.seed },
      stores: preparedOf(job).features.sources.get(plan.task.name)!,
      options: job.options,
      seed: job.seed,
      checkpointPath: job.checkpointPath,
      checkpointKey: job.checkpointKey,
      progress,
      onNotice: log,
    });
    finish(job, trained);
  }
}

/** One rate of a learning-rate sweep: its dev score (the selection criterion) and best step. */
export interface LrSweepEntry {
  learningRate: number;
  devValue: number;
  bestStep: number;
}

/**
 * Wraps `finish` for sweeps: the jobs of one (upstream, task, seed) differ only in learning rate;
 * when the last of them ends, the one with the best dev score is finished, with the grid recorded.
 * Ties go to the smaller rate (the grid's order). A job without siblings is finished at once.
 */
function selectOnDev(jobs: readonly TaskJob[], metricOf: (j: TaskJob) => MetricSpec, finish: (job: TaskJob, trained: TrainResult, sweep: LrSweepEntry[] | undefined, done: TaskJob[]) => void): (job: TaskJob, trained: TrainResult) => void {
  const groupOf = (j: TaskJob) => `${j.upstream}\t${j.task}\t${j.seed}`;
  const size = new Map<string, number>();
  for (const j of jobs) size.set(groupOf(j), (size.get(groupOf(j)) ?? 0) + 1);
  const done = new Map<string, { job: TaskJob; trained: TrainResult }[]>();
  return (job, trained) => {
    const key = groupOf(job);
    const list = [...(done.get(key) ?? []), { job, trained }];
    done.set(key, list);
    if (list.length < size.get(key)!) return;
    if (list.length === 1) return finish(job, trained, undefined, [job]);
    list.sort((x, y) => x.job.options.learningRate - y.job.options.learningRate);
    const metric = metricOf(job);
    const best = list.reduce((b, x) => (isBetter(metric, x.trained.dev.value, b.trained.dev.value) ? x : b));
    const sweep = list.map((x) => ({ learningRate: x.job.options.learningRate, devValue: x.trained.dev.value, bestStep: x.trained.bestStep }));
    finish(best.job, best.trained, sweep, list.map((x) => x.job));
  };
}

function makeJob(plan: TaskDataPlan, options: RunOptions, spec: string, upstream: Upstream, resultsDir: string, seed: number, sources: Record<Split, FeatureSource>, sweeping = false): TaskJob {
  const training = trainingOptionsOf(plan, options);
  const finalPath = resultPath(resultsDir, spec, plan.task.name, seed);
  const indexOf = (s: FeatureSource) => (s as Partial<FeatureStore>).indexPath ?? "";
  return {
    upstream: spec,
    task: plan.task.name,
    data: plan.data,
    features: { train: indexOf(sources.train), dev: indexOf(sources.dev), test: indexOf(sources.test) },
    inputDim: upstream.hiddenSize,
    frameRate: upstream.frameRate,
    seed,
    options: training,
    checkpointPath: path.join(path.dirname(finalPath), `.${path.basename(finalPath, ".json")}${sweeping ? `.lr-${training.learningRate}` : ""}.checkpoint.safetensors`),
    // Steps are not part of the key: a rerun with more steps continues from the checkpoint.
    checkpointKey: JSON.stringify({ upstream: upstream.identity, dataset: plan.dataset.fingerprint.hash, task: plan.task.name, seed, learningRate: training.learningRate, batchSize: training.batchSize, evalEvery: training.evalEvery }),
  };
}

function resultOf(plan: TaskDataPlan, options: RunOptions, spec: string, upstreamIdentity: string, backend: string, seed: number, training: TrainingOptions, trained: TrainResult, extractSeconds: number, sweep?: LrSweepEntry[]): TaskResult {
  const { task, dataset } = plan;
  const embedded = dataset.kind === "embedded" ? { profile: options.profile ?? DEFAULT_PROFILE, seed: options.corpusSeed ?? DEFAULT_CORPUS_SEED } : {};
  return {
    upstream: spec,
    upstreamIdentity,
    task: task.name,
    metric: task.metric.name,
    value: trained.test.value,
    higherIsBetter: task.metric.higherIsBetter,
    secondary: trained.test.secondary,
    devValue: trained.dev.value,
    layerWeights: trained.layerWeights,
    dataset: { ...dataset.fingerprint, counts: splitCounts(plan.data), ...embedded },
    seed,
    testSet: trained.test.items && trained.test.items.length > 0 ? { hash: testSetHash(trained.test.items), items: trained.test.items.length } : undefined,
    training: { ...training, bestStep: trained.bestStep, finalTrainLoss: trained.finalTrainLoss, resumedFromStep: trained.resumedFromStep, ...(sweep ? { lrSweep: sweep } : {}) },
    // Extraction is shared by all tasks of a run; it is reported on each.
    seconds: { extract: extractSeconds, train: trained.seconds.train, evaluate: trained.seconds.evaluate },
    backend,
    version: packageVersion(),
    gitCommit: gitCommit(),
    createdAt: new Date().toISOString(),
  };
}

export function defaultJobs(): number {
  return Math.max(1, Math.min(2, os.availableParallelism()));
}

/** A pool of worker threads, one task each; a combined progress bar over all steps. */
async function runInWorkers(jobs: TaskJob[], parallel: number, workerUrl: URL, finish: (job: TaskJob, r: TrainResult) => void, log: (m: string) => void, progress?: boolean): Promise<void> {
  const bar = startProgress({ label: `training ${[...new Set(jobs.map((j) => j.task))].join(",")}`, total: jobs.reduce((s, j) => s + j.options.steps, 0), unit: "steps", enabled: progress });
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
        else if (msg.type === "notice") log(msg.message);
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
