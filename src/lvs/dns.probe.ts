/**
 * DNS_CHECK's probe, as keepalived 2.2.7's check_dns.c: one query over a connected UDP socket
 * (bound to bindto[:bind_port] when set) — a random id, recursion desired, one question of `type`
 * (default SOA) for `name` (default the root), class IN — then the first datagram of at least 8
 * bytes (keepalived compares with the size of a pointer) with the same id and the response bit set
 * decides: rcode 0 passes, any other rcode fails. Datagrams that do not qualify are skipped until the
 * deadline (`timeoutMs`, one for the whole exchange as keepalived's). An ICMP refusal fails at once.
 * Reports once; the socket is closed on every path, and by `cancel`. A failure's `reason` is the
 * message keepalived's dns_final gets (`read timeout from socket`, `failed to read socket; errno 111
 * (Connection refused)`, `read error occurred. (rcode = 3)`, `failed to write socket.`): the checker
 * machine logs it as `DNS_CHECK (…) …` only when keepalived does, after the retries. A bind failure
 * is no verdict (`rescheduled`), with keepalived's two lines at once (`Checker bind failed: …`,
 * `DNS_CHECK (…) UDP socket bind failed. Rescheduling.`). Not pure: a socket, a timer and a random id.
 */
import { randomInt } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { canonicalAddress } from "../protocol/address.ts";
import { CONNECT_FAILURES, errnoText } from "./errno-text.ts";
import type { NetProbeResult, NetTarget } from "./net.probe.ts";

/** check_dns.c DNS_TYPE: the query types keepalived 2.2.7 accepts (names compared ignoring case). */
export const DNS_TYPE_CODES: Readonly<Record<string, number>> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  RRSIG: 46,
  DNSKEY: 48,
};

export interface DnsTarget extends NetTarget {
  /** The query type's name (A, SOA…); null: SOA. */
  readonly type: string | null;
  /** The name asked for; null or "": the root. */
  readonly name: string | null;
  /** The query id (default: random, as keepalived's random()). */
  readonly id?: number;
}

/** check_dns.c dns_make_query: the header, then QNAME label by label, QTYPE and QCLASS IN. */
export function dnsQuery(id: number, type: string | null, name: string | null): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  const parts: Buffer[] = [header];
  const text = name ?? "";
  // Each label up to the next dot (an empty one where the name is "."); then the root, unless
  // the name is "." whose empty label already is the root.
  if (text !== "") {
    const labels = text.endsWith(".") && text !== "." ? text.slice(0, -1).split(".") : text.split(".");
    for (const label of text === "." ? [""] : labels) {
      const bytes = Buffer.from(label, "latin1");
      parts.push(Buffer.from([bytes.length & 0xff]), bytes);
    }
  }
  if (text !== ".") parts.push(Buffer.from([0]));
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(DNS_TYPE_CODES[(type ?? "SOA").toUpperCase()] ?? DNS_TYPE_CODES.SOA ?? 6, 0);
  tail.writeUInt16BE(1, 2);
  parts.push(tail);
  return Buffer.concat(parts);
}

/** The verdict on one datagram: skip it, or the probe's result. */
export function dnsAnswer(id: number, msg: Buffer): "skip" | { ok: true } | { ok: false; rcode: number } {
  if (msg.length < 8) return "skip";
  if (msg.readUInt16BE(0) !== (id & 0xffff)) return "skip";
  const flags = msg.readUInt16BE(2);
  if ((flags & 0x8000) === 0) return "skip";
  const rcode = flags & 0x000f;
  return rcode === 0 ? { ok: true } : { ok: false, rcode };
}

/** inet_sockaddrtopair: `[address]:port` (the address as the kernel prints it). */
export const dstPair = (t: { readonly host: string; readonly port: number }): string =>
  `[${canonicalAddress(t.host, isIP(t.host) === 6 ? 6 : 4) ?? t.host}]:${t.port}`;

const processTimers = {
  setTimeout: (fn: () => void, delayMs: number): unknown => setTimeout(fn, delayMs),
  clearTimeout: (h: unknown): void => clearTimeout(h as NodeJS.Timeout),
};

/** DNS_CHECK: one query, one answer (or the deadline). */
export function dnsProbe(target: DnsTarget, done: (r: NetProbeResult) => void): () => void {
  const line = (what: string): string => `DNS_CHECK (${target.label}) ${what}`;
  const timers = target.timers ?? processTimers;
  let finished = false;
  let socket: Socket | undefined;
  let timer: unknown;
  const finish = (r: NetProbeResult | null): void => {
    if (finished) return;
    finished = true;
    if (timer !== undefined) timers.clearTimeout(timer);
    try {
      socket?.close();
    } catch {
      // already closed
    }
    if (r !== null) done(r);
  };
  const family = isIP(target.host);
  const notIp = [target.host, target.bindTo].find((a) => a !== null && isIP(a) === 0);
  if (notIp !== undefined) {
    const lines = [line(`'${notIp}' is not an IP address`)];
    queueMicrotask(() => finish({ ok: false, rescheduled: true, lines }));
    return () => finish(null);
  }
  const fail = (reason: string): void => finish({ ok: false, reason });
  const id = target.id ?? randomInt(0, 0x10000);
  timer = timers.setTimeout(
    () => finish({ ok: false, timedOut: true, reason: "read timeout from socket" }),
    target.timeoutMs,
  );
  const s = createSocket(family === 6 ? "udp6" : "udp4");
  socket = s;
  s.on("error", (e: NodeJS.ErrnoException) => {
    const { errno, text } = errnoText(e);
    if (e.syscall === "bind")
      return finish({
        ok: false,
        rescheduled: true,
        lines: [`Checker bind failed: ${text}`, line("UDP socket bind failed. Rescheduling.")],
      });
    if (e.syscall !== "connect") return fail(`failed to read socket; errno ${errno} (${text})`);
    // socket_bind_connect: these errno are a failed connection (dns_final), any other no verdict.
    if (CONNECT_FAILURES.has(e.code ?? "")) return fail(`network unreachable for ${dstPair(target)}`);
    finish({ ok: false, rescheduled: true, lines: [line("UDP socket bind failed. Rescheduling.")] });
  });
  s.on("message", (msg: Buffer) => {
    const v = dnsAnswer(id, msg);
    if (v === "skip") return;
    if (v.ok) finish({ ok: true });
    else fail(`read error occurred. (rcode = ${v.rcode})`);
  });
  const connect = (): void =>
    s.connect(target.port, target.host, () => {
      if (finished) return;
      s.send(dnsQuery(id, target.type, target.name), (e) => {
        if (e) fail("failed to write socket.");
      });
    });
  if (target.bindTo === null) connect();
  else s.bind({ address: target.bindTo, port: target.bindPort ?? 0, exclusive: true }, connect);
  return () => finish(null);
}
