/**
 * Dependency-free SVG charts: line charts, grouped bar charts and heatmaps as plain strings.
 * Hand-written on purpose: a few hundred lines here instead of a DOM + d3 stack in node. Output
 * is standalone SVG 1.1 (xmlns set, no scripts, no external fonts) that browsers, rsvg-convert and
 * ImageMagick render alike. Text widths are estimated (no font metrics), so layouts leave margin.
 */

export interface LineSeries {
  label: string;
  /** One value per x label; null (or NaN) leaves a gap in the line. */
  values: (number | null)[];
}

export interface LineChartSpec {
  title: string;
  xLabels: string[];
  series: LineSeries[];
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Values the y axis must include besides the data (e.g. [0, 1], or a shared range for small multiples). */
  yRange?: [number, number];
}

export interface BarChartSpec {
  title: string;
  categories: string[];
  series: { label: string; values: number[] }[];
  yLabel?: string;
  width?: number;
  height?: number;
  xLabel?: string;
  /** Values the y axis must include besides 0 and the data. */
  yRange?: [number, number];
}

export interface HeatmapSpec {
  title: string;
  rowLabels: string[];
  colLabels: string[];
  /** values[row][col]; null or NaN cells are drawn grey and empty. */
  values: (number | null)[][];
  /** symmetric colour scale around 0 */
  diverging?: boolean;
  valueFormat?: (v: number) => string;
  xLabel?: string;
  yLabel?: string;
  showValues?: boolean;
  /**
   * Colour scale limits (default: the data's range; with `diverging`, ±max |v|). Give the same
   * domain to several heatmaps so that their colours compare.
   */
  domain?: [number, number];
}

/** Okabe-Ito: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

const FONT = "font-family=\"Helvetica, Arial, sans-serif\"";
const MISSING_FILL = "#d9d9d9";

/** Escapes text for element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

function isFiniteNumber(v: number | null | undefined): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** Rounds away binary noise (0.30000000000000004) without changing meaningful digits. */
function clean(v: number): number {
  return Number.parseFloat(v.toPrecision(12));
}

/**
 * "Nice" axis ticks (Heckbert's 1-2-2.5-5-10 steps) covering [min, max] with about `count`
 * intervals: the first tick is <= min and the last >= max. A degenerate range is widened around
 * its value so that there are always at least two ticks.
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = niceStep((max - min) / Math.max(1, count));
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(clean(i * step));
  return ticks;
}

function niceStep(rough: number): number {
  const mag = 10 ** Math.floor(Math.log10(rough));
  const r = rough / mag;
  const nice = r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10;
  return clean(nice * mag);
}

/** Formats tick values with just enough decimals for their spacing. */
export function formatTick(v: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9) + (isHalfStep(step) ? 1 : 0)));
  const s = v.toFixed(decimals);
  return Number(s) === 0 ? (0).toFixed(decimals) : s; // no "-0.0"
}

function isHalfStep(step: number): boolean {
  const mag = 10 ** Math.floor(Math.log10(step) + 1e-9);
  return Math.abs(step / mag - 2.5) < 1e-6;
}

function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** Rough text width in px for the default sans-serif at `size` px. */
function textWidth(s: string, size: number): number {
  return s.length * size * 0.55;
}

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${fmt(x)}" y="${fmt(y)}"${attrs ? ` ${attrs}` : ""}>${escapeXml(s)}</text>`;
}

