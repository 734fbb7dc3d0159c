/**
 * The mermaid output, checked with mermaid's own parser (mermaid 11 with a jsdom window): every
 * machine's chart parses, a broken diagram is rejected by the same parser, and awkward names
 * (mermaid syntax characters) still give a diagram that parses with every state and label present.
 * mermaid's renderer (in jsdom with estimated text sizes, see mermaid-parser.ts: it proves the
 * drawing code accepts the chart and draws every label, not the picture's geometry) draws every
 * chart; it throws on the instance chart when edges leave INIT's inner states as written, so
 * renderMermaid draws those from the composite state (`(from idle)` in the label).
 */
import { JSDOM } from "jsdom";
import { beforeAll, describe, expect, it } from "vitest";
import { chartOf, MACHINE_NAMES } from "../../src/viz/catalogue.ts";
import { chartStates, edgeLines, extractChart } from "../../src/viz/chart.ts";
import { mermaidId, mermaidText, renderMermaid } from "../../src/viz/mermaid.ts";
import { AWKWARD_DELAYS, AWKWARD_EVENT, awkwardMachine } from "./fixtures.ts";
import { loadMermaid, type Mermaid } from "./mermaid-parser.ts";

let mermaid: Mermaid;
beforeAll(async () => {
  mermaid = await loadMermaid();
}, 60_000);

describe("mermaid stateDiagram-v2", () => {
  it("the parser rejects a broken diagram", async () => {
    await expect(mermaid.parse("stateDiagram-v2\n  a --> : x\n  state {\n")).rejects.toThrow(/Parse error/);
    const good = renderMermaid(chartOf("tracker"));
    await expect(mermaid.parse(good.replace("[*] -->", "[*] --> -->"))).rejects.toThrow();
  });

  it.each(MACHINE_NAMES)("%s parses, with every state and transition", async (name) => {
    const chart = chartOf(name);
    const text = renderMermaid(chart);
    await expect(mermaid.parse(text)).resolves.toMatchObject({ diagramType: "stateDiagram" });
    for (const s of chartStates(chart.root)) expect(text).toContain(`state "${s.key}" as ${mermaidId(s.id)}`);
    const arrows = text.split("\n").filter((l) => / --> /.test(l) && !l.includes("[*]"));
    expect(arrows).toHaveLength(chart.edges.filter((e) => e.source !== e.target).length);
    // Self-transitions are lines inside their state (or its note).
    for (const e of chart.edges.filter((x) => x.source === x.target))
      expect(text).toContain(mermaidText(edgeLines(e).join(" ")));
  });

  it("instance machine: timers and effects in the labels", () => {
    const text = renderMermaid(chartOf("vrrp-instance"));
    expect(text).toMatch(
      /s_vrrp__backup --> s_vrrp__master : MASTER_DOWN after masterDown \(down_timer_adverts \(3\)×advert \+ skew.*\/ .*addVips/,
    );
    expect(text).toContain("s_vrrp__backup : entry / start timer masterDown → MASTER_DOWN");
    expect(text).toContain("    --\n");
  });

  it("awkward names still parse; ids are unique", async () => {
    const chart = extractChart(awkwardMachine, AWKWARD_DELAYS);
    const text = renderMermaid(chart);
    await expect(mermaid.parse(text)).resolves.toMatchObject({ diagramType: "stateDiagram" });
    expect(text).toContain(mermaidText(AWKWARD_EVENT));
    const ids = chartStates(chart.root).map((s) => mermaidId(s.id));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_]+$/);
    expect(mermaidId("a.b_c")).not.toBe(mermaidId("a_b.c"));
    expect(mermaidId("a__b")).not.toBe(mermaidId("a.b"));
  });

  /** The text mermaid draws (it renders in jsdom with estimated text sizes: positions are not checked). */
  const drawnText = async (text: string): Promise<string> => {
    const { svg } = await mermaid.render(`m${text.length}`, text);
    return (new JSDOM(svg).window.document.body.textContent ?? "").replace(/\s+/g, " ");
  };

  it("the instance chart with edges crossing out of INIT as written makes mermaid's renderer fail", async () => {
    const crossing = renderMermaid(chartOf("vrrp-instance"), { keepCrossingEdges: true });
    expect(crossing).toContain("s_vrrp__init__idle --> s_vrrp__fault");
    await expect(mermaid.parse(crossing)).resolves.toBeTruthy();
    await expect(drawnText(crossing)).rejects.toThrow();
  });

  it.each([...MACHINE_NAMES, "awkward"] as const)("%s: mermaid draws it with every label", async (name) => {
    const chart = name === "awkward" ? extractChart(awkwardMachine, AWKWARD_DELAYS) : chartOf(name);
    const drawn = await drawnText(renderMermaid(chart));
    const norm = (t: string) => t.replace(/\s+/g, " ");
    // The entity codes come back as the characters: every label is shown as the chart has it.
    for (const e of chart.edges) for (const l of edgeLines(e)) expect(drawn).toContain(norm(l));
    for (const s of chartStates(chart.root)) expect(drawn).toContain(norm(s.key));
  });

  it("a composite state's self-transitions go in a note; mermaid rejects text inside one", async () => {
    const text = renderMermaid(chartOf("vrrp-instance"));
    expect(text).toMatch(
      /note right of s_vrrp__master\n\s+ADVERT \[rankSelf\]|note right of s_vrrp__master\n\s+TRACKING/,
    );
    await expect(
      mermaid.parse('stateDiagram-v2\n  state "m" as M\n  M : text\n  state M {\n    [*] --> a\n  }\n'),
    ).rejects.toThrow(/Group nodes can only have label/);
  });

  it("an edge out of a composite says which inner state it leaves from", () => {
    const text = renderMermaid(chartOf("vrrp-instance"));
    expect(text).toContain("s_vrrp__init --> s_vrrp__fault : START [faulted] (from idle) / ");
    expect(text).not.toMatch(/s_vrrp__init__\w+ --> s_vrrp__(fault|backup)/);
  });
});
