/**
 * The live run view (src/viz/report/live.ts) fed with what a real daemon's status stack produces:
 * a Node on the VirtualClock observed by a StatusModel (test/daemon/status-rig.ts), its `/status`
 * documents and its `/events` summaries. Lanes follow the node's states, VIPs and advertised
 * priority; a state change the stream missed is taken from the next document without counting it;
 * the event log is bounded; and the model still works when rebuilt from its source text, as the
 * dashboard page ships it to the browser.
 */
import { describe, expect, it } from "vitest";
import { type EventSummary, statusDocument } from "../../src/daemon/status-model.ts";
import { chartOf } from "../../src/viz/catalogue.ts";
import { type LiveModel, type LiveStatus, liveModel } from "../../src/viz/report/live.ts";
import { stateChartModel } from "../../src/viz/report/model.ts";
import { rig, S } from "../daemon/status-rig.ts";

const chart = stateChartModel(chartOf("vrrp-instance"));

/** The model as the browser gets it: rebuilt from `liveModel.toString()` alone. */
const fromSource = (): typeof liveModel =>
  new Function("__name", `return (${liveModel.toString()});`)((f: unknown) => f) as typeof liveModel;

function run(make: typeof liveModel, maxEvents = 500) {
  const r = rig();
  const doc = (): LiveStatus => statusDocument(r.node, r.model, r.daemon());
  const events: EventSummary[] = [];
  r.model.subscribe((e) => events.push(e));
  const live: LiveModel = make(chart, maxEvents);
  live.status(doc());
  r.clock.advanceBy(5 * S); // VI_1 (150) takes over; VI_2 (100) too, nobody else is there
  r.advert(52, 200, ["198.18.0.101"]); // VI_2 hears a master at 200 and goes back to BACKUP
  r.clock.advanceBy(S / 2);
  for (const e of events) live.apply(e);
  live.status(doc());
  return { r, live, events, doc };
}

describe("liveModel", () => {
  it("follows the daemon's states, VIPs, priorities and counters", () => {
    const { live, events, doc } = run(liveModel);
    const v = live.view();
    expect(v.mode).toBe("live");
    expect(v.lanes.map((l) => l.id)).toEqual(["VI_1", "VI_2"]);
    const [vi1, vi2] = v.lanes;
    const d = doc();
    expect(vi1?.state).toBe(d.instances[0]?.state);
    expect(vi1?.state).toBe("MASTER");
    expect(vi2?.state).toBe("BACKUP");
    const toMaster = events.find((e) => e.outputs.includes("instance:VI_1 BACKUP -> MASTER"));
    expect(toMaster).toBeDefined();
    expect(vi1?.states.at(-1)).toEqual({ fromUs: toMaster?.atUs, toUs: v.endUs, state: "MASTER" });
    expect(vi1?.transitions).toEqual([{ from: "BACKUP", to: "MASTER", count: 1 }]);
    expect(vi2?.transitions).toEqual([
      { from: "BACKUP", to: "MASTER", count: 1 },
      { from: "MASTER", to: "BACKUP", count: 1 },
    ]);
    expect(vi1?.vips).toEqual([{ fromUs: toMaster?.atUs, toUs: v.endUs, vip: "198.18.0.100/24" }]);
    expect(vi2?.vips.map((x) => x.vip)).toEqual(["198.18.0.101/24"]);
    expect(vi2?.vips[0]?.toUs).toBeLessThan(v.endUs);
    expect(vi1?.priority.map((p) => p.priority)).toEqual([150]);
    expect(vi1?.facts.priority).toBe("150 (base 150)");
    expect(vi1?.facts.master).toBe("198.18.0.1 (priority 150)");
    expect(vi2?.facts.master).toBe("198.18.0.2 (priority 200)");
    expect(vi1?.facts.transitions).toBe(String(d.instances[0]?.transitions));
    expect(v.endUs).toBe(Math.max(...events.map((e) => e.atUs)));
    const kinds = new Set(v.events.map((e) => e.kind));
    expect([...kinds]).toEqual(expect.arrayContaining(["state", "vip", "log"]));
    expect(v.events.some((e) => e.text.includes("Entering MASTER STATE"))).toBe(true);
  });

  it("takes a state change the stream missed from the next /status, without counting it", () => {
    const r = rig();
    const doc = (): LiveStatus => statusDocument(r.node, r.model, r.daemon());
    const live = liveModel(chart, 10);
    live.status(doc());
    r.clock.advanceBy(5 * S); // no events applied: the page was not listening
    live.status(doc());
    const v = live.view();
    expect(v.lanes.map((l) => l.state)).toEqual(["MASTER", "MASTER"]);
    expect(v.lanes.every((l) => l.transitions.length === 0)).toBe(true);
  });

  it("events before the first /status (the stream answered first): state and VIPs from the document", () => {
    const r = rig();
    r.clock.advanceBy(5 * S); // both MASTER before the page opens
    const events: EventSummary[] = [];
    r.model.subscribe((e) => events.push(e));
    r.clock.advanceBy(3 * S); // adverts only
    const live = liveModel(chart, 100);
    for (const e of events) live.apply(e);
    expect(live.view().lanes.map((l) => l.state)).toEqual(["UNKNOWN", "UNKNOWN"]);
    live.status(statusDocument(r.node, r.model, r.daemon()));
    const v = live.view();
    expect(v.lanes.map((l) => l.state)).toEqual(["MASTER", "MASTER"]);
    expect(v.lanes.map((l) => l.states.map((x) => x.state))).toEqual([["MASTER"], ["MASTER"]]);
    expect(v.lanes.map((l) => l.vips.map((x) => [x.vip, x.toUs]))).toEqual([
      [["198.18.0.100/24", v.endUs]],
      [["198.18.0.101/24", v.endUs]],
    ]);
    expect(v.lanes.every((l) => l.transitions.length === 0)).toBe(true);
  });

  it("counts a change from its own from-state even when the lane was first seen in an advert", () => {
    const live = liveModel(chart, 10);
    live.apply({
      seq: 1,
      atUs: 10,
      input: { kind: "timer", text: "t" },
      outputs: ["advert VI_1 priority 100"],
    });
    live.apply({
      seq: 2,
      atUs: 20,
      input: { kind: "rx", text: "r" },
      outputs: ["instance:VI_1 BACKUP -> MASTER", "addVips VI_1 198.18.0.100/24"],
    });
    const [l] = live.view().lanes;
    expect(l?.transitions).toEqual([{ from: "BACKUP", to: "MASTER", count: 1 }]);
    expect(l?.state).toBe("MASTER");
    expect(l?.priority).toEqual([{ atUs: 10, priority: 100 }]);
  });

  it("keeps at most maxEvents events and counts the ones it let go", () => {
    const full = run(liveModel).live.view().events.length;
    expect(full).toBeGreaterThan(4);
    const v = run(liveModel, 3).live.view();
    expect(v.events).toHaveLength(3);
    expect(v.eventsOmitted).toBe(full - 3);
  });

  it("builds the same view from its source text alone (what the dashboard page ships)", () => {
    expect(run(fromSource()).live.view()).toEqual(run(liveModel).live.view());
  });
});
