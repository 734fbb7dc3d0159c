/**
 * An instance's counters as keepalived 2.2.7 counts them (`keepalived.json` stats). Receive side
 * (vrrp.c `vrrp_check_packet`, vrrp_scheduler.c `vrrp_dispatcher_read`): each dropped kind counts
 * exactly what keepalived counts (dropped-datagrams.ts `counts`), in MASTER and BACKUP alike;
 * datagrams keepalived never hands to the instance — shorter than a VRRP header, over IPv6 of the
 * other multicast/unicast kind, any while it is in FAULT or INIT — count nothing. State side
 * (vrrp.c `vrrp_state_become_master` / `vrrp_state_leave_master`): `become_master` on each entry
 * to MASTER, `release_master` on each MASTER → BACKUP/FAULT only — not the start-up VIP removal, not
 * a shutdown, not a reload that changes a kept MASTER's VIPs. Real bytes through the Node on the
 * virtual clock.
 */
import { describe, expect, test } from "vitest";
import type { InstanceParams } from "../../machines/events.ts";
import { encodeAdvert } from "../../src/protocol/codec.ts";
import type { NodeSpec } from "../../src/runtime/spec.ts";
import { type InstanceStats, newStats } from "../../src/runtime/stats.ts";
import { countersWithout } from "../support/counters.ts";
import { bytes, DROPPED, fields, hex, PEER, type Rx, rx, VALID } from "./dropped-datagrams.ts";
import { Harness, S } from "./harness.ts";

/** What the receive path can count: all but the counters of sending and of state changes. */
const RECEIVE_COUNTERS = countersWithout("advert_sent", "become_master", "release_master", "pri_zero_sent");

const received = (h: Harness, name = "VI_1"): Partial<InstanceStats> => {
  const s = h.node.stats(name) ?? newStats();
  return Object.fromEntries(RECEIVE_COUNTERS.map((k) => [k, s[k]]));
};
/** The receive counters after `times` datagrams, each counting `counts`. */
const expected = (counts: Partial<InstanceStats>, times = 1): Partial<InstanceStats> =>
  Object.fromEntries(RECEIVE_COUNTERS.map((k) => [k, (counts[k] ?? 0) * times]));

/** MASTER alone at 3.609375 s (priority 200 so that no dropped kind's priority matters). */
const MASTER_AT = 3_609_375;

describe("received datagrams, counted as keepalived counts them", () => {
  test.each(DROPPED)("MASTER, three dropped by $kind", ({ extra, input, counts }) => {
    const h = Harness.single({ basePriority: 100 }, extra)
      .start()
      .at(4 * S);
    for (let k = 0; k < 3; k++) h.node.input(input);
    expect(h.node.state("VI_1")).toBe("MASTER");
    expect(received(h)).toEqual(expected(counts, 3));
  });

  test.each(DROPPED)("BACKUP, dropped by $kind", ({ extra, input, valid, counts }) => {
    const h = Harness.single({ basePriority: 100 }, extra).start().at(S);
    h.node.input(valid);
    h.at(2 * S).node.input(input);
    expect(h.node.state("VI_1")).toBe("BACKUP");
    expect(received(h)).toEqual(expected({ ...counts, advert_rcvd: 1 + (counts.advert_rcvd ?? 0) }));
  });

  test("valid adverts: advert_rcvd, and pri_zero_rcvd for priority 0", () => {
    const h = Harness.single({ basePriority: 100 }).start().at(S);
    h.node.input(VALID);
    h.node.input(VALID);
    h.node.input(rx(bytes({ priority: 0 })));
    expect(received(h)).toEqual(expected({ advert_rcvd: 3, pri_zero_rcvd: 1 }));
  });

  test.each([2, 3, 4, 5, 6, 7])("a %i-byte datagram for the VRID counts nothing (no instance found)", (n) => {
    const h = Harness.single({ basePriority: 100 })
      .start()
      .at(4 * S);
    h.node.input(rx(bytes().slice(0, n)));
    expect(received(h)).toEqual(expected({}));
  });

  const V6: Partial<InstanceParams> = { family: 6, version: 3, ownIp: "fe80::1", vips: ["2001:db8::100"] };
  const v6 = (src: string, dst: string, over: Partial<Rx> = {}): Rx => {
    const b = encodeAdvert(fields({ version: 3, addresses: ["2001:db8::100"] }), 6, { src, dst });
    return { kind: "rx", family: 6, src, dst, ttl: 255, ifname: "eth0", hex: hex(b), ...over };
  };

  test("IPv6: a multicast datagram to a unicast instance, or unicast to a multicast one, counts nothing", () => {
    const mcast = Harness.single({ basePriority: 100, ...V6 })
      .start()
      .at(4 * S);
    mcast.node.input(v6("fe80::2", "fe80::1"));
    mcast.node.input(v6("fe80::2", "fe80::1", { ttl: 1 }));
    expect(received(mcast)).toEqual(expected({}));
    const ucast = Harness.single({ basePriority: 100, ...V6 }, { unicastPeers: ["fe80::2"] })
      .start()
      .at(4 * S);
    ucast.node.input(v6("fe80::2", "ff02::12"));
    ucast.node.input(v6("fe80::2", "ff02::12", { ttl: 1 }));
    expect(received(ucast)).toEqual(expected({}));
    // the right kind is counted
    ucast.node.input(v6("fe80::2", "fe80::1", { ttl: 1 }));
    mcast.node.input(v6("fe80::2", "ff02::12", { ttl: 1 }));
    expect([received(ucast).advert_rcvd, received(mcast).ip_ttl_err]).toEqual([1, 1]);
  });

  test.each(DROPPED)(
    "INIT (before start) and FAULT ignore $kind and valid adverts alike",
    ({ extra, input, valid }) => {
      const base = Harness.single({ basePriority: 100 }, extra).spec
        .instances[0] as NodeSpec["instances"][number];
      const h = new Harness({
        instances: [{ ...base, tracking: [{ tracker: "eth0", weight: 0, reverse: false }] }],
        groups: [],
        trackers: [{ name: "eth0", kind: "link", rise: 1, fall: 1, initFail: false }],
      });
      h.node.input(input);
      h.node.input(valid);
      h.start().at(S).link("eth0", false);
      expect(h.node.state("VI_1")).toBe("FAULT");
      h.node.input(input);
      h.node.input(valid);
      h.node.input(rx(bytes({ priority: 0 })));
      expect(received(h)).toEqual(expected({}));
      h.link("eth0", true);
      h.node.input(valid);
      expect(received(h).advert_rcvd).toBe(1);
    },
  );
});

