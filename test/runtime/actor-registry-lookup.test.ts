/**
 * `ActorRegistry.instance` keeps the last lookup (a received advert looks its instance up twice in a
 * row): over random sequences of known and unknown names, repeated or not, it always gives the actor
 * registered under `instance:NAME` (or undefined), exactly as a fresh map lookup would.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ActorRegistry } from "../../src/runtime/actor-registry.ts";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";

const spec: NodeSpec = {
  instances: [1, 2, 3].map((vrid) => ({
    params: instanceDefaults({
      name: `VI_${vrid}`,
      vrid,
      ifname: "eth0",
      ownIp: "198.18.0.1",
      vips: [`198.18.4.${vrid}`],
    }),
    tracking: [],
    unicastPeers: [],
  })),
  groups: [],
  trackers: [],
};

describe("ActorRegistry.instance", () => {
  it("is the registered actor for every name, in any order of lookups", () => {
    const reg = new ActorRegistry(spec, true, () => {});
    const names = fc.constantFrom("VI_1", "VI_2", "VI_3", "VI_4", "", "instance:VI_1");
    fc.assert(
      fc.property(fc.array(names, { maxLength: 40 }), (seq) => {
        for (const name of seq) {
          // a fresh string object too, not only the literal
          for (const n of [name, [...name].join("")]) expect(reg.instance(n)).toBe(reg.get(`instance:${n}`));
        }
      }),
    );
    expect(reg.instance("VI_2")?.name).toBe("VI_2");
    expect(reg.instance("VI_9")).toBeUndefined();
  });
});
