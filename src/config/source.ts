/**
 * The keepalived.conf preprocessor: reads the main file and its includes through an injected
 * file-system reader and produces the stream of token lines the parser sees. It implements
 * keepalived's line-level grammar (lib/parser.c): `include` (and `includer|m|w|b|a`) with globs
 * and `{a,b}` braces relative to the including file, `@id` / `@^id` conditional lines,
 * `$NAME=value` macros (multi-line with a trailing `\`) expanded as `$NAME` or `${NAME}`, the
 * built-ins `${_PWD} ${_INSTANCE} ${_RANDOM} ${_HASH} ${_BANG}`, and `~SEQ(...)` / `~LST(...)`
 * line repetition. `${_RANDOM [min [max]]}` draws from a `Prng` seeded with the given seed
 * (loadConfig passes `random_seed` from global_defs) or, when none is given, with the FNV-1a hash
 * of the main file's text, so an unchanged file always expands the same way.
 * Pure apart from calls on the given `ConfigFs`.
 */
import { Prng } from "../runtime/prng.ts";
import type { Diagnostics, Position } from "./diagnostics.ts";
import { expandBraces, globToRegExp, hasGlob } from "./glob.ts";
import { decomment, type Token, tokenize } from "./lexer.ts";

/** The file-system view the front end needs; tests inject an in-memory one. */
export interface ConfigFs {
  /** The file's text, or undefined if it does not exist or cannot be read. */
  readonly readFile: (path: string) => string | undefined;
  /** Entry names of a directory, or undefined if it is not one. */
  readonly listDir: (path: string) => readonly string[] | undefined;
}

export interface SourceLine {
  readonly tokens: readonly Token[];
  readonly file: string;
  readonly line: number;
}

interface Frame {
  readonly file: string;
  readonly dir: string;
  readonly line: number;
}

const MAX_INCLUDE_DEPTH = 32;
const MAX_MACRO_DEPTH = 20;
/** Cap on lines produced by ~SEQ/~LST, so a typo cannot exhaust memory. */
const MAX_GENERATED_LINES = 2_000_000;
/** Cap on files read (includes can fan out) and on one macro-expanded line. */
const MAX_FILES = 1000;
const MAX_EXPANDED_CHARS = 1_000_000;

const dirname = (path: string): string => {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
};
const joinPath = (dir: string, name: string): string =>
  name.startsWith("/") ? name : dir === "." ? name : `${dir.replace(/\/$/, "")}/${name}`;

export class Preprocessor {
  readonly lines: SourceLine[] = [];
  private readonly macros = new Map<string, string>();
  private prng: Prng | undefined;
  /** The main file's text, hashed into the seed on first use of `${_RANDOM}` if none was given. */
  private mainText: string | undefined;
  /** True once `${_RANDOM}` has been expanded (loadConfig then re-reads if random_seed is set). */
  usedRandom = false;
  private generated = 0;
  private includeDepth = 0;
  private filesRead = 0;

  constructor(
    private readonly fs: ConfigFs,
    private readonly diags: Diagnostics,
    private readonly configId: string,
    private readonly instanceName: string,
    randomSeed?: number,
  ) {
    if (randomSeed !== undefined) this.prng = new Prng(randomSeed);
  }

  /** The seed `${_RANDOM}` uses when none is given: FNV-1a (32-bit) of the main file's text. */
  static textSeed(text: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    return h;
  }

  /** Reads one file; `at` is the include line (undefined for the main file). */
  readFile(path: string, at?: Position, mustExist = true): boolean {
    const text = this.fs.readFile(path);
    if (text === undefined) {
      const where = at ?? { file: path, line: 0, column: 0 };
      if (mustExist) this.diags.error(where, "io", `Config file '${path}' not found or not readable`);
      else this.diags.warn(where, "io", `Config file '${path}' not found or not readable`);
      return false;
    }
    if (this.includeDepth >= MAX_INCLUDE_DEPTH || this.filesRead >= MAX_FILES) {
      const why =
        this.filesRead >= MAX_FILES ? `more than ${MAX_FILES} files read` : "include nesting too deep";
      this.diags.error(at ?? { file: path, line: 0, column: 0 }, "io", `${why} at '${path}' (include loop?)`);
      return false;
    }
    this.filesRead++;
    this.mainText ??= text;
    this.includeDepth++;
    try {
      this.readText(text, path);
    } finally {
      this.includeDepth--;
    }
    return true;
  }

