/**
 * The Node's bridge to the wire codec (src/protocol), and the ONE place where received adverts are
 * routed and checked: a datagram goes to the instance keyed by (interface, family, VRID) — never to
 * another interface's instance — is decoded and validated against that instance's expectations with
 * every fact the transport recorded (TTL seen or not, IPv4 payload length from the IP header), then
 * checked against the unicast peers (`check_unicast_src`: the source must be a peer and, when the
 * TTL was observed, within that peer's `min_ttl`..`max_ttl`, counted in `ip_ttl_err`) — keepalived
 * 2.2.7's `vrrp_check_packet` order; a BACKUP with `skip_check_adv_addr` skips the address and peer
 * checks for its current master's adverts. It also turns a `sendAdvert` command into one `Outbound`
 * per destination (advert-out.ts). A v2
 * interval mismatch is passed on to the machine, which logs keepalived's line and drops it; a datagram
 * another check drops never reaches the machine (so it never touches an instance's timers — a
 * deliberate difference from keepalived, docs/keepalived-reference.md §3.2). `counters` are the
 * instance's keepalived counters a datagram increments, as `vrrp_check_packet` counts them: one error
 * counter for a check before `advert_rcvd`, `advert_rcvd` (and an error counter) for the VIP-list and
 * unicast peer checks after it, none for a v2 interval mismatch. Datagrams keepalived never hands to
 * an instance count nothing there: shorter than a VRRP header, an unknown VRID (these two are counted
 * in `dropped`), not addressed to what its socket is bound to (a multicast instance's group; a
 * unicast instance's own address, unicast_src_ip or the interface's), any while the instance is not
 * `listening` (FAULT, INIT).
 * Deterministic: the same inputs give the same results live and on replay. An accepted datagram's
 * result is remembered in the caller's memo of that datagram (input-text.ts `RxMemo`: one per bytes
 * and facts), so the steady stream of identical adverts from a master is routed, decoded and validated
 * once (the result is a pure function of those facts and the fixed configuration; instances with
 * `skip_check_adv_addr`, whose checks depend on the current master, are always checked afresh).
 */
import type { AdvertEvent } from "../../machines/events.ts";
import type { Outbound } from "../../transports/transport.ts";
import { canonicalAddress, isMulticastAddress } from "../protocol/address.ts";
import {
  advertLength,
  countersFor,
  decodeAdvert,
  type Expectations,
  passwordAuthData,
  prepareExpectations,
  VRRP_HEADER_LENGTH,
  VRRP_MCAST_GROUP4,
  VRRP_MCAST_GROUP6,
  VRRP_TTL,
  validateAdvert,
} from "../protocol/codec.ts";
import { AdvertOut, bareVip, type TemplateSlot } from "./advert-out.ts";
import type { Input } from "./input.ts";
import type { RxMemo } from "./input-text.ts";
import type { InstanceSpec, NodeSpec } from "./spec.ts";
import type { StatsCounter } from "./stats.ts";

export interface Received {
  readonly instance?: string;
  /** The instance's counters this datagram increments (see the module comment); absent: none. */
  readonly counters?: readonly StatsCounter[];
  readonly event?: AdvertEvent;
}

const KNOWN: ReadonlySet<string> = new Set([
  "packet_len_err",
  "ip_ttl_err",
  "invalid_type_rcvd",
  "addr_list_err",
  "invalid_authtype",
  "authtype_mismatch",
  "auth_failure",
]);

/** The counters of an accepted advert (`advert_rcvd`, and `pri_zero_rcvd` for a priority 0). */
const RECEIVED: readonly StatsCounter[] = Object.freeze(["advert_rcvd"]);
const RECEIVED_ZERO: readonly StatsCounter[] = Object.freeze(["advert_rcvd", "pri_zero_rcvd"]);

/**
 * A rejected datagram: its instance and the counters keepalived increments for the reason
 * (`advert_rcvd` first when the check comes after keepalived counts it, validate.ts `countersFor`).
 */
const rejected = (instance: string, reason: Parameters<typeof countersFor>[0]): Received => {
  const c = countersFor(reason);
  const counters: StatsCounter[] = c.advertReceived ? ["advert_rcvd"] : [];
  if (c.keepalived !== null && KNOWN.has(c.keepalived)) counters.push(c.keepalived as StatsCounter);
  return counters.length > 0 ? { instance, counters } : { instance };
};

/**
 * A version nibble other than 2 or 3 (`decodeAdvert` stops at it): keepalived first checks the
 * length it expects for that version (no auth bytes but for v2) and the multicast TTL, and counts
 * those; the version failure itself only in SNMP.
 */
