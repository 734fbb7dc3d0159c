/**
 * The IPv6 side of the raw transport: a raw ICMPv6-less socket for IP protocol 112 opened through
 * libc (koffi), because `raw-socket` cannot return ancillary data and VRRP needs the hop limit.
 * Options as keepalived sets them: traffic class 0xc0, IPV6_CHECKSUM at offset 6 (the kernel writes the VRRPv3
 * checksum on send and drops bad ones on receive), bound to the interface, multicast hop limit 255,
 * loop off, IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO for the hop limit, destination and interface
 * of each datagram, SO_TIMESTAMPNS for its arrival time (libc.ffi.ts `ReceiveTimes`). Sends use
 * `sendmsg` with IPV6_HOPLIMIT (unicast_ttl) and, when a source is given, IPV6_PKTINFO. Not pure:
 * the edge to the kernel.
 */
import { formatIpv6 } from "../src/protocol/address.ts";
import { addressOrThrow, VRRP_PROTOCOL } from "./ip-header.ts";
import {
  AF_INET6,
  bindToDevice,
  check,
  controlMessages,
  EAGAIN,
  IPPROTO_IPV6,
  IPV6_CHECKSUM,
  IPV6_HOPLIMIT,
  IPV6_JOIN_GROUP,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_PKTINFO,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  IPV6_TCLASS,
  IPV6_UNICAST_HOPS,
  ifIndex,
  kernelStampUs,
  type Libc,
  lastErrno,
  MmsgBuffers,
  MSG_DONTWAIT,
  MSG_TRUNC,
  MsgBuffers,
  PollLoop,
  type ReceiveTimes,
  SO_TIMESTAMPNS,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_SOCKET,
  setIntOption,
} from "./libc.ffi.ts";
import type { SharedSocketIo, SocketEvent } from "./raw.transport.ts";
import { READ_PENDING_MAX } from "./transport.ts";

const RECV_BYTES = 4096;
/** Datagrams one `recvmmsg` reads at most. */
const RECV_VECTOR = 16;
/** Room for the three control messages asked for: hop limit (24), packet info (40), time (32). */
const RECV_CONTROL_BYTES = 128;
const SEND_BYTES = 65_535;

/** struct sockaddr_in6 (28 bytes). */
function sockaddrIn6(address: string, scopeId: number): Uint8Array {
  const b = new Uint8Array(28);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_INET6, true);
  b.set(addressOrThrow(address, 6), 8);
  v.setUint32(24, scopeId, true);
  return b;
}

