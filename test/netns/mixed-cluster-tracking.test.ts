/**
 * Mixed clusters, sync groups and trackers (issue 11, cases 7, 8 and 10): Vigil's production daemon
 * (priority 200) beside real keepalived 2.2.7 (priority 100), VRRPv3 at advert_int 0.1.
 *
 * 7. A sync group G1 of two instances on two LANs (eth0 on the lab bridge, eth1 on a second bridge
 *    in 198.19.0.0/16): Vigil MASTER of both. `ip link set eth1 down` on Vigil's host → Vigil's group
 *    goes FAULT, both VIPs leave Vigil's host and keepalived takes both (its group goes MASTER);
 *    the link back up → Vigil preempts both back.
 * 8. A `vrrp_script` (a file the test rewrites to `exit 0` / `exit 1`, interval 1, fall 2, rise 2)
 *    failing on the master: VI_W tracks it with weight -150 (200 → 50: keepalived discards the
 *    lower-priority adverts and takes over one Master_Down interval after Vigil's last priority-200
 *    advert), VI_F with weight 0 (Vigil FAULT: priority-0 advert, keepalived MASTER one Skew later).
 *    Recovery: both VIPs come back to Vigil.
 * Every Vigil journal replays with `vigil replay --verify`. Both clusters run concurrently; ~25 s.
 */
import { chmodSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, type KeepalivedRun, type Lab, type LabHost } from "../support/lab.ts";
import {
  type Advert,
  addressesOn,
  awaitAddress,
  configText,
  EARLY_US,
  instanceBlock,
  LATE_US,
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
  entering,
  expectJournalsVerified,
  expectTakeoverWithin,
  expectWithin,
  withLabs,
} from "./support/mixed-cluster-suite.ts";

const suite = "netns: mixed cluster sync group on two LANs and vrrp_script (Vigil, keepalived 2.2.7)";
const INTERVAL_US = 100_000;

interface Run {
  ips: { vigil: string; ka: string; vigil2?: string; ka2?: string };
  vips: { [vi: string]: string };
  wire: Advert[];
  wire2: Advert[];
  marks: { [k: string]: number };
  addrs: { [k: string]: string[][] };
  vigilLog: string;
  kaLog: string;
  journals: Verified[];
}

/** A second LAN: bridge br1 in the bridge namespace, `eth1` in each host at 198.19.<subnet>.<n>/24. */
async function secondLan(lab: Lab): Promise<void> {
  const br = lab.bridgeNs;
  await lab.nsRun(br, "ip", [
    "link",
    "add",
    "br1",
    "type",
    "bridge",
    "mcast_snooping",
    "0",
    "forward_delay",
    "0",
  ]);
  await lab.nsRun(br, "ip", ["link", "set", "br1", "up"]);
  for (const h of lab.hosts) {
    const peer = `l2h${h.index}`;
    await lab.nsRun(h.ns, "ip", ["link", "add", "eth1", "type", "veth", "peer", "name", peer, "netns", br]);
    await lab.nsRun(br, "ip", ["link", "set", peer, "master", "br1", "up"]);
    await lab.nsRun(h.ns, "ip", ["addr", "add", `198.19.${lab.subnet}.${h.index}/24`, "dev", "eth1"]);
    await lab.nsRun(h.ns, "ip", ["link", "set", "eth1", "up"]);
  }
}

const on = async (lab: Lab, h: LabHost): Promise<string[]> => [
  ...(await addressesOn(lab, h, "eth0")),
  ...(await addressesOn(lab, h, "eth1").catch(() => [])),
];
const both = (lab: Lab): Promise<string[][]> => addressesOnBoth(lab, on);

