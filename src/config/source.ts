/**
 * The keepalived.conf preprocessor: reads the main file and its includes through an injected
 * file-system reader and produces the stream of token lines the parser sees. It implements
 * keepalived's line-level grammar (lib/parser.c): `include` (and `includer|m|w|b|a`) with globs
 * and `{a,b}` braces relative to the including file, `@id` / `@^id` conditional lines,
 * `$NAME=value` macros (multi-line with a trailing `\`) expanded as `$NAME` or `${NAME}`, the
 * built-ins `${_PWD} ${_INSTANCE} ${_RANDOM} ${_HASH} ${_BANG}`, and `~SEQ(...)` / `~LST(...)`
 * line repetition. `${_RANDOM [min [max]]}` draws from a `Prng` seeded with the given seed
 * (loadConfig passes `random_seed` from global_defs) or, when none is given, with the FNV-1a hash
 * of the main file's text, so an unchanged file always expands the same way. Files are bytes,
 * split into lines as keepalived's `read_line` does (bytes.ts); everything generated is charged
 * to one budget before it is expanded (budget.ts). Pure apart from calls on the given `ConfigFs`.
 */
import { FNV1A_SEED, fnv1a, Prng } from "../runtime/prng.ts";
import { Budget, DEFAULT_LIMITS, type PreprocessorLimits } from "./budget.ts";
import { byteLines, isCSpace, leadingBlanks, trimBlanks, UTF8_BOM } from "./bytes.ts";
import type { Diagnostics, Position } from "./diagnostics.ts";
import { expandBraces, globBase, globPaths, hasBrace, hasGlob } from "./glob.ts";
import { decomment, type Token, tokenizeLine } from "./lexer.ts";
import { findClose, parseRepeat } from "./repeat.ts";

/** Why a file could not be read: "not found", "is a directory", "permission denied", … */
export interface ReadFailure {
  readonly error: string;
}

/** A file read a piece at a time: each call of `chunks` reads it again from the start. */
export interface FileChunks {
  readonly chunks: () => Iterable<string>;
}

/**
 * The file-system view the front end needs; tests inject an in-memory one. File text is a byte
 * string, one char per byte ("latin1"), as keepalived reads bytes; a char above 0xFF (in-memory
 * text only) is taken as it is.
 */
export interface ConfigFs {
  /** The file's bytes, whole or in chunks; a failure or undefined if it cannot be read. */
  readonly readFile: (path: string) => string | FileChunks | ReadFailure | undefined;
  /** Entry names of a directory, or undefined if it is not one. */
  readonly listDir: (path: string) => readonly string[] | undefined;
}

export interface SourceLine {
  readonly tokens: readonly Token[];
  readonly file: string;
  readonly line: number;
  /** The comment-free text the tokens came from, and the column of its first character. */
  readonly text: string;
  readonly column0: number;
}

interface Frame {
  readonly file: string;
  readonly dir: string;
  readonly line: number;
}

const MAX_INCLUDE_DEPTH = 32;
/** Nesting of macro expansions and ~SEQ/~LST within one line. */
const MAX_MACRO_DEPTH = 20;
/** Cap on one macro-expanded line, and on one macro definition. */
const MAX_EXPANDED_CHARS = 1_000_000;

