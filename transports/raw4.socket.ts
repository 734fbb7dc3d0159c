/**
 * The IPv4 side of the raw transport (transports/raw.transport.ts): one `raw-socket` socket for IP
 * protocol 112 with IP_HDRINCL, bound to its interface, multicast TTL 255 and loop off, groups joined
 * with ip_mreqn on the interface. Receiving reads with `recvmmsg` (see `openIpv4Socket`), parses the
 * IPv4 header with `parseIpv4Rx` in place and interns the message (rx-intern.ts); sending builds the
 * header as keepalived does and sends it with `sendto` on the same descriptor at the end of the
 * current event-loop callback (raw4.send.ts).
 * Not pure: the edge to the kernel.
 */
import raw, { type Socket as RawSocket } from "raw-socket";
import { IP_TOS_NETWORK_CONTROL, IPV4_HEADER_LENGTH, writeIpv4Header } from "../src/protocol/ipv4.ts";
import { Ipv4Names, isParseFailure, parseIpv4Rx, VRRP_PROTOCOL } from "./ip-header.ts";
import {
  AF_INET,
  attachFilter,
  EAGAIN,
  ifIndex,
  kernelStampUs,
  type Libc,
  lastErrno,
  MmsgBuffers,
  MSG_DONTWAIT,
  newSocketFd,
  type ReceiveTimes,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_TIMESTAMPNS,
  SOCK_RAW,
  SOL_SOCKET,
  setIntOption,
  socketFds,
} from "./libc.ffi.ts";
import { interfaceAddress, type SharedSocketIo, type SocketEvent } from "./raw.transport.ts";
import { DirectSender, type SendBatch } from "./raw4.send.ts";
import { RxInterner } from "./rx-intern.ts";
import { doorbellProgram, type SteadyEntry, sameAdvert, steadyEntry } from "./steady-filter.ts";
import { READ_PENDING_MAX } from "./transport.ts";

const RECV_BUFFER_BYTES = 4096;
/** Room for the one control message asked for, SCM_TIMESTAMPNS (16 + 16 bytes). */
const RECV_CONTROL_BYTES = 64;
/** An IPv4 datagram's largest total length. */
const SEND_BUFFER_BYTES = 65_535;
/** Datagrams read per socket readiness at most (then the event loop runs other work). */
const RECV_BATCH = 64;
/** Datagrams one `recvmmsg` reads at most (each with its own RECV_BUFFER_BYTES buffer). */
const RECV_VECTOR = 16;
/** The doorbell's buffers: what it keeps of a datagram is never looked at. */
const DOORBELL_BYTES = 128;
const WAKEUP = { kind: "wakeups", loop: true } as const;
const EMPTY_READ = { kind: "emptyReads", loop: true } as const;
const DIRECT_READ = { kind: "directReads", loop: true } as const;
const DIRECT_SEND = { kind: "directSends", loop: true } as const;
const DOORBELL = { kind: "doorbells", loop: true } as const;

/**
 * Doorbell mode (steady-filter.ts). The queue's receive buffer, so that it holds what arrives
 * between two reads (SO_RCVBUFFORCE, else SO_RCVBUF up to net.core.rmem_max).
 */
const DEFERRED_QUEUE_BYTES = 4 * 1024 * 1024;
/** New steady entries are put in the filter together, this long after the first of them. */
const FILTER_BATCH_MS = 20;

const ignore = (): void => {};
/** Byte `i` of a lowercase hex text (−1 past its end), without a substring. */
const hexByte = (hex: string, i: number): number =>
  hex.length < 2 * i + 2 ? -1 : (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1));
const nibble = (c: number): number => (c <= 57 ? c - 48 : c - 87);

/** The part of raw-socket's native wrapper the receive loop uses (`Socket.wrap`, an EventEmitter). */
interface RawSocketWrap {
  recv(buffer: Buffer, onDatagram: (buffer: Buffer, length: number, source: string) => void): void;
  removeAllListeners(event: "recvReady"): void;
  /** The native side calls `wrap.emit("recvReady")` on each readiness (EventEmitter's, inherited). */
  emit(event: string, ...args: unknown[]): boolean;
}

/** raw-socket throws strerror(errno) text: EAGAIN / EWOULDBLOCK means the socket is drained. */
const isWouldBlock = (e: unknown): boolean =>
  e instanceof Error && e.message === "Resource temporarily unavailable";