export function openIpv6Socket(
  libc: Libc,
  ifname: string,
  emit: (e: SocketEvent) => void,
  times: ReceiveTimes,
): SharedSocketIo {
  const ifindex = ifIndex(libc, ifname);
  if (ifindex === 0) throw new Error(`no interface ${ifname}`);
  const fd = check(
    libc,
    "socket(AF_INET6, SOCK_RAW, 112)",
    libc.socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_PROTOCOL),
  );
  const rx = new MmsgBuffers(RECV_VECTOR, RECV_BYTES, 28, RECV_CONTROL_BYTES);
  const tx = new MsgBuffers(SEND_BYTES);
  const poller = new PollLoop(libc);
  try {
    bindToDevice(libc, fd, ifname);
    setIntOption(libc, fd, IPPROTO_IPV6, IPV6_CHECKSUM, 6);
    setIntOption(libc, fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
    setIntOption(libc, fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    setIntOption(libc, fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255);
    setIntOption(libc, fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255);
    setIntOption(libc, fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
    setIntOption(libc, fd, IPPROTO_IPV6, IPV6_TCLASS, 0xc0); // as keepalived: network control
    setIntOption(libc, fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex);
    setIntOption(libc, fd, SOL_SOCKET, SO_TIMESTAMPNS, 1); // each datagram's arrival time (ReceiveTimes)
  } catch (error) {
    libc.close(fd);
    throw error;
  }
  const joined = new Set<string>();
  let open = true;

  const onReadFailed = (errno: number): void => {
    if (errno !== EAGAIN) emit({ kind: "socketErrors" });
  };
  /** Reads until the socket is empty, or `limit` datagrams (a vector's more at most). */
  const drain = (limit = Number.POSITIVE_INFINITY): void => {
    if (!open) return;
    times.begin();
    rx.drain(libc, fd, limit, onDatagram, onReadFailed);
  };
  /** Datagram `i` of the last read, checked and handed on. */
  const onDatagram = (i: number): void => {
    const n = rx.length(i);
    if ((rx.flags(i) & MSG_TRUNC) !== 0 || n >= RECV_BYTES) {
      emit({ kind: "oversized" });
      return;
    }
    const control = rx.control[i] as Uint8Array;
    const controlLen = rx.controlLen(i);
    let ttl = -1;
    let dst = "";
    let rxIfindex = ifindex;
    for (const c of controlMessages(control, controlLen)) {
      if (c.level !== IPPROTO_IPV6) continue;
      if (c.type === IPV6_HOPLIMIT && c.data.length >= 4)
        ttl = new DataView(c.data.buffer, c.data.byteOffset).getInt32(0, true);
      if (c.type === IPV6_PKTINFO && c.data.length >= 20) {
        dst = formatIpv6(c.data, 0);
        rxIfindex = new DataView(c.data.buffer, c.data.byteOffset).getUint32(16, true);
      }
    }
    if (ttl < 0 || dst === "") {
      emit({ kind: "truncated" });
      return;
    }
    emit({
      kind: "packet",
      packet: {
        bytes: (rx.data[i] as Uint8Array).slice(0, n),
        src: formatIpv6(rx.name[i] as Uint8Array, 8),
        dst,
        ttl,
        ifindex: rxIfindex,
        rxAtUs: times.toClockUs(kernelStampUs(rx.controlView[i] as DataView, controlLen)),
      },
    });
  };
  poller.add(fd, () => drain());

  return {
    readPending: () => drain(READ_PENDING_MAX),
    join(group) {
      if (joined.has(group)) return;
      const mreq = new Uint8Array(20);
      mreq.set(addressOrThrow(group, 6), 0);
      new DataView(mreq.buffer).setUint32(16, ifindex, true);
      check(libc, `IPV6_JOIN_GROUP ${group}`, libc.setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq, 20));
      joined.add(group);
    },
    send(out, src, _ipId, onError) {
      const n = Math.min(out.bytes.length, SEND_BYTES);
      tx.data.set(out.bytes.subarray(0, n));
      tx.name.set(sockaddrIn6(out.dst, ifindex));
      // cmsg IPV6_HOPLIMIT (16 + 4 → 24 aligned), then optional IPV6_PKTINFO (16 + 20 → 40 aligned).
      const c = new DataView(tx.control.buffer, tx.control.byteOffset, tx.control.byteLength);
      tx.control.fill(0, 0, 64);
      c.setBigUint64(0, 20n, true);
      c.setInt32(8, IPPROTO_IPV6, true);
      c.setInt32(12, IPV6_HOPLIMIT, true);
      c.setInt32(16, out.ttl, true);
      let controlLen = 24;
      if (src !== undefined) {
        c.setBigUint64(24, 36n, true);
        c.setInt32(32, IPPROTO_IPV6, true);
        c.setInt32(36, IPV6_PKTINFO, true);
        tx.control.set(addressOrThrow(src, 6), 40);
        c.setUint32(56, ifindex, true);
        controlLen = 64;
      }
      const rc = libc.sendmsg(fd, tx.prepare(n, 28, controlLen), MSG_DONTWAIT);
      if (rc < 0) onError(new Error(`sendmsg to ${out.dst}: ${libc.strerror(lastErrno())}`));
    },
    close() {
      if (!open) return;
      open = false;
      poller.remove(fd);
      libc.close(fd);
      rx.free(); // after the read in progress, if any (MmsgBuffers.drain)
      tx.free();
    },
  };
}
