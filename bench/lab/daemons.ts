/**
 * Lab support for the daemon benchmarks (bench/daemon-*.bench.ts): starting keepalived 2.2.7 and the
 * production `vigil run` inside a namespace (Vigil through test/netns/support/vigil.ts's `vigilBin`,
 * like the netns tests), reading a process's CPU time and RSS from /proc, and the raw-socket drops of
 * one process's sockets (so two daemons receiving the same flood in one namespace are told apart).
 * Not pure: processes, namespaces and /proc.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildDist } from "../../bin/build.ts";
import { repoRoot, vigilBin } from "../../test/netns/support/vigil.ts";
import { LabProcess, mustRun, run, waitFor } from "../../test/support/lab.ts";

const TICK_US = 10_000; // CLK_TCK = 100

export const inNs = (ns: string, cmd: string, args: readonly string[]): Promise<string> =>
  mustRun("ip", ["netns", "exec", ns, cmd, ...args]);

export const startIn = (ns: string, label: string, cmd: string, args: readonly string[]): LabProcess =>
  new LabProcess(
    label,
    spawn("ip", ["netns", "exec", ns, cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] }),
  );

export const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** User + system CPU time (µs, 10 ms ticks) and RSS (KiB) of one process, from /proc/PID/stat. */
export function procUsage(pid: number): { cpuUs: number; sysUs: number; rssKb: number } {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  // utime, stime = fields 14, 15; rss (pages) = field 24.
  return {
    cpuUs: (Number(rest[11]) + Number(rest[12])) * TICK_US,
    sysUs: Number(rest[12]) * TICK_US,
    rssKb: Number(rest[21]) * 4,
  };
}

/**
 * CPU time (µs, user + system, 10 ms ticks) of a process's main thread and of all its other threads
 * (V8's GC helpers, libuv's pool, the profiler) summed, from /proc/PID/task/TID/stat; threads that
 * ended are not counted.
 */
export function threadCpuUs(pid: number): { mainUs: number; otherUs: number } {
  let mainUs = 0;
  let otherUs = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
      const us = (Number(rest[11]) + Number(rest[12])) * TICK_US;
      if (Number(tid) === pid) mainUs += us;
      else otherUs += us;
    } catch {
      /* thread gone */
    }
  }
  return { mainUs, otherUs };
}

/**
 * CPU time of a whole process in µs from the scheduler's nanosecond accounting (the first field of
 * /proc/PID/task/TID/schedstat, summed over threads that are still alive): finer than the 10 ms
 * ticks of /proc/PID/stat, for daemons that use 1 % of a core.
 */
export function procCpuNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      /* thread gone */
    }
  }
  return ns;
}

/**
 * Context switches of a process so far, from /proc/PID/task/TID/status (threads still alive):
 * voluntary ones (the thread slept: each is a wake-up) and involuntary ones, for the main thread
 * and for all other threads summed (V8's helpers, libuv's pool).
 */
export function procSwitches(pid: number): {
  mainVol: number;
  mainInvol: number;
  otherVol: number;
  otherInvol: number;
} {
  const out = { mainVol: 0, mainInvol: 0, otherVol: 0, otherInvol: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
      const vol = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(f)?.[1] ?? 0);
      const invol = Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(f)?.[1] ?? 0);
      if (Number(tid) === pid) {
        out.mainVol += vol;
        out.mainInvol += invol;
      } else {
        out.otherVol += vol;
        out.otherInvol += invol;
      }
    } catch {
      /* thread gone */
    }
  }
  return out;
}

/** Sum of the `drops` column of /proc/net/raw (in `ns`) over the raw sockets `pid` holds. */
export async function rawDropsOf(ns: string, pid: number): Promise<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1] !== undefined) inodes.add(m[1]);
    } catch {
      /* fd closed meanwhile */
    }
  }
  const lines = (await inNs(ns, "cat", ["/proc/net/raw"])).split("\n");
  const head = (lines[0] ?? "").trim().split(/\s+/);
  const inodeAt = head.indexOf("inode");
  let drops = 0;
  for (const l of lines.slice(1)) {
    const cols = l.trim().split(/\s+/);
    // The header has two more columns than a row ("tx_queue rx_queue" and "tr tm->when" are one each there).
    if (cols.length < 3) continue;
    const inode = cols[inodeAt - 2];
    if (inode !== undefined && inodes.has(inode)) drops += Number(cols.at(-1) ?? 0);
  }
  return drops;
}

/** A namespace with lo up; `ip netns del` it afterwards (`removeNs`). */
export async function addNs(ns: string): Promise<void> {
  await run("ip", ["netns", "del", ns]);
  await mustRun("ip", ["netns", "add", ns]);
  await inNs(ns, "ip", ["link", "set", "lo", "up"]);
}
export const removeNs = (ns: string): Promise<unknown> => run("ip", ["netns", "del", ns]);

