/**
 * Random node runs for property tests: small specs (1–3 instances, v2/v3, preempt delay, GARP delay
 * and refresh, script/file/link trackers, sync groups), random steps (adverts of random priorities
 * and sources, clock advances firing timers, probe results, file values, link changes, failed effect
 * outcomes, VIP deletions, shutdown), and a node on a virtual clock with recording ports, a memory
 * journal and a transport that records sends.
 */
import fc from "fast-check";
import { Subject } from "rxjs";
import type { TrackerParams } from "../../machines/tracker.machine.ts";
import type { VirtualClock } from "../../src/runtime/clock.ts";
import type { Input } from "../../src/runtime/input.ts";
import { MemoryJournal } from "../../src/runtime/journal.ts";
import { Node, type NodeOptions } from "../../src/runtime/node.ts";
import { RecordingPorts } from "../../src/runtime/ports.ts";
import { type InstanceSpec, instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";
import type { Outbound, Transport } from "../../transports/transport.ts";
import { peerAdvert } from "./adverts.ts";

export const S = 1_000_000;
export const VIP = (i: number) => `198.18.1.${10 + i}`;

const instanceArb = (i: number) =>
  fc.record({
    basePriority: fc.constantFrom(50, 100, 150, 200, 255),
    version: fc.constantFrom(2 as const, 3 as const),
    preemptDelayUs: fc.constantFrom(0, 0, 2 * S),
    garpMasterDelayUs: fc.constantFrom(0, 1 * S, 5 * S),
    garpMasterRefreshUs: fc.constantFrom(0, 0, 3 * S),
    nopreempt: fc.boolean(),
    tracking: fc.subarray(["chk", "tf", "eth1"]),
    weight: fc.constantFrom(0, -30, 20),
    vrid: fc.constant(i + 1),
  });

export const specArb = fc
  .record({
    instances: fc
      .integer({ min: 1, max: 3 })
      .chain((n) => fc.tuple(...[...Array(n).keys()].map(instanceArb))),
    group: fc.boolean(),
    rise: fc.integer({ min: 1, max: 3 }),
    fall: fc.integer({ min: 1, max: 3 }),
    initFail: fc.boolean(),
  })
  .map(({ instances, group, rise, fall, initFail }): NodeSpec => {
    const grouped = group && instances.length >= 2;
    const trackers: TrackerParams[] = [
      { name: "chk", kind: "script", rise, fall, initFail },
      { name: "tf", kind: "file", rise: 1, fall: 1, initFail: false, initValue: 0 },
      { name: "eth1", kind: "link", rise: 1, fall: 1, initFail: false },
    ];
    const specs: InstanceSpec[] = instances.map((r, i) => ({
      params: instanceDefaults({
        name: `VI_${i + 1}`,
        vrid: r.vrid,
        ownIp: "198.18.0.1",
        vips: [VIP(i)],
        basePriority: r.basePriority,
        wantMaster: r.basePriority === 255,
        version: r.version,
        preemptDelayUs: r.preemptDelayUs,
        garpMasterDelayUs: r.garpMasterDelayUs,
        garpMasterRefreshUs: r.garpMasterRefreshUs,
        nopreempt: r.nopreempt,
        ...(grouped && i < 2 ? { syncGroup: "G1" } : {}),
      }),
      tracking: r.tracking.map((t) => ({ tracker: t, weight: r.weight, reverse: false })),
      unicastPeers: [],
    }));
    return { instances: specs, groups: grouped ? [{ name: "G1", members: ["VI_1", "VI_2"] }] : [], trackers };
  });

export type Step = { advanceUs: number } | { input: Input };

export const stepArb = (spec: NodeSpec): fc.Arbitrary<Step> => {
  const n = spec.instances.length;
  const inst = fc.integer({ min: 0, max: n - 1 });
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 4 * S }).map((advanceUs) => ({ advanceUs })) },
    {
      weight: 6,
      arbitrary: fc
        .tuple(
          inst,
          fc.constantFrom(0, 1, 50, 100, 150, 254, 255),
          fc.constantFrom("198.18.0.2", "198.18.0.0"),
        )
        .map(([i, priority, src]) => {
          const p = (spec.instances[i] ?? spec.instances[0])?.params;
          if (p === undefined) throw new Error("no instance");
          return {
            input: peerAdvert(src, {
              version: p.version,
              vrid: p.vrid,
              priority,
              advertIntervalCs: 100,
              addresses: [p.vips[0] ?? ""],
            }),
          };
        }),
    },
    {
      weight: 2,
      arbitrary: fc.boolean().map((ok) => ({ input: { kind: "probe", tracker: "chk", ok } as Input })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(0, 10, 100)
        .map((value) => ({ input: { kind: "probe", tracker: "tf", ok: true, value } as Input })),
    },
    {
      weight: 1,
      arbitrary: fc.boolean().map((up) => ({ input: { kind: "link", ifname: "eth1", up } as Input })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(inst, fc.integer({ min: 1, max: 5 })).map(([i, cmd]) => ({
        input: {
          kind: "effect",
          actor: "vip:eth0",
          cmd,
          op: "addVips",
          instance: `VI_${i + 1}`,
          target: "eth0",
          ok: false,
          code: "EPERM",
          detail: "test",
        } as Input,
      })),
    },
    {
      weight: 1,
      arbitrary: inst.map((i) => ({
        input: {
          kind: "address",
          ifname: "eth0",
          address: VIP(i),
          prefixLength: 32,
          family: 4,
          present: false,
        } as Input,
      })),
    },
    { weight: 1, arbitrary: fc.constant({ input: { kind: "admin", command: "shutdown" } as Input }) },
  );
};

export const runArb = specArb.chain((spec) =>
  fc
    .array(stepArb(spec), { minLength: 1, maxLength: 60 })
    .chain((steps) =>
      fc.record({ spec: fc.constant(spec), steps: fc.constant(steps), cut: fc.nat(steps.length) }),
    ),
);

/** A node with recording ports and a transport that records sends; `extra`: more node options. */
export const make = (spec: NodeSpec, clock: VirtualClock, cp?: unknown, extra: Partial<NodeOptions> = {}) => {
  const journal = new MemoryJournal();
  const ports = new RecordingPorts(() => clock.nowUs());
  const sent: string[] = [];
  const transport: Transport = {
    inbound$: new Subject(),
    send: (o: Outbound) => sent.push(`${clock.nowUs()} ${o.ifname} ${o.dst}`),
    close: () => {},
  };
  const opts = { clock, ports, journal, transport, configHash: "t", vigilVersion: "t", ...extra };
  const node = cp === undefined ? new Node(spec, opts) : Node.restore(spec, cp as never, opts);
  return { node, journal, ports, sent, clock };
};

export const play = (r: ReturnType<typeof make>, steps: readonly Step[]): void => {
  for (const s of steps) {
    if ("advanceUs" in s) r.clock.advanceBy(s.advanceUs);
    else r.node.input(s.input);
  }
};
