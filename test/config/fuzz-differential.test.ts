/**
 * Fuzzed-config differential against the real `keepalived -t` (2.2.7): a fixed, seeded sample of
 * mutants of the valid fixtures and examples/keepalived.conf (test/config/mutants.ts: repeated,
 * dropped, moved and swapped lines, doubled and appended words, boundary values, borrowed lines).
 * Every mutant that `vigil check` accepts silently — no error and no warning other than the
 * documented Vigil-only notes — must also be accepted silently by keepalived: otherwise Vigil missed
 * something keepalived reports (a repeated keyword, extra words after a block keyword, …).
 *
 * keepalived runs in a namespace holding the interfaces the seeds name (keepalived-t.ts). Runs whose
 * output is about this host rather than the file (a missing interface, script file or user) are
 * counted as not comparable. Run a larger sample by hand with
 * `VIGIL_FUZZ_COUNT=2000 VIGIL_FUZZ_SEED=7 npx vitest run test/config/fuzz-differential.test.ts`.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { skipUnlessLab } from "../support/env.ts";
import {
  complains,
  inPool,
  type KeepalivedRun,
  keepalivedTest,
  makeKeepalivedNs,
  runQuiet,
} from "./keepalived-t.ts";
import { mutants } from "./mutants.ts";

/** Vigil notes keepalived does not print (see keepalived-diff.test.ts VIGIL_ONLY). */
const VIGIL_ONLY = [
  /is parsed but not acted on by Vigil yet/,
  /^VIP option 'use_vmac' is parsed but not acted on/,
  /IPv6 requires VRRPv3 - using version 3/,
  /^'\S+' takes no value - keepalived ignores '.*' and /,
  /^virtual (route|rule) '.*': options? .* (is|are) not installed by Vigil - (route|rule) ignored$/,
  /^virtual route '.*': \S+ has host bits set - the kernel refuses such an IPv4 route/,
];

const COUNT = Number(process.env.VIGIL_FUZZ_COUNT ?? 400);
const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 20_240_607);
const FIXTURES = "test/config/fixtures/valid";

const seeds: Array<readonly [string, string]> = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".conf"))
  .sort()
  .map((f) => [f, readFileSync(join(FIXTURES, f), "latin1")] as const);
seeds.push(["keepalived.conf", readFileSync("examples/keepalived.conf", "latin1")]);

describe.skipIf(
  skipUnlessLab("fuzzed-config differential vs keepalived -t", { keepalived: true, netns: true }),
)("mutants vigil check accepts silently, keepalived -t accepts silently", () => {
  const ns = `vg${process.pid % 10000}c-fz`;
  const root = mkdtempSync(join(tmpdir(), "vigil-fz-"));
  beforeAll(() => makeKeepalivedNs(ns));
  afterAll(async () => {
    await runQuiet("ip", ["netns", "del", ns]);
    rmSync(root, { recursive: true, force: true });
  });

  it(`agrees on ${COUNT} mutants (seed ${SEED})`, { timeout: 120_000 }, async () => {
    const silent: Array<{ label: string; file: string }> = [];
    mutants(seeds, COUNT, SEED).forEach((m, i) => {
      const dir = join(root, `m${i}`);
      mkdirSync(dir);
      cpSync(join(FIXTURES, "include.d"), join(dir, "include.d"), { recursive: true });
      const file = join(dir, "keepalived.conf");
      writeFileSync(file, m.text, "latin1");
      const { diagnostics } = loadConfig(file, { configId: "lb1" });
      if (diagnostics.every((d) => d.severity === "warning" && VIGIL_ONLY.some((p) => p.test(d.message))))
        silent.push({ label: m.label, file });
    });
    const runs: KeepalivedRun[] = await inPool(silent, 3, (m, slot) => {
      const pidDir = join(root, `pid${slot}`);
      mkdirSync(pidDir, { recursive: true });
      return keepalivedTest(ns, m.file, pidDir);
    });
    const comparable = silent.filter((_, i) => !(runs[i] as KeepalivedRun).hostDependent);
    const disagreements = silent
      .map((m, i) => ({ m, k: runs[i] as KeepalivedRun }))
      .filter(({ k }) => !k.hostDependent && complains(k))
      .map(
        ({ m, k }) =>
          `${m.label} (rc ${k.code}):\n    ${k.messages.join("\n    ")}\n${readFileSync(m.file, "latin1")}`,
      );
    console.info(
      `fuzz differential: ${COUNT} mutants, ${silent.length} silent in Vigil, ${comparable.length} comparable, ${disagreements.length} drew a complaint from keepalived`,
    );
    // the sample must exercise the comparison, not pass by having nothing to compare
    expect(comparable.length).toBeGreaterThanOrEqual(Math.floor(COUNT / 8));
    expect(disagreements).toEqual([]);
  });
});
