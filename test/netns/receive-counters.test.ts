/**
 * Receive counters, keepalived 2.2.7 against Vigil on the same hand-made datagrams. Lab h1 runs
 * keepalived, h2 Vigil, each with two instances: VI_1 multicast (VRID 51 on h1, 52 on h2; v2,
 * advert_int 1, one VIP, no auth) and VI_2 unicast (VRID 61 / 62; PASS auth, `check_unicast_src`,
 * peers .3 and .5 with min_ttl 250). h3 sends each the same lists (test/netns/support/datagram-
 * sender.ts, sources spoofed within the lab's /24). VI_1: shorter than a VRRP header, header only, a
 * cut address, too long, TTL 64, version 1 (the length keepalived expects for it or not, TTL 64),
 * VRRPv3, auth type 7, PASS auth, type 2, two addresses, a bad checksum, unicast to the host, a VIP
 * missing, an interval mismatch, valid adverts at priority 100 and 0, then one at 250 (the MASTER
 * yields). VI_2: a wrong password, a source not a peer, a peer's TTL outside its range, multicast, an
 * interval mismatch from a non-peer, a VIP missing, valid adverts at TTL 255 and 64. Both counters
 * (keepalived's JSON dump, SIGRTMIN+2; Vigil's `vigil status --json`) must equal what keepalived's
 * source counts (vrrp.c `vrrp_check_packet`, vrrp_scheduler.c `vrrp_dispatcher_read`; the first run
 * of this test found that keepalived never counts the unicast datagram to VI_1: its multicast socket
 * is bound to the group) and each other. Vigil's journal replays with `vigil replay --verify`.
 * Needs root, netns, keepalived (skipUnlessLab). Not pure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AdvertFields,
  encodeAdvert,
  passwordAuthData,
  setAdvertChecksum,
} from "../../src/protocol/codec.ts";
import { countersWithout } from "../support/counters.ts";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab } from "../support/lab.ts";
import {
  configText,
  instanceBlock,
  keepalivedJson,
  keepalivedPrivateTmp,
  sleepMs,
  startVigil,
  type Verified,
  verifyJournal,
} from "./support/mixed-cluster.ts";
import { repoRoot, tsxCommand, vigilBin } from "./support/vigil.ts";

const suite = "netns: receive counters, keepalived 2.2.7 vs Vigil";
const MASTER = /\(VI_1\) Entering MASTER STATE/;
const GROUP = "224.0.0.18";
/** Compared with keepalived: all but the counters of sending. */
const COUNTERS = countersWithout("advert_sent", "pri_zero_sent");

type Counts = Record<(typeof COUNTERS)[number], number>;

/** What keepalived 2.2.7's source counts for VI_1's list below (one of each), and the final yield. */
const EXPECTED_MULTICAST: Counts = {
  advert_rcvd: 4, // VIP missing, priority 100, priority 0, priority 250
  become_master: 1,
  release_master: 1,
  packet_len_err: 4, // header only, cut address, too long, version 1 at 20 bytes
  advert_interval_err: 0,
  ip_ttl_err: 2, // TTL 64, version 1 at its length with TTL 64
  invalid_type_rcvd: 1,
  // two addresses, VIP missing; not the unicast one: the multicast socket is bound to the group
  addr_list_err: 2,
  invalid_authtype: 1,
  authtype_mismatch: 1,
  auth_failure: 0,
  pri_zero_rcvd: 1,
};

/** The same for VI_2's list (it stays MASTER). */
const EXPECTED_UNICAST: Counts = {
  advert_rcvd: 5, // not a peer, the peer's TTL, VIP missing, the two valid ones
  become_master: 1,
  release_master: 0,
  packet_len_err: 0,
  advert_interval_err: 0,
  ip_ttl_err: 1, // the peer's TTL
  invalid_type_rcvd: 0,
  addr_list_err: 1, // VIP missing
  invalid_authtype: 0,
  authtype_mismatch: 0,
  auth_failure: 1,
  pri_zero_rcvd: 0,
};

interface Packet {
  readonly src?: string;
  readonly dst: string;
  readonly ttl: number;
  readonly hex: string;
}

/** The datagrams for VRID `vrid` (VIP `vip`) on a host at `host`, in the order sent. */
function datagrams(vrid: number, vip: string, host: string): Packet[] {
  const f = (over: Partial<AdvertFields> = {}): AdvertFields => ({
    version: 2,
    vrid,
    priority: 100,
    advertIntervalCs: 100,
    addresses: [vip],
    ...over,
  });
  const b = (over: Partial<AdvertFields> = {}, patch?: (x: Uint8Array) => void): Uint8Array => {
    const x = encodeAdvert(f(over), 4);
    if (patch) {
      patch(x);
      setAdvertChecksum(x, 4);
    }
    return x;
  };
  const ver1 = (x: Uint8Array): void => {
    x[0] = 0x11;
  };
  const p = (x: Uint8Array, ttl = 255, dst = GROUP): Packet => ({
    dst,
    ttl,
    hex: Buffer.from(x).toString("hex"),
  });
  const badSum = b();
  badSum[6] = (badSum[6] ?? 0) ^ 0x5a;
  const v1Short = b({}, ver1).slice(0, 12);
  return [
    p(b().slice(0, 6)),
    p(b().slice(0, 8)),
    p(b().slice(0, 14)),
    p(new Uint8Array([...b(), 0, 0, 0, 0])),
    p(b(), 64),
    p(b({}, ver1)),
    p(v1Short),
    p(v1Short, 64),
    p(encodeAdvert(f({ version: 3 }), 4, { src: "198.18.0.0", dst: GROUP })),
    p(
      b({}, (x) => {
        x[4] = 7;
      }),
    ),
    p(b({ authType: 1, authData: passwordAuthData("secret") })),
    p(b({ type: 2 })),
    p(b({ addresses: [vip, "198.18.0.250"] })),
    p(badSum),
    p(b(), 255, host),
    p(b({ addresses: ["198.18.0.251"] })),
    p(b({ advertIntervalCs: 300 })),
    p(b()),
    p(b({ priority: 0 })),
    p(b({ priority: 250 })),
  ];
}

