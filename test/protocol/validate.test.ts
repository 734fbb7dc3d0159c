import { describe, expect, it } from "vitest";
import {
  type AdvertFields,
  countersFor,
  type DecodedAdvert,
  decodeAdvert,
  type ExpectationsInput,
  encodeAdvert,
  passwordAuthData,
  prepareExpectations,
  type RejectKind,
  type RxMeta,
  validateAdvert,
} from "../../src/protocol/codec.ts";

const SRC = "198.18.0.1";
const GROUP = "224.0.0.18";

const v2Fields: AdvertFields = {
  version: 2,
  vrid: 51,
  priority: 100,
  advertIntervalCs: 100,
  addresses: ["198.18.0.100", "198.18.0.101"],
  authType: 1,
  authData: passwordAuthData("pw"),
};
const v2Exp: ExpectationsInput = {
  family: 4,
  version: 2,
  vrid: 51,
  authType: 1,
  authData: passwordAuthData("pw"),
  advertIntervalCs: 100,
  vips: ["198.18.0.101", "198.18.0.100"],
};

const decode = (bytes: Uint8Array, meta: RxMeta): DecodedAdvert => {
  const r = decodeAdvert(bytes, meta);
  if (!r.ok) throw new Error(`decode failed: ${r.reason.kind}`);
  return r.advert;
};

/** Encodes `fields`, decodes with `meta`, validates against `exp`; the rejection kind or "ok". */
const verdict = (
  fields: AdvertFields,
  exp: ExpectationsInput,
  meta: Partial<RxMeta> = {},
  tweak?: (b: Uint8Array) => void,
  skipAddressCheck = false,
): RejectKind | "ok" => {
  const m: RxMeta = { family: exp.family, src: SRC, dst: GROUP, ttl: 255, ...meta };
  const bytes = encodeAdvert(fields, exp.family, { src: m.src, dst: m.dst });
  tweak?.(bytes);
  const r = validateAdvert(decode(bytes, m), m, prepareExpectations(exp), { skipAddressCheck });
  return r.ok ? "ok" : r.reason.kind;
};

describe("validateAdvert: each check", () => {
  it("accepts a matching v2 PASS advert (VIPs in any order)", () => {
    expect(verdict(v2Fields, v2Exp)).toBe("ok");
  });
  it("TTL must be 255 in multicast mode", () => {
    expect(verdict(v2Fields, v2Exp, { ttl: 254 })).toBe("ttl");
  });
  it("TTL is not checked when the transport cannot see it (UDP)", () => {
    expect(verdict(v2Fields, v2Exp, { ttl: 64, ttlObserved: false })).toBe("ok");
  });
  it("unicast: any TTL unless min/max_ttl, then the range", () => {
    const uni = { ...v2Exp, unicastPeers: [SRC] };
    expect(verdict(v2Fields, uni, { ttl: 3, dst: "198.18.0.2" })).toBe("ok");
    expect(verdict(v2Fields, { ...uni, minTtl: 10, maxTtl: 20 }, { ttl: 3, dst: "198.18.0.2" })).toBe("ttl");
    expect(verdict(v2Fields, { ...uni, minTtl: 10, maxTtl: 20 }, { ttl: 21, dst: "198.18.0.2" })).toBe("ttl");
    expect(verdict(v2Fields, { ...uni, minTtl: 10, maxTtl: 20 }, { ttl: 20, dst: "198.18.0.2" })).toBe("ok");
  });
  it("version", () => {
    expect(verdict({ ...v2Fields, version: 3, authType: 0 }, v2Exp)).toBe("version");
  });
  it("auth type out of range, mismatch, wrong password", () => {
    expect(verdict(v2Fields, v2Exp, {}, (b) => (b[4] = 3))).toBe("auth-type-invalid");
    expect(verdict({ ...v2Fields, authType: 0 }, v2Exp)).toBe("auth-type-mismatch");
    expect(verdict({ ...v2Fields, authData: passwordAuthData("pW") }, v2Exp)).toBe("auth-failure");
    expect(verdict({ ...v2Fields, authData: passwordAuthData("pw\0\0\0\0\0x") }, v2Exp)).toBe("auth-failure");
  });
  it("v2 interval must equal ours", () => {
    expect(verdict({ ...v2Fields, advertIntervalCs: 200 }, v2Exp)).toBe("interval-mismatch");
  });
  it("v3 interval may differ (the backup learns it)", () => {
    const f: AdvertFields = { ...v2Fields, version: 3, authType: 0, advertIntervalCs: 37 };
    expect(verdict(f, { ...v2Exp, version: 3, authType: 0 })).toBe("ok");
  });
  it("type", () => {
    expect(verdict({ ...v2Fields, type: 2 }, v2Exp)).toBe("type");
  });
  it("VRID", () => {
    expect(verdict({ ...v2Fields, vrid: 52 }, v2Exp)).toBe("vrid");
  });
  it("address count", () => {
    expect(verdict({ ...v2Fields, addresses: ["198.18.0.100"] }, v2Exp)).toBe("address-count");
  });
  it("IPv4 total length from the raw header", () => {
    expect(verdict(v2Fields, v2Exp, { ipPayloadLength: 24 })).toBe("ok");
    expect(verdict(v2Fields, v2Exp, { ipPayloadLength: 28 })).toBe("ip-total-length");
  });
  it("checksum", () => {
    expect(verdict(v2Fields, v2Exp, {}, (b) => (b[7] = (b[7] as number) ^ 1))).toBe("checksum");
  });
  it("multicast advert while configured unicast, and the reverse", () => {
    expect(verdict(v2Fields, { ...v2Exp, unicastPeers: [SRC] })).toBe("destination-mode");
    expect(verdict(v2Fields, v2Exp, { dst: "198.18.0.2" })).toBe("destination-mode");
  });
  it("every VIP must be present", () => {
    expect(verdict({ ...v2Fields, addresses: ["198.18.0.100", "198.18.0.102"] }, v2Exp)).toBe(
      "address-missing",
    );
  });
  it("check_unicast_src: the source must be a peer", () => {
    const uni = { ...v2Exp, unicastPeers: ["198.18.0.7"], checkUnicastSrc: true };
    expect(verdict(v2Fields, uni, { dst: "198.18.0.2" })).toBe("unicast-source");
    expect(verdict(v2Fields, { ...uni, checkUnicastSrc: false }, { dst: "198.18.0.2" })).toBe("ok");
  });
  it("skip_check_adv_addr skips count, VIP list and unicast source, not the destination mode", () => {
    const f = { ...v2Fields, addresses: ["198.18.0.100"] };
    expect(verdict(f, v2Exp, {}, undefined, true)).toBe("ok");
    const uni = { ...v2Exp, unicastPeers: ["198.18.0.7"], checkUnicastSrc: true };
    expect(verdict(f, uni, { dst: "198.18.0.2" }, undefined, true)).toBe("ok");
    expect(verdict(f, uni, {}, undefined, true)).toBe("destination-mode");
  });
  it("IPv6 v3 with canonicalised VIPs", () => {
    const f: AdvertFields = {
      version: 3,
      vrid: 9,
      priority: 10,
      advertIntervalCs: 100,
      addresses: ["fe80::a"],
    };
    const exp: ExpectationsInput = {
      family: 6,
      version: 3,
      vrid: 9,
      advertIntervalCs: 100,
      vips: ["FE80:0:0::A"],
    };
    expect(verdict(f, exp, { src: "fe80::1", dst: "ff02::12" })).toBe("ok");
    expect(verdict(f, exp, { src: "fe80::1", dst: "ff02::12", ttl: 1 })).toBe("ttl");
  });
});

