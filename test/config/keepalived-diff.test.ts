/**
 * Differential check of `vigil check` against the real `keepalived -t` (2.2.7) on the fixtures.
 *
 * keepalived -t runs as root inside a private network namespace that holds veth interfaces named
 * like the ones the fixtures use (eth0..eth3, eth9, va): without them keepalived stops at
 * "Non-existent interface specified in configuration" before its semantic checks, which would hide
 * most of what we want to compare. keepalived is never started as a daemon here.
 *
 * How keepalived's output is read (see docs/keepalived-reference.md §1 "Errors"):
 * - exit 0 = clean; 5 = any error or warning; 6 = script security; 143 = keepalived -t killed
 *   itself with SIGTERM (2.2.7 does this when a script has a non-root user) — then only the
 *   printed messages count;
 * - keepalived has no error/warning distinction in -t: almost every problem is "reported and
 *   carried on with a default", so "keepalived complains" = a non-zero exit (other than 143) or any
 *   printed message, once these are ignored: interface-existence lines (none should remain with the
 *   namespace), and the bare "Terminated" of the self-kill.
 *
 * The contract checked for every fixture:
 * (a) a Vigil error implies keepalived complains (Vigil never rejects what keepalived accepts);
 * (b) keepalived complaining implies Vigil reports something other than "not implemented yet";
 * (c) when keepalived is clean, every Vigil warning is one of the documented Vigil-only warnings
 *     (VIGIL_ONLY below): things keepalived accepts silently but Vigil points out on purpose.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { skipUnlessLab } from "../support/env.ts";
import { complains, keepalivedTest, makeKeepalivedNs, runQuiet } from "./keepalived-t.ts";

/** Vigil warnings that keepalived 2.2.7 does not print, each with the reason it is wanted. */
const VIGIL_ONLY: ReadonlyArray<{ readonly pattern: RegExp; readonly why: string }> = [
  { pattern: /is parsed but not acted on by Vigil yet/, why: "feature not implemented in Vigil" },
  { pattern: /^VIP option 'use_vmac' is parsed but not acted on/, why: "feature not implemented in Vigil" },
  { pattern: /IPv6 requires VRRPv3 - using version 3/, why: "keepalived switches silently" },
  {
    pattern: /^'\S+' takes no value - keepalived ignores '.*' and /,
    why: "keepalived's handler ignores the word silently (`vrrp_strict off` is on): a trap worth a warning",
  },
  {
    pattern:
      /^virtual (route|rule) '.*': options? .* (is|are) not installed by Vigil - (route|rule) ignored$/,
    why: "an option keepalived installs (route metrics, encap, nexthops, rule ports…) that Vigil cannot: the line is dropped",
  },
  {
    pattern: /^virtual route '.*': \S+ has host bits set - the kernel refuses such an IPv4 route/,
    why: "keepalived accepts it and its install fails at run time; Vigil installs the network",
  },
  {
    pattern: /^SECURITY VIOLATION/,
    why: "keepalived only reports it when the script file exists; Vigil does not look at script files",
  },
];

/** Fixtures keepalived cannot be compared on, with the reason. */
const EXCLUDED: Readonly<Record<string, string>> = {
  "51-macro-loop.conf": "keepalived -t loops forever on mutually recursive macros (Vigil reports an error)",
};

const fixtures = ["valid", "invalid"]
  .flatMap((d) =>
    readdirSync(join("test/config/fixtures", d))
      .filter((f) => f.endsWith(".conf") && EXCLUDED[f] === undefined)
      .sort()
      .map((f) => join("test/config/fixtures", d, f)),
  )
  .concat(["examples/keepalived.conf"]);

describe.skipIf(skipUnlessLab("config differential vs keepalived -t", { keepalived: true, netns: true }))(
  "vigil check agrees with keepalived -t",
  () => {
    const ns = `vg${process.pid % 10000}c-cfg`;
    const pidDir = mkdtempSync(join(tmpdir(), "vigil-kt-"));
    beforeAll(() => makeKeepalivedNs(ns));
    afterAll(async () => {
      await runQuiet("ip", ["netns", "del", ns]);
      rmSync(pidDir, { recursive: true, force: true });
    });

    it("compares enough fixtures", () => expect(fixtures.length).toBeGreaterThanOrEqual(70));

    for (const file of fixtures) {
      it(basename(file), async () => {
        const k = await keepalivedTest(ns, file, pidDir);
        const keepalivedComplains = complains(k);
        const { diagnostics } = loadConfig(file, { configId: "lb1" });
        const errors = diagnostics.filter((d) => d.severity === "error");
        const relevant = diagnostics.filter((d) => d.kind !== "unsupported");
        const context = `keepalived rc=${k.code}:\n  ${k.messages.join("\n  ")}\nvigil:\n  ${diagnostics
          .map((d) => `${d.severity} ${d.line} ${d.message}`)
          .join("\n  ")}`;
        // (a) Vigil rejects only what keepalived complains about
        if (errors.length > 0) expect(keepalivedComplains, context).toBe(true);
        // (b) whatever keepalived complains about, Vigil reports something
        if (keepalivedComplains) expect(relevant.length, context).toBeGreaterThan(0);
        // (c) with a clean keepalived, Vigil's warnings are all documented Vigil-only ones
        if (!keepalivedComplains) {
          const unexplained = diagnostics.filter((d) => !VIGIL_ONLY.some((v) => v.pattern.test(d.message)));
          expect(
            unexplained.map((d) => d.message),
            context,
          ).toEqual([]);
        }
      });
    }
  },
);