/** VI_2's datagrams for VRID `vrid` (VIP `vip`), to `host`, on the lab's /24 `net`. */
function unicastDatagrams(vrid: number, vip: string, host: string, net: string): Packet[] {
  const b = (over: Partial<AdvertFields> = {}, pass = "secret"): string =>
    Buffer.from(
      encodeAdvert(
        {
          version: 2,
          vrid,
          priority: 100,
          advertIntervalCs: 100,
          addresses: [vip],
          authType: 1,
          authData: passwordAuthData(pass),
          ...over,
        },
        4,
      ),
    ).toString("hex");
  const peer = `${net}.3`;
  const ranged = `${net}.5`;
  const stranger = `${net}.9`;
  return [
    { src: peer, dst: host, ttl: 255, hex: b({}, "wrong") },
    { src: stranger, dst: host, ttl: 255, hex: b() },
    { src: ranged, dst: host, ttl: 64, hex: b() },
    { src: peer, dst: GROUP, ttl: 255, hex: b() },
    { src: stranger, dst: host, ttl: 255, hex: b({ advertIntervalCs: 300 }) },
    { src: peer, dst: host, ttl: 255, hex: b({ addresses: ["198.18.0.251"] }) },
    { src: peer, dst: host, ttl: 255, hex: b() },
    { src: peer, dst: host, ttl: 64, hex: b() },
  ];
}

const pick = (s: Readonly<Record<string, number>> | undefined): Record<string, number> =>
  Object.fromEntries(COUNTERS.map((k) => [k, s?.[k] ?? -1]));

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true }))(suite, () => {
  let lab: Lab;
  const ka: Record<string, Record<string, number>> = {};
  const vg: Record<string, Record<string, number>> = {};
  let journals: Verified[] = [];

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}rc`, hosts: 3 });
    const [h1, h2, h3] = [lab.host(1), lab.host(2), lab.host(3)];
    const net = `198.18.${lab.subnet}`;
    const conf = (vrid: number, src: string) =>
      configText(
        `rc-${vrid}`,
        instanceBlock({ vrid, prio: 200, advertInt: "1", version: 2, vips: [`${net}.${vrid}/24`] }),
        instanceBlock({
          name: "VI_2",
          vrid: vrid + 10,
          prio: 200,
          advertInt: "1",
          version: 2,
          vips: [`${net}.${vrid + 10}/24`],
          authPass: "secret",
          unicast: { src, peers: [`${net}.3`, `${net}.5 min_ttl 250 max_ttl 255`] },
          extra: ["check_unicast_src"],
        }),
      );
    const keepalived = keepalivedPrivateTmp(lab, h1, conf(51, h1.ipv4), "keepalived (51, 61)");
    const vigil = startVigil(lab, h2, conf(52, h2.ipv4), "vigil (52, 62)");
    try {
      for (const p of [keepalived.proc, vigil.proc]) {
        await p.waitForOutput(MASTER, 30_000);
        await p.waitForOutput(/\(VI_2\) Entering MASTER STATE/, 30_000);
      }
      const plan = {
        ifname: h3.ifname,
        src: h3.ipv4,
        gapMs: 20,
        packets: [
          ...unicastDatagrams(61, `${net}.61`, h1.ipv4, net),
          ...unicastDatagrams(62, `${net}.62`, h2.ipv4, net),
          ...datagrams(51, `${net}.51`, h1.ipv4),
          ...datagrams(52, `${net}.52`, h2.ipv4),
        ],
      };
      const sender = lab.spawn(
        h3.ns,
        process.execPath,
        [...tsxCommand.slice(1), `${repoRoot}test/netns/support/datagram-sender.ts`, JSON.stringify(plan)],
        { label: "datagram-sender@h3" },
      );
      await sender.waitForOutput(/"sent":/, 30_000);
      expect(sender.stdout).toContain(`"sent":${plan.packets.length},"errors":0`);
      await sleepMs(300);
      // both read well within the down timer that follows the last (priority 250) advert
      const dump = await keepalivedJson(keepalived);
      for (const i of dump) ka[String(i.data.iname)] = pick(i.stats);
      const status = await lab.nsExec(h2.ns, process.execPath, [vigilBin, "status", "--json"]);
      const doc = JSON.parse(status.stdout) as {
        instances: Array<{ name: string; stats: Record<string, number> }>;
      };
      for (const i of doc.instances) vg[i.name] = pick(i.stats);
      await vigil.proc.stop("SIGTERM", 10_000);
      await keepalived.proc.stop("SIGTERM", 10_000);
    } finally {
      dumpForInspection("receive-counters-keepalived.txt", keepalived.proc.output);
      dumpForInspection("receive-counters-vigil.txt", vigil.proc.output);
    }
    journals = await verifyJournal(vigil);
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it("keepalived 2.2.7 counts what its source says", () => {
    expect(ka).toEqual({ VI_1: EXPECTED_MULTICAST, VI_2: EXPECTED_UNICAST });
  });

  it("Vigil counts the same", () => {
    expect(vg).toEqual(ka);
  });

  it("Vigil's journal replays with vigil replay --verify", () => {
    expect(journals.length).toBeGreaterThanOrEqual(1);
    for (const j of journals) {
      expect(j.stderr, j.segment).toContain("verify ok");
      expect(j.code, j.stderr).toBe(0);
    }
  });
});
