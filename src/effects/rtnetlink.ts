/**
 * Low-level rtnetlink helpers over the `netlink` package for the VIP effect: opening a route socket,
 * one request/reply exchange that yields either the reply messages or the kernel's errno name (never
 * throws, bounded by a timeout), a link looked up by name in the socket's own network namespace, and
 * an address dump parsed into plain records; on top of them `watchAddresses` (address add/remove
 * events as an Observable) and `interfaceInfo` (index, MTU, primary IPv4, IPv6 link-local). A socket
 * lives in the namespace it was created in, so every lookup goes through the socket (never
 * `if_nametoindex`). Not pure: the edge to the kernel.
 */
import netlink, { type NetlinkMessage, type RtNetlinkSocket } from "netlink";
import { Observable } from "rxjs";
import {
  AF_NETLINK,
  loadLibc,
  MSG_DONTWAIT,
  newSocketFd,
  SOCK_RAW,
  socketFds,
} from "../../transports/libc.ffi.ts";
import { READ_PENDING_MAX } from "../../transports/transport.ts";
import { formatIpv4, formatIpv6 } from "../protocol/address.ts";
import { EffectError, errnoName } from "../runtime/ports.ts";

const { AttrStream, createRtNetlink, parseError, parseMessages, rt } = netlink;

/** nlmsg_type values and flags used here (linux/netlink.h, linux/rtnetlink.h). */
export const NLMSG_ERROR = 2;
export const NLM_F_DUMP = 0x300;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const AF_INET = 2;
export const AF_INET6 = 10;
/** IFNAMSIZ - 1: the longest interface name the kernel accepts. */
export const IFNAME_MAX_BYTES = 15;

/** Opens a NETLINK_ROUTE socket in the calling thread's network namespace. */
export type OpenRtnl = () => RtNetlinkSocket;

/** The default opener: a fresh route socket whose asynchronous errors are absorbed (requests report their own). */
export const openRtnl: OpenRtnl = () => {
  const sock = createRtNetlink();
  sock.socket.on("error", () => {});
  return sock;
};

/** The outcome of one exchange: the reply messages, or the errno name ("EEXIST", "TIMEOUT", ...). */
export type Reply =
  | { readonly ok: true; readonly messages: readonly NetlinkMessage[] }
  | { readonly ok: false; readonly code: string };

/**
 * Sends one request (REQUEST|ACK plus `flags`) and waits at most `timeoutMs` for its reply. An ERROR
 * reply with errno 0 is an ACK (ok, no messages). Never rejects.
 */
export async function talk(
  sock: RtNetlinkSocket,
  type: number,
  payload: readonly Uint8Array[],
  flags: number,
  timeoutMs: number,
): Promise<Reply> {
  try {
    const [messages] = await sock.socket.request(type, [...payload], {
      flags,
      timeout: timeoutMs,
      checkError: false,
    });
    const first = messages[0];
    if (first !== undefined && first.type === NLMSG_ERROR) {
      const { errno } = parseError(first.data, first.flags);
      return errno === 0 ? { ok: true, messages: [] } : { ok: false, code: errnoName(errno) };
    }
    return { ok: true, messages };
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    if (typeof e.code === "string") return { ok: false, code: e.code };
    if (typeof e.message === "string" && /timeout/i.test(e.message)) return { ok: false, code: "TIMEOUT" };
    return { ok: false, code: "EIO" };
  }
}

/** True when no interface can carry this name (so the answer is ENODEV without asking the kernel). */
export function impossibleIfname(name: string): boolean {
  return (
    name === "" ||
    name === "." ||
    name === ".." ||
    Buffer.byteLength(name) > IFNAME_MAX_BYTES ||
    /[\s/:\0]/.test(name)
  );
}

export interface LinkInfo {
  readonly index: number;
  readonly ifname: string;
  readonly mtu: number;
}

/** The link named `ifname` in the socket's namespace, or the errno name (ENODEV when absent). */
export async function linkByName(
  sock: RtNetlinkSocket,
  ifname: string,
  timeoutMs: number,
): Promise<LinkInfo | { readonly code: string }> {
  if (impossibleIfname(ifname)) return { code: "ENODEV" };
  const stream = new AttrStream();
  rt.formatLinkMessage({ kind: "link", data: {}, attrs: { ifname } }, stream);
  const reply = await talk(sock, RTM_GETLINK, stream.bufs, 0, timeoutMs);
  if (!reply.ok) return { code: reply.code };
  for (const m of reply.messages) {
    if (m.type !== RTM_NEWLINK) continue;
    const link = rt.parseLinkMessage(m.data);
    if (link.attrs.ifname !== ifname) continue;
    return { index: link.data.index ?? 0, ifname, mtu: link.attrs.mtu ?? 0 };
  }
  return { code: "ENODEV" };
}

