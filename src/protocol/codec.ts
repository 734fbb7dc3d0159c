/**
 * The VRRP codec: encode and decode VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) advertisements for IPv4 and
 * IPv6, byte-compatible with keepalived 2.2.7. Receiving is two stages:
 *
 *  1. `decodeAdvert(bytes, meta)` — structural decode of one VRRP message (IP header already removed),
 *     usable without any instance (e.g. `vigil sniff`): length, layout, addresses, checksum verdict
 *     (v3 IPv4 with the actual destination, falling back to the legacy pre-1.3.6 unicast checksum
 *     computed with the multicast group, as keepalived does).
 *  2. `validateAdvert(advert, meta, expectations)` (validate.ts) — keepalived's receive checks in
 *     order, each failure a typed `RejectReason` that `countersFor` maps to keepalived's stats and
 *     RFC 6527 counters.
 *
 * Sending: `encodeAdvert` for one-off messages, or `compileAdvert` once per instance and
 * `AdvertTemplate.render(priority, pseudo)` per send (patches the priority and checksum only, as
 * keepalived's `vrrp_update_pkt`). Invalid *fields* passed to the encoder are programmer errors and
 * throw `RangeError`; nothing on the receive path throws. Pure.
 */
import { formatIpv4, formatIpv6, ipv4WordSum, ipv6WordSum, parseIpv4Into, parseIpv6Into } from "./address.ts";
import { foldChecksum, sumWords, VRRP_IP_PROTOCOL } from "./checksum.ts";

export type Family = 4 | 6;
export type VrrpVersion = 2 | 3;
/** VRRPv2 auth types: 0 none, 1 simple password (PASS), 2 IPsec AH (IP protocol 51, not carried here). */
export type AuthType = 0 | 1 | 2;

export const VRRP_HEADER_LENGTH = 8;
export const VRRP_AUTH_LENGTH = 8;
export const VRRP_TYPE_ADVERTISEMENT = 1;
export const VRRP_MCAST_GROUP4 = "224.0.0.18";
export const VRRP_MCAST_GROUP6 = "ff02::12";
export const VRRP_TTL = 255;

/** What the IP layer said about a received message. A `Datagram` (transports/transport.ts) is one. */
export interface RxMeta {
  readonly family: Family;
  readonly src: string;
  readonly dst: string;
  /** IPv4 TTL or IPv6 hop limit. */
  readonly ttl: number;
  /** false when the transport cannot see the TTL (UDP): the TTL check is then skipped. */
  readonly ttlObserved?: boolean;
  /** IPv4 only, raw sockets: total length from the IP header minus the header length (step 7). */
  readonly ipPayloadLength?: number;
}

export interface DecodeOptions {
  /** The group the legacy v3 unicast checksum used (keepalived's `vrrp_mcast_group4`). */
  readonly mcastGroup4?: string;
}

/** How the checksum was verified: v2 over the message, v3 with the actual pseudo-header, or with the
 * legacy multicast-group destination (pre-1.3.6 keepalived unicast). "bad" when none matched. */
export type ChecksumVariant = "v2" | "v3-actual" | "v3-legacy-group" | "bad";

export interface DecodedAdvert {
  readonly family: Family;
  readonly version: VrrpVersion;
  /** Low nibble of the first byte; 1 = advertisement (checked by validation, not by decode). */
  readonly type: number;
  readonly vrid: number;
  readonly priority: number;
  readonly addressCount: number;
  /** v2: the auth type on the wire; v3: 0. */
  readonly authType: number;
  /** v2 IPv4: the 8 auth bytes (a copy); undefined otherwise. */
  readonly authData: Uint8Array | undefined;
  /** Advert interval in centiseconds (v2: seconds × 100; v3: the 12-bit field). */
  readonly advertIntervalCs: number;
  /** The addresses, as canonical text. */
  readonly addresses: readonly string[];
  /** The checksum field as received. */
  readonly checksum: number;
  readonly checksumOk: boolean;
  readonly checksumVariant: ChecksumVariant;
  /** The checksum the message should carry (v3: with the actual src/dst); -1 if the meta addresses are
   * not of the family. */
  readonly expectedChecksum: number;
  /** Message length in bytes. */
  readonly length: number;
}

