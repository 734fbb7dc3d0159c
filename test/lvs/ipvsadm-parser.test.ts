/**
 * The ipvsadm text Vigil writes is accepted by ipvsadm's own parser: ipvsadm 1.31 (Debian bookworm's)
 * built from source against a libipvs that records instead of calling the kernel
 * (test/support/ipvsadm-parse/), fed every operation of every LVS fixture. The real ipvsadm cannot
 * show this here: it initialises IPVS before parsing, and this kernel has no IPVS. Needs the source
 * in VIGIL_IPVSADM_SRC (.ci/run fetches Debian's source package, pinned by hash), gcc and libpopt0:
 * skipped with a reason locally without them, a failure under CI=true.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, tsxCommand } from "../netns/support/vigil.ts";
import { inCi } from "../support/env.ts";

const suite = "ipvsadm 1.31's own parser accepts Vigil's ipvsadm lines";
const src = process.env.VIGIL_IPVSADM_SRC;
const hasGcc = spawnSync("sh", ["-c", "command -v gcc"]).status === 0;
const missing =
  src === undefined || !existsSync(join(src, "ipvsadm.c"))
    ? "VIGIL_IPVSADM_SRC does not name an unpacked ipvsadm-1.31 source tree (.ci/run fetches it)"
    : !hasGcc
      ? "gcc is not installed"
      : undefined;
if (missing !== undefined) {
  if (inCi) throw new Error(`${suite}: ${missing} — under CI=true a skipped test is a failure`);
  console.warn(`[skip] ${suite}: ${missing}`);
}

describe.skipIf(missing !== undefined)(suite, () => {
  it("every add/edit/delete line of every LVS fixture parses, none is refused", () => {
    const r = spawnSync(
      process.execPath,
      [...tsxCommand.slice(1), join(repoRoot, "test/support/ipvsadm-parse/check.ts")],
      {
        encoding: "utf8",
        env: { ...process.env },
        timeout: 120_000,
      },
    );
    const summary = /(\d+) lines accepted, (\d+) refused/.exec(r.stdout);
    expect(summary, r.stderr).not.toBeNull();
    expect(Number(summary?.[2])).toBe(0);
    expect(Number(summary?.[1])).toBeGreaterThan(100);
    // The parser read what Vigil meant (test/support/ipvsadm-parse/coverage.conf): persistence with a
    // netmask and an engine, one-packet scheduling, thresholds, an IPv6 fwmark, an expanded group range.
    expect(r.stdout).toContain(
      "add_service af=inet proto=17 addr=198.18.9.1 port=5060 fwmark=0 sched=rr flags=0x5 timeout=30 netmask=255.255.255.0 pe=sip",
    );
    expect(r.stdout).toMatch(
      /dest af=inet addr=198\.18\.5\.1 port=5060 fwd=0x0 weight=3 u_threshold=100 l_threshold=10/,
    );
    expect(r.stdout).toContain("add_service af=inet6 proto=6 addr=- port=0 fwmark=7 sched=rr");
    for (const a of ["198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.2.3"])
      expect(r.stdout).toContain(`ok  -A -t ${a}:`);
    expect(r.status).toBe(0);
  }, 150_000);
});
