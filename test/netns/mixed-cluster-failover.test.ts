/**
 * Mixed clusters, failover (issue 11, cases 1, 2 and 10): Vigil's production daemon (`vigil run`) and
 * real keepalived 2.2.7 as the two routers of one VRID, VRRPv2 with `auth_type PASS`, advert_int 1.
 *
 * 1. Vigil at priority 200, keepalived at 100: Vigil MASTER (VIP on its host only), keepalived
 *    BACKUP; every advert carries the password. SIGTERM Vigil → priority 0 on the wire and keepalived
 *    MASTER one Skew (0.609375 s) after it; a restarted Vigil preempts (keepalived logs the higher
 *    priority advert and BACKUP); SIGKILL Vigil → keepalived MASTER one Master_Down interval
 *    (3.609375 s) after Vigil's last advert, measured on the wire.
 * 2. The same with the roles swapped: keepalived at 200, Vigil at 100; Vigil stays BACKUP, takes over
 *    after keepalived's priority-0 advert and after its hard kill, gives way to a restarted keepalived.
 *
 * The wire is watched from the bridge's port of the first host (tcpdump -v: priority, source,
 * interval, auth). Every Vigil journal replays with `vigil replay --verify`. The two clusters run
 * concurrently, each in its own lab; ~30 s.
 */
import { describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, type Lab, type LabProcess } from "../support/lab.ts";
import { hardKill } from "./support/differential.ts";
import {
  type Advert,
  awaitAddress,
  configText,
  countLines,
  instanceBlock,
  killVigil,
  masterDownUs,
  nowUs,
  observe,
  parseAdverts,
  sawLine,
  skewUs,
  sleepMs,
  startVigil,
  takeover,
  type Verified,
  type VigilRun,
  verifyJournal,
} from "./support/mixed-cluster.ts";
import {
  addressesOnBoth,
  expectJournalsVerified,
  expectTakeoverWithin,
  expectWithin,
  withLabs,
} from "./support/mixed-cluster-suite.ts";

const suite = "netns: mixed cluster failover, Vigil and keepalived 2.2.7 (VRRPv2, PASS)";
const PASS = "mix-pw01";
const SECOND_US = 1_000_000;
const MASTER = /\(VI_1\) Entering MASTER STATE/;
const BACKUP = /\(VI_1\) Entering BACKUP STATE/;

interface Scenario {
  vigilIp: string;
  kaIp: string;
  vip: string;
  wire: Advert[];
  /** Wall times (µs) of the events the test caused. */
  steadyFromUs: number;
  termAtUs: number;
  restartAtUs: number;
  killAtUs: number;
  /** Addresses on [vigil host, keepalived host] at each checkpoint. */
  steady: string[][];
  afterTerm: string[][];
  afterRestart: string[][];
  afterKill: string[][];
  vigilLog: string;
  kaLog: string;
  kaLog2: string;
  vigilExit: number | null | undefined;
  journals: Verified[];
}

const conf = (prio: number, net: string): string =>
  configText(
    `mixed${prio}`,
    instanceBlock({ vrid: 51, prio, advertInt: "1", version: 2, vips: [`${net}.100/24`], authPass: PASS }),
  );