function open(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fmt(width)}" height="${fmt(height)}" viewBox="0 0 ${fmt(width)} ${fmt(height)}" ${FONT} font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${fmt(width)}" height="${fmt(height)}" fill="#ffffff"/>`,
    text(width / 2, 22, title, 'text-anchor="middle" font-size="15" font-weight="bold"'),
  ];
}

interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Horizontal legend under the title; returns its height (0 when there is nothing to show). */
function legend(out: string[], labels: readonly string[], x0: number, y: number, maxWidth: number, kind: "line" | "box"): number {
  if (labels.length === 0) return 0;
  let x = x0;
  let row = 0;
  for (let i = 0; i < labels.length; i++) {
    const w = 22 + textWidth(labels[i], 12) + 16;
    if (x > x0 && x + w > x0 + maxWidth) {
      x = x0;
      row++;
    }
    const cy = y + row * 18;
    const colour = PALETTE[i % PALETTE.length];
    if (kind === "line") {
      out.push(`<line x1="${fmt(x)}" y1="${fmt(cy)}" x2="${fmt(x + 16)}" y2="${fmt(cy)}" stroke="${colour}" stroke-width="2.5"/>`);
      out.push(`<circle cx="${fmt(x + 8)}" cy="${fmt(cy)}" r="3" fill="${colour}"/>`);
    } else {
      out.push(`<rect x="${fmt(x)}" y="${fmt(cy - 6)}" width="16" height="12" fill="${colour}"/>`);
    }
    out.push(text(x + 22, cy + 4, labels[i]));
    x += w;
  }
  return (row + 1) * 18 + 4;
}

/** Y axis with gridlines; returns the value -> pixel mapping. */
function yAxis(out: string[], f: Frame, ticks: readonly number[], yLabel: string | undefined): (v: number) => number {
  const lo = ticks[0];
  const hi = ticks[ticks.length - 1];
  const y = (v: number) => f.top + f.height - ((v - lo) / (hi - lo)) * f.height;
  for (const t of ticks) {
    const py = y(t);
    out.push(`<line x1="${fmt(f.left)}" y1="${fmt(py)}" x2="${fmt(f.left + f.width)}" y2="${fmt(py)}" stroke="${t === 0 ? "#888888" : "#e5e5e5"}" stroke-width="1"/>`);
    out.push(text(f.left - 6, py + 4, formatTick(t, ticks), 'text-anchor="end" fill="#333333"'));
  }
  out.push(`<line x1="${fmt(f.left)}" y1="${fmt(f.top)}" x2="${fmt(f.left)}" y2="${fmt(f.top + f.height)}" stroke="#333333"/>`);
  out.push(`<line x1="${fmt(f.left)}" y1="${fmt(f.top + f.height)}" x2="${fmt(f.left + f.width)}" y2="${fmt(f.top + f.height)}" stroke="#333333"/>`);
  if (yLabel) {
    const cx = 16;
    const cy = f.top + f.height / 2;
    out.push(text(cx, cy, yLabel, `text-anchor="middle" transform="rotate(-90 ${fmt(cx)} ${fmt(cy)})"`));
  }
  return y;
}

/** Category labels under the x axis, rotated when they would overlap. */
function xLabelsAt(out: string[], f: Frame, labels: readonly string[], xs: readonly number[], slot: number): number {
  const widest = Math.max(0, ...labels.map((l) => textWidth(l, 11)));
  const rotate = widest > slot - 4;
  const y = f.top + f.height + 16;
  labels.forEach((l, i) => {
    if (rotate) out.push(text(xs[i], y, l, `text-anchor="end" font-size="11" transform="rotate(-40 ${fmt(xs[i])} ${fmt(y)})"`));
    else out.push(text(xs[i], y, l, 'text-anchor="middle" font-size="11"'));
  });
  return rotate ? widest * 0.65 + 20 : 22;
}

function xAxisTitle(out: string[], f: Frame, below: number, label: string | undefined): void {
  if (label) out.push(text(f.left + f.width / 2, f.top + f.height + below + 14, label, 'text-anchor="middle"'));
}

function extent(values: Iterable<number | null>): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!isFiniteNumber(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return lo <= hi ? [lo, hi] : null;
}

/** Space the rotated x labels will need, so the plot frame can be sized before drawing. */
function xLabelSpace(labels: readonly string[], slot: number): number {
  const widest = Math.max(0, ...labels.map((l) => textWidth(l, 11)));
  return widest > slot - 4 ? widest * 0.65 + 20 : 22;
}

