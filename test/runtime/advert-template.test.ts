/**
 * The runtime sends through a per-instance advert template (codec.adapter.ts `outbound`: patched
 * with priority and checksum, as keepalived's `vrrp_update_pkt`): every datagram it produces is the
 * same bytes as `encodeAdvert` from scratch — v2 and v3, IPv4 and IPv6, multicast and unicast (v3:
 * a checksum per destination), with and without auth, for any sequence of priorities on one codec;
 * the same advert again is the same frozen datagrams, and a later one never changes an earlier
 * one's bytes — and a priority outside 0..255 is still refused with the encoder's error.
 */
import fc from "fast-check";
import { expect, test } from "vitest";
import { encodeAdvert, passwordAuthData } from "../../src/protocol/codec.ts";
import { AdvertCodec } from "../../src/runtime/codec.adapter.ts";
import { type InstanceSpec, instanceDefaults } from "../../src/runtime/spec.ts";

const specArb: fc.Arbitrary<InstanceSpec> = fc
  .record({
    v6: fc.boolean(),
    version: fc.constantFrom(2 as const, 3 as const),
    vrid: fc.integer({ min: 1, max: 255 }),
    nVips: fc.integer({ min: 0, max: 4 }),
    peers: fc.integer({ min: 0, max: 3 }),
    auth: fc.boolean(),
    intervalS: fc.integer({ min: 1, max: 40 }),
  })
  .map((r) => {
    const v6 = r.v6;
    const version = v6 ? 3 : r.version;
    const vips = Array.from({ length: r.nVips }, (_, k) =>
      v6 ? `2001:db8::${k + 1}/64` : `198.18.9.${k + 1}/24`,
    );
    const peers = Array.from({ length: r.peers }, (_, k) => (v6 ? `fe80::${k + 10}` : `198.18.0.${k + 10}`));
    return {
      params: instanceDefaults({
        name: "VI_T",
        vrid: r.vrid,
        family: v6 ? 6 : 4,
        version,
        ownIp: v6 ? "fe80::1" : "198.18.0.1",
        advertIntervalCs: r.intervalS * 100,
        vips,
      }),
      tracking: [],
      unicastPeers: peers,
      ...(r.auth && version === 2 ? { authPass: "secret" } : {}),
    } as InstanceSpec;
  });

test("template sends are byte-identical to encoding from scratch (fast-check)", () => {
  fc.assert(
    fc.property(
      specArb,
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 6 }),
      (spec, prios) => {
        const codec = new AdvertCodec({ instances: [spec], groups: [], trackers: [] });
        const p = spec.params;
        for (const priority of prios) {
          const out = codec.outbound(spec, priority);
          const first = out[0];
          for (const o of out) {
            const fields = {
              version: p.version,
              vrid: p.vrid,
              priority,
              advertIntervalCs: p.advertIntervalCs,
              addresses: p.vips.map((v) => v.split("/")[0] as string),
              ...(spec.authPass === undefined
                ? {}
                : { authType: 1 as const, authData: passwordAuthData(spec.authPass) }),
            };
            expect(Buffer.from(o.bytes).toString("hex")).toBe(
              Buffer.from(encodeAdvert(fields, p.family, { src: p.ownIp, dst: o.dst })).toString("hex"),
            );
            // Each datagram owns its bytes: later sends do not change it.
            if (o !== first) expect(o.bytes).not.toBe(first?.bytes);
          }
          // The same advert again is the same (frozen) datagrams: nothing rendered or copied.
          expect(codec.outbound(spec, priority)).toBe(out);
          expect(Object.isFrozen(out) && out.every((o) => Object.isFrozen(o))).toBe(true);
          const snapshot = out.map((o) => Buffer.from(o.bytes).toString("hex"));
          const other = codec.outbound(spec, (priority + 1) % 256);
          expect(other).not.toBe(out);
          expect(out.map((o) => Buffer.from(o.bytes).toString("hex"))).toEqual(snapshot);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("a priority outside 0..255 is refused as encodeAdvert refuses it", () => {
  const spec: InstanceSpec = {
    params: instanceDefaults({ name: "VI_T", vrid: 1, ownIp: "198.18.0.1", vips: ["198.18.9.1"] }),
    tracking: [],
    unicastPeers: [],
  };
  const codec = new AdvertCodec({ instances: [spec], groups: [], trackers: [] });
  codec.outbound(spec, 100);
  expect(() => codec.outbound(spec, 256)).toThrow(/priority 256/);
  expect(() => codec.outbound(spec, -1)).toThrow(/priority -1/);
});