/** A veth pair `name` (same name on both ends) between nsA (.1) and nsB (.2) of `net`/24. */
export async function vethPair(nsA: string, nsB: string, name: string, net: string): Promise<void> {
  await mustRun("ip", [
    "link",
    "add",
    name,
    "netns",
    nsA,
    "type",
    "veth",
    "peer",
    "name",
    name,
    "netns",
    nsB,
  ]);
  await inNs(nsA, "ip", ["addr", "add", `${net}.1/24`, "dev", name]);
  await inNs(nsB, "ip", ["addr", "add", `${net}.2/24`, "dev", name]);
  for (const ns of [nsA, nsB]) await inNs(ns, "ip", ["link", "set", name, "up"]);
}

export interface Daemon {
  readonly proc: LabProcess;
  /** The process doing the VRRP work (keepalived: its VRRP child; Vigil: the node process). */
  readonly pid: number;
}

/** keepalived 2.2.7, VRRP only, foreground, `conf` written to `dir/NAME.conf`. */
export async function startKeepalived(ns: string, dir: string, name: string, conf: string): Promise<Daemon> {
  const path = join(dir, `${name}.conf`);
  writeFileSync(path, conf);
  const pidFile = (s: string) => join(dir, `${name}.${s}.pid`);
  const proc = startIn(ns, `keepalived ${name}`, "keepalived", [
    "-n",
    "-l",
    "-f",
    path,
    "-p",
    pidFile("main"),
    "-r",
    pidFile("vrrp"),
    "-c",
    pidFile("check"),
    "--vrrp",
  ]);
  const pid = await waitFor(`keepalived ${name} VRRP child`, () => {
    try {
      const n = Number(readFileSync(pidFile("vrrp"), "utf8").trim());
      return n > 0 ? n : undefined;
    } catch {
      return proc.running ? undefined : Promise.reject(new Error(`keepalived exited:\n${proc.output}`));
    }
  });
  return { proc, pid };
}

/** Builds dist/ from the working tree (bin/vigil.js runs the compiled CLI), so a run measures the sources. */
export async function buildVigil(): Promise<void> {
  await buildDist();
}

/**
 * The production daemon: `node [nodeArgs] bin/vigil.js run -f CONF --journal … --pid-file …` (the
 * `ip netns exec` child execs node, so its PID is the daemon's). Resolves once the pid file exists.
 */
export async function startVigil(
  ns: string,
  dir: string,
  name: string,
  conf: string,
  nodeArgs: readonly string[] = [],
): Promise<Daemon> {
  const path = join(dir, `${name}.conf`);
  writeFileSync(path, conf);
  // Another build may have removed dist/ meanwhile (a shared checkout): rebuild if it is missing.
  if (!existsSync(join(repoRoot, "dist/vigil.js"))) await buildDist();
  const pidFile = join(dir, `${name}.pid`);
  const proc = startIn(ns, `vigil ${name}`, process.execPath, [
    ...nodeArgs,
    vigilBin,
    "run",
    "-f",
    path,
    "--journal",
    join(dir, `${name}.journal`),
    "--pid-file",
    pidFile,
  ]);
  const pid = await waitFor(
    `vigil ${name} pid file`,
    () => {
      try {
        const n = Number(readFileSync(pidFile, "utf8").trim());
        return n > 0 ? n : undefined;
      } catch {
        return proc.running ? undefined : Promise.reject(new Error(`vigil exited:\n${proc.output}`));
      }
    },
    30_000,
  );
  return { proc, pid };
}

/** Percentile (nearest rank) of a sorted copy of `xs`. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/** The 1-minute load average (how noisy the shared machine was). */
export const loadAverage = (): string =>
  readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

/** The scale benchmarks' interfaces (`sc0`–`sc3`) and the VIP network of each. */
export const SCALE_IFS = [0, 1, 2, 3] as const;
export const scaleVipNet = (k: number): string => `198.19.${20 + k}`;

/** keepalived.conf of the scale benchmark: n v3 instances over SCALE_IFS, one VIP each. */
export const scaleConf = (n: number, advertIntS: number, prio: number, state: string): string =>
  SCALE_IFS.flatMap((k) =>
    Array.from(
      // n spread over the interfaces (250 → 63, 63, 62, 62).
      { length: Math.floor(n / SCALE_IFS.length) + (k < n % SCALE_IFS.length ? 1 : 0) },
      (_, i) => `vrrp_instance VI_${k}_${i + 1} {
  state ${state}
  interface sc${k}
  virtual_router_id ${i + 1}
  priority ${prio}
  advert_int ${advertIntS}
  version 3
  virtual_ipaddress {
    ${scaleVipNet(k)}.${i + 1}/32
  }
}
`,
    ),
  ).join("");