const unknownVersion = (instance: string, bytes: Uint8Array, input: RxInput, unicast: boolean): Received => {
  if (bytes.length !== advertLength(input.family, 3, bytes[3] ?? 0))
    return { instance, counters: ["packet_len_err"] };
  if (!unicast && input.ttlObserved !== false && input.ttl !== VRRP_TTL)
    return { instance, counters: ["ip_ttl_err"] };
  return { instance };
};

/** `dst` is `canonical` (an address of `family` in canonical form), however it is written. */
const sameAddress = (dst: string, canonical: string, family: 4 | 6): boolean =>
  dst === canonical || canonicalAddress(dst, family) === canonical;

/** Routing key of (interface, family, VRID). */
const routeKey = (ifname: string, family: 4 | 6, vrid: number): string => `${ifname}/${family}/${vrid}`;

/** Datagrams dropped by the router before an instance saw them (or by the unicast peer check). */
export interface RouterDrops {
  /** No instance has this (interface, family, VRID), or shorter than a VRRP header (none found). */
  unknownRoute: number;
  /** `check_unicast_src`: the source is not a unicast peer. */
  notPeer: number;
  /** `check_unicast_src`: the observed TTL is outside the peer's min_ttl..max_ttl (also `ip_ttl_err`). */
  ttlOutOfRange: number;
}

/** A BACKUP instance's current master (`masterIp`), or undefined in any other state. */
export type MasterOf = (instance: string) => string | undefined;

/**
 * Whether an instance reads datagrams now: keepalived's `vrrp_dispatcher_read` ignores them — no
 * check, no counter — while the instance is in FAULT or INIT.
 */
export type Listening = (instance: string) => boolean;

interface PeerRange {
  readonly minTtl: number;
  readonly maxTtl: number;
}

type RxInput = Extract<Input, { kind: "rx" }>;

export class AdvertCodec {
  readonly #route = new Map<string, InstanceSpec>();
  readonly #expect = new Map<string, Expectations>();
  readonly #peers = new Map<string, ReadonlyMap<string, PeerRange>>();
  /**
   * What an instance's socket is bound to (canonical), by instance name: a multicast instance's group,
   * a unicast instance's own address. None for an instance without an address (it stays in FAULT).
   */
  readonly #boundTo = new Map<string, string>();
  /** The send side: advert templates by instance name, made on an instance's first send. */
  readonly #out = new AdvertOut();
  readonly dropped: RouterDrops = { unknownRoute: 0, notPeer: 0, ttlOutOfRange: 0 };
  /** Datagrams answered from a memo's remembered result without routing, decoding or validating again. */
  memoHits = 0;

