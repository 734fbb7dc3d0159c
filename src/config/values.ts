/**
 * Keyword tables and value readers shared by every block: the generic block walker (unknown
 * keywords, missing `{`, "parsed but not acted on" warnings), and readers for integers, decimal
 * seconds, booleans, addresses and commands that report keepalived's messages
 * (`number '300' outside range [1, 255]`). Pure.
 */
import { isIP } from "node:net";
import type { Diagnostics, Position } from "./diagnostics.ts";
import { isBrace, type Token, tokenize } from "./lexer.ts";
import { closeOf, type Statement } from "./parser.ts";
import type { Command, Family } from "./types.ts";

export interface Ctx {
  readonly diags: Diagnostics;
  /**
   * The host's online CPUs (`sysconf(_SC_NPROCESSORS_ONLN)`): keepalived checks `*_cpu_affinity`
   * against them, so `keepalived -t` and `vigil check` answer for the host they run on; asked only
   * when a file has one. Unset: not checked.
   */
  readonly onlineCpus?: () => number;
  /**
   * The text of a host file keepalived reads while it parses (`/etc/iproute2/rt_tables` and the
   * other name tables of routes and rules, `/etc/protocols`), undefined when it cannot be read.
   * Unset: no file is read (only keepalived's built-in names are known).
   */
  readonly hostFile?: (path: string) => string | undefined;
}

export interface KeywordSpec<S> {
  /** The keyword needs a `{ … }` block (`optional`: takes one, and says itself what a missing one means). */
  readonly block?: boolean | "optional";
  readonly handle: (ctx: Ctx, st: Statement, state: S) => void;
}
export type KeywordTable<S> = Readonly<Record<string, KeywordSpec<S>>>;

const editDistance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] as number;
};

export function suggest(word: string, options: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 4)) + 1;
  for (const o of options) {
    if (Math.abs(o.length - word.length) >= bestD) continue;
    const d = editDistance(word, o);
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best;
}

/** A `}` the parse tree gave to a block that keepalived had already left (see `walk`). */
interface SurplusClose {
  readonly close: Token;
}
type WalkItem = Statement | SurplusClose;
/**
 * One block being walked: its items, the index being handled, and whether its own `}` was taken
 * by a block keyword written without `{` (then what follows it in the file is still its own).
 */
interface Level {
  readonly q: WalkItem[];
  i: number;
  /** This block's `}` closed a block keyword's lines (so it is not a surplus brace later). */
  ownCloseTaken: boolean;
  /** ...and what follows this block in the file is still this block's: take it from above. */
  needsMore: boolean;
}
/** Per configuration read: the blocks being walked, and what a block that ended early left over. */
const walks = new WeakMap<Ctx, { levels: Level[]; lifted: WalkItem[] | null }>();

/** A statement, not a `}`: the parser keeps a `}` at the top level with no block to close as one. */
const isStatement = (x: WalkItem | undefined): x is Statement =>
  x !== undefined && "keyword" in x && !isBrace(x.keyword, "}");
const closeToken = (x: WalkItem): Token =>
  "close" in x && x.close !== undefined ? x.close : (x as Statement).keyword;

/** Takes `q`'s statements after `from` up to its next surplus `}`, which is taken too (`closed`). */
const takeUntilClose = (q: WalkItem[], from: number): { taken: Statement[]; closed: boolean } => {
  let j = from;
  while (j < q.length && isStatement(q[j])) j++;
  const taken = q.slice(from, j) as Statement[];
  const closed = j < q.length;
  q.splice(from, j - from + (closed ? 1 : 0));
  return { taken, closed };
};

