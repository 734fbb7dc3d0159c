/**
 * The run-view builders (src/viz/report/): the state chart's top-level model, the lane builder, the
 * view of a simulation (checked against the runner's own oracles: per-lane transition counts equal
 * the metrics, the lane's state at each `master`/`state` expectation time agrees with the verdict,
 * crashes show DOWN and drop the VIPs), the view of a replayed journal (the same state spans as the
 * simulation that wrote the journal), and hand-made traces for the corner cases.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Subject } from "rxjs";
import { beforeAll, describe, expect, it } from "vitest";
import { runScenario, type SimResult } from "../../simulations/runner.ts";
import { type LoadedScenario, loadScenario } from "../../simulations/scenario.load.ts";
import { loadConfig } from "../../src/config/load.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { nodeFromConfig } from "../../src/runtime/config.adapter.ts";
import { FileJournal, readJournal } from "../../src/runtime/journal.ts";
import { RecordingPorts } from "../../src/runtime/ports.ts";
import { replayJournal } from "../../src/runtime/replay.ts";
import type { NodeSpec } from "../../src/runtime/spec.ts";
import { chartOf } from "../../src/viz/catalogue.ts";
import { replayView } from "../../src/viz/report/from-replay.ts";
import { DOWN, simulationView } from "../../src/viz/report/from-simulation.ts";
import {
  type Lane,
  LaneBuilder,
  MAX_VIEW_EVENTS,
  type RunView,
  stateChartModel,
} from "../../src/viz/report/model.ts";
import { scenarioInstances } from "../../src/viz/report/reports.ts";
import { memFs } from "../config/memfs.ts";
import { S, TWO_INSTANCES } from "../daemon/status-rig.ts";
import { tempDirForSuite, tempDirForTest } from "../support/temp.ts";
import { handMadeResult } from "./sim-result.ts";

const chart = chartOf("vrrp-instance");

/** The lane's state at `atUs` (spans are half-open [from, to)). */
const stateAt = (lane: Lane, atUs: number): string | undefined =>
  lane.states.find((s) => s.fromUs <= atUs && atUs < s.toUs)?.state;
const laneOf = (v: RunView, id: string): Lane => {
  const l = v.lanes.find((x) => x.id === id);
  if (l === undefined) throw new Error(`no lane ${id} in ${v.lanes.map((x) => x.id).join(", ")}`);
  return l;
};
const counted = (l: Lane): number => l.transitions.reduce((n, t) => n + t.count, 0);

describe("stateChartModel", () => {
  it("lifts the instance machine's edges to its top-level states, without self-loops", () => {
    const m = stateChartModel(chart);
    expect(m.states).toEqual(["INIT", "BACKUP", "MASTER", "FAULT", "STOP"]);
    const edges = m.edges.map((e) => `${e.from}>${e.to}`);
    for (const e of [
      "INIT>BACKUP",
      "INIT>FAULT",
      "BACKUP>MASTER",
      "MASTER>BACKUP",
      "FAULT>BACKUP",
      "MASTER>STOP",
    ])
      expect(edges).toContain(e);
    expect(new Set(edges).size).toBe(edges.length);
    for (const e of m.edges) expect(e.from).not.toBe(e.to);
  });
});

describe("LaneBuilder", () => {
  it("turns state changes into contiguous spans and counts only the transitions that fired", () => {
    const b = new LaneBuilder("n1", "VI_1");
    b.enter(10, "INIT", false);
    b.enter(20, "BACKUP", true);
    b.enter(20, "BACKUP", true); // no change: nothing
    b.enter(50, "MASTER", true);
    b.enter(70, DOWN, false); // a crash is not a transition of the machine
    b.enter(90, "INIT", false);
    b.enter(95, "BACKUP", true);
    b.vip(50, "198.18.0.100/24", true);
    b.vip(60, "198.18.0.100/24", true); // already held: still from 50
    b.dropVips(70);
    b.vip(80, "198.18.0.101/24", false); // never held: ignored
    b.priority(0, 100);
    b.priority(5, 100);
    b.priority(30, 90);
    const l = b.finish(100);
    expect(l.id).toBe("n1/VI_1");
    expect(l.states).toEqual([
      { fromUs: 10, toUs: 20, state: "INIT" },
      { fromUs: 20, toUs: 50, state: "BACKUP" },
      { fromUs: 50, toUs: 70, state: "MASTER" },
      { fromUs: 70, toUs: 90, state: DOWN },
      { fromUs: 90, toUs: 95, state: "INIT" },
      { fromUs: 95, toUs: 100, state: "BACKUP" },
    ]);
    expect(l.state).toBe("BACKUP");
    expect(l.transitions).toEqual([
      { from: "INIT", to: "BACKUP", count: 2 },
      { from: "BACKUP", to: "MASTER", count: 1 },
    ]);
    expect(l.vips).toEqual([{ fromUs: 50, toUs: 70, vip: "198.18.0.100/24" }]);
    expect(l.priority).toEqual([
      { atUs: 0, priority: 100 },
      { atUs: 30, priority: 90 },
    ]);
  });
});

