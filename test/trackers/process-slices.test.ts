/**
 * The /proc scan in slices: the same counts as one pass, the event loop gets a turn between slices
 * of SCAN_SLICE_PIDS processes (so a host with thousands of processes never holds adverts and
 * timers for a whole pass), a cancelled pass stops, and the probe skips a tick while a pass runs.
 * A fake /proc tree in a temp dir.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { firstValueFrom, take, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/runtime/clock.ts";
import {
  type ProcessMatcher,
  type ProcessProbeSpec,
  processMatcher,
  processProbes$,
  SCAN_SLICE_PIDS,
  scanProcesses,
  scanProcessesSliced,
} from "../../src/trackers/process.probe.ts";
import { tempDirForFile } from "../support/temp.ts";

const root = tempDirForFile("vigil-proc-");
const PIDS = SCAN_SLICE_PIDS * 5 + 7;
for (let pid = 1; pid <= PIDS; pid++) {
  mkdirSync(join(root, String(pid)));
  const comm = pid % 3 === 0 ? "haproxy" : "sleep";
  writeFileSync(join(root, String(pid), "stat"), `${pid} (${comm}) S 1 1 1 0`);
  writeFileSync(join(root, String(pid), "cmdline"), `/usr/sbin/${comm}\0-f\0/etc/x.cfg\0`);
}
const matchers = [
  processMatcher({ name: "ha", process: "haproxy", args: null, paramMatch: "exact", fullCommand: false }),
  processMatcher({
    name: "full",
    process: "/usr/sbin/sleep",
    args: null,
    paramMatch: "exact",
    fullCommand: true,
  }),
];

describe("track_process: the /proc scan in slices", () => {
  it("counts exactly as one pass does", async () => {
    const one = scanProcesses(matchers, root);
    expect(one.get("ha")).toBe(Math.floor(PIDS / 3));
    expect(await scanProcessesSliced(matchers, root)).toEqual(one);
  });

  it("lets the event loop run between slices", async () => {
    let turns = 0;
    let done = false;
    const tick = (): void => {
      if (done) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    await scanProcessesSliced(matchers, root);
    done = true;
    // one yield per slice after the first: other work ran while the pass went on
    expect(turns).toBeGreaterThanOrEqual(Math.floor(PIDS / SCAN_SLICE_PIDS) - 1);
  });

  it("stops a cancelled pass at the next slice", async () => {
    let asked = 0;
    const counts = await scanProcessesSliced(matchers, root, () => ++asked > 0);
    expect(asked).toBe(1);
    expect(counts.get("ha")).toBeLessThan(Math.floor(PIDS / 3));
  });

  it("the probe skips a tick while a pass is still running, then reports", async () => {
    const clock = new VirtualClock();
    let started = 0;
    let finish: (m: Map<string, number>) => void = () => {};
    const spec: ProcessProbeSpec = {
      matcher: matchers[0] as ProcessMatcher,
      quorum: 1,
      quorumMax: null,
      gainDelayUs: 0,
      lossDelayUs: 0,
    };
    const got = firstValueFrom(
      processProbes$([spec], {
        clock,
        log: () => {},
        scanIntervalMs: 1000,
        scan: () => {
          started++;
          return new Promise((resolve) => {
            finish = resolve;
          });
        },
      }).pipe(take(1), toArray()),
    );
    clock.advanceTo(5_000_000); // five more ticks while the first pass is still running
    expect(started).toBe(1);
    finish(new Map([["ha", 2]]));
    expect(await got).toEqual([{ kind: "probe", tracker: "ha", ok: true, running: 2 }]);
  });
});
