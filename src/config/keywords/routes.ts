/**
 * The lines of `virtual_routes { … }` and `virtual_rules { … }` in a `vrrp_instance`, read word by
 * word as keepalived 2.2.7's `alloc_route` and `alloc_rule` read them (keepalived/vrrp/vrrp_iproute.c,
 * vrrp_iprule.c): the same keywords in any order, the same messages, the same line dropped, and
 * the same quirks (`inet`/`inet6` skips the word after it, `to blackhole X` takes `blackhole` as the
 * address, a bare number is a route type, a written type is keepalived's `add` (one mask bit
 * holds both), a `default` destination after an IPv4 or IPv6 word is a
 * family clash, a rule's single-port `sport`/`dport` is refused, rules without a preference are
 * numbered from 16384 down per family across the whole file). A keyword missing its value is
 * keepalived's fatal "missing a parameter". What keepalived would install is built as a Route or
 * Rule (src/config/types.ts) with keepalived's own text for it; an option keepalived accepts but
 * Vigil does not install (route metrics, encapsulation, nexthops, `expires`, `pref`, `vrf`…; rule
 * realms, suppressors, ports, uid ranges…) drops the entry with one "unsupported" warning (with
 * keepalived's own messages for the line), so that every Route and Rule can be installed as it
 * says; an option keepalived reports and ignores (`as to`, `features` other than ecn, a bad rule
 * `protocol`, `ipproto` or single port) leaves what keepalived installs. Interfaces are not looked
 * up here: like a VIP's `dev`, that is a host check (`interfacesOf`). Pure.
 */

import { addressBytes, formatIpv4, formatIpv6 } from "../../protocol/address.ts";
import type { Diagnostics } from "../diagnostics.ts";
import type { InstanceDraft } from "../draft.ts";
import type { Token } from "../lexer.ts";
import { formatIproute, formatIprule, type RouteIn, type RuleIn } from "../route-format.ts";
import {
  lookupName,
  protocolNumber,
  RT_DSFIELD,
  RT_GROUPS,
  RT_PROTOS,
  RT_REALMS,
  RT_SCOPES,
  RT_TABLES,
  routeTypeOf,
  scanRange,
  strtoul,
} from "../rt-names.ts";
import type { Ctx, KeywordSpec } from "../values.ts";
import { familyOf, readIpPrefix, readUnsigned, UINT32_MAX, valueBlock } from "../values.ts";

/** RTPROT_KEEPALIVED: the protocol of every route and rule keepalived tracks. */
export const RTPROT_KEEPALIVED = 18;
/** keepalived's first automatic rule preference (counted down per family). */
export const RULE_START_PRIORITY = 16384;

type Fam = 0 | 4 | 6;
/** An address as keepalived holds it: family 0 for `default` / `any` / `all` until the end. */
interface Addr {
  readonly address: string;
  readonly family: Fam;
  readonly prefixLength: number;
}

/** Thrown when a line ends where keepalived reads one more word: it exits there. */
const LINE_ENDS = Symbol("line ends");

/** A line being read: its words, and keepalived's `strvec_slot`. */
class Words {
  constructor(
    readonly ctx: Ctx,
    readonly toks: readonly Token[],
  ) {}

  get length(): number {
    return this.toks.length;
  }

  /** The word at `j`, which must be there (else keepalived's fatal "missing a parameter"). */
  at(j: number): Token {
    const t = this.toks[j];
    if (t !== undefined) return t;
    const first = this.toks[0] as Token;
    const after = this.toks[j - 1] as Token;
    this.ctx.diags.fatal(
      after,
      "value",
      `*** Configuration line starting \`${first.text}\` is missing a parameter after keyword \`${after.text}\` at word position ${j + 1}`,
      `missing value after '${after.text}'`,
    );
    throw LINE_ENDS;
  }

  /** The words as written, for Vigil's own messages (cut after 100 characters). */
  get written(): string {
    const all = this.toks.map((t) => t.text).join(" ");
    return all.length <= 100 ? all : `${all.slice(0, 99)}…`;
  }
}

const famOf = (text: string): 4 | 6 => (text.includes(":") ? 6 : 4);

/** An address as inet_pton takes it (no zone, no prefix) in the family its `:` says. */
const isAddressOf = (text: string, family: 4 | 6): boolean =>
  familyOf(text) === (family === 4 ? "ipv4" : "ipv6") && !text.includes("%");

/** keepalived's parse_ipaddress without a prefix: the family from a `:`, then inet_pton. */
function plainAddress(ctx: Ctx, t: Token): Addr | undefined {
  const family = famOf(t.text);
  if (!isAddressOf(t.text, family)) {
    ctx.diags.error(t, "value", `VRRP parsed invalid IP ${t.text}. skipping IP...`, "expected an address");
    return undefined;
  }
  return { address: t.text, family, prefixLength: family === 4 ? 32 : 128 };
}

/** keepalived's parse_route: `default` / `any` / `all` (no family yet), `default6`, or ADDR[/LEN]. */
function routeAddress(ctx: Ctx, t: Token): Addr | undefined {
  if (t.text === "default" || t.text === "any" || t.text === "all")
    return { address: "", family: 0, prefixLength: 0 };
  // keepalived only logs that `default6` is deprecated (not a configuration error)
  if (t.text === "default6") return { address: "::", family: 6, prefixLength: 0 };
  const p = readIpPrefix(ctx, t);
  if (p === undefined) return undefined;
  if (p.address.includes("%")) {
    ctx.diags.error(
      t,
      "value",
      `VRRP parsed invalid IP ${t.text}. skipping IP...`,
      "expected ADDRESS[/PREFIX]",
    );
    return undefined;
  }
  return { address: p.address, family: p.family === "ipv4" ? 4 : 6, prefixLength: p.prefixLength };
}

/** The address of an `Addr` once the family is known (`default` is the zero address). */
const addressIn = (a: Addr, family: 4 | 6): string =>
  a.family === 0 ? (family === 4 ? "0.0.0.0" : "::") : a.address;

const prefixOf = (a: Addr, family: 4 | 6) => ({
  address: addressIn(a, family),
  family: (a.family === 0 ? family : a.family) === 4 ? ("ipv4" as const) : ("ipv6" as const),
  prefixLength: a.prefixLength,
});

