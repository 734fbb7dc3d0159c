/**
 * Which configuration errors stop the daemon: Vigil's `fatal` flag (src/config/diagnostics.ts)
 * against the real keepalived 2.2.7 daemon, table-driven over every invalid fixture.
 *
 * For each fixture, keepalived runs as a daemon (`-n -l -D --vrrp`, its own pid files, its own
 * process group) inside a private network namespace holding the interfaces the fixtures name, for
 * about a second, and is then stopped by PID. It "starts" when it is still running then; it
 * "refuses" when it has exited (its VRRP process stops with "permanent error CONFIG" and the
 * parent terminates). Vigil must agree: `loadConfig(…).runnable` is undefined (some error is
 * fatal) exactly when keepalived refuses — so `vigil run` starts on every file keepalived starts
 * on, while `vigil check` keeps exiting 1 on any error like `keepalived -t`. Runs in parallel,
 * one namespace per lane. Needs root, netns and keepalived (skipUnlessLab). Not pure: the host.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isFatal } from "../../src/config/diagnostics.ts";
import { loadConfig } from "../../src/config/load.ts";
import { skipUnlessLab } from "../support/env.ts";
import { inPool, makeKeepalivedNs, runQuiet, spawnKeepalivedOn } from "./keepalived-t.ts";

/** How long keepalived is given to read its configuration and either settle or exit. */
const HOLD_MS = 1200;
/** Namespaces (and keepalived daemons) at a time. */
const LANES = 6;

/** Fixtures keepalived cannot be compared on, with the reason. */
const EXCLUDED: Readonly<Record<string, string>> = {
  "51-macro-loop.conf": "keepalived loops forever on mutually recursive macros, it never gets to start",
};

const dir = "test/config/fixtures/invalid";
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith(".conf") && EXCLUDED[f] === undefined)
  .sort()
  .map((f) => join(dir, f));

interface DaemonRun {
  readonly stayedUp: boolean;
  readonly output: string;
}

/** Starts keepalived's daemon on `file` in `ns`; after HOLD_MS reports whether it is still up. */
function keepalivedDaemon(ns: string, file: string, pidDir: string): Promise<DaemonRun> {
  return new Promise((resolve) => {
    const pid = (n: string): string => join(pidDir, `${basename(file)}.${n}`);
    const { child, output } = spawnKeepalivedOn(ns, file, pid, ["-n", "-l", "-D", "--vrrp"]);
    let exited = false;
    let stayedUp = false;
    const group = child.pid;
    const signal = (sig: NodeJS.Signals): void => {
      if (exited || group === undefined) return;
      try {
        process.kill(-group, sig);
      } catch {
        // already gone
      }
    };
    const kill = setTimeout(() => signal("SIGKILL"), HOLD_MS + 5000);
    const hold = setTimeout(() => {
      stayedUp = !exited;
      signal("SIGTERM");
    }, HOLD_MS);
    child.on("close", () => {
      exited = true;
      clearTimeout(kill);
      clearTimeout(hold);
      resolve({ stayedUp, output: output() });
    });
  });
}

describe.skipIf(
  skipUnlessLab("fatal configuration errors vs keepalived's daemon", { keepalived: true, netns: true }),
)("vigil run refuses exactly the files keepalived's daemon refuses", () => {
  const prefix = `vg${process.pid % 10000}f`;
  const lanes = Array.from({ length: LANES }, (_, i) => `${prefix}-${i}`);
  const pidDir = mkdtempSync(join(tmpdir(), "vigil-kfatal-"));
  afterAll(async () => {
    for (const ns of lanes) await runQuiet("ip", ["netns", "del", ns]);
    rmSync(pidDir, { recursive: true, force: true });
  });

  it("classifies every invalid fixture as keepalived's daemon does", { timeout: 180_000 }, async () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(70);
    for (const ns of lanes) await makeKeepalivedNs(ns);
    const runs = await inPool(fixtures, LANES, (file, lane) =>
      keepalivedDaemon(lanes[lane] as string, file, pidDir),
    );
    const rows = fixtures.map((file, i) => {
      const k = runs[i] as DaemonRun;
      const { runnable, diagnostics } = loadConfig(file, { configId: "lb1" });
      return {
        file: basename(file),
        keepalived: k.stayedUp ? "starts" : "refuses",
        vigil: runnable === undefined ? "refuses" : "starts",
        fatal: diagnostics.filter(isFatal).map((d) => `${d.line}: ${d.message}`),
        keepalivedSaid: k.output
          .split("\n")
          .filter((l) => /Line \d+\)|\(VI_|error|exited/.test(l))
          .map((l) => l.replace(/^.*?: /, ""))
          .slice(0, 6),
      };
    });
    const disagree = rows.filter((r) => r.keepalived !== r.vigil);
    expect(disagree, JSON.stringify(disagree, null, 2)).toEqual([]);
    // both outcomes are exercised, so the comparison can fail either way
    expect(rows.filter((r) => r.keepalived === "refuses").length).toBeGreaterThanOrEqual(8);
    expect(rows.filter((r) => r.keepalived === "starts").length).toBeGreaterThanOrEqual(40);
  });
});
