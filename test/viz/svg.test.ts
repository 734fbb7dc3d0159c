/**
 * The SVG output (elkjs layout): well-formed XML (jsdom's XML parser), every state and every
 * transition label in the text, one drawn path per transition, nothing referenced outside the
 * file, states nested inside their containers, and the same bytes on a second run.
 */
import { JSDOM } from "jsdom";
import { describe, expect, it } from "vitest";
import { chartOf, MACHINE_NAMES } from "../../src/viz/catalogue.ts";
import { type Chart, chartStates, edgeLines, extractChart } from "../../src/viz/chart.ts";
import { renderSvg } from "../../src/viz/svg.ts";
import { AWKWARD_DELAYS, AWKWARD_EVENT, AWKWARD_STATE, awkwardMachine } from "./fixtures.ts";

const { window } = new JSDOM("");

/** Parses SVG text as XML; throws with the parser's message when it is not well-formed. */
function parseSvg(text: string): Document {
  const doc = new window.DOMParser().parseFromString(text, "image/svg+xml");
  const error = doc.getElementsByTagName("parsererror")[0];
  if (error !== undefined) throw new Error(`not well-formed: ${error.textContent}`);
  return doc;
}

/** The text of each <text> element, its lines joined with one space (wrapped lines rejoined). */
const texts = (doc: Document): string[] =>
  [...doc.getElementsByTagName("text")].map((t) =>
    [...t.getElementsByTagName("tspan")]
      .map((s) => s.textContent ?? "")
      .join(" ")
      .replace(/\s+/g, " "),
  );
const norm = (s: string): string => s.replace(/\s+/g, " ");

async function check(chart: Chart): Promise<Document> {
  const svg = await renderSvg(chart);
  const doc = parseSvg(svg);
  expect(doc.documentElement.tagName).toBe("svg");
  const all = texts(doc);
  for (const s of chartStates(chart.root))
    expect(
      all.some((t) => t.startsWith(s.key)),
      s.key,
    ).toBe(true);
  for (const e of chart.edges) {
    const label = norm(edgeLines(e).join(" "));
    if (e.source !== e.target) expect(all, e.id).toContain(label);
    else
      expect(
        all.some((t) => t.includes(label)),
        `${e.id}: ${label}`,
      ).toBe(true);
  }
  // One path per transition between two states and per initial arrow (self-transitions are text
  // inside their state).
  const initials = chartStates(chart.root).filter((s) => s.initial !== undefined).length + 1;
  const between = chart.edges.filter((e) => e.source !== e.target).length;
  expect(doc.getElementsByTagName("path").length - 1).toBe(between + initials);
  // Self-contained: the only references are to the file's own marker; no images, fonts or links.
  expect(svg).not.toMatch(/href|@import|@font-face|<image|<foreignObject/);
  expect(svg.replace('xmlns="http://www.w3.org/2000/svg"', "")).not.toMatch(/https?:/);
  for (const m of svg.matchAll(/url\(([^)]*)\)/g))
    expect(doc.getElementById(m[1]?.slice(1) ?? "")).not.toBeNull();
  return doc;
}

const box = (doc: Document, id: string) => {
  const r = doc.getElementById(id)?.getElementsByTagName("rect")[0];
  const n = (a: string) => Number(r?.getAttribute(a));
  return { x: n("x"), y: n("y"), w: n("width"), h: n("height") };
};

describe("SVG (elkjs)", () => {
  it("the XML check rejects a broken SVG", async () => {
    const svg = await renderSvg(chartOf("tracker"));
    expect(() => parseSvg(svg.replace("</svg>", ""))).toThrow(/not well-formed/);
    expect(() => parseSvg(svg.replace("<title>", "<title><"))).toThrow(/not well-formed/);
  });

  it.each(MACHINE_NAMES)("%s: well-formed, complete, self-contained, deterministic", async (name) => {
    const chart = chartOf(name);
    await check(chart);
    expect(await renderSvg(chart)).toBe(await renderSvg(chartOf(name)));
  });

  it("instance machine: regions drawn inside the parallel MASTER state", async () => {
    const doc = await check(chartOf("vrrp-instance"));
    const master = box(doc, "n:vrrp.master");
    for (const r of ["adverts", "garp", "lowerPrioGarp"]) {
      const b = box(doc, `n:vrrp.master.${r}`);
      expect(b.x).toBeGreaterThanOrEqual(master.x);
      expect(b.y).toBeGreaterThanOrEqual(master.y);
      expect(b.x + b.w).toBeLessThanOrEqual(master.x + master.w);
      expect(b.y + b.h).toBeLessThanOrEqual(master.y + master.h);
    }
  });

  it("awkward names are escaped", async () => {
    const chart = extractChart(awkwardMachine, AWKWARD_DELAYS);
    const doc = await check(chart);
    expect(texts(doc).some((t) => t.startsWith(AWKWARD_STATE))).toBe(true);
    expect(texts(doc).some((t) => t.startsWith(norm(AWKWARD_EVENT)))).toBe(true);
  });
});