const quickstart = join(import.meta.dirname, "../../simulations/quickstart.yaml");

describe("simulationView of a real run (simulations/quickstart.yaml)", () => {
  let loaded: LoadedScenario;
  let result: SimResult;
  let view: RunView;
  let journals: string;
  const tempDir = tempDirForSuite("vigil-report-");
  beforeAll(() => {
    journals = tempDir();
    loaded = loadScenario(quickstart);
    result = runScenario(loaded, { journalDir: journals });
    view = simulationView(result, chart, scenarioInstances(loaded));
  });

  it("has a lane per node and instance, spans contiguous from the first state to the end", () => {
    expect(view.lanes.map((l) => l.id)).toEqual(["lb1/VI_1", "lb2/VI_1", "lb3/VI_1"]);
    expect(view.endUs).toBe(result.durationUs);
    for (const l of view.lanes) {
      expect(l.states.length).toBeGreaterThan(0);
      for (let i = 1; i < l.states.length; i++) {
        expect(l.states[i]?.fromUs).toBe(l.states[i - 1]?.toUs);
        expect(l.states[i]?.state).not.toBe(l.states[i - 1]?.state);
      }
      expect(l.states.at(-1)?.toUs).toBe(result.durationUs);
      expect(l.facts["base priority"]).toBeDefined();
    }
  });

  it("counts per lane the transitions the runner's oracles counted", () => {
    for (const l of view.lanes) expect(counted(l), l.id).toBe(result.metrics.transitions[l.id]);
  });

  it("agrees with every state expectation the runner judged", () => {
    const checked = loaded.spec.expectations.flatMap(({ expect: e }, i) => {
      if (e.kind !== "state") return []; // `master: {…}` is a state expectation of MASTER
      const verdict = result.expectations[i];
      const want = e.is;
      const got = stateAt(laneOf(view, `${e.node}/${e.instance ?? "VI_1"}`), e.atUs);
      return [{ name: verdict?.name, ok: verdict?.ok, matches: got === want }];
    });
    expect(checked.length).toBeGreaterThan(5);
    for (const c of checked) expect(c.matches, c.name).toBe(c.ok);
  });

  it("shows the crash as DOWN with the VIP gone, faults as markers, split brain and verdicts", () => {
    const lb1 = laneOf(view, "lb1/VI_1");
    expect(stateAt(lb1, 35_000_000)).toBe(DOWN);
    expect(lb1.vips.some((v) => v.fromUs <= 35_000_000 && 35_000_000 < v.toUs)).toBe(false);
    const crash = view.markers.find((m) => m.kind === "crash");
    expect(crash).toMatchObject({ atUs: 30_000_000, node: "lb1" });
    expect(view.markers.map((m) => m.kind)).toEqual(
      expect.arrayContaining(["script", "crash", "partition", "heal", "op"]),
    );
    expect(view.splitBrain).toEqual(result.metrics.splitBrain);
    expect(view.verdicts).toHaveLength(result.invariants.length + result.expectations.length);
    expect(view.verdicts.every((v) => v.ok)).toBe(result.ok);
    expect(view.events).toHaveLength(result.timeline.length);
    // VIP ownership only while MASTER (the run's own vips-only-on-masters invariant held)
    for (const l of view.lanes)
      for (const v of l.vips) expect(stateAt(l, v.fromUs), `${l.id} ${v.fromUs}`).toBe("MASTER");
  });

  it("replayView of lb2's journal shows the same state spans as the simulation", () => {
    const text = readFileSync(join(journals, "lb2.jsonl"), "utf8");
    const parsed = readJournal(text);
    if (!parsed.ok) throw new Error(parsed.error.message);
    const r = replayJournal(parsed.header, parsed.lines, { checkpoint: parsed.checkpoint });
    const rv = replayView(
      { path: "lb2.jsonl", spec: parsed.header.spec as NodeSpec, timeline: r.timeline },
      chart,
    );
    expect(rv.lanes.map((l) => l.id)).toEqual(["VI_1"]);
    const replayed = laneOf(rv, "VI_1");
    const simulated = laneOf(view, "lb2/VI_1");
    const cut = (l: Lane) => l.states.slice(0, -1); // the last span ends at each view's own end
    expect(cut(replayed)).toEqual(cut(simulated));
    expect(replayed.state).toBe(simulated.state);
    expect(replayed.transitions).toEqual(simulated.transitions);
    expect(replayed.vips.slice(0, -1)).toEqual(simulated.vips.slice(0, -1));
    // the priority comes from the adverts lb2 sent: 120 as configured
    expect(replayed.priority.map((p) => p.priority)).toEqual([120]);
  });

  it("replayView shows what LVS checkers sent to IPVS and their notify scripts as events", () => {
    const vs = "[198.18.0.100]:tcp:80";
    const rv = replayView(
      {
        path: "lvs.jsonl",
        spec: { instances: [], groups: [], trackers: [] },
        timeline: [
          {
            seq: 1,
            atUs: 5,
            input: { kind: "check", vs, event: { type: "START", warmupDraws: [] } },
            outputs: [
              { type: "ipvs", vs, ops: [{ type: "ipvs", op: "addService" }] },
              { type: "lvsNotify", vs, script: "quorumUp", rs: null, stopping: false },
            ],
          },
        ],
      },
      chart,
    );
    expect(rv.events.map((e) => [e.kind, e.text])).toEqual([
      ["ipvs", `ipvs ${vs} addService`],
      ["notify", `lvsNotify ${vs} quorumUp`],
    ]);
  });

  it("replayView of lb1's first journal follows its priority: 150, 90 while its check fails, 150", () => {
    const parsed = readJournal(readFileSync(join(journals, "lb1.jsonl"), "utf8"));
    if (!parsed.ok) throw new Error(parsed.error.message);
    const r = replayJournal(parsed.header, parsed.lines, { checkpoint: parsed.checkpoint });
    const lane = laneOf(
      replayView({ path: "lb1.jsonl", spec: parsed.header.spec as NodeSpec, timeline: r.timeline }, chart),
      "VI_1",
    );
    expect(lane.priority.map((p) => p.priority)).toEqual([150, 90, 150]);
    // the drop follows the failed check (at 10s, fall 2 at interval 1s), the rise the good ones (20s)
    const [, down, up] = lane.priority;
    expect(down?.atUs).toBeGreaterThan(10_000_000);
    expect(down?.atUs).toBeLessThan(13_000_000);
    expect(up?.atUs).toBeGreaterThan(20_000_000);
  });
});