/** get_u8 / get_u16 / get_u32: read_unsigned's message, then the option's own (`message`). */
function getUnsigned(ctx: Ctx, t: Token, max: number, message: string): number | undefined {
  const v = readUnsigned(ctx, t, 0, max);
  if (v === undefined) ctx.diags.error(t, "value", message);
  return v;
}

/** read_unsigned64 (get_u64, tunnel-id): its messages; undefined when it fails. */
function readU64(ctx: Ctx, t: Token): bigint | undefined {
  const rest = t.text.replace(/^[ \t\n\v\f\r]+/, "");
  const n = strtoul(rest, 10);
  if (rest.startsWith("-")) ctx.diags.error(t, "range", `negative number '${t.text}'`);
  else if (n.end !== rest.length) ctx.diags.error(t, "value", `invalid number '${t.text}'`);
  else if (n.overflow) ctx.diags.error(t, "range", `number '${t.text}' outside unsigned 64 bit range`);
  else return n.value;
  return undefined;
}

/** read_unsigned in base 0 (a rule's preference: `0x10` and `010` too), with its messages. */
function readUnsignedBase0(ctx: Ctx, t: Token): number | undefined {
  const rest = t.text.replace(/^[ \t\n\v\f\r]+/, "");
  const n = strtoul(rest, 0);
  if (rest.startsWith("-")) ctx.diags.error(t, "range", `negative number '${t.text}'`);
  else if (n.end !== rest.length) ctx.diags.error(t, "value", `invalid number '${t.text}'`);
  else if (n.overflow || n.value > BigInt(UINT32_MAX))
    ctx.diags.error(t, "range", `number '${t.text}' outside unsigned integer range`);
  else return Number(n.value);
  return undefined;
}

/**
 * read_decimal_unsigned with `shift` decimal places (the number part of an rtt), with its messages
 * (they quote `text`, the number without its unit); false when it fails.
 */
function decimalOk(ctx: Ctx, t: Token, text: string, max: number, shift: number): boolean {
  if (text.startsWith("-")) {
    ctx.diags.error(t, "range", `negative number '${text}'`);
    return false;
  }
  const dp = text.indexOf(".");
  let decimals = dp < 0 ? 0 : text.length - dp - 1;
  let roundUp = false;
  if (decimals > shift) {
    ctx.diags.error(t, "range", `number '${text}' has too many decimal places`);
    roundUp = (text[dp + shift + 1] ?? "0") >= "5";
    decimals = shift;
  }
  const digits =
    (dp < 0 ? text : text.slice(0, dp) + text.slice(dp + 1, dp + 1 + decimals)) +
    "0".repeat(shift - decimals);
  const n = strtoul(digits, 10);
  const value = n.value + (roundUp ? 1n : 0n);
  const scale = 10 ** shift;
  const bound = (v: number) =>
    `${Math.floor(v / scale)}.${shift === 0 ? "" : String(v % scale).padStart(shift, "0")}`;
  if (n.end !== digits.length) ctx.diags.error(t, "value", `invalid number '${text}'`);
  else if (n.overflow) ctx.diags.error(t, "range", `number '${text}' outside unsigned decimal range`);
  else if (value > BigInt(max))
    ctx.diags.error(t, "range", `number '${text}' outside range [${bound(0)}, ${bound(max)}]`);
  else return true;
  return false;
}

/**
 * get_time_rtt: a number in the kernel's units, or with `s` / `sec` / `secs` / `ms` (any case);
 * no exponent. True when keepalived refuses it (values out of 200 ms..120 s are clamped, which it
 * only logs).
 */
function rttBad(ctx: Ctx, t: Token, unitMult: number): boolean {
  const s = t.text.replace(/^[ \t\n\v\f\r]+/, "");
  const p = s.search(/[sS]/);
  let number = s;
  let shift = 0;
  if (p >= 0) {
    if (!["s", "sec", "secs"].includes(s.slice(p).toLowerCase())) return true;
    let q = p;
    if (q > 0 && (s[q - 1] === "m" || s[q - 1] === "M")) q--;
    else shift = 3;
    if (q === 0) return true;
    number = s.slice(0, q);
  }
  if (/[eE]/.test(number)) return true;
  return !decimalOk(ctx, t, number, 120_000 * unitMult, shift);
}

/** get_realms: `[FROM/]TO`, each a number up to 255 or a name of /etc/iproute2/rt_realms. */
function realmsBad(ctx: Ctx, text: string): boolean {
  const slash = text.indexOf("/");
  if (slash < 0) return lookupName(ctx, RT_REALMS, text) === undefined;
  return (
    lookupName(ctx, RT_REALMS, text.slice(0, slash)) === undefined ||
    lookupName(ctx, RT_REALMS, text.slice(slash + 1)) === undefined
  );
}

/** parse_mpls_address: one or two labels (20 bits each, strtoul base 0) separated by `/`. */
function mplsBad(text: string): boolean {
  let s = text.replace(/^[ \t\n\v\f\r]+/, "");
  for (let count = 0; count < 2; count++) {
    if (s.startsWith("-") || /^[ \t\n\v\f\r]/.test(s)) return true;
    const n = strtoul(s, 0);
    if (n.end === 0 || n.value > 0xfffffn) return true;
    if (n.end === s.length) return false;
    if (s[n.end] !== "/") return true;
    s = s.slice(n.end + 1);
  }
  return true;
}

/** get_addr64: an ILA locator, four hex groups `x:x:x:x` of at most 0xffff. */
function locatorBad(text: string): boolean {
  let s = text.replace(/^[ \t\n\v\f\r]+/, "");
  for (let i = 0; i < 4; i++) {
    if (!/^[0-9a-fA-F]/.test(s)) return true;
    const n = strtoul(s, 16);
    if (n.value > 0xffffn || n.end === 0) return true;
    if (n.end === s.length) return i !== 3;
    if (i === 3 || s[n.end] !== ":") return true;
    s = s.slice(n.end + 1);
  }
  return false;
}

/**
 * parse_encap, from the `encap` word at `i`: its type and what that type reads, with keepalived's
 * messages (none drops the route). Returns the index of the last word it read, where keepalived's
 * loop goes on from (after an error inside `ip` / `ip6`, the word it failed on is read again as a
 * route keyword, as keepalived does).
 */
