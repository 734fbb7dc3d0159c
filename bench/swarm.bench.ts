/**
 * Swarm benchmark (issue 12): `vigil swarm`'s engine (simulations/swarm.ts) on N seeds of 10
 * virtual minutes each (each seed runs twice: the determinism self-check), on J worker threads.
 * Goal: ≥ 1,000 seeds per wall minute on a 2-core machine. Prints seeds per minute, the CPU time
 * of all threads (what the rate would be on idle cores), the virtual / wall ratio, and the load
 * average before and after (the machine is shared). Run: `npx tsx
 * bench/swarm.bench.ts` (BENCH_SWARM_SEEDS, default 1000; BENCH_SWARM_JOBS, default the core
 * count; BENCH_SWARM_FIRST, the first seed, default 1). Not a test: prints figures.
 */
import { availableParallelism, loadavg } from "node:os";
import { runSwarm } from "../simulations/swarm.ts";

const count = Number(process.env.BENCH_SWARM_SEEDS ?? 1000);
const jobs = Number(process.env.BENCH_SWARM_JOBS ?? availableParallelism());
const firstSeed = Number(process.env.BENCH_SWARM_FIRST ?? 1);
const durationUs = 10 * 60_000_000;

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
const loadBefore = load();
const cpuBefore = process.cpuUsage();
const summary = await runSwarm({
  firstSeed,
  count,
  jobs,
  durationUs,
  outDir: "swarm-failures",
  shrink: false,
});
const minutes = summary.wallMs / 60_000;
// CPU of every thread of the process (getrusage): what the run costs whatever else the machine does.
const cpu = process.cpuUsage(cpuBefore);
const cpuS = (cpu.user + cpu.system) / 1e6;
const passed = summary.outcomes.filter((o) => o.ok).length;
process.stdout.write(
  [
    `swarm bench: ${count} seeds from ${firstSeed} × 10 virtual minutes (each run twice), ${jobs} job(s), node ${process.version}`,
    `  wall ${(summary.wallMs / 1000).toFixed(1)} s → ${Math.round(count / minutes)} seeds/min (goal ≥ 1000)`,
    `  CPU ${cpuS.toFixed(1)} s (${Math.round((cpuS * 1000) / count)} ms per seed) → ${Math.round((count * 60 * jobs) / cpuS)} seeds/min on ${jobs} idle core(s)`,
    `  virtual/wall ${Math.round((count * durationUs) / 1000 / summary.wallMs)}× (one run per seed counted)`,
    `  ${passed}/${count} passed`,
    `  load average before ${loadBefore}, after ${load()}`,
    "",
  ].join("\n"),
);
process.exitCode = summary.ok ? 0 : 1;
