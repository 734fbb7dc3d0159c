/**
 * Mixed clusters without multicast (issue 11, cases 4 and 10).
 *
 * `unicast_peer` both ways, Vigil ↔ keepalived 2.2.7: two instances on the same pair, VI_2 (VRRPv2,
 * PASS, advert_int 1) and VI_3 (VRRPv3, advert_int 0.1, whose checksum covers the peer address).
 * keepalived at 200 is MASTER and its adverts go to Vigil's address only; Vigil at 100 stays BACKUP
 * (so it accepts them); SIGTERM keepalived → Vigil MASTER one Skew after the priority-0 advert, its
 * adverts to keepalived's address; a restarted keepalived logs Vigil's adverts as lower priority
 * (so it accepted them) and preempts; SIGKILL keepalived → Vigil MASTER one Master_Down interval
 * after the last advert.
 * The UDP transport (`vigil_transport udp`, a Vigil extension) between two Vigil daemons: adverts in
 * UDP datagrams to 224.0.0.18 port 5112 and none as IP protocol 112; SIGKILL the master → the other
 * MASTER one Master_Down interval later. Every Vigil journal replays with `vigil replay --verify`.
 * Both clusters run concurrently; ~25 s.
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
  parseUdpAdverts,
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

const suite = "netns: mixed cluster unicast_peer (Vigil <-> keepalived 2.2.7) and Vigil's UDP transport";
const PASS = "uni-pw";
/** The two unicast instances: name, VRID, version, interval (µs), interval as configured. */
const INSTANCES = [
  { vi: "VI_2", vrid: 61, version: 2 as const, intervalUs: 1_000_000, advertInt: "1", vipHost: 100 },
  { vi: "VI_3", vrid: 62, version: 3 as const, intervalUs: 100_000, advertInt: "0.1", vipHost: 101 },
];

interface Run {
  ips: [string, string];
  vips: string[];
  wire: Advert[];
  raw: Advert[];
  marks: { [k: string]: number };
  addrs: { [k: string]: string[][] };
  logs: [string, string];
  journals: Verified[];
}

/** Vigil 100 on h1, keepalived 200 on h2, each naming the other as its only unicast peer. */
async function unicast(lab: Lab): Promise<Run> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const net = `198.18.${lab.subnet}`;
  const conf = (prio: number, self: string, peer: string): string =>
    configText(
      `uni-${prio}`,
      ...INSTANCES.map((i) =>
        instanceBlock({
          name: i.vi,
          vrid: i.vrid,
          prio,
          advertInt: i.advertInt,
          version: i.version,
          vips: [`${net}.${i.vipHost}/24`],
          unicast: { src: self, peers: [peer] },
          ...(i.version === 2 ? { authPass: PASS } : {}),
        }),
      ),
    );
  const r: Run = {
    ips: [h1.ipv4, h2.ipv4],
    vips: INSTANCES.map((i) => `${net}.${i.vipHost}`),
    wire: [],
    raw: [],
    marks: {},
    addrs: {},
    logs: ["", ""],
    journals: [],
  };
  const wire = await observe(lab, h1);
  const kaConf = conf(200, h2.ipv4, h1.ipv4);
  const k1 = lab.keepalived(h2, kaConf, "keepalived-200 unicast");
  let k2: KeepalivedRun | undefined;
  let v: VigilRun | undefined;
  try {
    for (const i of INSTANCES) await k1.proc.waitForOutput(entering(i.vi, "MASTER"), 10_000);
    v = startVigil(lab, h1, conf(100, h1.ipv4, h2.ipv4), "vigil-100 unicast");
    for (const i of INSTANCES) await v.proc.waitForOutput(entering(i.vi, "BACKUP"), 30_000);
    r.marks.steady = nowUs();
    await sleepMs(4_500);
    r.addrs.steady = await addressesOnBoth(lab);
    r.marks.term = nowUs();
    await k1.proc.stop("SIGTERM", 5_000);
    for (const i of INSTANCES) await sawLine(v.proc, entering(i.vi, "MASTER"), 5_000);
    await sleepMs(1_500);
    r.addrs.afterTerm = await addressesOnBoth(lab);
    r.marks.restart = nowUs();
    k2 = lab.keepalived(h2, kaConf, "keepalived-200 unicast (restarted)");
    for (const i of INSTANCES) await sawLine(v.proc, entering(i.vi, "BACKUP"), 10_000, 2);
    await sleepMs(1_500);
    r.addrs.afterRestart = await addressesOnBoth(lab);
    r.marks.kill = await hardKill(k2);
    for (const i of INSTANCES) await sawLine(v.proc, entering(i.vi, "MASTER"), 8_000, 2);
    await sleepMs(500);
    r.addrs.afterKill = await addressesOnBoth(lab);
    await v.proc.stop("SIGTERM", 10_000);
  } finally {
    await wire.stop("SIGTERM");
    r.wire = parseAdverts(wire.stdout);
    r.logs = [v?.proc.output ?? "", `${k1.proc.output}\n----\n${k2?.proc.output ?? ""}`];
    dumpForInspection("mixed-unicast-wire.txt", wire.stdout);
    dumpForInspection("mixed-unicast-vigil.txt", r.logs[0]);
    dumpForInspection("mixed-unicast-ka.txt", r.logs[1]);
  }
  r.journals = await verifyJournal(v);
  return r;
}