describe("simulationView of every shipped scenario", () => {
  const dir = join(import.meta.dirname, "../../simulations/scenarios");
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
  it.each(files)("%s: every instance a lane, contiguous spans, the oracles' transition counts", (f) => {
    const loaded = loadScenario(join(dir, f));
    const r = runScenario(loaded);
    const v = simulationView(r, chart, scenarioInstances(loaded));
    expect(v.lanes.map((l) => l.id).sort()).toEqual(
      scenarioInstances(loaded)
        .map((i) => `${i.node}/${i.instance}`)
        .sort(),
    );
    for (const l of v.lanes) {
      expect(counted(l), l.id).toBe(r.metrics.transitions[l.id] ?? 0);
      for (let i = 1; i < l.states.length; i++) expect(l.states[i]?.fromUs).toBe(l.states[i - 1]?.toUs);
      if (l.states.length > 0) expect(l.states.at(-1)?.toUs).toBe(r.durationUs);
    }
  });
});

describe("replayView of a segment that starts from a checkpoint", () => {
  it("shows the states and VIPs held when the segment began, before any change in it", () => {
    const dir = tempDirForTest("vigil-report-seg-");
    const clock = new VirtualClock();
    const config = loadConfig("k.conf", { configId: "lb1", fs: memFs({ "k.conf": TWO_INSTANCES }) }).config;
    if (config === undefined) throw new Error("config rejected");
    const journal = new FileJournal(join(dir, "j.jsonl"), {
      sync: false,
      maxSegmentBytes: 8192,
      maxSegments: 100,
    });
    const node = nodeFromConfig(
      config,
      {
        clock,
        ports: new RecordingPorts(() => clock.nowUs()),
        transport: { inbound$: new Subject(), send: () => {}, close: () => {} },
        journal,
      },
      { primaryAddress: () => "198.18.0.1" },
    );
    node.start();
    node.input({ kind: "link", ifname: "eth0", up: true });
    clock.advanceBy(60 * S); // both instances MASTER within seconds, then adverts only
    journal.close();
    const parsed = readJournal(readFileSync(join(dir, "j.000002.jsonl"), "utf8"));
    if (!parsed.ok) throw new Error(parsed.error.message);
    const cp = parsed.checkpoint;
    expect(cp).toBeDefined();
    const r = replayJournal(parsed.header, parsed.lines, { checkpoint: cp });
    const v = replayView(
      { path: "j.000002.jsonl", spec: parsed.header.spec as NodeSpec, timeline: r.timeline, checkpoint: cp },
      chart,
    );
    expect(v.startUs).toBe(cp?.atUs);
    for (const [name, vip] of [
      ["VI_1", "198.18.0.100/24"],
      ["VI_2", "198.18.0.101/24"],
    ] as const) {
      const l = laneOf(v, name);
      expect(l.states).toEqual([{ fromUs: cp?.atUs, toUs: v.endUs, state: "MASTER" }]);
      expect(l.vips).toEqual([{ fromUs: cp?.atUs, toUs: v.endUs, vip }]);
      expect(l.transitions).toEqual([]);
    }
  });
});

