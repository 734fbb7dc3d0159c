/**
 * Differential conformance: the SAME keepalived.conf files run (a) on real keepalived 2.2.7 in lab
 * namespaces and (b) in Vigil Nodes on the simulated network under a VirtualClock, with the same
 * events, and what matters is compared:
 *
 * 1. Takeover timing, two nodes at priorities 150 / 100 (v2, advert_int 1, multicast): after a hard
 *    kill of the master (SIGKILL by PID: nothing more is sent) the backup's first advert comes
 *    3 × 1 s + (256 − 100)/256 s = 3.609375 s after the master's last one; after a graceful stop
 *    (SIGTERM: priority-0 advert) it comes Skew = 0.609375 s after the priority-0 advert. Vigil must
 *    be exact in virtual time; keepalived, measured with tcpdump `-tt` on the backup's interface,
 *    within ±150 ms (TOLERANCE_US). Also the sequence of advert priorities on the wire after each
 *    event (through the backup's own stop).
 * 2. The backup's `vrrp_notify_fifo` lines and generic `notify` script argv through startup →
 *    takeover → stop.
 * 3. A sync group of two instances on one node (two variants: either member completes the group),
 *    then one member's interface goes down (`ip link set … down`; Vigil gets a link-down input) →
 *    FIFO lines per state (order of the members and the GROUP line) and notify argv, through the stop.
 *
 * keepalived's side is asserted on its own (what 2.2.7 really does), Vigil's takeover timing on its
 * own, and then Vigil is compared with keepalived. What these comparisons pinned down: keepalived
 * writes the group's BACKUP line before the members' at startup, and puts the member that completed
 * the group FIRST when going MASTER; Vigil does the same.
 *
 * The four real scenarios run concurrently, each in its own lab (namespaces + bridge); ~13 s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess } from "../support/lab.ts";
import {
  fifoReader,
  hardKill,
  lines,
  notifyDir,
  parseTcpdumpVrrp,
  readLog,
  S,
  SETTLE_MS,
  SimWorld,
  sleepMs,
  syncConf,
  TOLERANCE_US,
  takeoverConf,
  type WirePacket,
} from "./support/differential.ts";

const suite = "netns: keepalived 2.2.7 vs Vigil (differential conformance)";

type Mode = "kill" | "term";

interface TakeoverRecord {
  readonly packets: readonly WirePacket[];
  readonly fifo: readonly string[];
  /** The real notify scripts' argv; Vigil's arrive once its scripts have run. */
  readonly notify: readonly string[] | Promise<readonly string[]>;
}

interface TakeoverFigures {
  readonly deltaUs: number;
  /** Adverts from the event on: `master:PRIO` / `backup:PRIO`. */
  readonly sequence: readonly string[];
}

/** Takeover delay and wire sequence after the event, from a packet list (real or simulated). */
function analyse(mode: Mode, packets: readonly WirePacket[], ip1: string, ip2: string): TakeoverFigures {
  const label = (p: WirePacket): string =>
    `${p.src === ip1 ? "master" : p.src === ip2 ? "backup" : p.src}:${p.prio}`;
  const firstBackup = packets.findIndex((p) => p.src === ip2);
  if (firstBackup < 0) throw new Error(`no advert from the backup in ${JSON.stringify(packets)}`);
  let from: number;
  if (mode === "kill") {
    from = packets.slice(0, firstBackup).findLastIndex((p) => p.src === ip1);
    if (from < 0) throw new Error("no advert from the master before the takeover");
  } else {
    from = packets.findIndex((p) => p.src === ip1 && p.prio === 0);
    if (from < 0 || from > firstBackup) throw new Error("no priority-0 advert before the takeover");
  }
  const deltaUs = (packets[firstBackup]?.atUs ?? 0) - (packets[from]?.atUs ?? 0);
  const sequence = packets.slice(mode === "kill" ? from + 1 : from).map(label);
  return { deltaUs, sequence };
}

interface RealTakeover extends TakeoverRecord {
  readonly ip1: string;
  readonly ip2: string;
  readonly conf1: string;
  readonly conf2: string;
}

