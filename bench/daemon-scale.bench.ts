/**
 * Scale of the production daemons against keepalived 2.2.7 (root, netns lab): N VRRP instances over 4
 * interfaces (N/4 VRIDs each, rounded), a MASTER daemon (priority 150) in one namespace and a BACKUP daemon
 * (priority 100) in another, joined by 4 veth pairs. keepalived's pair and Vigil's pair (`vigil run`)
 * run AT THE SAME TIME in their own namespace pairs, so the machine's noise falls on both alike.
 * Once every master holds its N VIPs (and GARP bursts are over), over WINDOW_S seconds: CPU % of each
 * daemon's VRRP process (/proc/PID/task/TID/schedstat, ns; Vigil: the node process with all its threads), its RSS, and
 * the advert-interval jitter on the wire: `tcpdump -tt -i any` in each master namespace, per
 * (interface, VRID) the gaps between successive adverts minus advert_int, p50 / p99 of |gap − interval|,
 * for the gaps that start in the window (the captures start 1 s before it: the two tcpdumps' start-up
 * on the shared vCPUs delayed a master's adverts by 2–4 ms at times, in the first 50 ms; also printed,
 * as `whole capture`, over every gap captured).
 * Cases (CASES): 250 and 1,000 instances × advert_int 1 s and 0.1 s, VRRP v3 (v2 has no sub-second
 * interval). Also each daemon's wake-ups per second (voluntary context switches, /proc/PID/task/TID/status).
 * Run: `npx tsx bench/daemon-scale.bench.ts` (CASES 250x1,250x0.1,1000x1,1000x0.1; WINDOW_S 10;
 * VIGIL_NODE_ARGS extra node options for Vigil; SETTLE_S seconds from the backups' start to the window,
 * default 30, or a list: a window at each; HOLD_S keeps the daemons up after each window, PIDs
 * printed, for strace / perf; CAPTURE_DIR writes each master's capture there, per case and daemon).
 * Removes everything it made, also on failure or interruption.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LabProcess } from "../test/support/lab.ts";
import { waitFor } from "../test/support/lab.ts";
import {
  addNs,
  buildVigil,
  scaleConf as conf,
  type Daemon,
  inNs,
  loadAverage,
  percentile,
  procCpuNs,
  procSwitches,
  procUsage,
  removeNs,
  SCALE_IFS,
  sleepMs,
  startIn,
  startKeepalived,
  startVigil,
  vethPair,
  scaleVipNet as vipNet,
} from "./lab/daemons.ts";

const WINDOW_S = Number(process.env.WINDOW_S ?? 10);
/** Extra node options for Vigil (e.g. `--max-semi-space-size=16` to compare with node's default). */
const VIGIL_NODE_ARGS = (process.env.VIGIL_NODE_ARGS ?? "").split(/\s+/).filter((a) => a !== "");
/**
 * Seconds between the backups' start and the window (default 30: the steady state). Until about 20 s
 * after its start Vigil's V8 is still compiling its hot paths and collecting its start-up garbage
 * (concurrent compiler and GC threads: 8 s after start, about 150 ms of CPU in 10 s for a 250-instance
 * BACKUP); what each daemon used before the window — start-up and warm-up — is printed on its own line.
 * 8 puts the window just past the masters' second GARP burst, in that warm-up. A list (`30,1200`)
 * measures a window at each, on the same daemons: past 2^31 µs (about 35.8 minutes) a time in µs
 * is no longer a V8 small integer, and a daemon that old allocates more per advert (bench/lab).
 */
const SETTLES_S = (process.env.SETTLE_S ?? "30")
  .split(",")
  .map(Number)
  .sort((a, b) => a - b);
/** After each window, keep the daemons running this long (their PIDs printed) for strace / perf. */
const HOLD_S = Number(process.env.HOLD_S ?? 0);
const CAPTURE_DIR = process.env.CAPTURE_DIR;
const CASES = (process.env.CASES ?? "250x1,250x0.1,1000x1,1000x0.1").split(",").map((c) => {
  const [n = "250", s = "1"] = c.split("x");
  return { instances: Number(n), advertIntS: Number(s) };
});
const IFS = SCALE_IFS;
const prefix = `vg${process.pid % 1000}sc`;
const pairs = { k: [`${prefix}-ka`, `${prefix}-kb`], v: [`${prefix}-va`, `${prefix}-vb`] } as const;

const vipCount = async (ns: string): Promise<number> =>
  (await inNs(ns, "ip", ["-4", "-o", "addr", "show"])).split("\n").filter((l) => l.includes(" 198.19.2"))
    .length;

