/**
 * Mixed clusters, preemption and authentication (issue 11, cases 5, 6 and 10): Vigil's production
 * daemon beside real keepalived 2.2.7.
 *
 * 5. `nopreempt` on the higher-priority node (state BACKUP), both ways, VRRPv3 at 0.1 s: the
 *    lower-priority node is MASTER first; the higher one (200, nopreempt) starts, accepts its
 *    lower-priority adverts and stays BACKUP for many Master_Down intervals, sending nothing;
 *    stopping the lower node (SIGTERM) hands over to it one Skew after the priority-0 advert.
 * 6. Authentication mismatch, VRRPv2: VI_P with different `auth_pass` on each side, VI_T with PASS on
 *    keepalived and no authentication on Vigil. As keepalived does, both sides become MASTER (both
 *    hold the VIP, both advertise) and count the peer's adverts as authentication errors:
 *    keepalived's counters from its JSON dump (SIGRTMIN+2, run with a private /tmp through
 *    `unshare -m`), Vigil's from its journal (the recorded inputs replayed into a fresh node).
 * Every Vigil journal replays with `vigil replay --verify`. Three clusters run concurrently; ~20 s.
 */
import { describe, expect, it } from "vitest";
import type { InstanceStats } from "../../src/runtime/stats.ts";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, type KeepalivedRun, type Lab, type LabProcess } from "../support/lab.ts";
import {
  type Advert,
  awaitAddress,
  configText,
  countLines,
  instanceBlock,
  journalStats,
  keepalivedJson,
  keepalivedPrivateTmp,
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
  entering,
  expectJournalsVerified,
  expectTakeoverWithin,
  withLabs,
} from "./support/mixed-cluster-suite.ts";

const suite = "netns: mixed cluster nopreempt and authentication mismatch (Vigil, keepalived 2.2.7)";
const INTERVAL_US = 100_000;

interface NopreemptRun {
  /** Which daemon has nopreempt at priority 200. */
  readonly high: "vigil" | "keepalived";
  highIp: string;
  lowIp: string;
  vip: string;
  wire: Advert[];
  marks: { [k: string]: number };
  addrs: { [k: string]: string[][] };
  highLog: string;
  journals: Verified[];
}

/** Vigil on h1, keepalived on h2; the `high` one is at 200 with nopreempt, the other at 100. */
async function nopreempt(lab: Lab, high: "vigil" | "keepalived"): Promise<NopreemptRun> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const net = `198.18.${lab.subnet}`;
  const conf = (prio: number): string =>
    configText(
      `np-${prio}`,
      instanceBlock({
        vrid: 71,
        prio,
        advertInt: "0.1",
        version: 3,
        vips: [`${net}.100/24`],
        nopreempt: prio === 200,
      }),
    );
  const vigilHigh = high === "vigil";
  const r: NopreemptRun = {
    high,
    highIp: vigilHigh ? h1.ipv4 : h2.ipv4,
    lowIp: vigilHigh ? h2.ipv4 : h1.ipv4,
    vip: `${net}.100`,
    wire: [],
    marks: {},
    addrs: {},
    highLog: "",
    journals: [],
  };
  const wire = await observe(lab, h1);
  let v: VigilRun | undefined;
  const startLow = (): LabProcess => {
    if (vigilHigh) return lab.keepalived(h2, conf(100), "keepalived-100").proc;
    v = startVigil(lab, h1, conf(100), "vigil-100");
    return v.proc;
  };
  const startHigh = (): LabProcess => {
    if (!vigilHigh) return lab.keepalived(h2, conf(200), "keepalived-200 nopreempt").proc;
    v = startVigil(lab, h1, conf(200), "vigil-200 nopreempt");
    return v.proc;
  };
  let low: LabProcess | undefined;
  let hi: LabProcess | undefined;
  try {
    low = startLow();
    await low.waitForOutput(entering("VI_1", "MASTER"), 30_000);
    hi = startHigh();
    await hi.waitForOutput(entering("VI_1", "BACKUP"), 30_000);
    r.marks.steady = nowUs();
    await sleepMs(2_500); // 25 adverts, about 7 Master_Down intervals of the high node
    r.addrs.steady = await addressesOnBoth(lab);
    r.marks.term = nowUs();
    await low.stop("SIGTERM", 10_000);
    await sawLine(hi, entering("VI_1", "MASTER"), 5_000);
    await awaitAddress(lab, vigilHigh ? h1 : h2, r.vip, true, 3_000);
    await sleepMs(500);
    r.addrs.afterTerm = await addressesOnBoth(lab);
    await hi.stop("SIGTERM", 10_000);
  } finally {
    await wire.stop("SIGTERM");
    r.wire = parseAdverts(wire.stdout);
    r.highLog = hi?.output ?? "";
    dumpForInspection(`mixed-nopreempt-${high}-wire.txt`, wire.stdout);
    dumpForInspection(`mixed-nopreempt-${high}-high.txt`, r.highLog);
    dumpForInspection(`mixed-nopreempt-${high}-low.txt`, low?.output ?? "");
  }
  r.journals = await verifyJournal(v);
  return r;
}

