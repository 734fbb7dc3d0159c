/**
 * keepalived 2.2.7's text for a virtual route and a virtual rule (`format_iproute`,
 * `format_iprule`): the lines of its data dump and the strings of its JSON dump's `vroutes` and
 * `vrules`, which Vigil uses as a route's or rule's name (`Route.text`, `Rule.text`). Addresses are
 * printed as glibc's inet_ntop prints them, with `/LEN` unless the length is the whole address.
 * Only the parts a Route or Rule can hold are printed (Vigil installs no route with metrics,
 * encapsulation or nexthops, nor a rule with realms, ports or the like). Pure.
 */
import { addressBytes } from "../protocol/address.ts";
import { routeTypeName } from "./rt-names.ts";
import type { ConfigInput } from "./types.ts";

type InstanceIn = ConfigInput["instances"][number];
/** A Route as the front end builds it (plain strings, before the Schema brands them). */
export type RouteIn = InstanceIn["routes"][number];
/** A Rule as the front end builds it. */
export type RuleIn = InstanceIn["rules"][number];

/**
 * glibc's inet_ntop: IPv6 in lower case with the first longest run of two or more zero groups as
 * `::`, and the last 32 bits as a dotted quad for `::a.b.c.d` and `::ffff:a.b.c.d`. The text is
 * returned as it is when it is not an address of the family.
 */
export function inetNtop(address: string, family: 4 | 6): string {
  if (family === 4) return address;
  const b = addressBytes(address, 6);
  if (b === undefined) return address;
  const w = Array.from({ length: 8 }, (_, i) => ((b[2 * i] as number) << 8) | (b[2 * i + 1] as number));
  let best = { at: -1, len: 0 };
  let run = { at: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      run = run.at < 0 ? { at: i, len: 1 } : { at: run.at, len: run.len + 1 };
      if (run.len > best.len) best = run;
    } else run = { at: -1, len: 0 };
  }
  if (best.len < 2) best = { at: -1, len: 0 };
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (best.at >= 0 && i >= best.at && i < best.at + best.len) {
      if (i === best.at) out += ":";
      continue;
    }
    if (i > 0) out += ":";
    if (i === 6 && best.at === 0 && (best.len === 6 || (best.len === 5 && w[5] === 0xffff))) {
      out += `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
      break;
    }
    out += (w[i] as number).toString(16);
  }
  if (best.at >= 0 && best.at + best.len === 8) out += ":";
  return out;
}

/** keepalived's ipaddresstos: the address, then `/LEN` unless LEN is 32 (IPv4) or 128 (IPv6). */
export const prefixText = (address: string, family: 4 | 6, prefixLength: number): string =>
  `${inetNtop(address, family)}${prefixLength === (family === 4 ? 32 : 128) ? "" : `/${prefixLength}`}`;

const fam = (f: "ipv4" | "ipv6"): 4 | 6 => (f === "ipv4" ? 4 : 6);

/**
 * What keepalived prints for a route that a Route does not say by itself: whether ` proto N` and
 * ` tos N` are printed (keepalived prints a protocol when it was written or the route is tracked,
 * which a route without `dev` still was when keepalived set its protocol to 18; and a tos when
 * written, even 0), and the destination as it was written, before Vigil took its network address.
 */
export interface RouteTextExtras {
  /** Default: the route is tracked, or its protocol is not 18. */
  readonly protocolShown?: boolean;
  /** Default: the tos is not 0. */
  readonly tosShown?: boolean;
  /** The destination address as keepalived keeps it (default: `dst`). */
  readonly dstAddress?: string;
}

/**
 * `format_iproute`: `MODE [TYPE ]DST[ from P][ src A][ tos N][ via inet|inet6 A][ dev IF][ table N]`
 * `[ proto N][ scope N][ metric N][ onlink][ no_track]` (onlink for IPv4 only; table unless 254;
 * type unless unicast).
 */
export function formatIproute(r: Omit<RouteIn, "text" | "line">, extras: RouteTextExtras = {}): string {
  const parts = [`${r.mode} `];
  if (r.type !== 1) parts.push(`${routeTypeName(r.type)} `);
  parts.push(prefixText(extras.dstAddress ?? r.dst, r.family, r.dstLength));
  if (r.from !== null)
    parts.push(` from ${prefixText(r.from.address, fam(r.from.family), r.from.prefixLength)}`);
  if (r.src !== null) parts.push(` src ${inetNtop(r.src, r.family)}`);
  if (extras.tosShown ?? r.tos !== 0) parts.push(` tos ${r.tos}`);
  if (r.via !== null) parts.push(` via ${r.family === 6 ? "inet6" : "inet"} ${inetNtop(r.via, r.family)}`);
  if (r.dev !== null) parts.push(` dev ${r.dev}`);
  if (r.table !== 254) parts.push(` table ${r.table}`);
  if (extras.protocolShown ?? (!r.noTrack || r.protocol !== 18)) parts.push(` proto ${r.protocol}`);
  if (r.scope !== null) parts.push(` scope ${r.scope}`);
  if (r.metric !== null) parts.push(` metric ${r.metric}`);
  if (r.family === 4 && r.onlink) parts.push(" onlink");
  if (r.noTrack) parts.push(" no_track");
  return parts.join("");
}

/**
 * `format_iprule`: `[inet6 ][not ]from P|all[ to P] priority N tos 0xN[ fwmark 0xN[/0xM]][ iif IF]`
 * `[ oif IF][ protocol N] ACTION[ no_track]`, ACTION being `lookup N`, `goto N`, `nop` or
 * `type blackhole|unreachable|prohibit` (`inet6 ` only for an IPv6 rule with neither from nor to;
 * the mask unless 0xffffffff).
 */
export function formatIprule(r: Omit<RuleIn, "text" | "line">): string {
  const parts: string[] = [];
  if (r.from === null && r.to === null && r.family === 6) parts.push("inet6 ");
  if (r.invert) parts.push("not ");
  parts.push(
    r.from === null
      ? "from all"
      : `from ${prefixText(r.from.address, fam(r.from.family), r.from.prefixLength)}`,
  );
  if (r.to !== null) parts.push(` to ${prefixText(r.to.address, fam(r.to.family), r.to.prefixLength)}`);
  parts.push(` priority ${r.priority}`, ` tos 0x${r.tos.toString(16)}`);
  if (r.fwmark !== null || r.fwmask !== null) {
    parts.push(` fwmark 0x${(r.fwmark ?? 0).toString(16)}`);
    if (r.fwmask !== null && r.fwmask !== 0xffffffff) parts.push(`/0x${r.fwmask.toString(16)}`);
  }
  if (r.iif !== null) parts.push(` iif ${r.iif}`);
  if (r.oif !== null) parts.push(` oif ${r.oif}`);
  if (r.protocol !== null) parts.push(` protocol ${r.protocol}`);
  if (r.action === "table") parts.push(` lookup ${r.table}`);
  else if (r.action === "goto") parts.push(` goto ${r.goto}`);
  else if (r.action === "nop") parts.push(" nop");
  else parts.push(` type ${r.action}`);
  if (r.noTrack) parts.push(" no_track");
  return parts.join("");
}
