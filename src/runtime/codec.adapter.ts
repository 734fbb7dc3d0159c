/**
 * The Node's bridge to the wire codec (src/protocol), and the ONE place where received adverts are
 * routed and checked: a datagram goes to the instance keyed by (interface, family, VRID) — never to
 * another interface's instance — is decoded and validated against that instance's expectations with
 * every fact the transport recorded (TTL seen or not, IPv4 payload length from the IP header), then
 * checked against the unicast peers (`check_unicast_src`: the source must be a peer and, when the
 * TTL was observed, within that peer's `min_ttl`..`max_ttl`, counted in `ip_ttl_err`) — keepalived
 * 2.2.7's `vrrp_check_packet` order; a BACKUP with `skip_check_adv_addr` skips the address and peer
 * checks for its current master's adverts. It also turns a `sendAdvert` command into one `Outbound`
 * per destination (the configured multicast group, or each unicast peer at `unicast_ttl`). A v2
 * interval mismatch is passed on to the machine, which logs keepalived's line and drops it. Datagrams
 * dropped before an instance sees them are counted in `dropped`. Deterministic: the same inputs give
 * the same results live and on replay.
 */
import type { AdvertEvent } from "../../machines/events.ts";
import type { Outbound } from "../../transports/transport.ts";
import { canonicalAddress } from "../protocol/address.ts";
import {
  type AdvertFields,
  AdvertTemplate,
  countersFor,
  decodeAdvert,
  type Expectations,
  encodeAdvert,
  passwordAuthData,
  prepareExpectations,
  VRRP_MCAST_GROUP4,
  VRRP_MCAST_GROUP6,
  VRRP_TTL,
  validateAdvert,
} from "../protocol/codec.ts";
import type { Input } from "./input.ts";
import type { InstanceSpec, NodeSpec } from "./spec.ts";
import type { StatsCounter } from "./stats.ts";

const bare = (vip: string): string => vip.split("/")[0] ?? vip;

export interface Received {
  readonly instance?: string;
  readonly counter?: StatsCounter;
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

/** A rejected datagram: its instance and, when keepalived counts the reason, the counter. */
const rejected = (instance: string, kind: Parameters<typeof countersFor>[0]): Received => {
  const k = countersFor(kind).keepalived;
  return k !== null && KNOWN.has(k) ? { instance, counter: k as StatsCounter } : { instance };
};

/** Routing key of (interface, family, VRID). */
const routeKey = (ifname: string, family: 4 | 6, vrid: number): string => `${ifname}/${family}/${vrid}`;

/** Datagrams dropped by the router before an instance saw them (or by the unicast peer check). */
export interface RouterDrops {
  /** No instance has this (interface, family, VRID). */
  unknownRoute: number;
  /** `check_unicast_src`: the source is not a unicast peer. */
  notPeer: number;
  /** `check_unicast_src`: the observed TTL is outside the peer's min_ttl..max_ttl (also `ip_ttl_err`). */
  ttlOutOfRange: number;
}

/** A BACKUP instance's current master (`masterIp`), or undefined in any other state. */
export type MasterOf = (instance: string) => string | undefined;

interface PeerRange {
  readonly minTtl: number;
  readonly maxTtl: number;
}

export class AdvertCodec {
  readonly #route = new Map<string, InstanceSpec>();
  readonly #expect = new Map<string, Expectations>();
  readonly #peers = new Map<string, ReadonlyMap<string, PeerRange>>();
  /** Advert templates by instance name, made on an instance's first send. */
  readonly #templates = new Map<string, AdvertTemplate>();
  readonly dropped: RouterDrops = { unknownRoute: 0, notPeer: 0, ttlOutOfRange: 0 };

