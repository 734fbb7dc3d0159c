/**
 * Renders a `Chart` as Graphviz DOT. Compound and parallel states are clusters (parallel regions
 * dashed); each cluster holds a point node named by the state's id, which is the initial
 * pseudo-state of a compound state and the anchor of edges to or from the cluster (`lhead` /
 * `ltail`, with `compound=true`). Final states have a double border; the machine's own transitions
 * leave from an "any state" node. Every id and label is a quoted, escaped DOT string. Pure.
 */
import { type Chart, type ChartNode, edgeLines, stateLines } from "./chart.ts";

/** A DOT double-quoted string: backslashes and quotes escaped, line breaks as `\n`. */
export const dotString = (text: string): string =>
  `"${text
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\r?\n|\r/g, "\\n")}"`;

/** Lines joined for a DOT label (`\l` would left-align; centred `\n` keeps it simple). */
const label = (lines: readonly string[]): string => dotString(lines.join("\n"));

const clusterId = (id: string): string => dotString(`cluster_${id}`);

export function renderDot(chart: Chart): string {
  const out: string[] = [
    `digraph ${dotString(chart.id)} {`,
    '  graph [compound=true, rankdir=TB, fontname="sans-serif", fontsize=12];',
    '  node [shape=box, style=rounded, fontname="sans-serif", fontsize=11];',
    '  edge [fontname="sans-serif", fontsize=9];',
  ];
  const compound = new Set<string>();
  const walk = (n: ChartNode, indent: string, inParallel: boolean): void => {
    if (n.children.length === 0) {
      const attrs = [`label=${label([n.key, ...stateLines(n)])}`];
      if (n.kind === "final") attrs.push("peripheries=2");
      out.push(`${indent}${dotString(n.id)} [${attrs.join(", ")}];`);
      return;
    }
    compound.add(n.id);
    const style = inParallel ? "dashed" : "rounded";
    const title = [n.key, ...(n.kind === "parallel" ? ["(parallel)"] : []), ...stateLines(n)];
    out.push(`${indent}subgraph ${clusterId(n.id)} {`);
    out.push(`${indent}  graph [label=${label(title)}, style=${style}];`);
    out.push(
      `${indent}  ${dotString(n.id)} [shape=point, width=0.08${n.kind === "parallel" ? ", style=invis" : ""}];`,
    );
    for (const c of n.children) walk(c, `${indent}  `, n.kind === "parallel");
    if (n.initial !== undefined) out.push(`${indent}  ${dotString(n.id)} -> ${dotString(n.initial)};`);
    out.push(`${indent}}`);
  };
  out.push(`  ${dotString(`${chart.id}.__initial`)} [shape=point, width=0.12];`);
  if (chart.edges.some((e) => e.source === chart.id))
    out.push(`  ${dotString(chart.id)} [shape=plaintext, label=${dotString(`any state (${chart.id})`)}];`);
  for (const c of chart.root.children) walk(c, "  ", false);
  if (chart.root.initial !== undefined) {
    const to = chart.root.initial;
    const head = compound.has(to) ? ` [lhead=${clusterId(to)}]` : "";
    out.push(`  ${dotString(`${chart.id}.__initial`)} -> ${dotString(to)}${head};`);
  }
  for (const e of chart.edges) {
    const attrs = [`label=${label(edgeLines(e))}`];
    if (e.source !== e.target) {
      if (compound.has(e.source)) attrs.push(`ltail=${clusterId(e.source)}`);
      if (compound.has(e.target)) attrs.push(`lhead=${clusterId(e.target)}`);
    }
    if (e.internal) attrs.push("style=dashed");
    out.push(`  ${dotString(e.source)} -> ${dotString(e.target)} [${attrs.join(", ")}];`);
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}
