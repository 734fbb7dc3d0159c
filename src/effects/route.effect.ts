/**
 * The route effect: `createNetlinkRoutePort` installs and removes `virtual_routes` and
 * `virtual_rules` over rtnetlink (no `ip` subprocess), with the messages keepalived 2.2.7's
 * `netlink_route` and `netlink_rule` send:
 * - a route: RTM_NEWROUTE with NLM_F_CREATE, plus NLM_F_EXCL for `add` or NLM_F_APPEND for `append`
 *   (`prepend`, the default, neither); RTM_DELROUTE without flags. rtm_protocol is the route's
 *   (18, RTPROT_KEEPALIVED, unless `no_track` with a `protocol`); rtm_scope the configured one, else
 *   universe on add and RT_SCOPE_NOWHERE (any) on delete; rtm_type the route's on add and on delete
 *   only when written; a table above 255 goes in RTA_TABLE. RTA_DST, RTA_SRC (`from`), RTA_PREFSRC
 *   (`src`), RTA_GATEWAY (`via`), RTA_OIF (`dev`), RTA_PRIORITY (`metric`), RTNH_F_ONLINK.
 * - a rule: RTM_NEWRULE with NLM_F_CREATE | NLM_F_EXCL; RTM_DELRULE. FRA_SRC / FRA_DST, FRA_PRIORITY,
 *   FRA_FWMARK / FRA_FWMASK, FRA_IIFNAME / FRA_OIFNAME, FRA_PROTOCOL, FRA_GOTO, the table in the header
 *   or FRA_TABLE above 255, FIB_RULE_INVERT for `not`.
 * As keepalived: an existing route is installed (EEXIST), an existing rule is an error; a route or
 * rule already gone is removed (ESRCH, ENOENT), as is a route on an interface that is gone.
 * The watch side (keepalived_netlink.c `netlink_route_filter`, `netlink_rule_filter`): a tracked
 * route or rule deleted by someone else (`watchRouteDeletions`, `deletedEntry`).
 * `routeRequest` / `ruleRequest` / `parseDeletion` / `deletedEntry` are pure; the port and the watch are not.
 */
import type { NetlinkMessage, RtNetlinkSocket } from "netlink";
import type { Observable } from "rxjs";
import type { Route, Rule } from "../config/types.ts";
import { addressBytes, canonicalAddress } from "../protocol/address.ts";
import { EffectError, type RoutePort } from "../runtime/ports.ts";
import {
  AF_INET,
  AF_INET6,
  addressText,
  linkByName,
  type OpenRtnl,
  openRtnl,
  type RtnlOptions,
  talk,
  watchKernel,
} from "./rtnetlink.ts";

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_NOWHERE = 255;
const RTNH_F_ONLINK = 4;
const FIB_RULE_INVERT = 2;
/** rtattr types (linux/rtnetlink.h) and FIB rule attributes (linux/fib_rules.h). */
const RTA = { DST: 1, SRC: 2, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 } as const;
const FRA = {
  DST: 1,
  SRC: 2,
  IIFNAME: 3,
  GOTO: 4,
  PRIORITY: 6,
  FWMARK: 10,
  TABLE: 15,
  FWMASK: 16,
  OIFNAME: 17,
  PROTOCOL: 21,
} as const;
const FR_ACT: Readonly<Record<Rule["action"], number>> = {
  table: 1,
  goto: 2,
  nop: 3,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
};

/** One request: the netlink message type, its flags beyond REQUEST | ACK, and its payload. */
export interface Request {
  readonly type: number;
  readonly flags: number;
  readonly payload: Uint8Array;
}

/** Builds a payload: a 12-byte header, then attributes (rtattr: length, type, data padded to 4). */
class Payload {
  readonly #parts: Buffer[] = [];
  constructor(header: Buffer) {
    this.#parts.push(header);
  }
  attr(type: number, data: Uint8Array): this {
    const len = 4 + data.length;
    const b = Buffer.alloc((len + 3) & ~3);
    b.writeUInt16LE(len, 0);
    b.writeUInt16LE(type, 2);
    b.set(data, 4);
    this.#parts.push(b);
    return this;
  }
  u32(type: number, value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0, 0);
    return this.attr(type, b);
  }
  u8(type: number, value: number): this {
    return this.attr(type, Uint8Array.of(value));
  }
  text(type: number, value: string): this {
    return this.attr(type, Buffer.from(`${value}\0`));
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.#parts);
  }
}

