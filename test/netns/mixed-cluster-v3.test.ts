/**
 * Mixed clusters, VRRPv3 (issue 11, cases 3 and 10): Vigil's production daemon and real keepalived
 * 2.2.7 on one VRID with fast v3 timers, IPv4 and IPv6.
 *
 * IPv4, advert_int 0.05 (both daemons at SCHED_RR, as every lab runs them): keepalived at 200 is
 * MASTER and Vigil at 100 stays BACKUP under 20 adverts a second; keepalived is SIGKILLed → Vigil
 * MASTER one Master_Down interval (0.15 + 156/256 × 0.05 s) after keepalived's last advert; Vigil
 * advertises `intvl 5cs`; a keepalived restarted at priority 50 accepts Vigil's adverts (stays
 * BACKUP); SIGKILL Vigil → that keepalived MASTER after its own Master_Down interval.
 * IPv6, advert_int 0.1 (VIP 2001:2::/48, the IPv6 benchmarking range, on the lab bridge only): Vigil
 * at 200 MASTER, adverts from its link-local address to ff02::12 with hop limit 255; SIGTERM → the
 * keepalived at 100 MASTER one Skew after the priority-0 advert; a restarted Vigil preempts; SIGKILL →
 * keepalived MASTER one Master_Down interval after Vigil's last advert.
 * Every Vigil journal replays with `vigil replay --verify`. Both clusters run concurrently; ~25 s.
 */
import { describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, type KeepalivedRun, type Lab } from "../support/lab.ts";
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
  withLabs,
} from "./support/mixed-cluster-suite.ts";

const suite = "netns: mixed cluster VRRPv3, Vigil and keepalived 2.2.7 (IPv4 at 0.05 s, IPv6)";
const MASTER = /\(VI_1\) Entering MASTER STATE/;
const BACKUP = /\(VI_1\) Entering BACKUP STATE/;
const VIP6 = "2001:2::151";

interface Run {
  vigilSrc: string;
  kaSrc: string;
  vip: string;
  wire: Advert[];
  marks: { [k: string]: number };
  addrs: { [k: string]: string[][] };
  vigilLog: string;
  kaLog: string;
  vigilExit?: number | null | undefined;
  journals: Verified[];
}

/** The mean spacing of a run of adverts equals the interval (within 5 ms early, 30 ms late). */
const spacedBy = (adverts: readonly Advert[], intervalUs: number): void => {
  expect(adverts.length).toBeGreaterThanOrEqual(5);
  const meanUs = ((adverts.at(-1)?.atUs ?? 0) - (adverts[0]?.atUs ?? 0)) / (adverts.length - 1);
  expect(meanUs).toBeGreaterThanOrEqual(intervalUs - 5_000);
  expect(meanUs).toBeLessThanOrEqual(intervalUs + 30_000);
};

const between = (r: Run, src: string, a: string, b: string): Advert[] =>
  r.wire.filter((x) => x.src === src && x.atUs >= (r.marks[a] ?? 0) && x.atUs < (r.marks[b] ?? 0));

/** IPv4, advert_int 0.05: keepalived 200 → killed → Vigil; keepalived 50 behind Vigil → Vigil killed. */
async function fastIpv4(lab: Lab): Promise<Run> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const net = `198.18.${lab.subnet}`;
  // At 50 ms adverts a Master_Down interval is 150–200 ms: both daemons run at the labs' SCHED_RR
  // priority (lab.ts DAEMON_RT_PRIORITY), as an operator runs such timers.
  const conf = (prio: number): string =>
    configText(
      `v3-${prio}`,
      instanceBlock({ vrid: 52, prio, advertInt: "0.05", version: 3, vips: [`${net}.100/24`] }),
    );
  const r: Run = {
    vigilSrc: h1.ipv4,
    kaSrc: h2.ipv4,
    vip: `${net}.100`,
    wire: [],
    marks: {},
    addrs: {},
    vigilLog: "",
    kaLog: "",
    journals: [],
  };
  const wire = await observe(lab, h1);
  const k1 = lab.keepalived(h2, conf(200), "keepalived-200");
  let k2: KeepalivedRun | undefined;
  let v: VigilRun | undefined;
  try {
    await k1.proc.waitForOutput(MASTER, 10_000);
    v = startVigil(lab, h1, conf(100), "vigil-100");
    await v.proc.waitForOutput(BACKUP, 30_000);
    r.marks.steady = nowUs();
    await sleepMs(2_000);
    r.addrs.steady = await addressesOnBoth(lab);
    r.marks.kill1 = await hardKill(k1);
    await sawLine(v.proc, MASTER, 5_000);
    await awaitAddress(lab, h1, r.vip, true, 3_000);
    await sleepMs(1_000);
    r.addrs.vigilMaster = await addressesOnBoth(lab);
    r.marks.restart = nowUs();
    k2 = lab.keepalived(h2, conf(50), "keepalived-50");
    await k2.proc.waitForOutput(BACKUP, 10_000);
    r.marks.kaBackup = nowUs();
    await sleepMs(2_000);
    r.addrs.kaBehind = await addressesOnBoth(lab);
    r.marks.kill2 = nowUs();
    await killVigil(v);
    await sawLine(k2.proc, MASTER, 5_000);
    await awaitAddress(lab, h2, r.vip, true, 3_000);
    r.addrs.afterKill = await addressesOnBoth(lab);
    await k2.proc.stop("SIGTERM", 5_000);
  } finally {
    await wire.stop("SIGTERM");
    r.wire = parseAdverts(wire.stdout);
    r.vigilLog = v?.proc.output ?? "";
    r.kaLog = `${k1.proc.output}\n----\n${k2?.proc.output ?? ""}`;
    dumpForInspection("mixed-v3-ipv4-wire.txt", wire.stdout);
    dumpForInspection("mixed-v3-ipv4-vigil.txt", r.vigilLog);
    dumpForInspection("mixed-v3-ipv4-ka.txt", r.kaLog);
  }
  r.journals = await verifyJournal(v);
  return r;
}

