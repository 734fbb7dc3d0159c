/**
 * Takeover latency of the production daemons against keepalived 2.2.7 (root, netns lab), measured on
 * the wire and at the new master's addresses. Lab of 5 hosts on one bridge: keepalived is the MASTER
 * (priority 150) of VRID 51 on h1 and of VRID 52 on h5; h2 runs keepalived as the BACKUP of VRID 51,
 * h3 runs `vigil run` as the BACKUP of VRID 52 (both priority 100); h4 captures VRRP and ARP
 * (`tcpdump -tt`); h2 and h3 log address changes (`ip -ts monitor address`). Each repetition restarts
 * both masters, waits until they hold their VIPs again, waits a random 1.2–2.2 s (so that a master's
 * last advert is a steady one, not its start-up's, which the daemons receive while this bench polls
 * with `ip`), then stops the two masters APART_MS apart (default 1000; the order alternates by
 * repetition):
 *  - MODE=kill (failover): kill -9 the master's VRRP process and its parent. Latency = VIP present on
 *    the new master − the old master's last advert on the wire − Master_Down_Interval
 *    (3 × advert_int + skew);
 *  - MODE=term (graceful handover): SIGTERM the master: it sends priority 0. Latency = VIP present −
 *    the priority-0 advert − Skew_Time.
 * Why apart: two backups taking over at the same moment on this 2-vCPU virtual machine slow each
 * other (keepalived against keepalived too: docs/benchmarks.md, failover, A/A control); traced, each
 * of Vigil's takeovers more than 5 ms late (12 of 110) came right after keepalived's own, with
 * vCPU 1, where Vigil was running or asleep, running nothing for 11–13 ms (sixteenth pass).
 * APART_MS=0 stops both masters at once (the takeovers then overlap, as in the passes before the
 * sixteenth, where one master ran both instances).
 * "VIP present" is the moment the new master's kernel added the address: the `fib_inetaddr_event`
 * notifier run in the daemon's own address request, read from a private tracefs instance
 * (notifier:notifier_run, TAI clock = the wall clock tcpdump stamps with; filtered to the two backup
 * daemons' PIDs). Reported beside it: the `ip monitor` observers' print of the address (at SCHED_FIFO
 * priority MONITOR_RT, default 50) — on this 2-vCPU virtual machine an observer woken on an idle vCPU
 * prints up to ≈ 7 ms after the kernel added the address (traced), whichever daemon added it — and
 * the first GARP for the VIP on the wire. tracefs not mounted is mounted for the run (and unmounted
 * after it); without tracefs in the kernel the monitor's print is the measure. Cases:
 * VRRP v2 advert_int 1 s and v3 advert_int 0.05 s.
 * Run: `npx tsx bench/daemon-failover.bench.ts` (REPS 20, MODE kill,term, CASES v2,v3; VIGIL_NODE_ARGS
 * adds node options for Vigil, e.g. `--perf-basic-prof` for `perf record`; CONTROL=keepalived runs
 * keepalived in Vigil's place, an A/A control of the comparison; DAEMON_RT=N runs the daemons —
 * both masters, both backups — under SCHED_RR priority N through `chrt`, as contrib/vigil.service runs
 * Vigil and keepalived's `vrrp_rt_priority` would; default 0: ordinary scheduling, as every pass before
 * the twelfth). Prints p50 and p99 per daemon;
 * removes everything it made, also on failure.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { masterDownIntervalUs, skewTimeUs } from "../machines/timers.ts";
import { vigilBin } from "../test/netns/support/vigil.ts";
import { Lab, type LabProcess, waitFor, withRt } from "../test/support/lab.ts";
import { buildVigil, loadAverage, percentile, sleepMs } from "./lab/daemons.ts";

const REPS = Number(process.env.REPS ?? 20);
const MODES = (process.env.MODE ?? "kill,term").split(",") as Array<"kill" | "term">;
const CASES = (process.env.CASES ?? "v2,v3").split(",");
/** The `ip monitor` observers' real-time priority (`chrt -f`); `MONITOR_RT=0` runs them as ordinary processes. */
const MONITOR_RT_PRIORITY = process.env.MONITOR_RT ?? "50";
const VIGIL_NODE_ARGS = (process.env.VIGIL_NODE_ARGS ?? "").split(/\s+/).filter((a) => a !== "");
/** `DAEMON_RT=N`: the daemons at SCHED_RR priority N; 0 (default): ordinary scheduling (null). */
const DAEMON_RT = Number(process.env.DAEMON_RT ?? 0) || null;
/**
 * `CONTROL=keepalived`: an A/A run — keepalived 2.2.7 in Vigil's place on h3 (same configuration,
 * same VRID), so the two columns show how far two keepalived backups differ on this machine.
 */
