/**
 * Model-based coverage with `xstate/graph`: from the instance and sync-group machines, explore every
 * state reachable with small sample event sets (adverts at priority 0 / lower / equal-lower-IP /
 * equal-higher-IP / higher, tracker and link summaries, sync decisions, the named timers) and assert
 * that every state node and every transition of the machine definitions is reached. A transition is
 * "reached" when `getTransitionData` selects it for a sample event in a reachable state (guards
 * evaluated); eventless (`always`) transitions count when their target is entered.
 */
import { describe, expect, test } from "vitest";
import type { AnyStateMachine } from "xstate";
import { getShortestPaths } from "xstate/graph";
import type { InstanceEvent, InstanceParams } from "../../machines/events.ts";
import { type SyncGroupEvent, syncGroupMachine } from "../../machines/sync-group.machine.ts";
import { type TrackerEvent, trackerMachine } from "../../machines/tracker.machine.ts";
import { vrrpInstanceMachine } from "../../machines/vrrp-instance.machine.ts";
import { instanceDefaults } from "../../src/runtime/spec.ts";

// biome-ignore lint/suspicious/noExplicitAny: xstate's internal node/transition shapes
type AnyNode = any;

const allTransitions = (machine: AnyStateMachine): Map<string, AnyNode> => {
  const out = new Map<string, AnyNode>();
  const walk = (node: AnyNode) => {
    for (const [, defs] of node.transitions as Map<string, AnyNode[]>)
      for (const [i, d] of defs.entries()) out.set(`${node.id} ${d.eventType} #${i}`, d);
    for (const [i, d] of ((node.always ?? []) as AnyNode[]).entries()) out.set(`${node.id} always #${i}`, d);
    for (const child of Object.values(node.states ?? {})) walk(child);
  };
  walk(machine.root);
  return out;
};

const allStateIds = (machine: AnyStateMachine): string[] => {
  const ids: string[] = [];
  const walk = (node: AnyNode) => {
    ids.push(node.id);
    for (const child of Object.values(node.states ?? {})) walk(child);
  };
  walk(machine.root);
  return ids;
};

const explore = <E extends { type: string }>(
  machine: AnyStateMachine,
  inputs: readonly unknown[],
  events: readonly E[],
  serialize: (s: AnyNode) => string,
) => {
  const defs = allTransitions(machine);
  const keyOf = new Map<AnyNode, string>([...defs].map(([k, d]) => [d, k]));
  const covered = new Set<string>();
  const states = new Set<string>();
  let paths = 0;
  for (const input of inputs) {
    const found = getShortestPaths(machine, {
      input,
      events: [...events],
      serializeState: serialize,
    } as never);
    paths += found.length;
    for (const p of found as AnyNode[]) {
      const snap = p.state;
      for (const n of snap._nodes as AnyNode[]) states.add(n.id);
      for (const [k, d] of defs)
        if (k.includes(" always ") && snap._nodes.some((n: AnyNode) => d.target?.includes(n))) covered.add(k);
      for (const e of events)
        for (const t of (machine.getTransitionData(snap, e as never) ?? []) as AnyNode[]) {
          const k = keyOf.get(t);
          if (k) covered.add(k);
        }
    }
  }
  // A transient state (left at once by an `always` transition) counts as reached when one of its
  // eventless transitions was taken.
  for (const k of covered) if (k.includes(" always ")) states.add(k.split(" ")[0] as string);
  return { defs, covered, states, paths };
};

