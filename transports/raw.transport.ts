/**
 * The production VRRP transport: raw IP protocol 112, multicast and unicast_peer, IPv4 and IPv6.
 *
 * Like keepalived, there is one socket per (interface, family, mode), shared by every instance on
 * it and demultiplexed by VRID: `RawTransportPool.open(spec)` hands each instance a `Transport`
 * view; the pool's `inbound$(ifname, family, mode)` carries every VRID seen on that socket.
 *
 * - IPv4 (`raw4.socket.ts`) uses `raw-socket` with IP_HDRINCL: Vigil builds the header as keepalived does (TOS 0xc0,
 *   TTL 255 or unicast_ttl, DF clear, a per-instance IP id starting at 1 and skipping 0), and sends
 *   the datagrams of one event-loop callback together at its end (`raw4.send.ts`). The
 *   socket is bound to its interface (SO_BINDTODEVICE) and, in multicast mode, joins the group on it
 *   with multicast loop off; the receive path sees the IPv4 header (TTL, destination).
 * - IPv6 uses libc through koffi (`libc.ffi.ts`): IPV6_CHECKSUM at offset 6 (the kernel fills in
 *   and verifies the VRRPv3 checksum, as keepalived asks it to), hop limit and destination from
 *   IPV6_HOPLIMIT / IPV6_PKTINFO ancillary data, ff02::12 joined on the interface, hop limit 255.
 * - unicast_peer: the runtime sends one `Outbound` per peer (the v3 checksum covers the peer
 *   address, so each copy is encoded separately). A view with `checkUnicastSrc` (or any peer with
 *   min/max_ttl) drops adverts from non-peers or outside the TTL range and counts them.
 *
 * Receive times are the kernel's (SO_TIMESTAMPNS) carried onto the injected `Clock`, or the read's
 * time on it where there is none to trust (libc.ffi.ts `ReceiveTimes`). Malformed, truncated or
 * oversized datagrams are counted in `stats` and dropped, never fatal. Not pure: this is the edge
 * to the kernel.
 */
import { networkInterfaces } from "node:os";
import type { Observable } from "rxjs";
import { isMulticastAddress } from "../src/protocol/address.ts";
import type { Clock } from "../src/runtime/clock.ts";
import { Fanout } from "./fanout.ts";
import { type Libc, loadLibc, ReceiveTimes } from "./libc.ffi.ts";
import { SendBatch } from "./raw4.send.ts";
import { openIpv4Socket } from "./raw4.socket.ts";
import { openIpv6Socket } from "./raw6.socket.ts";
import type { SteadyAdvert } from "./steady-filter.ts";
import { type Datagram, type Family, type Outbound, READ_PENDING_MAX, type Transport } from "./transport.ts";

export type RawMode = "multicast" | "unicast";

export interface UnicastPeer {
  readonly address: string;
  readonly minTtl?: number;
  readonly maxTtl?: number;
}

/** What one VRRP instance needs from the wire. */
export interface RawInstanceSpec {
  readonly vrid: number;
  readonly ifname: string;
  readonly family: Family;
  readonly mode: RawMode;
  /** Multicast group (vrrp_mcast_group4/6, mcast_dst_ip); default 224.0.0.18 / ff02::12. */
  readonly group?: string;
  /** mcast_src_ip / unicast_src_ip; default the interface's primary IPv4 / link-local IPv6. */
  readonly src?: string;
  readonly peers?: readonly UnicastPeer[];
  readonly checkUnicastSrc?: boolean;
}