async function realTakeover(lab: Lab, mode: Mode): Promise<RealTakeover> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const net = `198.18.${lab.subnet}`;
  const n = await notifyDir(lab);
  const tcpdump = await lab.tcpdump(h2, ["-tt"]);
  const reader: LabProcess = fifoReader(lab, h2.ns, n.fifo);
  const ka1 = lab.keepalived(h1, takeoverConf(150, net), `keepalived-150@${mode}`);
  await sleepMs(500);
  const ka2 = lab.keepalived(h2, takeoverConf(100, net, n), `keepalived-100@${mode}`);
  try {
    await ka1.proc.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 8_000);
    await ka2.proc.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 8_000);
    await sleepMs(SETTLE_MS);
    if (mode === "kill") await hardKill(ka1);
    else await ka1.proc.stop("SIGTERM", 5_000);
    await ka2.proc.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 8_000);
    await sleepMs(SETTLE_MS);
    await ka2.proc.stop("SIGTERM", 5_000);
    await reader.waitExit(5_000);
    await sleepMs(300); // the STOP notify script runs at exit
  } finally {
    await tcpdump.stop("SIGTERM");
    dumpForInspection(`conformance-${mode}-tcpdump.txt`, tcpdump.stdout);
    dumpForInspection(`conformance-${mode}-ka1.txt`, ka1.proc.output);
    dumpForInspection(`conformance-${mode}-ka2.txt`, ka2.proc.output);
  }
  return {
    ip1: h1.ipv4,
    ip2: h2.ipv4,
    conf1: ka1.configPath,
    conf2: ka2.configPath,
    packets: parseTcpdumpVrrp(tcpdump.stdout),
    fifo: lines(reader.stdout),
    notify: readLog(n.log),
  };
}

/** The same configs and events in Vigil, in virtual time. */
function simTakeover(mode: Mode, real: RealTakeover): TakeoverRecord {
  let masters = 0;
  const world = new SimWorld(
    [
      {
        name: "h1",
        configPath: real.conf1,
        interfaces: [{ ifname: "eth0", segment: "lan", ipv4: real.ip1 }],
      },
      {
        name: "h2",
        configPath: real.conf2,
        interfaces: [{ ifname: "eth0", segment: "lan", ipv4: real.ip2 }],
      },
    ],
    (t, w) => {
      if (t.to !== "MASTER") return;
      masters++;
      if (masters === 1 && t.node === "h1")
        w.after(SETTLE_MS * 1000, () => (mode === "kill" ? w.hardKill("h1") : w.node("h1").shutdown()));
      if (t.node === "h2") w.after(SETTLE_MS * 1000, () => w.node("h2").shutdown());
    },
  );
  world.node("h1").start();
  world.after(500_000, () => world.node("h2").start());
  world.clock.advanceTo(30 * S);
  return { packets: world.wire, fifo: world.fifo.get("h2") ?? [], notify: world.notifyLines("h2") };
}

// ---- 3: sync group ------------------------------------------------------------------------------

/**
 * Two variants, so both orders are covered. "d": both members at priority 100; VI_C's down timer
 * fires first and waits, VI_D's completes the group; then eth1 (VI_D's) goes down. "c": VI_C at
 * priority 90, so VI_D's timer fires first and VI_C's completes the group; then eth0 (VI_C's) goes
 * down. `keepalivedFifo` is what keepalived 2.2.7 wrote here (identical on every run): the group's
 * BACKUP line comes before the members' at startup; going MASTER or FAULT, the member that caused it
 * goes first, then the other, then the group; STOP in configuration order, the group last.
 */
interface SyncVariant {
  readonly key: "c" | "d";
  readonly viCPriority: number;
  readonly down: "eth0" | "eth1";
  readonly keepalivedFifo: readonly string[];
}

const syncVariants: readonly SyncVariant[] = [
  {
    key: "d",
    viCPriority: 100,
    down: "eth1",
    keepalivedFifo: [
      'GROUP "G1" BACKUP 0',
      'INSTANCE "VI_C" BACKUP 100',
      'INSTANCE "VI_D" BACKUP 100',
      'INSTANCE "VI_D" MASTER 100',
      'INSTANCE "VI_C" MASTER 100',
      'GROUP "G1" MASTER 0',
      'INSTANCE "VI_D" FAULT 100',
      'INSTANCE "VI_C" FAULT 100',
      'GROUP "G1" FAULT 0',
      'INSTANCE "VI_C" STOP 100',
      'INSTANCE "VI_D" STOP 100',
      'GROUP "G1" STOP 0',
    ],
  },
  {
    key: "c",
    viCPriority: 90,
    down: "eth0",
    keepalivedFifo: [
      'GROUP "G1" BACKUP 0',
      'INSTANCE "VI_C" BACKUP 90',
      'INSTANCE "VI_D" BACKUP 100',
      'INSTANCE "VI_C" MASTER 90',
      'INSTANCE "VI_D" MASTER 100',
      'GROUP "G1" MASTER 0',
      'INSTANCE "VI_C" FAULT 90',
      'INSTANCE "VI_D" FAULT 100',
      'GROUP "G1" FAULT 0',
      'INSTANCE "VI_C" STOP 90',
      'INSTANCE "VI_D" STOP 100',
      'GROUP "G1" STOP 0',
    ],
  },
];

