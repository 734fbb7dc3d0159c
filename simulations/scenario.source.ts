/**
 * The text side of a scenario file: YAML parsed with `yaml`'s LineCounter, so that every problem —
 * a YAML syntax error, a value the schema refuses, a name that refers to nothing — is reported as
 * `FILE:LINE:COLUMN: message`. Also the small value grammars of the format: durations (`10s`,
 * `1.5s`, `250ms`, `2m`, `1h`, `500us`) and percentages (`5%`). Pure (text in, values out).
 */
import { Schema, SchemaIssue } from "effect";
import { type Document, isMap, isNode, isScalar, LineCounter, parseDocument } from "yaml";

/** One problem in a scenario, at a 1-based line and column (0: the file as a whole). */
export interface ScenarioProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** A scenario that cannot be run: every problem found, in file order. */
export class ScenarioError extends Error {
  override readonly name = "ScenarioError";
  constructor(readonly problems: readonly ScenarioProblem[]) {
    super(problems.map(formatProblem).join("\n"));
  }
}

export const formatProblem = (p: ScenarioProblem): string =>
  p.line > 0 ? `${p.file}:${p.line}:${p.column}: ${p.message}` : `${p.file}: ${p.message}`;

/** A path into the YAML document: map keys and sequence indexes. */
export type YamlPath = readonly (string | number)[];

/** A parsed scenario text: its plain value, and where each path came from. */
export class ScenarioSource {
  readonly #doc: Document;
  readonly #lines: LineCounter;
  readonly #text: string;
  private constructor(
    readonly file: string,
    text: string,
    doc: Document,
    lines: LineCounter,
    readonly value: unknown,
  ) {
    this.#text = text;
    this.#doc = doc;
    this.#lines = lines;
  }

  /** Parses the text; YAML syntax errors throw a `ScenarioError` with their positions. */
  static parse(file: string, text: string): ScenarioSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0)
      throw new ScenarioError(
        doc.errors.map((e) => {
          const pos = lines.linePos(e.pos[0]);
          return { file, line: pos.line, column: pos.col, message: `YAML: ${e.message.split("\n")[0]}` };
        }),
      );
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // An alias bomb ("Excessive alias count") or an alias to nothing.
      throw new ScenarioError([
        { file, line: 1, column: 1, message: `YAML: ${(e as Error).message.split("\n")[0]}` },
      ]);
    }
    return new ScenarioSource(file, text, doc, lines, value);
  }

  /** The problem `message` at the key (not the value) of the mapping entry at `path`. */
  atKey(path: YamlPath, message: string): ScenarioProblem {
    const parent = path.length === 0 ? undefined : this.#doc.getIn(path.slice(0, -1), true);
    const last = path[path.length - 1];
    if (isMap(parent))
      for (const pair of parent.items)
        if (isScalar(pair.key) && String(pair.key.value) === String(last) && pair.key.range) {
          const pos = this.#lines.linePos(pair.key.range[0]);
          return { file: this.file, line: pos.line, column: pos.col, message };
        }
    return this.at(path, message);
  }

  /** The problem `message` at `path` (the nearest node that exists on the way). */
  at(path: YamlPath, message: string): ScenarioProblem {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? this.#doc.contents : this.#doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range !== undefined && node.range !== null) {
        const pos = this.#lines.linePos(node.range[0]);
        return { file: this.file, line: pos.line, column: pos.col, message };
      }
    }
    return { file: this.file, line: 0, column: 0, message };
  }

  /** A ScenarioError for one problem at `path`. */
  error(path: YamlPath, message: string): ScenarioError {
    return new ScenarioError([this.at(path, message)]);
  }

  /**
   * Where the text of a block scalar (`config: |`) starts: the line of its first content line and
   * the indentation removed from each line (for mapping a keepalived.conf line back to the file).
   */
  blockStart(path: YamlPath): { line: number; indent: number } {
    const node = this.#doc.getIn(path, true);
    if (!isScalar(node) || node.range === undefined || node.range === null) return { line: 0, indent: 0 };
    const start = this.#lines.linePos(node.range[0]);
    const block = node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED";
    if (!block) return { line: start.line, indent: start.col - 1 };
    // The content starts on the line after the indicator; its indentation is that of its first line.
    const content = this.#lines.lineStarts[start.line] ?? 0;
    const text = this.#text.slice(content);
    const indent = /^ */.exec(text)?.[0].length ?? 0;
    return { line: start.line + 1, indent };
  }

  /**
   * Decodes `value` (found at `path`) with `schema`; unknown keys are refused. Every issue becomes
   * a problem at its own path.
   */
  decode<S extends Schema.Top>(schema: S, value: unknown, path: YamlPath): S["Type"] {
    const r = Schema.decodeUnknownResult(schema as never)(value, {
      errors: "all",
      onExcessProperty: "error",
    }) as
      | { _tag: "Success"; success: S["Type"] }
      | { _tag: "Failure"; failure: { issue: SchemaIssue.Issue } };
    if (r._tag === "Success") return r.success;
    const issues = SchemaIssue.makeFormatterStandardSchemaV1()(r.failure.issue).issues;
    const seen = new Set<string>();
    const problems: ScenarioProblem[] = [];
    for (const i of issues) {
      const sub = (i.path ?? []).map((k) => (typeof k === "object" ? k.key : k)) as (string | number)[];
      const last = sub[sub.length - 1];
      const message =
        i.message === "Expected no excess property"
          ? `unknown key '${String(last)}'`
          : i.message === "Missing key"
            ? `missing key '${String(last)}'`
            : `${sub.length > 0 ? `${sub.join(".")}: ` : ""}${i.message}`;
      const where = i.message === "Missing key" ? sub.slice(0, -1) : sub;
      const p = this.at([...path, ...where], message);
      const key = formatProblem(p);
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(p);
      }
    }
    throw new ScenarioError(problems);
  }
}