describe("become_master and release_master follow the instance's state", () => {
  const masterAndBack = (): Harness => {
    const base = Harness.single({ basePriority: 100 }).spec.instances[0] as NodeSpec["instances"][number];
    return new Harness({
      instances: [{ ...base, tracking: [{ tracker: "eth0", weight: 0, reverse: false }] }],
      groups: [],
      trackers: [{ name: "eth0", kind: "link", rise: 1, fall: 1, initFail: false }],
    }).start();
  };
  const masterCounts = (h: Harness) => {
    const s = h.node.stats("VI_1");
    return [s?.become_master, s?.release_master];
  };

  test("start-up (its VIP removal) counts nothing; entering MASTER counts become_master", () => {
    const h = masterAndBack();
    h.at(S);
    expect(h.of("removeVips").length).toBe(1);
    expect(masterCounts(h)).toEqual([0, 0]);
    h.at(4 * S);
    expect(masterCounts(h)).toEqual([1, 0]);
  });

  test("MASTER → BACKUP (higher advert) and MASTER → FAULT count release_master; FAULT → BACKUP does not", () => {
    const h = masterAndBack().at(4 * S);
    h.node.input(rx(bytes({ priority: 150 }), { src: PEER }));
    expect(h.node.state("VI_1")).toBe("BACKUP");
    expect(masterCounts(h)).toEqual([1, 1]);
    h.at(4 * S + MASTER_AT + 1);
    expect(h.node.state("VI_1")).toBe("MASTER");
    expect(masterCounts(h)).toEqual([2, 1]);
    h.link("eth0", false);
    expect(h.node.state("VI_1")).toBe("FAULT");
    expect(masterCounts(h)).toEqual([2, 2]);
    h.at(10 * S).link("eth0", true);
    expect(h.node.state("VI_1")).toBe("BACKUP");
    expect(masterCounts(h)).toEqual([2, 2]);
  });

  test("a BACKUP going to FAULT releases nothing; a shutdown of a MASTER releases nothing", () => {
    const h = masterAndBack().at(S);
    h.link("eth0", false).link("eth0", true);
    expect(masterCounts(h)).toEqual([0, 0]);
    h.at(S + MASTER_AT + 1);
    expect(h.node.state("VI_1")).toBe("MASTER");
    const removals = h.of("removeVips").length;
    h.node.shutdown();
    expect(h.node.state("VI_1")).toBe("STOP");
    expect(h.of("removeVips").length).toBe(removals + 1);
    expect(masterCounts(h)).toEqual([1, 0]);
  });

  test("a reload that adds and removes VIPs of a kept MASTER counts neither", () => {
    const h = Harness.single({ basePriority: 100 })
      .start()
      .at(4 * S);
    expect(masterCounts(h)).toEqual([1, 0]);
    const spec = (vips: string[]): NodeSpec => {
      const i = h.spec.instances[0] as NodeSpec["instances"][number];
      return { ...h.spec, instances: [{ ...i, params: { ...i.params, vips } }] };
    };
    h.node.input({ kind: "reload", configHash: "h2", spec: spec(["198.18.0.100", "198.18.0.101"]) });
    h.at(5 * S).node.input({ kind: "reload", configHash: "h3", spec: spec(["198.18.0.101"]) });
    expect(h.of("addVips").length).toBeGreaterThanOrEqual(2);
    expect(h.of("removeVips").length).toBeGreaterThanOrEqual(2);
    expect(h.node.state("VI_1")).toBe("MASTER");
    expect(masterCounts(h)).toEqual([1, 0]);
  });
});
