/**
 * Chart extraction (src/viz/chart.ts) against the real machines and synthetic ones: every state
 * and transition XState knows appears, with its event, guard, timer delay and named effects; what
 * cannot be shown faithfully is reported, and the three real machines have no such gaps.
 */
import { describe, expect, it } from "vitest";
import { GRAPH_MACHINES } from "../../src/cli/graph.ts";
import { catalogue, chartOf, MACHINE_NAMES } from "../../src/viz/catalogue.ts";
import { chartStates, edgeLines, extractChart, wrapLines } from "../../src/viz/chart.ts";
import { AWKWARD_DELAYS, AWKWARD_EVENT, AWKWARD_STATE, awkwardMachine } from "./fixtures.ts";

/** Counts states and (transition, target) pairs straight from XState's state nodes. */
function xstateCounts(machine: { root: unknown }): { states: number; edges: number } {
  type N = {
    states: Record<string, N>;
    transitions: Map<string, { target?: unknown[] }[]>;
    always?: { target?: unknown[] }[];
  };
  let states = -1;
  let edges = 0;
  const walk = (n: N): void => {
    states++;
    const ts = [...[...n.transitions.values()].flat(), ...(n.always ?? [])];
    for (const t of ts) edges += Math.max(1, t.target?.length ?? 0);
    for (const c of Object.values(n.states)) walk(c);
  };
  walk(machine.root as N);
  return { states, edges };
}

describe("the real machines", () => {
  it("the command line's machine names are the catalogue's", () => {
    expect([...GRAPH_MACHINES]).toEqual([...MACHINE_NAMES]);
  });

  it.each(MACHINE_NAMES)("%s: every state and transition, nothing unexplained", (name) => {
    const chart = chartOf(name);
    expect(chart.warnings).toEqual([]);
    const counts = xstateCounts(catalogue[name].machine);
    expect(chartStates(chart.root)).toHaveLength(counts.states);
    expect(chart.edges).toHaveLength(counts.edges);
    for (const d of catalogue[name].definedDelays) expect(catalogue[name].delays[d]).toBeTruthy();
  });

  it("vrrp-instance: timers, guards and effects are shown by name", () => {
    const chart = chartOf("vrrp-instance");
    const master = chart.root.children.find((n) => n.key === "master");
    expect(master?.kind).toBe("parallel");
    expect(master?.children.map((c) => c.key)).toEqual(["adverts", "garp", "lowerPrioGarp"]);
    expect(chart.root.children.find((n) => n.key === "stop")?.kind).toBe("final");
    expect(chart.root.initial).toBe("vrrp.init");
    const takeover = chart.edges.find(
      (e) => e.source === "vrrp.backup" && e.target === "vrrp.master" && e.trigger === "MASTER_DOWN",
    );
    expect(takeover?.timer).toMatch(/^after masterDown \(down_timer_adverts \(3\)×advert \+ skew/);
    expect(takeover?.effects).toEqual(
      expect.arrayContaining([
        "sendAdvert",
        "addVips",
        "garp",
        "notify",
        "fifo",
        "cancel timer preemptDelay",
      ]),
    );
    const backup = chart.root.children.find((n) => n.key === "backup");
    expect(backup?.entry).toEqual(["start timer masterDown → MASTER_DOWN"]);
    expect(backup?.exit).toEqual(["cancel timer masterDown"]);
    const yieldEdge = chart.edges.find((e) => e.guard === "rankHigher");
    expect(yieldEdge && edgeLines(yieldEdge)[0]).toBe("ADVERT [rankHigher]");
    expect(chart.edges.some((e) => e.trigger === "always" && e.guard === "garpDelayEnabled")).toBe(true);
    expect(chart.edges.find((e) => e.source === "vrrp")?.target).toBe("vrrp.stop");
    // No XState helper leaks through as an effect name.
    for (const e of chart.edges) for (const f of e.effects) expect(f).not.toMatch(/xstate|enqueue|assign/);
  });

  it("sync-group: the inline guards are shown by their descriptions", () => {
    const guards = chartOf("sync-group").edges.flatMap((e) => (e.guard === undefined ? [] : [e.guard]));
    expect(guards).toContain("allWantMaster (with this report)");
    expect(guards).not.toContain("(inline guard)");
  });
});

describe("a synthetic machine", () => {
  const chart = extractChart(awkwardMachine, AWKWARD_DELAYS);

  it("reports what it cannot show: an undescribed inline guard, run-time actions", () => {
    expect(chart.warnings).toEqual([
      `odd-machine.${AWKWARD_STATE} on ODD: an inline guard with no description`,
      `odd-machine.${AWKWARD_STATE} on EQ: enqueueActions decides its actions at run time`,
    ]);
    expect(chart.edges.find((e) => e.trigger === "BACK")?.guard).toBe("described inline");
  });

  it("a missing delay description is reported", () => {
    expect(extractChart(awkwardMachine, { fast: "x" }).warnings).toContain(
      "odd-machine.a: delay 'slow' has no description",
    );
  });

  it("shows `after` delays, delayed raises, string and object actions, multiple targets", () => {
    const from = (s: string) => chart.edges.filter((e) => e.source === `odd-machine.${s}`);
    const a = from("a");
    // (JavaScript orders integer keys first, so `after: { fast, 250 }` lists 250 first.)
    expect(a.map((e) => e.trigger)).toEqual([AWKWARD_EVENT, "TICK", "COMBINED", "after 250", "after fast"]);
    expect(a.find((e) => e.trigger === "COMBINED")?.guard).toBe(
      "ready and (not (x or y)) and (in #odd-machine.p)",
    );
    expect(a[0]?.effects).toEqual(["sendThing", "namedString"]);
    expect(a[1]?.timer).toBe("after slow (a slow one)");
    expect(a[3]?.timer).toBe("after 250 ms");
    expect(a[4]?.timer).toBe("after fast (a fast one)");
    expect(chart.root.children[0]?.entry).toEqual(["start timer tick (slow) → TICK"]);
    expect(chart.root.children[0]?.exit).toEqual(["cancel timer tick"]);
    expect(from("p").map((e) => e.target)).toEqual(["custom y", "odd-machine.p.r2.v"]);
    expect(from("p.r2.u")[0]?.trigger).toBe("always");
    expect(from("p.r1.x")[0]?.target).toBe("odd-machine.z");
    expect(chart.edges.find((e) => e.source === "odd-machine")?.target).toBe("odd-machine.z");
  });

  it("wrapLines breaks only after commas and keeps every word", () => {
    const line = "/ a, bb, ccc, dddd, eeeee";
    const wrapped = wrapLines([line], 10);
    expect(wrapped.length).toBeGreaterThan(1);
    expect(wrapped.join(" ").replace(/\s+/g, " ")).toBe(line);
  });
});
