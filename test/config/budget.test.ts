/**
 * The preprocessor's one budget (issue 7 item 2): nested ~LST / ~SEQ and self-referencing
 * macros are charged before they expand, stop at the line that would exceed the budget with one
 * error, and repeated diagnostics are summarised, so `vigil check` ends with at most 1 MB of
 * diagnostics. The issue's examples run through the real CLI (a generous timeout is only a hang
 * guard; time and memory are measured by hand, see the report); random nestings run in-process
 * with a small budget.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: keepalived macros are literally written ${NAME}
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { PreprocessorLimits } from "../../src/config/budget.ts";
import { Diagnostics, formatDiagnostic, MAX_IDENTICAL_DIAGNOSTICS } from "../../src/config/diagnostics.ts";
import { loadConfig } from "../../src/config/load.ts";
import { Preprocessor } from "../../src/config/source.ts";
import { memFs } from "./memfs.ts";

const dir = mkdtempSync(join(tmpdir(), "vigil-budget-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MB = 1024 * 1024;
const ten = Array.from({ length: 10 }, (_, i) => i + 1).join(",");

/** The issue's inputs that ran for minutes or exhausted the heap. */
const EXAMPLES: Record<string, string> = {
  "seven nested ~LST on one line": `${"ABCDEFG"
    .split("")
    .map((v) => `~LST(${v},${ten})`)
    .join(" ")} x\n`,
  "three-line self-referencing macro": "$A=$A \\\n$A \\\n$A\n$A\n",
  "two-line self-referencing macro": "$A=$A \\\n$A\n$A\n",
  "three nested ~SEQ(…,1,1000)": "~SEQ(A,1,1000) ~SEQ(B,1,1000) ~SEQ(C,1,1000) foo\n",
};

/** Runs `node bin/vigil.js check -f FILE`; the timeout only guards against a hang. */
function check(file: string): Promise<{ code: number | null; outBytes: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["bin/vigil.js", "check", "-f", file], { stdio: "pipe" });
    let outBytes = 0;
    const kept: Buffer[] = [];
    const collect = (b: Buffer) => {
      outBytes += b.length;
      if (outBytes <= 2 * MB) kept.push(b);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const guard = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("close", (code) => {
      clearTimeout(guard);
      resolve({ code, outBytes, out: Buffer.concat(kept).toString("utf8") });
    });
  });
}

describe("vigil check on the issue's generator bombs", () => {
  for (const [name, text] of Object.entries(EXAMPLES)) {
    it(`${name}: one budget error, at most 1 MB of output, and it finishes`, async () => {
      const file = join(dir, `${name.replace(/\W+/g, "-")}.conf`);
      writeFileSync(file, text);
      const { code, outBytes, out } = await check(file);
      expect(code).toBe(1);
      expect(outBytes).toBeLessThanOrEqual(MB);
      expect(out).toMatch(/nothing more is generated|Macro expansion too deep/);
      expect(out).toMatch(/\(.*: Line [0-9]+\) /);
    }, 150_000);
  }
  it("the ~LST line is the issue's size", () => {
    expect(EXAMPLES["seven nested ~LST on one line"]?.length).toBeLessThan(215);
  });
});

describe("repeated diagnostics are summarised", () => {
  it("2^20 identical warnings become the first few and one '… and N more like this'", () => {
    const diags = new Diagnostics();
    for (let i = 0; i < 1_048_576; i++) diags.warn({ file: "f", line: 1, column: 1 }, "syntax", "same");
    const list = diags.list;
    expect(list.length).toBe(MAX_IDENTICAL_DIAGNOSTICS + 1);
    expect(list.at(-1)?.message).toBe(
      `… and ${(1_048_576 - MAX_IDENTICAL_DIAGNOSTICS).toLocaleString("en-US")} more like this: same`,
    );
  });

  it("distinct messages are capped too, and an error past the cap still counts as an error", () => {
    const diags = new Diagnostics();
    for (let i = 0; i < 100_000; i++) diags.warn({ file: "f", line: i + 1, column: 1 }, "syntax", `w${i}`);
    diags.error({ file: "f", line: 1, column: 1 }, "syntax", "late error");
    const size = diags.list.map(formatDiagnostic).join("\n").length;
    expect(size).toBeLessThan(MB);
    expect(diags.hasErrors).toBe(true);
    expect(diags.list.some((d) => /more diagnostics/.test(d.message))).toBe(true);
  });
});