/** Why a message was rejected. Order of checks and counters: see validate.ts and `countersFor`. */
export type RejectReason =
  | { readonly kind: "packet-too-short"; readonly length: number; readonly minimum: number }
  | { readonly kind: "packet-length"; readonly length: number; readonly expected: number }
  | { readonly kind: "ip-total-length"; readonly length: number; readonly ipPayloadLength: number }
  | { readonly kind: "ttl"; readonly ttl: number; readonly min: number; readonly max: number }
  | { readonly kind: "version"; readonly version: number; readonly expected: VrrpVersion | undefined }
  | { readonly kind: "auth-type-invalid"; readonly authType: number }
  | { readonly kind: "auth-type-mismatch"; readonly authType: number; readonly expected: AuthType }
  | { readonly kind: "auth-failure" }
  | { readonly kind: "interval-mismatch"; readonly advertIntervalCs: number; readonly expectedCs: number }
  | { readonly kind: "type"; readonly type: number }
  | { readonly kind: "vrid"; readonly vrid: number; readonly expected: number }
  | { readonly kind: "address-count"; readonly count: number; readonly expected: number }
  | { readonly kind: "checksum"; readonly checksum: number; readonly expected: number }
  | { readonly kind: "destination-mode"; readonly dst: string; readonly configured: "unicast" | "multicast" }
  | { readonly kind: "address-missing"; readonly address: string }
  | { readonly kind: "unicast-source"; readonly src: string };

export type RejectKind = RejectReason["kind"];

export type DecodeResult =
  | { readonly ok: true; readonly advert: DecodedAdvert }
  | { readonly ok: false; readonly reason: RejectReason };

/** What a sender puts in an advert. */
export interface AdvertFields {
  readonly version: VrrpVersion;
  readonly vrid: number;
  readonly priority: number;
  /** v2: a multiple of 100 in 100..25500; v3: 1..4095. */
  readonly advertIntervalCs: number;
  readonly addresses: readonly string[];
  /** v2 only (default 0). */
  readonly authType?: AuthType;
  /** v2 only: the 8 auth bytes (`passwordAuthData(pass)` for PASS); default zeros. */
  readonly authData?: Uint8Array;
  /** Packet type; default 1. Other values only to test receivers. */
  readonly type?: number;
}

/** The addresses the v3 checksum covers: source and the actual destination (group or peer). */
export interface PseudoHeader {
  readonly src: string;
  readonly dst: string;
}

/** Size of an address of the family. */
export const addressSize = (family: Family): number => (family === 4 ? 4 : 16);

/** Length of a VRRP message: 8 + count × address size, + 8 auth bytes for v2 over IPv4. */
export const advertLength = (family: Family, version: VrrpVersion, count: number): number =>
  VRRP_HEADER_LENGTH + count * addressSize(family) + (version === 2 && family === 4 ? VRRP_AUTH_LENGTH : 0);

/**
 * PASS auth data as keepalived sends it: the password's first 8 bytes, zero padded. The password
 * is a byte string as the configuration front end reads it (one char per byte, so a Latin-1 or
 * UTF-8 byte goes out unchanged); a char above 0xFF (text typed in code) goes out as its UTF-8.
 */
export function passwordAuthData(password: string): Uint8Array {
  const out = new Uint8Array(VRRP_AUTH_LENGTH);
  let n = 0;
  for (const ch of password) {
    const code = ch.codePointAt(0) ?? 0;
    const bytes = code <= 0xff ? [code] : new TextEncoder().encode(ch);
    for (const b of bytes) if (n < VRRP_AUTH_LENGTH) out[n++] = b;
    if (n >= VRRP_AUTH_LENGTH) break;
  }
  return out;
}

/** The v3 checksum sum of the pseudo-header, or -1 when an address is not of the family. */
function pseudoHeaderSum(family: Family, src: string, dst: string, length: number): number {
  const s = family === 4 ? ipv4WordSum(src) : ipv6WordSum(src);
  const d = family === 4 ? ipv4WordSum(dst) : ipv6WordSum(dst);
  // IPv4: 0, 112, 16-bit length; IPv6: 32-bit length, 3 zero bytes, 112 (length < 2^16 here).
  return s < 0 || d < 0 ? -1 : s + d + VRRP_IP_PROTOCOL + length;
}