describe("validateAdvert: keepalived's order", () => {
  it("the earliest failing check wins", () => {
    const all: AdvertFields = { ...v2Fields, authType: 0, advertIntervalCs: 200, type: 2, addresses: [] };
    expect(verdict(all, v2Exp, { ttl: 1 })).toBe("ttl");
    expect(verdict(all, v2Exp)).toBe("auth-type-mismatch");
    expect(verdict({ ...all, authType: 1 }, v2Exp)).toBe("interval-mismatch");
    expect(verdict({ ...all, authType: 1, advertIntervalCs: 100 }, v2Exp)).toBe("type");
    expect(verdict({ ...all, authType: 1, advertIntervalCs: 100, type: 1 }, v2Exp)).toBe("address-count");
    const bad = (b: Uint8Array) => (b[7] = (b[7] as number) ^ 1);
    expect(verdict(v2Fields, v2Exp, { dst: "198.18.0.2", ipPayloadLength: 1 }, bad)).toBe("ip-total-length");
    expect(verdict(v2Fields, v2Exp, { dst: "198.18.0.2" }, bad)).toBe("checksum");
  });
});

describe("countersFor", () => {
  it("maps to keepalived stats and RFC 6527", () => {
    expect(countersFor({ kind: "packet-length", length: 1, expected: 2 })).toEqual({
      keepalived: "packet_len_err",
      rfc6527: "PacketLengthErrors",
      advertReceived: false,
    });
    expect(countersFor({ kind: "ttl", ttl: 1, min: 255, max: 255 }).keepalived).toBe("ip_ttl_err");
    expect(countersFor({ kind: "type", type: 2 }).rfc6527).toBe("RcvdInvalidTypePackets");
    expect(countersFor({ kind: "auth-failure" }).keepalived).toBe("auth_failure");
    expect(
      countersFor({ kind: "interval-mismatch", advertIntervalCs: 1, expectedCs: 2 }).keepalived,
    ).toBeNull();
    expect(countersFor({ kind: "destination-mode", dst: "x", configured: "unicast" }).keepalived).toBe(
      "addr_list_err",
    );
    expect(countersFor({ kind: "address-missing", address: "x" }).advertReceived).toBe(true);
    expect(countersFor({ kind: "checksum", checksum: 0, expected: 1 }).rfc6527).toBe("ChecksumErrors");
  });
});
