import { describe, expect, it } from "vitest";
import {
  type AdvertFields,
  compileAdvert,
  decodeAdvert,
  encodeAdvert,
  passwordAuthData,
  type RxMeta,
  setAdvertChecksum,
} from "../../src/protocol/codec.ts";

const hex = (s: string): Uint8Array =>
  Uint8Array.from(
    s
      .split(/\s+/)
      .filter(Boolean)
      .map((x) => Number.parseInt(x, 16)),
  );
const toHex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/** Independent reference: RFC 1071 over a plain byte array, written the textbook way. */
const refChecksum = (bytes: number[]): number => {
  const data = bytes.length % 2 ? [...bytes, 0] : bytes;
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) {
    sum += (data[i] as number) * 256 + (data[i + 1] as number);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
};
const v4 = (t: string): number[] => t.split(".").map(Number);

const meta4 = (src: string, dst: string, ttl = 255): RxMeta => ({ family: 4, src, dst, ttl });

describe("VRRPv2 observed vector (docs/keepalived-reference.md §5)", () => {
  const wire = hex("21 14 64 01 00 01 70 68 0a 09 00 78 00 00 00 00 00 00 00 00");

  it("decodes every field and verifies the checksum", () => {
    const r = decodeAdvert(wire, meta4("10.9.0.1", "224.0.0.18"));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.advert).toMatchObject({
      family: 4,
      version: 2,
      type: 1,
      vrid: 20,
      priority: 100,
      addressCount: 1,
      authType: 0,
      advertIntervalCs: 100,
      addresses: ["10.9.0.120"],
      checksum: 0x7068,
      checksumOk: true,
      checksumVariant: "v2",
      length: 20,
    });
    expect([...(r.advert.authData ?? [])]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    // The checksum, recomputed independently over the message with its checksum field zeroed.
    expect(refChecksum([...wire.slice(0, 6), 0, 0, ...wire.slice(8)])).toBe(0x7068);
  });

  it("encodes byte for byte", () => {
    const bytes = encodeAdvert(
      { version: 2, vrid: 20, priority: 100, advertIntervalCs: 100, addresses: ["10.9.0.120"] },
      4,
    );
    expect(toHex(bytes)).toBe(toHex(wire));
  });

  it("a flipped bit fails the checksum", () => {
    const bad = wire.slice();
    bad[2] = 101;
    const r = decodeAdvert(bad, meta4("10.9.0.1", "224.0.0.18"));
    expect(r.ok && r.advert.checksumVariant).toBe("bad");
    expect(r.ok && r.advert.expectedChecksum).toBe(refChecksum([...bad.slice(0, 6), 0, 0, ...bad.slice(8)]));
  });
});

describe("VRRPv3 observed vector (docs/keepalived-reference.md §5)", () => {
  const wire = hex("31 0a 64 01 00 32 4b ba 0a 09 00 6e");
  // The capture's addresses were not recorded. Searching 10.9.0.0/24 x 10.9.0.0/24 (and 10.9.0.0/16 ->
  // 224.0.0.18) the checksum is right only for pairs whose addresses sum to 10.9.0.1 + 10.9.0.2: the
  // unicast pair 10.9.0.1 <-> 10.9.0.2 (the ones' complement sum cannot tell src from dst). Not for
  // 224.0.0.18 with a 10.9.0.x source: so this was a unicast advert checksummed with the peer address.
  const src = "10.9.0.1";
  const dst = "10.9.0.2";

  it("decodes with the actual unicast destination in the pseudo-header", () => {
    const r = decodeAdvert(wire, meta4(src, dst));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.advert).toMatchObject({
      version: 3,
      type: 1,
      vrid: 10,
      priority: 100,
      addressCount: 1,
      authType: 0,
      authData: undefined,
      advertIntervalCs: 50,
      addresses: ["10.9.0.110"],
      checksum: 0x4bba,
      checksumOk: true,
      checksumVariant: "v3-actual",
    });
    const pseudo = [...v4(src), ...v4(dst), 0, 112, 0, 12];
    expect(refChecksum([...pseudo, ...wire.slice(0, 6), 0, 0, ...wire.slice(8)])).toBe(0x4bba);
  });

  it("is not valid for the multicast group with a 10.9.0.1 source", () => {
    const r = decodeAdvert(wire, meta4(src, "224.0.0.18"));
    expect(r.ok && r.advert.checksumVariant).toBe("bad");
  });

  it("encodes byte for byte with the same pseudo-header", () => {
    const fields: AdvertFields = {
      version: 3,
      vrid: 10,
      priority: 100,
      advertIntervalCs: 50,
      addresses: ["10.9.0.110"],
    };
    expect(toHex(encodeAdvert(fields, 4, { src, dst }))).toBe(toHex(wire));
  });
});

