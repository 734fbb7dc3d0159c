/**
 * Link-layer frames for address announcements, byte for byte as keepalived 2.2.7 builds them
 * (vrrp/vrrp_arp.c, vrrp/vrrp_ndisc.c): the gratuitous ARP is a broadcast ARP request
 * "who-has VIP tell VIP" (sender and target protocol address both the VIP, target hardware address
 * the broadcast address, 42 bytes, no padding); the unsolicited neighbour advertisement goes to
 * ff02::1 / 33:33:00:00:00:01 from the VIP itself (keepalived uses the VIP, not the link-local
 * address, as IPv6 source), hop limit 255, override flag (router flag when the interface forwards
 * IPv6), target = VIP and a target link-layer address option, with its ICMPv6 checksum. Pure.
 */
import { addressBytes } from "../protocol/address.ts";
import { foldChecksum, sumWords } from "../protocol/checksum.ts";

export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ARPHRD_ETHER = 1;
export const ARPOP_REQUEST = 1;
export const ICMPV6_NEIGHBOR_ADVERT = 136;
export const ND_OPT_TARGET_LINKADDR = 2;
export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_OVERRIDE = 0x20;
export const NDISC_HOP_LIMIT = 255;
const IPPROTO_ICMPV6 = 58;

export const ETH_HEADER_BYTES = 14;
export const GARP_FRAME_BYTES = ETH_HEADER_BYTES + 28;
/** Ethernet 14 + IPv6 40 + NA 24 + option 8. */
export const NA_FRAME_BYTES = ETH_HEADER_BYTES + 40 + 32;

const BROADCAST_MAC = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
const ALL_NODES_MAC = Uint8Array.of(0x33, 0x33, 0, 0, 0, 1);
const ALL_NODES = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

/** Parses "aa:bb:cc:dd:ee:ff" (also with '-'); undefined unless it is exactly six hex octets. */
export function parseMac(text: string): Uint8Array | undefined {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => Number.parseInt(p, 16)));
}

/** The family of an address text (4 or 6), or undefined when it is neither. */
export function announcementFamily(address: string): 4 | 6 | undefined {
  if (addressBytes(address, 4) !== undefined) return 4;
  if (addressBytes(address, 6) !== undefined) return 6;
  return undefined;
}

function ethernetHeader(frame: Uint8Array, dst: Uint8Array, src: Uint8Array, ethertype: number): void {
  frame.set(dst, 0);
  frame.set(src, 6);
  frame[12] = ethertype >> 8;
  frame[13] = ethertype & 0xff;
}

function checkMac(mac: Uint8Array): void {
  if (mac.length !== 6) throw new RangeError(`an Ethernet MAC has 6 bytes, not ${mac.length}`);
}

/**
 * The gratuitous ARP for `address` (IPv4 text) from `mac`; undefined when `address` is not IPv4.
 * Throws RangeError for a MAC that is not 6 bytes.
 */
export function gratuitousArpFrame(mac: Uint8Array, address: string): Uint8Array | undefined {
  checkMac(mac);
  const ip = addressBytes(address, 4);
  if (ip === undefined) return undefined;
  const f = new Uint8Array(GARP_FRAME_BYTES);
  ethernetHeader(f, BROADCAST_MAC, mac, ETHERTYPE_ARP);
  const v = new DataView(f.buffer);
  v.setUint16(14, ARPHRD_ETHER);
  v.setUint16(16, ETHERTYPE_IPV4);
  f[18] = 6; // hardware address length
  f[19] = 4; // protocol address length
  v.setUint16(20, ARPOP_REQUEST);
  f.set(mac, 22); // sender hardware address
  f.set(ip, 28); // sender protocol address
  f.set(BROADCAST_MAC, 32); // target hardware address
  f.set(ip, 38); // target protocol address
  return f;
}

/**
 * The unsolicited neighbour advertisement for `address` (IPv6 text) from `mac`, with the router
 * flag when `router`; undefined when `address` is not IPv6. Throws RangeError for a bad MAC.
 */
export function unsolicitedNaFrame(
  mac: Uint8Array,
  address: string,
  router: boolean,
): Uint8Array | undefined {
  checkMac(mac);
  const ip = addressBytes(address, 6);
  if (ip === undefined) return undefined;
  const f = new Uint8Array(NA_FRAME_BYTES);
  ethernetHeader(f, ALL_NODES_MAC, mac, ETHERTYPE_IPV6);
  const v = new DataView(f.buffer);
  const ip6 = ETH_HEADER_BYTES;
  const payloadBytes = 32;
  f[ip6] = 0x60; // version 6, traffic class 0, flow label 0
  v.setUint16(ip6 + 4, payloadBytes);
  f[ip6 + 6] = IPPROTO_ICMPV6;
  f[ip6 + 7] = NDISC_HOP_LIMIT;
  f.set(ip, ip6 + 8); // source: the VIP (as keepalived)
  f.set(ALL_NODES, ip6 + 24);
  const icmp = ip6 + 40;
  f[icmp] = ICMPV6_NEIGHBOR_ADVERT;
  f[icmp + 4] = NA_FLAG_OVERRIDE | (router ? NA_FLAG_ROUTER : 0);
  f.set(ip, icmp + 8); // target
  f[icmp + 24] = ND_OPT_TARGET_LINKADDR;
  f[icmp + 25] = 1; // option length in units of 8 bytes
  f.set(mac, icmp + 26);
  // Pseudo-header: src, dst, upper-layer length (32 bit), 3 zero bytes, next header.
  const pseudo = sumWords(f, ip6 + 8, ip6 + 40, payloadBytes + IPPROTO_ICMPV6);
  v.setUint16(icmp + 2, foldChecksum(sumWords(f, icmp, icmp + payloadBytes, pseudo)));
  return f;
}

/** The announcement frame for an address of either family (undefined for a non-address). */
export function announcementFrame(mac: Uint8Array, address: string, router: boolean): Uint8Array | undefined {
  return announcementFamily(address) === 4
    ? gratuitousArpFrame(mac, address)
    : unsolicitedNaFrame(mac, address, router);
}
