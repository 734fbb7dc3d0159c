/**
 * Renders a `Chart` as mermaid `stateDiagram-v2` text (GitHub renders it in Markdown). Compound
 * states are `state … { }` blocks, parallel regions are separated by `--`, initial states are
 * `[*] --> x`, final states `x --> [*]`. Each transition between two states is an arrow written
 * in the block of the deepest state containing both ends; one that crosses a composite state's
 * border from inside (mermaid's renderer cannot draw those) is drawn from that composite state,
 * its label saying where it starts (`(from idle)`); likewise into a composite. Transitions from a
 * state to itself (targetless, or re-entering) are written inside the state as UML's internal
 * transitions, `EVENT [guard] / effects` lines under entry and exit — mermaid draws only one
 * self-loop per state — or in a note beside a composite state (which mermaid allows no text in).
 * The machine's own (root-level) transitions leave from an "any state" node. Labels are one line;
 * characters mermaid or its Markdown treat specially are written as mermaid entity codes. Pure.
 */
import {
  type Chart,
  type ChartEdge,
  type ChartNode,
  chartStates,
  edgeLines,
  edgeScope,
  parentsOf,
  stateLines,
} from "./chart.ts";

/** A mermaid-safe identifier for a state id (unique: ids are made of [A-Za-z0-9_] + escapes). */
export const mermaidId = (id: string): string =>
  `s_${id.replace(/[^A-Za-z0-9]/g, (ch) => (ch === "." ? "__" : `_${ch.codePointAt(0)?.toString(16)}_`))}`;

const NAMED_ENTITIES: Readonly<Record<string, string>> = { "<": "#lt;", ">": "#gt;", "&": "#amp;" };

/**
 * Label text for mermaid: one line; mermaid's syntax characters (`;` `#` `%` `:` `{}` `"` `<>&`)
 * and Markdown's (`*`, backticks, backslash, `](`, `_` at a word's edge) as entity codes (`#59;`), which mermaid
 * shows as the character.
 */
export const mermaidText = (text: string): string =>
  text
    .replace(/[\r\n]+/g, " ")
    .replace(
      /[#;%:{}"<>&*`\\]|\](?=\()|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g,
      (c) => NAMED_ENTITIES[c] ?? `#${c.codePointAt(0)};`,
    )
    .replace(/^(\s*)end note$/, "$1#101;nd note");

/** The id of the pseudo-state the root's own transitions leave from. */
const anyId = (chart: Chart): string => `${mermaidId(chart.id)}__any`;

export interface MermaidOptions {
  /** Write edges that cross a composite's border as they are (for tests: mermaid fails on them). */
  readonly keepCrossingEdges?: boolean;
}

/** A self-transition as one line inside its state. */
const selfLine = (e: ChartEdge): string => edgeLines(e).join(" ");

export function renderMermaid(chart: Chart, options: MermaidOptions = {}): string {
  const parents = parentsOf(chart);
  const keys = new Map(chartStates(chart.root).map((n) => [n.id, n.key]));
  /** `id` lifted to its ancestor directly inside `scope`, and the path below that ancestor. */
  const lift = (id: string, scope: string): { id: string; below: string[] } => {
    const below: string[] = [];
    if (options.keepCrossingEdges === true) return { id, below };
    let at = id;
    for (let p = parents.get(at); p !== undefined && p !== scope; p = parents.get(at)) {
      below.unshift(keys.get(at) ?? at);
      at = p;
    }
    return { id: at, below };
  };
  const edgesIn = new Map<string, string[]>();
  const selfLines = new Map<string, string[]>();
  for (const e of chart.edges) {
    if (e.source === e.target) {
      selfLines.set(e.source, [...(selfLines.get(e.source) ?? []), selfLine(e)]);
      continue;
    }
    const scope = edgeScope(chart, e, parents);
    const source = e.source === chart.id ? { id: chart.id, below: [] } : lift(e.source, scope);
    const target = lift(e.target, scope);
    const from = e.source === chart.id ? anyId(chart) : mermaidId(source.id);
    const where = [
      ...(source.below.length > 0 ? [`from ${source.below.join(".")}`] : []),
      ...(target.below.length > 0 ? [`to ${target.below.join(".")}`] : []),
    ];
    const lines = edgeLines(e);
    const head = where.length === 0 ? lines : [`${lines[0]} (${where.join(", ")})`, ...lines.slice(1)];
    const list = edgesIn.get(scope) ?? [];
    list.push(`${from} --> ${mermaidId(target.id)} : ${mermaidText(head.join(" "))}`);
    edgesIn.set(scope, list);
  }

  const lines: string[] = ["stateDiagram-v2"];
  if (chart.edges.some((e) => e.source === chart.id)) {
    const id = anyId(chart);
    lines.push(`  state "${mermaidText(`any state (${chart.id})`)}" as ${id}`);
    for (const l of selfLines.get(chart.id) ?? []) lines.push(`  ${id} : ${mermaidText(l)}`);
  }
  const body = (n: ChartNode, indent: string): string[] => {
    const out: string[] = [];
    if (n.initial !== undefined && n.kind !== "parallel")
      out.push(`${indent}[*] --> ${mermaidId(n.initial)}`);
    n.children.forEach((c, i) => {
      if (n.kind === "parallel" && i > 0) out.push(`${indent}--`);
      out.push(...stateBlock(c, indent));
    });
    for (const c of n.children) if (c.kind === "final") out.push(`${indent}${mermaidId(c.id)} --> [*]`);
    out.push(...(edgesIn.get(n.id) ?? []).map((l) => `${indent}${l}`));
    return out;
  };
  const stateBlock = (n: ChartNode, indent: string): string[] => {
    const id = mermaidId(n.id);
    const out = [`${indent}state "${mermaidText(n.key)}" as ${id}`];
    const inside = [...stateLines(n), ...(selfLines.get(n.id) ?? [])].map(mermaidText);
    if (n.children.length === 0) {
      for (const l of inside) out.push(`${indent}${id} : ${l}`);
      return out;
    }
    out.push(`${indent}state ${id} {`, ...body(n, `${indent}  `), `${indent}}`);
    if (inside.length > 0)
      out.push(`${indent}note right of ${id}`, ...inside.map((l) => `${indent}  ${l}`), `${indent}end note`);
    return out;
  };
  lines.push(...body(chart.root, "  "));
  return `${lines.join("\n")}\n`;
}
