/**
 * The virtual-address effect: `createNetlinkVipPort` adds and removes `virtual_ipaddress` /
 * `virtual_ipaddress_excluded` entries over rtnetlink (no `ip` subprocess), building RTM_NEWADDR /
 * RTM_DELADDR as keepalived 2.2.7's `netlink_ipaddress` does: IFA_LOCAL always; IFA_ADDRESS for a
 * peer (and, IPv4 only, on delete: the address, or its peer, where keepalived's own delete misses);
 * IFA_BROADCAST (IPv4 add, computed for `brd +|-` when the
 * prefix is at most /30, none with a peer); IFA_FLAGS (home, mngtmpaddr, noprefixroute, autojoin,
 * and NODAD on every IPv6 add unless `-nodad`) only when non-zero; IFA_CACHEINFO (preferred =
 * preferred_lft, valid = forever) for an IPv6 add unless preferred_lft is forever, the default
 * being 0 (deprecated) for a /128 and forever otherwise; IFA_LABEL on add; no scope or label for
 * IPv6; no NLM_F_CREATE/EXCL. Interface names are resolved to indexes through the port's socket
 * and cached (see `createNetlinkVipPort`). `buildAddressRequest` (the message contents) is pure; the port itself is not.
 */
import netlink, { type NetlinkMessage, type RtNetlinkSocket, type rt as rtTypes } from "netlink";
import { addressBytes } from "../protocol/address.ts";
import { EffectError, type VipAddress, type VipPort } from "../runtime/ports.ts";
import {
  linkByName,
  type OpenRtnl,
  openRtnl,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  talk,
} from "./rtnetlink.ts";

const { AttrStream, rt } = netlink;

export const IFA_F_NODAD = 0x02;
export const IFA_F_HOMEADDRESS = 0x10;
export const IFA_F_MANAGETEMPADDR = 0x100;
export const IFA_F_NOPREFIXROUTE = 0x200;
export const IFA_F_MCAUTOJOIN = 0x400;
export const INFINITY_LIFE_TIME = 0xffffffff;

/** Scope names keepalived accepts (iproute2's rt_scopes). */
const SCOPES: Readonly<Record<string, number>> = {
  global: 0,
  universe: 0,
  site: 200,
  link: 253,
  host: 254,
  nowhere: 255,
};

/** The scope number of a name or number, or undefined when it is neither. */
export function scopeNumber(scope: string): number | undefined {
  const named = SCOPES[scope];
  if (named !== undefined) return named;
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(scope)) return undefined;
  const n = Number(scope);
  return n <= 255 ? n : undefined;
}

/** What goes into one RTM_NEWADDR / RTM_DELADDR (the ifaddrmsg fields and the attributes). */
export interface AddressRequest {
  readonly family: 4 | 6;
  readonly prefixLength: number;
  readonly scope: number;
  readonly index: number;
  readonly local: Uint8Array;
  /** IFA_ADDRESS: the peer on add, the address itself on an IPv4 delete. */
  readonly address: Uint8Array | null;
  readonly broadcast: Uint8Array | null;
  readonly label: string | null;
  /** IFA_FLAGS (u32), absent when 0. */
  readonly flags: number;
  /** IFA_CACHEINFO preferred lifetime (valid is forever), absent when null. */
  readonly preferredLft: number | null;
}

const invalid = (vip: VipAddress, why: string): { readonly error: string } => ({
  error: `VIP ${vip.address}/${vip.prefixLength} dev ${vip.dev}: ${why}`,
});

/** keepalived's broadcast for `brd +` (host bits set) or `brd -` (host bits clear) at a prefix ≤ 30. */
export function computedBroadcast(base: Uint8Array, prefixLength: number, plus: boolean): Uint8Array {
  const out = Uint8Array.from(base);
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(8, prefixLength - 8 * i));
    const hostMask = 0xff >> bits;
    out[i] = plus ? (out[i] ?? 0) | hostMask : (out[i] ?? 0) & ~hostMask & 0xff;
  }
  return out;
}

