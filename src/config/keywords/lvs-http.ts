/**
 * The HTTP_GET / SSL_GET keywords of keepalived 2.2.7 (check_http.c: url with path, digest,
 * status_code, virtualhost and the regex keywords Debian's build has; http_protocol, enable_sni,
 * virtualhost at checker, real and virtual server level) and the checkers' connection addresses
 * (check_api.c: connect_ip, bindto, bind_port, address families in the order written), each bad
 * value with keepalived's line. Pure.
 */
import type { CheckerDraft } from "../draft.ts";
import type { Token } from "../lexer.ts";
import type { Statement } from "../parser.ts";
import type { Checker } from "../types.ts";
import {
  arg,
  type Ctx,
  familyOf,
  type KeywordSpec,
  type KeywordTable,
  rawArgs,
  readUnsigned,
  trueFalseKeyword,
  unsupportedTrueFalse,
} from "../values.ts";

/** keepalived's VRRP process skips virtual_server blocks: a missing value there is not fatal. */
const lvsArg = (c: Ctx, st: Statement): Token | undefined => arg(c, st, 0, "value", false);

/**
 * check_http.c digest_handler: a second digest is a duplicate; a digest is 32 hex digits (MD5), read
 * two at a time from the end — the first pair that is not hex is named with the text up to it.
 */
function digestProblem(digest: string, duplicate: boolean): string | undefined {
  if (duplicate) return `Digest '${digest}' is a duplicate`;
  if (digest.length !== 32)
    return `digest '${digest}' character length should be 32 rather than ${digest.length}`;
  for (let i = 15; i >= 0; i--)
    if (!/^[0-9a-fA-F]{2}$/.test(digest.slice(2 * i, 2 * i + 2)))
      return `Unable to interpret hex digit in '${digest.slice(0, 2 * i + 2)}' at offset ${2 * i}/${2 * i + 1}`;
  return undefined;
}

/**
 * check_api.c's address words (inet_stosockaddr): `-range` and `/mask` suffixes are dropped, and a
 * word that is not an address (a DNS name) is keepalived's "Invalid … address … - ignoring".
 */
export const checkerAddress = (key: "connectIp" | "bindTo", what: string): KeywordSpec<CheckerDraft> => ({
  handle: (c, st, s) => {
    const t = lvsArg(c, st);
    if (t === undefined) return;
    const a = t.text.split(/[-/]/)[0] ?? "";
    if (familyOf(a) === undefined || a.includes(":") !== (familyOf(a) === "ipv6"))
      return void c.diags.warn(t, "value", `Invalid ${what} address ${t.text} - ignoring`);
    s[key] = a as Checker["connectIp"];
  },
});

/** A checker's port word, 1..65535 (read_unsigned_strvec), else keepalived's line and unset. */
export const checkerPort = (key: "connectPort" | "bindPort", what: string): KeywordSpec<CheckerDraft> => ({
  handle: (c, st, s) => {
    const t = lvsArg(c, st);
    if (t === undefined) return;
    const v = readUnsigned(c, t, 1, 65535, true);
    if (v === undefined) c.diags.warn(t, "value", `Invalid checker ${what} '${t.text}'`);
    else s[key] = v;
  },
});

/**
 * check_api.c: the destination starts as the real server's address; `connect_ip` and `bindto` must
 * keep one family, in the order written. A later word of the other family is skipped with
 * keepalived's line (keepalived then leaves a connect_ip without a destination; Vigil keeps the
 * real server's address).
 */
export function checkFamilies(
  c: Ctx,
  block: readonly Statement[],
  rsAddress: string,
  ch: CheckerDraft,
): void {
  let dst = familyOf(rsAddress);
  let bind: string | undefined;
  for (const item of block) {
    const word = item.args[0]?.text.split(/[-/]/)[0] ?? "";
    const fam = familyOf(word);
    if (fam === undefined) continue;
    if (item.keyword.text === "connect_ip") {
      if (bind !== undefined && bind !== fam) {
        c.diags.warn(
          item.args[0] ?? item.keyword,
          "semantic",
          `connect_ip address ${item.args[0]?.text} does not match address family of bindto - skipping`,
        );
        if (ch.connectIp === word) ch.connectIp = null;
      } else dst = fam;
    } else if (item.keyword.text === "bindto") {
      if (dst !== undefined && dst !== fam) {
        c.diags.warn(
          item.args[0] ?? item.keyword,
          "semantic",
          `bindto address ${item.args[0]?.text} does not match address family of connect_ip - skipping`,
        );
        if (ch.bindTo === word) ch.bindTo = null;
        bind = undefined;
      } else bind = fam;
    }
  }
}

