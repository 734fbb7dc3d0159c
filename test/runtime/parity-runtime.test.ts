/**
 * Config ↔ runtime parity, the runtime half: each test drives a `Node` built by `nodeFromConfig` from a
 * keepalived.conf text (VirtualClock, a recording transport) and shows one keyword acted on — the
 * multicast destination, the unicast TTL, unicast source / per-peer TTL checks, skip_check_adv_addr,
 * unicast_fault_no_peer, an interface without an address, routing by (interface, family, VRID), and
 * the receive facts (IPv4 total length, TTL not observed) reaching the checks. test/config/parity.test.ts
 * names these tests for the keywords they prove.
 */
import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { encodeAdvert, setAdvertChecksum } from "../../src/protocol/codec.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { type AdapterOptions, nodeFromConfig } from "../../src/runtime/config.adapter.ts";
import { checkInput, rxInput } from "../../src/runtime/input.ts";
import type { Node, Output } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import type { Datagram, Outbound } from "../../transports/transport.ts";
import { memFs } from "../config/memfs.ts";

const S = 1_000_000;

const load = (text: string): Config => {
  const r = loadConfig("k.conf", { configId: "lb1", fs: memFs({ "k.conf": text }) });
  if (r.config === undefined) throw new Error("config rejected");
  return r.config;
};

interface Rig {
  readonly node: Node;
  readonly clock: VirtualClock;
  readonly sent: Outbound[];
  readonly logs: string[];
  /** Each timer input applied: `actor id atUs`. */
  readonly timers: string[];
  readonly state: (name: string) => string | undefined;
}

const OWN: AdapterOptions = { primaryAddress: (_i, f) => (f === 4 ? "198.18.0.1" : "fe80::1") };

function rig(text: string, adapter: AdapterOptions = OWN): Rig {
  const clock = new VirtualClock();
  const sent: Outbound[] = [];
  const logs: string[] = [];
  const timers: string[] = [];
  const states = new Map<string, string>();
  const config = load(text);
  const node = nodeFromConfig(
    config,
    {
      clock,
      ports: nullPorts(),
      transport: { inbound$: new Subject<Datagram>(), send: (o) => void sent.push(o), close: () => {} },
      onApplied: (ev, outs: readonly Output[]) => {
        if (ev.input.kind === "timer") timers.push(`${ev.input.actor} ${ev.input.id} ${ev.atUs}`);
        for (const o of outs) {
          if (o.type === "state") states.set(o.actor.replace(/^instance:/, ""), o.to);
          if (o.type === "log") logs.push(o.line);
        }
      },
    },
    adapter,
  );
  node.start();
  for (const i of config.instances) node.input({ kind: "link", ifname: i.interface ?? "eth0", up: true });
  return { node, clock, sent, logs, timers, state: (n) => states.get(n) };
}

const advert = (
  vrid: number,
  priority: number,
  vips: string[],
  src: string,
  dst: string,
  over: Partial<Datagram> = {},
): Datagram => {
  const bytes = encodeAdvert({ version: 2, vrid, priority, advertIntervalCs: 100, addresses: vips }, 4, {
    src,
    dst,
  });
  return { bytes, family: 4, src, dst, ttl: 255, ifname: "eth0", rxAtUs: 0, ...over };
};

const inst = (body: string, name = "VI_1", vrid = 1, iface = "eth0") => `
vrrp_instance ${name} {
  interface ${iface}
  virtual_router_id ${vrid}
  priority 100
  advert_int 1
  virtual_ipaddress { 198.18.0.${vrid + 100}/24 }
  ${body}
}
`;

