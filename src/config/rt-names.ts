/**
 * The names keepalived 2.2.7 looks up while it reads `virtual_routes` and `virtual_rules`
 * (lib/rttables.c): routing tables, protocols, scopes, DS fields, realms and device groups, each
 * from its file under /etc/iproute2/ (never the `.d` directories) with keepalived's built-in names
 * added for the ids the file leaves out, plus the route types. A word that is a whole number for
 * C's `strtoul` in base 0 (so `0x10` and `010` too) is taken as an id up to the table's maximum
 * without a look-up. The files are read through `Ctx.hostFile` once per configuration read; without
 * a reader only the built-in names are known. Also the C number readers these look-ups and the
 * route and rule options need (`strtoul`, `sscanf("%u-%u")`). Pure.
 */
import type { Diagnostics } from "./diagnostics.ts";
import type { Ctx } from "./values.ts";

/** C's isspace, what strtoul and sscanf skip and keepalived's WHITE_SPACE. */
const isCSpace = (c: string | undefined): boolean =>
  c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";

const digitValue = (c: string | undefined): number => {
  if (c === undefined) return 99;
  const code = c.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 122) return code - 87;
  if (code >= 65 && code <= 90) return code - 55;
  return 99;
};

export const ULONG_MAX = 2n ** 64n - 1n;

/**
 * C's `strtoul(text, &end, base)` on a 64-bit host: white space, one sign, a `0x` prefix (base 0 or
 * 16) or a leading 0 (octal, base 0), then digits. `value` is what C returns (a minus negates it
 * modulo 2^64; past 2^64 - 1 it is ULONG_MAX and `overflow` is set), `end` the index of the first
 * character not read (0 when no digit was read, as C leaves `end` at the start).
 */
export function strtoul(
  text: string,
  base: 0 | 8 | 10 | 16,
): { value: bigint; end: number; overflow: boolean } {
  let i = 0;
  while (isCSpace(text[i])) i++;
  let negative = false;
  if (text[i] === "+" || text[i] === "-") {
    negative = text[i] === "-";
    i++;
  }
  let b: number = base;
  if ((b === 0 || b === 16) && text[i] === "0" && (text[i + 1] === "x" || text[i + 1] === "X")) {
    if (digitValue(text[i + 2]) < 16) {
      i += 2;
      b = 16;
    }
  }
  if (b === 0) b = text[i] === "0" ? 8 : 10;
  const start = i;
  let value = 0n;
  while (digitValue(text[i]) < b) {
    value = value * BigInt(b) + BigInt(digitValue(text[i]));
    i++;
  }
  if (i === start) return { value: 0n, end: 0, overflow: false };
  if (value > ULONG_MAX) return { value: ULONG_MAX, end: i, overflow: true };
  return { value: negative && value !== 0n ? 2n ** 64n - value : value, end: i, overflow: false };
}

/**
 * How many of two numbers `sscanf(text, "%u-%u")` (or `%hu-%hu`, `bits` 16) converts: each is
 * white space, a sign and decimal digits, and a `-` must follow the first. The values wrap as C's
 * conversions leave them.
 */
export function scanRange(text: string, bits: 16 | 32): { count: 0 | 1 | 2; first: number; second: number } {
  let i = 0;
  const one = (): number | undefined => {
    while (isCSpace(text[i])) i++;
    let negative = false;
    if (text[i] === "+" || text[i] === "-") {
      negative = text[i] === "-";
      i++;
    }
    const start = i;
    let v = 0n;
    while (digitValue(text[i]) < 10) v = v * 10n + BigInt(digitValue(text[i++]));
    if (i === start) return undefined;
    return Number(BigInt.asUintN(bits, negative ? -v : v));
  };
  const first = one();
  if (first === undefined) return { count: 0, first: 0, second: 0 };
  if (text[i] !== "-") return { count: 1, first, second: 0 };
  i++;
  const second = one();
  return second === undefined ? { count: 1, first, second: 0 } : { count: 2, first, second };
}

type Entry = { readonly id: number; readonly name: string };

/** One of keepalived's name tables: its file, the largest id, and its built-in names. */
interface Table {
  readonly file: string;
  readonly max: number;
  readonly defaults: readonly Entry[];
}

const e = (id: number, name: string): Entry => ({ id, name });

export const RT_TABLES: Table = {
  file: "/etc/iproute2/rt_tables",
  max: 0xffffffff,
  defaults: [e(253, "default"), e(254, "main"), e(255, "local")],
};
export const RT_PROTOS: Table = {
  file: "/etc/iproute2/rt_protos",
  max: 255,
  defaults: [
    e(0, "none"),
    e(1, "redirect"),
    e(2, "kernel"),
    e(3, "boot"),
    e(4, "static"),
    e(8, "gated"),
    e(9, "ra"),
    e(10, "mrt"),
    e(11, "zebra"),
    e(12, "bird"),
    e(42, "babel"),
    e(13, "dnrouted"),
    e(14, "xorp"),
    e(15, "ntk"),
    e(16, "dhcp"),
  ],
};
export const RT_SCOPES: Table = {
  file: "/etc/iproute2/rt_scopes",
  max: 255,
  defaults: [e(0, "global"), e(255, "nowhere"), e(254, "host"), e(253, "link"), e(200, "site")],
};
export const RT_DSFIELD: Table = { file: "/etc/iproute2/rt_dsfield", max: 255, defaults: [] };
export const RT_REALMS: Table = { file: "/etc/iproute2/rt_realms", max: 255, defaults: [] };
export const RT_GROUPS: Table = { file: "/etc/iproute2/group", max: 0x7fffffff, defaults: [] };