/** IPv6, advert_int 0.1: Vigil 200 → SIGTERM → keepalived 100; Vigil restarted preempts; SIGKILL. */
async function ipv6(lab: Lab): Promise<Run> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const conf = (prio: number): string =>
    configText(
      `v6-${prio}`,
      instanceBlock({ vrid: 53, prio, advertInt: "0.1", version: 3, vips: [`${VIP6}/64`] }),
    );
  const r: Run = {
    vigilSrc: await lab.linkLocal(h1),
    kaSrc: await lab.linkLocal(h2),
    vip: VIP6,
    wire: [],
    marks: {},
    addrs: {},
    vigilLog: "",
    kaLog: "",
    journals: [],
  };
  const wire = await observe(lab, h1);
  const v1 = startVigil(lab, h1, conf(200), "vigil-200");
  let v2: VigilRun | undefined;
  let ka: KeepalivedRun | undefined;
  try {
    await v1.proc.waitForOutput(MASTER, 30_000);
    ka = lab.keepalived(h2, conf(100), "keepalived-100");
    await ka.proc.waitForOutput(BACKUP, 10_000);
    r.marks.steady = nowUs();
    await sleepMs(2_000);
    r.addrs.steady = await addressesOnBoth(lab);
    r.marks.term = nowUs();
    await v1.proc.stop("SIGTERM", 10_000);
    r.vigilExit = v1.proc.code;
    await sawLine(ka.proc, MASTER, 5_000);
    await awaitAddress(lab, h2, VIP6, true, 3_000);
    await sleepMs(1_000);
    r.addrs.afterTerm = await addressesOnBoth(lab);
    r.marks.restart = nowUs();
    v2 = startVigil(lab, h1, conf(200), "vigil-200 (restarted)");
    await sawLine(v2.proc, MASTER, 30_000);
    await sawLine(ka.proc, BACKUP, 5_000, 2);
    await awaitAddress(lab, h2, VIP6, false, 3_000);
    await sleepMs(1_000);
    r.addrs.afterRestart = await addressesOnBoth(lab);
    r.marks.kill = nowUs();
    await killVigil(v2);
    await sawLine(ka.proc, MASTER, 5_000, 2);
    await awaitAddress(lab, h2, VIP6, true, 3_000);
    r.addrs.afterKill = await addressesOnBoth(lab);
    await ka.proc.stop("SIGTERM", 5_000);
  } finally {
    await wire.stop("SIGTERM");
    r.wire = parseAdverts(wire.stdout);
    r.vigilLog = v1.proc.output + (v2?.proc.output ?? "");
    r.kaLog = ka?.proc.output ?? "";
    dumpForInspection("mixed-v3-ipv6-wire.txt", wire.stdout);
    dumpForInspection("mixed-v3-ipv6-vigil.txt", r.vigilLog);
    dumpForInspection("mixed-v3-ipv6-ka.txt", r.kaLog);
  }
  r.journals = await verifyJournal(v1, v2);
  return r;
}

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true, tcpdump: true }))(suite, () => {
  let v4: Run;
  let v6: Run;

  withLabs(["m3a", "m3b"], async ([a, b]) => {
    [v4, v6] = await Promise.all([fastIpv4(a), ipv6(b)]);
  });

  describe("IPv4, advert_int 0.05", () => {
    it("keepalived 200 MASTER at 5 cs; Vigil 100 stays BACKUP and sends nothing", () => {
      const ka = between(v4, v4.kaSrc, "steady", "kill1");
      for (const a of ka) expect(a).toMatchObject({ version: 3, vrid: 52, prio: 200, intervalCs: 5 });
      spacedBy(ka, 50_000);
      expect(between(v4, v4.vigilSrc, "steady", "kill1")).toEqual([]);
      expect(v4.addrs.steady?.[0]).not.toContain(v4.vip);
      expect(v4.addrs.steady?.[1]).toContain(v4.vip);
    });

    it("SIGKILL keepalived: Vigil MASTER one Master_Down interval after the last advert, at 5 cs", () => {
      const t = takeover(v4.wire, v4.kaSrc, v4.vigilSrc, v4.marks.kill1 ?? 0, "kill");
      expectTakeoverWithin(t, masterDownUs(100, 50_000));
      const vigil = between(v4, v4.vigilSrc, "kill1", "restart");
      for (const a of vigil)
        expect(a).toMatchObject({
          dst: "224.0.0.18",
          version: 3,
          vrid: 52,
          prio: 100,
          intervalCs: 5,
          ttl: 255,
          addrs: [v4.vip],
        });
      spacedBy(vigil, 50_000);
      expect(v4.addrs.vigilMaster?.[0]).toContain(v4.vip);
    });

    it("a keepalived at 50 accepts Vigil's adverts and stays BACKUP", () => {
      expect(between(v4, v4.kaSrc, "kaBackup", "kill2")).toEqual([]);
      expect(countLines(v4.kaLog.split("\n----\n")[1] ?? "", MASTER)).toBe(1); // only after Vigil's kill
      expect(v4.addrs.kaBehind?.[0]).toContain(v4.vip);
      expect(v4.addrs.kaBehind?.[1]).not.toContain(v4.vip);
    });

    it("SIGKILL Vigil: keepalived 50 MASTER one Master_Down interval after Vigil's last advert", () => {
      const t = takeover(v4.wire, v4.vigilSrc, v4.kaSrc, v4.marks.kill2 ?? 0, "kill");
      expect(t?.fromAdvert.prio).toBe(100);
      expectTakeoverWithin(t, masterDownUs(50, 50_000));
      expect(v4.addrs.afterKill?.[1]).toContain(v4.vip);
    });

    it("Vigil's journal replays with vigil replay --verify", () => expectJournalsVerified(v4.journals));
  });

  describe("IPv6, advert_int 0.1", () => {
    it("Vigil 200 MASTER: link-local source, ff02::12, hop limit 255, VIP 2001:2::151; keepalived BACKUP", () => {
      const vigil = between(v6, v6.vigilSrc, "steady", "term");
      for (const a of vigil)
        expect(a).toMatchObject({
          dst: "ff02::12",
          version: 3,
          vrid: 53,
          prio: 200,
          intervalCs: 10,
          ttl: 255,
          addrs: [VIP6],
        });
      spacedBy(vigil, 100_000);
      expect(between(v6, v6.kaSrc, "steady", "term")).toEqual([]);
      expect(v6.kaLog).toMatch(/\(VI_1\) Entering BACKUP STATE \(init\)/);
      expect(v6.addrs.steady?.[0]).toContain(VIP6);
      expect(v6.addrs.steady?.[1]).not.toContain(VIP6);
    });

    it("SIGTERM Vigil: priority 0, keepalived MASTER one Skew later, the VIP moves", () => {
      const t = takeover(v6.wire, v6.vigilSrc, v6.kaSrc, v6.marks.term ?? 0, "term");
      expect(t?.fromAdvert.prio).toBe(0);
      expectTakeoverWithin(t, skewUs(100, 100_000));
      expect(v6.vigilExit).toBe(0);
      expect(v6.addrs.afterTerm?.[0]).not.toContain(VIP6);
      expect(v6.addrs.afterTerm?.[1]).toContain(VIP6);
    });

    it("a restarted Vigil preempts over IPv6; keepalived logs BACKUP", () => {
      expect(v6.kaLog).toMatch(
        new RegExp(
          `\\(VI_1\\) Master received advert from ${v6.vigilSrc} with higher priority 200, ours 100`,
        ),
      );
      expect(countLines(v6.kaLog, BACKUP)).toBe(2);
      expect(v6.addrs.afterRestart?.[0]).toContain(VIP6);
      expect(v6.addrs.afterRestart?.[1]).not.toContain(VIP6);
    });

    it("SIGKILL Vigil: keepalived MASTER one Master_Down interval after the last advert", () => {
      const t = takeover(v6.wire, v6.vigilSrc, v6.kaSrc, v6.marks.kill ?? 0, "kill");
      expect(t?.fromAdvert.prio).toBe(200);
      expectTakeoverWithin(t, masterDownUs(100, 100_000));
      expect(v6.addrs.afterKill?.[1]).toContain(VIP6);
    });

    it("both Vigil journals replay with vigil replay --verify", () => expectJournalsVerified(v6.journals, 2));
  });
});