describe("outbound adverts follow the config", () => {
  it("mcast_dst_ip: adverts go to the configured group", () => {
    const r = rig(inst("mcast_dst_ip 224.0.0.19"));
    r.clock.advanceTo(5 * S);
    expect(r.state("VI_1")).toBe("MASTER");
    expect(r.sent.length).toBeGreaterThan(0);
    expect(new Set(r.sent.map((o) => o.dst))).toEqual(new Set(["224.0.0.19"]));
  });

  it("vrrp_mcast_group4: the global group is the default destination", () => {
    const r = rig(`global_defs { vrrp_mcast_group4 224.0.0.20 }\n${inst("")}`);
    r.clock.advanceTo(5 * S);
    expect(new Set(r.sent.map((o) => o.dst))).toEqual(new Set(["224.0.0.20"]));
  });

  it("unicast_ttl: unicast adverts carry it, one per peer; multicast stays at 255", () => {
    const r = rig(
      inst("unicast_src_ip 198.18.0.1\nunicast_ttl 10\nunicast_peer { 198.18.0.2\n198.18.0.3 }") +
        inst("", "VI_2", 2),
    );
    r.clock.advanceTo(5 * S);
    const uni = r.sent.filter((o) => o.vrid === 1);
    expect(new Set(uni.map((o) => o.dst))).toEqual(new Set(["198.18.0.2", "198.18.0.3"]));
    expect(new Set(uni.map((o) => o.ttl))).toEqual(new Set([10]));
    expect(new Set(r.sent.filter((o) => o.vrid === 2).map((o) => o.ttl))).toEqual(new Set([255]));
  });

  it("the own address is the interface's primary address reported by the host, never 0.0.0.0", () => {
    const r = rig(inst(""), { primaryAddress: (ifname) => (ifname === "eth0" ? "198.18.0.77" : undefined) });
    r.clock.advanceTo(5 * S);
    expect(r.sent.length).toBeGreaterThan(0);
    expect(new Set(r.sent.map((o) => o.src))).toEqual(new Set(["198.18.0.77"]));
  });
});

describe("configuration faults", () => {
  it("an interface without an address: a clear log line, the instance stays in FAULT and sends nothing", () => {
    const r = rig(inst(""), { primaryAddress: () => undefined });
    r.clock.advanceTo(10 * S);
    expect(r.state("VI_1")).toBe("FAULT");
    expect(r.sent).toEqual([]);
    expect(r.node.spec.instances[0]?.configFaults).toEqual([
      "(VI_1) interface eth0 has no IPv4 address to send from - going to fault state",
    ]);
  });

  it("unicast_fault_no_peer without peers: FAULT, as keepalived's num_config_faults", () => {
    const r = rig(inst("unicast_fault_no_peer"));
    r.clock.advanceTo(10 * S);
    expect(r.state("VI_1")).toBe("FAULT");
    expect(r.sent).toEqual([]);
    // with a peer the same keyword changes nothing
    const ok = rig(inst("unicast_fault_no_peer\nunicast_peer { 198.18.0.2 }"));
    ok.clock.advanceTo(10 * S);
    expect(ok.state("VI_1")).toBe("MASTER");
  });
});

