/**
 * On/off keywords read exactly as keepalived 2.2.7 reads each of them (the table and rules are in
 * bool-keywords.ts). Every keyword × {bare, on, off, true, false, yes, no, ON, True, junk}:
 * - Vigil alone: the value in the Config (the keyword alone, and after a bare one, so that "ignored"
 *   and "set off" differ) and the diagnostics on its line (keepalived's message as an error for a
 *   word check_true_false refuses; for a keyword keepalived turns on whatever follows, no error and
 *   Vigil's own warning);
 * - against the real `keepalived -t` (lab: root, netns, keepalived): the messages keepalived prints
 *   for the keyword's line are the ones Vigil reports there (Vigil-only warnings aside), and where
 *   -t shows the value (strict mode's refusal of authentication, script security) both agree.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Diagnostic } from "../../src/config/diagnostics.ts";
import { loadConfig } from "../../src/config/load.ts";
import { skipUnlessLab } from "../support/env.ts";
import { BOOL_CASES, type BoolCase, configWith, type Slot, WORDS, wordValue } from "./bool-keywords.ts";
import { inPool, keepalivedTest, makeKeepalivedNs, runQuiet } from "./keepalived-t.ts";
import { memFs } from "./memfs.ts";

const load = (text: string) => loadConfig("k.conf", { configId: "lb1", fs: memFs({ "k.conf": text }) });
const line = (kw: string, w: string | undefined): string => (w === undefined ? kw : `${kw} ${w}`);
const label = (k: BoolCase): string => `${k.slot} ${k.keyword}`;
const takesNoValue = (kw: string, w: string): string => `'${kw}' takes no value - keepalived ignores '${w}'`;
/** Vigil's notes keepalived does not print: not acted on yet, and the ignored word after an `on` keyword. */
const vigilOnly = (d: Diagnostic): boolean =>
  d.kind === "unsupported" || / takes no value - keepalived ignores /.test(d.message);

/** The keyword's value in the Config `vigil run` would run (tolerated errors do not stop it). */
function valueIn(k: BoolCase, fill: Partial<Record<Slot, readonly string[]>>): unknown {
  const r = load(configWith(fill).text);
  expect(r.runnable, `${label(k)}: ${r.diagnostics.map((d) => d.message).join("; ")}`).toBeDefined();
  return r.runnable === undefined ? undefined : k.value?.(r.runnable);
}

/** What keepalived's handler leaves: `on`, `default` (as if absent) or `off`; `primed` after a bare line. */
function expected(k: BoolCase, w: string | undefined, primed: boolean): "on" | "off" | "default" {
  const v = wordValue(w);
  if (k.rule === "on") return "on";
  if (k.rule === "off") return "default";
  if (v === "invalid") return primed ? "on" : "default";
  if (v) return "on";
  if (k.rule === "tf-set") return "on";
  if (k.rule === "tf-on-only") return primed ? "on" : "default";
  return "off";
}

/** The messages Vigil reports on line `n`: errors, and warnings keepalived also prints. */
const atLine = (ds: readonly Diagnostic[], n: number) => ({
  errors: ds.filter((d) => d.line === n && d.severity === "error").map((d) => d.message),
  warnings: ds.filter((d) => d.line === n && d.severity === "warning" && !vigilOnly(d)).map((d) => d.message),
});