/** Categorical x axis, one point per label; null values break the line (isolated points show as dots). */
export function lineChartSvg(spec: LineChartSpec): string {
  const width = spec.width ?? 640;
  const height = spec.height ?? 400;
  const out = open(width, height, spec.title);
  const left = 64;
  const right = 20;
  const legendH = legend(out, spec.series.map((s) => s.label), left, 44, width - left - right, "line");
  const n = spec.xLabels.length;
  const plotW = width - left - right;
  const slot = n > 0 ? plotW / n : plotW;
  const below = xLabelSpace(spec.xLabels, slot) + (spec.xLabel ? 18 : 0);
  const f: Frame = { left, top: 40 + legendH + 8, width: plotW, height: Math.max(40, height - (40 + legendH + 8) - below - 8) };
  const range = extent([...spec.series.flatMap((s) => s.values), ...(spec.yRange ?? [])]) ?? [0, 1];
  const ticks = niceTicks(range[0], range[1], 5);
  const y = yAxis(out, f, ticks, spec.yLabel);
  const xs = spec.xLabels.map((_, i) => f.left + slot * (i + 0.5));
  const drop = xLabelsAt(out, f, spec.xLabels, xs, slot);
  xAxisTitle(out, f, drop, spec.xLabel);
  spec.series.forEach((s, si) => {
    const colour = PALETTE[si % PALETTE.length];
    let d = "";
    let penDown = false;
    for (let i = 0; i < n; i++) {
      const v = s.values[i];
      if (!isFiniteNumber(v)) {
        penDown = false;
        continue;
      }
      d += `${penDown ? "L" : "M"}${fmt(xs[i])} ${fmt(y(v))} `;
      penDown = true;
    }
    if (d) out.push(`<path d="${d.trim()}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (let i = 0; i < n; i++) {
      const v = s.values[i];
      if (isFiniteNumber(v)) out.push(`<circle cx="${fmt(xs[i])}" cy="${fmt(y(v))}" r="3" fill="${colour}"><title>${escapeXml(`${s.label}, ${spec.xLabels[i]}: ${v}`)}</title></circle>`);
    }
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Bars grow from 0 (the y range always includes 0); NaN values draw no bar. */
export function groupedBarChartSvg(spec: BarChartSpec): string {
  const width = spec.width ?? 640;
  const height = spec.height ?? 400;
  const out = open(width, height, spec.title);
  const left = 64;
  const right = 20;
  const legendH = legend(out, spec.series.map((s) => s.label), left, 44, width - left - right, "box");
  const n = spec.categories.length;
  const plotW = width - left - right;
  const slot = n > 0 ? plotW / n : plotW;
  const below = xLabelSpace(spec.categories, slot) + (spec.xLabel ? 18 : 0);
  const f: Frame = { left, top: 40 + legendH + 8, width: plotW, height: Math.max(40, height - (40 + legendH + 8) - below - 8) };
  const range = extent([0, ...spec.series.flatMap((s) => s.values), ...(spec.yRange ?? [])]) ?? [0, 1];
  const ticks = niceTicks(range[0], range[1], 5);
  const y = yAxis(out, f, ticks, spec.yLabel);
  const xs = spec.categories.map((_, i) => f.left + slot * (i + 0.5));
  xAxisTitle(out, f, xLabelsAt(out, f, spec.categories, xs, slot), spec.xLabel);
  const k = Math.max(1, spec.series.length);
  const groupW = slot * 0.8;
  const barW = groupW / k;
  const y0 = y(0);
  spec.series.forEach((s, si) => {
    const colour = PALETTE[si % PALETTE.length];
    for (let i = 0; i < n; i++) {
      const v = s.values[i];
      if (!isFiniteNumber(v)) continue;
      const x = xs[i] - groupW / 2 + si * barW;
      const top = Math.min(y(v), y0);
      const h = Math.abs(y(v) - y0);
      out.push(`<rect x="${fmt(x)}" y="${fmt(top)}" width="${fmt(Math.max(0.5, barW - 1))}" height="${fmt(h)}" fill="${colour}"><title>${escapeXml(`${s.label}, ${spec.categories[i]}: ${v}`)}</title></rect>`);
    }
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

type Rgb = [number, number, number];

// Sequential: white to dark blue; diverging: blue - white - red (ColorBrewer RdBu ends).
const SEQUENTIAL: Rgb[] = [[247, 251, 255], [107, 174, 214], [8, 48, 107]];
const DIVERGING: Rgb[] = [[33, 102, 172], [247, 247, 247], [178, 24, 43]];

function lerpColour(stops: readonly Rgb[], t: number): Rgb {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const u = x - i;
  return [0, 1, 2].map((c) => Math.round(stops[i][c] + (stops[i + 1][c] - stops[i][c]) * u)) as Rgb;
}

function hex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

function defaultValueFormat(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1000 || a < 0.001)) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/** Rows top to bottom, columns left to right, a colour bar on the right. */
export function heatmapSvg(spec: HeatmapSpec): string {
  const format = spec.valueFormat ?? defaultValueFormat;
  const nr = spec.rowLabels.length;
  const nc = spec.colLabels.length;
  const cell = (r: number, c: number): number | null => {
    const v = spec.values[r]?.[c];
    return isFiniteNumber(v) ? v : null;
  };
  const all: number[] = [];
  for (let r = 0; r < nr; r++) for (let c = 0; c < nc; c++) {
    const v = cell(r, c);
    if (v !== null) all.push(v);
  }
  let [lo, hi] = spec.domain ?? extent(all) ?? [0, 1];
  if (spec.diverging && spec.domain === undefined) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    [lo, hi] = [-m, m];
  }
  if (lo === hi) [lo, hi] = spec.diverging ? [lo - 1, hi + 1] : [Math.min(0, lo), hi === 0 ? 1 : Math.max(0, hi)];
  const stops = spec.diverging ? DIVERGING : SEQUENTIAL;
  const colourOf = (v: number) => lerpColour(stops, (v - lo) / (hi - lo));

  const labelW = Math.max(0, ...spec.rowLabels.map((l) => textWidth(l, 11)));
  const valueW = spec.showValues ? Math.max(0, ...all.map((v) => textWidth(format(v), 10))) : 0;
  const cellW = Math.max(28, Math.min(90, valueW + 10));
  const cellH = 22;
  const colLabelW = Math.max(0, ...spec.colLabels.map((l) => textWidth(l, 11)));
  const rotate = colLabelW > cellW - 4;
  // A rotated first column label reaches left of the grid: keep it inside the picture.
  const left = Math.max(12 + (spec.yLabel ? 22 : 0) + labelW + 8, rotate ? colLabelW * 0.72 - cellW / 2 + 8 : 0);
  const top = 40;
  const gridW = nc * cellW;
  const gridH = nr * cellH;
  const below = (rotate ? colLabelW * 0.72 + 18 : 22) + (spec.xLabel ? 20 : 0);
  const barX = left + gridW + 20;
  const barTicks = niceTicks(lo, hi, 4).filter((t) => t >= lo - 1e-12 && t <= hi + 1e-12);
  const barLabelW = Math.max(0, ...barTicks.map((t) => textWidth(formatTick(t, barTicks), 11)));
  // Bold titles run wider than the plain-text estimate.
  const width = Math.max(barX + 14 + 6 + barLabelW + 12, spec.title.length * 15 * 0.64 + 24);
  const height = top + gridH + below + 10;
  const out = open(width, height, spec.title);

  for (let r = 0; r < nr; r++) {
    out.push(text(left - 8, top + r * cellH + cellH / 2 + 4, spec.rowLabels[r], 'text-anchor="end" font-size="11"'));
    for (let c = 0; c < nc; c++) {
      const v = cell(r, c);
      const x = left + c * cellW;
      const y = top + r * cellH;
      const tip = `${spec.rowLabels[r]}, ${spec.colLabels[c]}: ${v === null ? "n/a" : format(v)}`;
      if (v === null) {
        out.push(`<rect x="${fmt(x)}" y="${fmt(y)}" width="${fmt(cellW)}" height="${cellH}" fill="${MISSING_FILL}" stroke="#ffffff"><title>${escapeXml(tip)}</title></rect>`);
        continue;
      }
      const rgb = colourOf(v);
      out.push(`<rect x="${fmt(x)}" y="${fmt(y)}" width="${fmt(cellW)}" height="${cellH}" fill="${hex(rgb)}" stroke="#ffffff"><title>${escapeXml(tip)}</title></rect>`);
      if (spec.showValues) {
        // Relative luminance decides black or white text so values stay legible on any colour.
        const lum = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
        out.push(text(x + cellW / 2, y + cellH / 2 + 4, format(v), `text-anchor="middle" font-size="10" fill="${lum < 0.5 ? "#ffffff" : "#000000"}"`));
      }
    }
  }
  const labelY = top + gridH + 14;
  spec.colLabels.forEach((l, c) => {
    const x = left + c * cellW + cellW / 2;
    if (rotate) out.push(text(x, labelY, l, `text-anchor="end" font-size="11" transform="rotate(-45 ${fmt(x)} ${fmt(labelY)})"`));
    else out.push(text(x, labelY, l, 'text-anchor="middle" font-size="11"'));
  });
  if (spec.xLabel) out.push(text(left + gridW / 2, top + gridH + below - 4, spec.xLabel, 'text-anchor="middle"'));
  if (spec.yLabel) {
    const cx = 16;
    const cy = top + gridH / 2;
    out.push(text(cx, cy, spec.yLabel, `text-anchor="middle" transform="rotate(-90 ${fmt(cx)} ${fmt(cy)})"`));
  }

  // Colour bar: stacked bands (no gradients, so every renderer shows the same thing).
  const bands = 24;
  const barH = Math.max(gridH, 60);
  for (let i = 0; i < bands; i++) {
    const v = hi - ((i + 0.5) / bands) * (hi - lo);
    out.push(`<rect x="${fmt(barX)}" y="${fmt(top + (i * barH) / bands)}" width="14" height="${fmt(barH / bands + 0.5)}" fill="${hex(colourOf(v))}"/>`);
  }
  out.push(`<rect x="${fmt(barX)}" y="${fmt(top)}" width="14" height="${fmt(barH)}" fill="none" stroke="#888888"/>`);
  for (const t of barTicks) {
    const y = top + ((hi - t) / (hi - lo)) * barH;
    out.push(`<line x1="${fmt(barX + 14)}" y1="${fmt(y)}" x2="${fmt(barX + 18)}" y2="${fmt(y)}" stroke="#333333"/>`);
    out.push(text(barX + 20, y + 4, formatTick(t, barTicks), 'font-size="11"'));
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Width and height of a root <svg> element as written by this module. */
export function svgSize(svg: string): { width: number; height: number } {
  const m = /<svg\b[^>]*?\swidth="([\d.]+)"[^>]*?\sheight="([\d.]+)"/.exec(svg);
  if (!m) throw new Error("svgSize: no <svg width height> root");
  return { width: Number(m[1]), height: Number(m[2]) };
}

/**
 * Small multiples: places whole charts of this module in one SVG (nested <svg> elements, which
 * SVG 1.1 allows), stacked in a column or laid out in rows of `columns` charts.
 */
export function combineSvgs(svgs: readonly string[], opts: { columns?: number; gap?: number; title?: string } = {}): string {
  const columns = Math.max(1, opts.columns ?? 1);
  const gap = opts.gap ?? 8;
  const sizes = svgs.map(svgSize);
  const titleH = opts.title ? 36 : 0;
  const colW: number[] = [];
  const rowH: number[] = [];
  sizes.forEach((s, i) => {
    const c = i % columns;
    const r = Math.floor(i / columns);
    colW[c] = Math.max(colW[c] ?? 0, s.width);
    rowH[r] = Math.max(rowH[r] ?? 0, s.height);
  });
  const width = Math.max(1, colW.reduce((a, b) => a + b, 0) + gap * Math.max(0, colW.length - 1));
  const height = titleH + rowH.reduce((a, b) => a + b, 0) + gap * Math.max(0, rowH.length - 1);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fmt(width)}" height="${fmt(Math.max(1, height))}" viewBox="0 0 ${fmt(width)} ${fmt(Math.max(1, height))}" ${FONT} font-size="12">`,
    `<rect x="0" y="0" width="${fmt(width)}" height="${fmt(Math.max(1, height))}" fill="#ffffff"/>`,
  ];
  if (opts.title) {
    out.splice(1, 0, `<title>${escapeXml(opts.title)}</title>`);
    out.push(text(width / 2, 24, opts.title, 'text-anchor="middle" font-size="17" font-weight="bold"'));
  }
  svgs.forEach((svg, i) => {
    const c = i % columns;
    const r = Math.floor(i / columns);
    const x = colW.slice(0, c).reduce((a, b) => a + b, 0) + gap * c;
    const y = titleH + rowH.slice(0, r).reduce((a, b) => a + b, 0) + gap * r;
    // Nested roots keep their own coordinates; only the position is added.
    out.push(svg.trim().replace(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, `<svg x="${fmt(x)}" y="${fmt(y)}"`));
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