const bytesOf = (what: string, address: string, family: 4 | 6): Uint8Array => {
  const b = addressBytes(address, family);
  if (b === undefined)
    throw new EffectError("EINVAL", `${what}: '${address}' is not an IPv${family} address`);
  return b;
};

/**
 * The message that adds or removes `route`; `ifindex` is its `dev`'s index (undefined without one).
 * Pure; throws an EffectError (EINVAL) for an address that is not of the route's family.
 */
export function routeRequest(route: Route, op: "add" | "remove", ifindex: number | undefined): Request {
  const add = op === "add";
  const f = route.family;
  const what = `route ${route.text}`;
  const h = Buffer.alloc(12);
  h[0] = f === 4 ? AF_INET : AF_INET6;
  h[1] = route.dstLength;
  h[2] = route.from?.prefixLength ?? 0;
  h[3] = route.tos;
  h[4] = route.table < 256 ? route.table : 0;
  h[5] = route.protocol;
  h[6] = route.scope ?? (add ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE);
  h[7] = add || route.typeGiven ? route.type : 0;
  h.writeUInt32LE(route.onlink ? RTNH_F_ONLINK : 0, 8);
  const p = new Payload(h);
  if (route.table >= 256) p.u32(RTA.TABLE, route.table);
  if (route.dstLength > 0) p.attr(RTA.DST, bytesOf(what, route.dst, f));
  if (route.from !== null) p.attr(RTA.SRC, bytesOf(what, route.from.address, f));
  if (route.src !== null) p.attr(RTA.PREFSRC, bytesOf(what, route.src, f));
  if (route.via !== null) p.attr(RTA.GATEWAY, bytesOf(what, route.via, f));
  if (ifindex !== undefined) p.u32(RTA.OIF, ifindex);
  if (route.metric !== null) p.u32(RTA.PRIORITY, route.metric);
  const flags = !add
    ? 0
    : NLM_F_CREATE | (route.mode === "add" ? NLM_F_EXCL : route.mode === "append" ? NLM_F_APPEND : 0);
  return { type: add ? RTM_NEWROUTE : RTM_DELROUTE, flags, payload: p.bytes() };
}

/** The message that adds or removes `rule`. Pure; throws an EffectError (EINVAL) for a bad address. */
export function ruleRequest(rule: Rule, op: "add" | "remove"): Request {
  const f = rule.family;
  const what = `rule ${rule.text}`;
  const toTable = rule.action === "table";
  const h = Buffer.alloc(12);
  h[0] = f === 4 ? AF_INET : AF_INET6;
  h[1] = rule.to?.prefixLength ?? 0;
  h[2] = rule.from?.prefixLength ?? 0;
  h[3] = rule.tos;
  h[4] = toTable && rule.table < 256 ? rule.table : 0;
  h[7] = FR_ACT[rule.action];
  h.writeUInt32LE(rule.invert ? FIB_RULE_INVERT : 0, 8);
  const p = new Payload(h);
  if (toTable && rule.table >= 256) p.u32(FRA.TABLE, rule.table);
  // A /0 prefix matches everything: the kernel keeps (and reports) no address for it.
  if (rule.from !== null && rule.from.prefixLength > 0) p.attr(FRA.SRC, bytesOf(what, rule.from.address, f));
  if (rule.to !== null && rule.to.prefixLength > 0) p.attr(FRA.DST, bytesOf(what, rule.to.address, f));
  p.u32(FRA.PRIORITY, rule.priority);
  if (rule.fwmark !== null) p.u32(FRA.FWMARK, rule.fwmark);
  if (rule.fwmask !== null) p.u32(FRA.FWMASK, rule.fwmask);
  if (rule.iif !== null) p.text(FRA.IIFNAME, rule.iif);
  if (rule.oif !== null) p.text(FRA.OIFNAME, rule.oif);
  if (rule.action === "goto") p.u32(FRA.GOTO, rule.goto);
  if (rule.protocol !== null) p.u8(FRA.PROTOCOL, rule.protocol);
  return {
    type: op === "add" ? RTM_NEWRULE : RTM_DELRULE,
    flags: op === "add" ? NLM_F_CREATE | NLM_F_EXCL : 0,
    payload: p.bytes(),
  };
}