describe("receive: routing and checks in one place", () => {
  it("an advert for VRID 1 on eth1, where no instance has VRID 1, does not reach eth0's VRID 1", () => {
    const r = rig(inst("") + inst("", "VI_B", 2, "eth1"));
    r.node.input({ kind: "link", ifname: "eth1", up: true });
    r.clock.advanceTo(1 * S);
    // a priority-200 advert from a better master, but on the wrong interface
    r.node.input(rxInput(advert(1, 200, ["198.18.0.101"], "198.18.0.9", "224.0.0.18", { ifname: "eth1" })));
    r.clock.advanceTo(5 * S);
    expect(r.state("VI_1")).toBe("MASTER");
    expect(r.node.stats("VI_1")?.advert_rcvd).toBe(0);
    // the same advert on eth0 is VI_1's
    r.node.input(rxInput(advert(1, 200, ["198.18.0.101"], "198.18.0.9", "224.0.0.18")));
    expect(r.state("VI_1")).toBe("BACKUP");
  });

  it("check_unicast_src: a non-peer is dropped; per-peer min_ttl / max_ttl reject out of range (ip_ttl_err)", () => {
    const body =
      "unicast_src_ip 198.18.0.1\ncheck_unicast_src\nunicast_peer { 198.18.0.2 min_ttl 200 max_ttl 255 }";
    const r = rig(inst(body));
    r.clock.advanceTo(1 * S);
    const hi = (src: string, ttl: number) => advert(1, 200, ["198.18.0.101"], src, "198.18.0.1", { ttl });
    r.node.input(rxInput(hi("198.18.0.9", 255))); // not a peer
    r.node.input(rxInput(hi("198.18.0.2", 64))); // a peer, TTL below min_ttl
    r.clock.advanceTo(5 * S);
    expect(r.state("VI_1")).toBe("MASTER");
    expect(r.node.stats("VI_1")?.ip_ttl_err).toBe(1);
    r.node.input(rxInput(hi("198.18.0.2", 200))); // in range
    expect(r.state("VI_1")).toBe("BACKUP");
  });

  it("min_ttl alone implies the source check; without check_unicast_src any source is taken", () => {
    const r = rig(inst("unicast_src_ip 198.18.0.1\nunicast_peer { 198.18.0.2 min_ttl 10 }"));
    r.clock.advanceTo(5 * S);
    r.node.input(rxInput(advert(1, 200, ["198.18.0.101"], "198.18.0.9", "198.18.0.1")));
    expect(r.state("VI_1")).toBe("MASTER");
    const open = rig(inst("unicast_src_ip 198.18.0.1\nunicast_peer { 198.18.0.2 }"));
    open.clock.advanceTo(1 * S);
    open.node.input(rxInput(advert(1, 200, ["198.18.0.101"], "198.18.0.9", "198.18.0.1")));
    expect(open.state("VI_1")).toBe("BACKUP");
  });

  it("UDP cannot see the TTL: ttlObserved false is journaled and skips the TTL checks", () => {
    const body = "unicast_src_ip 198.18.0.1\nunicast_peer { 198.18.0.2 min_ttl 200 }";
    const r = rig(inst(body));
    r.clock.advanceTo(1 * S);
    const d = advert(1, 200, ["198.18.0.101"], "198.18.0.2", "198.18.0.1", { ttl: 1, ttlObserved: false });
    const input = rxInput(d);
    expect(checkInput(JSON.parse(JSON.stringify(input)))).toEqual(input);
    r.node.input(input);
    expect(r.state("VI_1")).toBe("BACKUP");
  });

  it("the IPv4 total length as received is journaled and checked on the node path (packet_len_err)", () => {
    const r = rig(inst(""));
    r.clock.advanceTo(5 * S);
    const d = advert(1, 200, ["198.18.0.101"], "198.18.0.9", "224.0.0.18", {
      ipPayloadLength: 24,
      ifindex: 3,
    });
    const input = rxInput(d);
    expect(input).toMatchObject({ ipPayloadLength: 24, ifindex: 3 });
    r.node.input(input);
    expect(r.node.stats("VI_1")?.packet_len_err).toBe(1);
    expect(r.state("VI_1")).toBe("MASTER");
    r.node.input(rxInput({ ...d, ipPayloadLength: d.bytes.length }));
    expect(r.state("VI_1")).toBe("BACKUP");
  });

  it("skip_check_adv_addr: a BACKUP takes its master's adverts with another address list, not others'", () => {
    const r = rig(inst("skip_check_adv_addr"));
    r.clock.advanceTo(1 * S);
    r.node.input(rxInput(advert(1, 200, ["198.18.0.101"], "198.18.0.9", "224.0.0.18")));
    expect(r.state("VI_1")).toBe("BACKUP");
    const before = r.node.stats("VI_1")?.addr_list_err ?? 0;
    for (let k = 1; k <= 6; k++) {
      r.clock.advanceTo((1 + k) * S);
      r.node.input(rxInput(advert(1, 200, ["198.18.0.55"], "198.18.0.9", "224.0.0.18")));
    }
    expect(r.state("VI_1")).toBe("BACKUP");
    expect(r.node.stats("VI_1")?.addr_list_err).toBe(before);
    // another source with the wrong list is still checked
    r.node.input(rxInput(advert(1, 250, ["198.18.0.55"], "198.18.0.8", "224.0.0.18")));
    expect(r.node.stats("VI_1")?.addr_list_err).toBe(before + 1);
    // without the keyword the master's own adverts are checked too
    const strict = rig(inst(""));
    strict.clock.advanceTo(1 * S);
    strict.node.input(rxInput(advert(1, 200, ["198.18.0.101"], "198.18.0.9", "224.0.0.18")));
    strict.node.input(rxInput(advert(1, 200, ["198.18.0.55"], "198.18.0.9", "224.0.0.18")));
    expect(strict.node.stats("VI_1")?.addr_list_err).toBe(1);
  });
});

