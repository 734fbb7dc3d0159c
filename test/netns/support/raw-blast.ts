/**
 * Test helper run as root inside a lab namespace: sends hostile VRRP-protocol datagrams at the
 * raw transport of another host, then one good v3 advert per family, so the receiver can show it
 * counted the bad ones and kept working. argv: IFNAME VRID NET (198.18.X) and the peer's group.
 *  - IPv4: a 5000-byte protocol-112 payload without IP_HDRINCL (the kernel fragments it; the
 *    receiver reassembles a datagram larger than its buffer) and a 1-byte payload;
 *  - IPv6: a 5000-byte message through the raw transport (fragmented by the kernel).
 */
import raw from "raw-socket";
import { encodeAdvert } from "../../../src/protocol/codec.ts";
import { RealClock } from "../../../src/runtime/real-clock.ts";
import { interfaceAddress, RawTransportPool } from "../../../transports/raw.transport.ts";

const [ifname = "eth0", vridText = "32", net = "198.18.0"] = process.argv.slice(2);
const vrid = Number(vridText);

const plain = raw.createSocket({ protocol: 112, addressFamily: raw.AddressFamily.IPv4 });
const name = Buffer.from(`${ifname}\0`);
plain.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
plain.setOption(raw.SocketLevel.IPPROTO_IP, 33 /* IP_MULTICAST_TTL */, 255);
const sendPlain = (bytes: Uint8Array): Promise<void> =>
  new Promise((resolve) =>
    plain.send(bytes, 0, bytes.length, "224.0.0.18", (e) => {
      if (e !== null) console.error(`send: ${e.message}`);
      resolve();
    }),
  );

const big = new Uint8Array(5000);
big[0] = 0x31;
big[1] = vrid;
await sendPlain(big);
await sendPlain(Uint8Array.of(0x31));

const pool = new RawTransportPool(new RealClock());
const v4 = pool.open({ vrid, ifname, family: 4, mode: "multicast" });
const v6 = pool.open({ vrid, ifname, family: 6, mode: "multicast" });
const src4 = interfaceAddress(ifname, 4) ?? "";
const src6 = interfaceAddress(ifname, 6) ?? "";
v6.send({ bytes: big, family: 6, dst: "ff02::12", ttl: 255, ifname, vrid });
const advert4 = encodeAdvert(
  { version: 3, vrid, priority: 77, advertIntervalCs: 100, addresses: [`${net}.77`] },
  4,
  { src: src4, dst: "224.0.0.18" },
);
const advert6 = encodeAdvert(
  { version: 3, vrid, priority: 77, advertIntervalCs: 100, addresses: ["2001:2::77"] },
  6,
  {
    src: src6,
    dst: "ff02::12",
  },
);
await new Promise((r) => setTimeout(r, 100));
v4.send({ bytes: advert4, family: 4, dst: "224.0.0.18", ttl: 255, ifname, vrid });
v6.send({ bytes: advert6, family: 6, dst: "ff02::12", ttl: 255, ifname, vrid });
await new Promise((r) => setTimeout(r, 100));
console.log(
  JSON.stringify({
    blasted: true,
    v4: pool.stats(ifname, 4, "multicast"),
    v6: pool.stats(ifname, 6, "multicast"),
  }),
);
pool.close();
plain.close();