/**
 * Applies each statement to its keyword's handler, as keepalived's `process_stream` reads a block.
 * keepalived does not skip the block of an unknown keyword, or of one that takes none: it reports
 * "Unexpected '{' - ignoring" and reads the block's lines as lines of the current block, so the
 * block's `}` ends the current block, and everything after it in the file belongs one level up
 * (`vrrp_instance { foo { … } virtual_ipaddress { … } }` loses its VIPs to the top level, where
 * they are unknown keywords). A block keyword written without `{` is the other way round: "Missing
 * '{'…", and the lines after it are its block up to the next `}`, which is then no longer the
 * current block's. `walk` does the same on the parse tree: a block it has to flatten is read here
 * and what follows it is handed to the walk one level up (`lifted`), followed by this block's own
 * `}` as a surplus brace (at the top level "Unknown keyword '}'"); a block that lost its `}` takes
 * what follows it from the level above.
 */
export function walk<S>(ctx: Ctx, statements: readonly Statement[], table: KeywordTable<S>, state: S): void {
  let w = walks.get(ctx);
  if (w === undefined) {
    w = { levels: [], lifted: null };
    walks.set(ctx, w);
  }
  const level: Level = { q: [...statements], i: 0, ownCloseTaken: false, needsMore: false };
  w.levels.push(level);
  try {
    walkItems(ctx, w, level, statements, table, state);
  } finally {
    w.levels.pop();
  }
}

function walkItems<S>(
  ctx: Ctx,
  w: { levels: Level[]; lifted: WalkItem[] | null },
  level: Level,
  block: readonly Statement[],
  table: KeywordTable<S>,
  state: S,
): void {
  const q = level.q;
  const depth = w.levels.length;
  // Suggestions cost an edit distance per keyword: computed once per unknown word in this block.
  const suggestions = new Map<string, string | undefined>();
  /** The block's statements are read up to q[i]; the rest belongs to the level above. */
  const endHere = (i: number): void => {
    const close = level.ownCloseTaken ? undefined : closeOf(block);
    w.lifted = [...q.slice(i + 1), ...(close === undefined ? [] : [{ close }])];
  };
  /** keepalived reads the block's lines here, and its `}` ends this level. */
  const flatten = (st: Statement, i: number): void => {
    ctx.diags.warn(st.open ?? st.keyword, "syntax", "Unexpected '{' - ignoring");
    const inner = st.block ?? [];
    q.splice(i + 1, 0, ...inner, ...(st.close === undefined ? [] : [{ close: st.close }]));
  };
  for (let i = 0; ; i++) {
    if (i >= q.length) {
      // this block's `}` closed a block keyword's lines: the level above's next lines are still ours
      const parent = w.levels[depth - 2];
      if (!level.needsMore || parent === undefined) return;
      // up to the level above's next surplus `}`, which closes this block; else its own `}` does
      const { taken, closed } = takeUntilClose(parent.q, parent.i + 1);
      level.needsMore = false;
      if (!closed) {
        parent.ownCloseTaken = true;
        parent.needsMore = true;
      }
      if (taken.length === 0) return;
      q.push(...taken);
    }
    level.i = i;
    const item = q[i] as WalkItem;
    if (!isStatement(item)) {
      if (depth > 1) {
        endHere(i);
        return;
      }
      ctx.diags.warn(closeToken(item), "unknown-keyword", "Unknown keyword '}'");
      continue;
    }
    const st = item;
    if (isBrace(st.keyword, "{")) {
      flatten(st, i);
      continue;
    }
    const spec = Object.hasOwn(table, st.keyword.text) ? table[st.keyword.text] : undefined;
    if (spec === undefined) {
      const word = st.keyword.text;
      const near = suggestions.has(word) ? suggestions.get(word) : suggest(word, Object.keys(table));
      if (suggestions.size < 10_000) suggestions.set(word, near);
      ctx.diags.warn(
        st.keyword,
        "unknown-keyword",
        `Unknown keyword '${st.keyword.text}'`,
        near === undefined ? "the line is skipped" : `did you mean '${near}'?`,
      );
      if (st.block !== null) flatten(st, i);
      continue;
    }
    if (spec.block !== true && spec.block !== "optional" && st.block !== null) {
      spec.handle(ctx, { keyword: st.keyword, args: st.args, block: null }, state);
      flatten(st, i);
      continue;
    }
    let handled = st;
    if (spec.block === true && st.block === null) {
      // keepalived says so when it reads the next line, and reads the lines up to the next `}` as
      // the keyword's block; without one here, this block's own `}` ends them
      const next = q[i + 1];
      ctx.diags.error(
        isStatement(next) ? next.keyword : st.keyword,
        "syntax",
        "Missing '{' at beginning of configuration block",
      );
      const { taken, closed } = takeUntilClose(q, i + 1);
      if (!closed) {
        level.ownCloseTaken = true;
        level.needsMore = true;
      }
      handled = { ...st, block: taken };
    }
    spec.handle(ctx, handled, state);
    // the handler's block ended early: what followed it in that block is read at this level
    const lifted = w.lifted;
    if (lifted !== null) {
      w.lifted = null;
      q.splice(i + 1, 0, ...lifted);
    }
  }
}

