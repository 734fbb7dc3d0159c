/**
 * Receive validation of a decoded advert against one instance's expectations, in keepalived 2.2.7's
 * order (`vrrp_check_packet`): length (done by `decodeAdvert`), TTL / hop limit, version, v2 auth type
 * and password, v2 interval, type, VRID, address count, IPv4 total length, checksum, multicast vs
 * unicast destination, then — after keepalived counts `advert_rcvd` — every VIP present and the
 * unicast source among the peers. Each failure is a `RejectReason`; `countersFor` maps it to the
 * keepalived stats counter and RFC 6527 counter it increments. Pure.
 *
 * One deliberate difference: `decodeAdvert` rejects a version nibble other than 2 or 3 before the
 * TTL check (it needs the version to know the layout); keepalived would report a bad TTL first.
 * Both counters are SNMP/TTL counters of packets keepalived drops anyway.
 */
import { canonicalAddress, isMulticastAddress } from "./address.ts";
import type { AuthType, DecodedAdvert, Family, RejectReason, RxMeta, VrrpVersion } from "./codec.ts";

/** An instance's receive expectations, as configured. */
export interface ExpectationsInput {
  readonly family: Family;
  readonly version: VrrpVersion;
  readonly vrid: number;
  /** v2: 0 none or 1 PASS (default 0). */
  readonly authType?: AuthType;
  /** v2 PASS: the 8 auth bytes (`passwordAuthData(pass)`). */
  readonly authData?: Uint8Array;
  readonly advertIntervalCs: number;
  /** The instance's VIPs (`virtual_ipaddress`, not the excluded ones), any valid text form. */
  readonly vips: readonly string[];
  /** `unicast_peer` addresses; empty or absent = multicast mode. */
  readonly unicastPeers?: readonly string[];
  /** unicast only: `min_ttl` / `max_ttl` (defaults 0 / 255). */
  readonly minTtl?: number;
  readonly maxTtl?: number;
  /** `vrrp_check_unicast_src` (global_defs). */
  readonly checkUnicastSrc?: boolean;
}

/** Prepared expectations (canonical address sets); build once per instance with `prepareExpectations`. */
export interface Expectations {
  readonly family: Family;
  readonly version: VrrpVersion;
  readonly vrid: number;
  readonly authType: AuthType;
  readonly authData: Uint8Array;
  readonly advertIntervalCs: number;
  readonly vips: readonly string[];
  readonly unicast: boolean;
  readonly unicastPeers: ReadonlySet<string>;
  readonly minTtl: number;
  readonly maxTtl: number;
  readonly checkUnicastSrc: boolean;
}

export interface ValidateOptions {
  /** skip_check_adv_addr in effect for this packet: the instance is BACKUP and the source is the last
   * master. Skips the address count, VIP list and unicast source checks (keepalived steps 6, 10, 11). */
  readonly skipAddressCheck?: boolean;
}

export type ValidateResult = { readonly ok: true } | { readonly ok: false; readonly reason: RejectReason };

/** keepalived `stats` fields (`keepalived.json`), plus the SNMP-only per-instance counters. */
export type KeepalivedCounter =
  | "packet_len_err"
  | "ip_ttl_err"
  | "invalid_type_rcvd"
  | "addr_list_err"
  | "invalid_authtype"
  | "authtype_mismatch"
  | "auth_failure"
  | "vers_err"
  | "vrid_err"
  | "chk_err";

/** RFC 6527 (VRRPv3-MIB) statistics this rejection increments. */
export type Rfc6527Counter =
  | "PacketLengthErrors"
  | "IpTtlErrors"
  | "RcvdInvalidTypePackets"
  | "AddressListErrors"
  | "AdvIntervalErrors"
  | "VersionErrors"
  | "VrIdErrors"
  | "ChecksumErrors";

export interface Counters {
  /** null: keepalived drops without counting (interval mismatch, unicast source). */
  readonly keepalived: KeepalivedCounter | null;
  readonly rfc6527: Rfc6527Counter | null;
  /** keepalived counted `advert_rcvd` (RcvdAdvertisements) before this check failed. */
  readonly advertReceived: boolean;
}

const COUNTERS: { readonly [K in RejectReason["kind"]]: Counters } = {
  "packet-too-short": { keepalived: "packet_len_err", rfc6527: "PacketLengthErrors", advertReceived: false },
  "packet-length": { keepalived: "packet_len_err", rfc6527: "PacketLengthErrors", advertReceived: false },
  "ip-total-length": { keepalived: "packet_len_err", rfc6527: "PacketLengthErrors", advertReceived: false },
  ttl: { keepalived: "ip_ttl_err", rfc6527: "IpTtlErrors", advertReceived: false },
  version: { keepalived: "vers_err", rfc6527: "VersionErrors", advertReceived: false },
  "auth-type-invalid": { keepalived: "invalid_authtype", rfc6527: null, advertReceived: false },
  "auth-type-mismatch": { keepalived: "authtype_mismatch", rfc6527: null, advertReceived: false },
  "auth-failure": { keepalived: "auth_failure", rfc6527: null, advertReceived: false },
  // keepalived 2.2.7 drops these without counting (advert_interval_err stays 0); RFC 6527 counts them.
  "interval-mismatch": { keepalived: null, rfc6527: "AdvIntervalErrors", advertReceived: false },
  type: { keepalived: "invalid_type_rcvd", rfc6527: "RcvdInvalidTypePackets", advertReceived: false },
  vrid: { keepalived: "vrid_err", rfc6527: "VrIdErrors", advertReceived: false },
  "address-count": { keepalived: "addr_list_err", rfc6527: "AddressListErrors", advertReceived: false },
  checksum: { keepalived: "chk_err", rfc6527: "ChecksumErrors", advertReceived: false },
  "destination-mode": { keepalived: "addr_list_err", rfc6527: "AddressListErrors", advertReceived: false },
  "address-missing": { keepalived: "addr_list_err", rfc6527: "AddressListErrors", advertReceived: true },
  "unicast-source": { keepalived: null, rfc6527: null, advertReceived: true },
};

