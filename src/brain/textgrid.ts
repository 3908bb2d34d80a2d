/**
 * Praat TextGrid files (text formats): the long "ooTextFile" format Praat writes by default and the
 * short format ("save as short text file"). Both are one sequence of values; the long format only
 * adds labels (`xmin = `, `intervals [3]:`). Like Praat's own reader we therefore tokenise to
 * quoted strings, numbers and <flags>, skipping labels, bracketed indices and `!` comments, and
 * read the values in their fixed order. UTF-8 (with or without BOM) and UTF-16 (with BOM) are read.
 */
import { readUserFile } from "../fs-atomic.js";
import { UserError } from "../errors.js";

export interface TextGridInterval {
  xmin: number;
  xmax: number;
  text: string;
}

export interface TextGridPoint {
  time: number;
  mark: string;
}

export type TextGridTier =
  | { kind: "interval"; name: string; xmin: number; xmax: number; intervals: TextGridInterval[] }
  | { kind: "point"; name: string; xmin: number; xmax: number; points: TextGridPoint[] };

export interface TextGrid {
  xmin: number;
  xmax: number;
  tiers: TextGridTier[];
}

type Token = { kind: "string" | "number" | "flag"; text: string; value: number; line: number };

function tokenize(src: string, source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === "\n") {
      line++;
      i++;
    } else if (c === '"') {
      // Praat doubles a quote inside a string.
      const start = line;
      let text = "";
      i++;
      for (;;) {
        if (i >= n) throw new UserError(`${source}: line ${start}: unterminated string`);
        const d = src[i];
        if (d === '"') {
          if (src[i + 1] === '"') {
            text += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (d === "\n") line++;
        text += d;
        i++;
      }
      tokens.push({ kind: "string", text, value: NaN, line: start });
    } else if (c === "<") {
      const end = src.indexOf(">", i);
      if (end < 0) throw new UserError(`${source}: line ${line}: unterminated <flag>`);
      tokens.push({ kind: "flag", text: src.slice(i + 1, end), value: NaN, line });
      i = end + 1;
    } else if (c === "[") {
      const end = src.indexOf("]", i);
      if (end < 0) throw new UserError(`${source}: line ${line}: unterminated [index]`);
      i = end + 1;
    } else if (c === "!") {
      while (i < n && src[i] !== "\n") i++;
    } else if (/[0-9]/.test(c) || ((c === "-" || c === "+" || c === ".") && /[0-9.]/.test(src[i + 1] ?? ""))) {
      let j = i + 1;
      while (j < n && /[0-9eE.+\-]/.test(src[j])) j++;
      const text = src.slice(i, j);
      const value = Number(text);
      if (!Number.isFinite(value)) throw new UserError(`${source}: line ${line}: malformed number "${text}"`);
      tokens.push({ kind: "number", text, value, line });
      i = j;
    } else if (/[A-Za-z_]/.test(c)) {
      // A label such as `xmin`, `intervals`, `tiers?`: skipped (identifiers may contain digits).
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_]/.test(src[j])) j++;
      i = j;
    } else {
      i++; // whitespace, `=`, `:`, `?`
    }
  }
  return tokens;
}

class Reader {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  private next(what: string): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw new UserError(`${this.source}: file ends early, expected ${what}`);
    return t;
  }

  private fail(t: Token, what: string): never {
    const found = t.kind === "string" ? `"${t.text}"` : t.kind === "flag" ? `<${t.text}>` : t.text;
    throw new UserError(`${this.source}: line ${t.line}: expected ${what}, found ${found}`);
  }

  number(what: string): number {
    const t = this.next(what);
    if (t.kind !== "number") this.fail(t, what);
    return t.value;
  }

  count(what: string): number {
    const t = this.next(what);
    if (t.kind !== "number" || !Number.isSafeInteger(t.value) || t.value < 0) this.fail(t, `${what} (a non-negative integer)`);
    return t.value;
  }

  string(what: string): string {
    const t = this.next(what);
    if (t.kind !== "string") this.fail(t, what);
    return t.text;
  }

  flag(what: string): string {
    const t = this.next(what);
    if (t.kind !== "flag") this.fail(t, what);
    return t.text;
  }

  get line(): number {
    return this.tokens[Math.min(this.pos, this.tokens.length - 1)]?.line ?? 1;
  }

  get done(): boolean {
    return this.pos >= this.tokens.length;
  }
}