/** A dump request: every `kind` message of the reply that `parse` accepts, in order, or the errno name. */
async function dump<T>(
  sock: RtNetlinkSocket,
  request: number,
  body: readonly Uint8Array[],
  kind: number,
  parse: (m: NetlinkMessage) => T | undefined,
  timeoutMs: number,
): Promise<T[] | { readonly code: string }> {
  const reply = await talk(sock, request, body, NLM_F_DUMP, timeoutMs);
  if (!reply.ok) return { code: reply.code };
  const out: T[] = [];
  for (const m of reply.messages) {
    if (m.type !== kind) continue;
    const row = parse(m);
    if (row !== undefined) out.push(row);
  }
  return out;
}

/** One link as the kernel reports it: up when IFF_UP and IFF_RUNNING are both set (and not deleted). */
export interface LinkRow {
  readonly index: number;
  readonly ifname: string;
  readonly up: boolean;
}

/** A link message (RTM_NEWLINK / RTM_DELLINK) as a `LinkRow`, or undefined without index or name. */
export const parseLink = (m: NetlinkMessage): LinkRow | undefined => {
  const link = rt.parseLinkMessage(m.data);
  const index = link.data.index;
  const ifname = link.attrs.ifname;
  if (index === undefined || ifname === undefined) return undefined;
  const flags = link.data.flags ?? {};
  return { index, ifname, up: m.type === RTM_NEWLINK && flags.up === true && flags.running === true };
};

/** Every link in the socket's namespace (a dump), or the errno name. */
export async function dumpLinks(
  sock: RtNetlinkSocket,
  timeoutMs: number,
): Promise<LinkRow[] | { readonly code: string }> {
  const stream = new AttrStream();
  rt.formatLinkMessage({ kind: "link", data: {}, attrs: {} }, stream);
  return dump(sock, RTM_GETLINK, stream.bufs, RTM_NEWLINK, parseLink, timeoutMs);
}

/** Every link's index and name (a dump). */
export async function linkNames(
  sock: RtNetlinkSocket,
  timeoutMs: number,
): Promise<Map<number, string> | { readonly code: string }> {
  const rows = await dumpLinks(sock, timeoutMs);
  if ("code" in rows) return rows;
  return new Map(rows.map((r) => [r.index, r.ifname] as [number, string]));
}

/**
 * The notifications of an event socket subscribed before its dump: those that arrive before
 * `release()` (the dump is in) are held, then handed to `handle` in order, as is every later one.
 * A malformed notification (`handle` throws) is skipped.
 */
export function heldUntilDump(handle: (m: NetlinkMessage) => void): {
  readonly receive: (messages: NetlinkMessage[]) => void;
  readonly release: () => void;
} {
  const early: NetlinkMessage[] = [];
  let ready = false;
  const receive = (messages: NetlinkMessage[]): void => {
    for (const m of messages) {
      if (!ready) early.push(m);
      else {
        try {
          handle(m);
        } catch {
          /* a malformed notification is skipped */
        }
      }
    }
  };
  const release = (): void => {
    ready = true;
    receive(early.splice(0));
  };
  return { receive, release };
}

/** One address as the kernel reports it. */
export interface KernelAddress {
  readonly index: number;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefixLength: number;
  /** IFA_ADDRESS when it differs from the local address (a point-to-point peer). */
  readonly peer: string | null;
  readonly scope: number;
  /** IFA_FLAGS (or the ifaddrmsg byte when absent). */
  readonly flags: number;
  readonly label: string | null;
}

const IFA_F_SECONDARY = 0x01;
export const isSecondary = (a: KernelAddress): boolean => (a.flags & IFA_F_SECONDARY) !== 0;

/** An attribute's address bytes as text (null when absent or not the family's length). */
export const addressText = (b: Buffer | undefined, family: 4 | 6): string | null =>
  b === undefined || b.length !== (family === 4 ? 4 : 16)
    ? null
    : family === 4
      ? formatIpv4(b, 0)
      : formatIpv6(b, 0);

/** Parses one RTM_NEWADDR / RTM_DELADDR payload; undefined for a family other than IPv4/IPv6. */
export function parseKernelAddress(payload: Buffer): KernelAddress | undefined {
  const { data, attrs } = rt.parseAddressMessage(payload);
  const family = data.family === AF_INET ? 4 : data.family === AF_INET6 ? 6 : undefined;
  if (family === undefined) return undefined;
  const local = addressText(attrs.local, family);
  const address = addressText(attrs.address, family);
  const own = local ?? address;
  if (own === null) return undefined;
  const flagsAttr = attrs.flags === undefined ? undefined : rt.formatAddressFlags(attrs.flags);
  const flagsByte = data.flags === undefined ? 0 : rt.formatAddressFlags(data.flags);
  return {
    index: data.index ?? 0,
    family,
    address: own,
    prefixLength: data.prefixlen ?? 0,
    peer: local !== null && address !== null && address !== local ? address : null,
    scope: data.scope ?? 0,
    flags: flagsAttr ?? flagsByte,
    label: attrs.label ?? null,
  };
}