interface SyncRecord {
  readonly fifo: readonly string[];
  readonly notify: readonly string[] | Promise<readonly string[]>;
}

interface RealSync extends SyncRecord {
  readonly conf: string;
  readonly ip: string;
  readonly ip2: string;
}

async function realSync(lab: Lab, v: SyncVariant): Promise<RealSync> {
  const h = lab.host(1);
  const net = `198.18.${lab.subnet}`;
  const net2 = `198.19.${lab.subnet}`;
  const ip2 = `${net2}.1`;
  await lab.secondInterface(h, "s1", { address: `${ip2}/24` });
  const n = await notifyDir(lab);
  const reader = fifoReader(lab, h.ns, n.fifo);
  const ka = lab.keepalived(h, syncConf(v.viCPriority, net, net2, n), `keepalived-sync-${v.key}`);
  try {
    for (const name of ["VI_C", "VI_D"])
      await ka.proc.waitForOutput(new RegExp(`\\(${name}\\) Entering MASTER STATE`), 8_000);
    await sleepMs(SETTLE_MS);
    await lab.nsRun(h.ns, "ip", ["link", "set", v.down, "down"]);
    for (const name of ["VI_C", "VI_D"])
      await ka.proc.waitForOutput(new RegExp(`\\(${name}\\) Entering FAULT STATE`), 8_000);
    await sleepMs(SETTLE_MS);
    await ka.proc.stop("SIGTERM", 5_000);
    await reader.waitExit(5_000);
    await sleepMs(300);
  } finally {
    dumpForInspection(`conformance-sync-${v.key}-ka.txt`, ka.proc.output);
  }
  return { conf: ka.configPath, ip: h.ipv4, ip2, fifo: lines(reader.stdout), notify: readLog(n.log) };
}

function simSync(v: SyncVariant, real: RealSync): SyncRecord {
  let masters = 0;
  let faults = 0;
  const world = new SimWorld(
    [
      {
        name: "h1",
        configPath: real.conf,
        interfaces: [
          { ifname: "eth0", segment: "lan", ipv4: real.ip },
          { ifname: "eth1", segment: "lan2", ipv4: real.ip2 },
        ],
      },
    ],
    (t, w) => {
      if (!t.actor.startsWith("instance:")) return;
      if (t.to === "MASTER" && ++masters === 2)
        w.after(SETTLE_MS * 1000, () => w.node("h1").input({ kind: "link", ifname: v.down, up: false }));
      if (t.to === "FAULT" && ++faults === 2) w.after(SETTLE_MS * 1000, () => w.node("h1").shutdown());
    },
  );
  world.start();
  world.clock.advanceTo(30 * S);
  return { fifo: world.fifo.get("h1") ?? [], notify: world.notifyLines("h1") };
}