/**
 * keepalived's regex_options (PCRE2 compile options): the four JavaScript can honour, by flag; the
 * others are named as not acted on. A word not in keepalived's list is ignored, as keepalived does.
 */
const REGEX_FLAGS: Readonly<Record<string, string | null>> = {
  caseless: "i",
  multiline: "m",
  dotall: "s",
  utf: "u",
  ...Object.fromEntries(
    [
      "allow_empty_class",
      "alt_bsux",
      "auto_callout",
      "dollar_endonly",
      "dupnames",
      "extended",
      "firstline",
      "match_unset_backref",
      "never_ucp",
      "never_utf",
      "no_auto_capture",
      "no_auto_possess",
      "no_dotstar_anchor",
      "no_start_optimize",
      "ucp",
      "ungreedy",
      "never_backslash_c",
      "alt_circumflex",
      "alt_verbnames",
      "use_offset_limit",
    ].map((o) => [o, null]),
  ),
};

/** check_http.c regex_offset_handler: one unsigned word, else keepalived's line and 0. */
function regexOffset(c: Ctx, item: Statement, type: "min" | "max"): number {
  const t = item.args[0];
  if (t === undefined || item.args.length !== 1) {
    c.diags.warn(item.keyword, "value", `Missing or too may options for regex_${type}_offset`);
    return 0;
  }
  if (!/^\+?\d+$/.test(t.text)) {
    c.diags.warn(t, "value", `Invalid regex_${type}_offset ${t.text} specified`);
    return 0;
  }
  return Number(t.text);
}

interface RegexDraft {
  pattern: string | null;
  flags: Set<string>;
  optionsSet: boolean;
  noMatch: boolean;
  min: number;
  /** keepalived's regex_max_offset: the written value + 1, 0 when not set. */
  maxPlus1: number;
  stack: boolean;
}

/** The regex keywords of a url (keepalived 2.2.7 as Debian builds it has REGEX); false: not one. */
function readRegexItem(c: Ctx, item: Statement, r: RegexDraft): boolean {
  const kw = item.keyword.text;
  if (kw === "regex") {
    // check_http.c regex_handler reads the raw line again, with quotes and escapes
    const words = rawArgs(item);
    if (words.length !== 1 || words[0] === undefined)
      c.diags.warn(item.keyword, "value", "regex missing or too many fields");
    else r.pattern = words[0].text;
  } else if (kw === "regex_no_match") r.noMatch = true;
  else if (kw === "regex_options")
    for (const t of item.args) {
      if (!Object.hasOwn(REGEX_FLAGS, t.text)) continue;
      r.optionsSet = true;
      const flag = REGEX_FLAGS[t.text];
      if (flag == null)
        c.diags.warn(t, "unsupported", `regex option '${t.text}' is parsed but not acted on by Vigil yet`);
      else r.flags.add(flag);
    }
  else if (kw === "regex_min_offset") r.min = regexOffset(c, item, "min");
  else if (kw === "regex_max_offset") r.maxPlus1 = regexOffset(c, item, "max") + 1;
  else if (kw === "regex_stack") {
    // The JIT stack sizes of PCRE2: nothing to size in JavaScript, the values are checked only.
    const [a, b] = item.args.map((t) => (/^\d+$/.test(t.text) ? Number(t.text) : Number.NaN));
    if (item.args.length !== 2)
      c.diags.warn(item.keyword, "value", "regex_stack requires start and max values");
    else if (Number.isNaN(a ?? Number.NaN))
      c.diags.warn(item.keyword, "value", "regex_stack invalid start value");
    else if (Number.isNaN(b ?? Number.NaN))
      c.diags.warn(item.keyword, "value", "regex_stack invalid max value");
    else if ((a ?? 0) > (b ?? 0))
      c.diags.warn(item.keyword, "value", "regex stack start cannot exceed max value");
    else r.stack = true;
  } else return false;
  return true;
}

/** url_check's regex part: compile, or drop the regex parameters with keepalived's lines. */
function finishRegex(c: Ctx, at: Statement, r: RegexDraft): Checker["urls"][number]["regex"] {
  let { min, maxPlus1 } = r;
  if (r.pattern === null) {
    if (r.optionsSet || r.noMatch || min !== 0 || maxPlus1 !== 0 || r.stack)
      c.diags.warn(at.keyword, "semantic", "regex parameters specified without regex");
    return null;
  }
  if (maxPlus1 !== 0 && min >= maxPlus1) {
    c.diags.warn(
      at.keyword,
      "semantic",
      `regex min offset ${min} > regex_max_offset ${maxPlus1 - 1} - ignoring`,
    );
    min = 0;
    maxPlus1 = 0;
  }
  const flags = [...r.flags].sort().join("");
  try {
    new RegExp(r.pattern, flags);
  } catch (e) {
    c.diags.warn(at.keyword, "value", `Invalid regex: '${r.pattern}': ${(e as Error).message}`);
    return null;
  }
  return {
    pattern: r.pattern,
    flags,
    noMatch: r.noMatch,
    minOffset: min,
    maxOffset: maxPlus1 === 0 ? null : maxPlus1 - 1,
  };
}

