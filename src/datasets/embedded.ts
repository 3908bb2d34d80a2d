/**
 * The embedded synthetic corpus (src/corpus/) behind the same interface as the real corpora: the
 * default data of every task, synthesised on first use from a seed. Its profiles ("quick",
 * "full") carry their own training budgets, sized to the corpus and to a 2-core machine.
 */
import * as path from "node:path";
import { defaultCacheDir, ensureCorpus, DEFAULT_SEED } from "../corpus/generate.js";
import type { Corpus, Utterance } from "../corpus/types.js";
import { TaskUnavailable, type Dataset, type DatasetDefinition, type DatasetItem, type Split, type TaskData } from "../dataset.js";
import type { TrainingOptions } from "../task.js";

/** Training budgets per profile and task (steps, learning rate, batch, dev evaluation interval). */
const BUDGETS: Record<string, Record<string, TrainingOptions>> = {
  quick: {
    pr: { learningRate: 5e-3, steps: 400, batchSize: 16, evalEvery: 40 },
    asr: { learningRate: 5e-3, steps: 400, batchSize: 16, evalEvery: 100 },
    ic: { learningRate: 1e-2, steps: 1000, batchSize: 16, evalEvery: 100 },
    sid: { learningRate: 2e-2, steps: 1000, batchSize: 16, evalEvery: 100 },
    asv: { learningRate: 2e-3, steps: 400, batchSize: 16, evalEvery: 40 },
    ks: { learningRate: 1e-2, steps: 600, batchSize: 16, evalEvery: 100 },
  },
  full: {
    pr: { learningRate: 2e-3, steps: 1000, batchSize: 16, evalEvery: 250 },
    asr: { learningRate: 3e-3, steps: 600, batchSize: 16, evalEvery: 150 },
    ic: { learningRate: 2e-3, steps: 600, batchSize: 32, evalEvery: 150 },
    sid: { learningRate: 2e-3, steps: 600, batchSize: 32, evalEvery: 150 },
    asv: { learningRate: 2e-3, steps: 480, batchSize: 32, evalEvery: 120 },
    ks: { learningRate: 2e-3, steps: 600, batchSize: 32, evalEvery: 150 },
  },
};

const TASKS = ["pr", "asr", "ic", "sid", "asv", "ks"] as const;

function toItem(corpus: Corpus, u: Utterance): DatasetItem {
  const item: DatasetItem = { id: u.id, path: path.join(corpus.dir, u.path), durationSec: u.durationSec, speaker: u.speaker };
  if (u.text) item.text = u.text;
  if (u.phonemes.length > 0) item.phonemes = u.phonemes;
  if (u.intent) item.intent = u.intent;
  if (u.keyword !== null) item.label = u.keyword;
  return item;
}

/** The tasks' views of one corpus (the split each utterance was planned into). */
function taskDataOf(corpus: Corpus, items: Map<string, DatasetItem>, task: string): TaskData {
  const m = corpus.manifest;
  const seen = new Set(m.speakers.filter((s) => s.seen).map((s) => s.id));
  // Keyword clips serve KS only, so the other tasks read the same utterances as before KS existed.
  const sentences = m.utterances.filter((u) => u.keyword === null);
  const bySplit = (utts: Utterance[]): Record<Split, DatasetItem[]> => {
    const pick = (s: Split) => utts.filter((u) => u.split === s).map((u) => items.get(u.id)!);
    return { train: pick("train"), dev: pick("dev"), test: pick("test") };
  };
  switch (task) {
    case "pr":
      return { splits: bySplit(sentences.filter((u) => u.phonemes.length > 0)), phoneSet: m.phoneSet };
    case "asr":
      return { splits: bySplit(sentences.filter((u) => u.text.length > 0)), charSet: m.charSet };
    case "ic":
      return { splits: bySplit(sentences.filter((u) => u.intent !== null)), intentSlots: m.intentSlots };
    case "sid":
      return { splits: bySplit(sentences.filter((u) => seen.has(u.speaker))), classes: m.speakers.filter((s) => s.seen).map((s) => s.id) };
    case "asv": {
      const inTrials = new Set(m.asvTrials.flatMap((t) => [t.enroll, t.test]));
      const seenSplits = bySplit(sentences.filter((u) => seen.has(u.speaker)));
      return {
        splits: { train: seenSplits.train, dev: seenSplits.dev, test: sentences.filter((u) => inTrials.has(u.id)).map((u) => items.get(u.id)!) },
        trials: { test: m.asvTrials },
      };
    }
    case "ks":
      return { splits: bySplit(m.utterances.filter((u) => u.keyword !== null)), classes: m.ksClasses };
    default:
      throw new TaskUnavailable(`the embedded corpus has no data for task "${task}"`);
  }
}

/** A synthesised corpus as a Dataset (tests use it with custom profiles). */
export function embeddedDataset(corpus: Corpus): Dataset {
  const items = new Map(corpus.manifest.utterances.map((u) => [u.id, toItem(corpus, u)]));
  const cache = new Map<string, TaskData>();
  const budgets = BUDGETS[corpus.manifest.profile] ?? BUDGETS.full;
  return {
    kind: "embedded",
    root: corpus.dir,
    fingerprint: { kind: "embedded", name: corpus.manifest.name, hash: corpus.hash },
    items: [...items.values()],
    tasks: TASKS,
    taskData(task) {
      let data = cache.get(task);
      if (!data) cache.set(task, (data = taskDataOf(corpus, items, task)));
      return data;
    },
    trainingDefaults: (task) => budgets[task] ?? {},
  };
}

export const dataset: DatasetDefinition = {
  kind: "embedded",
  description: "the synthetic corpus superb generates itself with eSpeak NG (the default data; --profile quick|full, --corpus-seed N)",
  tasks: TASKS,
  async open(_root, options): Promise<Dataset> {
    const corpus = await ensureCorpus({ profile: options.profile ?? "quick", seed: options.corpusSeed ?? DEFAULT_SEED, cacheDir: options.cacheDir ?? defaultCacheDir(), progress: options.progress });
    return embeddedDataset(corpus);
  },
};