describe("a VRRPv3 master advertising an interval of 0 (the wire allows it; keepalived adopts it)", () => {
  const v3zero = (vrid: number, priority: number, src: string): Datagram => {
    const dst = "224.0.0.18";
    const bytes = encodeAdvert(
      { version: 3, vrid, priority, advertIntervalCs: 100, addresses: [`198.18.0.${vrid + 100}`] },
      4,
      { src, dst },
    );
    bytes[4] = (bytes[4] ?? 0) & 0xf0;
    bytes[5] = 0;
    setAdvertChecksum(bytes, 4, { src, dst });
    return { bytes, family: 4, src, dst, ttl: 255, ifname: "eth0", rxAtUs: 0 };
  };

  it("a sync-group member waits for the group once per its own advert_int, not in a loop at one instant", () => {
    // keepalived re-arms the waiting member with Master_Down_Interval, 0 here, and spins (thousands of
    // "Receive advertisement timeout" a second); the group still goes MASTER only when VI_1's own timer
    // runs out, 3 × 1 s + Skew_Time after the advert.
    const r = rig(
      `vrrp_sync_group G1 { group { VI_1 VI_2 } }\n${inst("state MASTER", "VI_1", 1)}${inst("state MASTER\n  version 3", "VI_2", 2)}`,
    );
    r.clock.advanceTo(5 * S);
    expect([r.state("VI_1"), r.state("VI_2")]).toEqual(["MASTER", "MASTER"]);
    const before = r.timers.length;
    r.node.input(rxInput(v3zero(2, 255, "198.18.0.9")));
    expect([r.state("VI_1"), r.state("VI_2")]).toEqual(["BACKUP", "BACKUP"]);
    r.clock.advanceTo(5 * S + 3_500_000);
    expect([r.state("VI_1"), r.state("VI_2")]).toEqual(["BACKUP", "BACKUP"]);
    // VI_2's down timer: once at once (Master_Down_Interval 0), then once per second while it waits.
    expect(r.timers.slice(before).filter((f) => f.startsWith("instance:VI_2 masterDown"))).toEqual(
      [5, 6, 7, 8].map((s) => `instance:VI_2 masterDown ${s * S}`),
    );
    r.clock.advanceTo(5 * S + 3_700_000);
    expect([r.state("VI_1"), r.state("VI_2")]).toEqual(["MASTER", "MASTER"]);
  });

  it("an instance alone takes over at once, as keepalived's immediate timeout does", () => {
    const r = rig(inst("state MASTER\n  version 3", "VI_2", 2));
    r.clock.advanceTo(5 * S);
    r.node.input(rxInput(v3zero(2, 255, "198.18.0.9")));
    expect(r.state("VI_2")).toBe("BACKUP");
    r.clock.advanceTo(5 * S + 1);
    expect(r.state("VI_2")).toBe("MASTER");
  });
});
