/**
 * An IPv4 packet of our own around a VRRP payload, for the raw senders that write whole packets
 * (datagram-sender.ts, flood-sender.ts) so that the TTL, source or payload can be wrong on purpose.
 * Pure.
 */

/** The socket option that makes a raw socket send our own IPv4 header (IPPROTO_IP level). */
export const IP_HDRINCL = 3;

const ipv4Bytes = (a: string): number[] => a.split(".").map(Number);

/**
 * IPv4 header (DSCP CS6, protocol 112; checksum and id left 0: the kernel fills them) + `payload`.
 * `options`: IP options after the 20 fixed bytes (a multiple of 4 bytes, up to 40; IHL follows).
 */
export function vrrpIpPacket(
  payload: Uint8Array,
  src: string,
  dst: string,
  ttl: number,
  options: Uint8Array = new Uint8Array(0),
): Buffer {
  const header = 20 + options.length;
  const b = Buffer.alloc(header + payload.length);
  b[0] = 0x40 | (header >> 2);
  b[1] = 0xc0;
  b.writeUInt16BE(b.length, 2);
  b[8] = ttl;
  b[9] = 112;
  b.set(ipv4Bytes(src), 12);
  b.set(ipv4Bytes(dst), 16);
  b.set(options, 20);
  b.set(payload, header);
  return b;
}