/** A keyword Vigil reads but does not act on yet: warns (with the reason) and skips any block. */
export const unsupported = <S>(what: string, block = false): KeywordSpec<S> => ({
  ...(block ? { block: true } : {}),
  handle: (ctx, st) =>
    ctx.diags.warn(
      st.keyword,
      "unsupported",
      `'${st.keyword.text}' is parsed but not acted on by Vigil yet (${what})`,
      block && st.block !== null ? "the block's contents are not used" : undefined,
    ),
});

/**
 * A keyword Vigil reads and partly acts on: `spec` handles it, then the part that is not acted on is
 * warned with the same "parsed but not acted on" text (`what` says which part).
 */
export const partlyUnsupported = <S>(spec: KeywordSpec<S>, what: string): KeywordSpec<S> => ({
  ...spec,
  handle: (ctx, st, s) => {
    spec.handle(ctx, st, s);
    ctx.diags.warn(
      st.keyword,
      "unsupported",
      `'${st.keyword.text}' is parsed but not acted on by Vigil yet (${what})`,
    );
  },
});

/** Block-valued variant of `unsupported`, accepting `keyword … { … }` with or without a block. */
export const unsupportedBlock = <S>(what: string): KeywordSpec<S> => unsupported<S>(what, true);

export const atToken = (t: Token): Position => ({ file: t.file, line: t.line, column: t.column });

/**
 * The first argument, or an error `keyword: missing value` at the keyword. Fatal: keepalived's
 * parser exits on a keyword missing its parameter ("… is missing a parameter after keyword …").
 * `fatal` false for the few keywords keepalived checks itself and skips, and for blocks its VRRP
 * process does not read (virtual_server).
 */
export function arg(ctx: Ctx, st: Statement, index = 0, what = "value", fatal = true): Token | undefined {
  const t = st.args[index];
  if (t === undefined) {
    // lib/parser.c null_strvec's words: the previous word and the (1-based) position of the missing one.
    const after = index === 0 ? st.keyword : st.args[index - 1];
    const message =
      after === undefined
        ? `*** Configuration line starting \`${st.keyword.text}\` is missing a parameter at word position ${index + 2}`
        : `*** Configuration line starting \`${st.keyword.text}\` is missing a parameter after keyword \`${after.text}\` at word position ${index + 2}`;
    (fatal ? ctx.diags.fatal : ctx.diags.error).call(
      ctx.diags,
      st.keyword,
      "value",
      message,
      `missing ${what}`,
    );
  }
  return t;
}

/** The first argument, or keepalived's own (tolerated) message when it is missing. */
export function argOrSkip(ctx: Ctx, st: Statement, message: string): Token | undefined {
  const t = st.args[0];
  if (t === undefined) ctx.diags.error(st.keyword, "value", message);
  return t;
}

/** C's isspace: what strtol / strtoul skip before a number. */
const C_SPACE = /^[ \t\n\v\f\r]*/;

/**
 * strtol / strtoul over a whole word, base 10: leading white space and one sign, then digits. `value`
 * is what the C call returns (0 when no digit was read) and `rest` what it left unread (the whole
 * word when no digit was read; empty for a valid number, and for an empty word).
 */
