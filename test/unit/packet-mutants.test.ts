/**
 * The packet differential's mutant generator (test/netns/support/packet-mutants.ts) draws a datagram
 * for every seed and every kind of target, without throwing: a throw there fails the whole lab
 * suite before it compares anything (a VRRPv2 interval of 255 s turned VRRPv3 once did).
 */
import { describe, expect, it } from "vitest";
import { edgeAdverts, type PacketTarget, packetMutant } from "../netns/support/packet-mutants.ts";

const v4 = {
  family: 4,
  unusedVrid: 200,
  intervalCs: 300,
  host: "198.18.1.2",
  others: ["198.18.1.5"],
  source: "198.18.1.3",
} as const;
const targets: PacketTarget[] = [
  { ...v4, version: 2, vrid: 52, vips: ["198.18.1.52", "198.18.1.152"], authPass: "secret", unicast: false },
  { ...v4, version: 3, vrid: 72, vips: ["198.18.1.72"], unicast: false },
  { ...v4, version: 2, vrid: 62, vips: ["198.18.1.62"], unicast: true },
  {
    ...v4,
    family: 6,
    version: 3,
    vrid: 82,
    vips: ["2001:2::82"],
    host: "fe80::2",
    source: "fe80::ffff:ffff:ffff:fffe",
    others: ["fe80::5"],
    unicast: true,
  },
];

describe("packet mutants", () => {
  it("draw a datagram for 20,000 seeds of every kind of target, the same for the same seed", () => {
    for (const t of targets) {
      for (let seed = 0; seed < 20_000; seed++) {
        const m = packetMutant(seed, t);
        expect(m.hex.length % 2).toBe(0);
      }
      expect(packetMutant(7, t)).toEqual(packetMutant(7, t));
    }
  });

  it("edge cases: four valid adverts per target", () => {
    for (const t of targets) expect(edgeAdverts(t).map((m) => m.label)).toHaveLength(4);
  });
});
