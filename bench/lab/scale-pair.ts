/**
 * A Vigil MASTER / BACKUP pair at scale, for profiling by hand (not a benchmark): the topology and
 * configuration of bench/daemon-scale.bench.ts (N instances over 4 veth pairs, VRRP v3, advert_int
 * S), Vigil only, started with VIGIL_NODE_ARGS; prints both PIDs, holds HOLD_S seconds (printing each
 * daemon's CPU % per 10 s from the backup's start), then writes each daemon's output to OUT_DIR (its
 * stdout also with a marker line every 10 s, `scale-pair-0|1.marked.log`: for `--trace-opt` and the
 * like) and removes everything (KEEP_DIR: not the directory with the configurations and journals).
 * `npx tsx bench/lab/scale-pair.ts N S` (root). Not pure: namespaces and processes.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  addNs,
  buildVigil,
  type Daemon,
  loadAverage,
  procCpuNs,
  removeNs,
  scaleConf,
  sleepMs,
  startVigil,
  vethPair,
} from "./daemons.ts";

const [nText = "250", sText = "1"] = process.argv.slice(2);
const HOLD_S = Number(process.env.HOLD_S ?? 60);
const OUT_DIR = process.env.OUT_DIR ?? tmpdir();
const args = (process.env.VIGIL_NODE_ARGS ?? "").split(/\s+/).filter((a) => a !== "");
const prefix = `vg${process.pid % 1000}sp`;
const [a, b] = [`${prefix}-a`, `${prefix}-b`];
const dir = mkdtempSync(join(tmpdir(), "vigil-pair-"));
const running: Daemon[] = [];
try {
  await buildVigil();
  for (const ns of [a, b]) await addNs(ns);
  for (const k of [0, 1, 2, 3]) await vethPair(a, b, `sc${k}`, `198.19.${30 + k}`);
  const n = Number(nText);
  const s = Number(sText);
  running.push(await startVigil(a, dir, "master", scaleConf(n, s, 150, "MASTER"), args));
  await sleepMs(3_000);
  running.push(await startVigil(b, dir, "backup", scaleConf(n, s, 100, "BACKUP"), args));
  console.log(`master ${running[0]?.pid} backup ${running[1]?.pid}; holding ${HOLD_S} s`);
  // Every 10 s a marker line in each daemon's output file, so what it printed can be told by time.
  const marks = running.map(() => [] as string[]);
  const seen = running.map(() => 0);
  let cpu = running.map((d) => procCpuNs(d.pid));
  for (let t = 0; t < HOLD_S; t += 10) {
    await sleepMs(Math.min(10, HOLD_S - t) * 1000);
    const now = running.map((d) => procCpuNs(d.pid));
    const pct = now.map((ns, i) => ((100 * (ns - (cpu[i] ?? 0))) / 10e9).toFixed(2));
    console.log(`${t}–${t + 10} s: CPU % master ${pct[0]}, backup ${pct[1]} (load ${loadAverage()})`);
    cpu = now;
    for (const [i, d] of running.entries()) {
      marks[i]?.push(d.proc.stdout.slice(seen[i]), `=== ${t + 10} s\n`);
      seen[i] = d.proc.stdout.length;
    }
  }
  for (const [i, m] of marks.entries())
    writeFileSync(join(OUT_DIR, `scale-pair-${i}.marked.log`), m.join(""));
} finally {
  // Every daemon stopped and both namespaces removed, whatever fails on the way (an OUT_DIR that
  // cannot be written must not leave them behind).
  try {
    for (const [i, d] of running.entries()) {
      await d.proc.stop("SIGTERM", 15_000);
      try {
        writeFileSync(join(OUT_DIR, `scale-pair-${i === 0 ? "master" : "backup"}.log`), d.proc.output);
      } catch (e) {
        console.error(`cannot write the daemon's output to ${OUT_DIR}: ${String(e)}`);
      }
    }
  } finally {
    for (const ns of [a, b]) await removeNs(ns);
    if (process.env.KEEP_DIR === undefined) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir} (configurations, journals)`);
  }
}
