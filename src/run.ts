import * as fs from "node:fs";
import * as path from "node:path";
import { loadAudio16k } from "./audio.js";
import { initTensorBackend } from "./backend.js";
import { defaultCacheDir, ensureCorpus } from "./corpus/generate.js";
import type { Split } from "./corpus/types.js";
import { ensureFeatures, type FeatureStore } from "./feature-cache.js";
import { gitCommit, packageVersion } from "./package-info.js";
import { createUpstream, resolveTasks } from "./registry.js";
import { ensureWritableDir, resultPath, upstreamFolderName, writeResult, type TaskResult } from "./results.js";
import type { TrainingOptions } from "./task.js";
import { trainAndEvaluate } from "./train.js";

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
    let extractSeconds = 0;
    const stores = {} as Record<Split, FeatureStore>;
    for (const split of ["train", "dev", "test"] as const) {
      const r = await ensureFeatures({ upstream, corpus, split, cacheDir, loadAudio, progress: options.progress });
      stores[split] = r.store;
      extractSeconds += r.seconds;
      if (r.extracted) log(`extracted ${upstream.name} features of ${split} in ${r.seconds.toFixed(1)} s`);
    }
    for (const n of notices) log(n);

    const results: TaskResult[] = [];
    for (const task of tasks) {
      const defaults = profile === "quick" ? task.defaults.quick : task.defaults.full;
      const training: TrainingOptions = {
        learningRate: options.learningRate ?? defaults.learningRate,
        steps: options.steps ?? defaults.steps,
        batchSize: options.batchSize ?? defaults.batchSize,
        evalEvery: Math.min(defaults.evalEvery, options.steps ?? defaults.steps),
      };
      const context = { corpus, inputDim: upstream.hiddenSize, frameRate: upstream.frameRate, seed };
      const splits = task.splits(corpus);
      const finalPath = resultPath(resultsDir, options.upstream, task.name);
      const checkpointPath = path.join(path.dirname(finalPath), `.${task.name}.checkpoint.safetensors`);
      // Steps are not part of the key: a rerun with more steps continues from the checkpoint.
      const checkpointKey = JSON.stringify({ upstream: upstream.identity, corpus: corpus.hash, task: task.name, seed, learningRate: training.learningRate, batchSize: training.batchSize, evalEvery: training.evalEvery });
      log(`training ${task.name} on ${options.upstream}: ${training.steps} steps, lr ${training.learningRate}, batch ${training.batchSize}`);
      const trained = await trainAndEvaluate({ task, context, splits, stores, options: training, seed, checkpointPath, checkpointKey, progress: options.progress });
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
        training: { ...training, bestStep: trained.bestStep, finalTrainLoss: trained.finalTrainLoss, resumedFromStep: trained.resumedFromStep },
        // Extraction is shared by all tasks of a run; it is reported on each.
        seconds: { extract: extractSeconds, train: trained.seconds.train, evaluate: trained.seconds.evaluate },
        backend: backend.name,
        version: packageVersion(),
        gitCommit: gitCommit(),
        createdAt: new Date().toISOString(),
      };
      writeResult(resultsDir, result);
      fs.rmSync(checkpointPath, { force: true });
      results.push(result);
    }
    for (const s of Object.values(stores)) s.close();
    return results;
  } finally {
    await upstream.dispose();
  }
}
