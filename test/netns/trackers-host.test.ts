/**
 * Tracker probes on the real host (root, no network): vrrp_script exit codes through the real
 * process runner, a timeout that kills the whole process group (the script's own child included,
 * asserted by PID), track_file over inotify (rewrite, non-numeric, delete and re-create; no watcher
 * left after stop), and track_process matching a `sleep` with a unique argv as it starts and dies.
 * Every process started here is killed by PID at the end.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProcessRunner } from "../../src/effects/process-runner.ts";
import { RealClock } from "../../src/runtime/real-clock.ts";
import { fileProbe$ } from "../../src/trackers/file.probe.ts";
import { processMatcher, processProbes$ } from "../../src/trackers/process.probe.ts";
import { type ProbeInput, scriptProbe$ } from "../../src/trackers/script.probe.ts";
import { skipUnlessLab } from "../support/env.ts";
import { waitFor } from "../support/lab.ts";

const suite = "host: tracker probes (scripts, files, processes)";

const alive = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
};
/** PIDs whose command line contains `marker`. */
const pidsWith = (marker: string): number[] =>
  readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, "latin1").includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(alive);

describe.skipIf(skipUnlessLab(suite, { root: true }))(suite, () => {
  let dir = "";
  const children: ChildProcess[] = [];
  // GNU sleep sums its arguments, so markers are durations: 1000.<run id><n> is unique and valid.
  const marker = `1000.${process.pid}${Date.now() % 100000}`;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "vigil-trackers-"));
    chmodSync(dir, 0o755);
  });
  afterAll(() => {
    for (const c of children) if (c.pid !== undefined && alive(c.pid)) process.kill(c.pid, "SIGKILL");
    for (const pid of pidsWith(marker)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  const script = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  it("reports exit codes and times out a script with its whole process group", async () => {
    const clock = new RealClock();
    const runner = createProcessRunner(clock);
    const status = join(dir, "status");
    writeFileSync(status, "0");
    const ok = script("chk.sh", `exit $(cat ${status})`);
    const results: ProbeInput[] = [];
    const logs: string[] = [];
    const sub = scriptProbe$(
      { name: "chk", argv: [ok], uid: 0, gid: 0, intervalMs: 1000, timeoutMs: 1000 },
      { clock, runner, log: (l) => logs.push(l) },
    ).subscribe((r) => results.push(r));
    await waitFor("first result", () => (results.length >= 1 ? true : undefined), 5000);
    writeFileSync(status, "1");
    await waitFor("a failure", () => (results.some((r) => !r.ok) ? true : undefined), 5000);
    sub.unsubscribe();
    expect(results[0]).toEqual({ kind: "probe", tracker: "chk", ok: true, exitStatus: 0 });
    expect(results.find((r) => !r.ok)).toEqual({ kind: "probe", tracker: "chk", ok: false, exitStatus: 1 });
    expect(logs).toContain("Script `chk` now returning 1");

    // A script that never exits and leaves a child behind: both die by the timeout.
    const hang = script("hang.sh", `sleep ${marker}1 &\nexec sleep ${marker}2`);
    const t0 = Date.now();
    const res2: ProbeInput[] = [];
    const logs2: string[] = [];
    const sub2 = scriptProbe$(
      { name: "hang", argv: [hang], uid: 0, gid: 0, intervalMs: 1000, timeoutMs: 1500 },
      { clock, runner, log: (l) => logs2.push(l) },
    ).subscribe((r) => res2.push(r));
    const pids = await waitFor(
      "both sleeps",
      () => (pidsWith(marker).length === 2 ? pidsWith(marker) : undefined),
      5000,
    );
    await waitFor("timed_out", () => res2[0], 6000);
    const tookMs = Date.now() - t0;
    sub2.unsubscribe();
    expect(res2[0]).toEqual({ kind: "probe", tracker: "hang", ok: false, timedOut: true });
    expect(tookMs).toBeGreaterThanOrEqual(1500);
    expect(tookMs).toBeLessThan(3400); // died of the SIGTERM, not the SIGKILL 2 s later (3.5 s)
    // the tick at 1 s finds the run (timeout 1.5 s) still going
    expect(logs2.join("\n")).toMatch(/Track script hang is already running, expect idle - skipping run/);
    await waitFor("no sleep left", () => (pids.every((p) => !alive(p)) ? true : undefined), 3000);
    expect(runner.running).toBe(0);
  }, 20_000);

  it("unsubscribing kills a running script by its group", async () => {
    const clock = new RealClock();
    const runner = createProcessRunner(clock);
    const m = `${marker}3`;
    const s = script("stop.sh", `sleep ${m}1 &\nexec sleep ${m}2`);
    const sub = scriptProbe$(
      { name: "s", argv: [s], uid: 0, gid: 0, intervalMs: 1000, timeoutMs: 60_000 },
      { clock, runner, log: () => {} },
    ).subscribe();
    const pids = await waitFor("sleeps", () => (pidsWith(m).length === 2 ? pidsWith(m) : undefined), 5000);
    sub.unsubscribe();
    await waitFor("gone", () => (pids.every((p) => !alive(p)) ? true : undefined), 3000);
  });

  it("track_file: rewrite, non-numeric, delete and re-create; no watcher after stop", async () => {
    const clock = new RealClock();
    const path = join(dir, "prio");
    writeFileSync(path, "5\n");
    const values: number[] = [];
    const logs: string[] = [];
    let watchers = 0;
    const sub = fileProbe$(
      { name: "tf", path },
      {
        clock,
        log: (l) => logs.push(l),
        onWatcher: (o) => {
          watchers += o ? 1 : -1;
        },
      },
    ).subscribe((r) => values.push(r.value ?? Number.NaN));
    const last = (v: number) =>
      waitFor(`value ${v} (got ${values.join(",")})`, () => (values.at(-1) === v ? true : undefined), 3000);
    await last(5);
    writeFileSync(path, "80\n");
    await last(80);
    writeFileSync(path, "hello\n");
    await last(0);
    writeFileSync(path, "-20");
    await last(-20);
    unlinkSync(path);
    await last(0);
    writeFileSync(path, "0x10\n");
    await last(16);
    writeFileSync(path, "99999999999\n");
    await waitFor(
      "invalid logged",
      () => (logs.some((l) => l.startsWith("Invalid number 99999999999")) ? true : undefined),
      3000,
    );
    expect(values.at(-1)).toBe(16);
    expect(watchers).toBe(1);
    sub.unsubscribe();
    expect(watchers).toBe(0);
    const n = values.length;
    writeFileSync(path, "7\n");
    await new Promise((r) => setTimeout(r, 200));
    expect(values).toHaveLength(n);
  });

  it("track_process: a sleep with a unique argv is counted as it starts and dies", async () => {
    const clock = new RealClock();
    const m = `${marker}4`;
    const results: ProbeInput[] = [];
    const spec = {
      matcher: processMatcher({
        name: "p",
        process: "sleep",
        args: `1 ${m}`,
        paramMatch: "exact",
        fullCommand: false,
      }),
      quorum: 1,
      quorumMax: null,
      gainDelayUs: 0,
      lossDelayUs: 0,
    };
    const sub = processProbes$([spec], { clock, log: () => {}, scanIntervalMs: 100 }).subscribe((r) =>
      results.push(r),
    );
    await waitFor("first scan", () => results[0], 3000);
    expect(results[0]).toEqual({ kind: "probe", tracker: "p", ok: false, running: 0 });
    const child = spawn("sleep", ["1", m], { stdio: "ignore" });
    children.push(child);
    await waitFor("running 1", () => (results.at(-1)?.running === 1 ? true : undefined), 3000);
    expect(results.at(-1)).toEqual({ kind: "probe", tracker: "p", ok: true, running: 1 });
    // a different argument does not match
    const other = spawn("sleep", ["1", `${m}5`], { stdio: "ignore" });
    children.push(other);
    child.kill("SIGKILL");
    await waitFor("running 0", () => (results.at(-1)?.running === 0 ? true : undefined), 3000);
    sub.unsubscribe();
    other.kill("SIGKILL");
  });
});
