/**
 * A datagram reaches an instance only if its socket, bound as keepalived binds it, would receive it
 * (vrrp.c open_vrrp_read_socket): a multicast instance's socket is bound to its group, a unicast
 * instance's to its source address — unicast_src_ip (or mcast_src_ip), else the interface's address.
 * One addressed to another of the host's addresses (a VIP, a secondary address) is never seen:
 * no event, no counter.
 */
import { describe, expect, it } from "vitest";
import { encodeAdvert } from "../../src/protocol/codec.ts";
import { AdvertCodec } from "../../src/runtime/codec.adapter.ts";
import type { Input } from "../../src/runtime/input.ts";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";

type Rx = Extract<Input, { kind: "rx" }>;

const spec: NodeSpec = {
  instances: [
    {
      // unicast, its source the interface's address
      params: instanceDefaults({ name: "uni", vrid: 1, ownIp: "198.18.0.1", vips: ["198.18.1.1"] }),
      tracking: [],
      unicastPeers: ["198.18.0.2"],
    },
    {
      // unicast with unicast_src_ip 198.18.0.5 (a secondary address of the interface)
      params: instanceDefaults({ name: "src", vrid: 2, ownIp: "198.18.0.5", vips: ["198.18.1.2"] }),
      tracking: [],
      unicastPeers: ["198.18.0.2"],
    },
    {
      params: instanceDefaults({
        name: "uni6",
        vrid: 3,
        version: 3,
        family: 6,
        ownIp: "fe80::1",
        vips: ["2001:db8::3"],
      }),
      tracking: [],
      unicastPeers: ["fe80::2"],
    },
    {
      params: instanceDefaults({ name: "mc", vrid: 4, ownIp: "198.18.0.1", vips: ["198.18.1.4"] }),
      tracking: [],
      unicastPeers: [],
      mcastGroup: "224.0.0.19",
    },
  ],
  groups: [],
  trackers: [],
};

const rx = (vrid: number, dst: string, vip: string, family: 4 | 6 = 4): Rx => {
  const src = family === 4 ? "198.18.0.2" : "fe80::2";
  const bytes = encodeAdvert(
    { version: family === 4 ? 2 : 3, vrid, priority: 150, advertIntervalCs: 100, addresses: [vip] },
    family,
    { src, dst },
  );
  return { kind: "rx", family, src, dst, ttl: 255, ifname: "eth0", hex: Buffer.from(bytes).toString("hex") };
};

describe("a datagram reaches an instance only at the address its socket is bound to", () => {
  it.each([
    ["uni: its interface address", rx(1, "198.18.0.1", "198.18.1.1"), true],
    ["uni: another local address (a VIP)", rx(1, "198.18.1.1", "198.18.1.1"), false],
    ["uni: a secondary address", rx(1, "198.18.0.5", "198.18.1.1"), false],
    ["uni: the multicast group", rx(1, "224.0.0.18", "198.18.1.1"), false],
    ["src: its unicast_src_ip", rx(2, "198.18.0.5", "198.18.1.2"), true],
    ["src: the interface's primary address", rx(2, "198.18.0.1", "198.18.1.2"), false],
    ["uni6: its link-local address, written otherwise", rx(3, "FE80:0:0::1", "2001:db8::3", 6), true],
    ["uni6: another address", rx(3, "fe80::9", "2001:db8::3", 6), false],
    ["mc: its group", rx(4, "224.0.0.19", "198.18.1.4"), true],
    ["mc: the default group", rx(4, "224.0.0.18", "198.18.1.4"), false],
    ["mc: a unicast address", rx(4, "198.18.0.1", "198.18.1.4"), false],
  ])("%s", (_what, input, seen) => {
    const codec = new AdvertCodec(spec);
    const r = codec.receive(input);
    if (seen) {
      expect(r.event).toBeDefined();
    } else {
      // routed to its instance, but neither an event nor a counter
      expect(r).toEqual({ instance: r.instance });
      expect(codec.dropped).toEqual({ unknownRoute: 0, notPeer: 0, ttlOutOfRange: 0 });
    }
  });
});