/** Counters of one shared socket (all its instances). */
export interface RawSocketStats {
  received: number;
  delivered: number;
  sent: number;
  sendErrors: number;
  /** IP header or lengths inconsistent with the bytes received. */
  truncated: number;
  /** Filled the receive buffer: possibly cut by the kernel. */
  oversized: number;
  notVrrp: number;
  unknownVrid: number;
  ttlRejected: number;
  srcRejected: number;
  /**
   * Addressed to the other mode's kind (unicast on the multicast socket or the reverse): each socket
   * is unbound and sees both, so it keeps only its own — what keepalived's bind to the group / the
   * unicast source does — else a host running both modes would take every datagram twice.
   */
  otherMode: number;
  /** Errors reported by the socket itself (receive failures). */
  socketErrors: number;
  /** Readiness wake-ups of the receive loop (IPv4; each reads one datagram, or up to RECV_BATCH in a burst). */
  wakeups: number;
  /** Reads that found the socket empty (IPv4: the end of a drained burst, or a spurious wake-up). */
  emptyReads: number;
  /** IPv4: datagrams read with libc's recvmsg on the socket's descriptor (raw4.socket.ts), not raw-socket's. */
  directReads: number;
  /**
   * Datagrams timed by the kernel's receive time (SO_TIMESTAMPNS), not by their read: the rest had no
   * stamp (raw-socket's own reads), one too old to trust (libc.ffi.ts `MAX_RX_AGE_US`) or no fresh
   * offset between the clocks to carry it over with (`ReceiveTimes`).
   */
  kernelTimes: number;
  /** IPv4: datagrams sent at once with libc's sendto on that descriptor (raw4.send.ts), not queued in raw-socket. */
  directSends: number;
  /** IPv4 in doorbell mode (steady-filter.ts): wake-ups by the doorbell, each followed by a read of the queue. */
  doorbells: number;
}

/** The longest a datagram waits in a queue in doorbell mode when nothing else reads it (the periodic read). */
export const DEFERRED_READ_MAX_MS = 1000;
/**
 * The period a pool starts with: doubled while reads find few datagrams, halved while they find many,
 * so a busy interface is read often from the start (its queue holds about 10,000 adverts).
 */
const DEFERRED_READ_FIRST_MS = 100;
/** The shortest period: the read comes this often at least when each finds many datagrams. */
const DEFERRED_READ_MIN_MS = 12.5;
/**
 * A periodic read that finds more than this on a socket halves the period, one that finds fewer than
 * a quarter of it doubles it: a read is then a millisecond or so of work, and the queue far from full.
 */
const DEFERRED_READ_MANY = 256;

export const DEFAULT_GROUP4 = "224.0.0.18";
export const DEFAULT_GROUP6 = "ff02::12";
/** The kernel side of one shared socket, IPv4 or IPv6. */
export interface SharedSocketIo {
  /** Joins a multicast group on the interface (idempotent per group). */
  join(group: string): void;
  /** Sends one VRRP message (`ipId` is used by IPv4 only). */
  send(out: Outbound, src: string | undefined, ipId: number, onError: (e: Error) => void): void;
  /** Reads what is waiting now, up to READ_PENDING_MAX datagrams (`Transport.readPending`). */
  readPending(): void;
  /** IPv4 (steady-filter.ts): the socket is in doorbell mode — its queue is read by `readQueue` only. */
  deferring?(): boolean;
  /** Reads the queue, up to `limit` datagrams (each handed on as it is read): how many were read. */
  readQueue?(limit: number): number;
  /** `Transport.steady` and `unsteady` for this socket. */
  steady?(a: SteadyAdvert): void;
  unsteady?(vrid: number): void;
  unsteadyAll?(): void;
  close(): void;
}

export interface ReceivedPacket {
  readonly bytes: Uint8Array;
  /** `bytes` as lowercase hex, when the socket interned them (rx-intern.ts). */
  readonly hex?: string;
  readonly src: string;
  readonly dst: string;
  readonly ttl: number;
  readonly ifindex?: number;
  /** IPv4: total length minus header length, from the IP header (keepalived's length check). */
  readonly ipPayloadLength?: number;
  /** The kernel's receive time on the node's clock (libc.ffi.ts `ReceiveTimes`), when it has one. */
  readonly rxAtUs?: number | undefined;
}

export type SocketEvent =
  | { readonly kind: "packet"; readonly packet: ReceivedPacket }
  | {
      readonly kind: "wakeups" | "emptyReads" | "directReads" | "directSends" | "doorbells";
      readonly loop: true;
    }
  | {
      readonly kind: Exclude<
        keyof RawSocketStats,
        "wakeups" | "emptyReads" | "directReads" | "directSends" | "doorbells" | "kernelTimes"
      >;
    };

interface View {
  readonly spec: RawInstanceSpec;
  readonly out: Fanout<Datagram>;
}

class SharedSocket {
  readonly all = new Fanout<Datagram>();
  readonly views = new Map<number, View>();
  readonly stats: RawSocketStats = {
    received: 0,
    delivered: 0,
    sent: 0,
    sendErrors: 0,
    truncated: 0,
    oversized: 0,
    notVrrp: 0,
    unknownVrid: 0,
    ttlRejected: 0,
    srcRejected: 0,
    otherMode: 0,
    socketErrors: 0,
    wakeups: 0,
    emptyReads: 0,
    directReads: 0,
    directSends: 0,
    doorbells: 0,
    kernelTimes: 0,
  };
  readonly io: SharedSocketIo;