/** Every IPv4/IPv6 address in the socket's namespace (a dump), in the kernel's order. */
export async function dumpAddresses(
  sock: RtNetlinkSocket,
  timeoutMs: number,
): Promise<KernelAddress[] | { readonly code: string }> {
  const stream = new AttrStream();
  rt.formatAddressMessage({ kind: "address", data: {}, attrs: {} }, stream);
  return dump(sock, RTM_GETADDR, stream.bufs, RTM_NEWADDR, (m) => parseKernelAddress(m.data), timeoutMs);
}

/** One address appearing (`present`) or going away on the host, as `watchAddresses` reports it. */
export interface AddressEvent {
  readonly ifname: string;
  readonly ifindex: number;
  readonly address: string;
  readonly prefixLength: number;
  readonly family: 4 | 6;
  readonly present: boolean;
}

export interface RtnlOptions {
  /** Opens a route socket (default `openRtnl`); called synchronously by the functions below. */
  readonly open?: OpenRtnl;
  /** Longest wait for one kernel reply (default 5000). */
  readonly timeoutMs?: number;
}

const codeOf = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "INTERNAL";
};

/** The address watch: its events, and a synchronous read of what its socket holds now. */
export interface AddressWatch extends Observable<AddressEvent> {
  /**
   * Reads the notifications already waiting in the event socket (at most `READ_PENDING_MAX`
   * datagrams) and delivers their events before it returns. The daemon calls it before a down
   * timer fires, as keepalived reads its netlink reflector before its timers: the deletion of a VIP
   * the instance itself removed on leaving MASTER is then heard while it is still BACKUP, not taken
   * for someone else's deletion once it is MASTER again. Nothing to read (not subscribed, a socket
   * whose descriptor is not known, e.g. a test's fake): nothing happens.
   */
  readPending(): void;
}

/** Large enough for any one notification datagram. */
const READ_BUFFER_BYTES = 64 * 1024;

/** `open()`'s socket and its descriptor (the `netlink` package does not expose it), if told apart. */
function openWithFd<T>(open: () => T): { sock: T; fd: number | undefined } {
  const before = socketFds();
  const sock = open();
  return { sock, fd: newSocketFd(loadLibc(), before, { domain: AF_NETLINK, type: SOCK_RAW }) };
}

/**
 * Every IPv4/IPv6 address added or removed on the host (RTNLGRP_IPV4_IFADDR / RTNLGRP_IPV6_IFADDR),
 * in the kernel's order, with the interface name (kept from a link dump and RTNLGRP_LINK). An
 * address whose state changes (e.g. lifetimes) is reported again as present. See `watchKernel`.
 */
export function watchAddresses(options: RtnlOptions = {}): AddressWatch {
  return watchKernel("address", ["IPV4_IFADDR", "IPV6_IFADDR"], options, (m, names) => {
    if (m.type !== RTM_NEWADDR && m.type !== RTM_DELADDR) return undefined;
    const a = parseKernelAddress(m.data);
    if (a === undefined) return undefined;
    return {
      ifname: names.get(a.index) ?? a.label ?? `#${a.index}`,
      ifindex: a.index,
      address: a.address,
      prefixLength: a.prefixLength,
      family: a.family,
      present: m.type === RTM_NEWADDR,
    };
  });
}

/**
 * A watch of one kind of host event: `toEvent` turns each notification of the `groups` (with the
 * interface names, kept from a link dump and RTNLGRP_LINK) into an event or nothing. Both sockets
 * are opened on subscribe and closed on unsubscribe; a socket error (e.g. ENOBUFS: events were
 * lost) ends the stream with an `EffectError`. The sockets do not keep the event loop alive. The
 * event socket is also read synchronously by `readPending` (non-blocking `recv` on its descriptor
 * through libc; the package's own reader then finds those messages gone), in the same order.
 */
