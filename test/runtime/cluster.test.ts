/**
 * Two Nodes on the simulated network (one VirtualClock, one seeded PRNG): election, takeover on a
 * partition (split brain), healing, and replay of each node's journal. Uses transports/sim.transport.ts.
 */
import { describe, expect, test } from "vitest";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { MemoryJournal, parseJournal } from "../../src/runtime/journal.ts";
import { Node } from "../../src/runtime/node.ts";
import { RecordingPorts } from "../../src/runtime/ports.ts";
import { Prng } from "../../src/runtime/prng.ts";
import { replayJournal } from "../../src/runtime/replay.ts";
import { instanceDefaults } from "../../src/runtime/spec.ts";
import { SimNetwork } from "../../transports/sim.transport.ts";

const S = 1_000_000;

const cluster = (seed: number) => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, new Prng(seed));
  const make = (name: string, ip: string, priority: number) => {
    net.attach(name, { ifname: "eth0", segment: "lan", ipv4: ip });
    const journal = new MemoryJournal();
    const states: Array<[number, string]> = [];
    const node = new Node(
      {
        instances: [
          {
            params: instanceDefaults({
              name: "VI_1",
              vrid: 7,
              ownIp: ip,
              basePriority: priority,
              vips: ["198.18.0.100"],
            }),
            tracking: [],
            unicastPeers: [],
          },
        ],
        groups: [],
        trackers: [],
      },
      {
        clock,
        ports: new RecordingPorts(() => clock.nowUs()),
        journal,
        transport: net.transport(name),
        configHash: name,
        vigilVersion: "test",
        onApplied: (ev, outs) => {
          for (const o of outs) if (o.type === "state") states.push([ev.atUs, o.to]);
        },
      },
    );
    return { node, journal, states };
  };
  const a = make("a", "198.18.0.1", 150);
  const b = make("b", "198.18.0.2", 100);
  a.node.start();
  b.node.start();
  clock.advanceTo(10 * S);
  return { clock, net, a, b };
};

describe("two nodes on the simulated network", () => {
  test("the higher priority wins; the backup stays BACKUP while adverts arrive", () => {
    const { a, b } = cluster(1);
    expect(a.states).toEqual([
      [0, "BACKUP"],
      [3_414_062, "MASTER"],
    ]);
    expect(b.states).toEqual([[0, "BACKUP"]]);
    expect(b.node.stats("VI_1")?.advert_rcvd).toBeGreaterThan(5);
  });

  test("partition → split brain at last advert + 3,609,375 µs; healing → the lower one yields", () => {
    const { clock, net, a, b } = cluster(3);
    net.partition(["a"], ["b"]);
    clock.advanceTo(20 * S);
    const lastA = 9_414_062; // A advertises every second from 3,414,062 µs
    expect(b.states.at(-1)).toEqual([lastA + 3_609_375, "MASTER"]);
    expect(a.node.state("VI_1")).toBe("MASTER");
    net.heal();
    clock.advanceTo(30 * S);
    expect(a.node.state("VI_1")).toBe("MASTER");
    expect(b.node.state("VI_1")).toBe("BACKUP");
  });

  test("same seed twice → byte-identical journals; each journal replays with no difference", () => {
    const x = cluster(7);
    const y = cluster(7);
    expect(x.a.journal.text()).toBe(y.a.journal.text());
    expect(x.b.journal.text()).toBe(y.b.journal.text());
    for (const j of [x.a.journal, x.b.journal]) {
      const parsed = parseJournal(j.text());
      if (!parsed.ok) throw new Error(parsed.error.message);
      const r = replayJournal(parsed.header, parsed.lines);
      expect(r.mismatches).toEqual([]);
      expect(r.journal.text()).toBe(j.text());
    }
  });
});