/** Case 1: Vigil 200 on h1, keepalived 100 on h2. */
async function vigilHigh(lab: Lab): Promise<Scenario> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const net = `198.18.${lab.subnet}`;
  const vip = `${net}.100`;
  const wire = await observe(lab, h1);
  const v1 = startVigil(lab, h1, conf(200, net), "vigil-200");
  let v2 = v1;
  let ka = { proc: undefined as LabProcess | undefined };
  const rec = { vigilIp: h1.ipv4, kaIp: h2.ipv4, vip } as Scenario;
  try {
    await v1.proc.waitForOutput(MASTER, 30_000);
    const k = lab.keepalived(h2, conf(100, net), "keepalived-100");
    ka = k;
    await k.proc.waitForOutput(BACKUP, 10_000);
    rec.steadyFromUs = nowUs();
    await sleepMs(4_500); // longer than keepalived's Master_Down: it must stay BACKUP
    rec.steady = await addressesOnBoth(lab);

    rec.termAtUs = nowUs();
    await v1.proc.stop("SIGTERM", 10_000);
    rec.vigilExit = v1.proc.code;
    await sawLine(k.proc, MASTER, 5_000);
    await awaitAddress(lab, h2, vip, true, 3_000);
    await sleepMs(1_500);
    rec.afterTerm = await addressesOnBoth(lab);

    rec.restartAtUs = nowUs();
    v2 = startVigil(lab, h1, conf(200, net), "vigil-200 (restarted)");
    await sawLine(v2.proc, MASTER, 30_000);
    await sawLine(k.proc, BACKUP, 5_000, 2);
    await awaitAddress(lab, h2, vip, false, 3_000);
    await sleepMs(1_500);
    rec.afterRestart = await addressesOnBoth(lab);

    rec.killAtUs = nowUs();
    await killVigil(v2);
    await sawLine(k.proc, MASTER, 8_000, 2);
    await awaitAddress(lab, h2, vip, true, 3_000);
    await sleepMs(500);
    rec.afterKill = await addressesOnBoth(lab);
    await k.proc.stop("SIGTERM", 5_000);
  } finally {
    await wire.stop("SIGTERM");
    rec.wire = parseAdverts(wire.stdout);
    rec.vigilLog = v1.proc.output + v2.proc.output;
    rec.kaLog = ka.proc?.output ?? "";
    dumpForInspection("mixed-failover-1-wire.txt", wire.stdout);
    dumpForInspection("mixed-failover-1-vigil.txt", rec.vigilLog);
    dumpForInspection("mixed-failover-1-ka.txt", rec.kaLog);
  }
  rec.journals = await verifyJournal(v1, v2);
  return rec;
}

/** Case 2: keepalived 200 on h2, Vigil 100 on h1. */
async function keepalivedHigh(lab: Lab): Promise<Scenario> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const net = `198.18.${lab.subnet}`;
  const vip = `${net}.100`;
  const wire = await observe(lab, h1);
  const k1 = lab.keepalived(h2, conf(200, net), "keepalived-200");
  let k2 = k1;
  let v: VigilRun | undefined;
  const rec = { vigilIp: h1.ipv4, kaIp: h2.ipv4, vip } as Scenario;
  try {
    await k1.proc.waitForOutput(MASTER, 10_000);
    v = startVigil(lab, h1, conf(100, net), "vigil-100");
    await v.proc.waitForOutput(BACKUP, 30_000);
    rec.steadyFromUs = nowUs();
    await sleepMs(4_500);
    rec.steady = await addressesOnBoth(lab);

    rec.termAtUs = nowUs();
    await k1.proc.stop("SIGTERM", 5_000);
    await sawLine(v.proc, MASTER, 5_000);
    await awaitAddress(lab, h1, vip, true, 3_000);
    await sleepMs(1_500);
    rec.afterTerm = await addressesOnBoth(lab);

    rec.restartAtUs = nowUs();
    k2 = lab.keepalived(h2, conf(200, net), "keepalived-200 (restarted)");
    await sawLine(k2.proc, MASTER, 10_000);
    await sawLine(v.proc, BACKUP, 5_000, 2);
    await awaitAddress(lab, h1, vip, false, 3_000);
    await sleepMs(1_500);
    rec.afterRestart = await addressesOnBoth(lab);

    rec.killAtUs = await hardKill(k2);
    await sawLine(v.proc, MASTER, 8_000, 2);
    await awaitAddress(lab, h1, vip, true, 3_000);
    await sleepMs(500);
    rec.afterKill = await addressesOnBoth(lab);
    await v.proc.stop("SIGTERM", 10_000);
    rec.vigilExit = v.proc.code;
  } finally {
    await wire.stop("SIGTERM");
    rec.wire = parseAdverts(wire.stdout);
    rec.vigilLog = v?.proc.output ?? "";
    rec.kaLog = k1.proc.output;
    rec.kaLog2 = k2.proc.output;
    dumpForInspection("mixed-failover-2-wire.txt", wire.stdout);
    dumpForInspection("mixed-failover-2-vigil.txt", rec.vigilLog);
    dumpForInspection("mixed-failover-2-ka.txt", `${rec.kaLog}\n----\n${rec.kaLog2}`);
  }
  rec.journals = await verifyJournal(v);
  return rec;
}

