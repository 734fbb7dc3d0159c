/**
 * The 20-byte IPv4 header keepalived builds itself (IP_HDRINCL) in front of a VRRP message: TOS 0xc0,
 * TTL 255 (or `unicast_ttl`), a per-instance IP id, DF clear, protocol 112, header checksum; and the
 * matching decoder for received packets (options skipped, total length checked). Decoding never
 * throws. Pure.
 */
import { formatIpv4, parseIpv4Into } from "./address.ts";
import { internetChecksum } from "./checksum.ts";

export const IPV4_HEADER_LENGTH = 20;
export const IP_TOS_NETWORK_CONTROL = 0xc0;

export interface Ipv4HeaderFields {
  /** Default 0xc0 (network control), as keepalived. */
  readonly tos?: number;
  readonly ttl: number;
  /** Identification (keepalived: per instance, starts at 1, skips 0). */
  readonly id: number;
  /** Default 112 (VRRP). */
  readonly protocol?: number;
  readonly src: string;
  readonly dst: string;
  /** Length of what follows the header. */
  readonly payloadLength: number;
}

/** Writes a 20-byte header (DF clear, no options) with its checksum into `out` at `offset`. */
export function writeIpv4Header(out: Uint8Array, offset: number, f: Ipv4HeaderFields): void {
  const total = IPV4_HEADER_LENGTH + f.payloadLength;
  if (total > 0xffff) throw new RangeError(`IPv4 total length ${total}`);
  if (!Number.isInteger(f.ttl) || f.ttl < 0 || f.ttl > 255) throw new RangeError(`TTL ${f.ttl}`);
  out[offset] = 0x45;
  out[offset + 1] = f.tos ?? IP_TOS_NETWORK_CONTROL;
  out[offset + 2] = total >> 8;
  out[offset + 3] = total & 0xff;
  out[offset + 4] = (f.id >> 8) & 0xff;
  out[offset + 5] = f.id & 0xff;
  out[offset + 6] = 0; // flags: DF clear, fragment offset 0
  out[offset + 7] = 0;
  out[offset + 8] = f.ttl;
  out[offset + 9] = f.protocol ?? 112;
  out[offset + 10] = 0;
  out[offset + 11] = 0;
  if (!parseIpv4Into(f.src, out, offset + 12)) throw new RangeError(`not an IPv4 address: ${f.src}`);
  if (!parseIpv4Into(f.dst, out, offset + 16)) throw new RangeError(`not an IPv4 address: ${f.dst}`);
  const checksum = internetChecksum(out, offset, offset + IPV4_HEADER_LENGTH);
  out[offset + 10] = checksum >> 8;
  out[offset + 11] = checksum & 0xff;
}

/** A fresh 20-byte header. */
export function encodeIpv4Header(f: Ipv4HeaderFields): Uint8Array {
  const out = new Uint8Array(IPV4_HEADER_LENGTH);
  writeIpv4Header(out, 0, f);
  return out;
}

/** A whole IPv4 packet: header + payload. */
export function encodeIpv4Packet(
  f: Omit<Ipv4HeaderFields, "payloadLength">,
  payload: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(IPV4_HEADER_LENGTH + payload.length);
  writeIpv4Header(out, 0, { ...f, payloadLength: payload.length });
  out.set(payload, IPV4_HEADER_LENGTH);
  return out;
}

export interface Ipv4Header {
  readonly headerLength: number;
  readonly tos: number;
  readonly totalLength: number;
  readonly id: number;
  readonly dontFragment: boolean;
  readonly ttl: number;
  readonly protocol: number;
  readonly checksum: number;
  readonly checksumOk: boolean;
  readonly src: string;
  readonly dst: string;
}

export type Ipv4DecodeResult =
  | { readonly ok: true; readonly header: Ipv4Header; readonly payload: Uint8Array }
  | { readonly ok: false; readonly reason: "truncated" | "not-ipv4" | "bad-header-length" };

/**
 * Decodes the header of a received IPv4 packet. `payload` is what follows the header within the
 * received bytes (NOT cut to the total length: keepalived compares the total length with the received
 * size as its own check, which `validateAdvert` does with `ipPayloadLength = totalLength - headerLength`).
 */
export function decodeIpv4Header(b: Uint8Array): Ipv4DecodeResult {
  if (b.length < IPV4_HEADER_LENGTH) return { ok: false, reason: "truncated" };
  const b0 = b[0] as number;
  if (b0 >> 4 !== 4) return { ok: false, reason: "not-ipv4" };
  const headerLength = (b0 & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH) return { ok: false, reason: "bad-header-length" };
  if (b.length < headerLength) return { ok: false, reason: "truncated" };
  return {
    ok: true,
    header: {
      headerLength,
      tos: b[1] as number,
      totalLength: ((b[2] as number) << 8) | (b[3] as number),
      id: ((b[4] as number) << 8) | (b[5] as number),
      dontFragment: ((b[6] as number) & 0x40) !== 0,
      ttl: b[8] as number,
      protocol: b[9] as number,
      checksum: ((b[10] as number) << 8) | (b[11] as number),
      checksumOk: internetChecksum(b, 0, headerLength) === 0,
      src: formatIpv4(b, 12),
      dst: formatIpv4(b, 16),
    },
    payload: b.subarray(headerLength),
  };
}

/** keepalived's IP id sequence: the next id after `id`, wrapping 65535 -> 1 (0 is skipped). */
export const nextIpId = (id: number): number => (id >= 0xffff ? 1 : id + 1);