/**
 * The message keepalived sends to add (`op` "add") or remove a VIP on interface `index`, or why it
 * cannot be built. Pure.
 */
export function buildAddressRequest(
  vip: VipAddress,
  op: "add" | "remove",
  index: number,
): AddressRequest | { readonly error: string } {
  const family = vip.family;
  if (family !== 4 && family !== 6) return invalid(vip, `bad family ${String(family)}`);
  const full = family === 4 ? 32 : 128;
  const local = addressBytes(vip.address, family);
  if (local === undefined) return invalid(vip, `'${vip.address}' is not an IPv${family} address`);
  if (!Number.isInteger(vip.prefixLength) || vip.prefixLength < 0 || vip.prefixLength > full)
    return invalid(vip, `bad prefix length ${vip.prefixLength}`);
  let peer: Uint8Array | null = null;
  if (vip.peer !== null) {
    peer = addressBytes(vip.peer, family) ?? null;
    if (peer === null) return invalid(vip, `peer '${vip.peer}' is not an IPv${family} address`);
  }
  // keepalived: a peer is parsed without a prefix, so the address takes /32 (/128).
  const prefixLength = peer === null ? vip.prefixLength : full;
  const add = op === "add";
  let scope = 0;
  if (family === 4) {
    const s = scopeNumber(vip.scope);
    if (s === undefined) return invalid(vip, `unknown scope '${vip.scope}'`);
    scope = s;
  }
  let broadcast: Uint8Array | null = null;
  if (add && family === 4 && vip.broadcast !== null && peer === null) {
    if (vip.broadcast === "+" || vip.broadcast === "-") {
      if (prefixLength <= 30) broadcast = computedBroadcast(local, prefixLength, vip.broadcast === "+");
    } else {
      broadcast = addressBytes(vip.broadcast, 4) ?? null;
      if (broadcast === null) return invalid(vip, `bad broadcast '${vip.broadcast}'`);
    }
  }
  let flags = 0;
  let preferredLft: number | null = null;
  if (add) {
    if (vip.home) flags |= IFA_F_HOMEADDRESS;
    if (vip.mngTmpAddr) flags |= IFA_F_MANAGETEMPADDR;
    if (vip.noPrefixRoute) flags |= IFA_F_NOPREFIXROUTE;
    if (vip.autoJoin) flags |= IFA_F_MCAUTOJOIN;
    if (family === 6) {
      // `noDad` is keepalived's `-nodad`: it keeps DAD on; otherwise IPv6 VIPs skip DAD.
      if (!vip.noDad) flags |= IFA_F_NODAD;
      const lft = vip.preferredLft ?? (prefixLength === 128 ? 0 : "forever");
      if (lft !== "forever") {
        if (!Number.isInteger(lft) || lft < 0 || lft > INFINITY_LIFE_TIME)
          return invalid(vip, `bad preferred_lft ${lft}`);
        if (lft < INFINITY_LIFE_TIME) preferredLft = lft;
      }
    }
  }
  const label = add && family === 4 ? vip.label : null;
  if (label !== null && (label === "" || Buffer.byteLength(label) > 15))
    return invalid(vip, `bad label '${label}'`);
  return {
    family,
    prefixLength,
    scope,
    index,
    local,
    // keepalived deletes an IPv4 VIP with IFA_ADDRESS = the address itself, which never matches a
    // peer VIP (the kernel compares it with the peer): keepalived 2.2.7 leaves those behind. The
    // peer is sent instead, so the VIP really goes.
    address: add ? peer : family === 4 ? (peer ?? local) : null,
    broadcast,
    label,
    flags,
    preferredLft,
  };
}