export function watchKernel<T>(
  label: string,
  groups: ReadonlyArray<
    "IPV4_IFADDR" | "IPV6_IFADDR" | "IPV4_ROUTE" | "IPV6_ROUTE" | "IPV4_RULE" | "IPV6_RULE"
  >,
  options: RtnlOptions,
  toEvent: (m: NetlinkMessage, names: ReadonlyMap<number, string>) => T | undefined,
): Observable<T> & { readPending(): void } {
  const open = options.open ?? openRtnl;
  const timeoutMs = options.timeoutMs ?? 5000;
  let readPending: (() => void) | undefined;
  const watch = new Observable<T>((subscriber) => {
    const names = new Map<number, string>();
    let events: RtNetlinkSocket | undefined;
    let lookup: RtNetlinkSocket | undefined;
    const closeLookup = (): void => {
      lookup?.socket.close();
      lookup = undefined;
    };
    const handle = (m: NetlinkMessage): void => {
      if (m.type === RTM_NEWLINK || m.type === RTM_DELLINK) {
        const link = rt.parseLinkMessage(m.data);
        const index = link.data.index;
        if (index === undefined) return;
        if (m.type === RTM_DELLINK) names.delete(index);
        else if (link.attrs.ifname !== undefined) names.set(index, link.attrs.ifname);
        return;
      }
      const event = toEvent(m, names);
      if (event !== undefined) subscriber.next(event);
    };
    const { receive, release } = heldUntilDump(handle);
    try {
      const opened = openWithFd(open);
      events = opened.sock;
      events.socket.on("message", receive);
      if (opened.fd !== undefined) readPending = pendingReader(opened.fd, (m) => receive(m));
      events.socket.on("error", (e) =>
        subscriber.error(new EffectError(codeOf(e), `rtnetlink ${label} watch: ${e.message}`)),
      );
      events.addMembership("LINK");
      for (const g of groups) events.addMembership(g);
      lookup = open();
    } catch (error) {
      events?.socket.close();
      subscriber.error(new EffectError(codeOf(error), `rtnetlink ${label} watch: ${String(error)}`));
      return undefined;
    }
    void linkNames(lookup, timeoutMs).then((r) => {
      closeLookup();
      if (subscriber.closed) return;
      if ("code" in r) {
        subscriber.error(new EffectError(r.code, `rtnetlink link dump: ${r.code}`));
        return;
      }
      for (const [index, name] of r) if (!names.has(index)) names.set(index, name);
      release();
    });
    return () => {
      readPending = undefined;
      closeLookup();
      events?.socket.close();
      events = undefined;
    };
  });
  return Object.assign(watch, { readPending: () => readPending?.() });
}

/** `AddressWatch.readPending` on descriptor `fd`: each datagram's messages to `deliver`, in order. */
function pendingReader(fd: number, deliver: (messages: NetlinkMessage[]) => void): () => void {
  const libc = loadLibc();
  const buf = new Uint8Array(READ_BUFFER_BYTES);
  return () => {
    for (let read = 0; read < READ_PENDING_MAX; read++) {
      const n = libc.recvfrom(fd, buf, buf.length, MSG_DONTWAIT, null, null);
      if (n <= 0) return; // empty (EAGAIN), or an error the package's own reader reports
      let messages: NetlinkMessage[];
      try {
        messages = parseMessages(Buffer.from(buf.subarray(0, n)));
      } catch {
        continue; // malformed: skipped, as the package's reader does
      }
      deliver(messages);
    }
  };
}

/** What the host needs of an interface: its index, MTU, addresses and advert source candidates. */
export interface InterfaceInfo {
  readonly ifname: string;
  readonly ifindex: number;
  readonly mtu: number;
  /** The first primary (non-secondary) IPv4 address, or null. */
  readonly primaryIpv4: string | null;
  /** The first IPv6 link-local (fe80::/10) address, or null. */
  readonly linkLocalIpv6: string | null;
  readonly addresses: readonly KernelAddress[];
}

const isLinkLocal6 = (a: KernelAddress): boolean => a.family === 6 && /^fe[89ab][0-9a-f]:/i.test(a.address);

/** Reads interface `ifname` now; rejects with `EffectError` (ENODEV when there is no such interface). */
export async function interfaceInfo(ifname: string, options: RtnlOptions = {}): Promise<InterfaceInfo> {
  const timeoutMs = options.timeoutMs ?? 5000;
  let sock: RtNetlinkSocket;
  try {
    sock = (options.open ?? openRtnl)();
  } catch (error) {
    throw new EffectError(codeOf(error), `cannot open rtnetlink: ${String(error)}`);
  }
  try {
    const link = await linkByName(sock, ifname, timeoutMs);
    if ("code" in link) throw new EffectError(link.code, `interface ${ifname}: ${link.code}`);
    const all = await dumpAddresses(sock, timeoutMs);
    if ("code" in all) throw new EffectError(all.code, `addresses of ${ifname}: ${all.code}`);
    const addresses = all.filter((a) => a.index === link.index);
    return {
      ifname,
      ifindex: link.index,
      mtu: link.mtu,
      primaryIpv4: addresses.find((a) => a.family === 4 && !isSecondary(a))?.address ?? null,
      linkLocalIpv6: addresses.find(isLinkLocal6)?.address ?? null,
      addresses,
    };
  } finally {
    sock.socket.close();
  }
}
