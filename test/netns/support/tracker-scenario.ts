/**
 * The tracker failover scenario of test/netns/trackers-failover.test.ts, run the same way whatever
 * daemons play h1 (the tracking master, priority 150) and h2 (the plain backup, priority 100):
 * Vigil (src/daemon/live-node.ts through tracker-node.ts) or real keepalived 2.2.7. One lab per
 * run; the test files (script status, tracked file) live in a root-owned 0755 temp dir of the lab.
 *
 * Steps, each started once the previous one's effect is seen (h1 / h2 log lines), with time marks:
 * the vrrp_script fails (fall 2, weight −60) → 90, h2 takes over; it recovers (rise 2) → 150, h1
 * preempts back; h1's eth0 goes down → FAULT, h2 takes over; up → BACKUP → MASTER; a tracked
 * `sleep` (weight +20) starts → 170 and is killed → 150 (Vigil only, see below); the tracked file (weight −1) gets 20 →
 * 130, 300 → FAULT, 0 → MASTER again. Records h1's log lines with their arrival time, the adverts
 * tcpdump sees on h2, and the marks. Not pure: it drives processes in the lab.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Lab, LabHost, LabProcess } from "../../support/lab.ts";
import { parseTcpdumpVrrp, sleepMs, type WirePacket } from "./differential.ts";
import { startScript } from "./vigil.ts";

export type Daemon = "vigil" | "keepalived";

export interface ScenarioRun {
  readonly h1Ip: string;
  readonly h2Ip: string;
  /** h1's log lines (the daemon's own µs stamp for Vigil, arrival time for keepalived). */
  readonly h1Log: ReadonlyArray<{ readonly atUs: number; readonly line: string }>;
  readonly h2Output: string;
  readonly h1Output: string;
  readonly packets: readonly WirePacket[];
  readonly marks: Readonly<Record<string, number>>;
  /** Vigil only: the `leftover …` line printed after stop, and the journal path. */
  readonly leftover?: string;
  readonly journal?: string;
  readonly dir: string;
  /** The tracked process's marker argument (GNU sleep duration), unique per run. */
  readonly marker: string;
}

const nowUs = (): number => Date.now() * 1000;

/** h1's configuration (the same text for both daemons). */
export function h1Conf(dir: string, net: string, marker: string): string {
  return [
    "global_defs {",
    "    router_id h1",
    "    enable_script_security",
    "    script_user root",
    "}",
    "vrrp_script chk {",
    `    script "${dir}/chk.sh"`,
    "    interval 1",
    "    fall 2",
    "    rise 2",
    "    weight -60",
    "}",
    "vrrp_track_process proc {",
    `    process sleep ${marker}`,
    "    weight 20",
    "}",
    "track_file tf {",
    `    file ${dir}/tf`,
    "    weight -1",
    "}",
    "vrrp_instance VI_1 {",
    "    state BACKUP",
    "    interface eth0",
    "    virtual_router_id 51",
    "    priority 150",
    "    advert_int 1",
    "    track_script {\n        chk\n    }",
    "    track_process {\n        proc\n    }",
    "    track_file {\n        tf\n    }",
    `    virtual_ipaddress {\n        ${net}.100/24\n    }`,
    "}",
    "",
  ].join("\n");
}

export const h2Conf = (net: string): string =>
  [
    "global_defs {\n    router_id h2\n}",
    "vrrp_instance VI_1 {",
    "    state BACKUP",
    "    interface eth0",
    "    virtual_router_id 51",
    "    priority 100",
    "    advert_int 1",
    `    virtual_ipaddress {\n        ${net}.100/24\n    }`,
    "}",
    "",
  ].join("\n");

interface Running {
  readonly proc: LabProcess;
  readonly lines: Array<{ atUs: number; line: string }>;
  poll(): void;
}

function launch(lab: Lab, host: LabHost, daemon: Daemon, conf: string, dir: string, name: string): Running {
  const confPath = join(dir, `${name}.conf`);
  writeFileSync(confPath, conf);
  // Both at the labs' SCHED_RR priority (lab.ts DAEMON_RT_PRIORITY), as keepalived always is here.
  const proc =
    daemon === "vigil"
      ? startScript(
          lab,
          host.ns,
          "tracker-node.ts",
          [confPath, join(dir, `${name}-journal.jsonl`), "16384"],
          {
            rt: true,
          },
        )
      : lab.keepalived(host, conf, `keepalived ${name}`).proc;
  const lines: Array<{ atUs: number; line: string }> = [];
  // keepalived -l logs to stderr, Vigil's support script to stdout: both are read, line by line.
  const seen = { out: 0, err: 0 };
  const take = (text: string, key: "out" | "err"): void => {
    const end = text.lastIndexOf("\n") + 1;
    if (end <= seen[key]) return;
    const at = nowUs();
    for (const l of text.slice(seen[key], end).split("\n")) {
      if (l === "") continue;
      const m = daemon === "vigil" ? /^(\d{16}) (.*)$/.exec(l) : null;
      lines.push(m === null ? { atUs: at, line: l } : { atUs: Number(m[1]), line: m[2] ?? "" });
    }
    seen[key] = end;
  };
  const poll = (): void => {
    take(proc.stdout, "out");
    take(proc.stderr, "err");
  };
  return { proc, lines, poll };
}