/** Whether a kernel answer means done: an existing route (not rule) on add, an absent entry on remove. */
export function answerIsDone(kind: "route" | "rule", op: "add" | "remove", code: string): boolean {
  if (op === "add") return kind === "route" && code === "EEXIST";
  return code === "ESRCH" || code === "ENOENT" || (kind === "route" && code === "ENODEV");
}

export interface NetlinkRouteOptions {
  /** Opens the route socket (default: a fresh one in this thread's namespace). */
  readonly open?: OpenRtnl;
  /** Longest wait for one kernel reply (default 5000). */
  readonly timeoutMs?: number;
}

/** The route port plus its teardown (the route socket it keeps). */
export interface NetlinkRoutePort extends RoutePort {
  close(): void;
  /** The netlink port id of the port's socket (undefined before the first command): its own deletions. */
  ownPort(): number | undefined;
}

/**
 * The production `RoutePort`: one route socket, opened on first use and dropped after a socket
 * error or a timeout. Entries are sent one at a time in order (routes then rules on add, rules then
 * routes on remove), each `dev` looked up by name first; every entry is attempted, and the first
 * failure (in order) rejects.
 */
export function createNetlinkRoutePort(options: NetlinkRouteOptions = {}): NetlinkRoutePort {
  const open = options.open ?? openRtnl;
  const timeoutMs = options.timeoutMs ?? 5000;
  let sock: RtNetlinkSocket | undefined;
  const drop = (): void => {
    const s = sock;
    sock = undefined;
    s?.socket.close();
  };
  const socket = (): RtNetlinkSocket => {
    if (sock !== undefined) return sock;
    try {
      sock = open();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new EffectError(
        typeof code === "string" ? code : "INTERNAL",
        `cannot open rtnetlink: ${String(error)}`,
      );
    }
    const s = sock;
    s.socket.on("error", () => {
      if (sock === s) drop();
    });
    return s;
  };

  /** One entry; its failure as an EffectError, or undefined when done. */
  const one = async (
    kind: "route" | "rule",
    op: "add" | "remove",
    text: string,
    build: (ifindex: number | undefined) => Request,
    dev: string | null,
  ): Promise<EffectError | undefined> => {
    const what = `${kind} ${text}`;
    try {
      const s = socket();
      let ifindex: number | undefined;
      if (dev !== null) {
        const link = await linkByName(s, dev, timeoutMs);
        if ("code" in link) {
          if (link.code === "TIMEOUT") drop();
          if (op === "remove" && link.code === "ENODEV") return undefined; // gone with its interface
          return new EffectError(
            link.code,
            `${what}: ${link.code === "ENODEV" ? `no interface ${dev}` : link.code}`,
          );
        }
        ifindex = link.index;
      }
      const req = build(ifindex);
      const reply = await talk(s, req.type, [req.payload], req.flags, timeoutMs);
      if (reply.ok) return undefined;
      if (reply.code === "TIMEOUT") drop();
      if (answerIsDone(kind, op, reply.code)) return undefined;
      return new EffectError(reply.code, `${what}: ${reply.code}`);
    } catch (error) {
      return error instanceof EffectError ? error : new EffectError("INTERNAL", `${what}: ${String(error)}`);
    }
  };

  const apply = async (
    op: "add" | "remove",
    routes: readonly Route[],
    rules: readonly Rule[],
  ): Promise<void> => {
    const steps: Array<() => Promise<EffectError | undefined>> = [];
    const routeSteps = routes.map(
      (r) => () => one("route", op, r.text, (i) => routeRequest(r, op, i), r.dev),
    );
    const ruleSteps = rules.map((r) => () => one("rule", op, r.text, () => ruleRequest(r, op), null));
    if (op === "add") steps.push(...routeSteps, ...ruleSteps);
    else steps.push(...ruleSteps, ...routeSteps);
    let first: EffectError | undefined;
    for (const step of steps) {
      const failure = await step(); // every entry is attempted, whatever failed before
      first ??= failure;
    }
    if (first !== undefined) throw first;
  };
  return {
    add: (routes, rules) => apply("add", routes, rules),
    remove: (routes, rules) => apply("remove", routes, rules),
    close: drop,
    ownPort: () => {
      try {
        return sock?.socket.address().port;
      } catch {
        return undefined;
      }
    },
  };
}