/** Two Vigil daemons (200 on h1, 100 on h2) over `vigil_transport udp`, VRRPv3 at 0.1 s. */
async function udp(lab: Lab): Promise<Run> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const net = `198.18.${lab.subnet}`;
  const conf = (prio: number): string =>
    configText(
      `udp-${prio}`,
      instanceBlock({
        vrid: 63,
        prio,
        advertInt: "0.1",
        version: 3,
        vips: [`${net}.100/24`],
        extra: ["vigil_transport udp"],
      }),
    );
  const r: Run = {
    ips: [h1.ipv4, h2.ipv4],
    vips: [`${net}.100`],
    wire: [],
    raw: [],
    marks: {},
    addrs: {},
    logs: ["", ""],
    journals: [],
  };
  const port = { ns: lab.bridgeNs, ifname: `h${h1.index}` };
  const wire = await lab.tcpdump(port, ["-tt", "-x"], "udp port 5112");
  const raw = await lab.tcpdump(port, ["-tt", "-v"]);
  const v1 = startVigil(lab, h1, conf(200), "vigil-200 udp");
  let v2: VigilRun | undefined;
  try {
    await v1.proc.waitForOutput(entering("VI_1", "MASTER"), 30_000);
    v2 = startVigil(lab, h2, conf(100), "vigil-100 udp");
    await v2.proc.waitForOutput(entering("VI_1", "BACKUP"), 30_000);
    r.marks.steady = nowUs();
    await sleepMs(1_500);
    r.addrs.steady = await addressesOnBoth(lab);
    r.marks.kill = nowUs();
    await killVigil(v1);
    await sawLine(v2.proc, entering("VI_1", "MASTER"), 5_000);
    await awaitAddress(lab, h2, r.vips[0] ?? "", true, 3_000);
    await sleepMs(500);
    r.addrs.afterKill = await addressesOnBoth(lab);
    await v2.proc.stop("SIGTERM", 10_000);
  } finally {
    await wire.stop("SIGTERM");
    await raw.stop("SIGTERM");
    r.wire = parseUdpAdverts(wire.stdout);
    r.raw = parseAdverts(raw.stdout);
    r.logs = [v1.proc.output, v2?.proc.output ?? ""];
    dumpForInspection("mixed-udp-wire.txt", wire.stdout);
    dumpForInspection("mixed-udp-vigil.txt", `${r.logs[0]}\n----\n${r.logs[1]}`);
  }
  r.journals = await verifyJournal(v1, v2);
  return r;
}

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true, tcpdump: true }))(suite, () => {
  let uni: Run;
  let u: Run;

  withLabs(["mua", "mub"], async ([a, b]) => {
    [uni, u] = await Promise.all([unicast(a), udp(b)]);
  });

  describe.each(INSTANCES)("unicast_peer, $vi (VRRPv$version)", (i) => {
    const mine = (r: Run, src: string, a: string, b: string): Advert[] =>
      r.wire.filter(
        (x) =>
          x.vrid === i.vrid && x.src === src && x.atUs >= (r.marks[a] ?? 0) && x.atUs < (r.marks[b] ?? 0),
      );

    it("keepalived 200 MASTER sends to Vigil's address only; Vigil 100 stays BACKUP", () => {
      const [vigil, ka] = uni.ips;
      const sent = mine(uni, ka, "steady", "term");
      expect(sent.length).toBeGreaterThanOrEqual(4);
      for (const a of sent)
        expect(a).toMatchObject({
          dst: vigil,
          version: i.version,
          prio: 200,
          intervalCs: i.intervalUs / 10_000,
        });
      expect(mine(uni, vigil, "steady", "term")).toEqual([]);
      expect(uni.wire.some((a) => a.dst === "224.0.0.18")).toBe(false);
      expect(uni.addrs.steady?.[1]).toContain(uni.vips[INSTANCES.indexOf(i)]);
      expect(uni.addrs.steady?.[0]).not.toContain(uni.vips[INSTANCES.indexOf(i)]);
    });

    it("SIGTERM keepalived: Vigil MASTER one Skew after priority 0, sending to keepalived's address", () => {
      const [vigil, ka] = uni.ips;
      const t = takeover(
        uni.wire.filter((a) => a.vrid === i.vrid),
        ka,
        vigil,
        uni.marks.term ?? 0,
        "term",
      );
      expect(t?.fromAdvert.prio).toBe(0);
      expectTakeoverWithin(t, skewUs(100, i.intervalUs));
      const sent = mine(uni, vigil, "term", "restart");
      expect(sent.length).toBeGreaterThanOrEqual(2);
      for (const a of sent)
        expect(a).toMatchObject({
          dst: ka,
          version: i.version,
          prio: 100,
          ttl: 255,
          intervalCs: i.intervalUs / 10_000,
          ...(i.version === 2 ? { authType: "simple", password: PASS } : {}),
        });
      expect(uni.addrs.afterTerm?.[0]).toContain(uni.vips[INSTANCES.indexOf(i)]);
    });

    it("a restarted keepalived accepts Vigil's unicast adverts (lower priority) and preempts", () => {
      const [vigil] = uni.ips;
      const k2 = uni.logs[1].split("\n----\n")[1] ?? "";
      expect(k2).toMatch(
        new RegExp(
          `\\(${i.vi}\\) received lower priority \\(100\\) advert from ${vigil.replaceAll(".", "\\.")}`,
        ),
      );
      expect(countLines(uni.logs[0], entering(i.vi, "BACKUP"))).toBe(2);
      expect(uni.addrs.afterRestart?.[0]).not.toContain(uni.vips[INSTANCES.indexOf(i)]);
      expect(uni.addrs.afterRestart?.[1]).toContain(uni.vips[INSTANCES.indexOf(i)]);
    });

    it("SIGKILL keepalived: Vigil MASTER one Master_Down interval after the last advert", () => {
      const [vigil, ka] = uni.ips;
      const t = takeover(
        uni.wire.filter((a) => a.vrid === i.vrid),
        ka,
        vigil,
        uni.marks.kill ?? 0,
        "kill",
      );
      expect(t?.fromAdvert.prio).toBe(200);
      expectTakeoverWithin(t, masterDownUs(100, i.intervalUs));
      expect(uni.addrs.afterKill?.[0]).toContain(uni.vips[INSTANCES.indexOf(i)]);
    });
  });

  it("unicast: Vigil's journal replays with vigil replay --verify", () =>
    expectJournalsVerified(uni.journals));

  describe("UDP transport between two Vigil daemons", () => {
    it("the master's adverts travel in UDP to 224.0.0.18:5112, none as IP protocol 112", () => {
      const [ip1, ip2] = u.ips;
      const steady = u.wire.filter((a) => a.atUs >= (u.marks.steady ?? 0) && a.atUs < (u.marks.kill ?? 0));
      expect(steady.length).toBeGreaterThanOrEqual(8);
      for (const a of steady)
        expect(a).toMatchObject({
          src: ip1,
          dst: "224.0.0.18",
          version: 3,
          vrid: 63,
          prio: 200,
          intervalCs: 10,
        });
      expect(steady.every((a) => a.addrs.join() === u.vips.join())).toBe(true);
      expect(u.wire.filter((a) => a.src === ip2 && a.atUs < (u.marks.kill ?? 0))).toEqual([]);
      expect(u.raw).toEqual([]);
      expect(u.addrs.steady?.[0]).toContain(u.vips[0]);
      expect(u.addrs.steady?.[1]).not.toContain(u.vips[0]);
    });

    it("SIGKILL the master: the other MASTER one Master_Down interval after the last datagram", () => {
      const [ip1, ip2] = u.ips;
      const t = takeover(u.wire, ip1, ip2, u.marks.kill ?? 0, "kill");
      expect(t?.fromAdvert.prio).toBe(200);
      expect(t?.toAdvert.prio).toBe(100);
      expectTakeoverWithin(t, masterDownUs(100, 100_000));
      expect(u.addrs.afterKill?.[1]).toContain(u.vips[0]);
    });

    it("both journals replay with vigil replay --verify", () => expectJournalsVerified(u.journals, 2));
  });
});
