/**
 * The DOT output. Graphviz is not installed on this machine, so the text is parsed structurally
 * (dot-parser.ts): it is one digraph; every edge joins declared nodes; every state is a node or a
 * cluster anchor; every transition is an edge with its label; awkward names survive escaping.
 */
import { describe, expect, it } from "vitest";
import { chartOf, MACHINE_NAMES } from "../../src/viz/catalogue.ts";
import { chartStates, edgeLines, extractChart } from "../../src/viz/chart.ts";
import { renderDot } from "../../src/viz/dot.ts";
import { parseDot } from "./dot-parser.ts";
import { AWKWARD_DELAYS, AWKWARD_EVENT, AWKWARD_STATE, awkwardMachine } from "./fixtures.ts";

const check = (chart: ReturnType<typeof chartOf>) => {
  const g = parseDot(renderDot(chart));
  for (const e of g.edges) {
    expect(g.nodes.has(e.from), e.from).toBe(true);
    expect(g.nodes.has(e.to), e.to).toBe(true);
  }
  for (const s of chartStates(chart.root)) {
    expect(g.nodes.has(s.id), s.id).toBe(true);
    if (s.children.length > 0) expect(g.clusters.get(`cluster_${s.id}`)?.label?.split("\n")[0]).toBe(s.key);
    else expect(g.nodes.get(s.id)?.label?.split("\n")[0]).toBe(s.key);
  }
  const labelled = g.edges.filter((e) => e.attrs.label !== undefined);
  expect(labelled.map((e) => e.attrs.label)).toEqual(chart.edges.map((e) => edgeLines(e).join("\n")));
  return g;
};

describe("Graphviz DOT", () => {
  it("the structural parser rejects broken DOT", () => {
    const good = renderDot(chartOf("tracker"));
    expect(() => parseDot(good.slice(0, -3))).toThrow();
    expect(() => parseDot(good.replace('label="RESULT', 'label="RES"ULT'))).toThrow();
    expect(() => parseDot(good.replace("->", "- >"))).toThrow();
  });

  it.each(MACHINE_NAMES)("%s: every state and labelled transition", (name) => {
    const g = check(chartOf(name));
    expect(g.name).toBe(chartOf(name).id);
  });

  it("instance machine: clusters for compound states, lhead/ltail to them", () => {
    const g = check(chartOf("vrrp-instance"));
    expect(g.clusters.get("cluster_vrrp.master")?.label).toBe("master\n(parallel)");
    const yieldEdge = g.edges.find((e) => e.attrs.label?.startsWith("ADVERT [rankHigher]"));
    expect(yieldEdge?.attrs.ltail).toBe("cluster_vrrp.master");
    expect(g.nodes.get("vrrp.stop")?.peripheries).toBe("2");
  });

  it("awkward names are escaped and come back intact", () => {
    const chart = extractChart(awkwardMachine, AWKWARD_DELAYS);
    const g = check(chart);
    expect(g.nodes.has(`odd-machine.${AWKWARD_STATE}`)).toBe(true);
    expect(g.edges.some((e) => e.attrs.label?.startsWith(AWKWARD_EVENT))).toBe(true);
  });
});