/**
 * The descriptor of the raw-socket socket just opened: the one socket descriptor not in `before`, if
 * it is an AF_INET raw socket of protocol 112 — else undefined (the reads then go through raw-socket).
 */
export const rawSocketFd = (libc: Libc, before: ReadonlySet<number>): number | undefined =>
  newSocketFd(libc, before, { domain: AF_INET, type: SOCK_RAW, protocol: VRRP_PROTOCOL });

/** A `raw-socket` socket for IP protocol 112 and its descriptor (undefined when it cannot be identified). */
function createVrrpSocket(libc: Libc): { sock: RawSocket; fd: number | undefined } {
  const before = socketFds();
  const sock = raw.createSocket({
    protocol: VRRP_PROTOCOL,
    addressFamily: raw.AddressFamily.IPv4,
    bufferSize: RECV_BUFFER_BYTES,
  });
  return { sock, fd: rawSocketFd(libc, before) };
}

/**
 * IPv4 shared socket through `raw-socket` with IP_HDRINCL. `batch`: where sends wait for the end of
 * the current callback (shared by the pool's sockets); `times`: the datagrams' kernel receive times
 * on the node's clock.
 */
export function openIpv4Socket(
  libc: Libc,
  ifname: string,
  emit: (e: SocketEvent) => void,
  batch: SendBatch,
  times: ReceiveTimes,
  ring: () => void = () => {},
): SharedSocketIo {
  const ifindex = ifIndex(libc, ifname);
  if (ifindex === 0) throw new Error(`no interface ${ifname}`);
  const { sock, fd } = createVrrpSocket(libc);
  const IP = raw.SocketLevel.IPPROTO_IP;
  const name = Buffer.from(`${ifname}\0`);
  sock.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
  sock.setOption(IP, raw.SocketOption.IP_HDRINCL, 1);
  sock.setOption(IP, 33 /* IP_MULTICAST_TTL */, 255);
  sock.setOption(IP, 34 /* IP_MULTICAST_LOOP */, 0);
  sock.setOption(raw.SocketLevel.SOL_SOCKET, SO_TIMESTAMPNS, 1);
  const joined = new Set<string>();
  let closed = false;
  // Reads. raw-socket's own `recv` formats the source address (sprintf) and calls back into JS per
  // datagram, and reports an empty socket by throwing (≈ 6 µs); so the socket's descriptor is found
  // (`rawSocketFd`) and read through koffi with non-blocking `recvmmsg` calls, each of which takes
  // every datagram waiting (up to RECV_VECTOR) with its kernel receive time (`times`): one call per
  // wake-up for adverts that arrive one at a time, and no call that finds the socket empty after a
  // drain (a call that returns fewer than it asked for has emptied it). raw-socket still watches the
  // descriptor for readiness. If the descriptor cannot be identified, raw-socket reads as before
  // (until a read finds the socket empty), and a datagram's time is its read's.
  const wrap = (sock as unknown as { wrap: RawSocketWrap }).wrap;
  const buffer = Buffer.alloc(RECV_BUFFER_BYTES);
  const rx =
    fd === undefined ? undefined : new MmsgBuffers(RECV_VECTOR, RECV_BUFFER_BYTES, 0, RECV_CONTROL_BYTES);
  const names = new Ipv4Names();
  const interner = new RxInterner();
  const onDatagram = (data: Uint8Array, length: number, rxAtUs: number | undefined): void => {
    if (length >= RECV_BUFFER_BYTES) {
      emit({ kind: "oversized" });
      return;
    }
    const ip = parseIpv4Rx(data, names, length);
    if (isParseFailure(ip)) {
      emit({ kind: "truncated" });
      return;
    }
    if (ip.protocol !== VRRP_PROTOCOL) {
      emit({ kind: "notVrrp" });
      return;
    }
    // A remembered copy (the receive buffer is reused by the next read): no allocation for
    // a message seen before.
    const m = interner.intern(data, ip.payloadStart, ip.payloadEnd);
    emit({
      kind: "packet",
      packet: {
        bytes: m.bytes,
        hex: m.hex,
        src: ip.src,
        dst: ip.dst,
        ttl: ip.ttl,
        ifindex,
        ipPayloadLength: ip.payloadEnd - ip.payloadStart,
        rxAtUs,
      },
    });
  };
  const onRawSocketDatagram = (b: Buffer, length: number): void => onDatagram(b, length, undefined);
  wrap.removeAllListeners("recvReady");
  const onVectorDatagram = (i: number): void => {
    if (rx === undefined) return;
    emit(DIRECT_READ);
    const rxAtUs = times.toClockUs(kernelStampUs(rx.controlView[i] as DataView, rx.controlLen(i)));
    onDatagram(rx.data[i] as Uint8Array, rx.length(i), rxAtUs);
  };
  const onReadFailed = (errno: number): void =>
    emit(errno === EAGAIN ? EMPTY_READ : { kind: "socketErrors" });
  /**
   * Reads up to `limit` datagrams (a vector's more at most), fewer when the socket runs empty: how
   * many were read through the descriptor (raw-socket's own reads are not counted).
   */
  const readUpTo = (limit: number): number => {
    if (closed) return 0;
    if (fd === undefined || rx === undefined) {
      readEach(limit);
      return 0;
    }
    times.begin();
    return rx.drain(libc, fd, limit, onVectorDatagram, onReadFailed);
  };
  const readEach = (limit: number): void => {
    for (let read = 0; read < limit && !closed; read++) {
      try {
        wrap.recv(buffer, onRawSocketDatagram);
      } catch (e) {
        emit(isWouldBlock(e) ? EMPTY_READ : { kind: "socketErrors" });
        return;
      }
    }
  };
  const onRecvReady = (): void => {
    emit(WAKEUP);
    readUpTo(RECV_BATCH);
  };
  // Readiness straight to the handler: an own `emit` in front of EventEmitter's (which raw-socket's
  // native code looks up by name per wake-up), so a wake-up skips the generic emit; every other event
  // (sendReady, error, close) still goes through EventEmitter to raw-socket's listeners. raw-socket
  // calls it without the microtask checkpoint that ends a Node callback: what the handler's steps
  // sent is sent here, not at the next callback that has one (the batch's own flush is a microtask).
  const onReady = (w: RawSocketWrap, handler: () => void): void => {
    const emitEvent = w.emit;
    w.emit = function (this: RawSocketWrap, event: string, ...args: unknown[]): boolean {
      if (event === "recvReady") {
        try {
          handler();
        } finally {
          batch.flush();
        }
        return true;
      }
      return emitEvent.call(this, event, ...args);
    };
  };
  onReady(wrap, onRecvReady);

  // Doorbell mode (steady-filter.ts): entered with the first steady advert, when the descriptor is
  // known. The socket above is no longer watched; it queues every datagram and is read (by the pool,
  // every socket's queue together) when a doorbell rings, when the node asks (`readDeferred`,
  // `readPending`) and at the pool's period.
  const steady = new Map<number, SteadyEntry>();
  let bell: { sock: RawSocket; fd: number; rx: MmsgBuffers } | undefined;
  /** No doorbell (the descriptor unknown, or it could not open, or it failed): nothing waits on this socket. */
  let bellFailed = fd === undefined || rx === undefined;
  let filterDue: ReturnType<typeof setTimeout> | undefined;
  const discardBell = (): void => {
    if (bell !== undefined) bell.rx.drain(libc, bell.fd, Number.POSITIVE_INFINITY, ignore, ignore);
  };
  const onBell = (): void => {
    emit(DOORBELL);
    discardBell();
    ring(); // the queue is read (all of it: what rang is the newest datagram)
  };
  /** Opens the doorbell (a second raw socket of the interface, its filter keeping every datagram for now). */
  const openBell = (): boolean => {
    if (bell !== undefined) return true;
    if (bellFailed || closed || fd === undefined) return false;
    bellFailed = true; // until it opened: a failure leaves the socket watched as before
    const { sock: s, fd: bellFd } = createVrrpSocket(libc);
    if (bellFd === undefined) {
      s.close();
      return false;
    }
    try {
      s.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
      attachFilter(libc, bellFd, doorbellProgram([]));
      try {
        setIntOption(libc, fd, SOL_SOCKET, SO_RCVBUFFORCE, DEFERRED_QUEUE_BYTES);
      } catch {
        setIntOption(libc, fd, SOL_SOCKET, SO_RCVBUF, DEFERRED_QUEUE_BYTES);
      }
    } catch {
      s.close();
      return false;
    }
    const w = (s as unknown as { wrap: RawSocketWrap }).wrap;
    w.removeAllListeners("recvReady");
    onReady(w, onBell);
    // A doorbell that fails (raw-socket closes it): the socket is watched again, nothing waits.
    s.on("error", () => {
      emit({ kind: "socketErrors" });
      leaveDoorbell();
    });
    bell = { sock: s, fd: bellFd, rx: new MmsgBuffers(RECV_VECTOR, DOORBELL_BYTES, 0, 0) };
    bellFailed = false;
    sock.pauseRecv(); // from now on the doorbell wakes the process; the queue is read as above
    return true;
  };
  const leaveDoorbell = (): void => {
    if (bell === undefined || closed) return;
    bellFailed = true;
    steady.clear();
    bell.sock.close();
    bell.rx.free();
    bell = undefined;
    sock.resumeRecv();
    setImmediate(() => readUpTo(READ_PENDING_MAX)); // what waited in the queue
  };
  const putFilter = (): void => {
    if (filterDue !== undefined) {
      clearTimeout(filterDue);
      filterDue = undefined;
    }
    if (bell === undefined || closed) return;
    try {
      attachFilter(libc, bell.fd, doorbellProgram([...steady.values()]));
    } catch {
      // A filter the kernel refuses: the socket is watched again, nothing waits any more.
      emit({ kind: "socketErrors" });
      leaveDoorbell();
    }
  };
  sock.on("error", () => emit({ kind: "socketErrors" }));
  // Sends: sendto on the descriptor now, raw-socket's queue when it is unknown or full (raw4.send.ts).
  const onDirectSend = (): void => emit(DIRECT_SEND);
  const sender = new DirectSender(
    fd === undefined
      ? undefined
      : {
          sendto: (packet, address) =>
            libc.sendto(fd, packet, packet.length, MSG_DONTWAIT, address, address.length),
          errno: lastErrno,
          strerror: (errno) => libc.strerror(errno),
        },
    (packet, dst, done) => sock.send(packet, 0, packet.length, dst, (error) => done(error)),
  );
  // The header's fields, rewritten for each datagram (an object per advert sent was 80 bytes of garbage).
  const header = {
    tos: IP_TOS_NETWORK_CONTROL,
    ttl: 0,
    id: 0,
    protocol: VRRP_PROTOCOL,
    src: "",
    dst: "",
    payloadLength: 0,
  };
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
      // Header and message into the batch's arena, sent at the end of this callback (raw4.send.ts).
      // Throws here, as encodeIpv4Packet did, for a bad address, TTL or a total length over 65,535.
      const n = IPV4_HEADER_LENGTH + out.bytes.length;
      const packet = batch.reserve(Math.min(n, SEND_BUFFER_BYTES));
      header.ttl = out.ttl;
      header.id = ipId;
      header.src = source;
      header.dst = out.dst;
      header.payloadLength = out.bytes.length;
      writeIpv4Header(packet, 0, header);
      packet.set(out.bytes, IPV4_HEADER_LENGTH);
      batch.commit(sender, n, out.dst, onError, onDirectSend);
    },
    readPending() {
      discardBell();
      readUpTo(READ_PENDING_MAX);
    },
    deferring: () => !closed && bell !== undefined,
    // in doorbell mode the pool reads every socket's queue together, in arrival order (raw.transport.ts)
    readQueue: (limit) => {
      discardBell();
      return readUpTo(limit);
    },
    steady(a) {
      const vrid = hexByte(a.hex, 1);
      const known = steady.get(vrid);
      if (bellFailed || (known !== undefined && sameAdvert(known, a))) return;
      const e = steadyEntry(a);
      if (e === undefined || !openBell()) return;
      steady.set(e.vrid, e);
      filterDue ??= setTimeout(putFilter, FILTER_BATCH_MS);
    },
    unsteady(vrid) {
      if (!steady.delete(vrid)) return;
      putFilter();
      setImmediate(ring); // what the old filter let wait: next turn, not inside the step that changed it
    },
    unsteadyAll() {
      if (steady.size === 0) return;
      steady.clear();
      putFilter();
    },
    close() {
      if (closed) return;
      batch.flush(); // what was sent before the close leaves first
      closed = true;
      if (filterDue !== undefined) clearTimeout(filterDue);
      sock.close();
      rx?.free(); // after the read in progress, if any (MmsgBuffers.drain)
      if (bell !== undefined) {
        bell.sock.close();
        bell.rx.free();
      }
    },
  };
}
