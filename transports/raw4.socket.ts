/**
 * The IPv4 side of the raw transport (transports/raw.transport.ts): one `raw-socket` socket for IP
 * protocol 112 with IP_HDRINCL, bound to its interface, multicast TTL 255 and loop off, groups joined
 * with ip_mreqn on the interface. Receiving reads adaptively (see `openIpv4Socket`) and parses the
 * IPv4 header with `parseIpv4Rx`; sending builds the header as keepalived does. Not pure: the edge to
 * the kernel.
 */
import raw from "raw-socket";
import { encodeIpv4Packet } from "../src/protocol/ipv4.ts";
import { Ipv4Names, isParseFailure, parseIpv4Rx, VRRP_PROTOCOL } from "./ip-header.ts";
import { ifIndex, type Libc } from "./libc.ffi.ts";
import { interfaceAddress, type SharedSocketIo, type SocketEvent } from "./raw.transport.ts";

const RECV_BUFFER_BYTES = 4096;
/** Datagrams read per socket readiness at most (then the event loop runs other work). */
const RECV_BATCH = 64;
const WAKEUP = { kind: "wakeups", loop: true } as const;
const EMPTY_READ = { kind: "emptyReads", loop: true } as const;
/** A wake-up this soon after the previous one ended means datagrams are queueing (see openIpv4Socket). */
const BURST_GAP_MS = 0.05;

/** The part of raw-socket's native wrapper the receive loop uses (`Socket.wrap`, an EventEmitter). */
interface RawSocketWrap {
  recv(buffer: Buffer, onDatagram: (buffer: Buffer, length: number, source: string) => void): void;
  on(event: "recvReady", listener: () => void): void;
  removeAllListeners(event: "recvReady"): void;
}

/** raw-socket throws strerror(errno) text: EAGAIN / EWOULDBLOCK means the socket is drained. */
const isWouldBlock = (e: unknown): boolean =>
  e instanceof Error && e.message === "Resource temporarily unavailable";

/** IPv4 shared socket through `raw-socket` with IP_HDRINCL. */
export function openIpv4Socket(libc: Libc, ifname: string, emit: (e: SocketEvent) => void): SharedSocketIo {
  const ifindex = ifIndex(libc, ifname);
  if (ifindex === 0) throw new Error(`no interface ${ifname}`);
  const sock = raw.createSocket({
    protocol: VRRP_PROTOCOL,
    addressFamily: raw.AddressFamily.IPv4,
    bufferSize: RECV_BUFFER_BYTES,
  });
  const IP = raw.SocketLevel.IPPROTO_IP;
  const name = Buffer.from(`${ifname}\0`);
  sock.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
  sock.setOption(IP, raw.SocketOption.IP_HDRINCL, 1);
  sock.setOption(IP, 33 /* IP_MULTICAST_TTL */, 255);
  sock.setOption(IP, 34 /* IP_MULTICAST_LOOP */, 0);
  const joined = new Set<string>();
  // Adaptive reads. raw-socket reads one datagram per poll wake-up; under a burst that is one
  // event-loop callback (and epoll round) per datagram. Draining the socket on each wake-up instead
  // costs a recvfrom that finds it empty, which raw-socket reports by throwing (≈ 3–5 µs): a loss
  // when adverts arrive one at a time. So: one datagram per wake-up, until a wake-up follows the end
  // of the previous one within BURST_GAP_MS (datagrams are queueing: level-triggered poll woke us at
  // once); then drain up to RECV_BATCH per wake-up, until a drain finds a single datagram.
  const wrap = (sock as unknown as { wrap: RawSocketWrap }).wrap;
  const buffer = Buffer.alloc(RECV_BUFFER_BYTES);
  const names = new Ipv4Names();
  const onDatagram = (_b: Buffer, length: number): void => {
    if (length >= RECV_BUFFER_BYTES) {
      emit({ kind: "oversized" });
      return;
    }
    const ip = parseIpv4Rx(buffer.subarray(0, length), names);
    if (isParseFailure(ip)) {
      emit({ kind: "truncated" });
      return;
    }
    if (ip.protocol !== VRRP_PROTOCOL) {
      emit({ kind: "notVrrp" });
      return;
    }
    emit({
      kind: "packet",
      packet: {
        // A copy: the receive buffer is reused by the next recvfrom.
        bytes: new Uint8Array(buffer.subarray(ip.payloadStart, ip.payloadEnd)),
        src: ip.src,
        dst: ip.dst,
        ttl: ip.ttl,
        ifindex,
        ipPayloadLength: ip.payloadEnd - ip.payloadStart,
      },
    });
  };
  wrap.removeAllListeners("recvReady");
  let draining = false;
  let lastEndMs = Number.NEGATIVE_INFINITY;
  wrap.on("recvReady", () => {
    emit(WAKEUP);
    if (performance.now() - lastEndMs < BURST_GAP_MS) draining = true;
    const limit = draining ? RECV_BATCH : 1;
    let read = 0;
    for (; read < limit; read++) {
      try {
        wrap.recv(buffer, onDatagram);
      } catch (e) {
        emit(isWouldBlock(e) ? EMPTY_READ : { kind: "socketErrors" });
        break;
      }
    }
    if (draining && read < 2) draining = false;
    lastEndMs = performance.now();
  });
  sock.on("error", () => emit({ kind: "socketErrors" }));
  return {
    join(group) {
      if (joined.has(group)) return;
      // struct ip_mreqn { imr_multiaddr; imr_address = any; imr_ifindex }
      const mreq = Buffer.alloc(12);
      Buffer.from(group.split(".").map(Number)).copy(mreq, 0);
      mreq.writeInt32LE(ifindex, 8);
      sock.setOption(IP, 35 /* IP_ADD_MEMBERSHIP */, mreq, 12);
      sock.setOption(IP, 32 /* IP_MULTICAST_IF */, mreq, 12);
      joined.add(group);
    },
    send(out, src, ipId, onError) {
      const source = src ?? interfaceAddress(ifname, 4);
      if (source === undefined) return onError(new Error(`${ifname} has no IPv4 address to send from`));
      const packet = encodeIpv4Packet(
        { tos: 0xc0, ttl: out.ttl, id: ipId, protocol: VRRP_PROTOCOL, src: source, dst: out.dst },
        out.bytes,
      );
      sock.send(packet, 0, packet.length, out.dst, (error) => {
        if (error !== null) onError(error);
      });
    },
    close() {
      sock.close();
    },
  };
}
