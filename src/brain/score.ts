/**
 * Brain score of every layer of an upstream (Millet et al. 2022 / Huth-lab practice): regressors of
 * a layer on the TR grid (layerRegressors) predict each subject's BOLD targets (voxels or ROIs)
 * with ridge regression; outer contiguous K-fold CV, Pearson r on each held-out fold, averaged over
 * folds and then subjects.
 *
 * Per outer fold: features and BOLD are z-scored with the statistics of the training rows only;
 * one alpha per (subject, target) column is chosen by contiguous inner K-fold CV on the training
 * rows (mean held-out R^2, see kernelRidgeCv); the model is refitted on all training rows.
 *
 * Cost: the features are the same for every subject, so all subjects' targets are stacked as the
 * columns of one Y and share one kernel and one tridiagonalisation per (layer, fold, inner fold).
 * The control is computed the same way, as extra columns: the BOLD circularly shifted by half the
 * run ("shift"; equivalent to shifting the features the other way, up to which rows fall in which
 * fold) or with blocks of rows permuted ("permute"), so its decomposition is shared too.
 */
import Table from "cli-table3";
import { UserError } from "../errors.js";
import { Rng } from "../random.js";
import { DEFAULT_ALPHAS, contiguousFolds, crossGram, gram, kernelRidgeCv, kernelRidgePredict } from "./ridge.js";
import { pearsonColumns, zscoreColumns } from "./stats.js";

export interface BrainScoreTargets {
  subjects: { id: string; bold: Float64Array | Float32Array; rows: number }[];
  targetNames: string[];
  /** Stimulus time of each row (seconds). */
  rowTimes: Float64Array;
}

export type BrainControl = "shift" | "permute" | "none";

export interface BrainScoreOptions {
  /** Outer contiguous folds. Default 5. */
  folds?: number;
  /** Inner contiguous folds for alpha selection. Default 5. */
  innerFolds?: number;
  /** Alpha grid. Default DEFAULT_ALPHAS (10^-1..10^8, half decades). */
  alphas?: number[];
  /** Recorded in the result only: the regressors were already made hemodynamic by layerRegressors. */
  hemodynamic?: "hrf" | "fir";
  /** Default "shift". */
  control?: BrainControl;
  /**
   * Alphas of the control columns: "own" runs the same inner CV on the control targets (the
   * control repeats the whole procedure; about 1.7x the cost), "shared" reuses the alpha chosen
   * for the matching real (subject, target). Default "own".
   */
  controlAlphas?: "own" | "shared";
  /** Seeds the "permute" control. Default 0. */
  seed?: number;
  /** Called after each (layer, outer fold). */
  onProgress?: (done: number, total: number) => void;
}

export interface ResolvedBrainScoreOptions {
  folds: number;
  innerFolds: number;
  alphas: number[];
  hemodynamic?: "hrf" | "fir";
  control: BrainControl;
  controlAlphas: "own" | "shared";
  seed: number;
  /** Rows per permuted block ("permute"): ceil(32 s / TR), the HRF's length. */
  permuteBlockRows?: number;
  /** Rows the BOLD is rolled by ("shift"). */
  shiftRows?: number;
}

export interface BrainScoreResult {
  layers: number;
  targetNames: string[];
  subjects: string[];
  rows: number;
  /** Regressor columns per layer. */
  features: number[];
  /** [layer][target]: mean over folds, then over subjects. */
  r: number[][];
  /** [layer][target]: standard error of r across subjects (0 with one subject). */
  rSem: number[][];
  /** [layer][subject][target]: mean over folds. */
  rPerSubject: number[][][];
  /** [layer][target]: r of the control, same averaging; empty when control is "none". */
  controlR: number[][];
  bestLayer: { target: string; layer: number; r: number }[];
  /** [layer][target]: geometric mean of the chosen alphas over folds and subjects. */
  alphas: number[][];
  options: ResolvedBrainScoreOptions;
  /** Wall time of the scoring in seconds. */
  seconds: number;
}

