/**
 * Test helper for the UDP transport across namespaces, meant to run unprivileged (setpriv):
 *
 *   udp-peer.ts receive BIND IFNAME [GROUP]      prints "ready" on stderr once bound, then one JSON
 *                                                line per datagram: uid, src, dst, decoded advert
 *   udp-peer.ts send BIND IFNAME DST COUNT JSON  sends COUNT adverts (fields as JSON, encoded by the
 *                                                codec with the v3 checksum over BIND → DST), 50 ms apart
 *
 * Exits when killed (receive) or after sending (send). Not pure (sockets, stdout).
 */
import { type AdvertFields, decodeAdvert, encodeAdvert } from "../../../src/protocol/codec.ts";
import { RealClock } from "../../../src/runtime/real-clock.ts";
import { openUdpTransport } from "../../../transports/udp.transport.ts";

const [mode, bind = "", ifname = "eth0", arg3, arg4, arg5] = process.argv.slice(2);
const family = bind.includes(":") ? 6 : 4;
const uid = process.getuid?.();

if (mode === "receive") {
  const transport = await openUdpTransport({
    clock: new RealClock(),
    family,
    ifname,
    localAddress: bind,
    ...(arg3 === undefined ? {} : { group: arg3 }),
  });
  transport.inbound$.subscribe((d) => {
    const r = decodeAdvert(d.bytes, d);
    const advert = r.ok ? { ...r.advert, authData: undefined } : { reject: r.reason };
    console.log(JSON.stringify({ uid, src: d.src, dst: d.dst, rxAtUs: d.rxAtUs, ...advert }));
  });
  process.on("SIGTERM", () => {
    transport.close();
    process.exit(0);
  });
  console.error(`ready uid=${uid}`);
} else if (mode === "send") {
  const dst = arg3 ?? "";
  const count = Number(arg4 ?? "1");
  const fields = JSON.parse(arg5 ?? "{}") as AdvertFields;
  const transport = await openUdpTransport({ clock: new RealClock(), family, ifname, localAddress: bind });
  const bytes = encodeAdvert(fields, family, { src: bind, dst });
  for (let i = 0; i < count; i++) {
    transport.send({ bytes, family, dst, ttl: 255, ifname, vrid: fields.vrid });
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(JSON.stringify({ uid, sent: transport.stats.sent, sendErrors: transport.stats.sendErrors }));
  transport.close();
} else {
  console.error("usage: udp-peer.ts receive|send ...");
  process.exit(2);
}