function readEncap(w: Words, i: number): number {
  const { ctx } = w;
  const at = w.toks[i] as Token;
  i++;
  if (w.length <= i) {
    ctx.diags.error(at, "value", "Missing encap type");
    return i;
  }
  const type = w.toks[i++] as Token;
  const word = (j: number) => w.toks[j] as Token;
  switch (type.text) {
    case "ip":
    case "ip6": {
      const v6 = type.text === "ip6";
      let dst = false;
      let id = false;
      let failed = false;
      for (; i + 1 < w.length; i += 2) {
        const key = word(i);
        const val = word(i + 1);
        const addressBad = (which: "dst" | "src"): boolean => {
          const a = plainAddress(ctx, val);
          if (a === undefined) {
            ctx.diags.error(val, "value", `Invalid encap ${v6 ? "ip6" : "ip"} ${which} ${val.text}`);
            return true;
          }
          if (a.family !== (v6 ? 6 : 4)) {
            ctx.diags.error(
              val,
              "value",
              v6
                ? `IPv4 address ${val.text} not valid for ip6 encapsulation`
                : `IPv6 address ${val.text} not valid for ip encapsulation`,
            );
            return true;
          }
          return false;
        };
        if (key.text === "id") {
          if (readU64(ctx, val) === undefined) {
            ctx.diags.error(
              val,
              "value",
              v6
                ? `id ${val.text} value invalid for IPv6 encapsulation`
                : `encap id ${val.text} value is invalid`,
            );
            failed = true;
          } else id = true;
        } else if (key.text === "dst") {
          failed = addressBad("dst");
          dst = !failed;
        } else if (key.text === "src") failed = addressBad("src");
        else if (key.text === (v6 ? "tc" : "tos")) {
          if (lookupName(ctx, RT_DSFIELD, val.text) === undefined) {
            // keepalived prints the keyword for ip6's `tc`
            ctx.diags.error(
              val,
              "value",
              v6
                ? `tc value ${key.text} is invalid for ip6 encapsulation`
                : `dsfield ${val.text} not valid for ip encapsulation`,
            );
            failed = true;
          }
        } else if (key.text === (v6 ? "hoplimit" : "ttl"))
          failed =
            getUnsigned(
              ctx,
              val,
              255,
              v6
                ? `Invalid hoplimit ${val.text} specified for ip6 encapsulation`
                : `ttl ${val.text} is not valid for ip encapsulation`,
            ) === undefined;
        else if (key.text === "flags")
          failed =
            getUnsigned(
              ctx,
              val,
              65535,
              `flags ${val.text} is not valid for ${v6 ? "ip6" : "ip"} encapsulation`,
            ) === undefined;
        else break;
        if (failed) return i - 1;
      }
      if (!dst && !id)
        ctx.diags.error(type, "value", `address or id missing for ${v6 ? "ip6" : "ip"} encapsulation`);
      return i - 1;
    }
    case "mpls":
    case "ila": {
      const mpls = type.text === "mpls";
      if (i >= w.length)
        ctx.diags.error(
          type,
          "value",
          mpls ? "missing address for MPLS encapsulation" : "missing locator for ILA encapsulation",
        );
      else {
        const v = word(i++);
        if (mpls ? mplsBad(v.text) : locatorBad(v.text))
          ctx.diags.error(
            v,
            "value",
            mpls
              ? `invalid mpls address ${v.text} for encapsulation`
              : `invalid locator ${v.text} for ila encapsulation`,
          );
      }
      return i - 1;
    }
    default:
      ctx.diags.error(type, "value", `Unknown encap type - ${type.text}`);
      return i;
  }
}

/** The route's family as its words set it, shared with the nexthops. */
interface FamilyBox {
  family: Fam;
}

/**
 * parse_nexthops, from the first `nexthop` at `i` to the end of the line: keepalived's messages
 * (an error ends the nexthops, never the route). The nexthops themselves are not kept: a route with
 * them is not installed by Vigil.
 */
function readNexthops(w: Words, i: number, route: FamilyBox): void {
  const { ctx } = w;
  let family: Fam = 0;
  while (i < w.length && (w.toks[i] as Token).text === "nexthop") {
    i++;
    for (; i < w.length; i++) {
      const t = w.toks[i] as Token;
      if (t.text === "via") {
        let a = w.at(++i);
        if (a.text === "inet" || a.text === "inet6") {
          family = a.text === "inet" ? 4 : 6;
          a = w.at(++i);
        }
        if (family !== 0) {
          if (route.family === 0) route.family = family;
          else if (route.family !== family) {
            ctx.diags.error(a, "value", "IPv4/6 mismatch for nexthop");
            return;
          }
        }
        const addr = plainAddress(ctx, a);
        if (addr === undefined) {
          ctx.diags.error(a, "value", `invalid nexthop address ${a.text}`);
          return;
        }
        if (route.family !== 0 && addr.family !== route.family) {
          ctx.diags.error(a, "value", "Address family mismatch for next hop");
          return;
        }
        if (route.family === 0) route.family = addr.family;
      } else if (t.text === "dev") w.at(++i);
      else if (t.text === "weight") {
        const v = w.at(++i);
        const n = getUnsigned(ctx, v, 256, `Invalid weight ${v.text} specified for route`);
        if (n === undefined) return;
        if (n === 0) {
          ctx.diags.error(v, "value", "Invalid weight 0 specified for route");
          return;
        }
      } else if (t.text === "onlink") {
        // a nexthop flag
      } else if (t.text === "encap") i = readEncap(w, i);
      else if (t.text === "realms") {
        const v = w.at(++i);
        if (realmsBad(ctx, v.text)) {
          ctx.diags.error(v, "value", `Invalid realms ${v.text} for route`);
          return;
        }
        if (route.family === 0) route.family = 4;
        else if (route.family !== 4) {
          ctx.diags.error(v, "value", "realms are only supported for IPv4");
          return;
        }
      } else if (t.text === "as") {
        if (w.at(++i).text === "to") i++;
        ctx.diags.error(t, "value", "'as [to]' (nat) not supported");
        return;
      } else break;
    }
  }
  const rest = w.toks[i];
  if (rest !== undefined)
    ctx.diags.error(rest, "value", `Route has trailing nonsense after nexthops - ${rest.text}`);
}

