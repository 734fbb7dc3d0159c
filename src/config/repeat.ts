/**
 * The arguments of keepalived's line generators, `~SEQ(var,start,step,end)`, `~SEQx(...)` (hex)
 * and `~LST(var,v1,v2…)` / `~LST({a,b},{1,2},…)`: parsed into a generator that knows how many
 * lines it will produce before producing any, so the preprocessor can charge its budget first.
 * Pure.
 */

/** One generator: `count` bindings, produced lazily by `binding(k)` for k in [0, count). */
export interface Repeat {
  readonly kind: "SEQ" | "SEQx" | "LST";
  readonly count: number;
  readonly binding: (k: number) => ReadonlyArray<readonly [string, string]>;
}

/** Index of the `)` matching the `(` at `open`, or -1. */
export function findClose(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")" && --depth === 0) return i;
  }
  return -1;
}

/** Splits at commas that are not inside `{…}`. */
export function splitTop(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (c === "," && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

const unbrace = (s: string): string[] =>
  s.startsWith("{") && s.endsWith("}")
    ? s
        .slice(1, -1)
        .split(",")
        .map((x) => x.trim())
    : [s];

/** Parses the text between the parentheses; a string is the reason it is invalid. */
export function parseRepeat(kind: string, inner: string): Repeat | string {
  const args = splitTop(inner).map((s) => s.trim());
  if (kind === "LST") {
    const [vars, ...values] = args;
    if (vars === undefined || values.length === 0) return "~LST needs a variable and at least one value";
    const names = unbrace(vars);
    return {
      kind,
      count: values.length,
      binding: (k) => {
        const vs = unbrace(values[k] ?? "");
        return names.map((n, i) => [n, vs[i] ?? ""] as const);
      },
    };
  }
  if (kind !== "SEQ" && kind !== "SEQx") return `Invalid ~${kind} specification`;
  const [name, ...nums] = args;
  const values = nums.map((s) => Number(s));
  const invalid = `Invalid ~${kind} parameters '${inner}'`;
  if (name === undefined || name === "" || values.length === 0 || values.length > 3) return invalid;
  if (!values.every(Number.isSafeInteger)) return invalid;
  const end = values[values.length - 1] ?? 0;
  const start = values.length >= 2 ? (values[0] ?? 1) : 1;
  const step = values.length === 3 ? (values[1] ?? 1) : end >= start ? 1 : -1;
  if (step === 0 || (step > 0 && end < start) || (step < 0 && end > start)) return invalid;
  const count = Math.floor((end - start) / step) + 1;
  return {
    kind,
    count,
    binding: (k) => {
      const v = start + k * step;
      return [[name, kind === "SEQx" ? v.toString(16) : String(v)]];
    },
  };
}