  constructor(
    readonly ifname: string,
    readonly family: Family,
    private readonly mode: RawMode,
    private readonly clock: Clock,
    makeIo: (emit: (e: SocketEvent) => void) => SharedSocketIo,
    /** Where datagrams go while the pool reads several sockets at once (then it hands them on). */
    private readonly collector: () => Array<[SharedSocket, Datagram]> | undefined = () => undefined,
  ) {
    this.io = makeIo((e) => this.onEvent(e));
  }

  private onEvent(e: SocketEvent): void {
    if ("loop" in e) {
      // Receive-loop counters: not datagrams.
      this.stats[e.kind]++;
      return;
    }
    if (e.kind !== "packet") {
      this.stats.received++;
      this.stats[e.kind]++;
      return;
    }
    this.stats.received++;
    const p = e.packet;
    const rxAtUs = p.rxAtUs ?? this.clock.nowUs();
    if (p.rxAtUs !== undefined) this.stats.kernelTimes++;
    if (isMulticastAddress(p.dst) !== (this.mode === "multicast")) {
      this.stats.otherMode++;
      return;
    }
    const d: Datagram =
      p.ifindex !== undefined && p.ipPayloadLength !== undefined && p.hex !== undefined
        ? {
            // IPv4: every fact known; one literal (no spread temporaries per datagram).
            bytes: p.bytes,
            hex: p.hex,
            family: this.family,
            src: p.src,
            dst: p.dst,
            ttl: p.ttl,
            ifname: this.ifname,
            ifindex: p.ifindex,
            ipPayloadLength: p.ipPayloadLength,
            rxAtUs,
          }
        : {
            bytes: p.bytes,
            family: this.family,
            src: p.src,
            dst: p.dst,
            ttl: p.ttl,
            ifname: this.ifname,
            ...(p.ifindex === undefined ? {} : { ifindex: p.ifindex }),
            ...(p.ipPayloadLength === undefined ? {} : { ipPayloadLength: p.ipPayloadLength }),
            ...(p.hex === undefined ? {} : { hex: p.hex }),
            rxAtUs,
          };
    const collected = this.collector();
    if (collected !== undefined) collected.push([this, d]);
    else this.deliver(d);
  }

  /** Hands one datagram on: to every VRID's stream, and to its VRID's view after the peer checks. */
  deliver(d: Datagram): void {
    this.all.next(d);
    const view = d.bytes.length >= 2 ? this.views.get(d.bytes[1] ?? 0) : undefined;
    if (view === undefined) {
      this.stats.unknownVrid++;
      return;
    }
    const why = peerCheck(view.spec, d);
    if (why !== undefined) {
      this.stats[why]++;
      return;
    }
    this.stats.delivered++;
    view.out.next(d);
  }
}

/** Source and TTL checks of unicast_peer mode (check_unicast_src, min_ttl/max_ttl). */
export function peerCheck(spec: RawInstanceSpec, d: Datagram): "srcRejected" | "ttlRejected" | undefined {
  const peers = spec.peers ?? [];
  if (spec.mode !== "unicast" || peers.length === 0) return undefined;
  const ranged = peers.some((p) => p.minTtl !== undefined || p.maxTtl !== undefined);
  if (!spec.checkUnicastSrc && !ranged) return undefined;
  const peer = peers.find((p) => p.address === d.src);
  if (peer === undefined) return "srcRejected";
  if (d.ttl < (peer.minTtl ?? 0) || d.ttl > (peer.maxTtl ?? 255)) return "ttlRejected";
  return undefined;
}

/** The primary IPv4 (first) or link-local IPv6 address of an interface, if any. */
export function interfaceAddress(ifname: string, family: Family): string | undefined {
  const list = networkInterfaces()[ifname] ?? [];
  const hit =
    family === 4
      ? list.find((a) => a.family === "IPv4")
      : (list.find((a) => a.family === "IPv6" && a.address.startsWith("fe80:")) ??
        list.find((a) => a.family === "IPv6"));
  return hit?.address;
}

/** Hands out per-instance transports over shared sockets; see the module comment. */
export class RawTransportPool {
  private readonly sockets = new Map<string, SharedSocket>();