describe("VRRPv3 checksums", () => {
  const fields: AdvertFields = {
    version: 3,
    vrid: 51,
    priority: 150,
    advertIntervalCs: 100,
    addresses: ["198.18.0.100", "198.18.0.101"],
  };

  it("accepts the legacy unicast checksum computed with 224.0.0.18", () => {
    const bytes = encodeAdvert(fields, 4, { src: "198.18.0.1", dst: "224.0.0.18" });
    const r = decodeAdvert(bytes, meta4("198.18.0.1", "198.18.0.2"));
    expect(r.ok && r.advert.checksumVariant).toBe("v3-legacy-group");
    expect(r.ok && r.advert.checksumOk).toBe(true);
  });

  it("uses the configured vrrp_mcast_group4 for the legacy variant", () => {
    const bytes = encodeAdvert(fields, 4, { src: "198.18.0.1", dst: "224.0.0.100" });
    expect(decodeAdvert(bytes, meta4("198.18.0.1", "198.18.0.2"))).toMatchObject({
      advert: { checksumVariant: "bad" },
    });
    expect(
      decodeAdvert(bytes, meta4("198.18.0.1", "198.18.0.2"), { mcastGroup4: "224.0.0.100" }),
    ).toMatchObject({ advert: { checksumVariant: "v3-legacy-group" } });
  });

  it("IPv6 uses the IPv6 pseudo-header (checked against a reference sum)", () => {
    const f6: AdvertFields = { ...fields, addresses: ["fe80::100", "2001:db8::1"] };
    const src = "fe80::1";
    const dst = "ff02::12";
    const bytes = encodeAdvert(f6, 6, { src, dst });
    expect(bytes.length).toBe(8 + 32);
    const s = [0xfe, 0x80, ...new Array(13).fill(0), 1];
    const d = [0xff, 0x02, ...new Array(13).fill(0), 0x12];
    const pseudo = [...s, ...d, 0, 0, 0, 40, 0, 0, 0, 112];
    const expected = refChecksum([...pseudo, ...bytes.slice(0, 6), 0, 0, ...bytes.slice(8)]);
    expect(((bytes[6] as number) << 8) | (bytes[7] as number)).toBe(expected);
    const r = decodeAdvert(bytes, { family: 6, src, dst, ttl: 255 });
    expect(r).toMatchObject({
      ok: true,
      advert: {
        addresses: ["fe80::100", "2001:db8::1"],
        checksumVariant: "v3-actual",
        advertIntervalCs: 100,
      },
    });
    expect(decodeAdvert(bytes, { family: 6, src: "fe80::2", dst, ttl: 255 })).toMatchObject({
      advert: { checksumVariant: "bad" },
    });
  });

  it("the 12-bit interval keeps the reserved nibble zero and decodes up to 4095 cs", () => {
    const bytes = encodeAdvert({ ...fields, advertIntervalCs: 4095 }, 4, {
      src: "198.18.0.1",
      dst: "224.0.0.18",
    });
    expect(bytes[4]).toBe(0x0f);
    expect(bytes[5]).toBe(0xff);
    expect(decodeAdvert(bytes, meta4("198.18.0.1", "224.0.0.18"))).toMatchObject({
      advert: { advertIntervalCs: 4095, checksumOk: true },
    });
  });

  it("a template re-rendered per priority and per peer equals a fresh encode", () => {
    const t = compileAdvert(fields, 4);
    for (const [prio, dst] of [
      [0, "198.18.0.2"],
      [255, "198.18.0.3"],
      [150, "224.0.0.18"],
    ] as const) {
      const rendered = t.render(prio, { src: "198.18.0.1", dst }).slice();
      expect(toHex(rendered)).toBe(
        toHex(encodeAdvert({ ...fields, priority: prio }, 4, { src: "198.18.0.1", dst })),
      );
      expect(decodeAdvert(rendered, meta4("198.18.0.1", dst))).toMatchObject({
        advert: { priority: prio, checksumVariant: "v3-actual" },
      });
    }
  });

  it("setAdvertChecksum re-targets a message at another peer", () => {
    const bytes = encodeAdvert(fields, 4, { src: "198.18.0.1", dst: "198.18.0.2" });
    setAdvertChecksum(bytes, 4, { src: "198.18.0.1", dst: "198.18.0.3" });
    expect(decodeAdvert(bytes, meta4("198.18.0.1", "198.18.0.3"))).toMatchObject({
      advert: { checksumVariant: "v3-actual" },
    });
  });
});

