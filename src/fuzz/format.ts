/**
 * One input format superb reads, as the fuzz harness (`npm run fuzz`) sees it: seed inputs and
 * the reader superb uses on them. Each format is one file in src/fuzz/formats/, found by listing
 * the folder (like upstreams and tasks).
 *
 * A seed is a small folder of files (most formats need one; an HF folder or a dataset layout
 * needs several); the harness mutates the one named by `target` and hands `read` the folder.
 * `read` must either accept the input (resolve) or reject it with a UserError naming the file;
 * anything else thrown, a dead worker (out of memory) or a timeout is a finding.
 */
export interface FuzzSeed {
  /** Short name for the report, e.g. "pcm16-mono-16k". */
  name: string;
  /** Relative path -> contents of every file the seed folder holds. */
  files: Record<string, Uint8Array>;
  /** The relative path of the file that is mutated. */
  target: string;
}

export interface FuzzFormat {
  /** Report name, e.g. "wav", "nifti", "fsc-csv". */
  name: string;
  description: string;
  /** A text format: mutations also replace tokens (numbers, separators) besides raw bytes. */
  textual: boolean;
  /** Seed inputs; built in memory by the project's own code (nothing downloaded, nothing from ../shared). */
  seeds(): Promise<FuzzSeed[]>;
  /** Reads the (mutated) seed folder exactly as superb does (`target` = the mutated file, relative); resolve = parsed, UserError = cleanly rejected. */
  read(dir: string, target: string): Promise<void>;
}
