/**
 * Bad input never crashes the codec: at least 100,000 random and mutated packets per run (random
 * bytes, truncations, extensions, bit flips, hostile address counts, garbage IP metadata) through
 * decode + validate. Every outcome is either ok or a rejection with a known reason and counters.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AdvertFields,
  countersFor,
  decodeAdvert,
  encodeAdvert,
  type Family,
  passwordAuthData,
  prepareExpectations,
  type RejectKind,
  type RxMeta,
  validateAdvert,
} from "../../src/protocol/codec.ts";
import { decodeIpv4Header, encodeIpv4Packet } from "../../src/protocol/ipv4.ts";

const KINDS: ReadonlySet<RejectKind> = new Set<RejectKind>([
  "packet-too-short",
  "packet-length",
  "ip-total-length",
  "ttl",
  "version",
  "auth-type-invalid",
  "auth-type-mismatch",
  "auth-failure",
  "interval-mismatch",
  "type",
  "vrid",
  "address-count",
  "checksum",
  "destination-mode",
  "address-missing",
  "unicast-source",
]);

const SEEDS: readonly { fields: AdvertFields; family: Family }[] = [
  {
    fields: { version: 2, vrid: 51, priority: 100, advertIntervalCs: 100, addresses: ["198.18.0.100"] },
    family: 4,
  },
  {
    fields: {
      version: 2,
      vrid: 51,
      priority: 100,
      advertIntervalCs: 100,
      addresses: ["198.18.0.100", "198.18.0.101"],
      authType: 1,
      authData: passwordAuthData("pw"),
    },
    family: 4,
  },
  {
    fields: { version: 3, vrid: 51, priority: 200, advertIntervalCs: 50, addresses: ["198.18.0.100"] },
    family: 4,
  },
  {
    fields: { version: 3, vrid: 51, priority: 200, advertIntervalCs: 50, addresses: ["fe80::64"] },
    family: 6,
  },
];
const encoded = SEEDS.map(({ fields, family }) =>
  encodeAdvert(
    fields,
    family,
    family === 4 ? { src: "198.18.0.1", dst: "224.0.0.18" } : { src: "fe80::1", dst: "ff02::12" },
  ),
);

const EXPECTATIONS = [
  prepareExpectations({ family: 4, version: 2, vrid: 51, advertIntervalCs: 100, vips: ["198.18.0.100"] }),
  prepareExpectations({
    family: 4,
    version: 2,
    vrid: 51,
    authType: 1,
    authData: passwordAuthData("pw"),
    advertIntervalCs: 100,
    vips: ["198.18.0.100", "198.18.0.101"],
    unicastPeers: ["198.18.0.1"],
    checkUnicastSrc: true,
    minTtl: 10,
    maxTtl: 255,
  }),
  prepareExpectations({ family: 4, version: 3, vrid: 51, advertIntervalCs: 50, vips: ["198.18.0.100"] }),
  prepareExpectations({ family: 6, version: 3, vrid: 51, advertIntervalCs: 50, vips: ["fe80::64"] }),
];

type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "truncate"; to: number }
  | { op: "extend"; by: number[] }
  | { op: "naddr"; count: number }
  | { op: "set"; at: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(63), bit: fc.nat(7) }),
  fc.record({ op: fc.constant("truncate" as const), to: fc.nat(48) }),
  fc.record({ op: fc.constant("extend" as const), by: fc.array(fc.nat(255), { maxLength: 40 }) }),
  fc.record({ op: fc.constant("naddr" as const), count: fc.nat(255) }),
  fc.record({ op: fc.constant("set" as const), at: fc.nat(11), value: fc.nat(255) }),
);

const apply = (bytes: Uint8Array, m: Mutation): Uint8Array => {
  switch (m.op) {
    case "flip": {
      const b = bytes.slice();
      if (m.at < b.length) b[m.at] = (b[m.at] as number) ^ (1 << m.bit);
      return b;
    }
    case "truncate":
      return bytes.slice(0, m.to);
    case "extend":
      return Uint8Array.from([...bytes, ...m.by]);
    case "naddr":
    case "set": {
      const b = bytes.slice();
      const at = m.op === "naddr" ? 3 : m.at;
      if (at < b.length) b[at] = m.op === "naddr" ? m.count : m.value;
      return b;
    }
  }
};

const packet: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc
    .tuple(fc.nat(SEEDS.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([i, ms]) => ms.reduce(apply, encoded[i] as Uint8Array)),
);

const address = fc.oneof(
  fc.constantFrom(
    "198.18.0.1",
    "224.0.0.18",
    "198.18.0.2",
    "fe80::1",
    "ff02::12",
    "",
    "x",
    "1.2.3",
    "::",
    "300.1.1.1",
  ),
  fc.ipV4(),
  fc.ipV6(),
  fc.string({ maxLength: 12 }),
);

const meta: fc.Arbitrary<RxMeta> = fc
  .record({
    family: fc.constantFrom<Family>(4, 6),
    src: address,
    dst: address,
    ttl: fc.nat(255),
    ttlObserved: fc.boolean(),
    ipPayloadLength: fc.option(fc.nat(100), { nil: undefined }),
  })
  .map(({ ipPayloadLength, ...m }) => (ipPayloadLength === undefined ? m : { ...m, ipPayloadLength }));

const BATCH = 10;
const RUNS = 10_000;

describe("codec under hostile input", () => {
  it(`decode + validate never throw and always give a reason (${BATCH * RUNS} packets)`, () => {
    let packets = 0;
    let accepted = 0;
    const seen = new Set<RejectKind>();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(packet, meta, fc.nat(EXPECTATIONS.length - 1), fc.boolean()), {
          minLength: BATCH,
          maxLength: BATCH,
        }),
        (cases) => {
          for (const [bytes, m, e, skip] of cases) {
            packets++;
            const decoded = decodeAdvert(bytes, m);
            if (!decoded.ok) {
              expect(KINDS.has(decoded.reason.kind)).toBe(true);
              expect(countersFor(decoded.reason)).toBeDefined();
              seen.add(decoded.reason.kind);
              continue;
            }
            const a = decoded.advert;
            expect(a.length).toBe(bytes.length);
            expect(a.addresses).toHaveLength(a.addressCount);
            const v = validateAdvert(a, m, EXPECTATIONS[e] as (typeof EXPECTATIONS)[number], {
              skipAddressCheck: skip,
            });
            if (v.ok) accepted++;
            else {
              expect(KINDS.has(v.reason.kind)).toBe(true);
              expect(countersFor(v.reason)).toBeDefined();
              seen.add(v.reason.kind);
            }
          }
        },
      ),
      { numRuns: RUNS, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
    expect(packets).toBeGreaterThanOrEqual(100_000);
    // The generator reaches deep into validation, not just the length checks.
    for (const k of ["packet-too-short", "packet-length", "version", "checksum", "ttl", "type"] as const) {
      expect(seen.has(k)).toBe(true);
    }
    expect(accepted).toBeGreaterThan(0);
  });

  it("the raw IPv4 path (header decode, then VRRP decode + validate) never throws (20,000 packets)", () => {
    let reachedVrrp = 0;
    fc.assert(
      fc.property(
        packet,
        fc.ipV4(),
        fc.constantFrom("224.0.0.18", "198.18.0.2"),
        fc.nat(255),
        fc.array(fc.tuple(fc.nat(19), fc.nat(7)), { maxLength: 3 }),
        fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.nat(30), weight: 1 }),
        (payload, src, dst, ttl, flips, cut) => {
          const pkt = encodeIpv4Packet({ ttl, id: 1, src, dst }, payload);
          for (const [at, bit] of flips) pkt[at] = (pkt[at] as number) ^ (1 << bit);
          const ip = decodeIpv4Header(pkt.subarray(0, Math.max(0, pkt.length - cut)));
          if (!ip.ok) return;
          const h = ip.header;
          const m: RxMeta = {
            family: 4,
            src: h.src,
            dst: h.dst,
            ttl: h.ttl,
            ipPayloadLength: h.totalLength - h.headerLength,
          };
          const d = decodeAdvert(ip.payload, m);
          if (!d.ok) return;
          reachedVrrp++;
          const v = validateAdvert(d.advert, m, EXPECTATIONS[2] as (typeof EXPECTATIONS)[number]);
          if (!v.ok) expect(KINDS.has(v.reason.kind)).toBe(true);
        },
      ),
      { numRuns: 20_000 },
    );
    expect(reachedVrrp).toBeGreaterThan(500);
  });
});
