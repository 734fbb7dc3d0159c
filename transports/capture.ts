/**
 * Passive capture of VRRP packets on an interface (or all interfaces), the way tcpdump sees them:
 * an AF_PACKET / SOCK_DGRAM socket (through koffi) delivers every IPv4 and IPv6 packet that
 * crosses the interface — multicast and unicast, addressed to this host or not, incoming and
 * outgoing — without joining any group, so it shows what is really on the wire. A classic BPF
 * filter keeps only IP protocol 112 in the kernel (the check is repeated in user space, for
 * packets queued before the filter was attached). Used by `vigil sniff`; needs CAP_NET_RAW.
 * Not pure: the edge to the kernel.
 */
import { Observable } from "rxjs";
import {
  type IpPacket,
  type IpParseFailure,
  isParseFailure,
  parseIpv4,
  parseIpv6,
  VRRP_PROTOCOL,
} from "./ip-header.ts";
import {
  AF_PACKET,
  attachFilter,
  check,
  EAGAIN,
  ETH_P_ALL,
  ETH_P_IP,
  ETH_P_IPV6,
  ifIndex,
  ifName,
  lastErrno,
  loadLibc,
  MSG_DONTWAIT,
  MSG_TRUNC,
  PACKET_OUTGOING,
  PollLoop,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
} from "./libc.ffi.ts";

export interface CapturedPacket {
  /** The parsed IP packet, or why it could not be parsed (truncated capture, bad lengths). */
  readonly ip: IpPacket | IpParseFailure;
  readonly ifindex: number;
  readonly ifname: string;
  readonly outgoing: boolean;
  /** Bytes captured (the whole IP packet). */
  readonly length: number;
}

const SNAP_BYTES = 65536;

/** BPF: accept IPv4 or IPv6 packets whose protocol / next header is 112, drop the rest. */
function vrrpFilter(): Uint8Array {
  // {code u16, jt u8, jf u8, k u32}
  const prog: [number, number, number, number][] = [
    [0x28, 0, 0, 0xfffff000], // ldh skb->protocol (SKF_AD_OFF + SKF_AD_PROTOCOL)
    [0x15, 0, 2, ETH_P_IP], // jeq IPv4 ? next : 4
    [0x30, 0, 0, 9], // ldb [9] (IPv4 protocol)
    [0x15, 3, 4, VRRP_PROTOCOL], // jeq 112 ? accept : drop
    [0x15, 0, 3, ETH_P_IPV6], // jeq IPv6 ? next : drop
    [0x30, 0, 0, 6], // ldb [6] (IPv6 next header)
    [0x15, 0, 1, VRRP_PROTOCOL], // jeq 112 ? accept : drop
    [0x06, 0, 0, SNAP_BYTES], // ret accept
    [0x06, 0, 0, 0], // ret drop
  ];
  const b = new Uint8Array(8 * prog.length);
  const v = new DataView(b.buffer);
  prog.forEach(([code, jt, jf, k], i) => {
    v.setUint16(8 * i, code, true);
    v.setUint8(8 * i + 2, jt);
    v.setUint8(8 * i + 3, jf);
    v.setUint32(8 * i + 4, k, true);
  });
  return b;
}

/**
 * Captures VRRP packets on `ifname` (undefined = every interface). Subscribing opens the socket;
 * unsubscribing closes it. Errors (no such interface, no permission) arrive as an Observable error.
 */
export function captureVrrp(ifname: string | undefined): Observable<CapturedPacket> {
  return new Observable<CapturedPacket>((subscriber) => {
    const libc = loadLibc();
    const protoAll = ((ETH_P_ALL & 0xff) << 8) | (ETH_P_ALL >> 8); // htons
    let fd = -1;
    try {
      fd = check(
        libc,
        "socket(AF_PACKET)",
        libc.socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protoAll),
      );
      attachFilter(libc, fd, vrrpFilter());
      if (ifname !== undefined) {
        const index = ifIndex(libc, ifname);
        if (index === 0) throw new Error(`no such interface: ${ifname}`);
        const sll = new Uint8Array(20);
        const v = new DataView(sll.buffer);
        v.setUint16(0, AF_PACKET, true);
        v.setUint16(2, ETH_P_ALL, false);
        v.setInt32(4, index, true);
        check(libc, `bind(${ifname})`, libc.bind(fd, sll, 20));
      }
    } catch (error) {
      if (fd >= 0) libc.close(fd);
      subscriber.error(error);
      return;
    }
    const buf = new Uint8Array(SNAP_BYTES);
    const sll = new Uint8Array(20);
    const sllLen = new Uint8Array(4);
    const names = new Map<number, string>();
    const drain = (): void => {
      while (!subscriber.closed) {
        new DataView(sllLen.buffer).setUint32(0, 20, true);
        const n = libc.recvfrom(fd, buf, SNAP_BYTES, MSG_DONTWAIT | MSG_TRUNC, sll, sllLen);
        if (n < 0) {
          if (lastErrno() !== EAGAIN) subscriber.error(new Error(`recvfrom: ${libc.strerror(lastErrno())}`));
          return;
        }
        const v = new DataView(sll.buffer);
        const proto = v.getUint16(2, false);
        const index = v.getInt32(4, true);
        const bytes = buf.slice(0, Math.min(n, SNAP_BYTES));
        const ip =
          proto === ETH_P_IP ? parseIpv4(bytes) : proto === ETH_P_IPV6 ? parseIpv6(bytes) : undefined;
        if (ip === undefined || (!isParseFailure(ip) && ip.protocol !== VRRP_PROTOCOL)) continue;
        let name = names.get(index);
        if (name === undefined) {
          name = ifName(libc, index) ?? `if${index}`;
          names.set(index, name);
        }
        subscriber.next({
          ip,
          ifindex: index,
          ifname: name,
          outgoing: sll[10] === PACKET_OUTGOING,
          length: n,
        });
      }
    };
    const poller = new PollLoop(libc);
    poller.add(fd, drain);
    return () => {
      poller.remove(fd);
      libc.close(fd);
    };
  });
}