/** Case 7: sync group G1 = VI_A (eth0) + VI_B (eth1). */
async function syncGroup(lab: Lab): Promise<Run> {
  await secondLan(lab);
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const s = lab.subnet;
  const vips = { VI_A: `198.18.${s}.100`, VI_B: `198.19.${s}.100` };
  const conf = (prio: number): string =>
    configText(
      `sync-${prio}`,
      "vrrp_sync_group G1 {\n    group {\n        VI_A\n        VI_B\n    }\n}",
      instanceBlock({
        name: "VI_A",
        vrid: 91,
        prio,
        advertInt: "0.1",
        version: 3,
        vips: [`${vips.VI_A}/24`],
      }),
      instanceBlock({
        name: "VI_B",
        ifname: "eth1",
        vrid: 92,
        prio,
        advertInt: "0.1",
        version: 3,
        vips: [`${vips.VI_B}/24`],
      }),
    );
  const r = {
    ips: { vigil: h1.ipv4, ka: h2.ipv4, vigil2: `198.19.${s}.1`, ka2: `198.19.${s}.2` },
    vips,
    marks: {},
    addrs: {},
    journals: [],
  } as unknown as Run;
  const wire = await observe(lab, h1);
  const wire2 = await lab.tcpdump({ ns: lab.bridgeNs, ifname: "l2h2" }, ["-tt", "-v"]);
  const v = startVigil(lab, h1, conf(200), "vigil-200 sync");
  let ka: KeepalivedRun | undefined;
  try {
    for (const vi of ["VI_A", "VI_B"]) await v.proc.waitForOutput(entering(vi, "MASTER"), 30_000);
    ka = lab.keepalived(h2, conf(100), "keepalived-100 sync");
    for (const vi of ["VI_A", "VI_B"]) await ka.proc.waitForOutput(entering(vi, "BACKUP"), 10_000);
    await sleepMs(1_500);
    r.addrs.steady = await both(lab);
    r.marks.down = nowUs();
    await lab.nsRun(h1.ns, "ip", ["link", "set", "eth1", "down"]);
    for (const vi of ["VI_A", "VI_B"]) await sawLine(ka.proc, entering(vi, "MASTER"), 5_000);
    await awaitAddress(lab, h2, vips.VI_A, true, 3_000, "eth0");
    await awaitAddress(lab, h2, vips.VI_B, true, 3_000, "eth1");
    await awaitAddress(lab, h1, vips.VI_A, false, 3_000, "eth0");
    await sleepMs(1_000);
    r.addrs.afterDown = await both(lab);
    r.marks.up = nowUs();
    await lab.nsRun(h1.ns, "ip", ["link", "set", "eth1", "up"]);
    for (const vi of ["VI_A", "VI_B"]) await sawLine(v.proc, entering(vi, "MASTER"), 8_000, 2);
    await awaitAddress(lab, h1, vips.VI_A, true, 3_000, "eth0");
    await awaitAddress(lab, h1, vips.VI_B, true, 3_000, "eth1");
    await sleepMs(1_000);
    r.addrs.afterUp = await both(lab);
    await v.proc.stop("SIGTERM", 10_000);
    await ka.proc.stop("SIGTERM", 5_000);
  } finally {
    await wire.stop("SIGTERM");
    await wire2.stop("SIGTERM");
    r.wire = parseAdverts(wire.stdout);
    r.wire2 = parseAdverts(wire2.stdout);
    r.vigilLog = v.proc.output;
    r.kaLog = ka?.proc.output ?? "";
    dumpForInspection("mixed-sync-wire.txt", `${wire.stdout}\n----\n${wire2.stdout}`);
    dumpForInspection("mixed-sync-vigil.txt", r.vigilLog);
    dumpForInspection("mixed-sync-ka.txt", r.kaLog);
  }
  r.journals = await verifyJournal(v);
  return r;
}

