import cliProgress from "cli-progress";

/** Progress of a long job: a bar with items, rate and time left on a TTY; silent otherwise (CI logs). */
export interface Progress {
  increment(by?: number, extra?: Record<string, string | number>): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Short label shown before the bar, e.g. "synthesising corpus". */
  label: string;
  total: number;
  /** Unit for the rate, e.g. "utt". */
  unit?: string;
  /** Force on or off; by default on only when stderr is a TTY and CI is not set. */
  enabled?: boolean;
}

export function progressEnabledByDefault(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.CI;
}

export function startProgress(options: ProgressOptions): Progress {
  const enabled = options.enabled ?? progressEnabledByDefault();
  if (!enabled || options.total <= 0) {
    return { increment() {}, stop() {} };
  }
  const unit = options.unit ?? "items";
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${options.label} [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}{extra}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(options.total, 0, { rate: "0.0", extra: "" });
  let done = 0;
  return {
    increment(by = 1, extra) {
      done += by;
      const seconds = (Date.now() - started) / 1000;
      const rate = seconds > 0 ? (done / seconds).toFixed(1) : "0.0";
      const extraText = extra
        ? " | " + Object.entries(extra).map(([k, v]) => `${k} ${v}`).join(" ")
        : "";
      bar.increment(by, { rate, extra: extraText });
    },
    stop() {
      bar.stop();
    },
  };
}