  private readonly libc: Libc = loadLibc();
  /** IPv4 sends of one event-loop callback, sent together at its end, in order (raw4.send.ts). */
  private readonly batch: SendBatch;

  constructor(private readonly clock: Clock) {
    this.batch = new SendBatch(clock);
  }

  private socketFor(ifname: string, family: Family, mode: RawMode): SharedSocket {
    const key = `${ifname}/${family}/${mode}`;
    let s = this.sockets.get(key);
    if (s === undefined) {
      const times = new ReceiveTimes(this.libc, this.clock);
      s = new SharedSocket(
        ifname,
        family,
        mode,
        this.clock,
        (emit) =>
          family === 4
            ? openIpv4Socket(this.libc, ifname, emit, this.batch, times, () => this.#ring())
            : openIpv6Socket(this.libc, ifname, emit, times),
        () => this.#collected,
      );
      this.sockets.set(key, s);
    }
    return s;
  }

  // ---- doorbell mode (steady-filter.ts): the queues of all sockets read together ---------------

  /** Datagrams of a read of several sockets, handed on once all are read, in arrival order. */
  #collected: Array<[SharedSocket, Datagram]> | undefined;
  #handingOn = false;
  #periodic: ReturnType<typeof setTimeout> | undefined;
  #periodMs = DEFERRED_READ_FIRST_MS;

  /**
   * Reads every socket's waiting datagrams — the queues in doorbell mode, and with `all` what the
   * other sockets hold too — then hands them on sorted by arrival time (a stable sort: each socket's
   * own order kept), so no datagram is applied after one that came later. Returns how many were read.
   */
  #readTogether(all: boolean, limit: number): number {
    // a read from inside this one (its reads, or the hand-on of what it read) would put datagrams
    // that came later before some that came earlier
    if (this.#collected !== undefined || this.#handingOn) return 0;
    const collected: Array<[SharedSocket, Datagram]> = [];
    let read = 0;
    this.#collected = collected;
    try {
      for (const s of this.sockets.values()) {
        if (s.io.deferring?.() === true) read = Math.max(read, s.io.readQueue?.(limit) ?? 0);
        else if (all) s.io.readPending();
      }
    } finally {
      this.#collected = undefined;
    }
    collected.sort((a, b) => a[1].rxAtUs - b[1].rxAtUs);
    this.#handingOn = true;
    try {
      for (const [s, d] of collected) s.deliver(d);
    } finally {
      this.#handingOn = false;
    }
    this.#armPeriodic();
    return read;
  }

  #anyDeferring(): boolean {
    for (const s of this.sockets.values()) if (s.io.deferring?.() === true) return true;
    return false;
  }

  /**
   * A doorbell rang, an instance changed, or the node is about to apply another input: the queues are
   * read now, every time. (Not once per callback: raw-socket calls its readiness handlers without
   * the microtask checkpoint that ends a Node callback, so a flag reset by a microtask stayed set
   * into the next timer's callback, whose input was then applied before the datagrams waiting —
   * and those were stamped with its later time, their down timers restarted late.)
   */
  #ring(): void {
    if (!this.#anyDeferring()) return;
    this.#readTogether(false, READ_PENDING_MAX);
  }

