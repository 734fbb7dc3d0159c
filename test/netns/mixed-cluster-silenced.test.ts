/**
 * Mixed clusters, where Vigil differs from keepalived 2.2.7 on purpose (issue 11, found while doing
 * case 6). keepalived re-arms a MASTER's advert timer (now + advert_int) after EVERY packet it reads
 * for its VRID, also one its checks drop — auth failure, interval mismatch, … — (vrrp_scheduler.c
 * `vrrp_dispatcher_read`: `if (state != MASTER || !lower_prio_no_advert) vrrp_init_instance_sands`),
 * so a keepalived MASTER at advert_int 3 facing a second MASTER at advert_int 1 (its adverts dropped)
 * falls silent for as long as those keep coming — and so would it under anyone's junk for its VRID.
 * Vigil does not: a datagram its receive checks drop (and a v2 interval mismatch, which it logs)
 * never touches an instance's timers, so its MASTER keeps advertising every advert_int; valid
 * adverts re-arm it as keepalived does (docs/keepalived-reference.md §3.2; test/netns/flood.test.ts
 * for the flood this guards against).
 *
 * Node A (priority 200, advert_int 3) is keepalived in a reference run and Vigil in a mixed run; node
 * B (priority 100, advert_int 1) is keepalived in both. Two variants: B's adverts dropped for the
 * interval alone (logged by Vigil's instance machine), and with different PASS passwords too (a
 * check Vigil makes before the machine). keepalived's A is asserted to fall silent (the reference:
 * what 2.2.7 does, so the difference stays visible), Vigil's A to keep its 3 s interval. Vigil's
 * journals replay with `vigil replay --verify`. The four pairs run concurrently, each in its own
 * lab; ~20 s.
 */
import { describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, type Lab, type LabProcess } from "../support/lab.ts";
import {
  type Advert,
  configText,
  instanceBlock,
  observe,
  parseAdverts,
  sleepMs,
  startVigil,
  type Verified,
  type VigilRun,
  verifyJournal,
} from "./support/mixed-cluster.ts";
import { expectJournalsVerified, withLabs } from "./support/mixed-cluster-suite.ts";

const suite =
  "netns: dropped adverts silence a keepalived MASTER, not a Vigil one (keepalived 2.2.7 vs Vigil)";
const MASTER = /\(VI_1\) Entering MASTER STATE/;
const WATCH_MS = 7_000;

interface Run {
  aIp: string;
  bIp: string;
  wire: Advert[];
  aLog: string;
  bLog: string;
  journals: Verified[];
}

/** `interval`: no authentication; `password`: PASS on both with different passwords as well. */
type Variant = "interval" | "password";

async function pair(lab: Lab, a: "keepalived" | "vigil", variant: Variant): Promise<Run> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const net = `198.18.${lab.subnet}`;
  const conf = (prio: number, advertInt: string): string =>
    configText(
      `silent-${prio}`,
      instanceBlock({
        vrid: 51,
        prio,
        advertInt,
        version: 2,
        vips: [`${net}.100/24`],
        ...(variant === "password" ? { authPass: `pw-${prio}` } : {}),
      }),
    );
  const wire = await observe(lab, h1);
  let vigil: VigilRun | undefined;
  let nodeA: LabProcess;
  if (a === "vigil") {
    vigil = startVigil(lab, h1, conf(200, "3"), "vigil A (200, 3 s)");
    nodeA = vigil.proc;
  } else nodeA = lab.keepalived(h1, conf(200, "3"), "keepalived A (200, 3 s)").proc;
  let nodeB: LabProcess | undefined;
  const r: Run = { aIp: h1.ipv4, bIp: h2.ipv4, wire: [], aLog: "", bLog: "", journals: [] };
  try {
    await nodeA.waitForOutput(MASTER, 30_000);
    const b = lab.keepalived(h2, conf(100, "1"), "keepalived B (100, 1 s)").proc;
    nodeB = b;
    await b.waitForOutput(MASTER, 10_000);
    await sleepMs(WATCH_MS);
    await nodeA.stop("SIGTERM", 10_000);
    await b.stop("SIGTERM", 5_000);
  } finally {
    await wire.stop("SIGTERM");
    r.wire = parseAdverts(wire.stdout);
    r.aLog = nodeA.output;
    r.bLog = nodeB?.output ?? "";
    dumpForInspection(`mixed-silenced-${variant}-${a}-wire.txt`, wire.stdout);
    dumpForInspection(`mixed-silenced-${variant}-${a}-a.txt`, r.aLog);
  }
  r.journals = await verifyJournal(vigil);
  return r;
}