function cNumber(text: string): { value: bigint; negative: boolean; rest: string } {
  const ws = C_SPACE.exec(text)?.[0].length ?? 0;
  const m = /^([-+]?)(\d+)/.exec(text.slice(ws));
  if (m === null) return { value: 0n, negative: false, rest: text };
  const value = BigInt(m[2] as string);
  return { value: m[1] === "-" ? -value : value, negative: m[1] === "-", rest: text.slice(ws + m[0].length) };
}

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/**
 * `(int)strtol(text)`, what keepalived's read_int leaves in its result whatever it reports: strtol's
 * value (0 when the text starts with no number; saturated at the 64-bit limits) cut to 32 bits.
 */
export const strtolInt = (text: string): number => {
  const v = cNumber(text).value;
  return Number(BigInt.asIntN(32, v < LONG_MIN ? LONG_MIN : v > LONG_MAX ? LONG_MAX : v));
};

const INT32_MIN = -2_147_483_648n;
const INT32_MAX = 2_147_483_647n;
export const UINT32_MAX = 4_294_967_295;

/**
 * keepalived's `read_int` (lib/parser.c read_int_func): an integer in [min, max], with its messages —
 * `invalid number 'X'` (anything after the digits), `number 'X' outside integer range` (beyond 32
 * bits), `number 'X' outside range [min, max]`. Undefined when it would fail under `keepalived -t`.
 * `ignoreError`: the handler reads with keepalived's `ignore_error`; in a file read for the daemon
 * (`Diagnostics.daemon`), the messages then start `WARNING - ` (not `outside range`'s, as in C) and
 * an invalid number whose leading digits are in range is used, as keepalived's daemon uses it
 * (`garp_master_repeat 10x` is 10; `abc` is 0 where 0 is allowed).
 */
export const readInt = (
  ctx: Ctx,
  t: Token,
  min: number,
  max: number,
  ignoreError = false,
): number | undefined => readCInteger(ctx, t, min, max, false, ignoreError);

/**
 * keepalived's `read_unsigned` (read_unsigned_func): `negative number 'X'` for a leading minus, then
 * as `readInt`, with `outside unsigned integer range` beyond 32 bits (and `WARNING - ` on every message
 * of the daemon's `ignoreError` reads).
 */
export const readUnsigned = (
  ctx: Ctx,
  t: Token,
  min: number,
  max: number,
  ignoreError = false,
): number | undefined => readCInteger(ctx, t, min, max, true, ignoreError);

function readCInteger(
  ctx: Ctx,
  t: Token,
  min: number,
  max: number,
  unsigned: boolean,
  ignoreError: boolean,
): number | undefined {
  const lenient = ignoreError && ctx.diags.daemon;
  const warn = lenient ? "WARNING - " : "";
  const { value, rest } = cNumber(t.text);
  if (unsigned && t.text.slice(C_SPACE.exec(t.text)?.[0].length ?? 0).startsWith("-")) {
    ctx.diags.error(t, "range", `${warn}negative number '${t.text}'`);
    return undefined;
  }
  if (rest !== "") {
    ctx.diags.error(
      t,
      "value",
      `${warn}invalid number '${t.text}'`,
      `expected an integer in [${min}, ${max}]`,
    );
    // the daemon keeps what strtol / strtoul read when it is in range (C compares the long value)
    return lenient && value >= BigInt(min) && value <= BigInt(max) ? Number(value) : undefined;
  }
  if (unsigned ? value > BigInt(UINT32_MAX) : value < INT32_MIN || value > INT32_MAX) {
    ctx.diags.error(
      t,
      "range",
      `${warn}number '${t.text}' outside ${unsigned ? "unsigned " : ""}integer range`,
    );
    return undefined;
  }
  const n = Number(value);
  if (n < min || n > max) {
    ctx.diags.error(t, "range", `${unsigned ? warn : ""}number '${t.text}' outside range [${min}, ${max}]`);
    return undefined;
  }
  return n;
}