/** The netlink payload (ifaddrmsg + attributes) of a request. Pure. */
export function encodeAddressRequest(r: AddressRequest): Uint8Array[] {
  const attrs: rtTypes.AddressAttrs = { local: Buffer.from(r.local) };
  if (r.address !== null) attrs.address = Buffer.from(r.address);
  if (r.broadcast !== null) attrs.broadcast = Buffer.from(r.broadcast);
  if (r.label !== null) attrs.label = r.label;
  if (r.flags !== 0) attrs.flags = rt.parseAddressFlags(r.flags);
  if (r.preferredLft !== null)
    attrs.cacheInfo = { ifaPrefered: r.preferredLft, ifaValid: INFINITY_LIFE_TIME, cstamp: 0, tstamp: 0 };
  const stream = new AttrStream();
  rt.formatAddressMessage(
    {
      kind: "address",
      data: { family: r.family === 4 ? 2 : 10, prefixlen: r.prefixLength, scope: r.scope, index: r.index },
      attrs,
    },
    stream,
  );
  return stream.bufs;
}

/** `198.18.0.10/24 dev eth0` for messages. */
export const describeVip = (v: VipAddress): string => `${v.address}/${v.prefixLength} dev ${v.dev}`;

export interface NetlinkVipOptions {
  /** Opens the route socket (default: a fresh one in this thread's namespace). */
  readonly open?: OpenRtnl;
  /** Longest wait for one kernel reply (default 5000). */
  readonly timeoutMs?: number;
}

/** The VIP port plus its teardown (the route socket it keeps). */
export interface NetlinkVipPort extends VipPort {
  /** Closes the route socket; a later command opens a new one. */
  close(): void;
}

type Op = "add" | "remove";

/** A request's outcome: done, failed, or sent to a cached index the kernel no longer has. */
type Sent = EffectError | undefined | "stale";

/**
 * The production `VipPort`. Latency is takeover latency here, so a command costs one netlink round
 * trip: the port keeps ONE route socket (opened on first use, reopened after an error or a timeout)
 * and each interface's index by name, so that on a cache hit the RTM_NEWADDR is on the socket
 * before `add` returns (no GETLINK round trip, no event-loop turn: the kernel has the address when
 * the command is dispatched). The requests of one command are all sent, in order, before their
 * answers are awaited. The socket is subscribed to link notifications: an interface deleted,
 * renamed or replaced drops its cached index; an ENODEV answer to a request sent to a cached index
 * drops it too and the address is looked up and sent again once; a socket error drops them all.
 * Every address is attempted; rejects with an `EffectError` for the first (in order) that failed.
 */