// ---- deletions by someone else --------------------------------------------------------------------

/** A route or rule the kernel reports deleted (RTM_DELROUTE / RTM_DELRULE), with the sender's port. */
export type KernelDeletion =
  | {
      readonly kind: "route";
      readonly port: number;
      readonly family: 4 | 6;
      readonly table: number;
      readonly dstLength: number;
      readonly dst: string | null;
      readonly tos: number;
      readonly protocol: number;
      readonly metric: number;
      readonly oif: string | null;
    }
  | {
      readonly kind: "rule";
      readonly port: number;
      readonly family: 4 | 6;
      readonly invert: boolean;
      readonly from: string | null;
      readonly fromLength: number;
      readonly to: string | null;
      readonly toLength: number;
      readonly tos: number;
      readonly action: number;
      readonly table: number;
      readonly priority: number;
      readonly fwmark: number | null;
      readonly fwmask: number | null;
      readonly iif: string | null;
      readonly oif: string | null;
      readonly protocol: number | null;
      readonly goto: number | null;
    };

/** The attributes after a 12-byte header: type → data (the last of a type wins). */
const attributesOf = (data: Buffer): Map<number, Buffer> => {
  const out = new Map<number, Buffer>();
  for (let at = 12; at + 4 <= data.length; ) {
    const len = data.readUInt16LE(at);
    if (len < 4 || at + len > data.length) break;
    out.set(data.readUInt16LE(at + 2) & 0x3fff, data.subarray(at + 4, at + len));
    at += (len + 3) & ~3;
  }
  return out;
};
const u32Of = (b: Buffer | undefined): number | null =>
  b === undefined || b.length < 4 ? null : b.readUInt32LE(0);
const nameOf = (b: Buffer | undefined): string | null =>
  b === undefined ? null : b.toString("latin1").replace(/\0.*$/s, "");

/**
 * An RTM_DELROUTE / RTM_DELRULE notification as a `KernelDeletion` (interface indexes named by
 * `names`); undefined for anything else or a family other than IPv4 / IPv6. Pure.
 */
export function parseDeletion(
  m: Pick<NetlinkMessage, "type" | "port" | "data">,
  names: ReadonlyMap<number, string>,
): KernelDeletion | undefined {
  if ((m.type !== RTM_DELROUTE && m.type !== RTM_DELRULE) || m.data.length < 12) return undefined;
  const d = m.data;
  const family = d[0] === AF_INET ? 4 : d[0] === AF_INET6 ? 6 : undefined;
  if (family === undefined) return undefined;
  const a = attributesOf(d);
  const table = u32Of(a.get(RTA.TABLE)) ?? (d[4] as number);
  if (m.type === RTM_DELROUTE) {
    const oif = u32Of(a.get(RTA.OIF));
    return {
      kind: "route",
      port: m.port,
      family,
      table,
      dstLength: d[1] as number,
      dst: addressText(a.get(RTA.DST), family),
      tos: d[3] as number,
      protocol: d[5] as number,
      metric: u32Of(a.get(RTA.PRIORITY)) ?? 0,
      oif: oif === null ? null : (names.get(oif) ?? `#${oif}`),
    };
  }
  const protocol = a.get(FRA.PROTOCOL);
  return {
    kind: "rule",
    port: m.port,
    family,
    invert: (d.readUInt32LE(8) & FIB_RULE_INVERT) !== 0,
    from: addressText(a.get(FRA.SRC), family),
    fromLength: d[2] as number,
    to: addressText(a.get(FRA.DST), family),
    toLength: d[1] as number,
    tos: d[3] as number,
    action: d[7] as number,
    table,
    priority: u32Of(a.get(FRA.PRIORITY)) ?? 0,
    fwmark: u32Of(a.get(FRA.FWMARK)),
    fwmask: u32Of(a.get(FRA.FWMASK)),
    iif: nameOf(a.get(FRA.IIFNAME)),
    oif: nameOf(a.get(FRA.OIFNAME)),
    protocol: protocol === undefined || protocol.length < 1 ? null : (protocol[0] as number),
    goto: u32Of(a.get(FRA.GOTO)),
  };
}

