/**
 * Tamper evidence and bad input: deliberate edits of a real journal segment (a conformance run
 * written through `FileJournal`) are each caught by `vigil replay` and named by their physical
 * line; plain (unchained) journals still get seq / time / line-number checks; `--verify` checks
 * recorded timers against the node's pending timers; the reader never throws on random byte edits.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MACHINE_VERSION } from "../../machines/events.ts";
import { replayCommand } from "../../src/cli/replay.ts";
import { FileJournal, JOURNAL_VERSION, readJournal } from "../../src/runtime/journal.ts";
import { runCase } from "../conformance/runner.ts";
import { tempDirForFile } from "../support/temp.ts";

const caseDir = (name: string) => join(import.meta.dirname, "..", "conformance", "cases", name);
const dir = tempDirForFile("vigil-tamper-");

const cli = async (args: string[]) => {
  let out = "";
  let err = "";
  const code = await replayCommand.run(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
};

/** The case's logical journal, and the same journal as one closed chained segment. */
const plain = runCase(caseDir("02-takeover-priority-100"), false).journal;
const segPath = join(dir, "good.jsonl");
{
  const f = new FileJournal(segPath, { flushLines: 4, sync: false });
  for (const l of plain.lines) f.append(l);
  f.close();
}
const seg = readFileSync(segPath, "utf8");
const rows = seg.split("\n").slice(0, -1);
const lineOf = (pred: (l: string) => boolean, from = 0): number => {
  const i = rows.findIndex((l, k) => k >= from && pred(l));
  if (i < 0) throw new Error("fixture changed: line not found");
  return i + 1;
};
const firstIn = lineOf((l) => l.startsWith('{"t":"in"'), 1);
const timerIn = lineOf((l) => l.includes('"kind":"timer"'));
const nextIn = lineOf((l) => l.startsWith('{"t":"in"') || /^[rR]/.test(l), timerIn);
const outLn = lineOf((l) => l.startsWith('{"t":"out"'));
const compact = lineOf((l) => /^[rR][0-9a-z]+\./.test(l));
const lastBody = rows.length - 1; // line before the trailer
const middleEndingBatch = lineOf((l) => l.at(-7) === ";", 2);
const middleNotEndingBatch = lineOf((l) => l.at(-7) === " ", firstIn);

const withRows = (f: (r: string[]) => string[]): string => `${f([...rows]).join("\n")}\n`;
const setRow = (n: number, g: (l: string) => string) =>
  withRows((r) => {
    r[n - 1] = g(r[n - 1] as string);
    return r;
  });
const keep = (n: number) => withRows((r) => r.slice(0, n)); // first n lines, cut at a line boundary