/** Case 8: VI_W tracks `chk_w` (weight -150), VI_F tracks `chk_f` (weight 0); both run one script file. */
async function script(lab: Lab): Promise<Run> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const net = `198.18.${lab.subnet}`;
  const vips = { VI_W: `${net}.101`, VI_F: `${net}.102` };
  const dir = lab.tempDir();
  chmodSync(dir, 0o755);
  const path = join(dir, "check.sh");
  const setScript = (status: number): void => {
    writeFileSync(`${path}.new`, `#!/bin/sh\nexit ${status}\n`, { mode: 0o755 });
    renameSync(`${path}.new`, path);
  };
  setScript(0);
  const trackers = ["chk_w", "chk_f"].map(
    (n) => `vrrp_script ${n} {\n    script "${path}"\n    interval 1\n    fall 2\n    rise 2\n}`,
  );
  const vigilConf = configText(
    "script-200",
    ...trackers,
    instanceBlock({
      name: "VI_W",
      vrid: 95,
      prio: 200,
      advertInt: "0.1",
      version: 3,
      vips: [`${vips.VI_W}/24`],
      extra: ["track_script {", "    chk_w weight -150", "}"],
    }),
    instanceBlock({
      name: "VI_F",
      vrid: 96,
      prio: 200,
      advertInt: "0.1",
      version: 3,
      vips: [`${vips.VI_F}/24`],
      extra: ["track_script {", "    chk_f weight 0", "}"],
    }),
  );
  const kaConf = configText(
    "script-100",
    ...(["VI_W", "VI_F"] as const).map((vi, k) =>
      instanceBlock({
        name: vi,
        vrid: 95 + k,
        prio: 100,
        advertInt: "0.1",
        version: 3,
        vips: [`${vips[vi]}/24`],
      }),
    ),
  );
  const r = {
    ips: { vigil: h1.ipv4, ka: h2.ipv4 },
    vips,
    marks: {},
    addrs: {},
    wire2: [],
    journals: [],
  } as unknown as Run;
  const wire = await observe(lab, h1);
  let v: VigilRun | undefined;
  let ka: KeepalivedRun | undefined;
  try {
    v = startVigil(lab, h1, vigilConf, "vigil-200 script");
    for (const vi of ["VI_W", "VI_F"]) await v.proc.waitForOutput(entering(vi, "MASTER"), 30_000);
    ka = lab.keepalived(h2, kaConf, "keepalived-100 script");
    for (const vi of ["VI_W", "VI_F"]) await ka.proc.waitForOutput(entering(vi, "BACKUP"), 10_000);
    await sleepMs(1_000);
    r.addrs.steady = await both(lab);
    r.marks.fail = nowUs();
    setScript(1);
    for (const vi of ["VI_W", "VI_F"]) await sawLine(ka.proc, entering(vi, "MASTER"), 8_000);
    await awaitAddress(lab, h1, vips.VI_W, false, 3_000);
    await awaitAddress(lab, h1, vips.VI_F, false, 3_000);
    await sleepMs(1_000);
    r.addrs.afterFail = await both(lab);
    r.marks.recover = nowUs();
    setScript(0);
    for (const vi of ["VI_W", "VI_F"]) await sawLine(v.proc, entering(vi, "MASTER"), 10_000, 2);
    await awaitAddress(lab, h2, vips.VI_W, false, 3_000);
    await awaitAddress(lab, h2, vips.VI_F, false, 3_000);
    await sleepMs(500);
    r.addrs.afterRecover = await both(lab);
    await v.proc.stop("SIGTERM", 10_000);
    await ka.proc.stop("SIGTERM", 5_000);
  } finally {
    await wire.stop("SIGTERM");
    r.wire = parseAdverts(wire.stdout);
    r.vigilLog = v?.proc.output ?? "";
    r.kaLog = ka?.proc.output ?? "";
    dumpForInspection("mixed-script-wire.txt", wire.stdout);
    dumpForInspection("mixed-script-vigil.txt", r.vigilLog);
    dumpForInspection("mixed-script-ka.txt", r.kaLog);
  }
  r.journals = await verifyJournal(v);
  return r;
}

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true, tcpdump: true }))(suite, () => {
  let sync: Run;
  let scr: Run;

  withLabs(["mta", "mtb"], async ([a, b]) => {
    [sync, scr] = await Promise.all([syncGroup(a), script(b)]);
  });

  describe("7: sync group on two LANs", () => {
    it("Vigil MASTER of both instances, on both LANs; keepalived BACKUP", () => {
      expect(sync.addrs.steady?.[0]).toEqual(expect.arrayContaining([sync.vips.VI_A, sync.vips.VI_B]));
      expect(sync.addrs.steady?.[1]).not.toContain(sync.vips.VI_A);
      expect(sync.addrs.steady?.[1]).not.toContain(sync.vips.VI_B);
      const lastSecond = (w: Advert[], src: string | undefined): Advert[] =>
        w.filter(
          (a) => a.src === src && a.atUs < (sync.marks.down ?? 0) && a.atUs > (sync.marks.down ?? 0) - 1e6,
        );
      expect(
        lastSecond(sync.wire, sync.ips.vigil).filter((a) => a.vrid === 91 && a.prio === 200).length,
      ).toBeGreaterThan(5);
      expect(
        lastSecond(sync.wire2, sync.ips.vigil2).filter((a) => a.vrid === 92 && a.prio === 200).length,
      ).toBeGreaterThan(5);
    });

    it("eth1 down on Vigil's host: its group goes FAULT and keepalived takes both VIPs", () => {
      expect(sync.vigilLog).toMatch(/VRRP_Group\(G1\) Syncing instances to FAULT state/);
      expect(sync.vigilLog).toMatch(entering("VI_A", "FAULT"));
      expect(sync.vigilLog).toMatch(entering("VI_B", "FAULT"));
      expect(sync.kaLog).toMatch(/VRRP_Group\(G1\) Syncing instances to MASTER state/);
      const [vigil, ka] = sync.addrs.afterDown ?? [];
      expect(vigil).not.toContain(sync.vips.VI_A);
      expect(vigil).not.toContain(sync.vips.VI_B);
      expect(ka).toEqual(expect.arrayContaining([sync.vips.VI_A, sync.vips.VI_B]));
      // On LAN 1 Vigil says goodbye (priority 0) and keepalived answers within one Skew … Master_Down.
      const t = takeover(sync.wire, sync.ips.vigil, sync.ips.ka, sync.marks.down ?? 0, "term");
      expect(t?.fromAdvert.prio).toBe(0);
      const zeros = sync.wire.filter(
        (a) =>
          a.src === sync.ips.vigil &&
          a.prio === 0 &&
          a.atUs > (sync.marks.down ?? 0) &&
          a.atUs < (sync.marks.up ?? 0),
      );
      expect(zeros.length).toBe(1); // a member forced into FAULT by its group sends one
      expect(t?.deltaUs ?? 0).toBeGreaterThanOrEqual(skewUs(100, INTERVAL_US) - EARLY_US);
      expect(t?.deltaUs ?? 0).toBeLessThanOrEqual(masterDownUs(100, INTERVAL_US) + LATE_US);
      // On LAN 2 nothing more from Vigil; keepalived's VI_B adverts begin.
      const lan2 = sync.wire2.filter((a) => a.atUs > (sync.marks.down ?? 0) && a.atUs < (sync.marks.up ?? 0));
      expect(
        lan2.filter((a) => a.src === sync.ips.ka2 && a.vrid === 92 && a.prio === 100).length,
      ).toBeGreaterThan(3);
    });

    it("eth1 back up: Vigil leaves FAULT and preempts both back", () => {
      const [vigil, ka] = sync.addrs.afterUp ?? [];
      expect(vigil).toEqual(expect.arrayContaining([sync.vips.VI_A, sync.vips.VI_B]));
      expect(ka).not.toContain(sync.vips.VI_A);
      expect(ka).not.toContain(sync.vips.VI_B);
      expect(
        sync.kaLog.match(/VRRP_Group\(G1\) Syncing instances to BACKUP state/g)?.length ?? 0,
      ).toBeGreaterThanOrEqual(1);
    });

    it("Vigil's journal replays with vigil replay --verify", () => expectJournalsVerified(sync.journals));
  });

  describe("8: vrrp_script failing on the master", () => {
    it("Vigil MASTER of VI_W and VI_F while the script succeeds", () => {
      expect(scr.addrs.steady?.[0]).toEqual(expect.arrayContaining([scr.vips.VI_W, scr.vips.VI_F]));
      for (const vip of [scr.vips.VI_W, scr.vips.VI_F]) expect(scr.addrs.steady?.[1]).not.toContain(vip);
    });

    it("weight -150: Vigil advertises 50, keepalived discards it and takes over after Master_Down", () => {
      expect(scr.vigilLog).toMatch(/\(VI_W\) Changing effective priority from 200 to 50/);
      const vigilIp = scr.ips.vigil.replaceAll(".", "\\.");
      expect(scr.kaLog).toMatch(
        new RegExp(`\\(VI_W\\) received lower priority \\(50\\) advert from ${vigilIp} - discarding`),
      );
      const w = scr.wire.filter((a) => a.vrid === 95);
      const firstKa = w.find((a) => a.src === scr.ips.ka && a.atUs > (scr.marks.fail ?? 0));
      const last200 = w
        .filter((a) => a.src === scr.ips.vigil && a.prio === 200 && a.atUs < (firstKa?.atUs ?? 0))
        .at(-1);
      expect(w.some((a) => a.src === scr.ips.vigil && a.prio === 50)).toBe(true);
      expectWithin((firstKa?.atUs ?? 0) - (last200?.atUs ?? 0), masterDownUs(100, INTERVAL_US));
      expect(scr.addrs.afterFail?.[1]).toContain(scr.vips.VI_W);
      expect(scr.addrs.afterFail?.[0]).not.toContain(scr.vips.VI_W);
    });

    it("weight 0: Vigil FAULT with priority 0, keepalived MASTER one Skew later", () => {
      expect(scr.vigilLog).toMatch(entering("VI_F", "FAULT"));
      const t = takeover(
        scr.wire.filter((a) => a.vrid === 96),
        scr.ips.vigil,
        scr.ips.ka,
        scr.marks.fail ?? 0,
        "term",
      );
      expect(t?.fromAdvert.prio).toBe(0);
      expectTakeoverWithin(t, skewUs(100, INTERVAL_US));
      // keepalived sends two priority-0 adverts when the instance's own tracker causes the FAULT.
      const zeros = scr.wire.filter(
        (a) =>
          a.vrid === 96 &&
          a.src === scr.ips.vigil &&
          a.prio === 0 &&
          a.atUs > (scr.marks.fail ?? 0) &&
          a.atUs < (scr.marks.recover ?? 0),
      );
      expect(zeros.length).toBe(2);
      expect(scr.addrs.afterFail?.[1]).toContain(scr.vips.VI_F);
      expect(scr.addrs.afterFail?.[0]).not.toContain(scr.vips.VI_F);
    });

    it("the script recovers: both VIPs come back to Vigil", () => {
      expect(scr.addrs.afterRecover?.[0]).toEqual(expect.arrayContaining([scr.vips.VI_W, scr.vips.VI_F]));
      for (const vip of [scr.vips.VI_W, scr.vips.VI_F])
        expect(scr.addrs.afterRecover?.[1]).not.toContain(vip);
      expect(scr.kaLog.match(/Entering BACKUP STATE$/gm)?.length ?? 0).toBeGreaterThanOrEqual(2);
    });

    it("Vigil's journal replays with vigil replay --verify", () => expectJournalsVerified(scr.journals));
  });
});
