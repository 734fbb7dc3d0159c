/**
 * The vrrp_script probe under the VirtualClock with a fake process runner: interval, skip while a
 * run is in progress, timeout (SIGTERM, SIGKILL 2 s later, timed_out), exit status after SIGTERM,
 * exec failure, keepalived's log lines, and nothing left (no run, no timer) after unsubscribe.
 */
import { describe, expect, it } from "vitest";
import type { ProcessRunner, RunExit, RunHandle, RunSpec } from "../../src/effects/process-runner.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { type ProbeInput, scriptProbe$ } from "../../src/trackers/script.probe.ts";

interface FakeRun {
  readonly pid: number;
  readonly spec: RunSpec;
  readonly kills: NodeJS.Signals[];
  exit(e: Partial<RunExit>): void;
}

function fakeRunner(opts: { failStart?: string } = {}) {
  const runs: FakeRun[] = [];
  let pid = 100;
  const runner: ProcessRunner = {
    start: (spec) => {
      if (opts.failStart !== undefined)
        return Promise.reject(Object.assign(new Error("no such file"), { code: opts.failStart }));
      const kills: NodeJS.Signals[] = [];
      let resolveExit: (e: RunExit) => void = () => {};
      const exit = new Promise<RunExit>((r) => {
        resolveExit = r;
      });
      const myPid = ++pid;
      runs.push({
        pid: myPid,
        spec,
        kills,
        exit: (e) =>
          resolveExit({
            pid: myPid,
            status: null,
            signal: null,
            timedOut: false,
            output: "",
            discardedBytes: 0,
            ...e,
          }),
      });
      const handle: RunHandle = { pid: myPid, exit, kill: (s = "SIGTERM") => void kills.push(s) };
      return Promise.resolve(handle);
    },
    killAll: () => {},
    running: 0,
  };
  return { runner, runs };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

function setup(over: { timeoutMs?: number; failStart?: string } = {}) {
  const clock = new VirtualClock();
  const { runner, runs } = fakeRunner(over.failStart === undefined ? {} : { failStart: over.failStart });
  const logs: string[] = [];
  const severities: Array<string | undefined> = [];
  const results: ProbeInput[] = [];
  const sub = scriptProbe$(
    { name: "chk", argv: ["/bin/chk"], uid: 0, gid: 0, intervalMs: 1000, timeoutMs: over.timeoutMs ?? 1000 },
    {
      clock,
      runner,
      log: (l, _detail, severity) => {
        logs.push(l);
        severities.push(severity);
      },
    },
  ).subscribe((r) => results.push(r));
  const at = async (ms: number): Promise<void> => {
    clock.advanceTo(ms * 1000);
    await flush();
  };
  return { clock, runs, logs, severities, results, sub, at };
}

describe("vrrp_script probe", () => {
  it("runs at once, then every interval, reporting each exit status", async () => {
    const t = setup();
    await t.at(0);
    expect(t.runs).toHaveLength(1);
    t.runs[0]?.exit({ status: 0 });
    await t.at(999);
    expect(t.runs).toHaveLength(1);
    await t.at(1000);
    expect(t.runs).toHaveLength(2);
    t.runs[1]?.exit({ status: 1 });
    await t.at(1001);
    await t.at(2000);
    t.runs[2]?.exit({ status: 1 });
    await t.at(2001);
    expect(t.results).toEqual([
      { kind: "probe", tracker: "chk", ok: true, exitStatus: 0 },
      { kind: "probe", tracker: "chk", ok: false, exitStatus: 1 },
      { kind: "probe", tracker: "chk", ok: false, exitStatus: 1 },
    ]);
    // keepalived logs a change of exit status only (the initial status is 0)
    expect(t.logs).toEqual(["Script `chk` now returning 1"]);
    expect(t.runs[0]?.spec).toMatchObject({ argv: ["/bin/chk"], uid: 0, gid: 0 });
    t.sub.unsubscribe();
  });

  it("skips a tick while the previous run is still going, with keepalived's line", async () => {
    const t = setup({ timeoutMs: 5000 });
    await t.at(0);
    await t.at(1000);
    await t.at(2000);
    expect(t.runs).toHaveLength(1);
    expect(t.logs).toEqual([
      "Track script chk is already running, expect idle - skipping run",
      "Track script chk is already running, expect idle - skipping run",
    ]);
    t.runs[0]?.exit({ status: 0 });
    await t.at(2500);
    await t.at(3000);
    expect(t.runs).toHaveLength(2);
    t.sub.unsubscribe();
  });

  it("times out: SIGTERM to the group, SIGKILL 2 s later, reported as timed_out", async () => {
    const t = setup({ timeoutMs: 500 });
    await t.at(0);
    await t.at(499);
    expect(t.runs[0]?.kills).toEqual([]);
    await t.at(500);
    expect(t.runs[0]?.kills).toEqual(["SIGTERM"]);
    await t.at(1000);
    expect(t.logs).toEqual(["Track script chk is being timed out, expect idle - skipping run"]);
    await t.at(2499);
    expect(t.runs[0]?.kills).toEqual(["SIGTERM"]);
    await t.at(2500);
    expect(t.runs[0]?.kills).toEqual(["SIGTERM", "SIGKILL"]);
    t.runs[0]?.exit({ signal: "SIGKILL" });
    await t.at(2501);
    expect(t.results).toEqual([{ kind: "probe", tracker: "chk", ok: false, timedOut: true }]);
    await t.at(3000);
    expect(t.runs).toHaveLength(2);
    t.sub.unsubscribe();
  });

  it("a script dying of our SIGTERM is timed_out and its group is SIGKILLed at once", async () => {
    const t = setup({ timeoutMs: 500 });
    await t.at(0);
    await t.at(500);
    t.runs[0]?.exit({ signal: "SIGTERM" });
    await t.at(501);
    expect(t.runs[0]?.kills).toEqual(["SIGTERM", "SIGKILL"]);
    expect(t.results).toEqual([{ kind: "probe", tracker: "chk", ok: false, timedOut: true }]);
    expect(t.clock.pending).toBe(1); // only the interval timer is left
    t.sub.unsubscribe();
  });

  it("a script that traps SIGTERM and exits reports its status, not timed_out", async () => {
    const t = setup({ timeoutMs: 500 });
    await t.at(0);
    await t.at(500);
    t.runs[0]?.exit({ status: 3 });
    await t.at(501);
    expect(t.results).toEqual([{ kind: "probe", tracker: "chk", ok: false, exitStatus: 3 }]);
    t.sub.unsubscribe();
  });

  it("a signal we did not send is a plain failure", async () => {
    const t = setup();
    await t.at(0);
    t.runs[0]?.exit({ signal: "SIGSEGV" });
    await t.at(1);
    expect(t.results).toEqual([{ kind: "probe", tracker: "chk", ok: false }]);
    t.sub.unsubscribe();
  });

  it("keeps killing a process that survives SIGKILL, logging keepalived's line", async () => {
    const t = setup({ timeoutMs: 500 });
    await t.at(0);
    await t.at(500);
    await t.at(2500);
    await t.at(4500);
    expect(t.runs[0]?.kills).toEqual(["SIGTERM", "SIGKILL", "SIGKILL"]);
    expect(t.logs).toContain("Script chk child (PID 101) failed to terminate after kill");
    t.sub.unsubscribe();
  });

  it("an exec failure counts as success, as keepalived's child exits 0", async () => {
    const t = setup({ failStart: "ENOENT" });
    await t.at(0);
    expect(t.results).toEqual([{ kind: "probe", tracker: "chk", ok: true, exitStatus: 0 }]);
    expect(t.logs[0]).toMatch(/^Error exec-ing command '\/bin\/chk', error 2: /);
    expect(t.severities[0]).toBe("error"); // keepalived: LOG_ALERT
    t.sub.unsubscribe();
  });

  it("unsubscribing kills the run in progress and leaves no timer", async () => {
    const t = setup({ timeoutMs: 500 });
    await t.at(100);
    t.sub.unsubscribe();
    expect(t.runs[0]?.kills).toEqual(["SIGKILL"]);
    expect(t.clock.pending).toBe(0);
    t.runs[0]?.exit({ signal: "SIGKILL" });
    await t.at(5000);
    expect(t.results).toEqual([]);
    expect(t.runs).toHaveLength(1);
  });
});