/** keepalived's words for route types (rtm_type), in its order: the first name of an id is printed. */
const RTN_TYPES: readonly Entry[] = [
  e(2, "local"),
  e(10, "nat"),
  e(3, "broadcast"),
  e(3, "brd"),
  e(4, "anycast"),
  e(5, "multicast"),
  e(8, "prohibit"),
  e(7, "unreachable"),
  e(6, "blackhole"),
  e(11, "xresolve"),
  e(1, "unicast"),
  e(9, "throw"),
];

/** Splits a line as keepalived's alloc_strvec does: white space, `"…"` kept as one word. */
function words(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (isCSpace(line[i])) i++;
    if (i >= line.length) return out;
    if (line[i] === '"') {
      const close = line.indexOf('"', i + 1);
      if (close < 0) return out;
      out.push(line.slice(i + 1, close));
      i = close + 1;
    } else {
      const start = i;
      while (i < line.length && !isCSpace(line[i]) && line[i] !== '"') i++;
      out.push(line.slice(start, i));
    }
  }
}

/**
 * A name file's entries as keepalived's read_file takes them: lines (read 127 bytes at a time) of
 * exactly two words, an id (strtoul base 0, no minus, all of it, at most `max`) and a name; other
 * lines, comments included, are skipped.
 */
export function parseNameFile(text: string, max: number): Entry[] {
  const out: Entry[] = [];
  for (const full of text.split("\n")) {
    for (let at = 0; at < Math.max(1, full.length); at += 127) {
      const w = words(full.slice(at, at + 127));
      if (w.length !== 2) continue;
      const number = (w[0] as string).replace(/^[ \t]+/, "");
      const n = strtoul(number, 0);
      if (number.startsWith("-") || n.end === 0 || n.end !== number.length || n.value > BigInt(max)) continue;
      out.push({ id: Number(BigInt.asUintN(32, n.value)), name: w[1] as string });
    }
  }
  return out;
}

/** Per configuration read (its Diagnostics): the name tables read so far. */
const loaded = new WeakMap<Diagnostics, Map<string, readonly Entry[]>>();

function entries(ctx: Ctx, table: Table): readonly Entry[] {
  let cache = loaded.get(ctx.diags);
  if (cache === undefined) {
    cache = new Map();
    loaded.set(ctx.diags, cache);
  }
  let list = cache.get(table.file);
  if (list === undefined) {
    const text = ctx.hostFile?.(table.file);
    const fromFile = text === undefined ? [] : parseNameFile(text, table.max);
    const ids = new Set(fromFile.map((x) => x.id));
    list = [...fromFile, ...table.defaults.filter((d) => !ids.has(d.id))];
    cache.set(table.file, list);
  }
  return list;
}

/**
 * keepalived's find_entry: the id of `word` in `table`, or undefined when keepalived refuses it. A
 * whole number is its own id (cut to 32 bits, as C stores it) if at most the table's maximum, with
 * no look-up; any other word is looked up by name.
 */
export function lookupName(ctx: Ctx, table: Table, word: string): number | undefined {
  const n = strtoul(word, 0);
  if (n.end !== 0 && n.end === word.length) {
    const id = Number(BigInt.asUintN(32, n.value));
    return id <= table.max ? id : undefined;
  }
  return entries(ctx, table).find((x) => x.name === word)?.id;
}

/** find_rttables_rtntype: a route type word, or any number 0-255 (strtoul base 0, no minus). */
export function routeTypeOf(word: string): number | undefined {
  const named = RTN_TYPES.find((x) => x.name === word);
  if (named !== undefined) return named.id;
  const n = strtoul(word, 0);
  if (n.end !== word.length || n.value > 255n || word.startsWith("-")) return undefined;
  return Number(n.value);
}

/** get_rttables_rtntype: the first name keepalived has for a route type, else its number. */
export const routeTypeName = (type: number): string =>
  RTN_TYPES.find((x) => x.id === type)?.name ?? String(type);

/**
 * getprotobyname over /etc/protocols (name or alias, as written there), or undefined when it is
 * not found; `true` when there is no file reader (the name cannot be checked).
 */
export function protocolNumber(ctx: Ctx, name: string): number | undefined | true {
  if (ctx.hostFile === undefined) return true;
  const text = ctx.hostFile("/etc/protocols");
  if (text === undefined) return undefined;
  for (const line of text.split("\n")) {
    const w = (line.split("#")[0] ?? "").split(/[ \t]+/).filter((x) => x !== "");
    if (w.length >= 2 && (w[0] === name || w.slice(2).includes(name))) {
      const n = Number(w[1]);
      if (Number.isInteger(n)) return n;
    }
  }
  return undefined;
}