// ---- the suite ----------------------------------------------------------------------------------

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true, tcpdump: true }))(suite, () => {
  const labs: Lab[] = [];
  const real: Partial<Record<Mode, RealTakeover>> = {};
  const realSyncs = new Map<SyncVariant["key"], RealSync>();
  const pid = process.pid % 1000;

  beforeAll(async () => {
    const make = async (suffix: string, hosts: number): Promise<Lab> => {
      const lab = await Lab.create({ prefix: `vg${pid}d${suffix}`, hosts });
      labs.push(lab);
      return lab;
    };
    const [kill, term, ...syncs] = await Promise.all([
      make("k", 2).then((lab) => realTakeover(lab, "kill")),
      make("t", 2).then((lab) => realTakeover(lab, "term")),
      ...syncVariants.map((v) => make(`s${v.key}`, 1).then((lab) => realSync(lab, v))),
    ]);
    Object.assign(real, { kill, term });
    syncVariants.forEach((v, i) => {
      const r = syncs[i];
      if (r !== undefined) realSyncs.set(v.key, r);
    });
  }, 40_000);

  afterAll(async () => {
    await Promise.all(labs.map((l) => l.destroy()));
  }, 20_000);

  const get = <T>(x: T | undefined): T => {
    if (x === undefined) throw new Error("the real scenario did not run");
    return x;
  };

  for (const [mode, expectedUs, what] of [
    ["kill", 3_609_375, "hard kill (SIGKILL): master's last advert → backup's first"],
    ["term", 609_375, "graceful stop (SIGTERM): priority-0 advert → backup's first"],
  ] as const) {
    describe(`takeover after ${what}`, () => {
      it(`keepalived: ${expectedUs / S} s ± ${TOLERANCE_US / 1000} ms`, () => {
        const r = get(real[mode]);
        const f = analyse(mode, r.packets, r.ip1, r.ip2);
        console.info(
          `[conformance] keepalived ${mode}: takeover ${f.deltaUs} µs; wire ${f.sequence.join(" ")}`,
        );
        expect(Math.abs(f.deltaUs - expectedUs)).toBeLessThanOrEqual(TOLERANCE_US);
        // One priority-0 advert from a stopping master (none after SIGKILL); the backup advertises
        // at once on takeover, then every second until its own SIGTERM (one priority-0 advert).
        const after = ["backup:100", "backup:100", "backup:0"];
        expect(f.sequence).toEqual(mode === "kill" ? after : ["master:0", ...after]);
      });
      it(`Vigil: exactly ${expectedUs} µs of virtual time`, () => {
        const r = get(real[mode]);
        const f = analyse(mode, simTakeover(mode, r).packets, r.ip1, r.ip2);
        expect(f.deltaUs).toBe(expectedUs);
      });
      it("Vigil sends the same advert priorities after the event as keepalived", () => {
        const r = get(real[mode]);
        const k = analyse(mode, r.packets, r.ip1, r.ip2);
        const v = analyse(mode, simTakeover(mode, r).packets, r.ip1, r.ip2);
        expect(v.sequence).toEqual(k.sequence);
      });
      it("the backup's FIFO lines and notify argv: Vigil = keepalived", async () => {
        const r = get(real[mode]);
        const v = simTakeover(mode, r);
        console.info(
          `[conformance] keepalived ${mode} fifo ${JSON.stringify(r.fifo)} notify ${JSON.stringify(r.notify)}`,
        );
        expect(r.fifo).toEqual([
          'INSTANCE "VI_1" BACKUP 100',
          'INSTANCE "VI_1" MASTER 100',
          'INSTANCE "VI_1" STOP 100',
        ]);
        expect(v.fifo).toEqual(r.fifo);
        expect(await v.notify).toEqual(await r.notify);
      });
    });
  }

  for (const v of syncVariants) {
    const completes = v.viCPriority < 100 ? "VI_C" : "VI_D";
    describe(`sync group: ${completes} completes the group, then ${v.down} goes down`, () => {
      it("keepalived: the FIFO lines (startup, MASTER, FAULT, STOP)", () => {
        const r = get(realSyncs.get(v.key));
        console.info(
          `[conformance] keepalived sync-${v.key} fifo ${JSON.stringify(r.fifo)} notify ${JSON.stringify(r.notify)}`,
        );
        expect(r.fifo).toEqual(v.keepalivedFifo);
      });
      for (const state of ["BACKUP", "MASTER", "FAULT", "STOP"]) {
        it(`FIFO ${state} lines (with GROUP) and their order: Vigil = keepalived`, () => {
          const r = get(realSyncs.get(v.key));
          const only = (l: readonly string[]): string[] => l.filter((x) => x.split(" ")[2] === state);
          expect(only(simSync(v, r).fifo)).toEqual(only(r.fifo));
        });
      }
      it("notify argv (as a multiset: scripts run concurrently): Vigil = keepalived", async () => {
        const r = get(realSyncs.get(v.key));
        const argv = v.keepalivedFifo.map((l) => l.replaceAll('"', ""));
        const real = await r.notify;
        expect([...real].sort()).toEqual([...argv].sort());
        expect([...(await simSync(v, r).notify)].sort()).toEqual([...real].sort());
      });
    });
  }
});
