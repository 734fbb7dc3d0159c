/**
 * Sends hand-made VRRP datagrams read from stdin, one JSON line `{src, dst, ttl, hex}` each (the
 * VRRP payload behind an IPv4 header of our own, as datagram-sender.ts), and answers each line with
 * `sent N` or `error N MESSAGE` on stdout once the send has completed — so a test can send, then
 * look at the receivers. Exits when stdin closes. Run with tsx in a lab namespace by
 * test/netns/packet-differential.test.ts; it sends only to the addresses it is given. Not pure.
 */
import { createInterface } from "node:readline";
import raw from "raw-socket";
import { IP_HDRINCL, vrrpIpPacket } from "./ip-packet.ts";

const ifname = process.argv[2] ?? "eth0";
const socket = raw.createSocket({ protocol: 112, addressFamily: raw.AddressFamily.IPv4 });
const name = Buffer.from(`${ifname}\0`);
socket.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
socket.setOption(raw.SocketLevel.IPPROTO_IP, IP_HDRINCL, 1);

let n = 0;
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const p = JSON.parse(line) as { src: string; dst: string; ttl: number; hex: string };
  const i = n++;
  const bytes = vrrpIpPacket(Buffer.from(p.hex, "hex"), p.src, p.dst, p.ttl);
  socket.send(bytes, 0, bytes.length, p.dst, (error) => {
    process.stdout.write(error ? `error ${i} ${error.message}\n` : `sent ${i}\n`);
  });
});
lines.on("close", () => socket.close());
process.stdout.write("ready\n");
