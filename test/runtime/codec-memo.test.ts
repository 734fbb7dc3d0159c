/**
 * The codec adapter's memo of accepted datagrams (src/runtime/codec.adapter.ts) is exact: over random
 * streams of datagrams that differ in bytes (VRID, priority, interval, auth, VIPs), source, TTL, TTL
 * seen or not, IPv4 payload length, interface and family, one long-lived AdvertCodec gives the same
 * result and the same drop counters as a fresh codec (no memory) for every datagram — across plain,
 * check_unicast_src with TTL ranges, password auth, v3 and skip_check_adv_addr instances — and a
 * steady advert is answered from the memo.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeAdvert, passwordAuthData } from "../../src/protocol/codec.ts";
import { AdvertCodec } from "../../src/runtime/codec.adapter.ts";
import type { Input } from "../../src/runtime/input.ts";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";

type Rx = Extract<Input, { kind: "rx" }>;

const spec: NodeSpec = {
  instances: [
    {
      params: instanceDefaults({ name: "plain", vrid: 1, ownIp: "198.18.0.1", vips: ["198.18.1.1"] }),
      tracking: [],
      unicastPeers: [],
    },
    {
      params: instanceDefaults({ name: "peers", vrid: 2, ownIp: "198.18.0.1", vips: ["198.18.1.2"] }),
      tracking: [],
      unicastPeers: ["198.18.0.2", "198.18.0.3"],
      checkUnicastSrc: true,
      peerTtl: [{ address: "198.18.0.3", minTtl: 250, maxTtl: 255 }],
    },
    {
      params: instanceDefaults({ name: "auth", vrid: 3, ownIp: "198.18.0.1", vips: ["198.18.1.3"] }),
      tracking: [],
      unicastPeers: [],
      authPass: "secret",
    },
    {
      params: instanceDefaults({
        name: "v3",
        vrid: 4,
        version: 3,
        ifname: "eth1",
        ownIp: "198.18.0.1",
        vips: ["198.18.1.4"],
      }),
      tracking: [],
      unicastPeers: [],
    },
    {
      params: instanceDefaults({ name: "skip", vrid: 5, ownIp: "198.18.0.1", vips: ["198.18.1.5"] }),
      tracking: [],
      unicastPeers: [],
      skipCheckAdvAddr: true,
    },
  ],
  groups: [],
  trackers: [],
};

/** VRID → the fields its instance accepts. */
const RIGHT: Record<number, { version: 2 | 3; auth?: string; ifname: string; dst: string }> = {
  1: { version: 2, ifname: "eth0", dst: "224.0.0.18" },
  2: { version: 2, ifname: "eth0", dst: "198.18.0.1" },
  3: { version: 2, auth: "secret", ifname: "eth0", dst: "224.0.0.18" },
  4: { version: 3, ifname: "eth1", dst: "224.0.0.18" },
  5: { version: 2, ifname: "eth0", dst: "224.0.0.18" },
};

