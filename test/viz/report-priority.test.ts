/**
 * Priority over time in simulation reports: the runner records every change of an instance's
 * effective priority (vrrp_script weights as their fall/rise counts are reached, a reload that
 * changes the base priority) as `priority` timeline entries, and the run view's lanes carry them as
 * priority steps at those times — the points the report's priority chart draws.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../simulations/runner.ts";
import { loadScenario, loadScenarioText } from "../../simulations/scenario.load.ts";
import { chartOf } from "../../src/viz/catalogue.ts";
import { simulationView } from "../../src/viz/report/from-simulation.ts";
import type { Lane, RunView } from "../../src/viz/report/model.ts";
import { scenarioInstances } from "../../src/viz/report/reports.ts";
import { handMadeResult } from "./sim-result.ts";

const chart = chartOf("vrrp-instance");
const S = 1_000_000;
const laneOf = (v: RunView, id: string): Lane => {
  const l = v.lanes.find((x) => x.id === id);
  if (l === undefined) throw new Error(`no lane ${id}`);
  return l;
};

const SCRIPTS = `vrrp_script up { script "/bin/true"
          interval 2
          fall 2
          rise 2
          weight 20 }`;

// lb1 starts at 0.5 s exactly (no start spread): `up` (every 2 s) and `down` (every 1 s) are probed
// at 0.5 s and then at 0.5 s past each (even) second.
const SCENARIO = `# priority steps
# (test)
name: priority steps
duration: 40s
startSpread: 0s
lans: { lan: }
nodes:
  lb1:
    interfaces: { eth0: { lan: lan, ipv4: 198.18.0.1 } }
    start: 500ms
    config: |
      ${SCRIPTS}
      vrrp_script down { script "/bin/true"
          interval 1
          fall 1
          rise 1
          weight -30 }
      vrrp_instance VI_1 {
          interface eth0
          virtual_router_id 51
          priority 100
          virtual_ipaddress { 198.18.0.100/24 }
          track_script { up
              down }
      }
timeline:
  - at: 10s
    script: { node: lb1, name: down, result: fail }
  - at: 15s
    script: { node: lb1, name: up, result: fail }
  - at: 22s
    script: { node: lb1, name: down, exit: 0 }
  - at: 30s
    reload:
      node: lb1
      config: |
        ${SCRIPTS.replace(/\n {10}/g, "\n            ")}
        vrrp_instance VI_1 {
            interface eth0
            virtual_router_id 51
            priority 90
            virtual_ipaddress { 198.18.0.100/24 }
            track_script { up }
        }
expect:
  - master: { at: 39s, node: lb1 }
`;

describe("priority over time in a simulation report", () => {
  it("records each effective priority change in the timeline and draws the steps at their times", () => {
    const loaded = loadScenarioText("prio.yaml", SCENARIO);
    const r = runScenario(loaded);
    expect(r.ok).toBe(true);
    expect(
      r.timeline.filter((e) => e.kind === "priority").map((e) => `${e.atUs} ${e.node} ${e.text}`),
    ).toEqual([
      "500000 lb1 VI_1 100 -> 120", // `up` passes at its first probe: +20
      "10500000 lb1 VI_1 120 -> 90", // `down` fails at 10.5 s (fall 1): -30
      "18500000 lb1 VI_1 90 -> 70", // `up` fails at 16.5 s and 18.5 s (fall 2): its +20 goes
      "22500000 lb1 VI_1 70 -> 100", // `down` passes at 22.5 s (rise 1)
      "30000000 lb1 VI_1 100 -> 90", // the reload: base 90, `down` gone, `up` still failing
    ]);
    const lane = laneOf(simulationView(r, chart, scenarioInstances(loaded)), "lb1/VI_1");
    expect(lane.priority).toEqual([
      { atUs: 0, priority: 100 },
      { atUs: 0.5 * S, priority: 120 },
      { atUs: 10.5 * S, priority: 90 },
      { atUs: 18.5 * S, priority: 70 },
      { atUs: 22.5 * S, priority: 100 },
      { atUs: 30 * S, priority: 90 },
    ]);
  });

  it("a tracked script on the master (fall 3, rise 2, weight -40): the steps follow the node's probes", () => {
    const file = join(import.meta.dirname, "../../simulations/scenarios/tracked-script-master.yaml");
    const loaded = loadScenario(file);
    const r = runScenario(loaded);
    // lb1's probes run every second from its (seeded) start
    const startUs = r.timeline.find((e) => e.node === "lb1" && e.text === "start")?.atUs ?? -1;
    expect(startUs).toBeGreaterThan(0);
    expect(startUs).toBeLessThan(S);
    const view = simulationView(r, chart, scenarioInstances(loaded));
    expect(laneOf(view, "lb1/VI_1").priority).toEqual([
      { atUs: 0, priority: 150 },
      { atUs: startUs + 12 * S, priority: 110 }, // fails from 10 s: the third failing probe
      { atUs: startUs + 26 * S, priority: 150 }, // passes from 25 s: the second passing probe
    ]);
    expect(laneOf(view, "lb2/VI_1").priority).toEqual([{ atUs: 0, priority: 120 }]);
  });

  it("--json stays byte-identical for the same file and seed with priority entries", () => {
    const loaded = loadScenarioText("prio.yaml", SCENARIO);
    const json = JSON.stringify(runScenario(loaded, { seed: 3 }));
    expect(json).toContain('"kind":"priority","text":"VI_1 100 -> 120"');
    expect(JSON.stringify(runScenario(loaded, { seed: 3 }))).toBe(json);
  });

  it("without the configurations, a lane's priority starts at the first change's old value", () => {
    const r = handMadeResult(
      [
        { atUs: 0, node: "a", kind: "state", text: "VI_1 INIT -> BACKUP" },
        { atUs: 10, node: "a", kind: "priority", text: "VI_1 100 -> 60" },
        { atUs: 20, node: "a", kind: "priority", text: "VI_2 50 -> 70" },
        { atUs: 30, node: "a", kind: "priority", text: "VI_1 60 -> 100" },
      ],
      { seed: 1, outputHashes: { a: [] } },
    );

    const v = simulationView(r, chart);
    expect(laneOf(v, "a/VI_1").priority).toEqual([
      { atUs: 0, priority: 100 },
      { atUs: 10, priority: 60 },
      { atUs: 30, priority: 100 },
    ]);
    expect(laneOf(v, "a/VI_2").priority).toEqual([
      { atUs: 0, priority: 50 },
      { atUs: 20, priority: 70 },
    ]);
    // priority changes are events, not operation markers
    expect(v.markers).toEqual([]);
    expect(v.events.filter((e) => e.kind === "priority")).toHaveLength(3);
  });
});