const UNIT_US: Readonly<Record<string, number>> = {
  us: 1,
  µs: 1,
  ms: 1000,
  s: 1_000_000,
  m: 60_000_000,
  h: 3_600_000_000,
};

/** The longest duration a scenario may name (a virtual year: anything longer is a typo). */
export const MAX_DURATION_US = 366 * 24 * 3_600_000_000;

/** A duration (`10s`, `1.5s`, `250ms`, `2m`, `1h`, `500us`; a bare number is seconds) in µs, or an error. */
export const parseDurationUs = (v: string | number): number | string => {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return `not a duration: ${v}`;
    if (v < 0) return `negative duration ${v}s: times start at 0`;
    const us = Math.round(v * 1_000_000);
    return Number.isSafeInteger(us) && us <= MAX_DURATION_US
      ? us
      : `duration too large: ${v}s (at most 366 days)`;
  }
  const m = /^\s*(-?)(\d+(?:\.\d+)?)\s*(us|\u00b5s|ms|s|m|h)\s*$/.exec(v);
  if (m === null) return `not a duration: '${v}' (write e.g. 10s, 1.5s, 250ms, 2m)`;
  if (m[1] === "-") return `negative duration '${v}': times start at 0`;
  const us = Math.round(Number(m[2]) * (UNIT_US[m[3] as string] ?? 0));
  if (!Number.isSafeInteger(us) || us > MAX_DURATION_US)
    return `duration too large: '${v}' (at most 366 days)`;
  return us;
};

/** A probability (`5%`, `0.5%`, or a number of percent) in parts per million, or an error. */
export const parsePercentPpm = (v: string | number): number | string => {
  const m = typeof v === "number" ? [String(v), String(v)] : /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
  const pct = m === null ? Number.NaN : Number(m[1]);
  if (!Number.isFinite(pct) || pct < 0 || pct > 100)
    return `not a percentage from 0% to 100%: '${String(v)}'`;
  return Math.round(pct * 10_000);
};

/** The duration at `path` in µs; a ScenarioError there when it is not one. */
export const durationAt = (src: ScenarioSource, v: string | number, path: YamlPath): number => {
  const us = parseDurationUs(v);
  if (typeof us === "string") throw src.error(path, us);
  return us;
};