/** Structural decode of one VRRP message. Never throws; every failure carries a reason. */
export function decodeAdvert(bytes: Uint8Array, meta: RxMeta, options?: DecodeOptions): DecodeResult {
  const length = bytes.length;
  if (length < VRRP_HEADER_LENGTH) {
    return { ok: false, reason: { kind: "packet-too-short", length, minimum: VRRP_HEADER_LENGTH } };
  }
  const b0 = bytes[0] as number;
  const version = b0 >> 4;
  if (version !== 2 && version !== 3) {
    return { ok: false, reason: { kind: "version", version, expected: undefined } };
  }
  const family = meta.family;
  const addressCount = bytes[3] as number;
  const expected = advertLength(family, version, addressCount);
  if (length < expected) {
    return { ok: false, reason: { kind: "packet-too-short", length, minimum: expected } };
  }
  if (length !== expected) return { ok: false, reason: { kind: "packet-length", length, expected } };

  const size = family === 4 ? 4 : 16;
  const addresses = new Array<string>(addressCount);
  for (let i = 0, off = VRRP_HEADER_LENGTH; i < addressCount; i++, off += size) {
    addresses[i] = family === 4 ? formatIpv4(bytes, off) : formatIpv6(bytes, off);
  }
  const b4 = bytes[4] as number;
  const b5 = bytes[5] as number;
  const checksum = ((bytes[6] as number) << 8) | (bytes[7] as number);
  const v2 = version === 2;
  // v2 over IPv6 (keepalived 2.2.7 never sends it: it forces v3) is read in keepalived's old IPv6 v2
  // layout, without auth bytes.
  const hasAuth = v2 && family === 4;

  // The checksum that would be right (v2: over the message; v3: with the actual pseudo-header).
  let checksumVariant: ChecksumVariant;
  let expectedChecksum: number;
  if (v2) {
    const sum = sumWords(bytes, 0, length);
    expectedChecksum = foldChecksum(sum - checksum);
    checksumVariant = foldChecksum(sum) === 0 ? "v2" : "bad";
  } else {
    const pseudo = pseudoHeaderSum(family, meta.src, meta.dst, length);
    const sum = sumWords(bytes, 0, length, pseudo < 0 ? 0 : pseudo);
    expectedChecksum = pseudo < 0 ? -1 : foldChecksum(sum - checksum);
    if (pseudo >= 0 && foldChecksum(sum) === 0) checksumVariant = "v3-actual";
    else {
      checksumVariant = "bad";
      if (family === 4) {
        const legacy = pseudoHeaderSum(4, meta.src, options?.mcastGroup4 ?? VRRP_MCAST_GROUP4, length);
        if (legacy >= 0 && foldChecksum(sumWords(bytes, 0, length, legacy)) === 0) {
          checksumVariant = "v3-legacy-group";
        }
      }
    }
  }

  return {
    ok: true,
    advert: {
      family,
      version,
      type: b0 & 0x0f,
      vrid: bytes[1] as number,
      priority: bytes[2] as number,
      addressCount,
      authType: v2 ? b4 : 0,
      authData: hasAuth ? bytes.slice(length - VRRP_AUTH_LENGTH, length) : undefined,
      advertIntervalCs: v2 ? b5 * 100 : ((b4 & 0x0f) << 8) | b5,
      addresses,
      checksum,
      checksumOk: checksumVariant !== "bad",
      checksumVariant,
      expectedChecksum,
      length,
    },
  };
}

function checkFields(fields: AdvertFields, family: Family): void {
  const { version, vrid, priority, advertIntervalCs, addresses } = fields;
  if (version !== 2 && version !== 3) throw new RangeError(`VRRP version ${version}`);
  if (version === 2 && family === 6) throw new RangeError("VRRPv2 is IPv4 only (keepalived forces v3)");
  if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255) throw new RangeError(`vrid ${vrid}`);
  if (!Number.isInteger(priority) || priority < 0 || priority > 255)
    throw new RangeError(`priority ${priority}`);
  if (addresses.length > 255) throw new RangeError(`${addresses.length} addresses (at most 255)`);
  const ok =
    version === 2
      ? Number.isInteger(advertIntervalCs / 100) && advertIntervalCs >= 100 && advertIntervalCs <= 25500
      : Number.isInteger(advertIntervalCs) && advertIntervalCs >= 1 && advertIntervalCs <= 4095;
  if (!ok) throw new RangeError(`advert interval ${advertIntervalCs} cs for VRRPv${version}`);
  if (fields.authData !== undefined && fields.authData.length !== VRRP_AUTH_LENGTH) {
    throw new RangeError("auth data must be 8 bytes");
  }
}

