/**
 * The run view of a simulation result (simulations/runner.ts `SimResult`): a lane per node and
 * instance from the timeline's state changes (a crashed node's lanes show DOWN until it starts
 * again, a shut-down one's show their own change to STOP), VIP ownership from the address changes
 * (given to the instance that owns the address when the scenario's configurations are known, else
 * to the node's first lane), the priority over time (the base priority, then every change of the
 * effective priority the run recorded: trackers, reloads), fault and operation markers, the split-brain and failover intervals and every invariant and expectation
 * verdict. Pure.
 */
import type { SimResult } from "../../../simulations/runner.ts";
import type { Chart } from "../chart.ts";
import {
  capEvents,
  LaneBuilder,
  type Marker,
  type MarkerKind,
  type RunView,
  stateChartModel,
  type ViewEvent,
} from "./model.ts";

/** What the scenario's configurations say about one instance (optional: lanes work without it). */
export interface SimInstanceInfo {
  readonly node: string;
  readonly instance: string;
  readonly basePriority: number;
  /** `address/prefix`, as the address changes name them. */
  readonly vips: readonly string[];
}

/** The state a node's lanes show while its daemon is not running. */
export const DOWN = "DOWN";

const usText = (us: number): string => {
  const s = Math.floor(us / 1_000_000);
  const frac = String(us % 1_000_000)
    .padStart(6, "0")
    .replace(/0+$/, "");
  return frac === "" ? `${s}s` : `${s}.${frac}s`;
};

const faultKind = (text: string): MarkerKind => {
  const word = text.split(" ", 1)[0] ?? "";
  const kinds: readonly MarkerKind[] = [
    "partition",
    "heal",
    "faults",
    "crash",
    "link",
    "script",
    "process",
    "file",
  ];
  return (kinds as readonly string[]).includes(word) ? (word as MarkerKind) : "faults";
};

/** `VI_1 BACKUP -> MASTER` or `VI_1 restored as MASTER`. */
const STATE_CHANGE = /^(\S+) (\S+) -> (\S+)$/;
const RESTORED = /^(\S+) restored as (\S+)$/;
/** `VI_1 150 -> 110`: an instance's effective priority changed. */
const PRIORITY_CHANGE = /^(\S+) (\d+) -> (\d+)$/;

export function simulationView(
  r: SimResult,
  chart: Chart,
  instances: readonly SimInstanceInfo[] = [],
): RunView {
  const lanes = new Map<string, LaneBuilder>();
  const nodeLanes = new Map<string, LaneBuilder[]>();
  const lane = (node: string, instance: string): LaneBuilder => {
    const key = `${node}/${instance}`;
    let l = lanes.get(key);
    if (l === undefined) {
      l = new LaneBuilder(node, instance);
      lanes.set(key, l);
      nodeLanes.set(node, [...(nodeLanes.get(node) ?? []), l]);
    }
    return l;
  };
  const vipOwner = new Map<string, LaneBuilder>();
  const seeded = new Set<LaneBuilder>();
  for (const i of instances) {
    const l = lane(i.node, i.instance);
    seeded.add(l);
    l.facts["base priority"] = String(i.basePriority);
    l.priority(0, i.basePriority);
    for (const v of i.vips) vipOwner.set(`${i.node}|${v}`, l);
  }
  // Lanes in timeline order for instances the configurations did not list.
  for (const e of r.timeline) {
    const m = e.kind === "state" ? (STATE_CHANGE.exec(e.text) ?? RESTORED.exec(e.text)) : null;
    if (m !== null) lane(e.node, m[1] as string);
  }
  const markers: Marker[] = [];
  const events: ViewEvent[] = [];
  const down = (atUs: number, node: string, dropVips: boolean): void => {
    for (const l of nodeLanes.get(node) ?? []) {
      l.enter(atUs, DOWN, false);
      if (dropVips) l.dropVips(atUs);
    }
  };
  for (const e of r.timeline) {
    events.push({ atUs: e.atUs, node: e.node, kind: e.kind, text: e.text });
    if (e.kind === "state") {
      const change = STATE_CHANGE.exec(e.text);
      const restored = RESTORED.exec(e.text);
      if (change !== null) {
        const l = lane(e.node, change[1] as string);
        // the change's own "from" is what the machine was in (after a start, the lane was DOWN)
        l.enter(e.atUs, change[2] as string, false);
        l.enter(e.atUs, change[3] as string, true);
      } else if (restored !== null)
        lane(e.node, restored[1] as string).enter(e.atUs, restored[2] as string, false);
    } else if (e.kind === "vip") {
      const present = e.text.startsWith("+ ");
      const vip = e.text.slice(2);
      const owner = vipOwner.get(`${e.node}|${vip}`) ?? nodeLanes.get(e.node)?.[0];
      owner?.vip(e.atUs, vip, present);
    } else if (e.kind === "priority") {
      const p = PRIORITY_CHANGE.exec(e.text);
      if (p !== null) {
        const l = lane(e.node, p[1] as string);
        // without the configuration, the first change's "from" is the priority since the start
        if (!seeded.has(l)) l.priority(0, Number(p[2]));
        seeded.add(l);
        l.priority(e.atUs, Number(p[3]));
      }
    } else if (e.kind === "fault") {
      markers.push({ atUs: e.atUs, node: e.node, kind: faultKind(e.text), text: e.text });
      // the addresses go with the host unless the crash keeps them (their removal is not reported)
      if (e.text === "crash") down(e.atUs, e.node, true);
      else if (e.text.startsWith("crash (")) down(e.atUs, e.node, false);
    } else {
      // a shutdown shows as the instances' own changes to STOP
      markers.push({ atUs: e.atUs, node: e.node, kind: "op", text: e.text });
    }
  }
  const verdicts = [
    ...r.invariants.map((v) => ({ ...v, name: `invariant ${v.name}` })),
    ...r.expectations.map((v) => ({ ...v, name: `expect ${v.name}` })),
  ];
  const m = r.metrics;
  return {
    mode: "simulation",
    title: `vigil simulate: ${r.scenario || r.file} (seed ${r.seed})`,
    summary: [
      `${r.ok ? "PASS" : "FAIL"} · ${usText(r.durationUs)} virtual`,
      `split brain ${m.splitBrain.length} interval(s), total ${usText(m.splitBrainTotalUs)}, longest ${usText(m.splitBrainMaxUs)}`,
      `failovers ${m.failovers.length}, longest ${usText(m.failoverMaxUs)}`,
      `run hash ${r.hash}`,
    ],
    startUs: 0,
    endUs: r.durationUs,
    lanes: [...lanes.values()].map((l) => {
      l.facts.transitions = String(m.transitions[`${l.node}/${l.instance}`] ?? 0);
      l.facts["adverts sent"] = String(m.adverts[`${l.node}/${l.instance}`] ?? 0);
      return l.finish(r.durationUs);
    }),
    markers,
    splitBrain: m.splitBrain,
    failovers: m.failovers,
    verdicts,
    ...capEvents(events),
    chart: stateChartModel(chart),
  };
}
