/**
 * Side by side in one run (root, netns lab): adverts processed per CPU-second by keepalived 2.2.7 and
 * by a Vigil `Node`, both receiving the same flood through real raw sockets. Two namespaces joined by
 * 4 veth pairs; the receiver runs 1,000 BACKUP instances (VRIDs 1–250 on each veth, priority 100,
 * advert_int 255 s, so no instance times out and becomes MASTER during the run); the sender
 * (bench/lab/blaster.ts) sends matching priority-150 adverts for all 1,000, round-robin, at RATE/s
 * for SECONDS. CPU = the receiving process's user + system time over the flood (keepalived: its VRRP
 * child, /proc/PID/stat; Vigil: process.cpuUsage()); processed = adverts the daemon counted
 * (Vigil: `advert_rcvd`) or sent minus the receiver namespace's raw-socket drops (keepalived).
 * Run: `npx tsx bench/runtime-vs-keepalived.bench.ts` (RATE default 20,000, SECONDS default 5).
 * Not a test: prints figures. Removes everything it made, also on failure.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LabProcess, waitFor } from "../test/support/lab.ts";
import { addNs, inNs, procUsage, removeNs, sleepMs, startIn } from "./lab/daemons.ts";
import { blast, type Flood, floodConfig, floodLinks, floodVipNet } from "./lab/flood.ts";

const RATE = Number(process.env.RATE ?? 20_000);
const SECONDS = Number(process.env.SECONDS ?? 5);
const PER_IF = 250;
const prefix = `vg${process.pid % 10000}k`;
const nsA = `${prefix}-a`;
const nsB = `${prefix}-b`;
const flood: Flood = { senderNs: nsA, receiverNs: nsB, ifs: [0, 1, 2, 3], perIf: PER_IF };
const root = join(import.meta.dirname, "..");

const rawDrops = async (): Promise<number> => {
  const text = await inNs(nsB, "cat", ["/proc/net/raw"]);
  return text
    .split("\n")
    .slice(1)
    .map((l) => Number(l.trim().split(/\s+/).at(-1) ?? 0))
    .filter((n) => Number.isFinite(n))
    .reduce((a, b) => a + b, 0);
};
const procCpuUs = (pid: number): number => procUsage(pid).cpuUs;

const results: string[] = [];
const dir = mkdtempSync(join(tmpdir(), "vigil-kvb-"));
const procs: LabProcess[] = [];
try {
  await addNs(nsA);
  await addNs(nsB);
  await floodLinks(flood);

  // keepalived
  const conf = join(dir, "keepalived.conf");
  writeFileSync(conf, floodConfig(flood));
  const kp = startIn(nsB, "keepalived", "keepalived", [
    "-n",
    "-f",
    conf,
    "-p",
    join(dir, "k.pid"),
    "-r",
    join(dir, "v.pid"),
    "-c",
    join(dir, "c.pid"),
    "--vrrp",
  ]);
  procs.push(kp);
  const vrrpPid = await waitFor("keepalived VRRP child", async () => {
    try {
      const n = Number(readFileSync(join(dir, "v.pid"), "utf8").trim());
      return n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  });
  await sleepMs(3000);
  const kIdle0 = procCpuUs(vrrpPid);
  await sleepMs(SECONDS * 1000);
  const kIdleUs = procCpuUs(vrrpPid) - kIdle0;
  const kDrops0 = await rawDrops();
  const kCpu0 = procCpuUs(vrrpPid);
  const kSys0 = procUsage(vrrpPid).sysUs;
  const kb = await blast(flood, RATE, SECONDS);
  await sleepMs(500);
  const kCpuUs = procCpuUs(vrrpPid) - kCpu0;
  const kSysUs = procUsage(vrrpPid).sysUs - kSys0;
  const kDrops = (await rawDrops()) - kDrops0;
  const kProcessed = kb.sent - kDrops;
  await kp.stop();
  await sleepMs(1000);

  // Vigil
  // VIGIL_RX_PROF=DIR writes a CPU profile of the Vigil receiver there.
  const prof = process.env.VIGIL_RX_PROF;
  const vp = startIn(nsB, "vigil", "node", [
    ...(prof === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", prof]),
    "--import",
    "tsx",
    join(root, "bench/lab/vigil-rx.ts"),
    String(PER_IF),
    ...flood.ifs.map((k) => `vk${k}:${floodVipNet(k)}`),
  ]);
  procs.push(vp);
  await waitFor("vigil ready", async () => (vp.stdout.includes("ready") ? true : undefined));
  await sleepMs(3000);
  const sample = async (): Promise<{ cpuUs: number; sysUs: number; rcvd: number }> => {
    const before = vp.stdout.length;
    if (vp.pid !== undefined) process.kill(vp.pid, "SIGUSR1");
    const line = await waitFor("vigil sample", async () =>
      vp.stdout
        .slice(before)
        .split("\n")
        .find((l) => l.startsWith("{")),
    );
    return JSON.parse(line);
  };
  const vIdle0 = await sample();
  await sleepMs(SECONDS * 1000);
  const v0 = await sample();
  const vIdleUs = v0.cpuUs - vIdle0.cpuUs;
  const vDrops0 = await rawDrops();
  const vb = await blast(flood, RATE, SECONDS);
  await sleepMs(500);
  const v1 = await sample();
  const vCpuUs = v1.cpuUs - v0.cpuUs;
  const vSysUs = v1.sysUs - v0.sysUs;
  const vDrops = (await rawDrops()) - vDrops0;
  const vProcessed = v1.rcvd - v0.rcvd;

  const perCpuS = (n: number, us: number) => (us > 0 ? n / (us / 1e6) : Number.NaN);
  const k = perCpuS(kProcessed, kCpuUs);
  const v = perCpuS(vProcessed, vCpuUs);
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  // Without each daemon's idle CPU over an equal window (its timers while nothing arrives).
  const kNet = perCpuS(kProcessed, kCpuUs - kIdleUs);
  const vNet = perCpuS(vProcessed, vCpuUs - vIdleUs);
  results.push(
    `flood: ${RATE} adverts/s for ${SECONDS} s to 1,000 BACKUP instances (4 veths × 250 VRIDs)`,
    `keepalived: sent ${kb.sent} (${kb.seconds.toFixed(1)} s), raw drops ${kDrops}, processed ${kProcessed}, VRRP process CPU ${(kCpuUs / 1e6).toFixed(2)} s (system ${(kSysUs / 1e6).toFixed(2)} s) → ${fmt(k)} adverts/CPU-s`,
    `vigil:      sent ${vb.sent} (${vb.seconds.toFixed(1)} s), raw drops ${vDrops}, advert_rcvd ${vProcessed}, process CPU ${(vCpuUs / 1e6).toFixed(2)} s (system ${(vSysUs / 1e6).toFixed(2)} s) → ${fmt(v)} adverts/CPU-s`,
    `ratio vigil / keepalived (adverts per CPU-second): ${(v / k).toFixed(2)}`,
    `idle CPU over ${SECONDS} s without adverts: keepalived ${(kIdleUs / 1e6).toFixed(2)} s, vigil ${(vIdleUs / 1e6).toFixed(2)} s; ` +
      `net of idle: keepalived ${fmt(kNet)}, vigil ${fmt(vNet)} adverts/CPU-s, ratio ${(vNet / kNet).toFixed(2)}`,
  );
} finally {
  for (const p of procs) await p.stop();
  for (const ns of [nsA, nsB]) await removeNs(ns);
  rmSync(dir, { recursive: true, force: true });
}
console.log(results.join("\n"));
