/**
 * Renders a `Chart` as a self-contained SVG laid out by elkjs (ELK "layered", hierarchy included,
 * so compound and parallel states are containers and edges may cross their borders). A state's
 * entry and exit effects and its self-transitions (targetless or re-entering, as UML's internal
 * transitions `EVENT [guard] / effects`) are written inside its box; every other transition is an
 * edge with its label. Text is
 * measured with a fixed advance for the generic `monospace` family, so no font is needed and the
 * output references nothing outside itself; numbers are rounded to 0.1 px, so the same chart gives
 * the same bytes. Pure apart from elkjs's asynchronous API (no I/O).
 */

import elkBundled from "elkjs/lib/elk.bundled.js";
import type { ELK as ElkApi, ElkExtendedEdge, ElkLabel, ElkNode } from "elkjs/lib/elk-api.js";
import { type Chart, type ChartNode, edgeLines, stateLines, wrapLines } from "./chart.ts";

/** elkjs is CommonJS: its `module.exports` is the constructor (the typings describe an ES default). */
const Elk = elkBundled as unknown as new () => ElkApi;

const FONT_PX = 11;
/** The advance of one monospace character at FONT_PX (0.6 em, as common monospace faces). */
const CHAR_PX = FONT_PX * 0.6;
const LINE_PX = FONT_PX + 3;
const PAD_PX = 8;
const TITLE_PX = 16;
const INITIAL_PX = 10;
/** Label lines are broken after a comma beyond this many characters. */
const WRAP_CHARS = 36;

export const xmlText = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const textWidth = (lines: readonly string[]): number =>
  Math.max(0, ...lines.map((l) => [...l].length)) * CHAR_PX;
const num = (v: number): string => String(Math.round(v * 10) / 10);

const nodeId = (id: string): string => `n:${id}`;
const initialId = (id: string): string => `i:${id}`;
const anyId = (id: string): string => `any:${id}`;

/** The ELK graph of a chart: states as nodes (containers for compound ones), transitions as edges. */
function elkGraph(chart: Chart): { graph: ElkNode; lines: Map<string, string[]> } {
  const edges: ElkExtendedEdge[] = [];
  const lines = new Map<string, string[]>();
  /** Self-transitions, written inside their state (UML's internal transitions), one per line. */
  const selfLines = (id: string): string[] =>
    chart.edges
      .filter((e) => e.source === id && e.target === id)
      .flatMap((e) => wrapLines([edgeLines(e).join(" ")], WRAP_CHARS));
  const toElk = (n: ChartNode): ElkNode => {
    const text = [
      n.key,
      ...(n.kind === "parallel" ? ["(parallel)"] : []),
      ...wrapLines(stateLines(n), WRAP_CHARS),
      ...selfLines(n.id),
    ];
    lines.set(nodeId(n.id), text);
    if (n.children.length === 0)
      return {
        id: nodeId(n.id),
        width: textWidth(text) + 2 * PAD_PX,
        height: text.length * LINE_PX + PAD_PX,
      };
    const children = n.children.map(toElk);
    if (n.initial !== undefined) {
      children.unshift({ id: initialId(n.id), width: INITIAL_PX, height: INITIAL_PX });
      edges.push({ id: `init:${n.id}`, sources: [initialId(n.id)], targets: [nodeId(n.initial)] });
    }
    return {
      id: nodeId(n.id),
      children,
      layoutOptions: {
        "elk.padding": `[top=${text.length * LINE_PX + PAD_PX},left=${PAD_PX},bottom=${PAD_PX},right=${PAD_PX}]`,
        "elk.nodeSize.minimum": `(${num(textWidth(text) + 2 * PAD_PX)},${TITLE_PX})`,
        "elk.nodeSize.constraints": "MINIMUM_SIZE",
      },
    };
  };
  const children = chart.root.children.map(toElk);
  if (chart.root.initial !== undefined) {
    children.unshift({ id: initialId(chart.id), width: INITIAL_PX, height: INITIAL_PX });
    edges.push({
      id: `init:${chart.id}`,
      sources: [initialId(chart.id)],
      targets: [nodeId(chart.root.initial)],
    });
  }
  if (chart.edges.some((e) => e.source === chart.id)) {
    const text = [`any state (${chart.id})`, ...selfLines(chart.id)];
    lines.set(anyId(chart.id), text);
    children.push({
      id: anyId(chart.id),
      width: textWidth(text) + 2 * PAD_PX,
      height: text.length * LINE_PX + PAD_PX,
    });
  }
  for (const e of chart.edges) {
    if (e.source === e.target) continue;
    const text = wrapLines(edgeLines(e), WRAP_CHARS);
    const label: ElkLabel = {
      id: `l:${e.id}`,
      text: text.join("\n"),
      width: textWidth(text) + 4,
      height: text.length * LINE_PX,
    };
    edges.push({
      id: e.id,
      sources: [e.source === chart.id ? anyId(chart.id) : nodeId(e.source)],
      targets: [nodeId(e.target)],
      labels: [label],
    });
  }
  const graph: ElkNode = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.hierarchyHandling": "INCLUDE_CHILDREN",
      "elk.json.edgeCoords": "ROOT",
      "elk.json.shapeCoords": "ROOT",
      "elk.edgeRouting": "ORTHOGONAL",
      "elk.spacing.nodeNode": "30",
      "elk.layered.spacing.nodeNodeBetweenLayers": "40",
      "elk.spacing.edgeLabel": "2",
      "elk.edgeLabels.placement": "CENTER",
      "elk.layered.crossingMinimization.semiInteractive": "false",
      "elk.randomSeed": "1",
      "elk.padding": "[top=12,left=12,bottom=12,right=12]",
    },
    children,
    edges,
  };
  return { graph, lines };
}

