/**
 * `rxInput` (src/runtime/input.ts) turns a transport's datagram into the journaled `rx` input: for any
 * facts (TTL observed or not, interface index and IPv4 payload length present or not, the hex given
 * by an interning transport or not) it is the input the Schema decodes from the same facts — the same
 * keys in the same order, so the same journal text — and its hex is always the datagram's bytes.
 */

import { Schema } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Input, type RxFacts, rxInput } from "../../src/runtime/input.ts";
import { inputText } from "../../src/runtime/input-text.ts";

const facts = fc.record(
  {
    bytes: fc.uint8Array({ maxLength: 40 }),
    family: fc.constantFrom(4 as const, 6 as const),
    src: fc.constantFrom("198.18.0.2", "fe80::2"),
    dst: fc.constantFrom("224.0.0.18", "ff02::12", "198.18.0.1"),
    ttl: fc.integer({ min: 0, max: 255 }),
    ttlObserved: fc.boolean(),
    ifname: fc.constantFrom("eth0", "vk1"),
    ifindex: fc.integer({ min: 1, max: 9 }),
    ipPayloadLength: fc.integer({ min: 0, max: 60 }),
    withHex: fc.boolean(),
  },
  { requiredKeys: ["bytes", "family", "src", "dst", "ttl", "ifname", "withHex"] },
);

const decode = Schema.decodeUnknownSync(Input);

describe("rxInput", () => {
  it("is the decoded input of the same facts, key for key, and its hex is the bytes", () => {
    fc.assert(
      fc.property(facts, ({ withHex, ...f }) => {
        const hex = Buffer.from(f.bytes).toString("hex");
        const d: RxFacts = withHex ? { ...f, hex } : f;
        const got = rxInput(d);
        const want = decode({
          kind: "rx",
          family: f.family,
          src: f.src,
          dst: f.dst,
          ttl: f.ttl,
          ...(f.ttlObserved === false ? { ttlObserved: false } : {}),
          ifname: f.ifname,
          ...(f.ifindex === undefined ? {} : { ifindex: f.ifindex }),
          ...(f.ipPayloadLength === undefined ? {} : { ipPayloadLength: f.ipPayloadLength }),
          hex,
        });
        expect(got).toStrictEqual(want);
        expect(JSON.stringify(got)).toBe(JSON.stringify(want));
        expect(inputText(got)).toBe(JSON.stringify(want));
      }),
      { numRuns: 2000 },
    );
  });
});