const CONTROL = process.env.CONTROL === "keepalived";
const V_NAME = CONTROL ? "keepalived (h3)" : "vigil";
const VRID_K = 51;
const VRID_V = 52;
/** How far apart the two masters are stopped (ms): their backups' takeovers do not overlap. */
const APART_MS = Number(process.env.APART_MS ?? 1000);

interface Case {
  readonly name: string;
  readonly version: 2 | 3;
  readonly advertIntCs: number;
}
const ALL_CASES: Record<string, Case> = {
  v2: { name: "v2, advert_int 1 s", version: 2, advertIntCs: 100 },
  v3: { name: "v3, advert_int 0.05 s", version: 3, advertIntCs: 5 },
};

const instance = (name: string, vrid: number, prio: number, state: string, c: Case, vip: string) => `
vrrp_instance ${name} {
  state ${state}
  interface eth0
  virtual_router_id ${vrid}
  priority ${prio}
  advert_int ${c.advertIntCs / 100}
  version ${c.version}
  virtual_ipaddress {
    ${vip}/24
  }
}
`;

/** Seconds since the epoch from tcpdump -tt or `ip -ts` ("[2026-11-30T01:50:00.123456]"). */
const tcpdumpTimeUs = (line: string): number => {
  const [s = "0", frac = "0"] = (line.split(" ")[0] ?? "").split(".");
  return Number(s) * 1e6 + Number(frac.padEnd(6, "0").slice(0, 6));
};
const monitorTimeUs = (line: string): number | undefined => {
  const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})\]/.exec(line);
  return m === null ? undefined : Date.parse(`${m[1]}Z`) * 1000 + Number(m[2]);
};

interface Sample {
  readonly k: number;
  readonly v: number;
  readonly kGarp: number;
  readonly vGarp: number;
  readonly kMon: number;
  readonly vMon: number;
}

/**
 * The kernel's own moment of adding an IPv4 address, per process: `fib_inetaddr_event` runs on the
 * inetaddr notifier chain inside the request that adds it, in the requesting process's context.
 * A tracefs instance of its own (nothing else's tracing is touched), TAI clock (equal to the wall
 * clock here: no TAI offset is set), filtered to the watched PIDs. Undefined without tracefs.
 */
class AddressAdds {
  private constructor(
    readonly dir: string,
    /** tracefs was not mounted: this bench mounted it, and unmounts it at the end. */
    readonly mounted: boolean,
  ) {}
  static open(name: string): AddressAdds | undefined {
    const root = "/sys/kernel/tracing";
    // A machine started without tracefs mounted (no systemd to mount it) has the kernel's support
    // but an empty directory: without the mount, the measure falls back to the monitor's print.
    let mounted = false;
    if (!existsSync(`${root}/events`) && existsSync(root)) {
      mounted = spawnSync("mount", ["-t", "tracefs", "nodev", root]).status === 0;
      if (mounted) console.log(`mounted tracefs at ${root} (unmounted at the end)`);
    }
    if (!existsSync(`${root}/events/notifier/notifier_run`)) return undefined;
    const dir = `${root}/instances/${name}`;
    try {
      mkdirSync(dir);
      writeFileSync(`${dir}/trace_clock`, "tai");
      return new AddressAdds(dir, mounted);
    } catch {
      return undefined;
    }
  }
  watch(pids: readonly number[]): void {
    const ev = `${this.dir}/events/notifier/notifier_run`;
    writeFileSync(`${ev}/filter`, pids.map((p) => `common_pid == ${p}`).join(" || "));
    writeFileSync(`${ev}/enable`, "1");
    this.clear();
  }
  clear(): void {
    writeFileSync(`${this.dir}/trace`, "");
  }
  /** The first address add of `pid` since the last `clear`, in µs since the epoch (NaN if none). */
  firstAddUs(pid: number): number {
    const text = readFileSync(`${this.dir}/trace`, "utf8");
    const re = /^\s*.+-(\d+)\s+\[\d+\]\s+\S+\s+(\d+)\.(\d+): notifier_run: fib_inetaddr_event$/gm;
    for (const m of text.matchAll(re))
      if (Number(m[1]) === pid) return Number(m[2]) * 1e6 + Number((m[3] ?? "0").padEnd(6, "0").slice(0, 6));
    return Number.NaN;
  }
  close(): void {
    try {
      writeFileSync(`${this.dir}/events/notifier/notifier_run/enable`, "0");
      rmdirSync(this.dir);
    } catch {
      /* already gone */
    }
    if (this.mounted) spawnSync("umount", ["/sys/kernel/tracing"]);
  }
}