/**
 * |gap − interval| in ms for every pair of successive adverts of one (interface, VRID) whose first
 * advert was sent at `fromUs` (µs of the realtime clock, as tcpdump's `-tt`) or later.
 */
function jitterMs(capture: string, intervalMs: number, fromUs = 0): number[] {
  const last = new Map<string, number>();
  const out: number[] = [];
  for (const line of capture.split("\n")) {
    const m = /^(\d+)\.(\d{6}) (\S+)\s+Out IP \S+ > 224\.0\.0\.18: VRRPv3, Advertisement, vrid (\d+),/.exec(
      line,
    );
    if (m === null) continue;
    const us = Number(m[1]) * 1e6 + Number(m[2]);
    const key = `${m[3]}/${m[4]}`;
    const prev = last.get(key);
    if (prev !== undefined && prev >= fromUs) out.push(Math.abs((us - prev) / 1000 - intervalMs));
    last.set(key, us);
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), "vigil-scale-"));
const running: Array<Daemon | LabProcess> = [];
const namespaces = [...pairs.k, ...pairs.v];
const cleanUp = async (): Promise<void> => {
  for (const p of running.splice(0)) await ("proc" in p ? p.proc : p).stop("SIGTERM", 15_000);
  for (const ns of namespaces) await removeNs(ns);
};
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.once(sig, () => {
    void cleanUp().finally(() => process.exit(130));
  });