/** Checks `fields` and writes everything but the checksum into `bytes` (sized by `advertLength`). */
function writeAdvertBody(bytes: Uint8Array, fields: AdvertFields, family: Family): void {
  checkFields(fields, family);
  const { version, addresses } = fields;
  const size = addressSize(family);
  bytes[0] = (version << 4) | ((fields.type ?? VRRP_TYPE_ADVERTISEMENT) & 0x0f);
  bytes[1] = fields.vrid;
  bytes[2] = fields.priority;
  bytes[3] = addresses.length;
  if (version === 2) {
    bytes[4] = fields.authType ?? 0;
    bytes[5] = fields.advertIntervalCs / 100;
    if (fields.authData !== undefined) bytes.set(fields.authData, bytes.length - VRRP_AUTH_LENGTH);
  } else {
    bytes[4] = fields.advertIntervalCs >> 8;
    bytes[5] = fields.advertIntervalCs & 0xff;
  }
  for (let i = 0; i < addresses.length; i++) {
    const text = addresses[i] as string;
    const off = VRRP_HEADER_LENGTH + i * size;
    const ok = family === 4 ? parseIpv4Into(text, bytes, off) : parseIpv6Into(text, bytes, off);
    if (!ok) throw new RangeError(`not an IPv${family} address: ${text}`);
  }
}

/** The pseudo-header sum for a v3 message (0 for v2); throws RangeError on missing or bad addresses. */
function pseudoFor(
  version: number,
  family: Family,
  length: number,
  pseudo: PseudoHeader | undefined,
): number {
  if (version !== 3) return 0;
  if (pseudo === undefined) throw new RangeError("VRRPv3 checksum needs the source and destination");
  const p = pseudoHeaderSum(family, pseudo.src, pseudo.dst, length);
  if (p < 0) throw new RangeError(`bad pseudo-header addresses ${pseudo.src} -> ${pseudo.dst}`);
  return p;
}

/**
 * A compiled advert for one instance: all bytes but priority and checksum are fixed. `render` patches
 * those into the template's own buffer and returns it (valid until the next render; copy to keep).
 */
export class AdvertTemplate {
  readonly bytes: Uint8Array;
  readonly #family: Family;
  readonly #version: VrrpVersion;
  /** Sum of the message with priority and checksum zeroed. */
  readonly #baseSum: number;

  constructor(fields: AdvertFields, family: Family) {
    const bytes = new Uint8Array(advertLength(family, fields.version, fields.addresses.length));
    writeAdvertBody(bytes, fields, family);
    bytes[2] = 0;
    this.bytes = bytes;
    this.#family = family;
    this.#version = fields.version;
    this.#baseSum = sumWords(bytes, 0, bytes.length);
  }

  /** Sets priority and checksum; v3 needs the pseudo-header (source and actual destination). */
  render(priority: number, pseudo?: PseudoHeader): Uint8Array {
    const bytes = this.bytes;
    bytes[2] = priority;
    const sum =
      this.#baseSum + ((priority & 0xff) << 8) + pseudoFor(this.#version, this.#family, bytes.length, pseudo);
    const checksum = foldChecksum(sum);
    bytes[6] = checksum >> 8;
    bytes[7] = checksum & 0xff;
    return bytes;
  }
}

export const compileAdvert = (fields: AdvertFields, family: Family): AdvertTemplate =>
  new AdvertTemplate(fields, family);

/** Encodes one advert into a fresh buffer. v3 needs `pseudo` (the checksum covers src and dst). */
export function encodeAdvert(fields: AdvertFields, family: Family, pseudo?: PseudoHeader): Uint8Array {
  const bytes = new Uint8Array(advertLength(family, fields.version, fields.addresses.length));
  writeAdvertBody(bytes, fields, family);
  const checksum = foldChecksum(
    sumWords(bytes, 0, bytes.length, pseudoFor(fields.version, family, bytes.length, pseudo)),
  );
  bytes[6] = checksum >> 8;
  bytes[7] = checksum & 0xff;
  return bytes;
}

/** Recomputes the checksum of an encoded message in place (e.g. per unicast peer for v3). */
export function setAdvertChecksum(bytes: Uint8Array, family: Family, pseudo?: PseudoHeader): void {
  if (bytes.length < VRRP_HEADER_LENGTH) throw new RangeError("not a VRRP message");
  bytes[6] = 0;
  bytes[7] = 0;
  const pseudoSum = pseudoFor((bytes[0] as number) >> 4, family, bytes.length, pseudo);
  const checksum = foldChecksum(sumWords(bytes, 0, bytes.length, pseudoSum));
  bytes[6] = checksum >> 8;
  bytes[7] = checksum & 0xff;
}

export type {
  Counters,
  Expectations,
  ExpectationsInput,
  KeepalivedCounter,
  Rfc6527Counter,
  ValidateOptions,
  ValidateResult,
} from "./validate.ts";
export { countersFor, prepareExpectations, validateAdvert } from "./validate.ts";