/** Row order of the control targets: row i of the control is row order[i] of the BOLD. */
function controlOrder(rows: number, control: BrainControl, tr: number, seed: number, resolved: ResolvedBrainScoreOptions): Int32Array | null {
  if (control === "none") return null;
  const order = new Int32Array(rows);
  if (control === "shift") {
    const shift = Math.floor(rows / 2);
    resolved.shiftRows = shift;
    for (let i = 0; i < rows; i++) order[i] = (i + shift) % rows;
    return order;
  }
  if (control === "permute") {
    const block = Math.max(1, Math.ceil(32 / tr));
    resolved.permuteBlockRows = block;
    const numBlocks = Math.ceil(rows / block);
    const rng = new Rng(seed);
    const blocks = rng.shuffle(Array.from({ length: numBlocks }, (_, b) => b));
    // Concatenate the shuffled blocks; the last (short) block keeps its length wherever it lands.
    let at = 0;
    for (const b of blocks) {
      for (let i = b * block; i < Math.min(rows, (b + 1) * block); i++) order[at++] = i;
    }
    return order;
  }
  throw new UserError(`brain score: unknown control "${String(control)}" (use shift, permute or none)`);
}

function gatherRows(x: ArrayLike<number>, cols: number, rowsIdx: readonly number[]): Float64Array {
  const out = new Float64Array(rowsIdx.length * cols);
  rowsIdx.forEach((i, a) => {
    for (let c = 0; c < cols; c++) out[a * cols + c] = x[i * cols + c];
  });
  return out;
}

/**
 * Brain score of every layer. layers[l] are that layer's regressors on the TR grid (rows equal to
 * every subject's BOLD rows); targets hold each subject's BOLD [rows x targetNames.length].
 */