const out: string[] = [];
try {
  await buildVigil();
  for (const ns of namespaces) await addNs(ns);
  for (const [a, b] of [pairs.k, pairs.v])
    for (const k of IFS) await vethPair(a, b, `sc${k}`, `198.19.${30 + k}`);
  for (const c of CASES) {
    const label = `${c.instances} instances × advert_int ${c.advertIntS} s`;
    const start = async (who: "k" | "v", role: "master" | "backup"): Promise<Daemon> => {
      const [a, b] = pairs[who];
      const ns = role === "master" ? a : b;
      const text = conf(
        c.instances,
        c.advertIntS,
        role === "master" ? 150 : 100,
        role === "master" ? "MASTER" : "BACKUP",
      );
      const name = `${who}-${role}-${c.instances}-${c.advertIntS}`;
      const d =
        who === "k"
          ? await startKeepalived(ns, dir, name, text)
          : await startVigil(ns, dir, name, text, VIGIL_NODE_ARGS);
      running.push(d);
      return d;
    };
    const kMaster = await start("k", "master");
    const vMaster = await start("v", "master");
    await waitFor(
      `${label}: both masters holding ${c.instances} VIPs`,
      async () =>
        (await vipCount(pairs.k[0])) === c.instances && (await vipCount(pairs.v[0])) === c.instances
          ? true
          : undefined,
      120_000,
      500,
    ).catch(async (e: unknown) => {
      console.error(
        `VIPs: keepalived ${await vipCount(pairs.k[0])}, vigil ${await vipCount(pairs.v[0])}\n${kMaster.proc.output.slice(-1500)}\n${vMaster.proc.output.slice(-1500)}`,
      );
      throw e;
    });
    const kBackup = await start("k", "backup");
    const vBackup = await start("v", "backup");
    const backupsAtMs = Date.now();
    for (const settleS of SETTLES_S) {
      // Let the backups start and the masters' second GARP bursts (garp_master_delay 5 s) pass.
      await sleepMs(Math.max(0, backupsAtMs + settleS * 1000 - Date.now()));
      const backupVips = async () =>
        `keepalived ${await vipCount(pairs.k[1])}, vigil ${await vipCount(pairs.v[1])}`;
      const backupVipsBefore = await backupVips();
      const caps = [pairs.k[0], pairs.v[0]].map((ns: string) =>
        startIn(ns, `tcpdump ${ns}`, "tcpdump", ["-tt", "-n", "-l", "-i", "any", "-Q", "out", "vrrp"]),
      );
      running.push(...caps);
      await sleepMs(1_000);
      const ds = { kMaster, kBackup, vMaster, vBackup };
      const windowFromUs = Date.now() * 1000;
      const u0 = Object.fromEntries(Object.entries(ds).map(([k, d]) => [k, procCpuNs(d.pid)]));
      const s0 = Object.fromEntries(Object.entries(ds).map(([k, d]) => [k, procSwitches(d.pid)]));
      const load0 = loadAverage();
      await sleepMs(WINDOW_S * 1000);
      const u1 = Object.fromEntries(Object.entries(ds).map(([k, d]) => [k, procCpuNs(d.pid)]));
      const s1 = Object.fromEntries(Object.entries(ds).map(([k, d]) => [k, procSwitches(d.pid)]));
      const rssKb = Object.fromEntries(Object.entries(ds).map(([k, d]) => [k, procUsage(d.pid).rssKb]));
      const load1 = loadAverage();
      const backupVipsAfter = await backupVips();
      for (const cap of caps) await cap.stop("SIGINT");
      const cpu = (k: keyof typeof ds) => (100 * ((u1[k] ?? 0) - (u0[k] ?? 0))) / (WINDOW_S * 1e9);
      const rss = (k: keyof typeof ds) => `${((rssKb[k] ?? 0) / 1024).toFixed(0)} MB`;
      // a process's CPU since its start, when the window began
      const ms = (k: keyof typeof ds) => `${((u0[k] ?? 0) / 1e6).toFixed(0)} ms`;
      if (CAPTURE_DIR !== undefined)
        for (const [i, cap] of caps.entries())
          writeFileSync(
            join(
              CAPTURE_DIR,
              `${c.instances}x${c.advertIntS}${SETTLES_S.length > 1 ? `-${settleS}s` : ""}-${["keepalived", "vigil"][i]}.txt`,
            ),
            cap.stdout,
          );
      const [kj, vj] = caps.map((cap) => jitterMs(cap.stdout, c.advertIntS * 1000, windowFromUs));
      const [kw, vw] = caps.map((cap) => jitterMs(cap.stdout, c.advertIntS * 1000));
      const j = (xs: number[] = [], whole: number[] = []) =>
        `p50 ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms (${xs.length} gaps; whole capture p99 ${percentile(whole, 99).toFixed(2)} ms)`;
      // Wake-ups per second: voluntary context switches of the main thread (+ of the other threads),
      // and involuntary ones (preempted) of all threads.
      const sw = (k: keyof typeof ds) => {
        const a = s0[k];
        const b = s1[k];
        if (a === undefined || b === undefined) return "?";
        const r = (x: number) => (x / WINDOW_S).toFixed(0);
        return `${r(b.mainVol - a.mainVol)} + ${r(b.otherVol - a.otherVol)} /s (involuntary ${r(b.mainInvol - a.mainInvol + b.otherInvol - a.otherInvol)} /s)`;
      };
      out.push(
        `${label}, window ${settleS + 1} s after the backups started (load average ${load0} → ${load1}; VIPs held by the backups (should be 0) before the window: ${backupVipsBefore}; after: ${backupVipsAfter})`,
        `  keepalived: CPU master ${cpu("kMaster").toFixed(2)} %, backup ${cpu("kBackup").toFixed(2)} %; RSS master ${rss("kMaster")}, backup ${rss("kBackup")}; jitter ${j(kj, kw)}`,
        `  vigil:      CPU master ${cpu("vMaster").toFixed(2)} %, backup ${cpu("vBackup").toFixed(2)} %; RSS master ${rss("vMaster")}, backup ${rss("vBackup")}; jitter ${j(vj, vw)}`,
        `  ratio vigil / keepalived CPU: master ${(cpu("vMaster") / cpu("kMaster")).toFixed(2)}, backup ${(cpu("vBackup") / cpu("kBackup")).toFixed(2)}`,
        `  wake-ups (main thread + other threads): keepalived master ${sw("kMaster")}, backup ${sw("kBackup")}; vigil master ${sw("vMaster")}, backup ${sw("vBackup")}`,
        `  CPU before the window (start-up and warm-up, all threads): keepalived master ${ms("kMaster")}, backup ${ms("kBackup")}; vigil master ${ms("vMaster")}, backup ${ms("vBackup")}`,
      );
      console.log(out.slice(-6).join("\n"));
    }
    if (HOLD_S > 0) {
      console.log(
        `holding ${HOLD_S} s: keepalived master ${kMaster.pid}, backup ${kBackup.pid}; vigil master ${vMaster.pid}, backup ${vBackup.pid}`,
      );
      await sleepMs(HOLD_S * 1000);
    }
    for (const p of running.splice(0)) await ("proc" in p ? p.proc : p).stop("SIGTERM", 30_000);
    // Masters killed mid-way may leave VIPs behind: clear every namespace's addresses of the VIP range.
    for (const ns of namespaces)
      for (const k of IFS)
        await inNs(ns, "ip", ["addr", "flush", "dev", `sc${k}`, "to", `${vipNet(k)}.0/24`]);
  }
} finally {
  await cleanUp();
  if (process.env.KEEP_DIR === undefined) rmSync(dir, { recursive: true, force: true });
}
console.log(`\n${out.join("\n")}`);