const lab = await Lab.create({ prefix: `vg${process.pid % 1000}fo`, hosts: 5 });
const adds = AddressAdds.open(`vigil-failover-${process.pid}`);
// An interrupted run still removes its namespaces and stops its processes.
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.once(sig, () => {
    void lab.destroy().finally(() => {
      adds?.close();
      process.exit(130);
    });
  });
const out: string[] = [];
try {
  await buildVigil();
  const [h1, h2, h3, h4, h5] = [lab.host(1), lab.host(2), lab.host(3), lab.host(4), lab.host(5)];
  const net = `198.18.${lab.subnet}`;
  const vipK = `${net}.151`;
  const vipV = `${net}.152`;
  const dir = lab.tempDir();
  for (const c of CASES.map((n) => ALL_CASES[n]).filter((c): c is Case => c !== undefined)) {
    for (const mode of MODES) {
      const masterK = instance("VI_K", VRID_K, 150, "MASTER", c, vipK);
      const masterV = instance("VI_V", VRID_V, 150, "MASTER", c, vipV);
      const wire = await lab.tcpdump(h4, ["-tt"], "vrrp or arp");
      // The observers run at SCHED_FIFO: a monitor's timestamp is then the kernel's notification of the
      // address, not the time it next got a CPU beside a daemon busy after its takeover.
      const monitor = (ns: string, label: string) => {
        const ip = ["ip", "-ts", "monitor", "address", "dev", "eth0"];
        return MONITOR_RT_PRIORITY === "0"
          ? lab.spawn(ns, "ip", ip.slice(1), { label })
          : lab.spawn(ns, "chrt", ["-f", MONITOR_RT_PRIORITY, ...ip], { label });
      };
      const monK = monitor(h2.ns, "mon h2");
      const monV = monitor(h3.ns, "mon h3");
      const backupK = lab.keepalived(
        h2,
        instance("VI_K", VRID_K, 100, "BACKUP", c, vipK),
        "keepalived backup",
        DAEMON_RT,
      );
      const confV = instance("VI_V", VRID_V, 100, "BACKUP", c, vipV);
      const controlK = CONTROL
        ? lab.keepalived(h3, confV, "keepalived control backup", DAEMON_RT)
        : undefined;
      const startVigil = (): LabProcess => {
        const file = join(dir, `vigil-${c.version}-${mode}.conf`);
        writeFileSync(file, confV);
        const [command, ...args] = withRt(
          [
            process.execPath,
            ...VIGIL_NODE_ARGS,
            vigilBin,
            "run",
            "-f",
            file,
            "--journal",
            join(dir, `j-${c.version}-${mode}`),
            "--pid-file",
            join(dir, `v-${c.version}-${mode}.pid`),
          ],
          DAEMON_RT,
        );
        return lab.spawn(h3.ns, command, args, { label: "vigil backup" });
      };
      const backupV = controlK?.proc ?? startVigil();
      const addrs = async (ns: string): Promise<string> =>
        (await lab.nsRun(ns, "ip", ["-4", "-o", "addr", "show", "dev", "eth0"])) as string;
      const samples: Sample[] = [];
      const loads: string[] = [loadAverage()];
      const mdiUs = masterDownIntervalUs({
        version: c.version,
        priority: 100,
        masterAdverIntervalCs: c.advertIntCs,
      });
      const skewUs = skewTimeUs({ version: c.version, priority: 100, masterAdverIntervalCs: c.advertIntCs });
      const expectUs = mode === "kill" ? mdiUs : skewUs;
      // Both backups up: with no master on the network yet, each takes its VIP.
      await waitFor(
        "both backups up (MASTER of their VIP while no master is running)",
        async () =>
          (await addrs(h2.ns)).includes(`${vipK}/`) && (await addrs(h3.ns)).includes(`${vipV}/`)
            ? true
            : undefined,
        30_000,
        50,
      );
      // The PIDs whose address requests the kernel trace is filtered to: keepalived's VRRP child, Vigil.
      const kPid = Number(readFileSync(join(backupK.dir, "v.pid"), "utf8").trim());
      const vPid =
        controlK === undefined
          ? (backupV.pid ?? Number.NaN)
          : Number(readFileSync(join(controlK.dir, "v.pid"), "utf8").trim());
      adds?.watch([kPid, vPid]);
      for (let rep = 0; rep < REPS; rep++) {
        const mK = lab.keepalived(h1, masterK, `keepalived master K ${rep}`, DAEMON_RT);
        const mV = lab.keepalived(h5, masterV, `keepalived master V ${rep}`, DAEMON_RT);
        await waitFor(
          "h1 and h5 holding their VIPs, the backups none",
          async () => {
            const [a1, a5, a2, a3] = await Promise.all([
              addrs(h1.ns),
              addrs(h5.ns),
              addrs(h2.ns),
              addrs(h3.ns),
            ]);
            return a1.includes(`${vipK}/`) &&
              a5.includes(`${vipV}/`) &&
              !a2.includes(`${vipK}/`) &&
              !a3.includes(`${vipV}/`)
              ? true
              : undefined;
          },
          30_000,
          50,
        );
        // Past the masters' start-up: their first adverts (the preemption) were received while this
        // bench was still polling the namespaces with `ip` (a burst of process starts on both CPUs),
        // which delayed the daemons' wake-ups by up to ≈ 20 ms. The last advert before the stop is a
        // steady one.
        await sleepMs(1200 + Math.random() * 1000);
        const wireAt = wire.stdout.length;
        const monKAt = monK.stdout.length;
        const monVAt = monV.stdout.length;
        adds?.clear();
        const stop = (master: typeof mK): void => {
          if (mode === "kill") {
            process.kill(Number(readFileSync(join(master.dir, "v.pid"), "utf8").trim()), "SIGKILL");
            if (master.proc.pid !== undefined) process.kill(master.proc.pid, "SIGKILL");
          } else if (master.proc.pid !== undefined) process.kill(master.proc.pid, "SIGTERM");
        };
        // Neither backup always second (APART_MS=0: the two stops a few µs apart).
        const [first, second] = rep % 2 === 0 ? [mK, mV] : [mV, mK];
        stop(first);
        if (APART_MS > 0) await sleepMs(APART_MS);
        stop(second);
        const garpRe = (vip: string) => {
          const v = vip.replaceAll(".", "\\.");
          return new RegExp(
            `^\\d+\\.\\d+ ARP, (Request|Reply) (who-has )?${v}( \\([^)]*\\))? (tell|is-at) `,
            "m",
          );
        };
        await waitFor(
          "both GARPs and both VIPs added",
          () => {
            const w = wire.stdout.slice(wireAt);
            return garpRe(vipK).test(w) &&
              garpRe(vipV).test(w) &&
              monK.stdout.slice(monKAt).includes(vipK) &&
              monV.stdout.slice(monVAt).includes(vipV)
              ? true
              : undefined;
          },
          expectUs / 1000 + 10_000,
          20,
        ).catch((e: unknown) => {
          console.error(
            `wire:\n${wire.stdout.slice(wireAt).slice(-3000)}\nmon h2:\n${monK.output.slice(monKAt)}\nmon h3:\n${monV.output.slice(monVAt)}\nvigil:\n${backupV.output.slice(-3000)}`,
          );
          throw e;
        });
        await Promise.all([mK.proc.waitExit(15_000), mV.proc.waitExit(15_000)]);
        // The whole capture: in v2 the old master's last advert may precede this repetition's window.
        const lines = wire.stdout.split("\n");
        const fresh = wire.stdout.slice(wireAt).split("\n");
        const fromMaster = (ip: string, vrid: number) => (l: string) =>
          l.includes(
            `IP ${ip} > 224.0.0.18: VRRPv${c.version}, Advertisement, vrid ${vrid}, prio ${mode === "kill" ? 150 : 0},`,
          );
        const measure = (
          master: string,
          vrid: number,
          vip: string,
          mon: LabProcess,
          monAt: number,
          pid: number,
        ) => {
          const garpLine = fresh.find((l) => garpRe(vip).test(l)) ?? "";
          const garpUs = tcpdumpTimeUs(garpLine);
          const before = lines.filter((l) => tcpdumpTimeUs(l) <= garpUs);
          // kill: the last advert the master sent; term: its (first) priority-0 advert.
          const sent = fromMaster(master, vrid);
          const ref = mode === "kill" ? before.filter(sent).at(-1) : fresh.find(sent);
          const refUs = ref === undefined ? Number.NaN : tcpdumpTimeUs(ref);
          const addLine = mon.stdout
            .slice(monAt)
            .split("\n")
            .find((l) => l.includes(`inet ${vip}/`) && !l.includes("Deleted"));
          const monUs = addLine === undefined ? Number.NaN : (monitorTimeUs(addLine) ?? Number.NaN);
          const addUs = adds === undefined ? monUs : adds.firstAddUs(pid);
          if (process.env.VERBOSE !== undefined)
            console.log(
              `  vrid ${vrid}: reference ${refUs / 1e6}, VIP added ${addUs / 1e6}, monitor ${monUs / 1e6}, GARP ${garpUs / 1e6}`,
            );
          const after = (us: number) => (us - refUs - expectUs) / 1000;
          return { vip: after(addUs), mon: after(monUs), garp: after(garpUs) };
        };
        const k = measure(h1.ipv4, VRID_K, vipK, monK, monKAt, kPid);
        const v = measure(h5.ipv4, VRID_V, vipV, monV, monVAt, vPid);
        samples.push({ k: k.vip, v: v.vip, kGarp: k.garp, vGarp: v.garp, kMon: k.mon, vMon: v.mon });
        const one = (m: typeof k) =>
          `${m.vip.toFixed(2)} ms (monitor ${m.mon.toFixed(2)}, GARP ${m.garp.toFixed(2)})`;
        console.log(`${c.name} ${mode} rep ${rep + 1}: keepalived ${one(k)}, ${V_NAME} ${one(v)}`);
        if (mode === "kill") {
          for (const [ns, vip] of [
            [h1.ns, vipK],
            [h5.ns, vipV],
          ] as const)
            await lab.nsRun(ns, "ip", ["addr", "del", `${vip}/24`, "dev", "eth0"]).catch(() => "");
        }
        loads.push(loadAverage());
      }
      await backupV.stop("SIGTERM", 10_000);
      // KEEP_JOURNAL=DIR keeps Vigil's journals (timer and rx times) and its output (its log, and
      // what VIGIL_NODE_ARGS such as --trace-gc print) for inspection.
      if (process.env.KEEP_JOURNAL !== undefined) {
        const fs = await import("node:fs");
        fs.cpSync(dir, process.env.KEEP_JOURNAL, { recursive: true });
        fs.writeFileSync(
          join(process.env.KEEP_JOURNAL, `vigil-${c.name.split(",")[0]}-${mode}.log`),
          backupV.output,
        );
      }
      await backupK.proc.stop();
      await Promise.all([wire.stop(), monK.stop(), monV.stop()]);
      for (const [ns, vip] of [
        [h2.ns, vipK],
        [h3.ns, vipV],
      ] as const)
        await lab.nsRun(ns, "ip", ["addr", "del", `${vip}/24`, "dev", "eth0"]).catch(() => "");
      const valid = samples.filter((s) => Number.isFinite(s.k) && Number.isFinite(s.v));
      const stat = (xs: number[]) =>
        `p50 ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;
      const what =
        mode === "kill"
          ? `failover (kill -9), minus Master_Down_Interval ${mdiUs} µs`
          : `graceful handover (SIGTERM, priority 0), minus Skew_Time ${skewUs} µs`;
      out.push(
        `${c.name}, ${what}; ${valid.length}/${samples.length} repetitions measured`,
        `  VIP present: ${adds === undefined ? "the monitor's print (no tracefs)" : "the kernel's address add (tracefs)"}`,
        `  keepalived → keepalived: VIP present ${stat(valid.map((s) => s.k))}; monitor ${stat(valid.map((s) => s.kMon))}; first GARP ${stat(valid.map((s) => s.kGarp))}`,
        `  keepalived → ${`${V_NAME}:`.padEnd("keepalived:".length)} VIP present ${stat(valid.map((s) => s.v))}; monitor ${stat(valid.map((s) => s.vMon))}; first GARP ${stat(valid.map((s) => s.vGarp))}`,
        `  load average during: ${loads[0]} … ${loads.at(-1)}`,
      );
      console.log(out.slice(-5).join("\n"));
    }
  }
} finally {
  adds?.close();
  await lab.destroy();
}
console.log(`\n${out.join("\n")}`);
