/**
 * The UDP transport (a Vigil extension): the same VRRP messages as on the wire, carried in UDP
 * datagrams over `node:dgram`, for hosts without CAP_NET_RAW or IP protocol 112 (containers, some
 * clouds, non-root users). One transport per (interface, family, port), shared by every instance on
 * it; the runtime demultiplexes by VRID.
 *
 * Sockets: a unicast socket bound to (local address, port) sends everything and receives unicast; when
 * a multicast group is configured, a second socket bound to (group, port) joins the group on the
 * interface and receives only datagrams sent to the group. Binding each socket to its destination is
 * how the transport knows a datagram's destination address (dgram has no IP_PKTINFO), which the v3
 * checksum and the multicast-vs-unicast check need. Multicast TTL / hop limit 255 and multicast
 * loopback off (on only for single-host tests); unicast TTL from each `Outbound`.
 *
 * dgram cannot show the received TTL: datagrams carry `ttl: 255, ttlObserved: false` and validation
 * skips the TTL check for UDP. The source of sent datagrams is always the bound address (an
 * `Outbound.src` that differs is ignored; the runtime should checksum with the bound address).
 * Socket errors and oversized datagrams are counted in `stats`, never fatal. `readPending` reads
 * the sockets synchronously before a down timer fires (see UdpTransport). Not pure (sockets).
 *
 * A receiver from the shell (prints one JSON line per datagram; see `udp.receiver.ts`):
 *   npx tsx transports/udp.receiver.ts --bind 198.18.0.2 --port 5112 --group 224.0.0.18 --count 3
 */
import dgram from "node:dgram";
import { Subject } from "rxjs";
import { DEFAULT_UDP_PORT } from "../src/config/types.ts";
import { formatIpv4, formatIpv6, isMulticastAddress } from "../src/protocol/address.ts";
import type { Clock } from "../src/runtime/clock.ts";
import { type Datagram, type Family, type Outbound, READ_PENDING_MAX, type Transport } from "./transport.ts";

type Ffi = typeof import("./libc.ffi.ts");

/** Default UDP port of the Vigil UDP transport: the config's `vigil_transport udp` default (both ends must agree). */
export const VIGIL_UDP_DEFAULT_PORT = DEFAULT_UDP_PORT;
/** Largest VRRP message: 8 + 255 × 16 bytes (v3 IPv6); anything larger is counted and dropped. */
export const VRRP_MAX_MESSAGE = 8 + 255 * 16;

export interface UdpTransportOptions {
  readonly clock: Clock;
  readonly family: Family;
  /** Interface name reported in datagrams (and, for IPv6, the scope of the group join). */
  readonly ifname: string;
  readonly ifindex?: number;
  /** Local unicast address to bind and send from (IPv4, or IPv6 — link-local needs the interface). */
  readonly localAddress: string;
  readonly port?: number;
  /** Multicast group to join and receive on (224.0.0.18, vrrp_mcast_group4, ff02::12); none = unicast only. */
  readonly group?: string;
  /** Deliver our own multicast back to this host (only for tests of several transports on one host). */
  readonly multicastLoopback?: boolean;
}

export interface UdpStats {
  received: number;
  sent: number;
  oversized: number;
  sendErrors: number;
  socketErrors: number;
}

export interface UdpTransport extends Transport {
  readonly stats: Readonly<UdpStats>;
  /** The bound port (useful with port 0). */
  readonly port: number;
  /**
   * Reads what waits in the sockets now (`Transport.readPending`): a non-blocking `recvfrom` through
   * libc on each socket's descriptor, which node:dgram does not expose — it is the one datagram
   * socket of the family that binding the socket created. Without koffi, or with that descriptor
   * not told apart, nothing is read here and the event loop alone reads, as before.
   */
  readPending(): void;
}

const bindSocket = (socket: dgram.Socket, port: number, address: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    socket.once("error", onError);
    socket.bind({ port, address, exclusive: false }, () => {
      socket.off("error", onError);
      resolve();
    });
  });