/** Micro-seconds as keepalived prints a decimal bound: whole seconds, a point, six digits. */
const secondsText = (us: number): string => `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, "0")}`;

/**
 * Decimal seconds to integer microseconds in [minUs, maxUs], as keepalived reads them
 * (read_decimal_unsigned_long_func with six decimal places): `negative number 'X'`; more than six
 * decimals are reported (`has too many decimal places`) and rounded at the sixth, the value still
 * used; `invalid number 'X'` (what was read before the junk still used when in range);
 * `outside unsigned decimal range` past 64 bits; `number 'X' outside range [a.bbbbbb, c.dddddd]`.
 * Undefined when the value is not used: the caller then gives the keyword's own message.
 */
export function readSecondsUs(
  ctx: Ctx,
  t: Token,
  minUs: number,
  maxUs: number,
  /**
   * keepalived's TIMER_MAXIMUM (2^64 - 2 µs), printed like this, when `maxUs` is Vigil's own ceiling
   * (2^53 µs): a value between the two is kept at the ceiling, with a note.
   */
  maxText?: string,
): number | undefined {
  const text = t.text;
  const fmt = (us: number): string => (us === maxUs && maxText !== undefined ? maxText : secondsText(us));
  // every decimal keyword is read with ignore_error: the daemon's messages start `WARNING - `
  const warn = ctx.diags.daemon ? "WARNING - " : "";
  if (text.startsWith("-")) {
    ctx.diags.error(t, "range", `${warn}negative number '${text}'`);
    return undefined;
  }
  const dot = text.indexOf(".");
  const whole = dot < 0 ? text : text.slice(0, dot);
  let frac = dot < 0 ? "" : text.slice(dot + 1);
  let roundUp = false;
  if (frac.length > 6) {
    ctx.diags.error(t, "range", `${warn}number '${text}' has too many decimal places`);
    roundUp = (frac[6] ?? "0") >= "5";
    frac = frac.slice(0, 6);
  }
  // strtoull over the digits with the point taken out and the decimals padded to six.
  const { value, negative, rest } = cNumber(`${whole}${frac.padEnd(6, "0")}`);
  // strtoull takes a minus after white space and wraps the value round 2^64.
  const us = (negative ? 18_446_744_073_709_551_616n + value : value) + (roundUp ? 1n : 0n);
  const limit = maxText !== undefined ? 18_446_744_073_709_551_614n : BigInt(maxUs);
  const inRange = us >= BigInt(minUs) && us <= limit;
  if (rest !== "") {
    // keepalived reads every decimal keyword with ignore_error, which for decimals holds under -t too:
    // what strtoull read before the junk is used when it is in range ("1x" is 1 µs, after the
    // padding), without the keyword's own message.
    ctx.diags.error(t, "value", `${warn}invalid number '${text}'`, "expected seconds, e.g. 1 or 0.5");
    return inRange ? ceiled(ctx, t, us, maxUs) : undefined;
  }
  if (us > 18_446_744_073_709_551_615n) {
    ctx.diags.error(t, "range", `${warn}number '${text}' outside unsigned decimal range`);
    return undefined;
  }
  if (!inRange) {
    ctx.diags.error(t, "range", `${warn}number '${text}' outside range [${fmt(minUs)}, ${fmt(maxUs)}]`);
    return undefined;
  }
  return ceiled(ctx, t, us, maxUs);
}

/** `us` as a number, or Vigil's ceiling with a note when keepalived's range goes past it. */
function ceiled(ctx: Ctx, t: Token, us: bigint, maxUs: number): number {
  if (us <= BigInt(maxUs)) return Number(us);
  ctx.diags.warn(
    t,
    "unsupported",
    `number '${t.text}' is parsed but not acted on by Vigil yet beyond ${secondsText(maxUs)} s (2^53 µs, about 285 years), which it is taken as`,
  );
  return maxUs;
}