const sim = handMadeResult;

describe("simulationView of hand-made traces", () => {
  it("a crash that keeps the addresses, a restart from a checkpoint, lanes for unlisted instances", () => {
    const v = simulationView(
      sim([
        { atUs: 0, node: "a", kind: "op", text: "start" },
        { atUs: 1, node: "a", kind: "state", text: "VI_1 INIT -> BACKUP" },
        { atUs: 5, node: "a", kind: "state", text: "VI_1 BACKUP -> MASTER" },
        { atUs: 5, node: "a", kind: "vip", text: "+ 198.18.0.100/24" },
        { atUs: 6, node: "b", kind: "state", text: "VI_9 INIT -> FAULT" },
        { atUs: 10, node: "a", kind: "fault", text: "crash (addresses stay)" },
        { atUs: 20, node: "a", kind: "op", text: "restart from checkpoint" },
        { atUs: 20, node: "a", kind: "state", text: "VI_1 restored as MASTER" },
        { atUs: 30, node: "", kind: "fault", text: "partition a | b" },
        { atUs: 40, node: "a", kind: "fault", text: "link eth0 down" },
        { atUs: 41, node: "a", kind: "state", text: "VI_1 MASTER -> FAULT" },
        { atUs: 41, node: "a", kind: "vip", text: "- 198.18.0.100/24" },
      ]),
      chart,
    );
    const a = laneOf(v, "a/VI_1");
    expect(a.states.map((s) => [s.fromUs, s.state])).toEqual([
      [1, "BACKUP"],
      [5, "MASTER"],
      [10, DOWN],
      [20, "MASTER"],
      [41, "FAULT"],
    ]);
    expect(a.transitions).toEqual([
      { from: "INIT", to: "BACKUP", count: 1 },
      { from: "BACKUP", to: "MASTER", count: 1 },
      { from: "MASTER", to: "FAULT", count: 1 },
    ]);
    expect(a.vips).toEqual([{ fromUs: 5, toUs: 41, vip: "198.18.0.100/24" }]);
    expect(laneOf(v, "b/VI_9").state).toBe("FAULT");
    expect(v.markers.map((m) => [m.kind, m.node])).toEqual([
      ["op", "a"],
      ["crash", "a"],
      ["op", "a"],
      ["partition", ""],
      ["link", "a"],
    ]);
  });

  it("a shutdown shows STOP; after a restart the first change counts from its own from-state", () => {
    const v = simulationView(
      sim([
        { atUs: 1, node: "a", kind: "state", text: "VI_1 INIT -> BACKUP" },
        { atUs: 2, node: "a", kind: "state", text: "VI_1 BACKUP -> MASTER" },
        { atUs: 3, node: "a", kind: "op", text: "shutdown" },
        { atUs: 3, node: "a", kind: "state", text: "VI_1 MASTER -> STOP" },
        { atUs: 5, node: "a", kind: "op", text: "restart" },
        { atUs: 5, node: "a", kind: "state", text: "VI_1 INIT -> BACKUP" },
      ]),
      chart,
    );
    const a = laneOf(v, "a/VI_1");
    expect(a.states.map((s) => [s.fromUs, s.state])).toEqual([
      [1, "BACKUP"],
      [2, "MASTER"],
      [3, "STOP"],
      [5, "BACKUP"],
    ]);
    expect(a.transitions).toEqual([
      { from: "INIT", to: "BACKUP", count: 2 },
      { from: "BACKUP", to: "MASTER", count: 1 },
      { from: "MASTER", to: "STOP", count: 1 },
    ]);
  });

  it("keeps the latest events of a very long run and counts the others", () => {
    const n = MAX_VIEW_EVENTS + 17;
    const timeline = Array.from({ length: n }, (_, i) => ({
      atUs: i,
      node: "a",
      kind: "fault" as const,
      text: `script chk ${i % 2 === 0 ? "ok" : "fails (exit 1)"}`,
    }));
    const v = simulationView(sim(timeline, { durationUs: n }), chart);
    expect(v.events).toHaveLength(MAX_VIEW_EVENTS);
    expect(v.eventsOmitted).toBe(17);
    expect(v.events[0]?.atUs).toBe(17);
  });
});