/** Mostly what the instance of that VRID accepts (so many are accepted), with one fact off at times. */
const datagram = fc
  .record({
    vrid: fc.constantFrom(1, 2, 3, 4, 5, 9),
    priority: fc.constantFrom(0, 100, 150),
    src: fc.constantFrom("198.18.0.2", "198.18.0.3", "198.18.0.9"),
    ttlObserved: fc.constantFrom(undefined, undefined, false),
    withLength: fc.boolean(),
    /** Which fact is wrong: 0 none (most), else version, VIP, auth, interval, TTL, length, interface, destination (8, 9). */
    wrong: fc.oneof(
      { arbitrary: fc.constant(0), weight: 8 },
      { arbitrary: fc.integer({ min: 1, max: 9 }), weight: 4 },
    ),
  })
  .map((d): Rx => {
    const r = RIGHT[d.vrid] ?? { version: 2, ifname: "eth0", dst: "224.0.0.18" };
    const version = d.wrong === 1 ? (r.version === 2 ? 3 : 2) : r.version;
    const auth = d.wrong === 3 ? "wrong" : r.auth;
    // 9: another unicast address of this host (a VIP, a secondary address)
    const dst =
      d.wrong === 8
        ? r.dst === "224.0.0.18"
          ? "198.18.0.1"
          : "224.0.0.18"
        : d.wrong === 9
          ? "198.18.0.7"
          : r.dst;
    const bytes = encodeAdvert(
      {
        version,
        vrid: d.vrid,
        priority: d.priority,
        advertIntervalCs: d.wrong === 4 ? 200 : 100,
        addresses: [`198.18.1.${d.wrong === 2 ? 99 : d.vrid}`],
        ...(auth === undefined || version === 3
          ? {}
          : { authType: 1 as const, authData: passwordAuthData(auth) }),
      },
      4,
      { src: d.src, dst },
    );
    return {
      kind: "rx",
      family: 4,
      src: d.src,
      dst,
      ttl: d.wrong === 5 ? 251 : 255,
      ...(d.ttlObserved === false ? { ttlObserved: false } : {}),
      ifname: d.wrong === 7 ? (r.ifname === "eth0" ? "eth1" : "eth0") : r.ifname,
      ...(d.withLength || d.wrong === 6 ? { ipPayloadLength: bytes.length - (d.wrong === 6 ? 1 : 0) } : {}),
      hex: Buffer.from(bytes).toString("hex"),
    };
  });

describe("AdvertCodec memo of accepted datagrams", () => {
  it("gives every datagram the result and drop counts of a codec without memory", () => {
    let accepted = 0;
    let hits = 0;
    fc.assert(
      fc.property(fc.array(datagram, { minLength: 1, maxLength: 60 }), fc.boolean(), (stream, repeat) => {
        const memo = new AdvertCodec(spec);
        const drops = { unknownRoute: 0, notPeer: 0, ttlOutOfRange: 0 };
        const all = repeat ? [...stream, ...stream, ...stream] : stream;
        for (const d of all) {
          const fresh = new AdvertCodec(spec);
          const masterOf = (name: string) => (name === "skip" ? d.src : undefined);
          const expected = fresh.receive(d, masterOf);
          expect(memo.receive(d, masterOf)).toEqual(expected);
          if (expected.event !== undefined) accepted++;
          drops.unknownRoute += fresh.dropped.unknownRoute;
          drops.notPeer += fresh.dropped.notPeer;
          drops.ttlOutOfRange += fresh.dropped.ttlOutOfRange;
        }
        expect(memo.dropped).toEqual(drops);
        hits += memo.memoHits;
      }),
      { numRuns: 300 },
    );
    // The streams exercise the memo: many acceptances, many answered from it.
    expect(accepted).toBeGreaterThan(1000);
    expect(hits).toBeGreaterThan(500);
  });

  it("answers a steady master's repeated advert from the memo, re-checking changed facts", () => {
    const codec = new AdvertCodec(spec);
    const bytes = encodeAdvert(
      { version: 2, vrid: 1, priority: 150, advertIntervalCs: 100, addresses: ["198.18.1.1"] },
      4,
      { src: "198.18.0.2", dst: "224.0.0.18" },
    );
    const d: Rx = {
      kind: "rx",
      family: 4,
      src: "198.18.0.2",
      dst: "224.0.0.18",
      ttl: 255,
      ifname: "eth0",
      hex: Buffer.from(bytes).toString("hex"),
    };
    for (let i = 0; i < 100; i++) expect(codec.receive({ ...d }).event?.priority).toBe(150);
    expect(codec.memoHits).toBe(99);
    // The same bytes with a TTL of 254: keepalived's TTL check rejects it; no memo answer.
    expect(codec.receive({ ...d, ttl: 254 }).event).toBeUndefined();
    expect(codec.receive({ ...d, ifname: "eth1" })).toEqual({});
    expect(codec.memoHits).toBe(99);
  });
});