/** Route options keepalived takes that a Route cannot hold: each drops the route. */
const ROUTE_METRICS: Readonly<
  Record<string, { readonly lock: boolean; readonly max: number; readonly what: string }>
> = {
  mtu: { lock: true, max: UINT32_MAX, what: "Invalid MTU %s specified for route" },
  hoplimit: { lock: false, max: 255, what: "Invalid hoplimit %s specified for route" },
  advmss: { lock: true, max: UINT32_MAX, what: "Invalid advmss %s specified for route" },
  reordering: { lock: true, max: UINT32_MAX, what: "Invalid reordering value %s specified for route" },
  window: { lock: false, max: UINT32_MAX, what: "Invalid window value %s specified for route" },
  cwnd: { lock: true, max: UINT32_MAX, what: "Invalid cwnd value %s specified for route" },
  ssthresh: { lock: true, max: UINT32_MAX, what: "Invalid ssthresh value %s specified for route" },
  initcwnd: { lock: false, max: UINT32_MAX, what: "Invalid initcwnd value %s specified for route" },
  initrwnd: { lock: false, max: UINT32_MAX, what: "Invalid initrwnd value %s specified for route" },
  quickack: { lock: false, max: 1, what: "Invalid quickack value %s specified for route" },
  fastopen_no_cookie: {
    lock: false,
    max: 1,
    what: "Invalid fastopen_no_cookie value %s specified for route",
  },
};
/** rtt options: the kernel's units per millisecond, and keepalived's message. */
const ROUTE_RTTS: Readonly<Record<string, { readonly mult: number; readonly what: string }>> = {
  rtt: { mult: 8, what: "Invalid rtt %s for route" },
  rttvar: { mult: 4, what: "Invalid rttvar %s for route" },
  rto_min: { mult: 1, what: "Invalid rto_min value %s specified for route" },
};

/** The one warning for an entry Vigil does not install (the options it cannot install). */
function notInstalled(w: Words, what: "route" | "rule", options: readonly Token[]): void {
  const names = [...new Set(options.map((t) => t.text))];
  const list = names.map((n) => `'${n}'`).join(", ");
  w.ctx.diags.warn(
    options[0] as Token,
    "unsupported",
    `virtual ${what} '${w.written}': option${names.length > 1 ? "s" : ""} ${list} ${names.length > 1 ? "are" : "is"} not installed by Vigil - ${what} ignored`,
    `keepalived would install this ${what} with ${names.length > 1 ? "them" : "it"}; Vigil installs nothing for the line`,
  );
}

/** The network address of `address`/`len` (unchanged text when it has no host bits). */
function networkOf(address: string, family: 4 | 6, len: number): string {
  const b = addressBytes(address, family);
  if (b === undefined) return address;
  let changed = false;
  for (let i = 0; i < b.length; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i));
    const masked = (b[i] as number) & ((0xff << (8 - keep)) & 0xff);
    if (masked !== b[i]) changed = true;
    b[i] = masked;
  }
  if (!changed) return address;
  return family === 4 ? formatIpv4(b, 0) : formatIpv6(b, 0);
}

/** A name or number of one of iproute2's tables (`lookupName`), or keepalived's error for `v` and undefined. */
const lookupOr = (
  ctx: Ctx,
  table: Parameters<typeof lookupName>[1],
  v: Token,
  message: string,
  hint: string,
) => {
  const n = lookupName(ctx, table, v.text);
  if (n === undefined) ctx.diags.error(v, "value", message, hint);
  return n;
};

/**
 * One line of `virtual_routes` (or, `statics`, of `static_routes`, where `track_group NAME` is read),
 * as keepalived's alloc_route reads it; undefined when dropped.
 */
export const readRoute = (ctx: Ctx, toks: readonly Token[], statics = false): RouteIn | undefined =>
  readLine(ctx, toks, (w) => parseRoute(w, statics));

/** One line read by `parse`; undefined when it is dropped or ends where keepalived reads one more word. */
function readLine<T>(ctx: Ctx, toks: readonly Token[], parse: (w: Words) => T | undefined): T | undefined {
  if (toks.length === 0) return undefined;
  try {
    return parse(new Words(ctx, toks));
  } catch (e) {
    if (e === LINE_ENDS) return undefined;
    throw e;
  }
}

