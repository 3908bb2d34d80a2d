import { describe, expect, it } from "vitest";
import { combineSvgs, escapeXml, formatTick, groupedBarChartSvg, heatmapSvg, lineChartSvg, niceTicks, svgSize } from "../src/plot/svg.js";

/** A minimal well-formedness check: every element opened is closed, in order. */
function checkWellFormed(svg: string): Map<string, number> {
  const stack: string[] = [];
  const counts = new Map<string, number>();
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, closing, name, attrs, selfClosing] = m;
    // Attribute values must not contain raw markup characters.
    expect(attrs).not.toMatch(/[<>]/);
    if (closing) {
      expect(stack.pop()).toBe(name);
    } else {
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (!selfClosing) stack.push(name);
    }
  }
  expect(stack).toEqual([]);
  // No stray ampersands: every & starts an entity.
  expect(svg.replace(/&(amp|lt|gt|quot|apos);/g, "")).not.toContain("&");
  return counts;
}

describe("niceTicks", () => {
  it("uses 1-2-2.5-5 steps covering the range", () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-3.7, 12.1, 5)).toEqual([-5, 0, 5, 10, 15]);
    expect(niceTicks(0, 0.37, 4)).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    expect(niceTicks(0, 10, 4)).toEqual([0, 2.5, 5, 7.5, 10]);
    expect(niceTicks(0.12, 0.31, 5)).toEqual([0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
    expect(niceTicks(-5, 82, 5)).toEqual([-20, 0, 20, 40, 60, 80, 100]);
  });

  it("widens a degenerate range and survives non-finite input", () => {
    expect(niceTicks(0, 0, 5)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(5, 5, 5)).toEqual([4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6]);
    expect(niceTicks(1, 0, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(Number.NaN, 1)).toEqual([0, 1]);
  });

  it("formats ticks with the decimals their spacing needs", () => {
    const t = niceTicks(0, 10, 4);
    expect(t.map((v) => formatTick(v, t))).toEqual(["0.0", "2.5", "5.0", "7.5", "10.0"]);
    const u = niceTicks(0, 0.37, 4);
    expect(u.map((v) => formatTick(v, u))).toEqual(["0.0", "0.1", "0.2", "0.3", "0.4"]);
    const w = niceTicks(-3.7, 12.1, 5);
    expect(w.map((v) => formatTick(v, w))).toEqual(["-5", "0", "5", "10", "15"]);
  });
});

describe("svg charts", () => {
  const nasty = `a<b & "c" 'd'>`;

  it("escapes text", () => {
    expect(escapeXml(nasty)).toBe("a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
    const svg = lineChartSvg({ title: nasty, xLabels: [nasty], series: [{ label: nasty, values: [1] }], yLabel: nasty, xLabel: nasty });
    expect(svg).not.toContain(nasty);
    expect(svg).toContain("a&lt;b &amp; &quot;c&quot;");
    checkWellFormed(svg);
  });

  it("line chart: one path per series, a dot per finite value, gaps for null and NaN", () => {
    const svg = lineChartSvg({
      title: "t",
      xLabels: ["0", "1", "2", "3"],
      series: [
        { label: "A", values: [1, 2, null, 4] },
        { label: "B", values: [Number.NaN, 1, 1, 1] },
      ],
    });
    const counts = checkWellFormed(svg);
    expect(counts.get("svg")).toBe(1);
    expect(counts.get("path")).toBe(2);
    expect(counts.get("circle")).toBe(3 + 3 + 2); // points + legend markers
    // Series A restarts after its gap: two "M" commands.
    const pathA = /<path d="([^"]+)"/.exec(svg)![1];
    expect(pathA.match(/M/g)!.length).toBe(2);
    expect(svgSize(svg)).toEqual({ width: 640, height: 400 });
  });

  it("grouped bars: one rect per finite value, bars from 0 both ways", () => {
    const svg = groupedBarChartSvg({
      title: "bars",
      categories: ["pr", "sid"],
      series: [
        { label: "base", values: [2, -1] },
        { label: "refined", values: [3, Number.NaN] },
      ],
      width: 300,
      height: 200,
    });
    checkWellFormed(svg);
    const bars = [...svg.matchAll(/<rect [^>]*><title>/g)];
    expect(bars.length).toBe(3);
    expect(svgSize(svg)).toEqual({ width: 300, height: 200 });
  });

  it("heatmap: one cell per value, grey empty cells for null and NaN, values shown when asked", () => {
    const svg = heatmapSvg({
      title: "h",
      rowLabels: ["r0", "r1"],
      colLabels: ["c0", "c1", "c2"],
      values: [
        [1, null, -2],
        [Number.NaN, 0.5, 3],
      ],
      diverging: true,
      showValues: true,
      valueFormat: (v) => `${v.toFixed(1)}%`,
    });
    checkWellFormed(svg);
    const cells = [...svg.matchAll(/<rect [^>]*fill="(#[0-9a-f]{6})" stroke="#ffffff"><title>/g)].map((m) => m[1]);
    expect(cells.length).toBe(6);
    expect(cells.filter((c) => c === "#d9d9d9").length).toBe(2);
    for (const v of ["1.0%", "-2.0%", "0.5%", "3.0%"]) expect(svg).toContain(`>${v}</text>`);
    // Diverging: 3 is the extreme, so it gets the darkest red; 0.5 stays near white.
    expect(cells[5]).toBe("#b2182b");
  });

  it("combines charts as nested svgs", () => {
    const a = groupedBarChartSvg({ title: "a", categories: ["x"], series: [{ label: "s", values: [1] }], width: 200, height: 100 });
    const b = groupedBarChartSvg({ title: "b", categories: ["x"], series: [{ label: "s", values: [1] }], width: 300, height: 150 });
    const both = combineSvgs([a, b], { gap: 10, title: "ab" });
    const counts = checkWellFormed(both);
    expect(counts.get("svg")).toBe(3);
    expect(svgSize(both)).toEqual({ width: 300, height: 36 + 100 + 10 + 150 });
    expect(both).toContain('<svg x="0" y="146"');
    const side = combineSvgs([a, b], { columns: 2, gap: 10 });
    expect(svgSize(side)).toEqual({ width: 510, height: 150 });
  });
});
