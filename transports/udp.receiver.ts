/**
 * A tiny UDP-transport receiver for the shell and for cross-namespace tests (run it unprivileged with
 * `setpriv` to show the UDP transport needs no raw sockets). Prints one JSON line per datagram with
 * the decoded advert (or the decode rejection), then exits after `--count` datagrams or `--timeout-ms`
 * (exit code 0 if `--count` was reached, 1 on timeout, 2 on bad arguments or bind failure).
 *
 *   npx tsx transports/udp.receiver.ts --bind ADDR [--port 5112] [--group 224.0.0.18] [--ifname eth0]
 *                                      [--count N] [--timeout-ms MS]
 *
 * And a sender: `--send HEX --to DST [--ttl 255]` sends one message (hex bytes) and exits.
 * Not pure (sockets, stdout).
 */
import { parseArgs } from "node:util";
import { decodeAdvert } from "../src/protocol/codec.ts";
import { RealClock } from "../src/runtime/real-clock.ts";
import { openUdpTransport, VIGIL_UDP_DEFAULT_PORT } from "./udp.transport.ts";

const { values } = parseArgs({
  options: {
    bind: { type: "string" },
    port: { type: "string", default: String(VIGIL_UDP_DEFAULT_PORT) },
    group: { type: "string" },
    ifname: { type: "string", default: "eth0" },
    count: { type: "string", default: "1" },
    "timeout-ms": { type: "string", default: "10000" },
    send: { type: "string" },
    to: { type: "string" },
    ttl: { type: "string", default: "255" },
  },
});

const bind = values.bind;
if (bind === undefined) {
  process.stderr.write("udp.receiver: --bind ADDR is required\n");
  process.exit(2);
}
const family = bind.includes(":") ? 6 : 4;
const transport = await openUdpTransport({
  clock: new RealClock(),
  family,
  ifname: values.ifname,
  localAddress: bind,
  port: Number(values.port),
  ...(values.group !== undefined ? { group: values.group } : {}),
}).catch((e: unknown) => {
  process.stderr.write(`udp.receiver: ${String(e)}\n`);
  process.exit(2);
});

if (values.send !== undefined) {
  const hex = values.send.replace(/[^0-9a-f]/gi, "");
  const bytes = Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
  transport.send({
    bytes,
    family,
    dst: values.to ?? values.group ?? "",
    ttl: Number(values.ttl),
    ifname: values.ifname,
    vrid: bytes[1] ?? 0,
  });
  setTimeout(() => {
    transport.close();
    process.exit(transport.stats.sent === 1 ? 0 : 1);
  }, 200);
} else {
  let left = Number(values.count);
  const timer = setTimeout(() => {
    transport.close();
    process.exit(1);
  }, Number(values["timeout-ms"]));
  transport.inbound$.subscribe((d) => {
    const r = decodeAdvert(d.bytes, d);
    const decoded = r.ok
      ? { ...r.advert, authData: r.advert.authData && [...r.advert.authData] }
      : { reject: r.reason };
    process.stdout.write(
      `${JSON.stringify({ src: d.src, dst: d.dst, ifname: d.ifname, uid: process.getuid?.(), ...decoded })}\n`,
    );
    if (--left <= 0) {
      clearTimeout(timer);
      transport.close();
      process.exit(0);
    }
  });
}
