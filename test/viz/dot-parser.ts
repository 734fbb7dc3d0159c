/**
 * A small structural parser for the DOT subset renderDot writes (Graphviz `dot` is not installed
 * here): `digraph ID { … }`, `graph|node|edge [attrs];`, `subgraph ID { … }`, `ID [attrs];` and
 * `ID -> ID [attrs];`, with IDs as double-quoted strings (escapes `\"` `\\` `\n`) or bare words.
 * Throws on anything else, unbalanced braces or a bad string; returns nodes, edges and clusters
 * with unescaped ids and attributes. Pure.
 */
export interface DotGraph {
  readonly name: string;
  readonly nodes: Map<string, Record<string, string>>;
  readonly edges: { from: string; to: string; attrs: Record<string, string> }[];
  readonly clusters: Map<string, Record<string, string>>;
}

type Tok = { kind: "id"; value: string } | { kind: "punct"; value: string };

function tokenize(text: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) i++;
    else if (c === '"') {
      let v = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new Error("unterminated string");
        const d = text[i] as string;
        if (d === '"') break;
        if (d === "\n") throw new Error("raw line break in a string");
        if (d === "\\") {
          const e = text[i + 1];
          if (e === '"' || e === "\\") v += e;
          else if (e === "n") v += "\n";
          else throw new Error(`unknown escape \\${e}`);
          i += 2;
        } else {
          v += d;
          i++;
        }
      }
      i++;
      toks.push({ kind: "id", value: v });
    } else if (text.startsWith("->", i)) {
      toks.push({ kind: "punct", value: "->" });
      i += 2;
    } else if ("{}[];,=".includes(c)) {
      toks.push({ kind: "punct", value: c });
      i++;
    } else {
      const m = /^[A-Za-z0-9_.]+/.exec(text.slice(i));
      if (m === null) throw new Error(`unexpected character ${JSON.stringify(c)} at ${i}`);
      toks.push({ kind: "id", value: m[0] });
      i += m[0].length;
    }
  }
  return toks;
}

export function parseDot(text: string): DotGraph {
  const toks = tokenize(text);
  let p = 0;
  const peek = () => toks[p];
  const take = (value?: string): Tok => {
    const t = toks[p++];
    if (t === undefined) throw new Error("unexpected end");
    if (value !== undefined && t.value !== value) throw new Error(`expected ${value}, got ${t.value}`);
    return t;
  };
  const id = (): string => {
    const t = take();
    if (t.kind !== "id") throw new Error(`expected an id, got ${t.value}`);
    return t.value;
  };
  const attrs = (): Record<string, string> => {
    const out: Record<string, string> = {};
    if (peek()?.value !== "[") return out;
    take("[");
    while (peek()?.value !== "]") {
      const k = id();
      take("=");
      out[k] = id();
      if (peek()?.value === ",") take(",");
    }
    take("]");
    return out;
  };
  const g: DotGraph = { name: "", nodes: new Map(), edges: [], clusters: new Map() };
  const block = (cluster: string | undefined): void => {
    take("{");
    while (peek()?.value !== "}") {
      const t = peek();
      if (t?.kind === "id" && t.value === "subgraph") {
        take();
        const name = id();
        g.clusters.set(name, {});
        block(name);
        continue;
      }
      const first = id();
      if (["graph", "node", "edge"].includes(first) && peek()?.value === "[") {
        const a = attrs();
        if (first === "graph" && cluster !== undefined) g.clusters.set(cluster, a);
      } else if (peek()?.value === "->") {
        take("->");
        g.edges.push({ from: first, to: id(), attrs: attrs() });
      } else g.nodes.set(first, attrs());
      take(";");
    }
    take("}");
  };
  take("digraph");
  (g as { name: string }).name = id();
  block(undefined);
  if (p !== toks.length) throw new Error("text after the graph");
  return g;
}
