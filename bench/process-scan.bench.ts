/**
 * Cost of one track_process /proc scan (src/trackers/process.probe.ts `scanProcesses`): comm only,
 * full command only, and both, over the host's current process table plus N extra `sleep`s started
 * here (killed by PID at the end). Run: `npx tsx bench/process-scan.bench.ts` (EXTRA=500 extra
 * processes, ROUNDS=50 scans per mode). Not a test: prints figures for docs/benchmarks.md.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { processMatcher, scanProcesses } from "../src/trackers/process.probe.ts";

const extra = Number(process.env.EXTRA ?? 500);
const rounds = Number(process.env.ROUNDS ?? 50);
const children: ChildProcess[] = [];
for (let i = 0; i < extra; i++) children.push(spawn("sleep", [`1000.${i}`], { stdio: "ignore" }));
await new Promise((r) => setTimeout(r, 1000));
const comm = processMatcher({
  name: "c",
  process: "sleep",
  args: null,
  paramMatch: "exact",
  fullCommand: false,
});
const full = processMatcher({
  name: "f",
  process: "sleep",
  args: "1000.1",
  paramMatch: "exact",
  fullCommand: false,
});
const procs = readdirSync("/proc").filter((n) => /^\d+$/.test(n)).length;
try {
  for (const [label, ms] of [
    ["comm", [comm]],
    ["full command", [full]],
    ["both", [comm, full]],
  ] as const) {
    scanProcesses(ms);
    const t0 = process.hrtime.bigint();
    let matched = 0;
    for (let i = 0; i < rounds; i++) matched = [...scanProcesses(ms).values()].reduce((a, b) => a + b, 0);
    const us = Number(process.hrtime.bigint() - t0) / 1000 / rounds;
    console.log(
      `${label}: ${procs} processes, ${us.toFixed(0)} µs/scan (${(us / procs).toFixed(2)} µs/process), matched ${matched}`,
    );
  }
} finally {
  for (const c of children) if (c.pid !== undefined) process.kill(c.pid, "SIGKILL");
}