const chunksOf = (source: string | FileChunks): Iterable<string> =>
  typeof source === "string" ? [source] : source.chunks();

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
  /** The main file, hashed into the seed on first use of `${_RANDOM}` if none was given. */
  private mainSource: string | FileChunks | undefined;
  /** True once `${_RANDOM}` has been expanded (loadConfig then re-reads if random_seed is set). */
  usedRandom = false;
  private readonly budget: Budget;
  /** Set once `limits.tokenLines` lines are kept. */
  private full = false;
  private includeDepth = 0;
  private filesRead = 0;

  constructor(
    private readonly fs: ConfigFs,
    private readonly diags: Diagnostics,
    private readonly configId: string,
    private readonly instanceName: string,
    randomSeed?: number,
    limits: PreprocessorLimits = DEFAULT_LIMITS,
  ) {
    this.budget = new Budget(limits);
    if (randomSeed !== undefined) this.prng = new Prng(randomSeed);
  }

  /** The seed `${_RANDOM}` uses when none is given: FNV-1a (32-bit) of the main file's text. */
  static textSeed(text: string | Iterable<string>): number {
    let h = FNV1A_SEED;
    for (const chunk of typeof text === "string" ? [text] : text) h = fnv1a(h, chunk);
    return h;
  }

  /** Reads one file; `at` is the include line (undefined for the main file). */
  readFile(path: string, at?: Position, mustExist = true): boolean {
    const where = at ?? { file: path, line: 0, column: 0 };
    const source = this.fs.readFile(path);
    if (source === undefined || (typeof source !== "string" && "error" in source)) {
      const why = source?.error ?? "not found or not readable";
      const hint = /directory|regular/.test(why) ? "keepalived skips it too" : undefined;
      if (mustExist) this.diags.error(where, "io", `Config file '${path}' ${why}`, hint);
      else this.diags.warn(where, "io", `Config file '${path}' ${why}`, hint);
      return false;
    }
    if (this.includeDepth >= MAX_INCLUDE_DEPTH || this.filesRead >= this.budget.limits.files) {
      const why =
        this.filesRead >= this.budget.limits.files
          ? `more than ${this.budget.limits.files} files read`
          : "include nesting too deep";
      // fatal: Vigil stops reading, so the rest of the configuration would be missing
      this.diags.fatal(where, "io", `${why} at '${path}' (include loop?)`);
      return false;
    }
    this.filesRead++;
    this.mainSource ??= source;
    this.includeDepth++;
    try {
      this.readText(this.counted(chunksOf(source), path), path);
    } finally {
      this.includeDepth--;
    }
    return true;
  }

  /** Passes chunks on while the bytes read stay within the budget. */
  private *counted(chunks: Iterable<string>, file: string): Generator<string> {
    for (const chunk of chunks) {
      const over = this.budget.read(chunk.length, file);
      if (over !== undefined) {
        this.diags.fatal({ file, line: 0, column: 0 }, "io", over);
        return;
      }
      yield chunk;
    }
  }

  private readText(chunks: Iterable<string>, file: string): void {
    const dir = dirname(file);
    let pending: { name: string; parts: string[]; size: number } | undefined;
    for (const piece of byteLines(chunks)) {
      if (this.full) return; // over the cap: the configuration is already in error
      const frame: Frame = { file, dir, line: piece.line };
      const raw = piece.text;
      if (piece.line === 1 && piece.column0 === 1 && (raw.startsWith(UTF8_BOM) || raw.startsWith("\ufeff")))
        this.diags.warn(
          { file, line: 1, column: 1 },
          "syntax",
          "UTF-8 byte-order mark (bytes \\xef\\xbb\\xbf) at the start of the file: keepalived reads it as part of the first keyword",
          "save the file without a BOM; keepalived reports the first keyword as unknown and skips its block",
        );
      if (piece.nulColumn !== undefined && decomment(raw) === raw)
        this.diags.warn(
          { file, line: piece.line, column: piece.nulColumn },
          "syntax",
          "NUL byte (\\x00) in the line: the rest of the line is ignored, as keepalived does",
        );
      if (piece.column0 === 1024)
        this.diags.warn(
          { file, line: piece.line, column: piece.column0 },
          "syntax",
          "Line longer than 1023 bytes: keepalived reads it in pieces of 1023 bytes, each taken as a line of its own",
        );
      const trimmed = trimBlanks(raw);
      if (pending !== undefined) {
        const part = trimmed.endsWith("\\") ? trimmed.slice(0, -1).trimEnd() : trimmed;
        pending.size += part.length + 1;
        if (pending.size <= MAX_EXPANDED_CHARS) pending.parts.push(part);
        if (!trimmed.endsWith("\\")) {
          this.defineMultiline(pending, frame);
          pending = undefined;
        }
        continue;
      }
      if (trimmed === "" || trimmed[0] === "#" || trimmed[0] === "!") continue;
      const column0 = piece.column0 + leadingBlanks(raw);
      const def = trimmed[0] === "$" ? /^\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(trimmed) : null;
      if (def !== null && def[2]?.endsWith("\\") === true) {
        const first = def[2].slice(0, -1).trimEnd();
        pending = { name: def[1] ?? "", parts: [first], size: first.length };
        continue;
      }
      this.logical(trimmed, frame, column0, 0);
    }
    if (pending !== undefined) this.defineMultiline(pending, { file, dir, line: 0 });
  }

  private defineMultiline(pending: { name: string; parts: string[]; size: number }, frame: Frame): void {
    if (pending.size > MAX_EXPANDED_CHARS) {
      this.diags.error(
        { file: frame.file, line: frame.line, column: 0 },
        "range",
        `Macro '${pending.name}' is longer than ${MAX_EXPANDED_CHARS} characters - not defined`,
      );
      return;
    }
    this.macros.set(pending.name, pending.parts.join("\n"));
  }

  /** `include` / `includer|m|w|b|a` (keepalived's is_include): the keyword, then C whitespace. */
  private includeKeyword(body: string): string | undefined {
    if (!body.startsWith("include")) return undefined;
    if (isCSpace(body[7])) return "include";
    if (body[7] !== undefined && "rmwba".includes(body[7]) && isCSpace(body[8])) return body.slice(0, 8);
    return undefined;
  }

  private include(keyword: string, rest: string, frame: Frame, column0: number): void {
    const at = { file: frame.file, line: frame.line, column: column0 };
    // check_include: the rest of the line is one glob pattern, spaces and all
    const pattern = trimBlanks(decomment(rest));
    if (pattern === "") {
      this.diags.error(at, "syntax", `No file specified for ${keyword}`);
      return;
    }
    const word: Token = {
      text: pattern,
      file: frame.file,
      line: frame.line,
      column: column0 + keyword.length + 1,
      quoted: false,
    };
    // keepalived's include_t: r read errors, m missing names, w wildcards matching nothing,
    // b brace patterns with names missing are errors; includem is r+m, includew r+m+w, includeb
    // r+b, includea all four, includer r, include none
    const flags =
      { "": "", r: "r", m: "rm", w: "rmw", b: "rb", a: "rmwb" }[keyword.slice("include".length)] ?? "";
    const fails = (flag: "r" | "m" | "w" | "b"): boolean => flags.includes(flag);
    const report = (error: boolean, message: string): void =>
      error ? this.diags.error(word, "io", message) : this.diags.warn(word, "io", message);
    // open_and_check_glob: glob(GLOB_BRACE) with lstat / opendir hooks counting the names and the
    // directories that are not there
    const files: string[] = [];
    let missing = 0;
    let wildcards = false;
    for (const candidate of expandBraces(joinPath(frame.dir, pattern))) {
      if (!hasGlob(candidate)) {
        if (this.exists(candidate)) files.push(candidate);
        else missing++;
        continue;
      }
      wildcards = true;
      const found = globPaths(candidate, this.fs);
      if (found.length === 0 && this.fs.listDir(globBase(candidate)) === undefined) missing++;
      files.push(...found);
    }
    if (files.length === 0) {
      if (missing > 0) report(fails(hasBrace(pattern) ? "b" : "m"), `Config files missing '${pattern}'.`);
      else if (wildcards && fails("w")) report(true, `No config files matched '${pattern}'.`);
      return;
    }
    if (missing > 0) {
      report(fails("b"), `Some config files missing: "${pattern}".`);
      if (fails("b")) return;
    }
    for (const f of files) this.readFile(f, word, fails("r"));
  }

  /** The name is there (lstat would find it), whether or not it can be read. */
  private exists(path: string): boolean {
    const r = this.fs.readFile(path);
    return r !== undefined && !(typeof r !== "string" && "error" in r && r.error === "not found");
  }

  /** Charges `lines` generated lines of `bytes` bytes; false (with an error) if over budget. */
  private charge(lines: number, bytes: number, at: Position, what: string): boolean {
    if (this.budget.exhausted) return false;
    const over = this.budget.generate(lines, bytes, what);
    if (over !== undefined) this.stop(at, over);
    return over === undefined;
  }

  private stop(at: Position, message: string): void {
    this.budget.exhausted = true;
    this.diags.fatal(at, "range", message, "~SEQ/~LST nested too deep, or a macro that refers to itself?");
  }

  /** One logical line: conditionals, definitions, ~SEQ/~LST, macro use, include, then tokens. */
  private logical(text: string, frame: Frame, column0: number, depth: number): void {
    let body = text;
    let col = column0;
    if (body.startsWith("@")) {
      // keepalived: the id runs to the first space or tab; with nothing after it the line goes.
      const ofs = body[1] === "^" ? 2 : 1;
      let end = ofs;
      while (end < body.length && body[end] !== " " && body[end] !== "\t") end++;
      if (end >= body.length) return;
      if ((body.slice(ofs, end) === this.configId) === (ofs === 2)) return;
      const skip = end + leadingBlanks(body.slice(end));
      col += skip;
      body = body.slice(skip);
      if (body === "") return;
    }
    const def = body.startsWith("$") ? /^\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(body) : null;
    if (def !== null) {
      this.macros.set(def[1] ?? "", trimBlanks(decomment(def[2] ?? "")));
      return;
    }
    if (body.startsWith("~") && /^~(SEQx?|LST)\(/.test(body)) {
      this.repeat(body, frame, col, depth);
      return;
    }
    const at = { file: frame.file, line: frame.line, column: col };
    const clean = decomment(body);
    if (clean.includes("$")) {
      if (this.budget.exhausted) return;
      if (depth >= MAX_MACRO_DEPTH) {
        this.stop(at, "Macro expansion too deep (recursive definition?)");
        return;
      }
      const expanded = this.substitute(clean, frame, at);
      if (expanded === undefined) return;
      if (expanded !== clean) {
        const pieces = expanded.split("\n");
        if (!this.charge(pieces.length, expanded.length, at, "Macro expansion")) return;
        for (const piece of pieces) {
          const t = trimBlanks(piece);
          if (t !== "" && !this.budget.exhausted) this.logical(t, frame, col, depth + 1);
        }
        return;
      }
    }
    const inc = this.includeKeyword(clean);
    if (inc !== undefined) {
      const rest = clean.slice(inc.length + 1);
      this.include(inc, trimBlanks(rest), frame, col + inc.length + 1 + leadingBlanks(rest));
      return;
    }
    const tokens = tokenizeLine(clean, frame.file, frame.line, col, (p) =>
      this.diags.warn({ file: frame.file, line: frame.line, column: p.column }, "syntax", p.message),
    );
    if (tokens.length === 0) return;
    const bytes = tokens.reduce((sum, t) => sum + t.text.length, 0);
    const over = this.full ? "" : this.budget.keep(tokens.length, bytes);
    if (over !== undefined) {
      if (!this.full) this.diags.fatal(at, "range", over);
      this.full = true;
      return;
    }
    this.lines.push({ tokens, file: frame.file, line: frame.line, text: clean, column0: col });
  }

  /** Expands `$NAME` / `${NAME args}` once; undefined (with an error) if it would be too long. */
  private substitute(text: string, frame: Frame, at: Position): string | undefined {
    const re = /\$\{([A-Za-z_][A-Za-z0-9_]*)((?:[ \t][^}]*)?)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=[\s]|$)/g;
    let out = "";
    let last = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const name = m[1] ?? m[3] ?? "";
      const value = this.macros.get(name) ?? this.builtin(name, trimBlanks(m[2] ?? ""), frame);
      if (value === undefined)
        this.diags.warn(
          { file: frame.file, line: frame.line, column: 0 },
          "syntax",
          `Macro '${name}' is not defined - left as is`,
          `define it with $${name}=value before this line`,
        );
      const piece = text.slice(last, m.index) + (value ?? m[0]);
      if (out.length + piece.length > MAX_EXPANDED_CHARS) {
        this.diags.error(at, "syntax", `Macro expansion longer than ${MAX_EXPANDED_CHARS} characters`);
        return undefined;
      }
      out += piece;
      last = m.index + m[0].length;
    }
    return out + text.slice(last);
  }

  private builtin(name: string, args: string, frame: Frame): string | undefined {
    switch (name) {
      case "_PWD":
        return frame.dir;
      case "_INSTANCE":
        return this.instanceName;
      case "_HASH":
        return "#";
      case "_BANG":
        return "!";
      case "_RANDOM": {
        const [lo, hi] = args
          .split(/[ \t]+/)
          .filter((s) => s !== "")
          .map(Number);
        const min = lo !== undefined && Number.isSafeInteger(lo) ? lo : 0;
        const max = hi !== undefined && Number.isSafeInteger(hi) ? hi : 32767;
        const ok = max >= min && max - min < 0xffff_ffff;
        this.usedRandom = true;
        const main = this.mainSource;
        this.prng ??= new Prng(Preprocessor.textSeed(main === undefined ? "" : chunksOf(main)));
        return ok ? String(this.prng.int(min, max)) : String(min);
      }
      default:
        return undefined;
    }
  }

  /** `~SEQ(var,start,step,end) rest`, `~SEQx(...)`, `~LST(var,v1,v2…)`, `~LST({a,b},{1,2}…)`. */
  private repeat(text: string, frame: Frame, column0: number, depth: number): void {
    const at = { file: frame.file, line: frame.line, column: column0 };
    if (this.budget.exhausted) return;
    if (depth >= MAX_MACRO_DEPTH) {
      this.stop(at, `~SEQ/~LST nested more than ${MAX_MACRO_DEPTH} deep`);
      return;
    }
    const open = text.indexOf("(");
    const close = findClose(text, open);
    if (close < 0) {
      this.diags.error(at, "syntax", `Missing ')' in '${text.slice(0, 40)}'`);
      return;
    }
    const kind = text.slice(1, open);
    const inner = this.substitute(text.slice(open + 1, close), frame, at);
    if (inner === undefined) return;
    const rest = trimBlanks(text.slice(close + 1));
    const gen = parseRepeat(kind, inner);
    if (typeof gen === "string") {
      this.diags.error(at, "syntax", gen);
      return;
    }
    if (rest === "") {
      for (const [n, v] of gen.binding(gen.count - 1)) this.macros.set(n, v);
      return;
    }
    if (!this.charge(gen.count, gen.count * rest.length, at, `~${kind} of ${gen.count} lines`)) return;
    const restColumn = column0 + text.length - rest.length;
    for (let k = 0; k < gen.count && !this.budget.exhausted; k++) {
      for (const [n, v] of gen.binding(k)) this.macros.set(n, v);
      this.logical(rest, frame, restColumn, depth + 1);
    }
  }
}
