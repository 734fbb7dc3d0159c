/**
 * The Internet checksum (RFC 1071): word sums and folding. VRRPv2 sums the message alone; VRRPv3 adds
 * the IPv4 pseudo-header (src, dst, 0, 112, length) or the IPv6 one (src, dst, 32-bit length, 3 zero
 * bytes, next header 112), RFC 5798 §5.2.8, which codec.ts sums with `sumWords`. Sums are kept unfolded in a JS number
 * (safe well past 64 KiB of input) and folded once. Pure.
 */

export const VRRP_IP_PROTOCOL = 112;

/** Adds the big-endian 16-bit words of `b[start, end)` (an odd tail is padded with zero) to `acc`. */
export function sumWords(b: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc;
  let i = start;
  const even = end - ((end - start) & 1);
  for (; i < even; i += 2) s += ((b[i] as number) << 8) | (b[i + 1] as number);
  if (i < end) s += (b[i] as number) << 8;
  return s;
}

/** Folds a sum to 16 bits and complements it: the value to put in a checksum field. */
export function foldChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** Checksum of `b[start, end)` with an initial sum (pseudo-header) `acc`. Over a message that holds its
 * own correct checksum this returns 0. */
export const internetChecksum = (b: Uint8Array, start: number, end: number, acc = 0): number =>
  foldChecksum(sumWords(b, start, end, acc));
