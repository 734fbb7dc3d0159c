/**
 * Sends hand-made VRRP datagrams read from stdin, one JSON line `{src, dst, ttl, hex, ipOptions?}` each, and
 * answers each line with `sent N` or `error N MESSAGE` on stdout once the send has completed — so a
 * test can send, then look at the receivers. IPv4 (`dst` a dotted quad): the VRRP payload behind an
 * IPv4 header of our own, as datagram-sender.ts, with `ipOptions` (hex) in it when given. IPv6: through the raw transport's own IPv6 socket
 * (transports/raw6.socket.ts), the hop limit per datagram, the source given when it is not the
 * kernel's choice (`src` must be an address of this host); that socket has the kernel write the
 * checksum, as keepalived's does, so an IPv6 datagram always leaves with a right one. Exits when
 * stdin closes. Run with tsx in a lab namespace by test/netns/packet-differential.test.ts; it sends
 * only to the addresses it is given. Not pure.
 */
import { createInterface } from "node:readline";
import raw from "raw-socket";
import { loadLibc, ReceiveTimes } from "../../../transports/libc.ffi.ts";
import { openIpv6Socket } from "../../../transports/raw6.socket.ts";
import { IP_HDRINCL, vrrpIpPacket } from "./ip-packet.ts";

const ifname = process.argv[2] ?? "eth0";
const socket = raw.createSocket({ protocol: 112, addressFamily: raw.AddressFamily.IPv4 });
const name = Buffer.from(`${ifname}\0`);
socket.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
socket.setOption(raw.SocketLevel.IPPROTO_IP, IP_HDRINCL, 1);
const libc = loadLibc();
const socket6 = openIpv6Socket(libc, ifname, () => {}, new ReceiveTimes(libc, { nowUs: () => 0 }));

let n = 0;
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const p = JSON.parse(line) as { src?: string; dst: string; ttl: number; hex: string; ipOptions?: string };
  const i = n++;
  const payload = Buffer.from(p.hex, "hex");
  if (p.dst.includes(":")) {
    let error: Error | undefined;
    const out = { bytes: payload, family: 6 as const, dst: p.dst, ttl: p.ttl, ifname, vrid: payload[1] ?? 0 };
    socket6.send(out, p.src, 0, (e) => {
      error = e;
    });
    process.stdout.write(error ? `error ${i} ${error.message}\n` : `sent ${i}\n`);
    return;
  }
  const bytes = vrrpIpPacket(
    payload,
    p.src ?? "0.0.0.0",
    p.dst,
    p.ttl,
    Buffer.from(p.ipOptions ?? "", "hex"),
  );
  socket.send(bytes, 0, bytes.length, p.dst, (error) => {
    process.stdout.write(error ? `error ${i} ${error.message}\n` : `sent ${i}\n`);
  });
});
lines.on("close", () => {
  socket.close();
  socket6.close();
});
process.stdout.write("ready\n");