/** 27 deliberate edits: name, edited text, the physical line that must be named. */
const edits: Array<[string, string, number, string[]?]> = [
  ["truncated at a line boundary inside a write batch", keep(middleNotEndingBatch), middleNotEndingBatch],
  ["truncated at a write boundary (--strict)", keep(middleEndingBatch), middleEndingBatch, ["--strict"]],
  ["trailer removed (--strict)", keep(rows.length - 1), rows.length - 1, ["--strict"]],
  ["cut inside a line", seg.slice(0, seg.length - 10), rows.length],
  [
    "two input lines swapped",
    withRows((r) => {
      const a = r[firstIn - 1] as string;
      r[firstIn - 1] = r[timerIn - 1] as string;
      r[timerIn - 1] = a;
      return r;
    }),
    firstIn,
  ],
  [
    "input line duplicated",
    withRows((r) => [...r.slice(0, timerIn), r[timerIn - 1] as string, ...r.slice(timerIn)]),
    timerIn + 1,
  ],
  ["input line removed", withRows((r) => [...r.slice(0, timerIn - 1), ...r.slice(timerIn)]), timerIn],
  ["out line removed", withRows((r) => [...r.slice(0, outLn - 1), ...r.slice(outLn)]), outLn],
  [
    "atUs changed",
    setRow(timerIn, (l) => l.replace(/"atUs":(\d+)/, (_, d) => `"atUs":${Number(d) + 1}`)),
    timerIn,
  ],
  ["time going backwards", setRow(nextIn, (l) => l.replace(/"atUs":\d+/, '"atUs":0')), nextIn],
  [
    "duplicate seq",
    setRow(timerIn, (l) => l.replace(/"seq":(\d+)/, (_, d) => `"seq":${Number(d) - 1}`)),
    timerIn,
  ],
  [
    "timer for an actor that does not exist",
    setRow(timerIn, (l) => l.replace("instance:VI_1", "instance:VI_9")),
    timerIn,
  ],
  ["timer id changed", setRow(timerIn, (l) => l.replace(/"id":"[^"]+"/, '"id":"nope"')), timerIn],
  [
    "header config hash edited",
    // a different first character, whatever the hash (it depends on the temp dir's name)
    setRow(1, (l) =>
      l.replace(/"configHash":"(.)/, (_m, c: string) => `"configHash":"${c === "0" ? "1" : "0"}`),
    ),
    1,
  ],
  ["header version edited", setRow(1, (l) => l.replace(`"version":${JOURNAL_VERSION}`, '"version":2')), 1],
  [
    "header machine version edited",
    setRow(1, (l) => l.replace(`"machine":${MACHINE_VERSION}`, `"machine":${MACHINE_VERSION + 1}`)),
    1,
  ],
  [
    "header spec edited (priority)",
    setRow(1, (l) => l.replace('"basePriority":100', '"basePriority":101')),
    1,
  ],
  [
    "byte flipped in the middle",
    (() => {
      const b = Buffer.from(seg);
      const at = Math.floor(b.length / 2);
      b[at] = (b[at] as number) ^ 0x01;
      return b.toString("latin1");
    })(),
    seg.slice(0, Math.floor(Buffer.from(seg).length / 2)).split("\n").length,
  ],
  ["output edited", setRow(outLn, (l) => l.replace(/"to":"[A-Z]+"/, '"to":"FAULT"')), outLn],
  ["blank line inserted", withRows((r) => [...r.slice(0, 3), "", ...r.slice(3)]), 4],
  ["line appended after the trailer", `${seg}${rows[timerIn - 1]}\n`, rows.length + 1],
  ["trailer edited", setRow(rows.length, (l) => l.replace(/"lines":\d+/, '"lines":3')), rows.length],
  ["compact reference retargeted", setRow(compact, (l) => l.replace(/^([rR])[0-9a-z]+/, "$10")), compact],
  ["compact time delta edited", setRow(compact, (l) => l.replace(/\.([0-9a-z]+)/, ".1")), compact],
  ["header removed", withRows((r) => r.slice(1)), 1],
  ["checksum rewritten", setRow(lastBody, (l) => `${l.slice(0, -6)}AAAAAA`), lastBody],
  [
    "write-batch marker flipped",
    setRow(middleEndingBatch, (l) => `${l.slice(0, -7)} ${l.slice(-6)}`),
    middleEndingBatch,
  ],
];

describe("tamper evidence: every edit is caught and named by its physical line", () => {
  test("the untouched segment verifies, and is the same journal as the plain one", async () => {
    const ok = await cli([segPath, "--verify", "--strict"]);
    expect(ok.err).toContain("verify ok");
    expect(ok.code).toBe(0);
    const a = readJournal(seg);
    const b = readJournal(plain.text());
    if (!a.ok || !b.ok) throw new Error("unreadable fixture");
    expect(a.chained && a.closed).toBe(true);
    expect(a.lines.slice(1)).toEqual(b.lines.slice(1));
    expect(edits.length).toBeGreaterThanOrEqual(23);
  });

  test.each(edits)("%s", async (name, text, line, flags = []) => {
    expect(text).not.toBe(seg);
    const p = join(dir, `${name.replace(/\W+/g, "-")}.jsonl`);
    writeFileSync(p, text, name === "byte flipped in the middle" ? "latin1" : "utf8");
    const r = await cli([p, "--verify", ...flags]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain(`${p}:${line}:`);
  });

  test("an unclosed last segment ending at a write boundary is a warning without --strict", async () => {
    const p = join(dir, "crashed.jsonl");
    writeFileSync(p, keep(middleEndingBatch));
    const r = await cli([p, "--verify"]);
    expect(r.err).toContain(`${p}:${middleEndingBatch}: segment not closed (the daemon may have crashed`);
    expect(r.code).toBe(0);
  });
});

describe("plain journals: physical line numbers, seq and time checks", () => {
  const prow = plain.text().split("\n").slice(0, -1);
  const pin = prow.findIndex((l) => l.includes('"kind":"timer"'));
  /** The last `in` line: its time is after the first input's. */
  const lastIn = prow.findLastIndex((l) => l.startsWith('{"t":"in"'));
  test("an error after blank lines is named by its physical line", async () => {
    const r = [...prow.slice(0, 2), "", "", "", ...prow.slice(2)];
    const n = pin + 3; // index of the timer line after inserting three blanks
    r[n] = (r[n] as string).replace(/"seq":\d+/, '"seq":1');
    const p = join(dir, "plain-blank.jsonl");
    writeFileSync(p, `${r.join("\n")}\n`);
    const out = await cli([p]);
    expect(out.code).toBe(2);
    expect(out.err).toContain(`${p}:${n + 1}: invalid journal: seq 1 after seq`);
  });
  test.each([
    ["time going backwards", (l: string) => l.replace(/"atUs":\d+/, '"atUs":0'), "time goes backwards"],
    ["seq skipped", (l: string) => l.replace(/"seq":(\d+)/, (_, d) => `"seq":${Number(d) + 1}`), "missing"],
  ])("%s", async (_n, edit, msg) => {
    const r = [...prow];
    r[lastIn] = edit(r[lastIn] as string);
    const p = join(dir, "plain-edit.jsonl");
    writeFileSync(p, `${r.join("\n")}\n`);
    const out = await cli([p]);
    expect(out.code).toBe(2);
    expect(out.err).toContain(`${p}:${lastIn + 1}:`);
    expect(out.err).toContain(msg);
  });

  test("--verify: a timer that was not pending, or fired before it was due, fails with its line", async () => {
    const r = [...prow];
    r[pin] = (r[pin] as string).replace("instance:VI_1", "instance:VI_9");
    const p = join(dir, "plain-timer.jsonl");
    writeFileSync(p, `${r.join("\n")}\n`);
    const a = await cli([p, "--verify"]);
    expect(a.code).toBe(1);
    expect(a.err).toContain(`${p}:${pin + 1}: #`);
    expect(a.err).toContain("no such timer was pending");
    // The same timer moved earlier, to the time of the input before it (time stays non-decreasing).
    const prevAt = prow
      .slice(0, pin)
      .reverse()
      .map((l) => /"atUs":(\d+)/.exec(l)?.[1])
      .find((x) => x !== undefined);
    const early = [...prow];
    early[pin] = (early[pin] as string).replace(/"atUs":\d+/, `"atUs":${prevAt}`);
    writeFileSync(p, `${early.join("\n")}\n`);
    const b = await cli([p, "--verify"]);
    expect(b.code).toBe(1);
    expect(b.err).toContain(`${p}:${pin + 1}: #`);
    expect(b.err).toContain("fired before its due time");
    // Untouched: ok, but --strict refuses a journal without checksum chain.
    writeFileSync(p, plain.text());
    expect((await cli([p, "--verify"])).code).toBe(0);
    const s = await cli([p, "--verify", "--strict"]);
    expect(s.code).toBe(2);
    expect(s.err).toContain("without checksum chain");
  });

  test("another machine version is refused unless --force; no version at all too", async () => {
    const p = join(dir, "plain-machine.jsonl");
    writeFileSync(p, plain.text().replace(`"machine":${MACHINE_VERSION},`, '"machine":99,'));
    const a = await cli([p, "--verify"]);
    expect(a.code).toBe(2);
    expect(a.err).toContain("recorded with machine version 99");
    expect(a.err).toContain("--force");
    const b = await cli([p, "--verify", "--force"]);
    expect(b.code).toBe(0);
    expect(b.err).toContain("warning");
    writeFileSync(p, plain.text().replace(`"machine":${MACHINE_VERSION},`, ""));
    expect((await cli([p])).code).toBe(2);
  });

  test("the header is schema-decoded, not cast", async () => {
    const p = join(dir, "plain-header.jsonl");
    writeFileSync(p, plain.text().replace('"configHash":"', '"configHash":7,"x":"'));
    const r = await cli([p]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${p}:1: invalid journal`);
  });
});

describe("fuzz: random byte edits", () => {
  const good = Buffer.from(seg);
  test("of a chained segment: the reader never throws, and every edit is found", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (edits) => {
          const b = Buffer.from(good);
          for (const [at, v] of edits) b[at] = v;
          const text = b.toString("utf8");
          const r = readJournal(text);
          if (text !== seg) expect(r.ok).toBe(false);
          if (!r.ok) expect(r.error.line).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 400 },
    );
  });
  test("of a plain journal: the reader and vigil replay never crash", async () => {
    const text = Buffer.from(plain.text());
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: text.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 3,
        }),
        async (edits) => {
          const b = Buffer.from(text);
          for (const [at, v] of edits) b[at] = v;
          expect(() => readJournal(b.toString("utf8"))).not.toThrow();
          const p = join(dir, "fuzz.jsonl");
          writeFileSync(p, b);
          const r = await cli([p, "--verify"]);
          expect([0, 1, 2]).toContain(r.code);
        },
      ),
      { numRuns: 60 },
    );
  });
});