  /** The bounded wait: every `#periodMs` (halved while reads find many, doubled while few). */
  #armPeriodic(): void {
    if (this.#periodic !== undefined || !this.#anyDeferring()) return;
    this.#periodic = setTimeout(() => {
      this.#periodic = undefined;
      const n = this.#readTogether(false, READ_PENDING_MAX);
      if (n > DEFERRED_READ_MANY) this.#periodMs = Math.max(DEFERRED_READ_MIN_MS, this.#periodMs / 2);
      else if (n < DEFERRED_READ_MANY / 4)
        this.#periodMs = Math.min(DEFERRED_READ_MAX_MS, this.#periodMs * 2);
      this.#armPeriodic();
    }, this.#periodMs);
    this.#periodic.unref();
  }

  /** Every datagram seen on one shared socket (all VRIDs), opening it if needed. */
  inbound$(ifname: string, family: Family, mode: RawMode): Observable<Datagram> {
    return this.socketFor(ifname, family, mode).all.observable;
  }

  /** Counters of one shared socket, or undefined when it is not open. */
  stats(ifname: string, family: Family, mode: RawMode): Readonly<RawSocketStats> | undefined {
    return this.sockets.get(`${ifname}/${family}/${mode}`)?.stats;
  }

  /**
   * The whole shared socket of (interface, family, mode) as one `Transport`: every VRID it receives
   * (no routing or peer checks here — the runtime's codec adapter does both, in one place, on the
   * journaled input), the given multicast groups joined, IPv4 IP ids counted per VRID. Used by the
   * live node, which opens one per (interface, family, mode) and merges them once.
   */
  openShared(ifname: string, family: Family, mode: RawMode, groups: readonly string[] = []): Transport {
    const shared = this.socketFor(ifname, family, mode);
    if (mode === "multicast") for (const g of groups) shared.io.join(g);
    const ipIds = new Map<number, number>();
    let closed = false;
    const onError = (): void => {
      shared.stats.sendErrors++;
    };
    return {
      inbound$: shared.all.observable,
      send: (out) => {
        if (closed) return;
        const prev = ipIds.get(out.vrid) ?? 0;
        const ipId = prev >= 0xffff ? 1 : prev + 1;
        ipIds.set(out.vrid, ipId);
        shared.stats.sent++;
        shared.io.send(out, out.src, ipId, onError);
      },
      readPending: () => {
        if (!closed) shared.io.readPending();
      },
      close: () => {
        closed = true;
      },
    };
  }

  /** A transport view for one instance. Throws if that VRID is already open on the socket. */
  open(spec: RawInstanceSpec): Transport {
    const key = `${spec.ifname}/${spec.family}/${spec.mode}`;
    const shared = this.socketFor(spec.ifname, spec.family, spec.mode);
    if (shared.views.has(spec.vrid))
      throw new Error(
        `VRID ${spec.vrid} is already in use for IPv${spec.family} ${spec.mode} on ${spec.ifname}`,
      );
    if (spec.mode === "multicast")
      shared.io.join(spec.group ?? (spec.family === 4 ? DEFAULT_GROUP4 : DEFAULT_GROUP6));
    const view: View = { spec, out: new Fanout<Datagram>() };
    shared.views.set(spec.vrid, view);
    let ipId = 0;
    let closed = false;
    const onError = (): void => {
      shared.stats.sendErrors++;
    };
    return {
      inbound$: view.out.observable,
      send: (out) => {
        if (closed) return;
        ipId = ipId >= 0xffff ? 1 : ipId + 1;
        shared.stats.sent++;
        shared.io.send(out, out.src ?? spec.src, ipId, onError);
      },
      close: () => {
        if (closed) return;
        closed = true;
        view.out.complete();
        shared.views.delete(spec.vrid);
        if (shared.views.size === 0 && !shared.all.observed) {
          shared.io.close();
          shared.all.complete();
          this.sockets.delete(key);
        }
      },
    };
  }

  /** Reads what is waiting on every shared socket now, in arrival order (`Transport.readPending`). */
  readPending(): void {
    this.#readTogether(true, READ_PENDING_MAX);
  }

  /** `Transport.readDeferred`: the queues of the sockets in doorbell mode, read now. */
  readDeferred(): void {
    this.#ring();
  }

  /** `Transport.steady`: the advert's interface's IPv4 sockets (both modes: each sees every datagram of it). */
  steady(a: SteadyAdvert): void {
    if (a.family !== 4) return;
    this.sockets.get(`${a.ifname}/4/multicast`)?.io.steady?.(a);
    this.sockets.get(`${a.ifname}/4/unicast`)?.io.steady?.(a);
    this.#armPeriodic();
  }

  /** `Transport.unsteady`. */
  unsteady(ifname: string, family: Family, vrid: number): void {
    if (family !== 4) return;
    this.sockets.get(`${ifname}/4/multicast`)?.io.unsteady?.(vrid);
    this.sockets.get(`${ifname}/4/unicast`)?.io.unsteady?.(vrid);
  }

  /** `Transport.unsteadyAll`. */
  unsteadyAll(): void {
    for (const s of this.sockets.values()) s.io.unsteadyAll?.();
  }

  /** Closes every shared socket. */
  close(): void {
    if (this.#periodic !== undefined) clearTimeout(this.#periodic);
    this.#periodic = undefined;
    for (const s of this.sockets.values()) {
      for (const v of s.views.values()) v.out.complete();
      s.all.complete();
      s.io.close();
    }
    this.sockets.clear();
  }
}