const sameAddress = (a: string | null, b: string | null | undefined, family: 4 | 6): boolean =>
  (a === null ? null : (canonicalAddress(a, family) ?? a)) ===
  (b == null ? null : (canonicalAddress(b, family) ?? b));

/**
 * keepalived's `route_is_ours` / `compare_rule`: the text of the first tracked (`no_track` unset)
 * route or rule of `routes` / `rules` that the deletion removed, or undefined. A route matches by
 * protocol 18, family, table, prefix, TOS, metric (none written: the kernel's default, 0 for IPv4
 * and 1024 for IPv6, where keepalived compares with 0 and so never notices such an IPv6 route go),
 * interface and destination; a rule by every field it was installed with. `statics`: the
 * static routes' looser match (table, family, prefix, TOS and destination only). Pure.
 */
export function deletedEntry(
  d: KernelDeletion,
  routes: readonly Route[],
  rules: readonly Rule[],
  statics = false,
): string | undefined {
  if (d.kind === "route") {
    if (d.protocol !== 18) return undefined;
    return routes.find(
      (r) =>
        !r.noTrack &&
        r.family === d.family &&
        r.table === d.table &&
        r.dstLength === d.dstLength &&
        r.tos === d.tos &&
        (statics || ((r.metric ?? (r.family === 6 ? 1024 : 0)) === d.metric && r.dev === d.oif)) &&
        (r.dstLength === 0 || sameAddress(r.dst, d.dst, d.family)),
    )?.text;
  }
  if (d.protocol !== null && d.protocol !== 18) return undefined;
  return rules.find(
    (r) =>
      !r.noTrack &&
      r.family === d.family &&
      r.invert === d.invert &&
      (r.from?.prefixLength ?? 0) === d.fromLength &&
      ((r.from?.prefixLength ?? 0) === 0 || sameAddress(r.from?.address ?? null, d.from, d.family)) &&
      (r.to?.prefixLength ?? 0) === d.toLength &&
      ((r.to?.prefixLength ?? 0) === 0 || sameAddress(r.to?.address ?? null, d.to, d.family)) &&
      r.tos === d.tos &&
      FR_ACT[r.action] === d.action &&
      (r.action !== "table" || r.table === d.table) &&
      (r.action !== "goto" || r.goto === d.goto) &&
      r.priority === d.priority &&
      r.fwmark === d.fwmark &&
      (r.fwmark === null || (r.fwmask ?? 0xffffffff) === (d.fwmask ?? 0xffffffff)) &&
      r.iif === d.iif &&
      r.oif === d.oif,
  )?.text;
}

/**
 * Routes and rules deleted on the host (RTNLGRP_IPV4/IPV6_ROUTE and _RULE), as `KernelDeletion`s,
 * on a socket of its own (a busy routing table that overflows it does not stop the address watch).
 */
export const watchRouteDeletions = (options: RtnlOptions = {}): Observable<KernelDeletion> =>
  watchKernel("route", ["IPV4_ROUTE", "IPV6_ROUTE", "IPV4_RULE", "IPV6_RULE"], options, parseDeletion);
