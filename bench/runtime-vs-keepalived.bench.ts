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

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabProcess, mustRun, run, waitFor } from "../test/support/lab.ts";

const RATE = Number(process.env.RATE ?? 20_000);
const SECONDS = Number(process.env.SECONDS ?? 5);
const PER_IF = 250;
const IFS = [0, 1, 2, 3];
const prefix = `vg${process.pid % 10000}k`;
const nsA = `${prefix}-a`;
const nsB = `${prefix}-b`;
const vipNet = (k: number) => `198.19.${100 + k}`;
const ifArgs = IFS.map((k) => `vk${k}:${vipNet(k)}`);
const root = join(import.meta.dirname, "..");
const TICK_US = 10_000; // CLK_TCK = 100

const inNs = (ns: string, cmd: string, args: string[]) => mustRun("ip", ["netns", "exec", ns, cmd, ...args]);
const start = (ns: string, label: string, cmd: string, args: string[]): LabProcess =>
  new LabProcess(
    label,
    spawn("ip", ["netns", "exec", ns, cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] }),
  );

const rawDrops = async (): Promise<number> => {
  const text = await inNs(nsB, "cat", ["/proc/net/raw"]);
  return text
    .split("\n")
    .slice(1)
    .map((l) => Number(l.trim().split(/\s+/).at(-1) ?? 0))
    .filter((n) => Number.isFinite(n))
    .reduce((a, b) => a + b, 0);
};
const procStat = (pid: number): { cpuUs: number; sysUs: number } => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  // utime, stime (fields 14, 15)
  return { cpuUs: (Number(rest[11]) + Number(rest[12])) * TICK_US, sysUs: Number(rest[12]) * TICK_US };
};
const procCpuUs = (pid: number): number => procStat(pid).cpuUs;
const blast = async (): Promise<{ sent: number; errors: number; seconds: number }> => {
  const r = await run(
    "ip",
    [
      "netns",
      "exec",
      nsA,
      "node",
      "--import",
      "tsx",
      join(root, "bench/lab/blaster.ts"),
      String(RATE),
      String(SECONDS),
      String(PER_IF),
      ...ifArgs,
    ],
    (SECONDS + 60) * 1000,
  );
  if (r.code !== 0) throw new Error(`blaster failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
};

const keepalivedConf = (): string =>
  IFS.flatMap((k) =>
    Array.from(
      { length: PER_IF },
      (_, i) => `vrrp_instance VI_${k}_${i + 1} {
  state BACKUP
  interface vk${k}
  virtual_router_id ${i + 1}
  priority 100
  advert_int 255
  virtual_ipaddress {
    ${vipNet(k)}.${i + 1}
  }
}
`,
    ),
  ).join("");

const results: string[] = [];
const dir = mkdtempSync(join(tmpdir(), "vigil-kvb-"));
const procs: LabProcess[] = [];
try {
  await mustRun("ip", ["netns", "add", nsA]);
  await mustRun("ip", ["netns", "add", nsB]);
  for (const ns of [nsA, nsB]) await inNs(ns, "ip", ["link", "set", "lo", "up"]);
  for (const k of IFS) {
    await mustRun("ip", [
      "link",
      "add",
      `vk${k}`,
      "netns",
      nsA,
      "type",
      "veth",
      "peer",
      "name",
      `vk${k}`,
      "netns",
      nsB,
    ]);
    await inNs(nsA, "ip", ["addr", "add", `198.19.${200 + k}.1/24`, "dev", `vk${k}`]);
    await inNs(nsB, "ip", ["addr", "add", `198.19.${200 + k}.2/24`, "dev", `vk${k}`]);
    for (const ns of [nsA, nsB]) await inNs(ns, "ip", ["link", "set", `vk${k}`, "up"]);
  }

  // keepalived
  const conf = join(dir, "keepalived.conf");
  writeFileSync(conf, keepalivedConf());
  const kp = start(nsB, "keepalived", "keepalived", [
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
  await new Promise((r) => setTimeout(r, 3000));
  const kIdle0 = procCpuUs(vrrpPid);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const kIdleUs = procCpuUs(vrrpPid) - kIdle0;
  const kDrops0 = await rawDrops();
  const kCpu0 = procCpuUs(vrrpPid);
  const kSys0 = procStat(vrrpPid).sysUs;
  const kb = await blast();
  await new Promise((r) => setTimeout(r, 500));
  const kCpuUs = procCpuUs(vrrpPid) - kCpu0;
  const kSysUs = procStat(vrrpPid).sysUs - kSys0;
  const kDrops = (await rawDrops()) - kDrops0;
  const kProcessed = kb.sent - kDrops;
  await kp.stop();
  await new Promise((r) => setTimeout(r, 1000));

  // Vigil
  // VIGIL_RX_PROF=DIR writes a CPU profile of the Vigil receiver there.
  const prof = process.env.VIGIL_RX_PROF;
  const vp = start(nsB, "vigil", "node", [
    ...(prof === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", prof]),
    "--import",
    "tsx",
    join(root, "bench/lab/vigil-rx.ts"),
    String(PER_IF),
    ...ifArgs,
  ]);
  procs.push(vp);
  await waitFor("vigil ready", async () => (vp.stdout.includes("ready") ? true : undefined));
  await new Promise((r) => setTimeout(r, 3000));
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
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const v0 = await sample();
  const vIdleUs = v0.cpuUs - vIdle0.cpuUs;
  const vDrops0 = await rawDrops();
  const vb = await blast();
  await new Promise((r) => setTimeout(r, 500));
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
  for (const ns of [nsA, nsB]) await run("ip", ["netns", "del", ns]);
  rmSync(dir, { recursive: true, force: true });
}
console.log(results.join("\n"));