export function createNetlinkVipPort(options: NetlinkVipOptions = {}): NetlinkVipPort {
  const open = options.open ?? openRtnl;
  const timeoutMs = options.timeoutMs ?? 5000;
  const indexes = new Map<string, number>();
  let sock: RtNetlinkSocket | undefined;

  const drop = (which: RtNetlinkSocket | undefined): void => {
    if (which === undefined || which !== sock) return;
    sock = undefined;
    indexes.clear();
    which.socket.close();
  };
  /** A link notification: a cached name or index it contradicts (or deletes) is dropped. */
  const onLink = (messages: readonly NetlinkMessage[]): void => {
    for (const m of messages) {
      if (m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) continue;
      let index: number | undefined;
      let ifname: string | undefined;
      try {
        const link = rt.parseLinkMessage(m.data);
        index = link.data.index;
        ifname = link.attrs.ifname;
      } catch {
        indexes.clear(); // unreadable: trust nothing cached
        continue;
      }
      const kept = m.type === RTM_NEWLINK; // a link changed in place (flags, MTU) keeps its index
      for (const [name, i] of indexes)
        if ((i === index || name === ifname) && !(kept && i === index && name === ifname))
          indexes.delete(name);
    }
  };
  const socket = (): RtNetlinkSocket => {
    if (sock !== undefined) return sock;
    let s: RtNetlinkSocket;
    try {
      s = open();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new EffectError(
        typeof code === "string" ? code : "INTERNAL",
        `cannot open rtnetlink: ${String(error)}`,
      );
    }
    sock = s;
    s.socket.on("error", () => drop(s));
    s.socket.on("message", onLink);
    try {
      s.addMembership("LINK");
    } catch {
      /* without link notifications a stale index still answers ENODEV, handled below */
    }
    return s;
  };

  /** One request to `index`; "stale" when the kernel has no such index any more and it came from the cache. */
  const send = async (
    s: RtNetlinkSocket,
    op: Op,
    vip: VipAddress,
    index: number,
    cached: boolean,
  ): Promise<Sent> => {
    const req = buildAddressRequest(vip, op, index);
    if ("error" in req) return new EffectError("EINVAL", `cannot ${op} ${req.error}`);
    const reply = await talk(
      s,
      op === "add" ? RTM_NEWADDR : RTM_DELADDR,
      encodeAddressRequest(req),
      0,
      timeoutMs,
    );
    if (reply.ok) return undefined;
    if (reply.code === "TIMEOUT") drop(s);
    if (cached && reply.code === "ENODEV") return "stale";
    if (op === "add" && reply.code === "EEXIST") return undefined;
    if (op === "remove" && (reply.code === "EADDRNOTAVAIL" || reply.code === "ENODEV")) return undefined;
    return new EffectError(reply.code, `cannot ${op} VIP ${describeVip(vip)}: ${reply.code}`);
  };

  /** The interface's index: cached, or asked of the kernel (and cached). */
  const lookup = async (
    s: RtNetlinkSocket,
    op: Op,
    vip: VipAddress,
  ): Promise<number | EffectError | undefined> => {
    let link: Awaited<ReturnType<typeof linkByName>>;
    try {
      link = await linkByName(s, vip.dev, timeoutMs);
    } catch (error) {
      return new EffectError("INTERNAL", `cannot ${op} VIP ${describeVip(vip)}: ${String(error)}`);
    }
    if ("code" in link) {
      if (link.code === "TIMEOUT") drop(s);
      // An address on an interface that is gone is not there: removing it is done (keepalived too).
      if (op === "remove" && link.code === "ENODEV") return undefined;
      const why = link.code === "ENODEV" ? "no such interface" : link.code;
      return new EffectError(link.code, `cannot ${op} VIP ${describeVip(vip)}: ${why}`);
    }
    if (s === sock) indexes.set(vip.dev, link.index);
    return link.index;
  };

  /** Looks the interface up, then sends. */
  const lookupAndSend = async (
    s: RtNetlinkSocket,
    op: Op,
    vip: VipAddress,
  ): Promise<EffectError | undefined> => {
    const index = await lookup(s, op, vip);
    if (typeof index !== "number") return index;
    const sent = await send(s, op, vip, index, false);
    return sent === "stale" ? undefined : sent;
  };

  const apply = async (op: Op, addresses: readonly VipAddress[]): Promise<void> => {
    if (addresses.length === 0) return;
    const s = socket();
    const results: Array<Promise<EffectError | undefined>> = [];
    for (const vip of addresses) {
      const cached = indexes.get(vip.dev);
      if (cached !== undefined) {
        // Sent now (synchronously); a stale index is looked up and sent once more.
        const first = send(s, op, vip, cached, true);
        results.push(
          first.then((r) => {
            if (r !== "stale") return r;
            if (indexes.get(vip.dev) === cached) indexes.delete(vip.dev);
            let again: RtNetlinkSocket;
            try {
              again = socket();
            } catch (error) {
              return error as EffectError;
            }
            return lookupAndSend(again, op, vip);
          }),
        );
      } else {
        // Looked up before the next address is sent, so the order on one interface is kept.
        const index = await lookup(s, op, vip);
        results.push(
          typeof index === "number"
            ? send(s, op, vip, index, false).then((r) => (r === "stale" ? undefined : r))
            : Promise.resolve(index),
        );
      }
    }
    let first: EffectError | undefined;
    for (const [k, r] of results.entries()) {
      let failure: EffectError | undefined;
      try {
        failure = await r;
      } catch (error) {
        const vip = addresses[k] as VipAddress;
        failure = new EffectError("INTERNAL", `cannot ${op} VIP ${describeVip(vip)}: ${String(error)}`);
      }
      first ??= failure;
    }
    if (first !== undefined) throw first;
  };
  return {
    add: (a) => apply("add", a),
    remove: (a) => apply("remove", a),
    close: () => drop(sock),
  };
}
