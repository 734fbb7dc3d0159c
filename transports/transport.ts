/**
 * The `Transport` port: how VRRP messages enter and leave a node. Every implementation
 * (raw multicast / unicast_peer, UDP, the simulated network) exposes the same shape, so the runtime
 * records every inbound datagram in its journal and the same `Node` code runs in production and in
 * simulation. Types only.
 */
import type { Observable } from "rxjs";
import type { Family, RxMeta } from "../src/protocol/codec.ts";
import type { SteadyAdvert } from "./steady-filter.ts";

export type { Family } from "../src/protocol/codec.ts";
export type { SteadyAdvert } from "./steady-filter.ts";

/**
 * One received VRRP message with what the IP layer said about it: family, source, destination,
 * TTL / hop limit (and whether it could be seen), IPv4 payload length — the codec's `RxMeta`.
 */
export interface Datagram extends RxMeta {
  /**
   * The VRRP message itself (IPv4/IPv6 header removed). Read-only: a raw socket hands the same array
   * to every datagram with the same content (transports/rx-intern.ts).
   */
  readonly bytes: Uint8Array;
  /** `bytes` as lowercase hex, when the transport interned them (the runtime journals this text). */
  readonly hex?: string;
  /** Interface the datagram arrived on (name; `ifindex` when known). */
  readonly ifname: string;
  readonly ifindex?: number;
  /**
   * Receive time on the injected clock, in microseconds: the kernel's arrival time where the
   * transport reads one (raw sockets, SO_TIMESTAMPNS), else the read's; the delivery time in a simulation.
   */
  readonly rxAtUs: number;
}

/** One VRRP message to send; the transport adds the IP header (or UDP datagram). */
export interface Outbound {
  readonly bytes: Uint8Array;
  readonly family: Family;
  /** Source address; undefined = the interface's primary (IPv4) or link-local (IPv6) address. */
  readonly src?: string;
  /** Destination: the multicast group or one unicast peer. */
  readonly dst: string;
  readonly ttl: number;
  readonly ifname: string;
  /** The sending instance's VRID: IPv4 IP ids are counted per instance. */
  readonly vrid: number;
}

export interface Transport {
  readonly inbound$: Observable<Datagram>;
  send(out: Outbound): void;
  close(): void;
  /**
   * Reads the datagrams already waiting in its sockets now, delivering them on `inbound$` before
   * it returns (each socket at most `READ_PENDING_MAX`). The daemon calls it before a down timer
   * fires, so that an advert which arrived while the process was busy is heard first. Optional: the raw
   * sockets and the UDP transport have it (the latter through libc on node:dgram's descriptors, when
   * koffi loads); a simulated transport has nothing waiting.
   */
  readPending?(): void;
  /**
   * Adverts that may wait (transports/steady-filter.ts). The node calls `steady` with an advert it
   * applied that restarted a down timer and otherwise changed no actor and emitted nothing — a
   * BACKUP's master, heard again — and `unsteady` for the (interface, family, VRID) of an instance
   * that changed, or whose advert did something (`unsteadyAll` after a reload). A transport may then leave the same advert, byte for
   * byte from the same source, in its socket until `readDeferred`, which the node calls before it
   * applies any other input, or `readPending`, or a bounded period: waking the process only for
   * the datagrams that may change something. Every datagram is still delivered, in the order and
   * with the time it arrived. Optional: the raw IPv4 sockets have them; the others deliver at once.
   */
  steady?(a: SteadyAdvert): void;
  unsteady?(ifname: string, family: Family, vrid: number): void;
  unsteadyAll?(): void;
  /** Delivers on `inbound$` the datagrams left waiting by `steady`, before it returns. */
  readDeferred?(): void;
}

/** Datagrams one `readPending` takes from one socket at most (a flood cannot hold the process there). */
export const READ_PENDING_MAX = 1024;