/** A's adverts (priority 200) sent from 1.1 s after B's first advert until A's stop. */
function aWhileBTalks(r: Run): { a: Advert[]; b: Advert[] } {
  const firstB = r.wire.find((x) => x.src === r.bIp && x.prio === 100);
  expect(firstB).toBeDefined();
  const from = (firstB?.atUs ?? 0) + 1_100_000;
  return {
    a: r.wire.filter((x) => x.src === r.aIp && x.prio === 200 && x.atUs > from),
    b: r.wire.filter((x) => x.src === r.bIp && x.prio === 100 && x.atUs > from),
  };
}

const DROPPED: Record<Variant, { readonly a: RegExp; readonly b: RegExp }> = {
  interval: {
    a: /\(VI_1\) advertisement interval mismatch mine=3 sec rcv'd=1 sec/,
    b: /\(VI_1\) advertisement interval mismatch mine=1 sec rcv'd=3 sec/,
  },
  password: { a: /\(VI_1\) received an invalid passwd!/, b: /\(VI_1\) received an invalid passwd!/ },
};

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true, tcpdump: true }))(suite, () => {
  const runs = new Map<string, Run>();
  const plan = [
    ["keepalived", "interval"],
    ["vigil", "interval"],
    ["keepalived", "password"],
    ["vigil", "password"],
  ] as const;

  withLabs(
    plan.map((_, k) => `ms${k}`),
    async (labs) => {
      const done = await Promise.all(plan.map(([a, v], k) => pair(labs[k] as Lab, a, v)));
      for (const [k, [a, v]] of plan.entries()) runs.set(`${a}/${v}`, done[k] as Run);
    },
    120_000,
  );

  describe.each(["interval", "password"] as const)("dropped because of the %s", (variant) => {
    const run = (a: string): Run => runs.get(`${a}/${variant}`) as Run;

    it("keepalived 2.2.7: both MASTER; A drops B's adverts and falls silent", () => {
      const reference = run("keepalived");
      expect(reference.aLog).toMatch(DROPPED[variant].a);
      expect(reference.bLog).toMatch(DROPPED[variant].b);
      const { a, b } = aWhileBTalks(reference);
      expect(b.length).toBeGreaterThanOrEqual(5);
      expect(a).toEqual([]);
    });

    it("Vigil as A: keepalived drops its adverts the same way, and it stays MASTER", () => {
      const mixed = run("vigil");
      expect(mixed.bLog).toMatch(DROPPED[variant].b);
      expect(mixed.aLog.match(/Entering MASTER STATE/g)?.length).toBe(1);
      expect(mixed.aLog).not.toMatch(/Entering BACKUP STATE(?! \(init\))/);
    });

    // A documented difference: B's dropped adverts never touch Vigil's advert timer.
    it("Vigil as A keeps advertising every 3 s while B's dropped adverts come every second", () => {
      const mixed = run("vigil");
      const { a, b } = aWhileBTalks(mixed);
      // keepalived's B re-arms its own advert timer on each of A's adverts it drops: fewer than one a second
      expect(b.length).toBeGreaterThanOrEqual(3);
      // ~7 s of B talking: at least two of A's adverts, each 3 s (± 100 ms) after the one before
      expect(a.length).toBeGreaterThanOrEqual(2);
      // from A's last advert before that window on: every gap is A's interval
      const all = mixed.wire.filter((x) => x.src === mixed.aIp && x.prio === 200);
      const window = all.slice(Math.max(all.indexOf(a[0] as Advert) - 1, 0));
      const gaps = window.slice(1).map((x, k) => x.atUs - (window[k] as Advert).atUs);
      expect(gaps.length).toBeGreaterThanOrEqual(2);
      for (const g of gaps)
        expect(Math.abs(g - 3_000_000), `gaps ${gaps.join(" ")}`).toBeLessThanOrEqual(100_000);
      if (variant === "interval") expect(mixed.aLog).toMatch(DROPPED.interval.a);
    });

    it("Vigil's journal replays with vigil replay --verify", () => {
      expectJournalsVerified(run("vigil").journals);
    });
  });
});