/** parser.c check_true_false: exactly true|on|yes or false|off|no (case as written), else undefined. */
export function trueFalse(word: string): boolean | undefined {
  if (word === "true" || word === "on" || word === "yes") return true;
  if (word === "false" || word === "off" || word === "no") return false;
  return undefined;
}

/**
 * A keyword keepalived's handler reads with check_true_false: bare, or true|on|yes, is on;
 * false|off|no is off — exactly as written (`ON` and `True` are refused, as keepalived refuses them).
 * Another word is keepalived's CONFIG_GENERAL_ERROR (`vigil check` exits 1 as `keepalived -t` exits
 * 5; the daemon carries on) worded by `invalid(word, state)`, and the keyword is ignored. `set`
 * receives the value; it may ignore `false` where keepalived's handler does.
 */
export const trueFalseKeyword = <S>(
  set: (s: S, v: boolean) => void,
  invalid: (word: string, s: S) => string,
): KeywordSpec<S> => ({
  handle: (ctx, st, s) => {
    const t = st.args[0];
    const v = t === undefined ? true : trueFalse(t.text);
    if (v !== undefined) set(s, v);
    else if (t !== undefined)
      ctx.diags.error(
        t,
        "value",
        invalid(t.text, s),
        "keepalived takes on|off|true|false|yes|no, as written",
      );
  },
});

/**
 * A word after a keyword whose keepalived handler reads no argument: keepalived is silent, Vigil warns
 * (an `off` that keepalived takes as on is a trap; keepalived-diff.test.ts lists it as Vigil-only).
 * `effect` says what the keyword does anyway.
 */
export function ignoredWord(ctx: Ctx, st: Statement, effect: string): void {
  const t = st.args[0];
  if (t !== undefined)
    ctx.diags.warn(
      t,
      "value",
      `'${st.keyword.text}' takes no value - keepalived ignores '${t.text}' and ${effect}`,
    );
}

/** A keyword keepalived's handler turns on whatever follows it (`vrrp_strict off` is on, `alpha junk` too). */
export const onWhateverFollows = <S>(set: (s: S) => void): KeywordSpec<S> => ({
  handle: (ctx, st, s) => {
    set(s);
    ignoredWord(ctx, st, "turns it on");
  },
});

export function familyOf(address: string): Family | undefined {
  const v = isIP(address);
  return v === 4 ? "ipv4" : v === 6 ? "ipv6" : undefined;
}

/** The first 16 bits of an IPv6 address written in text (0 for `::…`). */
const firstHextet = (a: string): number =>
  a.startsWith("::") ? 0 : Number.parseInt(a.split(":")[0] ?? "0", 16);

/** IN_MULTICAST / IN6_IS_ADDR_MULTICAST of an address known to parse. */
export const isMulticast = (a: string): boolean =>
  familyOf(a) === "ipv4" ? (Number(a.split(".")[0]) & 0xf0) === 0xe0 : firstHextet(a) >> 8 === 0xff;

/** IN6_IS_ADDR_MC_LINKLOCAL: ff02::/16 and the other flag values of scope 2. */
export const isLinkLocalMulticast6 = (a: string): boolean => {
  const h = firstHextet(a);
  return h >> 8 === 0xff && (h & 0x0f) === 0x2;
};

/**
 * A VIP's `ADDRESS[/PREFIX]`, read as vrrp_ipaddress.c parse_ipaddress reads it: the family from a
 * `:` anywhere in the word; the prefix with read_unsigned (`/24x`, `/-1`, `/33`: its message, then
 * `Invalid address prefix len … - using 32`, and the address is kept at /32 or /128; an empty
 * prefix is strtoul's 0, `+8` is 8); then the address itself, whose failure drops the VIP.
 */