export function brainScoreFromRegressors(
  layers: { x: Float64Array; rows: number; cols: number }[],
  targets: BrainScoreTargets,
  opts: BrainScoreOptions = {},
): BrainScoreResult {
  const started = performance.now();
  if (layers.length === 0) throw new UserError("brain score: no layers to score");
  const rows = layers[0].rows;
  layers.forEach((l, i) => {
    if (l.rows !== rows) throw new UserError(`brain score: layer ${i} has ${l.rows} rows, layer 0 has ${rows}`);
    if (l.x.length !== l.rows * l.cols) throw new Error(`brainScoreFromRegressors: layer ${i} has ${l.x.length} values for ${l.rows} x ${l.cols}`);
  });
  const numTargets = targets.targetNames.length;
  const subjects = targets.subjects;
  if (numTargets === 0) throw new UserError("brain score: no targets");
  if (subjects.length === 0) throw new UserError("brain score: no subjects");
  for (const s of subjects) {
    if (s.rows !== rows) throw new UserError(`brain score: subject ${s.id} has ${s.rows} BOLD rows but the stimulus regressors have ${rows}`);
    if (s.bold.length !== rows * numTargets) {
      throw new UserError(`brain score: subject ${s.id} has ${s.bold.length} BOLD values, expected ${rows} rows x ${numTargets} targets`);
    }
  }
  if (targets.rowTimes.length !== rows) throw new UserError(`brain score: ${targets.rowTimes.length} row times for ${rows} rows`);
  const tr = rows > 1 ? (targets.rowTimes[rows - 1] - targets.rowTimes[0]) / (rows - 1) : 1;

  const resolved: ResolvedBrainScoreOptions = {
    folds: opts.folds ?? 5,
    innerFolds: opts.innerFolds ?? 5,
    alphas: [...(opts.alphas ?? DEFAULT_ALPHAS)],
    ...(opts.hemodynamic ? { hemodynamic: opts.hemodynamic } : {}),
    control: opts.control ?? "shift",
    controlAlphas: opts.controlAlphas ?? "own",
    seed: opts.seed ?? 0,
  };
  const order = controlOrder(rows, resolved.control, tr, resolved.seed, resolved);

  // Y: [rows x cols], columns subject-major (s * numTargets + j), then the control copy.
  const realCols = subjects.length * numTargets;
  const totalCols = order ? 2 * realCols : realCols;
  const y = new Float64Array(rows * totalCols);
  subjects.forEach((s, si) => {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < numTargets; j++) {
        y[i * totalCols + si * numTargets + j] = s.bold[i * numTargets + j];
        if (order) y[i * totalCols + realCols + si * numTargets + j] = s.bold[order[i] * numTargets + j];
      }
    }
  });

  const shareAlphas = order !== null && resolved.controlAlphas === "shared";
  const ridgeOptions = {
    alphas: resolved.alphas,
    folds: resolved.innerFolds,
    ...(shareAlphas ? { cvColumns: realCols, alphaSource: Int32Array.from({ length: realCols }, (_, c) => c) } : {}),
  };
  const folds = contiguousFolds(rows, resolved.folds);
  const totalSteps = layers.length * folds.length;
  let done = 0;
  const rSum = layers.map(() => new Float64Array(totalCols));
  const logAlphaSum = layers.map(() => new Float64Array(realCols));
  layers.forEach((layer, li) => {
    const p = layer.cols;
    for (const { train, test } of folds) {
      const xTrain = zscoreColumns(gatherRows(layer.x, p, train), train.length, p);
      const xTest = zscoreColumns(gatherRows(layer.x, p, test), test.length, p, { mean: xTrain.mean, std: xTrain.std });
      const yTrain = zscoreColumns(gatherRows(y, totalCols, train), train.length, totalCols);
      const yTest = zscoreColumns(gatherRows(y, totalCols, test), test.length, totalCols, { mean: yTrain.mean, std: yTrain.std });
      const k = gram(xTrain.z, train.length, p);
      const model = kernelRidgeCv(k, train.length, yTrain.z, totalCols, ridgeOptions);
      const kTest = crossGram(xTest.z, test.length, xTrain.z, train.length, p);
      const pred = kernelRidgePredict(model, kTest, test.length);
      const r = pearsonColumns(pred, yTest.z, test.length, totalCols);
      for (let c = 0; c < totalCols; c++) rSum[li][c] += r[c];
      for (let c = 0; c < realCols; c++) logAlphaSum[li][c] += Math.log10(model.alphas[c]);
      done++;
      opts.onProgress?.(done, totalSteps);
    }
  });

  const numFolds = folds.length;
  const rPerSubject: number[][][] = [];
  const r: number[][] = [];
  const rSem: number[][] = [];
  const controlR: number[][] = [];
  const alphas: number[][] = [];
  for (let li = 0; li < layers.length; li++) {
    const perSubject = subjects.map((_, si) => Array.from({ length: numTargets }, (_, j) => rSum[li][si * numTargets + j] / numFolds));
    rPerSubject.push(perSubject);
    const meanR: number[] = [];
    const sem: number[] = [];
    const ctrl: number[] = [];
    const alpha: number[] = [];
    for (let j = 0; j < numTargets; j++) {
      let s = 0;
      let cs = 0;
      let la = 0;
      for (let si = 0; si < subjects.length; si++) {
        s += perSubject[si][j];
        if (order) cs += rSum[li][realCols + si * numTargets + j] / numFolds;
        la += logAlphaSum[li][si * numTargets + j] / numFolds;
      }
      const m = s / subjects.length;
      meanR.push(m);
      let v = 0;
      for (let si = 0; si < subjects.length; si++) v += (perSubject[si][j] - m) ** 2;
      sem.push(subjects.length > 1 ? Math.sqrt(v / (subjects.length - 1) / subjects.length) : 0);
      if (order) ctrl.push(cs / subjects.length);
      alpha.push(10 ** (la / subjects.length));
    }
    r.push(meanR);
    rSem.push(sem);
    if (order) controlR.push(ctrl);
    alphas.push(alpha);
  }
  const bestLayer = targets.targetNames.map((target, j) => {
    let best = 0;
    for (let li = 1; li < layers.length; li++) if (r[li][j] > r[best][j]) best = li;
    return { target, layer: best, r: r[best][j] };
  });
  return {
    layers: layers.length,
    targetNames: [...targets.targetNames],
    subjects: subjects.map((s) => s.id),
    rows,
    features: layers.map((l) => l.cols),
    r,
    rSem,
    rPerSubject,
    controlR,
    bestLayer,
    alphas,
    options: resolved,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * A table with one row per layer and one column per target (mean r; the best layer of each target
 * marked *; the control's r in brackets when computed), then one line per target naming its best layer.
 */
export function formatBrainScoreTable(result: BrainScoreResult): string {
  const hasControl = result.controlR.length > 0;
  const head = ["layer", ...result.targetNames];
  const table = new Table({ head, style: { head: [], border: [] } });
  for (let li = 0; li < result.layers; li++) {
    table.push([
      String(li),
      ...result.targetNames.map((_, j) => {
        const mark = result.bestLayer[j].layer === li ? "*" : "";
        const ctrl = hasControl ? ` (${result.controlR[li][j].toFixed(3)})` : "";
        return `${result.r[li][j].toFixed(3)}${mark}${ctrl}`;
      }),
    ]);
  }
  const control = result.options.control;
  const legend = hasControl
    ? `mean Pearson r over ${result.options.folds} folds and ${result.subjects.length} subjects; (control: BOLD ${control === "shift" ? "circularly shifted by half the run" : "permuted in blocks"}); * best layer`
    : `mean Pearson r over ${result.options.folds} folds and ${result.subjects.length} subjects; * best layer`;
  const best = result.bestLayer.map((b) => `${b.target}: best layer ${b.layer} (r = ${b.r.toFixed(3)})`);
  return [table.toString(), legend, ...best].join("\n");
}