describe("random nestings of generators and macros stay within the budget", () => {
  const limits: PreprocessorLimits = {
    generatedLines: 5_000,
    generatedBytes: 200_000,
    tokenLines: 4_000,
    tokens: 20_000,
    tokenBytes: 100_000,
    files: 10,
    inputBytes: 1 * MB,
  };
  const generator = fc.oneof(
    fc
      .tuple(fc.constantFrom("A", "B", "C"), fc.integer({ min: 1, max: 400 }))
      .map(([v, n]) => `~SEQ(${v},1,${n})`),
    fc
      .tuple(fc.constantFrom("A", "B", "C"), fc.integer({ min: -300, max: 300 }))
      .map(([v, n]) => `~SEQx(${v},${n})`),
    fc
      .array(fc.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 30 })
      .map((vs) => `~LST(L,${vs.join(",")})`),
  );
  const macro = fc.constantFrom(
    "$M=$M $M \\\n$M\n",
    "$M=$N $N\n$N=$M x\n",
    "$M=~SEQ(Z,1,50) $M\n",
    "$M=a \\\nb \\\nc\n",
    "$M=${_RANDOM 1 9} $M\n",
  );
  it("never throws; kept lines and diagnostics are bounded", () => {
    fc.assert(
      fc.property(
        fc.array(macro, { maxLength: 2 }),
        fc.array(
          fc.tuple(fc.array(generator, { maxLength: 5 }), fc.constantFrom("x", "$M", "${A}${B}", "")),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        (defs, lines) => {
          const text = defs.join("") + lines.map(([gens, body]) => `${gens.join(" ")} ${body}\n`).join("");
          const diags = new Diagnostics();
          const pre = new Preprocessor(memFs({ "m.conf": text }), diags, "lb1", "", undefined, limits);
          pre.readFile("m.conf");
          expect(pre.lines.length).toBeLessThanOrEqual(limits.tokenLines);
          expect(pre.lines.reduce((sum, l) => sum + l.tokens.length, 0)).toBeLessThanOrEqual(limits.tokens);
          expect(diags.list.map(formatDiagnostic).join("\n").length).toBeLessThan(MB);
          const { diagnostics } = loadConfig("m.conf", { fs: memFs({ "m.conf": text }), limits });
          expect(diagnostics.length).toBeLessThan(3000);
        },
      ),
      { numRuns: 150, seed: 3 },
    );
  });

  it("past the budget, the error is at the line that would exceed it and nothing more is generated", () => {
    const text = "~SEQ(A,1,100) a\n~SEQ(B,1,100) b\n~SEQ(C,1,4900) c\n~SEQ(D,1,10) d\n";
    const diags = new Diagnostics();
    const pre = new Preprocessor(memFs({ "m.conf": text }), diags, "lb1", "", undefined, limits);
    pre.readFile("m.conf");
    expect(diags.list.map((d) => [d.severity, d.line])).toEqual([["error", 3]]);
    expect(pre.lines.length).toBe(200);
  });

  it("words kept are capped too: lines of 500 words stop at the word limit with one error", () => {
    const text = `${"a ".repeat(500)}\n`.repeat(100);
    const diags = new Diagnostics();
    const pre = new Preprocessor(memFs({ "m.conf": text }), diags, "lb1", "", undefined, limits);
    pre.readFile("m.conf");
    expect(pre.lines.length).toBe(40);
    expect(diags.list.map((d) => [d.severity, d.line])).toEqual([["error", 41]]);
  });
});
