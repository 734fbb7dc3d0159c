/**
 * Sends a list of hand-made VRRP datagrams once each, in order, from a lab namespace (run with tsx by
 * test/netns/receive-counters.test.ts): argv[2] is JSON `{ifname, src, gapMs, packets: [{src?, dst,
 * ttl, hex}]}`, each `hex` a VRRP payload put behind an IPv4 header of our own (IP_HDRINCL: the
 * kernel fills the checksum, id and total length), `gapMs` apart. Prints one JSON line `{"sent": N, "errors": E}`.
 * Sends only to the addresses it is given (the test gives 198.18.0.0/15 and 224.0.0.18). Not pure.
 */
import raw from "raw-socket";
import { IP_HDRINCL, vrrpIpPacket } from "./ip-packet.ts";

interface Plan {
  readonly ifname: string;
  readonly src: string;
  readonly gapMs: number;
  /** `src`: the IPv4 source address (default the plan's). */
  readonly packets: ReadonlyArray<{
    readonly src?: string;
    readonly dst: string;
    readonly ttl: number;
    readonly hex: string;
  }>;
}

const plan = JSON.parse(process.argv[2] ?? "{}") as Plan;
const socket = raw.createSocket({ protocol: 112, addressFamily: raw.AddressFamily.IPv4 });
const name = Buffer.from(`${plan.ifname}\0`);
socket.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
socket.setOption(raw.SocketLevel.IPPROTO_IP, IP_HDRINCL, 1);

let sent = 0;
let errors = 0;
const next = (i: number): void => {
  const p = plan.packets[i];
  if (p === undefined) {
    console.log(JSON.stringify({ sent, errors }));
    socket.close();
    return;
  }
  const bytes = vrrpIpPacket(Buffer.from(p.hex, "hex"), p.src ?? plan.src, p.dst, p.ttl);
  socket.send(bytes, 0, bytes.length, p.dst, (error) => {
    if (error) errors++;
    else sent++;
    setTimeout(() => next(i + 1), plan.gapMs);
  });
};
next(0);