/** The counters a rejection increments. */
export const countersFor = (reason: RejectReason): Counters => COUNTERS[reason.kind];

const canonicalOrThrow = (text: string, family: Family): string => {
  const c = canonicalAddress(text, family);
  if (c === undefined) throw new RangeError(`not an IPv${family} address: ${text}`);
  return c;
};

/** Normalises an instance's expectations. Throws RangeError on bad addresses (config is validated first). */
export function prepareExpectations(input: ExpectationsInput): Expectations {
  const peers = input.unicastPeers ?? [];
  const authData = input.authData ?? new Uint8Array(8);
  if (authData.length !== 8) throw new RangeError("auth data must be 8 bytes");
  return {
    family: input.family,
    version: input.version,
    vrid: input.vrid,
    authType: input.authType ?? 0,
    authData,
    advertIntervalCs: input.advertIntervalCs,
    vips: input.vips.map((v) => canonicalOrThrow(v, input.family)),
    unicast: peers.length > 0,
    unicastPeers: new Set(peers.map((p) => canonicalOrThrow(p, input.family))),
    minTtl: input.minTtl ?? 0,
    maxTtl: input.maxTtl ?? 255,
    checkUnicastSrc: input.checkUnicastSrc ?? false,
  };
}

const OK: ValidateResult = Object.freeze({ ok: true });
const reject = (reason: RejectReason): ValidateResult => ({ ok: false, reason });

/** keepalived's receive checks, in order. Never throws. */
export function validateAdvert(
  advert: DecodedAdvert,
  meta: RxMeta,
  exp: Expectations,
  options?: ValidateOptions,
): ValidateResult {
  // 2. TTL / hop limit: 255 in multicast mode; the min/max_ttl range in unicast mode.
  if (meta.ttlObserved !== false) {
    const min = exp.unicast ? exp.minTtl : 255;
    const max = exp.unicast ? exp.maxTtl : 255;
    if (meta.ttl < min || meta.ttl > max) return reject({ kind: "ttl", ttl: meta.ttl, min, max });
  }
  // 3. Version.
  if (advert.version !== exp.version) {
    return reject({ kind: "version", version: advert.version, expected: exp.version });
  }
  // 4. v2: auth type, password (compared over 8 bytes in constant time), interval.
  if (exp.version === 2) {
    const authType = advert.authType;
    if (authType !== 0 && authType !== 1 && authType !== 2)
      return reject({ kind: "auth-type-invalid", authType });
    if (authType !== exp.authType)
      return reject({ kind: "auth-type-mismatch", authType, expected: exp.authType });
    if (authType === 1) {
      const got = advert.authData;
      let diff = got === undefined ? 1 : 0;
      for (let i = 0; i < 8; i++) diff |= (got?.[i] ?? 0) ^ (exp.authData[i] as number);
      if (diff !== 0) return reject({ kind: "auth-failure" });
    }
    if (advert.advertIntervalCs !== exp.advertIntervalCs) {
      return reject({
        kind: "interval-mismatch",
        advertIntervalCs: advert.advertIntervalCs,
        expectedCs: exp.advertIntervalCs,
      });
    }
  }
  // 5. Type.
  if (advert.type !== 1) return reject({ kind: "type", type: advert.type });
  if (advert.vrid !== exp.vrid) return reject({ kind: "vrid", vrid: advert.vrid, expected: exp.vrid });
  const checkAddresses = options?.skipAddressCheck !== true;
  // 6. Address count.
  if (checkAddresses && advert.addressCount !== exp.vips.length) {
    return reject({ kind: "address-count", count: advert.addressCount, expected: exp.vips.length });
  }
  // 7. IPv4 total length (raw sockets only).
  if (meta.ipPayloadLength !== undefined && meta.ipPayloadLength !== advert.length) {
    return reject({ kind: "ip-total-length", length: advert.length, ipPayloadLength: meta.ipPayloadLength });
  }
  // 8. Checksum (the legacy v3 unicast variant is accepted by decodeAdvert).
  if (!advert.checksumOk)
    return reject({ kind: "checksum", checksum: advert.checksum, expected: advert.expectedChecksum });
  // 9. Multicast vs unicast destination.
  if (isMulticastAddress(meta.dst) === exp.unicast) {
    return reject({
      kind: "destination-mode",
      dst: meta.dst,
      configured: exp.unicast ? "unicast" : "multicast",
    });
  }
  if (checkAddresses) {
    // 10. (advert_rcvd counted) Every configured VIP present.
    const vips = exp.vips;
    const got = advert.addresses;
    for (let i = 0; i < vips.length; i++) {
      const vip = vips[i] as string;
      if (got[i] !== vip && !got.includes(vip)) return reject({ kind: "address-missing", address: vip });
    }
    // 11. Unicast source among the peers.
    if (exp.checkUnicastSrc && exp.unicast && !exp.unicastPeers.has(meta.src)) {
      return reject({ kind: "unicast-source", src: meta.src });
    }
  }
  return OK;
}
