/**
 * Reading what the kernel hands a raw or packet socket: IPv4 and IPv6 headers in front of a VRRP
 * message. Used by the raw transport and `vigil sniff` (address text comes from the codec's
 * `address.ts`). Pure.
 */
import { addressBytes, formatIpv4, formatIpv6 } from "../src/protocol/address.ts";
import { decodeIpv4Header } from "../src/protocol/ipv4.ts";

export const VRRP_PROTOCOL = 112;

/** An IP packet carrying VRRP, with the VRRP message cut out of it. */
export interface IpPacket {
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  /** TTL or hop limit. */
  readonly ttl: number;
  /** IPv4 only: TOS and identification (0 for IPv6). */
  readonly tos: number;
  readonly id: number;
  readonly protocol: number;
  /** The payload (the VRRP message), bounded by the IP length field. */
  readonly payload: Uint8Array;
}

export type IpParseFailure =
  | { readonly kind: "truncated"; readonly detail: string }
  | { readonly kind: "not-ip"; readonly detail: string };

/** Address text to bytes; throws on bad text (callers pass configuration already validated). */
export function addressOrThrow(text: string, family: 4 | 6): Uint8Array {
  const b = addressBytes(text, family);
  if (b === undefined) throw new Error(`not an IPv${family} address: ${text}`);
  return b;
}

/**
 * Parses an IPv4 packet (as a raw IPv4 socket or a cooked packet socket delivers it), on top of the
 * codec's header decoder; the payload is cut to the header's total length.
 */
export function parseIpv4(b: Uint8Array): IpPacket | IpParseFailure {
  const d = decodeIpv4Header(b);
  if (!d.ok) {
    return d.reason === "not-ipv4"
      ? { kind: "not-ip", detail: "IP version is not 4" }
      : { kind: "truncated", detail: `${d.reason}, ${b.length} bytes` };
  }
  const { header } = d;
  if (header.totalLength < header.headerLength || header.totalLength > b.length)
    return {
      kind: "truncated",
      detail: `IPv4 total length ${header.totalLength}, ${b.length} bytes received`,
    };
  return {
    family: 4,
    tos: header.tos,
    id: header.id,
    ttl: header.ttl,
    protocol: header.protocol,
    src: header.src,
    dst: header.dst,
    payload: b.subarray(header.headerLength, header.totalLength),
  };
}

/** Parses an IPv6 packet; follows hop-by-hop, routing and destination option headers to the payload. */
export function parseIpv6(b: Uint8Array): IpPacket | IpParseFailure {
  if (b.length < 40) return { kind: "truncated", detail: `${b.length} bytes, shorter than an IPv6 header` };
  if (b[0] === undefined || b[0] >> 4 !== 6) return { kind: "not-ip", detail: "IP version is not 6" };
  const payloadLen = ((b[4] ?? 0) << 8) | (b[5] ?? 0);
  if (40 + payloadLen > b.length)
    return {
      kind: "truncated",
      detail: `IPv6 payload length ${payloadLen}, ${b.length - 40} bytes received`,
    };
  let next = b[6] ?? 0;
  let off = 40;
  while (next === 0 || next === 43 || next === 60) {
    if (off + 8 > 40 + payloadLen) return { kind: "truncated", detail: "extension header cut short" };
    const len = 8 + (b[off + 1] ?? 0) * 8;
    next = b[off] ?? 0;
    off += len;
  }
  if (off > 40 + payloadLen) return { kind: "truncated", detail: "extension header cut short" };
  return {
    family: 6,
    tos: 0,
    id: 0,
    ttl: b[7] ?? 0,
    protocol: next,
    src: formatIpv6(b, 8),
    dst: formatIpv6(b, 24),
    payload: b.subarray(off, 40 + payloadLen),
  };
}

export const isParseFailure = <T extends object>(p: T | IpParseFailure): p is IpParseFailure => "kind" in p;

/** What the receive path needs of an IPv4 datagram (a received VRRP packet). */
export interface Ipv4Rx {
  readonly src: string;
  readonly dst: string;
  readonly ttl: number;
  readonly protocol: number;
  /** Start and end (exclusive) of the payload in the buffer, bounded by the IP total length. */
  readonly payloadStart: number;
  readonly payloadEnd: number;
}

/** Address texts of one socket, by their 32-bit value: a received advert's addresses repeat. */
export class Ipv4Names {
  readonly #names = new Map<number, string>();

  text(b: Uint8Array, off: number): string {
    const key =
      (((b[off] as number) << 24) |
        ((b[off + 1] as number) << 16) |
        ((b[off + 2] as number) << 8) |
        (b[off + 3] as number)) >>>
      0;
    let t = this.#names.get(key);
    if (t === undefined) {
      if (this.#names.size >= 1024) this.#names.clear();
      t = formatIpv4(b, off);
      this.#names.set(key, t);
    }
    return t;
  }
}

/**
 * The raw socket's per-datagram IPv4 parse: the same acceptance and the same fields as `parseIpv4`
 * (version 4, header length ≥ 20 and within the bytes, total length between the header length and
 * the bytes received), read straight from the buffer without the header object, the header checksum
 * (the kernel has verified it before a raw socket sees the packet) or a payload view; addresses come
 * from `names`. `length`: only the first `length` bytes of `b` were received (the socket's reused
 * buffer, without a view of it per datagram). test/transports/ip-rx.test.ts proves it equal to
 * `parseIpv4` on random bytes.
 */
export function parseIpv4Rx(b: Uint8Array, names: Ipv4Names, length?: number): Ipv4Rx | IpParseFailure {
  const n = length === undefined ? b.length : Math.min(length, b.length);
  if (n < 20) return { kind: "truncated", detail: `truncated, ${n} bytes` };
  const b0 = b[0] as number;
  if (b0 >> 4 !== 4) return { kind: "not-ip", detail: "IP version is not 4" };
  const headerLength = (b0 & 0x0f) * 4;
  if (headerLength < 20) return { kind: "truncated", detail: `bad-header-length, ${n} bytes` };
  if (n < headerLength) return { kind: "truncated", detail: `truncated, ${n} bytes` };
  const totalLength = ((b[2] as number) << 8) | (b[3] as number);
  if (totalLength < headerLength || totalLength > n)
    return { kind: "truncated", detail: `IPv4 total length ${totalLength}, ${n} bytes received` };
  return {
    src: names.text(b, 12),
    dst: names.text(b, 16),
    ttl: b[8] as number,
    protocol: b[9] as number,
    payloadStart: headerLength,
    payloadEnd: totalLength,
  };
}
