/**
 * The Node's bridge to the wire codec (src/protocol): routes received bytes to an instance (by
 * family + VRID, then interface), decodes and validates them against the instance's expectations,
 * and turns a `sendAdvert` command into one `Outbound` per destination (the VRRP group or each
 * unicast peer). A v2 interval mismatch is passed on to the machine, which logs keepalived's line and
 * drops it. Pure apart from the lookup tables it builds once.
 */
import type { AdvertEvent } from "../../machines/events.ts";
import type { Outbound } from "../../transports/transport.ts";
import {
  type AdvertFields,
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

/** Routing key of (family, VRID). */
const routeKey = (family: 4 | 6, vrid: number): number => family * 256 + vrid;

export class AdvertCodec {
  readonly #byVrid = new Map<number, InstanceSpec[]>();
  readonly #expect = new Map<string, Expectations>();

  constructor(spec: NodeSpec) {
    for (const s of spec.instances) {
      const p = s.params;
      const key = routeKey(p.family, p.vrid);
      this.#byVrid.set(key, [...(this.#byVrid.get(key) ?? []), s]);
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

  receive(input: Extract<Input, { kind: "rx" }>): Received {
    const bytes: Uint8Array = Buffer.from(input.hex, "hex");
    const candidates = this.#byVrid.get(routeKey(input.family, bytes[1] ?? 0));
    if (candidates === undefined) return {};
    let spec = candidates[0] as InstanceSpec;
    for (const c of candidates)
      if (c.params.ifname === input.ifname) {
        spec = c;
        break;
      }
    const instance = spec.params.name;
    const meta = { family: input.family, src: input.src, dst: input.dst, ttl: input.ttl };
    const decoded = decodeAdvert(bytes, meta);
    if (!decoded.ok) return rejected(instance, decoded.reason);
    const exp = this.#expect.get(instance);
    if (exp === undefined) return { instance };
    const v = validateAdvert(decoded.advert, meta, exp);
    if (!v.ok && !(v.reason.kind === "interval-mismatch" && spec.params.version === 2))
      return rejected(instance, v.reason);
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

  /** The datagrams of one advert from `spec` at `priority`. */
  outbound(spec: InstanceSpec, priority: number): Outbound[] {
    const p = spec.params;
    const fields: AdvertFields = {
      version: p.version,
      vrid: p.vrid,
      priority,
      advertIntervalCs: p.advertIntervalCs,
      addresses: p.vips.map(bare),
      ...(spec.authPass === undefined
        ? {}
        : { authType: 1 as const, authData: passwordAuthData(spec.authPass) }),
    };
    const dsts =
      spec.unicastPeers.length > 0
        ? spec.unicastPeers
        : [p.family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6];
    return dsts.map((dst) => ({
      bytes: encodeAdvert(fields, p.family, { src: p.ownIp, dst }),
      family: p.family,
      src: p.ownIp,
      dst,
      ttl: VRRP_TTL,
      ifname: p.ifname,
      vrid: p.vrid,
    }));
  }
}