/** Lays the chart out with elkjs and draws it. */
export async function renderSvg(chart: Chart): Promise<string> {
  const { graph, lines } = elkGraph(chart);
  const laid = await new Elk().layout(graph);
  const marker = `arrow-${chart.id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const kinds = new Map<string, ChartNode["kind"]>();
  const kindWalk = (n: ChartNode): void => {
    for (const c of n.children) {
      kinds.set(nodeId(c.id), c.kind);
      kindWalk(c);
    }
  };
  kindWalk(chart.root);

  const shapes: string[] = [];
  const textBlock = (x: number, y: number, text: readonly string[], first: "bold" | "normal"): string =>
    `<text x="${num(x)}" y="${num(y)}">${text
      .map(
        (l, i) =>
          `<tspan x="${num(x)}" dy="${i === 0 ? 0 : LINE_PX}"${i === 0 && first === "bold" ? ' font-weight="bold"' : ""}>${xmlText(l)}</tspan>`,
      )
      .join("")}</text>`;
  const drawNode = (n: ElkNode, inParallel: boolean): void => {
    const x = n.x ?? 0;
    const y = n.y ?? 0;
    const w = n.width ?? 0;
    const h = n.height ?? 0;
    if (n.id.startsWith("i:")) {
      shapes.push(
        `<circle cx="${num(x + w / 2)}" cy="${num(y + h / 2)}" r="${num(w / 2)}" class="initial"/>`,
      );
      return;
    }
    const kind = kinds.get(n.id);
    const cls = n.id.startsWith("any:")
      ? "any"
      : kind === "final"
        ? "final"
        : inParallel
          ? "region"
          : "state";
    shapes.push(
      `<g id="${xmlText(n.id)}"><rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" rx="6" class="${cls}"/>`,
    );
    if (kind === "final")
      shapes.push(
        `<rect x="${num(x + 3)}" y="${num(y + 3)}" width="${num(w - 6)}" height="${num(h - 6)}" rx="4" class="final"/>`,
      );
    shapes.push(`${textBlock(x + PAD_PX, y + PAD_PX + FONT_PX - 2, lines.get(n.id) ?? [], "bold")}</g>`);
    for (const c of n.children ?? []) drawNode(c, kind === "parallel");
  };
  for (const c of laid.children ?? []) drawNode(c, false);

  const edgeShapes: string[] = [];
  const labelShapes: string[] = [];
  for (const e of laid.edges ?? []) {
    for (const s of e.sections ?? []) {
      const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint];
      const d = pts.map((p, i) => `${i === 0 ? "M" : "L"}${num(p.x)},${num(p.y)}`).join(" ");
      edgeShapes.push(`<path d="${d}" class="edge" marker-end="url(#${marker})"/>`);
    }
    for (const l of e.labels ?? []) {
      const x = l.x ?? 0;
      const y = l.y ?? 0;
      labelShapes.push(
        `<g class="label"><rect x="${num(x)}" y="${num(y)}" width="${num(l.width ?? 0)}" height="${num(l.height ?? 0)}"/>${textBlock(x + 2, y + FONT_PX, (l.text ?? "").split("\n"), "bold")}</g>`,
      );
    }
  }
  const width = laid.width ?? 0;
  const height = laid.height ?? 0;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="monospace" font-size="${FONT_PX}">`,
    `<title>${xmlText(`${chart.id} state chart`)}</title>`,
    `<defs><marker id="${marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>`,
    "<style>.state{fill:#f4f7fb;stroke:#3b5b85;stroke-width:1.2}.region{fill:#fff;stroke:#7a8fa8;stroke-dasharray:5 3}.final{fill:#eee;stroke:#333}.any{fill:#fff;stroke:#999;stroke-dasharray:2 2}.initial{fill:#333}.edge{fill:none;stroke:#333;stroke-width:1}.label rect{fill:#fff;fill-opacity:0.85}text{fill:#111}</style>",
    `<rect width="${num(width)}" height="${num(height)}" fill="#fff"/>`,
    ...shapes,
    ...edgeShapes,
    ...labelShapes,
    "</svg>",
    "",
  ].join("\n");
}