/** Decodes TextGrid bytes: UTF-16 with a BOM (Praat writes it for non-ASCII text), else UTF-8. */
export function decodeTextGridBytes(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be").decode(bytes.subarray(2));
  const text = new TextDecoder("utf-8").decode(bytes);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Parses TextGrid text (long or short format); `source` names the file in errors. */
export function parseTextGrid(text: string, source: string): TextGrid {
  const r = new Reader(tokenize(text, source), source);
  const fileType = r.string('File type "ooTextFile"');
  if (fileType !== "ooTextFile" && fileType !== "ooTextFile short") {
    throw new UserError(`${source}: not a Praat text file (File type "${fileType}", expected "ooTextFile")`);
  }
  const objectClass = r.string('Object class "TextGrid"');
  if (objectClass !== "TextGrid") throw new UserError(`${source}: a Praat ${objectClass} object, not a TextGrid`);
  const xmin = r.number("the TextGrid's xmin");
  const xmax = r.number("the TextGrid's xmax");
  if (!(xmax >= xmin)) throw new UserError(`${source}: TextGrid xmax ${xmax} is before xmin ${xmin}`);
  const exists = r.flag("<exists> or <absent>");
  if (exists === "absent") return { xmin, xmax, tiers: [] };
  if (exists !== "exists") throw new UserError(`${source}: expected <exists> or <absent>, found <${exists}>`);
  const size = r.count("the number of tiers");
  const tiers: TextGridTier[] = [];
  for (let t = 1; t <= size; t++) {
    const cls = r.string(`tier ${t}'s class ("IntervalTier" or "TextTier")`);
    const name = r.string(`tier ${t}'s name`);
    const tmin = r.number(`tier ${t}'s xmin`);
    const tmax = r.number(`tier ${t}'s xmax`);
    const count = r.count(`tier ${t}'s number of ${cls === "TextTier" ? "points" : "intervals"}`);
    if (cls === "IntervalTier") {
      const intervals: TextGridInterval[] = [];
      for (let k = 1; k <= count; k++) {
        const line = r.line;
        const a = r.number(`tier "${name}" interval ${k} xmin`);
        const b = r.number(`tier "${name}" interval ${k} xmax`);
        const label = r.string(`tier "${name}" interval ${k} text`);
        if (!(b >= a)) throw new UserError(`${source}: line ${line}: tier "${name}" interval ${k} ends (${b}) before it starts (${a})`);
        const prev = intervals[intervals.length - 1];
        if (prev && a < prev.xmax - 1e-9) throw new UserError(`${source}: line ${line}: tier "${name}" interval ${k} starts (${a}) before interval ${k - 1} ends (${prev.xmax})`);
        intervals.push({ xmin: a, xmax: b, text: label });
      }
      tiers.push({ kind: "interval", name, xmin: tmin, xmax: tmax, intervals });
    } else if (cls === "TextTier") {
      const points: TextGridPoint[] = [];
      for (let k = 1; k <= count; k++) {
        const time = r.number(`tier "${name}" point ${k} time`);
        const mark = r.string(`tier "${name}" point ${k} mark`);
        points.push({ time, mark });
      }
      tiers.push({ kind: "point", name, xmin: tmin, xmax: tmax, points });
    } else {
      throw new UserError(`${source}: tier ${t} has unknown class "${cls}" (expected IntervalTier or TextTier)`);
    }
  }
  if (!r.done) throw new UserError(`${source}: line ${r.line}: unexpected content after the last tier`);
  return { xmin, xmax, tiers };
}

export function readTextGrid(file: string): TextGrid {
  const bytes = readUserFile(file, "a TextGrid");
  return parseTextGrid(decodeTextGridBytes(bytes), file);
}

/** The interval tier called `name`; a clear error if it is missing or a point tier. */
export function intervalTier(tg: TextGrid, name: string, source: string): TextGridInterval[] {
  const tier = tg.tiers.find((t) => t.name === name);
  if (!tier) throw new UserError(`${source}: no tier "${name}" (tiers: ${tg.tiers.map((t) => `"${t.name}"`).join(", ") || "none"})`);
  if (tier.kind !== "interval") throw new UserError(`${source}: tier "${name}" is a point tier, expected an interval tier`);
  return tier.intervals;
}

function quote(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/** Serialises a TextGrid in Praat's long text format (what Praat writes by default). */
export function formatTextGrid(tg: TextGrid): string {
  const out: string[] = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", `xmin = ${tg.xmin}`, `xmax = ${tg.xmax}`];
  if (tg.tiers.length === 0) {
    out.push("tiers? <absent>");
    return out.join("\n") + "\n";
  }
  out.push("tiers? <exists>", `size = ${tg.tiers.length}`, "item []:");
  tg.tiers.forEach((tier, t) => {
    out.push(`    item [${t + 1}]:`);
    out.push(`        class = ${tier.kind === "interval" ? '"IntervalTier"' : '"TextTier"'}`);
    out.push(`        name = ${quote(tier.name)}`, `        xmin = ${tier.xmin}`, `        xmax = ${tier.xmax}`);
    if (tier.kind === "interval") {
      out.push(`        intervals: size = ${tier.intervals.length}`);
      tier.intervals.forEach((iv, k) => {
        out.push(`        intervals [${k + 1}]:`, `            xmin = ${iv.xmin}`, `            xmax = ${iv.xmax}`, `            text = ${quote(iv.text)}`);
      });
    } else {
      out.push(`        points: size = ${tier.points.length}`);
      tier.points.forEach((p, k) => {
        out.push(`        points [${k + 1}]:`, `            number = ${p.time}`, `            mark = ${quote(p.mark)}`);
      });
    }
  });
  return out.join("\n") + "\n";
}