describe("boolean keywords: Vigil reads each one as keepalived 2.2.7's handler does", () => {
  for (const k of BOOL_CASES) {
    describe(label(k), () => {
      it(`value: ${k.rule}`, () => {
        if (k.value === undefined) return;
        const prime = k.prime ?? k.keyword;
        const byState = {
          default: valueIn(k, {}),
          on: valueIn(k, { [k.slot]: [prime] }),
          off: valueIn(k, { [k.slot]: [`${k.keyword} off`] }),
        };
        // the projection sees the keyword: on differs from absent
        expect(byState.on, label(k)).not.toEqual(byState.default);
        if (k.rule === "tf") expect(byState.off).toEqual(byState.default);
        for (const w of WORDS)
          for (const primed of [false, true]) {
            const lines = primed ? [prime, line(k.keyword, w)] : [line(k.keyword, w)];
            const want = expected(k, w, primed);
            const got = valueIn(k, { [k.slot]: lines });
            expect(got, `${label(k)}: ${lines.join(" / ")} → ${want}`).toEqual(
              want === "off" ? valueIn(k, { [k.slot]: [prime, `${k.keyword} no`] }) : byState[want],
            );
            if (want === "off") expect(got).toEqual(byState.default);
          }
      });

      it("diagnostics on its line", () => {
        for (const w of WORDS) {
          const { text, lineNos } = configWith({ [k.slot]: [line(k.keyword, w)] });
          const r = load(text);
          const n = lineNos[k.slot]?.[0] as number;
          const invalid = wordValue(w) === "invalid" && k.rule !== "on" && k.rule !== "off";
          const errors = [
            ...(k.always === undefined ? [] : [k.always]),
            ...(invalid && k.invalid !== undefined ? [k.invalid(w as string)] : []),
          ];
          const got = atLine(r.diagnostics, n);
          expect(got.errors, `${line(k.keyword, w)}`).toEqual(errors);
          expect(got.warnings, `${line(k.keyword, w)}`).toEqual([]);
          const noValue = r.diagnostics
            .filter((d) => d.line === n && / takes no value /.test(d.message))
            .map((d) => d.message.replace(/ and [^']*$/, ""));
          expect(noValue).toEqual(
            (k.rule === "on" || k.rule === "off") && w !== undefined ? [takesNoValue(k.keyword, w)] : [],
          );
          if (k.rule === "tf-unsupported")
            expect(r.diagnostics.some((d) => d.line === n && d.kind === "unsupported")).toBe(true);
          // a refused word is a tolerated error: vigil check exits 1 (keepalived -t exits 5), vigil run runs
          expect(r.runnable).toBeDefined();
        }
      });
    });
  }
});

const AUTH = ["authentication {", "auth_type PASS", "auth_pass 1234", "}"];
const STRICT_AUTH = "(VI_1) Strict mode does not support authentication. Ignoring.";
const SECURITY = /^SECURITY VIOLATION - scripts are being executed/;

const suite = "boolean keywords vs keepalived -t";
describe.skipIf(skipUnlessLab(suite, { keepalived: true, netns: true }))(suite, () => {
  const ns = `vg${process.pid % 10000}c-bool`;
  const dir = mkdtempSync(join(tmpdir(), "vigil-bool-"));
  beforeAll(() => makeKeepalivedNs(ns));
  afterAll(async () => {
    await runQuiet("ip", ["netns", "del", ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** keepalived -t and Vigil on BASE filled with `fill`. */
  const both = async (fill: Partial<Record<Slot, readonly string[]>>, slot: number) => {
    const { text, lineNos } = configWith(fill);
    const sub = mkdtempSync(join(dir, `r${slot}-`));
    const file = join(sub, "keepalived.conf");
    writeFileSync(file, text);
    const k = await keepalivedTest(ns, file, sub);
    return { k, vigil: load(text).diagnostics, lineNos };
  };

  it("every keyword × word: keepalived's messages on the keyword's line are Vigil's", async () => {
    const runs = BOOL_CASES.flatMap((k) => WORDS.map((w) => ({ k, w })));
    const results = await inPool(runs, 2, async ({ k, w }, slot) => {
      const { k: ka, vigil, lineNos } = await both({ [k.slot]: [line(k.keyword, w)] }, slot);
      const n = lineNos[k.slot]?.[0] as number;
      const keepalived = ka.located
        .filter((l) => l.startsWith(`${n} `))
        .map((l) => l.slice(`${n} `.length))
        .sort();
      const { errors, warnings } = atLine(vigil, n);
      return { what: `${k.slot}: ${line(k.keyword, w)}`, keepalived, vigil: [...errors, ...warnings].sort() };
    });
    const differ = results.filter((r) => JSON.stringify(r.keepalived) !== JSON.stringify(r.vigil));
    expect(differ).toEqual([]);
    // the words keepalived refuses drew its message: the comparison is not vacuous
    expect(results.filter((r) => r.keepalived.length > 0).length).toBeGreaterThan(BOOL_CASES.length);
  }, 120_000);

  it("vrrp_strict is on whatever follows it; strict_mode follows check_true_false (authentication refused iff strict)", async () => {
    const runs = WORDS.flatMap((w) => [
      { kw: "vrrp_strict", w, fill: { global: [line("vrrp_strict", w)], instance: AUTH } },
      { kw: "strict_mode", w, fill: { instance: [...AUTH, line("strict_mode", w)] } },
    ]);
    const results = await inPool(runs, 2, async ({ kw, w, fill }, slot) => {
      const { k, vigil } = await both(fill, slot);
      const strict = kw === "vrrp_strict" || wordValue(w) === true;
      return {
        what: line(kw, w),
        strict,
        keepalived: k.messages.includes(STRICT_AUTH),
        vigil: vigil.some((d) => d.message === STRICT_AUTH),
      };
    });
    expect(results.filter((r) => r.keepalived !== r.strict || r.vigil !== r.strict)).toEqual([]);
  }, 60_000);

  it("enable_script_security is on whatever follows it: no SECURITY VIOLATION", async () => {
    const results = await inPool(WORDS, 2, async (w, slot) => {
      const { k, vigil } = await both({ global: [line("enable_script_security", w)] }, slot);
      return {
        what: line("enable_script_security", w),
        keepalived: k.messages.some((m) => SECURITY.test(m)),
        vigil: vigil.some((d) => SECURITY.test(d.message)),
      };
    });
    expect(results.filter((r) => r.keepalived || r.vigil)).toEqual([]);
    // and without the keyword both report it (the check can fail)
    const { k, vigil } = await both({}, 9);
    expect([k.messages.some((m) => SECURITY.test(m)), vigil.some((d) => SECURITY.test(d.message))]).toEqual([
      true,
      true,
    ]);
  }, 60_000);
});