interface AuthRun {
  vigilIp: string;
  kaIp: string;
  vips: { P: string; T: string };
  wire: Advert[];
  addrs: string[][];
  kaLog: string;
  vigilLog: string;
  kaStats: { [vi: string]: { [k: string]: number } };
  vigilStats: { [vi: string]: InstanceStats | undefined };
  /** Wall time (µs) Vigil was stopped at: its counters cover the adverts before it. */
  vigilStopUs: number;
  kaDumpUs: number;
  journals: Verified[];
}

/** VI_P: passwords differ; VI_T: keepalived PASS, Vigil no authentication. VRRPv2, advert_int 1. */
async function authMismatch(lab: Lab): Promise<AuthRun> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const net = `198.18.${lab.subnet}`;
  const vips = { P: `${net}.101`, T: `${net}.102` };
  const conf = (prio: number, pass: string, withT: boolean): string =>
    configText(
      `auth-${prio}`,
      instanceBlock({
        name: "VI_P",
        vrid: 81,
        prio,
        advertInt: "1",
        version: 2,
        vips: [`${vips.P}/24`],
        authPass: pass,
      }),
      instanceBlock({
        name: "VI_T",
        vrid: 82,
        prio,
        advertInt: "1",
        version: 2,
        vips: [`${vips.T}/24`],
        ...(withT ? { authPass: pass } : {}),
      }),
    );
  const r = { vigilIp: h1.ipv4, kaIp: h2.ipv4, vips, kaStats: {}, vigilStats: {} } as AuthRun;
  const wire = await observe(lab, h1);
  const v = startVigil(lab, h1, conf(200, "vigil-pw", false), "vigil-200 auth");
  let ka: KeepalivedRun | undefined;
  try {
    for (const vi of ["VI_P", "VI_T"]) await v.proc.waitForOutput(entering(vi, "MASTER"), 30_000);
    ka = keepalivedPrivateTmp(lab, h2, conf(100, "ka-pw", true), "keepalived-100 auth");
    for (const vi of ["VI_P", "VI_T"]) await ka.proc.waitForOutput(entering(vi, "MASTER"), 10_000);
    await sleepMs(2_500);
    r.addrs = await addressesOnBoth(lab);
    r.kaDumpUs = nowUs();
    for (const d of await keepalivedJson(ka)) r.kaStats[String(d.data.iname)] = d.stats;
    r.vigilStopUs = nowUs();
    await v.proc.stop("SIGTERM", 10_000);
    await ka.proc.stop("SIGTERM", 5_000);
  } finally {
    await wire.stop("SIGTERM");
    r.wire = parseAdverts(wire.stdout);
    r.kaLog = ka?.proc.output ?? "";
    r.vigilLog = v.proc.output;
    dumpForInspection("mixed-auth-wire.txt", wire.stdout);
    dumpForInspection("mixed-auth-ka.txt", r.kaLog);
    dumpForInspection("mixed-auth-vigil.txt", r.vigilLog);
  }
  for (const vi of ["VI_P", "VI_T"]) r.vigilStats[vi] = journalStats(v, vi);
  r.journals = await verifyJournal(v);
  return r;
}

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true, tcpdump: true }))(suite, () => {
  let np: NopreemptRun[] = [];
  let auth: AuthRun;

  withLabs(["mpa", "mpb", "mpc"], async ([a, b, c]) => {
    const [n1, n2, au] = await Promise.all([
      nopreempt(a, "vigil"),
      nopreempt(b, "keepalived"),
      authMismatch(c),
    ]);
    np = [n1, n2];
    auth = au;
  });

  describe.each(["vigil", "keepalived"] as const)("5: nopreempt on the higher-priority node (%s)", (high) => {
    const get = (): NopreemptRun => np.find((r) => r.high === high) as NopreemptRun;

    it("the lower-priority node stays MASTER; the higher one stays BACKUP and silent", () => {
      const r = get();
      const steady = r.wire.filter((a) => a.atUs >= (r.marks.steady ?? 0) && a.atUs < (r.marks.term ?? 0));
      expect(steady.filter((a) => a.src === r.highIp)).toEqual([]);
      const low = steady.filter((a) => a.src === r.lowIp);
      expect(low.length).toBeGreaterThanOrEqual(15);
      for (const a of low) expect(a).toMatchObject({ version: 3, vrid: 71, prio: 100, intervalCs: 10 });
      expect(countLines(r.highLog, entering("VI_1", "MASTER"))).toBe(1); // only after the SIGTERM
      const [vigilAddrs, kaAddrs] = r.addrs.steady ?? [];
      expect(high === "vigil" ? kaAddrs : vigilAddrs).toContain(r.vip);
      expect(high === "vigil" ? vigilAddrs : kaAddrs).not.toContain(r.vip);
    });

    it("SIGTERM the lower node: the nopreempt node MASTER one Skew after priority 0", () => {
      const r = get();
      const t = takeover(r.wire, r.lowIp, r.highIp, r.marks.term ?? 0, "term");
      expect(t?.fromAdvert.prio).toBe(0);
      expect(t?.toAdvert.prio).toBe(200);
      expectTakeoverWithin(t, skewUs(200, INTERVAL_US));
      const [vigilAddrs, kaAddrs] = r.addrs.afterTerm ?? [];
      expect(high === "vigil" ? vigilAddrs : kaAddrs).toContain(r.vip);
    });

    it("Vigil's journal replays with vigil replay --verify", () => expectJournalsVerified(get().journals));
  });

  describe("6: authentication mismatch", () => {
    it("both sides MASTER for both instances, each holding the VIPs and advertising", () => {
      for (const vi of ["VI_P", "VI_T"]) {
        expect(auth.vigilLog).toMatch(entering(vi, "MASTER"));
        expect(auth.kaLog).toMatch(entering(vi, "MASTER"));
      }
      expect(auth.vigilLog).not.toMatch(/Entering BACKUP STATE(?! \(init\))/);
      expect(auth.kaLog).not.toMatch(/Entering BACKUP STATE(?! \(init\))/);
      for (const vip of [auth.vips.P, auth.vips.T]) {
        expect(auth.addrs[0]).toContain(vip);
        expect(auth.addrs[1]).toContain(vip);
      }
      // Vigil advertises all along. keepalived sends one advert on entering MASTER, then falls silent:
      // as MASTER it re-arms its advert timer on every packet received for the VRID, even one its
      // checks drop (vrrp_scheduler.c, vrrp_dispatcher_read), and Vigil's arrive every second.
      const late = auth.wire.filter((a) => a.atUs > auth.kaDumpUs - 2_000_000 && a.atUs < auth.kaDumpUs);
      for (const vrid of [81, 82]) {
        expect(late.filter((a) => a.src === auth.vigilIp && a.vrid === vrid).length).toBeGreaterThanOrEqual(
          1,
        );
        const ka = auth.wire.filter((a) => a.src === auth.kaIp && a.vrid === vrid && a.prio === 100);
        expect(ka.length, `keepalived's adverts for VRID ${vrid}`).toBeGreaterThanOrEqual(1);
      }
      const vigilT = auth.wire.filter((a) => a.src === auth.vigilIp && a.vrid === 82);
      expect(vigilT.every((a) => a.authType === "none")).toBe(true);
    });

    it("keepalived counts Vigil's adverts as authentication errors (its JSON dump) and logs them", () => {
      expect(auth.kaLog).toMatch(/\(VI_P\) received an invalid passwd!/);
      expect(auth.kaLog).toMatch(/\(VI_T\) received a 0 auth, expecting 1!/);
      const vigilSent = (vrid: number): number =>
        auth.wire.filter((a) => a.src === auth.vigilIp && a.vrid === vrid && a.atUs < auth.kaDumpUs).length;
      expect(auth.kaStats.VI_P?.auth_failure ?? 0).toBeGreaterThanOrEqual(2);
      expect(auth.kaStats.VI_P?.auth_failure ?? 0).toBeLessThanOrEqual(vigilSent(81));
      expect(auth.kaStats.VI_T?.authtype_mismatch ?? 0).toBeGreaterThanOrEqual(2);
      expect(auth.kaStats.VI_T?.authtype_mismatch ?? 0).toBeLessThanOrEqual(vigilSent(82));
      for (const vi of ["VI_P", "VI_T"]) expect(auth.kaStats[vi]?.advert_rcvd).toBe(0);
    });

    it("Vigil counts keepalived's adverts the same way (its journal)", () => {
      const kaBefore = (vrid: number): number =>
        auth.wire.filter((a) => a.src === auth.kaIp && a.vrid === vrid && a.atUs < auth.vigilStopUs).length;
      const p = auth.vigilStats.VI_P;
      const t = auth.vigilStats.VI_T;
      expect(p?.auth_failure ?? 0).toBeGreaterThanOrEqual(Math.max(1, kaBefore(81) - 1));
      expect(p?.auth_failure ?? 0).toBeLessThanOrEqual(kaBefore(81));
      expect(t?.authtype_mismatch ?? 0).toBeGreaterThanOrEqual(Math.max(1, kaBefore(82) - 1));
      expect(t?.authtype_mismatch ?? 0).toBeLessThanOrEqual(kaBefore(82));
      expect([p?.advert_rcvd, t?.advert_rcvd]).toEqual([0, 0]);
    });

    it("Vigil's journal replays with vigil replay --verify", () => expectJournalsVerified(auth.journals));
  });
});