export function readIpPrefix(
  ctx: Ctx,
  t: Token,
): { address: string; family: Family; prefixLength: number } | undefined {
  const text = t.text;
  const family: Family = text.includes(":") ? "ipv6" : "ipv4";
  const max = family === "ipv4" ? 32 : 128;
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  let prefixLength = max;
  if (slash >= 0) {
    const len = text.slice(slash + 1);
    const n = readUnsigned(ctx, { ...t, text: len }, 0, max, true);
    if (n === undefined)
      ctx.diags.error(t, "value", `Invalid address prefix len ${len} for address ${text} - using ${max}`);
    else prefixLength = n;
  }
  if (familyOf(address) !== family) {
    ctx.diags.error(
      t,
      "value",
      `VRRP parsed invalid IP ${text}. skipping IP...`,
      "expected ADDRESS[/PREFIX]",
    );
    return undefined;
  }
  return { address, family, prefixLength };
}

/** A plain IP address (no prefix). */
export function readAddress(ctx: Ctx, t: Token, what: string, message?: string): string | undefined {
  if (familyOf(t.text) === undefined) {
    ctx.diags.error(t, "value", message ?? `${what}: invalid IP address '${t.text}'`);
    return undefined;
  }
  return t.text;
}

/** `CMD [USER [GROUP]]`: the first token is the command line, split as keepalived splits scripts. */
export function readCommand(
  ctx: Ctx,
  st: Statement,
  first = 0,
  /**
   * When the keyword's handler checks for the command itself: its (tolerated) message, or null when
   * it says nothing. Otherwise a missing command is keepalived's fatal "missing a parameter".
   */
  missing?: string | null,
  /**
   * The words after the command are a user and group (notify scripts), or are not read at all
   * (`script`, `misc_path`: set_script_params_array reads the first word only).
   */
  owner: "user-group" | "none" = "user-group",
): Command | undefined {
  // keepalived reads a script keyword's line again with quotes and escapes (notify_script_init,
  // set_script_params_array): the words here are that reading's, not the handler's; a quote that
  // reading leaves open makes it fail, and there is no script
  const { words, problem } = rawReading(st);
  if (problem !== undefined) {
    ctx.diags.error(st.keyword, "syntax", problem);
    return undefined;
  }
  if (words[first] === undefined && missing !== undefined) {
    if (missing !== null) ctx.diags.error(st.keyword, "value", missing);
    return undefined;
  }
  const t = arg(ctx, { ...st, args: words }, first, "command");
  if (t === undefined) return undefined;
  // set_script_params_array splits the command word once more; a quote left open there fails it
  const { argv, problem: open } = splitCommand(t.text);
  if (open !== undefined) {
    ctx.diags.error(t, "syntax", `String '${t.text}': ${open}`);
    return undefined;
  }
  if (argv.length === 0) {
    ctx.diags.error(t, "value", `${st.keyword.text}: empty command`);
    return undefined;
  }
  if (owner === "none") return { argv, user: null, group: null };
  return { argv, user: words[first + 1]?.text ?? null, group: words[first + 2]?.text ?? null };
}

const rawArgsMemo = new WeakMap<Statement, { words: Token[]; problem: string | undefined }>();
/**
 * A statement's words after its keyword as keepalived's `alloc_strvec_quoted_escaped` reads the
 * raw line (`"…"` and `'…'` grouped, escapes resolved): what script keywords and `regex` get, with
 * that reading's complaint (`String 'LINE': missing terminating "`) when a quote is left open. A
 * statement without its source line (built by hand) has its own words.
 */
export function rawArgs(st: Statement): Token[] {
  return rawReading(st).words;
}

function rawReading(st: Statement): { words: Token[]; problem: string | undefined } {
  const src = st.source;
  if (src === undefined) return { words: st.args, problem: undefined };
  let r = rawArgsMemo.get(st);
  if (r === undefined) {
    const words: Token[] = [];
    let problem: string | undefined;
    const line = src.text.slice(Math.max(0, st.keyword.column - src.column0));
    for (const t of tokenize(src.text, src.file, src.line, src.column0, (p) => {
      problem ??= `String '${line}': ${p.message}`;
    })) {
      if (t.column <= st.keyword.column) continue;
      if (!t.quoted && (t.text === "{" || t.text === "}")) break;
      words.push(t);
    }
    r = { words, problem };
    rawArgsMemo.set(st, r);
  }
  return r;
}