function parseRoute(w: Words, statics: boolean): RouteIn | undefined {
  const { ctx } = w;
  const fam: FamilyBox = { family: 0 };
  let dst: Addr | undefined;
  let dstWord: Token | undefined;
  let type = 1;
  // keepalived 2.2.7 keeps "a type was written" and `add` in ONE mask bit: its IPROUTE_BIT_ADD is
  // built from the command code IPROUTE_ADD (1), not the enum's, so it is IPROUTE_BIT_TYPE. A typed
  // route is therefore shown and sent as `add` (NLM_F_EXCL), `add` makes the type count on delete,
  // and `append` / `prepend` clear both.
  let addBit = false;
  let append = false;
  let src: Addr | undefined;
  let from: Addr | undefined;
  let via: Addr | undefined;
  let dev: string | null = null;
  let table = 254;
  let protocol = 0;
  let protocolGiven = false;
  let scope: number | null = null;
  let metric: number | null = null;
  let tos = 0;
  let tosGiven = false;
  let onlink = false;
  let noTrack = false;
  let orUsed = false;
  let nexthops = false;
  const unsupported: Token[] = [];
  const mix = (t: Token, family: Fam, suffix = ""): boolean => {
    if (fam.family === 0) fam.family = family;
    else if (fam.family !== family) {
      ctx.diags.error(t, "value", `Cannot mix IPv4 and IPv6 addresses for route${suffix}`);
      return true;
    }
    return false;
  };
  let i = 0;
  for (; i < w.length; i++) {
    const t = w.toks[i] as Token;
    const k = t.text;
    if (k === "inet" || k === "inet6") {
      const f = k === "inet" ? 4 : 6;
      if (fam.family === 0) fam.family = f;
      else if (fam.family !== f) {
        ctx.diags.error(t, "value", `${k} specified for ${f === 4 ? "IPv6" : "IPv4"} route`);
        return undefined;
      }
      // keepalived steps over the next word too (its loop adds one more)
      i++;
    } else if (k === "src") {
      const v = w.at(++i);
      src = plainAddress(ctx, v);
      if (src === undefined) {
        ctx.diags.error(v, "value", `invalid route src address ${v.text}`);
        return undefined;
      }
      if (mix(v, src.family)) return undefined;
    } else if (k === "as") {
      if (w.at(++i).text === "to") i++;
      // keepalived reports it and installs the route without it
      ctx.diags.warn(t, "semantic", '"as to" for MPLS only - ignoring');
    } else if (k === "via" || k === "gw") {
      if (k === "gw") ctx.diags.warn(t, "semantic", '"gw" for routes is deprecated. Please use "via"');
      let v = w.at(++i);
      let f = fam.family;
      if (v.text === "inet" || v.text === "inet6") {
        f = v.text === "inet" ? 4 : 6;
        v = w.at(++i);
      }
      if (mix(v, f)) return undefined;
      via = plainAddress(ctx, v);
      if (via === undefined) {
        ctx.diags.error(v, "value", `invalid route via address ${v.text}`);
        return undefined;
      }
      if (mix(v, via.family)) return undefined;
    } else if (k === "from") {
      const v = w.at(++i);
      from = routeAddress(ctx, v);
      if (from === undefined) {
        ctx.diags.error(v, "value", `invalid route from address ${v.text}`);
        return undefined;
      }
      if (from.family !== 6) {
        ctx.diags.error(v, "value", `route from address only supported with IPv6 (${v.text})`);
        return undefined;
      }
      if (mix(v, 6)) return undefined;
    } else if (k === "tos" || k === "dsfield") {
      const v = w.at(++i);
      const n = lookupOr(
        ctx,
        RT_DSFIELD,
        v,
        `TOS value ${v.text} is invalid`,
        "a number up to 255 or a name of /etc/iproute2/rt_dsfield",
      );
      if (n === undefined) return undefined;
      tos = n & 0xff;
      tosGiven = true;
    } else if (k === "table") {
      const v = w.at(++i);
      const n = lookupOr(
        ctx,
        RT_TABLES,
        v,
        `Routing table ${v.text} not found for route`,
        "a number or a name of /etc/iproute2/rt_tables",
      );
      if (n === undefined) return undefined;
      table = n;
    } else if (k === "protocol") {
      const v = w.at(++i);
      const n = lookupOr(
        ctx,
        RT_PROTOS,
        v,
        `Protocol ${v.text} not found or invalid for route`,
        "a number up to 255 or a name of /etc/iproute2/rt_protos",
      );
      if (n === undefined) return undefined;
      protocol = n & 0xff;
      protocolGiven = true;
    } else if (k === "scope") {
      const v = w.at(++i);
      const n = lookupOr(
        ctx,
        RT_SCOPES,
        v,
        `Scope ${v.text} not found or invalid for route`,
        "a number up to 255 or a name of /etc/iproute2/rt_scopes",
      );
      if (n === undefined) return undefined;
      scope = n & 0xff;
    } else if (k === "metric" || k === "priority" || k === "preference") {
      const v = w.at(++i);
      const n = getUnsigned(ctx, v, UINT32_MAX, `Invalid metric ${v.text} specified for route`);
      if (n === undefined) return undefined;
      metric = n;
    } else if (k === "dev" || k === "oif") {
      // whether the interface exists is a host check (interfacesOf), as for a VIP's dev
      dev = w.at(++i).text;
    } else if (k === "onlink") onlink = true;
    else if (k === "encap") {
      unsupported.push(t);
      i = readEncap(w, i);
    } else if (k === "expires") {
      unsupported.push(t);
      i++;
      if (fam.family === 4) {
        ctx.diags.error(t, "value", "expires is only valid for IPv6");
        return undefined;
      }
      fam.family = 6;
      const v = w.at(i);
      if (getUnsigned(ctx, v, UINT32_MAX, `Invalid expires time ${v.text} specified for route`) === undefined)
        return undefined;
    } else if (Object.hasOwn(ROUTE_METRICS, k)) {
      const m = ROUTE_METRICS[k] as (typeof ROUTE_METRICS)[string];
      unsupported.push(t);
      let v = w.at(++i);
      if (m.lock && v.text === "lock") v = w.at(++i);
      if (getUnsigned(ctx, v, m.max, m.what.replace("%s", v.text)) === undefined) return undefined;
    } else if (Object.hasOwn(ROUTE_RTTS, k)) {
      const m = ROUTE_RTTS[k] as (typeof ROUTE_RTTS)[string];
      unsupported.push(t);
      let v = w.at(++i);
      if (v.text === "lock") v = w.at(++i);
      if (rttBad(ctx, v, m.mult)) {
        ctx.diags.error(v, "value", m.what.replace("%s", v.text));
        return undefined;
      }
    } else if (k === "realms") {
      unsupported.push(t);
      const v = w.at(++i);
      if (realmsBad(ctx, v.text)) {
        ctx.diags.error(v, "value", `Invalid realms ${v.text} for route`);
        return undefined;
      }
      if (fam.family === 6) {
        ctx.diags.error(v, "value", "realms are only valid for IPv4");
        return undefined;
      }
      fam.family = 4;
    } else if (k === "features") {
      const v = w.at(++i);
      // only `ecn` sets a feature; another word is reported and the route installed without it
      if (v.text === "ecn") unsupported.push(t);
      else ctx.diags.error(v, "value", `feature ${v.text} not supported`);
    } else if (k === "congctl") {
      unsupported.push(t);
      if (w.at(++i).text === "lock") w.at(++i);
    } else if (k === "pref") {
      unsupported.push(t);
      i++;
      if (fam.family === 4) {
        ctx.diags.error(t, "value", "pref is only valid for IPv6");
        return undefined;
      }
      fam.family = 6;
      const v = w.at(i);
      if (
        !["low", "medium", "high"].includes(v.text) &&
        getUnsigned(ctx, v, 255, `Invalid pref value ${v.text} specified for route`) === undefined
      )
        return undefined;
    } else if (k === "ttl-propagate") {
      unsupported.push(t);
      const v = w.at(++i);
      if (v.text !== "enabled" && v.text !== "disabled")
        ctx.diags.error(v, "value", `ttl-propagate value ${v.text} not recognised`);
    } else if (k === "add" || k === "prepend" || k === "append") {
      addBit = k === "add";
      append = k === "append";
    } else if (k === "or") {
      ctx.diags.warn(t, "semantic", '"or" for routes is deprecated. Please use "nexthop"');
      if (orUsed) {
        ctx.diags.warn(t, "semantic", '"or" route already specified - ignoring subsequent');
        // keepalived skips the address and goes on after it
        i++;
        continue;
      }
      unsupported.push(t);
      orUsed = true;
      // the gateway becomes the first of two nexthops
      via = undefined;
      const v = w.at(++i);
      if (plainAddress(ctx, v) === undefined) {
        ctx.diags.error(v, "value", `Invalid "or" address ${v.text}`);
        return undefined;
      }
    } else if (k === "nexthop") {
      if (orUsed) ctx.diags.error(t, "value", 'Cannot specify nexthops with "or" route');
      else {
        unsupported.push(t);
        nexthops = true;
      }
      break;
    } else if (k === "no_track") noTrack = true;
    else if (statics && k === "track_group") trackGroup(ctx, t, w.at(++i));
    else if (k === "vrf") {
      // the VRF's table is the host's (keepalived looks the interface up)
      unsupported.push(t);
      w.at(++i);
    } else {
      // the destination, after an optional `to`; a type word (or any number 0-255) before it, read
      // from the word the loop is on (so `to blackhole X` takes `blackhole` as the address)
      if (k === "to") i++;
      const rt = routeTypeOf(k);
      if (rt !== undefined) {
        type = rt;
        addBit = true;
        i++;
      }
      const v = w.at(i);
      dst = routeAddress(ctx, v);
      dstWord = v;
      if (dst === undefined) {
        ctx.diags.error(v, "unknown-keyword", `unknown route keyword ${v.text}`);
        return undefined;
      }
      if (mix(v, dst.family, ` (${v.text})`)) return undefined;
    }
  }
  if (nexthops) readNexthops(w, i, fam);
  else if (i < w.length) {
    const rest = w.toks[i] as Token;
    ctx.diags.error(rest, "value", `Route has trailing nonsense - ${rest.text}`);
    return undefined;
  }
  const first = w.toks[0] as Token;
  if (dst === undefined || dstWord === undefined) {
    ctx.diags.error(first, "value", "Route must have a destination");
    return undefined;
  }
  let protocolShown = protocolGiven;
  if (!noTrack) {
    if (protocolGiven && protocol !== RTPROT_KEEPALIVED)
      ctx.diags.warn(
        first,
        "semantic",
        `Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(${RTPROT_KEEPALIVED}), resetting protocol`,
        "add no_track to keep the protocol",
      );
    protocol = RTPROT_KEEPALIVED;
    protocolShown = true;
    if (dev === null) {
      ctx.diags.warn(
        dstWord,
        "semantic",
        `Warning - cannot track route ${dstWord.text} with no interface specified, not tracking`,
        "add 'dev IF' to track it, or no_track",
      );
      noTrack = true;
    }
  }
  if (!protocolGiven && !protocolShown) protocol = RTPROT_KEEPALIVED;
  const family: 4 | 6 = fam.family === 0 ? 4 : fam.family;
  if (unsupported.length > 0) {
    notInstalled(w, "route", unsupported);
    return undefined;
  }
  const dstAddress = addressIn(dst, family);
  const network = networkOf(dstAddress, family, dst.prefixLength);
  if (family === 4 && network !== dstAddress)
    ctx.diags.warn(
      dstWord,
      "semantic",
      `virtual route '${w.written}': ${dstWord.text} has host bits set - the kernel refuses such an IPv4 route (keepalived's install fails); Vigil installs ${network}/${dst.prefixLength}`,
      `write ${network}/${dst.prefixLength}`,
    );
  const mode: RouteIn["mode"] = addBit ? "add" : append ? "append" : "prepend";
  const parts = {
    family,
    type,
    typeGiven: addBit,
    dst: network,
    dstLength: dst.prefixLength,
    from: from === undefined ? null : prefixOf(from, family),
    src: src?.address ?? null,
    via: via?.address ?? null,
    dev,
    table,
    protocol,
    scope,
    metric,
    tos,
    onlink,
    mode,
    noTrack,
  };
  return {
    text: formatIproute(parts, { protocolShown, tosShown: tosGiven, dstAddress }),
    ...parts,
    line: first.line,
  };
}