describe("VRRPv2 PASS auth", () => {
  it("carries the password zero-padded in the last 8 bytes, covered by the checksum", () => {
    const bytes = encodeAdvert(
      {
        version: 2,
        vrid: 51,
        priority: 100,
        advertIntervalCs: 300,
        addresses: ["198.18.0.100"],
        authType: 1,
        authData: passwordAuthData("secret"),
      },
      4,
    );
    expect(toHex(bytes.slice(12))).toBe("73 65 63 72 65 74 00 00");
    expect(bytes[4]).toBe(1);
    expect(bytes[5]).toBe(3);
    const r = decodeAdvert(bytes, meta4("198.18.0.1", "224.0.0.18"));
    expect(r).toMatchObject({
      ok: true,
      advert: { authType: 1, advertIntervalCs: 300, checksumVariant: "v2" },
    });
    expect(toHex(passwordAuthData("longpassword"))).toBe(toHex(new TextEncoder().encode("longpass")));
  });
});

describe("structural rejections", () => {
  const good = encodeAdvert(
    { version: 2, vrid: 1, priority: 100, advertIntervalCs: 100, addresses: ["198.18.0.9"] },
    4,
  );
  const m = meta4("198.18.0.1", "224.0.0.18");

  it("too short for the header", () => {
    expect(decodeAdvert(good.slice(0, 7), m)).toEqual({
      ok: false,
      reason: { kind: "packet-too-short", length: 7, minimum: 8 },
    });
  });
  it("truncated address list or auth", () => {
    expect(decodeAdvert(good.slice(0, 19), m)).toEqual({
      ok: false,
      reason: { kind: "packet-too-short", length: 19, minimum: 20 },
    });
  });
  it("hostile address count", () => {
    const b = good.slice();
    b[3] = 255;
    expect(decodeAdvert(b, m)).toEqual({
      ok: false,
      reason: { kind: "packet-too-short", length: 20, minimum: 8 + 255 * 4 + 8 },
    });
  });
  it("trailing bytes", () => {
    const b = new Uint8Array(24);
    b.set(good);
    expect(decodeAdvert(b, m)).toEqual({
      ok: false,
      reason: { kind: "packet-length", length: 24, expected: 20 },
    });
  });
  it("unknown version", () => {
    const b = good.slice();
    b[0] = 0x41;
    expect(decodeAdvert(b, m)).toEqual({
      ok: false,
      reason: { kind: "version", version: 4, expected: undefined },
    });
  });
});

describe("encoder refuses invalid fields", () => {
  const base: AdvertFields = { version: 3, vrid: 1, priority: 1, advertIntervalCs: 100, addresses: [] };
  it.each([
    [{ ...base, vrid: 0 }, 4],
    [{ ...base, priority: 256 }, 4],
    [{ ...base, advertIntervalCs: 4096 }, 4],
    [{ ...base, version: 2, advertIntervalCs: 150 } as AdvertFields, 4],
    [{ ...base, version: 2 } as AdvertFields, 6],
    [{ ...base, addresses: ["198.18.0.300"] }, 4],
    [{ ...base, addresses: ["fe80::1"] }, 4],
  ] as const)("%o over IPv%s", (fields, family) => {
    expect(() => encodeAdvert(fields, family, { src: "198.18.0.1", dst: "224.0.0.18" })).toThrow(RangeError);
  });
});