/** Opens the sockets; resolves when bound (and joined). Rejects if binding fails. */
export async function openUdpTransport(options: UdpTransportOptions): Promise<UdpTransport> {
  const { clock, family, ifname, localAddress } = options;
  const type = family === 4 ? "udp4" : "udp6";
  const scoped = family === 6 && localAddress.toLowerCase().startsWith("fe80") && !localAddress.includes("%");
  const bindLocal = scoped ? `${localAddress}%${ifname}` : localAddress;
  const stats: UdpStats = { received: 0, sent: 0, oversized: 0, sendErrors: 0, socketErrors: 0 };
  const inbound = new Subject<Datagram>();
  const sockets: dgram.Socket[] = [];
  let closed = false;
  // The libc side of `readPending` (optional: the transport works without it).
  const ffi = await import("./libc.ffi.ts").catch(() => undefined);
  let libc: ReturnType<Ffi["loadLibc"]> | undefined;
  try {
    libc = ffi?.loadLibc();
  } catch {
    libc = undefined;
  }
  const readers: Array<{ readonly fd: number; readonly dst: string }> = [];
  const fdsBefore = (): ReadonlySet<number> =>
    libc === undefined || ffi === undefined ? new Set() : ffi.socketFds();
  const noteFd = (before: ReadonlySet<number>, dst: string): void => {
    if (libc === undefined || ffi === undefined) return;
    const domain = family === 4 ? ffi.AF_INET : ffi.AF_INET6;
    const fd = ffi.newSocketFd(libc, before, { domain, type: ffi.SOCK_DGRAM });
    if (fd !== undefined) readers.push({ fd, dst });
  };

  let before = fdsBefore();
  const unicast = dgram.createSocket({ type, reuseAddr: true });
  sockets.push(unicast);
  await bindSocket(unicast, options.port ?? VIGIL_UDP_DEFAULT_PORT, bindLocal);
  const port = unicast.address().port;
  noteFd(before, localAddress);

  const deliver = (msg: Uint8Array, from: string, fromPort: number, dst: string): void => {
    const src = from.replace(/%.*$/, "");
    if (src === localAddress && fromPort === port) return; // our own multicast looped back
    if (msg.length > VRRP_MAX_MESSAGE) {
      stats.oversized++;
      return;
    }
    stats.received++;
    inbound.next({
      bytes: msg.slice(),
      family,
      src,
      dst,
      ttl: 255,
      ttlObserved: false,
      ifname,
      rxAtUs: clock.nowUs(),
      ...(options.ifindex !== undefined ? { ifindex: options.ifindex } : {}),
    });
  };
  const listen = (socket: dgram.Socket, dst: string): void => {
    socket.on("error", () => {
      stats.socketErrors++;
    });
    socket.on("message", (msg, rinfo) =>
      deliver(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), rinfo.address, rinfo.port, dst),
    );
  };
  listen(unicast, localAddress);

  try {
    unicast.setMulticastTTL(255);
    unicast.setMulticastLoopback(options.multicastLoopback === true);
    if (options.group !== undefined) {
      unicast.setMulticastInterface(family === 4 ? localAddress : `::%${ifname}`);
      before = fdsBefore();
      const group = dgram.createSocket({ type, reuseAddr: true });
      sockets.push(group);
      await bindSocket(group, port, family === 4 ? options.group : `${options.group}%${ifname}`);
      noteFd(before, options.group);
      group.addMembership(options.group, family === 4 ? localAddress : `::%${ifname}`);
      listen(group, options.group);
    }
  } catch (e) {
    for (const s of sockets) s.close();
    throw e;
  }

  const send = (out: Outbound): void => {
    if (closed) return;
    const multicast = isMulticastAddress(out.dst);
    try {
      if (!multicast) unicast.setTTL(Math.max(1, Math.min(255, out.ttl)));
      else if (out.ttl !== 255) unicast.setMulticastTTL(out.ttl);
    } catch {
      stats.sendErrors++;
      return;
    }
    const dst = family === 6 && out.dst.toLowerCase().startsWith("fe80") ? `${out.dst}%${ifname}` : out.dst;
    unicast.send(out.bytes, port, dst, (err) => {
      if (err) stats.sendErrors++;
      else stats.sent++;
    });
    if (multicast && out.ttl !== 255) unicast.setMulticastTTL(255);
  };

  // struct sockaddr_in6 is the larger; one datagram of any size (the oversized are counted, as above)
  const rxBuf = new Uint8Array(65_536);
  const nameBuf = new Uint8Array(28);
  const nameLen = new Uint8Array(4);
  const readPending = (): void => {
    if (closed || libc === undefined || ffi === undefined) return;
    for (const r of readers) {
      for (let read = 0; read < READ_PENDING_MAX; read++) {
        new DataView(nameLen.buffer).setUint32(0, nameBuf.length, true);
        const n = libc.recvfrom(r.fd, rxBuf, rxBuf.length, ffi.MSG_DONTWAIT, nameBuf, nameLen);
        if (n < 0) break; // empty (EAGAIN) or an error the socket's own reader reports
        const view = new DataView(nameBuf.buffer);
        const fromPort = view.getUint16(2, false);
        const from =
          view.getUint16(0, true) === ffi.AF_INET ? formatIpv4(nameBuf, 4) : formatIpv6(nameBuf, 8);
        deliver(rxBuf.subarray(0, n), from, fromPort, r.dst);
      }
    }
  };

  return {
    inbound$: inbound.asObservable(),
    send,
    stats,
    port,
    readPending,
    close: () => {
      if (closed) return;
      closed = true;
      for (const s of sockets) s.close();
      inbound.complete();
    },
  };
}