/** Runs the whole scenario in `lab` (2 hosts); resolves with what was recorded. */
export async function runScenario(lab: Lab, h1: Daemon, h2: Daemon): Promise<ScenarioRun> {
  const [host1, host2] = [lab.host(1), lab.host(2)];
  const net = `198.18.${lab.subnet}`;
  const dir = lab.tempDir();
  chmodSync(dir, 0o755);
  const marker = `1000.${process.pid}${lab.subnet}${Date.now() % 1000}`;
  writeFileSync(join(dir, "status"), "0\n");
  writeFileSync(join(dir, "tf"), "0\n");
  writeFileSync(join(dir, "chk.sh"), `#!/bin/sh\nexit $(cat ${dir}/status)\n`, { mode: 0o755 });
  const wire = await lab.tcpdump(host2, ["-tt"]);
  const marks: Record<string, number> = {};
  const a = launch(lab, host1, h1, h1Conf(dir, net, marker), dir, "h1");
  const b = launch(lab, host2, h2, h2Conf(net), dir, "h2");
  const poller = setInterval(() => {
    a.poll();
    b.poll();
  }, 5);
  const count = (r: Running, re: RegExp): number => r.lines.filter((l) => re.test(l.line)).length;
  const until = async (
    what: string,
    r: Running,
    re: RegExp,
    n: number,
    timeoutMs = 12_000,
  ): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (count(r, re) < n) {
      if (Date.now() > deadline || !r.proc.running)
        throw new Error(`${h1}/${h2}: timed out waiting for ${what}:\n${r.proc.output.slice(-3000)}`);
      await sleepMs(10);
    }
  };
  const MASTER = /\(VI_1\) Entering MASTER STATE/;
  const BACKUP = /\(VI_1\) Entering BACKUP STATE$/;
  const FAULT = /\(VI_1\) Entering FAULT STATE/;
  const mark = (name: string): void => {
    marks[name] = nowUs();
  };
  let sleeper: LabProcess | undefined;
  try {
    mark("start");
    await until("h1 MASTER", a, MASTER, 1, 15_000);
    await sleepMs(1_500);
    mark("scriptFail");
    writeFileSync(join(dir, "status"), "1\n");
    await until("h2 MASTER after the script failed", b, MASTER, 1);
    await until("h1 BACKUP", a, BACKUP, 1);
    await sleepMs(1_500);
    mark("scriptOk");
    writeFileSync(join(dir, "status"), "0\n");
    await until("h1 MASTER after the script recovered", a, MASTER, 2);
    await sleepMs(1_500);
    mark("linkDown");
    await lab.nsRun(host1.ns, "ip", ["link", "set", "eth0", "down"]);
    await until("h1 FAULT (link down)", a, FAULT, 1);
    await until("h2 MASTER after h1's link went down", b, MASTER, 2);
    await sleepMs(1_000);
    mark("linkUp");
    await lab.nsRun(host1.ns, "ip", ["link", "set", "eth0", "up"]);
    await until("h1 MASTER after its link came up", a, MASTER, 3);
    await sleepMs(1_500);
    // keepalived 2.2.7 cannot run this step in a network namespace: its proc connector socket
    // fails ("Failed to set/clear process event listen - errno 111"), cn_proc serves the initial
    // namespace only. Vigil's /proc scan works anywhere; keepalived.md §3.3 gives the expectation.
    if (h1 === "vigil") {
      mark("procStart");
      sleeper = lab.spawn(host1.ns, "sleep", [marker], { label: "tracked sleep" });
      await until("priority 170", a, /Changing effective priority from 150 to 170/, 1);
      await sleepMs(1_300);
      mark("procKill");
      await sleeper.stop("SIGKILL");
      await until("priority 150 again", a, /Changing effective priority from 170 to 150/, 1);
      await sleepMs(1_300);
    }
    mark("file20");
    writeFileSync(join(dir, "tf"), "20\n");
    await until("priority 130", a, /Changing effective priority from 150 to 130/, 1);
    await sleepMs(1_300);
    mark("file300");
    writeFileSync(join(dir, "tf"), "300\n");
    await until("h1 FAULT (file)", a, FAULT, 2);
    await until("h2 MASTER after the file FAULT", b, MASTER, 3);
    await sleepMs(1_000);
    mark("file0");
    writeFileSync(join(dir, "tf"), "0\n");
    await until("h1 MASTER after the file recovered", a, MASTER, 4);
    await sleepMs(1_300);
    mark("end");
  } finally {
    await sleeper?.stop("SIGKILL");
    await Promise.all([a.proc.stop("SIGTERM", 8_000), b.proc.stop("SIGTERM", 8_000)]);
    clearInterval(poller);
    a.poll();
    // tcpdump prints the last adverts (the stopping master's priority 0) a moment after they leave.
    await sleepMs(500);
  }
  const leftover = /^leftover .*$/m.exec(a.proc.stdout)?.[0];
  return {
    h1Ip: host1.ipv4,
    h2Ip: host2.ipv4,
    h1Log: a.lines,
    h1Output: a.proc.output,
    h2Output: b.proc.output,
    packets: parseTcpdumpVrrp(wire.stdout),
    marks,
    ...(leftover === undefined ? {} : { leftover }),
    ...(h1 === "vigil" ? { journal: join(dir, "h1-journal.jsonl") } : {}),
    dir,
    marker,
  };
}

/** h1's state and priority lines, as keepalived prints them (the comparison's log channel). */
export const stateLines = (run: ScenarioRun): string[] =>
  run.h1Log
    .map(
      (l) => /\(VI_1\) (Entering \w+ STATE.*|Changing effective priority from \d+ to \d+)$/.exec(l.line)?.[1],
    )
    .filter((l): l is string => l !== undefined);

/** h1's advertised priorities, consecutive repeats folded. */
export const wirePriorities = (run: ScenarioRun): number[] => {
  const out: number[] = [];
  for (const p of run.packets) if (p.src === run.h1Ip && out.at(-1) !== p.prio) out.push(p.prio);
  return out;
};