  private readText(text: string, file: string): void {
    const physical = text.split("\n");
    const dir = dirname(file);
    let pending: { name: string; parts: string[]; frame: Frame } | undefined;
    for (let i = 0; i < physical.length; i++) {
      const raw = physical[i] as string; // a trailing \r goes with trim()
      const trimmed = raw.trim();
      const frame: Frame = { file, dir, line: i + 1 };
      if (pending !== undefined) {
        if (trimmed.endsWith("\\")) pending.parts.push(trimmed.slice(0, -1).trimEnd());
        else {
          pending.parts.push(trimmed);
          this.macros.set(pending.name, pending.parts.join("\n"));
          pending = undefined;
        }
        continue;
      }
      if (trimmed === "") continue;
      const column0 = raw.length - raw.trimStart().length + 1;
      const inc = trimmed.startsWith("include") ? /^(include[rmwba]*)\s+(.*)$/.exec(trimmed) : null;
      if (inc !== null) {
        this.include(inc[1] as string, inc[2] as string, frame, column0);
        continue;
      }
      const def = trimmed.startsWith("$") ? /^\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed) : null;
      if (def !== null && (def[2] as string).endsWith("\\")) {
        pending = { name: def[1] as string, parts: [(def[2] as string).slice(0, -1).trimEnd()], frame };
        continue;
      }
      this.logical(trimmed, frame, column0, 0);
    }
    if (pending !== undefined) this.macros.set(pending.name, pending.parts.join("\n"));
  }

  private include(keyword: string, rest: string, frame: Frame, column0: number): void {
    const at = { file: frame.file, line: frame.line, column: column0 };
    const words = tokenize(
      decomment(rest),
      frame.file,
      frame.line,
      column0 + keyword.length + 1,
      undefined,
      false,
    );
    if (words.length === 0) {
      this.diags.error(at, "syntax", `No file specified for ${keyword}`);
      return;
    }
    const flags = keyword.slice("include".length);
    const strict = flags.length > 0;
    for (const word of words) {
      const pattern = joinPath(frame.dir, word.text);
      const candidates = expandBraces(pattern);
      const files: string[] = [];
      for (const candidate of candidates) {
        if (hasGlob(candidate)) files.push(...this.glob(candidate));
        else files.push(candidate);
      }
      if (files.length === 0) {
        if (strict) this.diags.error(word, "io", `No config files matched '${word.text}'`);
        else this.diags.warn(word, "io", `No config files matched '${word.text}'`);
        continue;
      }
      for (const f of files) this.readFile(f, word, strict);
    }
  }

  /** Expands `*`, `?` and `[...]` path segment by segment, sorted like glob(3). */
  private glob(pattern: string): string[] {
    const absolute = pattern.startsWith("/");
    const segments = pattern.split("/").filter((s) => s !== "");
    let paths = [absolute ? "/" : "."];
    for (const [index, segment] of segments.entries()) {
      const last = index === segments.length - 1;
      const next: string[] = [];
      for (const base of paths) {
        if (!hasGlob(segment)) {
          next.push(joinPath(base, segment));
          continue;
        }
        const re = globToRegExp(segment);
        const entries = this.fs.listDir(base) ?? [];
        for (const e of [...entries].sort()) {
          if (e.startsWith(".") && !segment.startsWith(".")) continue;
          if (re.test(e)) next.push(joinPath(base, e));
        }
      }
      paths = last ? next : next.filter((p) => this.fs.listDir(p) !== undefined);
    }
    return paths.filter((p) => this.fs.readFile(p) !== undefined || this.fs.listDir(p) === undefined);
  }

  /** One logical line: conditionals, definitions, ~SEQ/~LST, macro use, then tokens. */
  private logical(text: string, frame: Frame, column0: number, depth: number): void {
    let body = text;
    let col = column0;
    if (body.startsWith("@")) {
      const m = /^@(\^?)(\S*)\s*(.*)$/.exec(body) as RegExpExecArray;
      const negate = m[1] === "^";
      const matches = m[2] === this.configId;
      if (matches === negate) return;
      const rest = m[3] as string;
      col += body.length - rest.length;
      body = rest;
      if (body === "") return;
    }
    const def = body.startsWith("$") ? /^\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(body) : null;
    if (def !== null) {
      this.macros.set(def[1] as string, decomment(def[2] as string).trim());
      return;
    }
    if (body.startsWith("~") && /^~(SEQx?|LST)\(/.test(body)) {
      this.repeat(body, frame, col, depth);
      return;
    }
    const clean = decomment(body);
    if (clean.includes("$") && depth < MAX_MACRO_DEPTH) {
      const expanded = this.substitute(clean, frame);
      if (expanded.length > MAX_EXPANDED_CHARS) {
        this.diags.error(
          { file: frame.file, line: frame.line, column: col },
          "syntax",
          `Macro expansion longer than ${MAX_EXPANDED_CHARS} characters`,
        );
        return;
      }
      if (expanded !== clean) {
        for (const piece of expanded.split("\n")) {
          const t = piece.trim();
          if (t !== "") this.logical(t, frame, col, depth + 1);
        }
        return;
      }
    } else if (clean.includes("$") && depth >= MAX_MACRO_DEPTH) {
      this.diags.error(
        { file: frame.file, line: frame.line, column: col },
        "syntax",
        "Macro expansion too deep (recursive definition?)",
      );
      return;
    }
    const tokens = tokenize(clean, frame.file, frame.line, col, (p) =>
      this.diags.warn({ file: frame.file, line: frame.line, column: p.column }, "syntax", p.message),
    );
    if (tokens.length > 0) this.lines.push({ tokens, file: frame.file, line: frame.line });
  }

  private substitute(text: string, frame: Frame): string {
    return text.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)((?:[ \t][^}]*)?)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=[\s]|$)/g,
      (whole, braced: string | undefined, args: string | undefined, bare: string | undefined) => {
        const name = braced ?? bare ?? "";
        const value = this.macros.get(name) ?? this.builtin(name, (args ?? "").trim(), frame);
        if (value === undefined)
          this.diags.warn(
            { file: frame.file, line: frame.line, column: 0 },
            "syntax",
            `Macro '${name}' is not defined - left as is`,
            `define it with $${name}=value before this line`,
          );
        return value ?? whole;
      },
    );
  }

  private builtin(name: string, args: string, frame: Frame): string | undefined {
    switch (name) {
      case "_PWD":
        return frame.dir;
      case "_INSTANCE":
        return this.instanceName;
      case "_HASH":
        return "\\#";
      case "_BANG":
        return "\\!";
      case "_RANDOM": {
        const [lo, hi] = args
          .split(/\s+/)
          .filter((s) => s !== "")
          .map(Number);
        const min = lo !== undefined && Number.isSafeInteger(lo) ? lo : 0;
        const max = hi !== undefined && Number.isSafeInteger(hi) ? hi : 32767;
        const ok = max >= min && max - min < 0xffff_ffff;
        this.usedRandom = true;
        this.prng ??= new Prng(Preprocessor.textSeed(this.mainText ?? ""));
        return ok ? String(this.prng.int(min, max)) : String(min);
      }
      default:
        return undefined;
    }
  }

  /** `~SEQ(var,start,step,end) rest`, `~SEQx(...)`, `~LST(var,v1,v2…)`, `~LST({a,b},{1,2}…)`. */
  private repeat(text: string, frame: Frame, column0: number, depth: number): void {
    const at = { file: frame.file, line: frame.line, column: column0 };
    const close = findClose(text, text.indexOf("("));
    if (close < 0) {
      this.diags.error(at, "syntax", `Missing ')' in '${text.slice(0, 40)}'`);
      return;
    }
    const kind = text.slice(1, text.indexOf("("));
    const inner = this.substitute(text.slice(text.indexOf("(") + 1, close), frame);
    const rest = text.slice(close + 1).trim();
    const args = splitTop(inner).map((s) => s.trim());
    const bindings: Array<Array<[string, string]>> = [];
    if (kind === "LST") {
      const [vars, ...values] = args;
      if (vars === undefined || values.length === 0) {
        this.diags.error(at, "syntax", `~LST needs a variable and at least one value`);
        return;
      }
      const names = unbrace(vars);
      for (const v of values) {
        const vs = unbrace(v);
        bindings.push(names.map((n, i) => [n, vs[i] ?? ""] as [string, string]));
      }
    } else {
      const [name, ...nums] = args;
      const values = nums.map((s) => Number(s));
      if (name === undefined || values.length === 0 || values.length > 3 || !values.every(Number.isInteger)) {
        this.diags.error(at, "syntax", `Invalid ~${kind} parameters '${inner}'`);
        return;
      }
      const end = values[values.length - 1] as number;
      const start = values.length >= 2 ? (values[0] as number) : 1;
      const step = values.length === 3 ? (values[1] as number) : end >= start ? 1 : -1;
      if (step === 0 || (step > 0 && end < start) || (step < 0 && end > start)) {
        this.diags.error(at, "syntax", `Invalid ~${kind} parameters '${inner}'`);
        return;
      }
      const count = Math.floor((end - start) / step) + 1;
      if (this.generated + count > MAX_GENERATED_LINES) {
        this.diags.error(
          at,
          "range",
          `~${kind} would generate ${count} lines (limit ${MAX_GENERATED_LINES})`,
        );
        return;
      }
      for (let v = start; step > 0 ? v <= end : v >= end; v += step)
        bindings.push([[name, kind === "SEQx" ? v.toString(16) : String(v)]]);
    }
    this.generated += bindings.length;
    for (const b of bindings) {
      for (const [n, v] of b) this.macros.set(n, v);
      if (rest !== "") this.logical(rest, frame, column0 + text.length - rest.length, depth + 1);
    }
  }
}

function findClose(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")" && --depth === 0) return i;
  }
  return -1;
}

/** Splits at commas that are not inside `{…}`. */
function splitTop(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const c of text) {
    if (c === "{") depth++;
    else if (c === "}") depth--;
    if (c === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const unbrace = (s: string): string[] =>
  s.startsWith("{") && s.endsWith("}")
    ? s
        .slice(1, -1)
        .split(",")
        .map((x) => x.trim())
    : [s];