/** Per configuration read: the next automatic rule preference of each family (alloc_rule's counters). */
const nextPriority = new WeakMap<Diagnostics, { 4: number; 6: number }>();

const RULE_ACTIONS: Readonly<Record<number, RuleIn["action"]>> = {
  6: "blackhole",
  7: "unreachable",
  8: "prohibit",
};

/** One line of `virtual_rules` (or, `statics`, of `static_rules`), as keepalived's alloc_rule reads it; undefined when dropped. */
export const readRule = (ctx: Ctx, toks: readonly Token[], statics = false): RuleIn | undefined =>
  readLine(ctx, toks, (w) => parseRule(w, statics));

function parseRule(w: Words, statics: boolean): RuleIn | undefined {
  const { ctx } = w;
  let family: Fam = 0;
  let from: Addr | undefined;
  let to: Addr | undefined;
  let table = 0;
  let action: RuleIn["action"] | undefined;
  let invert = false;
  let priority: number | undefined;
  let tos = 0;
  let fwmark: number | null = null;
  let fwmask: number | null = null;
  let iif: string | null = null;
  let oif: string | null = null;
  let protocol: number | undefined;
  let noTrack = false;
  let tableOption = false;
  let l3mdev = false;
  let gotoTarget = 0;
  const unsupported: Token[] = [];
  const twoActions = (t: Token, l3: boolean): undefined => {
    ctx.diags.error(
      t,
      "value",
      `Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable${l3 ? "/l3mdev" : ""} for rule`,
    );
    return undefined;
  };
  for (let i = 0; i < w.length; i++) {
    const t = w.toks[i] as Token;
    const k = t.text;
    if (k === "inet" || k === "inet6") {
      const f = k === "inet" ? 4 : 6;
      if (family === 0) family = f;
      else if (family !== f) {
        ctx.diags.error(t, "value", `${k} specified for ${f === 4 ? "IPv6" : "IPv4"} rule`);
        return undefined;
      }
      // keepalived steps over the next word too
      i++;
    } else if (k === "from" || k === "to") {
      const v = w.at(++i);
      const a = routeAddress(ctx, v);
      if (a === undefined) {
        ctx.diags.error(v, "value", `Invalid rule ${k} address ${v.text}`);
        return undefined;
      }
      if (k === "from") from = a;
      else to = a;
      if (family === 0) family = a.family;
      else if (a.family !== family) {
        ctx.diags.error(v, "value", "rule specification has mixed IPv4 and IPv6");
        return undefined;
      }
    } else if (k === "table" || k === "lookup") {
      const v = w.at(++i);
      const n = lookupOr(
        ctx,
        RT_TABLES,
        v,
        `Routing table ${v.text} not found for rule`,
        "a number or a name of /etc/iproute2/rt_tables",
      );
      if (n === undefined) return undefined;
      if (n === 0) {
        ctx.diags.error(v, "value", "Table 0 is not valid");
        return undefined;
      }
      table = n;
      if (action !== undefined) return twoActions(t, false);
      action = "table";
    } else if (k === "not") invert = true;
    else if (k === "preference" || k === "order" || k === "priority") {
      const v = w.at(++i);
      const n = readUnsignedBase0(ctx, v);
      if (n === undefined) {
        // keepalived names the keyword here, not its value
        ctx.diags.error(v, "value", `Invalid rule preference ${k} specified`);
        return undefined;
      }
      priority = n;
    } else if (k === "tos" || k === "dsfield") {
      const v = w.at(++i);
      const n = lookupOr(
        ctx,
        RT_DSFIELD,
        v,
        `TOS value ${v.text} is invalid`,
        "a number up to 255 or a name of /etc/iproute2/rt_dsfield",
      );
      if (n === undefined) return undefined;
      tos = n & 0xff;
    } else if (k === "fwmark") {
      const v = w.at(++i);
      const s = v.text.replace(/^[ \t\n\v\f\r]+/, "");
      const bad = (): undefined => {
        ctx.diags.error(
          v,
          "value",
          `Invalid rule fwmark ${s} specified`,
          "MARK[/MASK], each a number up to 0xffffffff",
        );
        return undefined;
      };
      if (s.startsWith("-")) return bad();
      const mark = strtoul(s, 0);
      if (mark.value > BigInt(UINT32_MAX)) return bad();
      let end = mark.end;
      let mask: bigint | undefined;
      if (s[end] === "/") {
        const after = s.slice(end + 1);
        if (/^[ \t\n\v\f\r-]/.test(after)) return bad();
        const m = strtoul(after, 0);
        if (m.value > BigInt(UINT32_MAX)) return bad();
        mask = m.value;
        end = end + 1 + m.end;
      }
      if (end !== s.length) return bad();
      fwmark = Number(mark.value);
      fwmask = mask === undefined ? null : Number(mask);
    } else if (k === "realms") {
      unsupported.push(t);
      const v = w.at(++i);
      if (realmsBad(ctx, v.text)) {
        ctx.diags.error(v, "value", `invalid realms ${v.text} for rule`);
        return undefined;
      }
      tableOption = true;
      if (family === 0) family = 4;
      else if (family !== 4) {
        ctx.diags.error(v, "value", "realms is only valid for IPv4");
        return undefined;
      }
    } else if (k === "suppress_prefixlength" || k === "sup_pl") {
      unsupported.push(t);
      const v = w.at(++i);
      if (readUnsigned(ctx, v, 0, 0x7fffffff) === undefined) {
        ctx.diags.error(v, "value", `Invalid suppress_prefixlength ${k} specified`);
        return undefined;
      }
      tableOption = true;
    } else if (k === "suppress_ifgroup" || k === "sup_group") {
      unsupported.push(t);
      const v = w.at(++i);
      if (lookupName(ctx, RT_GROUPS, v.text) === undefined) {
        ctx.diags.error(v, "value", `suppress_group ${v.text} is invalid`);
        return undefined;
      }
      tableOption = true;
    } else if (k === "dev" || k === "iif") iif = w.at(++i).text;
    else if (k === "oif") oif = w.at(++i).text;
    else if (k === "tunnel-id") {
      unsupported.push(t);
      const v = w.at(++i);
      if (readU64(ctx, v) === undefined) {
        ctx.diags.error(v, "value", `Invalid tunnel-id ${k} specified`);
        return undefined;
      }
    } else if (k === "uidrange") {
      unsupported.push(t);
      const v = w.at(++i);
      if (scanRange(v.text, 32).count !== 2) {
        ctx.diags.error(v, "value", `Invalid uidrange ${k} specified`, "START-END");
        return undefined;
      }
    } else if (k === "l3mdev") {
      unsupported.push(t);
      l3mdev = true;
      if (action !== undefined) {
        ctx.diags.error(t, "value", "Cannot specify l3mdev with other action");
        return undefined;
      }
      action = "table";
    } else if (k === "protocol") {
      const v = w.at(++i);
      // a bad protocol is reported and the rule kept without it
      const n = readUnsigned(ctx, v, 0, 255);
      if (n === undefined) ctx.diags.error(v, "value", `Invalid protocol ${v.text}`);
      else protocol = n;
    } else if (k === "ipproto") {
      const v = w.at(++i);
      // inet_proto_a2n: a number up to 127, else a name of /etc/protocols; a bad one is reported
      // and the rule kept without it
      const s = v.text.replace(/^[ \t\n\v\f\r]+/, "");
      const n = strtoul(s, 10);
      const known =
        s !== "" &&
        !s.startsWith("-") &&
        n.value <= 127n &&
        (n.end === s.length || ((p) => p === true || (p !== undefined && p <= 255))(protocolNumber(ctx, s)));
      if (known) unsupported.push(t);
      else ctx.diags.error(v, "value", `Invalid ipproto ${v.text}`);
    } else if (k === "sport" || k === "dport") {
      const v = w.at(++i);
      // a single port is refused (keepalived counts one number as a failure) and the rule kept
      if (scanRange(v.text, 16).count === 2) unsupported.push(t);
      else ctx.diags.error(v, "value", `invalid ${k} range ${v.text}`, `write ${k} PORT-PORT`);
    } else if (k === "no_track") noTrack = true;
    else if (statics && k === "track_group") trackGroup(ctx, t, w.at(++i));
    else {
      let a = t;
      if (k === "type") a = w.at(++i);
      let act: RuleIn["action"];
      if (a.text === "goto") {
        const v = w.at(++i);
        const n = readUnsigned(ctx, v, 0, UINT32_MAX);
        if (n === undefined) {
          // keepalived names the keyword here, not its value
          ctx.diags.error(v, "value", `Invalid target ${a.text} specified`);
          return undefined;
        }
        gotoTarget = n;
        act = "goto";
      } else if (a.text === "nop") act = "nop";
      else {
        const rt = routeTypeOf(a.text);
        if (rt === undefined) {
          ctx.diags.error(a, "unknown-keyword", `Unknown rule option ${a.text}`);
          return undefined;
        }
        const named = RULE_ACTIONS[rt];
        if (named === undefined) {
          ctx.diags.error(
            a,
            "value",
            `Invalid rule action ${a.text}`,
            "blackhole, unreachable, prohibit, nop, goto N or table N",
          );
          return undefined;
        }
        act = named;
      }
      if (action !== undefined) return twoActions(a, true);
      action = act;
    }
  }
  const first = w.toks[0] as Token;
  if (action === "goto") {
    if (priority === undefined) {
      ctx.diags.error(
        first,
        "value",
        `Invalid rule - goto target ${gotoTarget} specified without preference`,
      );
      return undefined;
    }
    if (priority >= gotoTarget) {
      ctx.diags.error(first, "value", `Invalid rule - preference ${priority} >= goto target ${gotoTarget}`);
      return undefined;
    }
  }
  if (action === undefined) {
    ctx.diags.error(
      first,
      "value",
      "No action specified for rule - ignoring",
      "add table N, goto N, nop, blackhole, unreachable or prohibit",
    );
    return undefined;
  }
  if (action !== "table" && tableOption) {
    ctx.diags.error(first, "value", "suppressor/realm specified for non table action - skipping");
    return undefined;
  }
  if (table !== 0 && l3mdev) {
    ctx.diags.error(first, "value", "table cannot be specified for l3mdev rules");
    return undefined;
  }
  if (!noTrack) {
    if (protocol !== undefined && protocol !== RTPROT_KEEPALIVED)
      ctx.diags.warn(
        first,
        "semantic",
        `Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(${RTPROT_KEEPALIVED}), resetting protocol`,
        "add no_track to keep the protocol",
      );
    protocol = RTPROT_KEEPALIVED;
  }
  const fam: 4 | 6 = family === 0 ? 4 : family;
  if (priority === undefined) {
    let next = nextPriority.get(ctx.diags);
    if (next === undefined) {
      next = { 4: RULE_START_PRIORITY, 6: RULE_START_PRIORITY };
      nextPriority.set(ctx.diags, next);
    }
    priority = next[fam];
    next[fam] = priority === 0 ? UINT32_MAX : priority - 1;
    ctx.diags.warn(
      first,
      "semantic",
      `Rule has no preference specified - setting to ${priority}. This is probably not what you want.`,
      "give every rule a preference",
    );
  }
  if (unsupported.length > 0) {
    notInstalled(w, "rule", unsupported);
    return undefined;
  }
  const parts = {
    family: fam,
    invert,
    from: from === undefined ? null : prefixOf(from, fam),
    to: to === undefined ? null : prefixOf(to, fam),
    priority,
    tos,
    fwmark: fwmark ?? (fwmask === null ? null : 0),
    fwmask,
    iif,
    oif,
    protocol: protocol ?? null,
    action,
    table: action === "table" ? table : 0,
    goto: action === "goto" ? gotoTarget : 0,
    noTrack,
  };
  return { text: formatIprule(parts), ...parts, line: first.line };
}

