/**
 * The raw socket's per-datagram IPv4 parse (`parseIpv4Rx`, transports/ip-header.ts) accepts and
 * rejects exactly what `parseIpv4` does and gives the same source, destination, TTL, protocol and
 * payload, over well-formed headers with random fields and options, cut or padded buffers, and
 * random bytes — also read in place from a larger reused buffer with the received length; its address
 * cache gives the same text as a fresh format, also after it is cleared.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeIpv4Packet } from "../../src/protocol/ipv4.ts";
import { Ipv4Names, isParseFailure, parseIpv4, parseIpv4Rx } from "../../transports/ip-header.ts";

const byte = fc.integer({ min: 0, max: 255 });
const address = fc.tuple(byte, byte, byte, byte).map((a) => a.join("."));

/** A well-formed packet, then perhaps damaged: header length, total length, version, cut, padding. */
const packet = fc
  .record({
    src: address,
    dst: address,
    ttl: byte,
    protocol: fc.constantFrom(112, 17, 1),
    payload: fc.uint8Array({ maxLength: 64 }),
    damage: fc.constantFrom("none", "none", "ihl", "total", "version", "cut", "pad"),
    at: fc.nat(80),
    value: byte,
  })
  .map((r) => {
    const p = encodeIpv4Packet(
      { ttl: r.ttl, id: 1, protocol: r.protocol, src: r.src, dst: r.dst },
      r.payload,
    );
    let b = Uint8Array.from(p);
    if (r.damage === "ihl") b[0] = 0x40 | (r.value & 0x0f);
    if (r.damage === "total") {
      b[2] = r.value;
      b[3] = r.at;
    }
    if (r.damage === "version") b[0] = (r.value & 0xf0) | 5;
    if (r.damage === "cut") b = b.subarray(0, Math.min(b.length, r.at));
    if (r.damage === "pad") b = Uint8Array.from([...b, ...new Uint8Array(r.at % 9)]);
    return b;
  });

const same = (b: Uint8Array, names: Ipv4Names): void => {
  const want = parseIpv4(b);
  const got = parseIpv4Rx(b, names);
  // The socket's form: the same bytes at the start of a larger reused buffer, with their length.
  const reused = new Uint8Array(b.length + 64).fill(0xab);
  reused.set(b);
  expect(parseIpv4Rx(reused, names, b.length)).toEqual(got);
  expect(isParseFailure(got)).toBe(isParseFailure(want));
  if (isParseFailure(want) || isParseFailure(got)) {
    expect(got).toEqual(want);
    return;
  }
  expect(got.src).toBe(want.src);
  expect(got.dst).toBe(want.dst);
  expect(got.ttl).toBe(want.ttl);
  expect(got.protocol).toBe(want.protocol);
  expect(b.subarray(got.payloadStart, got.payloadEnd)).toEqual(want.payload);
};

describe("parseIpv4Rx ≡ parseIpv4", () => {
  it("on well-formed and damaged packets", () => {
    const names = new Ipv4Names();
    fc.assert(
      fc.property(packet, (b) => same(b, names)),
      { numRuns: 3000 },
    );
  });

  it("on random bytes", () => {
    const names = new Ipv4Names();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => same(b, names)),
      { numRuns: 3000 },
    );
  });

  it("the address cache survives being cleared (more than 1,024 addresses)", () => {
    const names = new Ipv4Names();
    for (let i = 0; i < 3000; i++) {
      const b = Uint8Array.of(198, 18, (i >> 8) & 0xff, i & 0xff);
      expect(names.text(b, 0)).toBe(`198.18.${(i >> 8) & 0xff}.${i & 0xff}`);
      expect(names.text(Uint8Array.of(0, ...b), 1)).toBe(`198.18.${(i >> 8) & 0xff}.${i & 0xff}`);
    }
  });
});