/** Adverts of one source in [fromUs, toUs). */
const from = (r: Scenario, src: string, fromUs: number, toUs: number): Advert[] =>
  r.wire.filter((a) => a.src === src && a.atUs >= fromUs && a.atUs < toUs);

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true, tcpdump: true }))(suite, () => {
  let one: Scenario;
  let two: Scenario;

  withLabs(["mfa", "mfb"], async ([a, b]) => {
    [one, two] = await Promise.all([vigilHigh(a), keepalivedHigh(b)]);
  });

  describe("1: Vigil 200, keepalived 100", () => {
    it("Vigil is MASTER with the VIP, keepalived BACKUP; Vigil's adverts carry priority 200, PASS, 1 s", () => {
      expect(one.steady[0]).toContain(one.vip);
      expect(one.steady[1]).not.toContain(one.vip);
      expect(one.kaLog).toMatch(/\(VI_1\) Entering BACKUP STATE \(init\)/);
      const steady = from(one, one.vigilIp, one.steadyFromUs, one.termAtUs);
      expect(steady.length).toBeGreaterThanOrEqual(4);
      for (const a of steady)
        expect(a).toMatchObject({
          dst: "224.0.0.18",
          version: 2,
          vrid: 51,
          prio: 200,
          intervalCs: 100,
          ttl: 255,
        });
      for (const a of steady) expect([a.authType, a.password, a.addrs]).toEqual(["simple", PASS, [one.vip]]);
      for (let i = 1; i < steady.length; i++)
        expectWithin((steady[i]?.atUs ?? 0) - (steady[i - 1]?.atUs ?? 0), SECOND_US);
      expect(from(one, one.kaIp, one.steadyFromUs, one.termAtUs)).toEqual([]);
    });

    it("SIGTERM Vigil: priority 0, keepalived MASTER one Skew later, the VIP moves", () => {
      const t = takeover(one.wire, one.vigilIp, one.kaIp, one.termAtUs, "term");
      expect(t?.fromAdvert).toMatchObject({ prio: 0, password: PASS });
      expectTakeoverWithin(t, skewUs(100, SECOND_US));
      expect(t?.toAdvert).toMatchObject({ prio: 100, password: PASS, intervalCs: 100 });
      expect(one.kaLog).toMatch(/\(VI_1\) Backup received priority 0 advertisement/);
      expect(one.vigilExit).toBe(0);
      expect(one.afterTerm[0]).not.toContain(one.vip);
      expect(one.afterTerm[1]).toContain(one.vip);
    });

    it("a restarted Vigil preempts: keepalived logs the higher priority advert and BACKUP", () => {
      const esc = one.vigilIp.replaceAll(".", "\\.");
      expect(one.kaLog).toMatch(
        new RegExp(`\\(VI_1\\) Master received advert from ${esc} with higher priority 200, ours 100`),
      );
      expect(countLines(one.kaLog, BACKUP)).toBe(2);
      expect(one.afterRestart[0]).toContain(one.vip);
      expect(one.afterRestart[1]).not.toContain(one.vip);
      const vigilAgain = from(one, one.vigilIp, one.restartAtUs, one.killAtUs);
      expect(vigilAgain.length).toBeGreaterThan(0);
      expect(vigilAgain.every((a) => a.prio === 200)).toBe(true);
    });

    it("SIGKILL Vigil: keepalived MASTER one Master_Down interval after the last advert", () => {
      const t = takeover(one.wire, one.vigilIp, one.kaIp, one.killAtUs, "kill");
      expect(t?.fromAdvert.prio).toBe(200);
      expectTakeoverWithin(t, masterDownUs(100, SECOND_US));
      expect(one.afterKill[1]).toContain(one.vip);
    });

    it("both Vigil journals replay with vigil replay --verify", () =>
      expectJournalsVerified(one.journals, 2));
  });

  describe("2: keepalived 200, Vigil 100", () => {
    it("keepalived is MASTER with the VIP, Vigil stays BACKUP past its Master_Down interval", () => {
      expect(two.steady[1]).toContain(two.vip);
      expect(two.steady[0]).not.toContain(two.vip);
      expect(countLines(two.vigilLog, MASTER)).toBe(2); // term + kill, never before
      const steady = from(two, two.kaIp, two.steadyFromUs, two.termAtUs);
      expect(steady.length).toBeGreaterThanOrEqual(4);
      for (const a of steady) expect(a).toMatchObject({ prio: 200, password: PASS, intervalCs: 100 });
      expect(from(two, two.vigilIp, two.steadyFromUs, two.termAtUs)).toEqual([]);
    });

    it("SIGTERM keepalived: Vigil MASTER one Skew after the priority-0 advert, the VIP moves", () => {
      const t = takeover(two.wire, two.kaIp, two.vigilIp, two.termAtUs, "term");
      expect(t?.fromAdvert.prio).toBe(0);
      expectTakeoverWithin(t, skewUs(100, SECOND_US));
      expect(t?.toAdvert).toMatchObject({
        prio: 100,
        version: 2,
        vrid: 51,
        intervalCs: 100,
        ttl: 255,
        authType: "simple",
        password: PASS,
        addrs: [two.vip],
      });
      expect(two.vigilLog).toMatch(/\(VI_1\) Backup received priority 0 advertisement/);
      expect(two.afterTerm[0]).toContain(two.vip);
      expect(two.afterTerm[1]).not.toContain(two.vip);
    });

    it("a restarted keepalived preempts: Vigil logs BACKUP and releases the VIP", () => {
      const esc = two.vigilIp.replaceAll(".", "\\.");
      expect(two.kaLog2).toMatch(
        new RegExp(`\\(VI_1\\) received lower priority \\(100\\) advert from ${esc}`),
      );
      const kaEsc = two.kaIp.replaceAll(".", "\\.");
      expect(two.vigilLog).toMatch(
        new RegExp(`\\(VI_1\\) Master received advert from ${kaEsc} with higher priority 200, ours 100`),
      );
      expect(countLines(two.vigilLog, BACKUP)).toBe(2);
      expect(two.afterRestart[0]).not.toContain(two.vip);
      expect(two.afterRestart[1]).toContain(two.vip);
      const vigil = from(two, two.vigilIp, two.restartAtUs, two.killAtUs);
      const ka = from(two, two.kaIp, two.restartAtUs, two.killAtUs);
      // Vigil stops advertising once keepalived's priority-200 advert arrives.
      const firstKa = ka.find((a) => a.prio === 200);
      expect(firstKa).toBeDefined();
      expect(vigil.filter((a) => a.atUs > (firstKa?.atUs ?? 0) + 50_000)).toEqual([]);
    });

    it("SIGKILL keepalived: Vigil MASTER one Master_Down interval after the last advert", () => {
      const t = takeover(two.wire, two.kaIp, two.vigilIp, two.killAtUs, "kill");
      expect(t?.fromAdvert.prio).toBe(200);
      expectTakeoverWithin(t, masterDownUs(100, SECOND_US));
      expect(two.afterKill[0]).toContain(two.vip);
      expect(two.vigilExit).toBe(0);
    });

    it("Vigil's journal replays with vigil replay --verify", () => expectJournalsVerified(two.journals));
  });
});