/**
 * Splits a script command line into argv as keepalived does: the command word (already read once
 * with quotes and escapes, `rawArgs`) goes through the same quoting, escapes (`\xHH`, `\NNN`,
 * `\cX`, `\n`…) and whitespace splitting again (keepalived's alloc_strvec_quoted_escaped on the
 * script string); `problem` is that reading's complaint about a quote it leaves open.
 */
export function splitCommand(text: string): { argv: string[]; problem: string | undefined } {
  let problem: string | undefined;
  const argv = tokenize(
    text,
    "",
    0,
    0,
    (p) => {
      problem ??= p.message;
    },
    false,
  ).map((t) => t.text);
  return { argv, problem };
}

/**
 * A block of values (`virtual_ipaddress`, `track_script`, `unicast_peer`, …): keepalived's
 * `alloc_value_block` reports words between the keyword and its `{`; the block's lines are the
 * values (`blockLines`).
 */
export function valueBlock(ctx: Ctx, st: Statement): Statement[] {
  const extra = st.args[0];
  if (extra !== undefined)
    ctx.diags.warn(
      extra,
      "syntax",
      `Block ${st.keyword.text} has extra parameters ${extra.text} ...`,
      "the words are ignored",
    );
  return blockLines(ctx, st, "values");
}

/**
 * The lines of a block a handler reads itself (values, or keywords without a table walk), with
 * nested blocks as keepalived reads them: a nested `{` is a line of this block — a value `{` of its
 * own (`alloc_value_block` hands it to the value reader) or "Unexpected '{' - ignoring" — its lines
 * are this block's, and its `}` ends this block, so what follows goes to the walk one level up
 * with this block's own `}` as a surplus brace (see `walk`).
 */
export function blockLines(ctx: Ctx, st: Statement, kind: "values" | "keywords"): Statement[] {
  const out: Statement[] = [];
  const q: WalkItem[] = [...(st.block ?? [])];
  for (let i = 0; i < q.length; i++) {
    const item = q[i] as WalkItem;
    if (!isStatement(item)) {
      const w = walks.get(ctx);
      const close = st.block === null ? undefined : closeOf(st.block);
      if (w !== undefined) w.lifted = [...q.slice(i + 1), ...(close === undefined ? [] : [{ close }])];
      break;
    }
    if (item.block === null) {
      out.push(item);
      continue;
    }
    if (!isBrace(item.keyword, "{")) out.push({ keyword: item.keyword, args: item.args, block: null });
    const open = item.open ?? item.keyword;
    if (kind === "values")
      out.push({ keyword: { ...open, text: "{", quoted: false }, args: [], block: null });
    else ctx.diags.warn(open, "syntax", "Unexpected '{' - ignoring");
    q.splice(i + 1, 0, ...item.block, ...(item.close === undefined ? [] : [{ close: item.close }]));
  }
  return out;
}

/** `unsupported` for a block of values: also reports extra words as keepalived does. */
export const unsupportedValueBlock = <S>(what: string): KeywordSpec<S> => {
  const inner = unsupported<S>(what, true);
  return {
    // its block is its values; without one only the words on its line are reported (valueBlock)
    block: "optional",
    handle: (ctx, st, s) => {
      valueBlock(ctx, st);
      inner.handle(ctx, st, s);
    },
  };
};

/**
 * A keyword Vigil does not act on whose keepalived handler reads check_true_false: a word that is
 * not a boolean is keepalived's error (`invalid`), and the keyword is warned as not acted on.
 */
export const unsupportedTrueFalse = <S>(
  what: string,
  invalid: (word: string, s: S) => string,
): KeywordSpec<S> => {
  const check = trueFalseKeyword<S>(() => undefined, invalid);
  const warn = unsupported<S>(what);
  return {
    handle: (c, st, s) => {
      check.handle(c, st, s);
      warn.handle(c, st, s);
    },
  };
};