/** A static entry's `track_group NAME`: keepalived watches the entry through the group; Vigil has no track groups. */
const trackGroup = (ctx: Ctx, t: Token, v: Token): void =>
  ctx.diags.warn(
    t,
    "unsupported",
    `'track_group ${v.text}' is parsed but not acted on by Vigil yet (track groups are not implemented): the group's instances do not track the entry's interface`,
  );

/** virtual_routes / virtual_rules: keepalived's alloc_value_block, then each line. */
const entries = <T>(
  read: (ctx: Ctx, toks: readonly Token[]) => T | undefined,
  into: (s: InstanceDraft) => T[],
): KeywordSpec<InstanceDraft> => ({
  block: true,
  handle: (c, st, s) => {
    for (const item of valueBlock(c, st)) {
      const entry = read(c, [item.keyword, ...item.args]);
      if (entry !== undefined) into(s).push(entry);
    }
  },
});

export const routeKeywords = {
  virtual_routes: entries(readRoute, (s) => s.routes),
  virtual_rules: entries(readRule, (s) => s.rules),
};

/**
 * The interfaces an instance's routes and rules name, each with keepalived's message for when it
 * does not exist on the host (keepalived then drops the line and refuses to start, like for a VIP's
 * `dev`: a host check, see src/cli/host-checks.ts).
 */
export function interfacesOf(inst: {
  readonly routes: readonly { readonly dev: string | null; readonly line: number }[];
  readonly rules: readonly {
    readonly iif: string | null;
    readonly oif: string | null;
    readonly line: number;
  }[];
}): Array<{ readonly ifname: string; readonly line: number; readonly message: string }> {
  const out: Array<{ ifname: string; line: number; message: string }> = [];
  for (const r of inst.routes)
    if (r.dev !== null)
      out.push({
        ifname: r.dev,
        line: r.line,
        message: `WARNING - interface ${r.dev} for VROUTE nexthop doesn't exist`,
      });
  for (const r of inst.rules)
    for (const ifname of [r.iif, r.oif])
      if (ifname !== null)
        out.push({ ifname, line: r.line, message: `WARNING - interface ${ifname} for rule doesn't exist` });
  return out;
}
