import { describe, expect, it } from "vitest";
import { decodeTextGridBytes, formatTextGrid, intervalTier, parseTextGrid } from "../src/brain/textgrid.js";
import { spokenWords } from "../src/brain/stimulus.js";

const LONG = `File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 2.5
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "word"
        xmin = 0
        xmax = 2.5
        intervals: size = 5
        intervals [1]:
            xmin = 0
            xmax = 0.5
            text = "sp"
        intervals [2]:
            xmin = 0.5
            xmax = 1.1
            text = "Alice"
        intervals [3]:
            xmin = 1.1
            xmax = 1.4
            text = "did"
        intervals [4]:
            xmin = 1.4
            xmax = 1.6
            text = "n't"
        intervals [5]:
            xmin = 1.6
            xmax = 2.5
            text = "say ""hi"""
    item [2]:
        class = "TextTier"
        name = "events"
        xmin = 0
        xmax = 2.5
        points: size = 1
        points [1]:
            number = 1.25
            mark = "beep"
`;

const SHORT = `File type = "ooTextFile"
Object class = "TextGrid"

0
2.5
<exists>
1
"IntervalTier"
"word"
0
2.5
2
0
1.2
"hello"
1.2
2.5
""
`;

describe("parseTextGrid", () => {
  it("reads the long format, with interval and point tiers and doubled quotes", () => {
    const tg = parseTextGrid(LONG, "long.TextGrid");
    expect(tg.xmin).toBe(0);
    expect(tg.xmax).toBe(2.5);
    expect(tg.tiers.map((t) => [t.name, t.kind])).toEqual([["word", "interval"], ["events", "point"]]);
    const words = intervalTier(tg, "word", "long.TextGrid");
    expect(words).toHaveLength(5);
    expect(words[1]).toEqual({ xmin: 0.5, xmax: 1.1, text: "Alice" });
    expect(words[4].text).toBe('say "hi"');
    const events = tg.tiers[1];
    expect(events.kind === "point" && events.points).toEqual([{ time: 1.25, mark: "beep" }]);
  });

  it("reads the short format", () => {
    const tg = parseTextGrid(SHORT, "short.TextGrid");
    expect(intervalTier(tg, "word", "short.TextGrid")).toEqual([
      { xmin: 0, xmax: 1.2, text: "hello" },
      { xmin: 1.2, xmax: 2.5, text: "" },
    ]);
  });

  it("round-trips through formatTextGrid and reads UTF-16 files", () => {
    const tg = parseTextGrid(LONG, "long.TextGrid");
    expect(parseTextGrid(formatTextGrid(tg), "again")).toEqual(tg);
    const utf16 = new Uint8Array([0xff, 0xfe, ...Buffer.from(SHORT, "utf16le")]);
    expect(parseTextGrid(decodeTextGridBytes(utf16), "u16").tiers[0].name).toBe("word");
  });

  it("rejects malformed files with the file and line", () => {
    expect(() => parseTextGrid(SHORT.replace('"TextGrid"', '"Sound"'), "f.TextGrid")).toThrow(/f\.TextGrid: a Praat Sound object, not a TextGrid/);
    expect(() => parseTextGrid("hello", "f.TextGrid")).toThrow(/f\.TextGrid: file ends early/);
    expect(() => parseTextGrid(LONG.replace("xmax = 1.1\n", "xmax = oops\n"), "f.TextGrid")).toThrow(/f\.TextGrid: line \d+: expected tier "word" interval 2 xmax, found "Alice"/);
    expect(() => parseTextGrid(LONG.replace("intervals: size = 5", "intervals: size = 6"), "f.TextGrid")).toThrow(/f\.TextGrid: line \d+: expected tier "word" interval 6 xmin, found "TextTier"/);
    expect(() => parseTextGrid(SHORT.replace('"hello"', '"hello'), "f.TextGrid")).toThrow(/unterminated string|expected/);
    expect(() => parseTextGrid(SHORT.replace("0\n1.2\n", "0.9\n0.1\n"), "f.TextGrid")).toThrow(/ends \(0\.1\) before it starts \(0\.9\)/);
    const tg = parseTextGrid(LONG, "long.TextGrid");
    expect(() => intervalTier(tg, "phones", "long.TextGrid")).toThrow(/no tier "phones" \(tiers: "word", "events"\)/);
    expect(() => intervalTier(tg, "events", "long.TextGrid")).toThrow(/point tier/);
  });
});

describe("spokenWords", () => {
  it("drops silences, normalises text and merges clitics into the word before", () => {
    const tg = parseTextGrid(LONG, "long.TextGrid");
    const { words, dropped } = spokenWords(intervalTier(tg, "word", "long.TextGrid"));
    expect(words).toEqual([
      { text: "alice", xmin: 0.5, xmax: 1.1 },
      { text: "didn't", xmin: 1.1, xmax: 1.6 },
      { text: "say hi", xmin: 1.6, xmax: 2.5 },
    ]);
    expect(dropped).toEqual([]);
  });
});
