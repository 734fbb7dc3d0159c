/**
 * Receive path of the production daemons, side by side (root, netns lab): adverts processed per
 * CPU-second by keepalived 2.2.7 and by `vigil run`, both running AT THE SAME TIME in one receiver
 * namespace and receiving the same flood (each raw socket gets its own copy of every datagram), so
 * the machine's noise falls on both alike. The receiver namespace is joined to a sender namespace by
 * 4 veth pairs; both daemons run 1,000 BACKUP instances (VRIDs 1–250 per veth, priority 100,
 * advert_int 255 s, so none times out during the run); bench/lab/blaster.ts sends the matching
 * priority-150 adverts round-robin at RATE/s for SECONDS, ROUNDS times. Per round and daemon:
 * CPU = user + system time of the VRRP process (/proc/PID/stat), processed = sent − the drops of that
 * process's own raw sockets (/proc/net/raw). PROF=DIR writes a CPU profile of the Vigil daemon there
 * (summarise it with `npx tsx bench/lab/prof-summary.ts DIR/*.cpuprofile 40 onRecvReady`);
 * VIGIL_NODE_ARGS adds node options (e.g. `--perf-basic-prof` for `perf record`).
 * Run: `npx tsx bench/daemon-rx.bench.ts` (RATE 20,000, SECONDS 5, ROUNDS 3). Prints figures; removes
 * everything it made, also on failure.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  addNs,
  buildVigil,
  type Daemon,
  loadAverage,
  percentile,
  procUsage,
  rawDropsOf,
  removeNs,
  sleepMs,
  startKeepalived,
  startVigil,
  threadCpuUs,
} from "./lab/daemons.ts";
import { blast, type Flood, floodConfig, floodLinks } from "./lab/flood.ts";

const RATE = Number(process.env.RATE ?? 20_000);
const SECONDS = Number(process.env.SECONDS ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const PROF = process.env.PROF;
const PER_IF = 250;
const prefix = `vg${process.pid % 10000}rx`;
const nsA = `${prefix}-a`;
const nsB = `${prefix}-b`;
const flood: Flood = { senderNs: nsA, receiverNs: nsB, ifs: [0, 1, 2, 3], perIf: PER_IF };

interface Sample {
  cpuUs: number;
  sysUs: number;
  drops: number;
  /** CPU of the main thread and of the other threads (GC helpers, thread pool). */
  mainUs: number;
  otherUs: number;
}
const sample = async (d: Daemon): Promise<Sample> => ({
  ...procUsage(d.pid),
  ...threadCpuUs(d.pid),
  drops: await rawDropsOf(nsB, d.pid),
});

const dir = mkdtempSync(join(tmpdir(), "vigil-drx-"));
const daemons: Daemon[] = [];
const out: string[] = [];
try {
  await buildVigil();
  await addNs(nsA);
  await addNs(nsB);
  await floodLinks(flood);
  const only = process.env.ONLY;
  // Each daemon is listed for the `finally` as soon as it runs.
  const started = (d: Daemon): Daemon => {
    daemons.push(d);
    return d;
  };
  const k = only === "vigil" ? undefined : started(await startKeepalived(nsB, dir, "k", floodConfig(flood)));
  const v =
    only === "keepalived"
      ? undefined
      : started(
          await startVigil(nsB, dir, "v", floodConfig(flood), [
            ...(PROF === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", PROF]),
            ...(process.env.VIGIL_NODE_ARGS ?? "").split(" ").filter((a) => a !== ""),
          ]),
        );
  await sleepMs(4000);
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const ratios: number[] = [];
  const loads: string[] = [loadAverage()];
  for (let round = 1; round <= ROUNDS; round++) {
    const k0 = k && (await sample(k));
    const v0 = v && (await sample(v));
    const b = await blast(flood, RATE, SECONDS);
    await sleepMs(500);
    const k1 = k && (await sample(k));
    const v1 = v && (await sample(v));
    loads.push(loadAverage());
    const rate = (s0: Sample | undefined, s1: Sample | undefined) => {
      if (s0 === undefined || s1 === undefined) return undefined;
      const processed = b.sent - (s1.drops - s0.drops);
      const cpuUs = s1.cpuUs - s0.cpuUs;
      return {
        processed,
        cpuUs,
        sysUs: s1.sysUs - s0.sysUs,
        mainUs: s1.mainUs - s0.mainUs,
        otherUs: s1.otherUs - s0.otherUs,
        perCpuS: processed / (cpuUs / 1e6),
      };
    };
    const kr = rate(k0, k1);
    const vr = rate(v0, v1);
    const line = (name: string, r: ReturnType<typeof rate>) =>
      r === undefined
        ? ""
        : `${name}: processed ${r.processed}, CPU ${(r.cpuUs / 1e6).toFixed(2)} s (system ${(r.sysUs / 1e6).toFixed(2)}; main thread ${(r.mainUs / 1e6).toFixed(2)}, others ${(r.otherUs / 1e6).toFixed(2)}) → ${fmt(r.perCpuS)}/CPU-s, ${((r.cpuUs / b.sent) | 0).toString()} µs/advert`;
    out.push(
      `round ${round}: sent ${b.sent} in ${b.seconds.toFixed(1)} s; ${line("keepalived", kr)}; ${line("vigil", vr)}`,
    );
    if (kr !== undefined && vr !== undefined) {
      ratios.push(vr.perCpuS / kr.perCpuS);
      out.push(
        `  ratio vigil / keepalived (adverts per CPU-second): ${(vr.perCpuS / kr.perCpuS).toFixed(2)}`,
      );
    }
    console.log(out.at(-1));
  }
  if (ratios.length > 0)
    out.push(
      `ratio over ${ratios.length} rounds: p50 ${percentile(ratios, 50).toFixed(2)}, min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)}`,
    );
  out.push(`load average before/after rounds: ${loads.join(" | ")}`);
  if (v !== undefined)
    for (const d of [v]) out.push(`vigil RSS ${(procUsage(d.pid).rssKb / 1024).toFixed(0)} MB`);
  if (k !== undefined) out.push(`keepalived VRRP RSS ${(procUsage(k.pid).rssKb / 1024).toFixed(0)} MB`);
} finally {
  for (const d of daemons) await d.proc.stop("SIGTERM", 10_000);
  for (const ns of [nsA, nsB]) await removeNs(ns);
  if (process.env.KEEP_DIR === undefined) rmSync(dir, { recursive: true, force: true });
}
console.log(out.join("\n"));