  constructor(spec: NodeSpec) {
    for (const s of spec.instances) {
      const p = s.params;
      this.#route.set(routeKey(p.ifname, p.family, p.vrid), s);
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
          vips: p.vips.map(bare),
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
   * for `skip_check_adv_addr` (without it the address checks always run).
   */
  receive(input: Extract<Input, { kind: "rx" }>, masterOf?: MasterOf): Received {
    const bytes: Uint8Array = Buffer.from(input.hex, "hex");
    const spec = this.#route.get(routeKey(input.ifname, input.family, bytes[1] ?? 0));
    if (spec === undefined) {
      this.dropped.unknownRoute++;
      return {};
    }
    const instance = spec.params.name;
    const meta = {
      family: input.family,
      src: input.src,
      dst: input.dst,
      ttl: input.ttl,
      ...(input.ttlObserved === false ? { ttlObserved: false } : {}),
      ...(input.ipPayloadLength === undefined ? {} : { ipPayloadLength: input.ipPayloadLength }),
    };
    const decoded = decodeAdvert(bytes, meta);
    if (!decoded.ok) return rejected(instance, decoded.reason);
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
    if (!v.ok && !(v.reason.kind === "interval-mismatch" && spec.params.version === 2))
      return rejected(instance, v.reason);
    if (peers !== undefined && !skip) {
      const peer = peers.get(src);
      if (peer === undefined) {
        this.dropped.notPeer++;
        return { instance };
      }
      if (input.ttlObserved !== false && (input.ttl < peer.minTtl || input.ttl > peer.maxTtl)) {
        this.dropped.ttlOutOfRange++;
        return { instance, counter: "ip_ttl_err" };
      }
    }
    return {
      instance,
      event: {
        type: "ADVERT",
        priority: decoded.advert.priority,
        srcIp: input.src,
        advertIntervalCs: decoded.advert.advertIntervalCs,
      },
    };
  }

  /**
   * The datagrams of one advert from `spec` at `priority`: the instance's advert template (built on
   * its first send, kept per instance) patched with the priority and checksum, as keepalived's
   * `vrrp_update_pkt` does, and copied out per destination (v3: the checksum covers src and dst).
   * The same bytes as `encodeAdvert` from scratch (test/runtime/advert-template.test.ts).
   */
  outbound(spec: InstanceSpec, priority: number): Outbound[] {
    const p = spec.params;
    const unicast = spec.unicastPeers.length > 0;
    const dsts = unicast
      ? spec.unicastPeers
      : [spec.mcastGroup ?? (p.family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6)];
    const ttl = unicast ? (spec.unicastTtl ?? VRRP_TTL) : VRRP_TTL;
    const template = this.#template(spec, priority);
    return dsts.map((dst) => ({
      bytes:
        template === undefined
          ? encodeAdvert(advertFields(spec, priority), p.family, { src: p.ownIp, dst })
          : template.render(priority, { src: p.ownIp, dst }).slice(),
      family: p.family,
      src: p.ownIp,
      dst,
      ttl,
      ifname: p.ifname,
      vrid: p.vrid,
    }));
  }

  /**
   * The advert template of `spec` (made on first use, with the same field checks as `encodeAdvert`);
   * undefined for a priority outside 0..255, which `encodeAdvert` then rejects with its own error.
   */
  #template(spec: InstanceSpec, priority: number): AdvertTemplate | undefined {
    if (!Number.isInteger(priority) || priority < 0 || priority > 255) return undefined;
    const name = spec.params.name;
    let t = this.#templates.get(name);
    if (t === undefined) {
      t = new AdvertTemplate(advertFields(spec, priority), spec.params.family);
      this.#templates.set(name, t);
    }
    return t;
  }
}

/** The advert fields of `spec` at `priority`. */
const advertFields = (spec: InstanceSpec, priority: number): AdvertFields => {
  const p = spec.params;
  return {
    version: p.version,
    vrid: p.vrid,
    priority,
    advertIntervalCs: p.advertIntervalCs,
    addresses: p.vips.map(bare),
    ...(spec.authPass === undefined
      ? {}
      : { authType: 1 as const, authData: passwordAuthData(spec.authPass) }),
  };
};