  constructor(spec: NodeSpec) {
    for (const s of spec.instances) {
      const p = s.params;
      this.#route.set(routeKey(p.ifname, p.family, p.vrid), s);
      if (s.unicastPeers.length === 0) {
        const group = s.mcastGroup ?? (p.family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6);
        this.#boundTo.set(p.name, canonicalAddress(group, p.family) ?? group);
      } else if (p.ownIp !== "0.0.0.0" && p.ownIp !== "::") {
        this.#boundTo.set(p.name, canonicalAddress(p.ownIp, p.family) ?? p.ownIp);
      }
      if (s.checkUnicastSrc === true && s.unicastPeers.length > 0) {
        const ranges = new Map<string, PeerRange>();
        for (const a of s.unicastPeers) {
          const r = s.peerTtl?.find((t) => t.address === a);
          ranges.set(canonicalAddress(a, p.family) ?? a, {
            minTtl: r?.minTtl ?? 0,
            maxTtl: r?.maxTtl ?? 255,
          });
        }
        this.#peers.set(p.name, ranges);
      }
      this.#expect.set(
        p.name,
        prepareExpectations({
          family: p.family,
          version: p.version,
          vrid: p.vrid,
          advertIntervalCs: p.advertIntervalCs,
          vips: p.vips.map(bareVip),
          unicastPeers: s.unicastPeers,
          ...(s.authPass === undefined
            ? {}
            : { authType: 1 as const, authData: passwordAuthData(s.authPass) }),
        }),
      );
    }
  }

  /**
   * Routes and checks one received datagram. `masterOf` reports a BACKUP instance's current master,
   * for `skip_check_adv_addr` (without it the address checks always run); an instance not
   * `listening` gets `{ instance }` alone (without it every instance listens). `memo`, the caller's
   * memo of this datagram with exactly these facts (input-text.ts `RxMemo`), keeps an accepted result
   * for the next time; without one, every datagram is checked afresh.
   */
  receive(input: RxInput, masterOf?: MasterOf, listening?: Listening, memo?: RxMemo): Received {
    if (memo !== undefined && memo.codec === this && memo.accepted !== undefined) {
      const known = memo.accepted;
      const instance = known.instance as string;
      if (listening !== undefined && !listening(instance)) return { instance };
      this.memoHits++;
      return known;
    }
    if (memo !== undefined) {
      memo.codec = this;
      memo.accepted = undefined;
    }
    return this.#check(input, masterOf, listening, memo);
  }

  /** Remembers an accepted datagram's result in its memo (frozen: it is handed out again as is). */
  #remember(result: Received, memo: RxMemo | undefined): Received {
    Object.freeze(result.event);
    Object.freeze(result);
    if (memo !== undefined) memo.accepted = result;
    return result;
  }

  #check(
    input: RxInput,
    masterOf: MasterOf | undefined,
    listening: Listening | undefined,
    memo: RxMemo | undefined,
  ): Received {
    const bytes: Uint8Array = Buffer.from(input.hex, "hex");
    // keepalived's vrrp_dispatcher_read looks for an instance only in a whole VRRP header.
    const spec =
      bytes.length < VRRP_HEADER_LENGTH
        ? undefined
        : this.#route.get(routeKey(input.ifname, input.family, bytes[1] ?? 0));
    if (spec === undefined) {
      this.dropped.unknownRoute++;
      return {};
    }
    const instance = spec.params.name;
    // Ignored in FAULT and INIT, and never seen by the instance's socket: keepalived binds a
    // multicast instance's to its group and a unicast one's to its source address (vrrp.c
    // open_vrrp_read_socket, the unicast_src of vrrp_scheduler.c; over IPv6 the strays that still
    // arrive are discarded in vrrp_dispatcher_read) — before vrrp_check_packet and its counters.
    if (listening !== undefined && !listening(instance)) return { instance };
    const bound = this.#boundTo.get(instance);
    if (bound === undefined ? isMulticastAddress(input.dst) : !sameAddress(input.dst, bound, input.family))
      return { instance };
    const meta = {
      family: input.family,
      src: input.src,
      dst: input.dst,
      ttl: input.ttl,
      ...(input.ttlObserved === false ? { ttlObserved: false } : {}),
      ...(input.ipPayloadLength === undefined ? {} : { ipPayloadLength: input.ipPayloadLength }),
    };
    const decoded = decodeAdvert(bytes, meta);
    if (!decoded.ok)
      return decoded.reason.kind === "version"
        ? unknownVersion(instance, bytes, input, spec.unicastPeers.length > 0)
        : rejected(instance, decoded.reason);
    const exp = this.#expect.get(instance);
    if (exp === undefined) return { instance };
    const peers = this.#peers.get(instance);
    const bySource = peers !== undefined || spec.skipCheckAdvAddr === true;
    const src = bySource ? (canonicalAddress(input.src, input.family) ?? input.src) : input.src;
    const skip =
      spec.skipCheckAdvAddr === true &&
      masterOf !== undefined &&
      (canonicalAddress(masterOf(instance) ?? "", input.family) ?? "") === src;
    const v = validateAdvert(decoded.advert, meta, exp, { skipAddressCheck: skip });
    // A v2 interval mismatch goes on to the machine (which logs it), counted nowhere: keepalived
    // drops it before `advert_rcvd` and the checks after it.
    const mismatch = !v.ok && v.reason.kind === "interval-mismatch" && spec.params.version === 2;
    if (!v.ok && !mismatch) return rejected(instance, v.reason);
    if (peers !== undefined && !skip && !mismatch) {
      const peer = peers.get(src);
      if (peer === undefined) {
        this.dropped.notPeer++;
        return { instance, counters: RECEIVED };
      }
      if (input.ttlObserved !== false && (input.ttl < peer.minTtl || input.ttl > peer.maxTtl)) {
        this.dropped.ttlOutOfRange++;
        return { instance, counters: ["advert_rcvd", "ip_ttl_err"] };
      }
    }
    const accepted: Received = {
      instance,
      ...(mismatch ? {} : { counters: decoded.advert.priority === 0 ? RECEIVED_ZERO : RECEIVED }),
      event: {
        type: "ADVERT",
        priority: decoded.advert.priority,
        srcIp: input.src,
        advertIntervalCs: decoded.advert.advertIntervalCs,
      },
    };
    return spec.skipCheckAdvAddr === true ? accepted : this.#remember(accepted, memo);
  }

  /**
   * The datagrams of one advert from `spec` at `priority` (advert-out.ts): the same frozen datagrams
   * again until the priority changes.
   */
  outbound(spec: InstanceSpec, priority: number, slot?: TemplateSlot): readonly Outbound[] {
    return this.#out.outbound(spec, priority, slot);
  }
}