/** One `url { }` block; a url without a path is dropped (url_check). */
function readUrl(c: Ctx, st: Statement, s: CheckerDraft): void {
  const url = {
    path: "",
    digest: null as string | null,
    statusCode: null as string | null,
    virtualhost: null as string | null,
  };
  const regex: RegexDraft = {
    pattern: null,
    flags: new Set(),
    optionsSet: false,
    noMatch: false,
    min: 0,
    maxPlus1: 0,
    stack: false,
  };
  for (const item of st.block ?? []) {
    const v = item.args[0]?.text ?? "";
    const kw = item.keyword.text;
    if (kw === "path") url.path = v;
    else if (kw === "digest") {
      const problem = digestProblem(v, url.digest !== null);
      if (problem === undefined) url.digest = v;
      else c.diags.warn(item.args[0] ?? item.keyword, "value", problem);
    } else if (kw === "status_code") {
      // Codes accumulate over several status_code lines (a bit array in keepalived).
      const more = readStatusCodes(c, item.args);
      if (more !== "") url.statusCode = url.statusCode === null ? more : `${url.statusCode} ${more}`;
    } else if (kw === "virtualhost") {
      if (item.args[0] === undefined)
        c.diags.warn(item.keyword, "value", "Missing HTTP_GET virtualhost name");
      else url.virtualhost = v;
    } else if (!readRegexItem(c, item, regex))
      c.diags.warn(item.keyword, "unknown-keyword", `Unknown keyword '${kw}'`);
  }
  if (url.path === "")
    return void c.diags.warn(st.keyword, "semantic", "HTTP/SSL_GET checker url has no path - ignoring");
  s.urls.push({ ...url, regex: finishRegex(c, st, regex) });
}

/** HTTP_GET and SSL_GET's own keywords (check_http.c); lvs.ts adds nb_get_retry. */
export const httpKeywords: KeywordTable<CheckerDraft> = {
  http_protocol: {
    handle: (c, st, s) => {
      const t = st.args[0];
      if (t === undefined) return void c.diags.warn(st.keyword, "value", "Missing http_protocol version");
      if (t.text === "1.0" || t.text === "1.1") s.httpProtocol = t.text;
      else if (t.text === "1.0C" || t.text === "1.0c") s.httpProtocol = "1.0C";
      else c.diags.warn(t, "value", `Invalid http_protocol version ${t.text}`);
    },
  },
  enable_sni: trueFalseKeyword<CheckerDraft>(
    (s, v) => {
      s.enableSni = v;
    },
    (w) => `Invalid enable_sni parameter ${w}`,
  ),
  fast_recovery: unsupportedTrueFalse(
    "Vigil's checkers do not use it yet",
    (w) => `Invalid fast_recovery parameter ${w}`,
  ),
  virtualhost: {
    handle: (c, st, s) => {
      const t = st.args[0];
      if (t === undefined) c.diags.warn(st.keyword, "value", "HTTP_GET virtualhost name missing");
      else s.virtualhost = t.text;
    },
  },
  url: { block: true, handle: readUrl },
};

/** A real or virtual server's `virtualhost` (check_parser.c): the HTTP_GET Host of last resort. */
export const vhostKeyword = <S extends { virtualhost: string | null }>(where: string): KeywordSpec<S> => ({
  handle: (c, st, s) => {
    const t = st.args[0];
    if (t === undefined) c.diags.warn(st.keyword, "value", `${where} virtualhost missing`);
    else s.virtualhost = t.text;
  },
});

/** `status_code` words: a code or a range LOW-HIGH within 100..599 (check_http.c). */
function readStatusCodes(c: Ctx, toks: readonly Token[]): string {
  const good: string[] = [];
  for (const t of toks) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(t.text);
    const lo = Number(m?.[1]);
    const hi = Number(m?.[2] ?? m?.[1]);
    if (m === null || lo < 100 || hi > 599 || lo > hi)
      c.diags.warn(
        t,
        "value",
        `Invalid HTTP_GET status code '${t.text}'`,
        "a code or a range, within 100-599",
      );
    else good.push(t.text);
  }
  return good.join(" ");
}
