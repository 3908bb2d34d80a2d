/** superb's library API: everything the CLI does is available here. */
export { runBenchmark, type RunOptions, DEFAULT_CORPUS_SEED, DEFAULT_PROFILE, DEFAULT_SEED } from "./run.js";
export { createUpstream, findUpstream, findTask, listTasks, listUpstreams, resolveTasks } from "./registry.js";
export type { HiddenStates, Upstream, UpstreamDefinition } from "./upstream.js";
export type { TaskDefinition, TaskModel, TaskContext, FeatureBatch, MetricSpec, Score, TrainingOptions } from "./task.js";
export { WeightedLayerSum } from "./featurizer.js";
export { ensureFeatures, FeatureStore } from "./feature-cache.js";
export { trainAndEvaluate } from "./train.js";
export { readResults, writeResult, resultPath, type TaskResult } from "./results.js";
export { buildLeaderboard, formatLeaderboard, type Leaderboard, type LeaderboardFormat } from "./leaderboard.js";
export { ensureCorpus, loadCorpus, defaultCacheDir } from "./corpus/generate.js";
export type { Corpus, CorpusManifest, Utterance, SpeakerProfile, AsvTrial } from "./corpus/types.js";
export { readWav, loadAudio16k, writeWav16 } from "./audio.js";
export * from "./metrics.js";
export { ctcLossAndGradient, ctcGreedyDecode } from "./ctc.js";
export { readSafetensors, writeSafetensors, encodeSafetensors, decodeSafetensors } from "./safetensors.js";
export { UserError } from "./errors.js";