describe("vrrp-instance machine graph coverage", () => {
  const base = instanceDefaults({ name: "VI_1", vrid: 1, ownIp: "198.18.0.1", vips: ["198.18.0.100"] });
  const inputs: InstanceParams[] = [
    base,
    { ...base, basePriority: 255, wantMaster: true, garpMasterDelayUs: 0, garpMasterRefreshUs: 0 },
    { ...base, syncGroup: "G1", garpMasterRefreshUs: 10_000_000 },
    {
      ...base,
      basePriority: 150,
      preemptDelayUs: 4_000_000,
      garpMasterDelayUs: 0,
      garpMasterRefreshUs: 10_000_000,
    },
    { ...base, lowerPrioNoAdvert: true },
  ];
  const advert = (priority: number, srcIp: string, advertIntervalCs = 100): InstanceEvent => ({
    type: "ADVERT",
    priority,
    srcIp,
    advertIntervalCs,
  });
  const events: InstanceEvent[] = [
    { type: "START" },
    { type: "SHUTDOWN" },
    { type: "PREEMPT_DELAY_EXPIRED" },
    advert(0, "198.18.0.2"), // priority 0
    advert(50, "198.18.0.2"), // lower
    advert(100, "198.18.0.0"), // equal, lower IP
    advert(100, "198.18.0.2"), // equal, higher IP
    advert(100, "198.18.0.1"), // equal, our own address
    advert(150, "198.18.0.2"), // higher
    advert(255, "198.18.0.0"), // owner
    advert(150, "198.18.0.2", 200), // v2 interval mismatch
    { type: "TRACKING", faulted: false, pending: false, deltaSum: 0 },
    { type: "TRACKING", faulted: false, pending: false, deltaSum: -20 },
    { type: "TRACKING", faulted: true, pending: false, deltaSum: 0 },
    { type: "TRACKING", faulted: false, pending: true, deltaSum: 0 },
    { type: "SYNC", state: "MASTER" },
    { type: "SYNC", state: "BACKUP" },
    { type: "SYNC", state: "FAULT" },
    { type: "VIP_DELETED" },
    { type: "MASTER_DOWN" },
    { type: "ADVERT_TIMER" },
    { type: "GARP_DELAY" },
    { type: "GARP_REFRESH" },
    { type: "GARP_LOWER_PRIO" },
  ];
  const serialize = (s: AnyNode) => {
    const { p: _p, ...rest } = s.context;
    return JSON.stringify([s.value, rest]);
  };
  const r = explore(vrrpInstanceMachine, inputs, events, serialize);

  test("every state node is reached", () => {
    expect(allStateIds(vrrpInstanceMachine).filter((id) => !r.states.has(id))).toEqual([]);
  });
  test("every transition is taken", () => {
    expect(r.defs.size).toBeGreaterThan(40);
    expect(r.paths).toBeGreaterThan(50);
    expect([...r.defs.keys()].filter((k) => !r.covered.has(k))).toEqual([]);
  });
});

describe("sync-group machine graph coverage", () => {
  const members = ["A", "B"];
  const reports = [
    { state: "INIT", wantMaster: false, faulted: false },
    { state: "BACKUP", wantMaster: false, faulted: false },
    { state: "BACKUP", wantMaster: true, faulted: false },
    { state: "MASTER", wantMaster: false, faulted: false },
    { state: "FAULT", wantMaster: false, faulted: true },
    { state: "FAULT", wantMaster: false, faulted: false },
  ] as const;
  const events: SyncGroupEvent[] = [
    { type: "START" },
    { type: "START", members: { A: "backup", B: "backup" } },
    { type: "START", members: { A: "backup", B: "fault" } },
    { type: "SHUTDOWN" },
    ...members.flatMap((instance) => reports.map((r) => ({ type: "MEMBER" as const, instance, ...r }))),
  ];
  const r = explore(syncGroupMachine, [{ name: "G1", members }], events, (s: AnyNode) =>
    JSON.stringify([s.value, s.context.reports, s.context.started]),
  );
  test("every state node is reached", () => {
    expect(allStateIds(syncGroupMachine).filter((id) => !r.states.has(id))).toEqual([]);
  });
  test("every transition is taken", () => {
    expect([...r.defs.keys()].filter((k) => !r.covered.has(k))).toEqual([]);
  });
});

describe("tracker machine graph coverage", () => {
  const events: TrackerEvent[] = [
    { type: "RESULT", ok: true },
    { type: "RESULT", ok: false },
    { type: "RESULT", ok: true, running: 0 },
    { type: "RESULT", ok: false, running: 2 },
    { type: "RESULT", ok: true, value: 0 },
    { type: "RESULT", ok: true, value: 300 },
  ];
  const r = explore(
    trackerMachine,
    [
      { name: "chk", kind: "script", rise: 2, fall: 2, initFail: false },
      { name: "chk", kind: "script", rise: 1, fall: 1, initFail: true },
      { name: "proc", kind: "process", rise: 1, fall: 1, initFail: false, quorum: 1, quorumMax: 2 },
      { name: "tf", kind: "file", rise: 1, fall: 1, initFail: false, initValue: 0 },
    ],
    events,
    (s: AnyNode) => JSON.stringify([s.value, s.context.count, s.context.value, s.context.p.kind]),
  );
  test("every state and transition", () => {
    expect(allStateIds(trackerMachine).filter((id) => !r.states.has(id))).toEqual([]);
    expect([...r.defs.keys()].filter((k) => !r.covered.has(k))).toEqual([]);
  });
});
