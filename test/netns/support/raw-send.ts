/**
 * Test helper run as root inside a lab namespace, for test/netns/raw-transport-send.test.ts.
 * `raw-send.ts IFNAME PEER NET`: sends a fixed mix of VRRP v2 and v3 adverts through the raw
 * transport's shared IPv4 sockets (multicast to 224.0.0.18 and 224.0.0.19, unicast to PEER; TTLs
 * 255, 10 and 1; with and without an explicit source; 1 to 20 VIPs; several VRIDs, so several IP
 * id counters), 40 at once in one event-loop turn, then prints one JSON line: for each advert, in
 * send order, the IPv4 packet the old path handed raw-socket (`encodeIpv4Packet` of the same header
 * fields: TOS 0xc0, the IP id the transport counts per VRID, DF clear) as hex, and the shared
 * sockets' counters. Not pure.
 */
import { encodeAdvert, type VrrpVersion } from "../../../src/protocol/codec.ts";
import { encodeIpv4Packet } from "../../../src/protocol/ipv4.ts";
import { RealClock } from "../../../src/runtime/real-clock.ts";
import { interfaceAddress, RawTransportPool } from "../../../transports/raw.transport.ts";
import type { Outbound } from "../../../transports/transport.ts";

const [ifname = "eth0", peer = "", net = "198.18.0"] = process.argv.slice(2);
const own = interfaceAddress(ifname, 4) ?? "";
const pool = new RawTransportPool(new RealClock());
const multicast = pool.openShared(ifname, 4, "multicast", ["224.0.0.18", "224.0.0.19"]);
const unicast = pool.openShared(ifname, 4, "unicast");

const expected: string[] = [];
const ipIds = new Map<string, number>();
for (let i = 0; i < 40; i++) {
  const version = (i % 2 === 0 ? 2 : 3) as VrrpVersion;
  const vrid = 1 + (i % 5);
  const isUnicast = i % 4 === 3;
  const dst = isUnicast ? peer : i % 8 === 1 ? "224.0.0.19" : "224.0.0.18";
  const ttl = isUnicast ? (i % 8 === 3 ? 10 : 1) : 255;
  const src = i % 3 === 0 ? undefined : own;
  const addresses = Array.from({ length: 1 + (i % 20) }, (_, k) => `${net}.${100 + k}`);
  const bytes = encodeAdvert(
    { version, vrid, priority: 100 + i, advertIntervalCs: version === 2 ? 100 : 50, addresses },
    4,
    { src: own, dst },
  );
  const out: Outbound = { bytes, family: 4, dst, ttl, ifname, vrid, ...(src === undefined ? {} : { src }) };
  // IP ids: counted per VRID by each shared socket's transport view (1, 2, …).
  const key = `${isUnicast ? "u" : "m"}/${vrid}`;
  const ipId = (ipIds.get(key) ?? 0) + 1;
  ipIds.set(key, ipId);
  expected.push(
    Buffer.from(
      encodeIpv4Packet({ tos: 0xc0, ttl, id: ipId, protocol: 112, src: src ?? own, dst }, bytes),
    ).toString("hex"),
  );
  (isUnicast ? unicast : multicast).send(out);
}
// Give a queued send (the old path, or a fallback) its turns before reporting.
setTimeout(() => {
  console.log(
    JSON.stringify({
      expected,
      multicast: pool.stats(ifname, 4, "multicast"),
      unicast: pool.stats(ifname, 4, "unicast"),
    }),
  );
  multicast.close();
  unicast.close();
  pool.close();
}, 500);
