/**
 * LVS blocks: `virtual_server`, `real_server` and the checkers `TCP_CHECK`, `HTTP_GET`,
 * `SSL_GET`, `MISC_CHECK`, `SMTP_CHECK`, `DNS_CHECK` (docs/keepalived-reference.md §2.5). Vigil parses them into
 * the Config (and `vigil dump` shows them); src/lvs runs the checkers and programs IPVS from it. What
 * is not acted on yet is said once per virtual server. Pure.
 */
import type { CheckerDraft, RealServerDraft, VirtualServerDraft } from "../draft.ts";
import type { Token } from "../lexer.ts";
import type { Statement } from "../parser.ts";
import type { Checker } from "../types.ts";
import {
  arg,
  atToken,
  type Ctx,
  familyOf,
  type KeywordSpec,
  type KeywordTable,
  onWhateverFollows,
  partlyUnsupported,
  readAddress,
  readCommand,
  readInt,
  readSecondsUs,
  readUnsigned,
  UINT32_MAX,
  unsupported,
  unsupportedTrueFalse,
  walk,
} from "../values.ts";
import { checkerAddress, checkerPort, checkFamilies, httpKeywords, vhostKeyword } from "./lvs-http.ts";
import {
  checkerAlpha,
  checkerLogAllFailures,
  endVirtualServer,
  keepRealServer,
  realServerInhibit,
  realServerThresholdKeywords,
  realServerTimingKeywords,
  virtualServerOptionKeywords,
} from "./lvs-options.ts";

/** keepalived's VRRP process skips virtual_server blocks: a missing value there is not fatal. */
const lvsArg = (c: Ctx, st: Statement, index = 0, what = "value"): Token | undefined =>
  arg(c, st, index, what, false);

/**
 * keepalived's read_timer ranges (µs): TIMER_MAXIMUM is ULONG_MAX − 1 µs, printed as below; Vigil
 * stops at 2^53 µs (285 years). `invalid`: the line keepalived adds when the value is refused.
 */
const TIMER_MAX_US = Number.MAX_SAFE_INTEGER;
const TIMER_MAX_TEXT = "18446744073709.551614";
const secs = <S>(
  key: string,
  minUs = 0,
  maxUs = TIMER_MAX_US,
  invalid?: (text: string) => string,
): KeywordSpec<S> => ({
  handle: (c, st, s) => {
    const t = lvsArg(c, st);
    if (t === undefined) return;
    const v = readSecondsUs(c, t, minUs, maxUs, maxUs === TIMER_MAX_US ? TIMER_MAX_TEXT : undefined);
    if (v !== undefined) (s as Record<string, unknown>)[key] = v;
    else if (invalid !== undefined) c.diags.warn(t, "value", invalid(t.text));
  },
});
/**
 * An unsigned keyword (read_unsigned_strvec) setting `key` (none: only checked); `invalid` is
 * keepalived's line when it is refused; `ignoreError` as keepalived's handler reads (values.ts).
 */
const unsignedKw = <S>(
  key: string | undefined,
  min: number,
  max: number,
  invalid: (text: string) => string,
  ignoreError = false,
): KeywordSpec<S> => ({
  handle: (c, st, s) => {
    const t = lvsArg(c, st);
    if (t === undefined) return;
    const v = readUnsigned(c, t, min, max, ignoreError);
    if (v === undefined) c.diags.warn(t, "value", invalid(t.text));
    else if (key !== undefined) (s as Record<string, unknown>)[key] = v;
  },
});
const str = <S>(key: string): KeywordSpec<S> => ({
  handle: (c, st, s) => {
    const t = lvsArg(c, st);
    if (t !== undefined) (s as Record<string, unknown>)[key] = t.text;
  },
});
/** A flag keepalived's handler turns on whatever follows it (see onWhateverFollows). */
const bool = <S>(key: string): KeywordSpec<S> =>
  onWhateverFollows<S>((s) => {
    (s as Record<string, unknown>)[key] = true;
  });
const cmd = <S>(key: string): KeywordSpec<S> => ({
  handle: (c, st, s) => {
    const v = readCommand(c, st);
    if (v !== undefined) (s as Record<string, unknown>)[key] = v;
  },
});

/** A real server's notify script: keepalived keeps the first (`(null) notify_up script already specified`). */
const onceCmd = (key: "notifyUp" | "notifyDown", kw: string): KeywordSpec<RealServerDraft> => ({
  handle: (c, st, s) => {
    if (s[key] != null && st.args[0] !== undefined)
      return void c.diags.warn(
        st.args[0],
        "semantic",
        `${kw} script already specified - ignoring ${st.args[0].text}`,
      );
    cmd<RealServerDraft>(key).handle(c, st, s);
  },
});

/** `where`: "" in a checker, "virtual server " in a virtual_server (keepalived's wording). */
const timing = <S>(
  where: "" | "virtual server ",
): Record<"delay_loop" | "connect_timeout" | "retry" | "delay_before_retry", KeywordSpec<S>> => ({
  delay_loop: secs("delayLoopUs", 1, TIMER_MAX_US, (v) =>
    where === ""
      ? `delay_loop '${v}' is invalid - ignoring`
      : `virtual server delay loop '${v}' invalid - ignoring`,
  ),
  connect_timeout: secs(
    "connectTimeoutUs",
    1,
    4_294_967_295,
    (v) => `${where}connect_timeout ${v} invalid - ignoring`,
  ),
  // check_api.c retry_handler (0..2^32 - 1) / check_parser.c vs_retry_handler (1..2^32 - 1).
  retry:
    where === ""
      ? unsignedKw("retry", 0, UINT32_MAX, (v) => `Invalid retry connection value '${v}'`, true)
      : unsignedKw("retry", 1, UINT32_MAX, (v) => `retry value invalid - ${v}`),
  delay_before_retry: secs("delayBeforeRetryUs", 0, TIMER_MAX_US, (v) =>
    where === ""
      ? `Invalid delay_before_retry connection value '${v}'`
      : `virtual server delay before retry '${v}' invalid - ignoring`,
  ),
});

function readMethod(
  ctx: Ctx,
  st: Statement,
  server: "virtual" | "real" | "sorry",
): "NAT" | "DR" | "TUN" | undefined {
  const t = lvsArg(ctx, st, 0, "method");
  if (t === undefined) return undefined;
  if (t.text !== "NAT" && t.text !== "DR" && t.text !== "TUN") {
    ctx.diags.error(
      t,
      "value",
      `PARSER : unknown [${t.text}] routing method for ${server} server.`,
      "expected NAT, DR or TUN",
    );
    return undefined;
  }
  readTunnelOptions(ctx, st.args.slice(1), server);
  return t.text;
}

/**
 * The words after the method (check_parser.c svr_forwarding_handler, for any method): `type
 * ipip|gue|gre`, `port N` (gue), `nocsum|csum|remcsum`, with keepalived's checks and lines; the
 * first problem ends the reading (the method stays). Not acted on: Vigil drives no IPVS tunnels.
 */
function readTunnelOptions(ctx: Ctx, words: readonly Token[], server: string): void {
  const bad = (at: Token, message: string): void => ctx.diags.warn(at, "value", message);
  let type = "ipip";
  let port = 0;
  let csum = "nocsum";
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as Token;
    const v = words[i + 1];
    if (w.text === "type") {
      if (v === undefined) return void bad(w, `Missing tunnel type for ${server} server.`);
      if (v.text !== "ipip" && v.text !== "gue" && v.text !== "gre")
        return void bad(v, `Unknown tunnel type ${v.text} for ${server} server.`);
      type = v.text;
      i++;
    } else if (w.text === "port") {
      if (v === undefined) return void bad(w, `Missing port for ${server} server gue tunnel.`);
      const n = readUnsigned(ctx, v, 1, 65535);
      if (n === undefined) return void bad(v, `Invalid gue tunnel port ${v.text} for ${server} server.`);
      port = n;
      i++;
    } else if (w.text === "nocsum" || w.text === "csum" || w.text === "remcsum") csum = w.text;
    else return void bad(w, `Invalid tunnel option ${w.text} for ${server} server.`);
  }
  const first = words[0];
  if (first === undefined) return;
  if ((type === "gue") !== (port !== 0))
    return void bad(first, "gue tunnels require port, otherwise cannot have port.");
  if (type === "ipip" && csum !== "nocsum")
    return void bad(first, "ipip tunnels do not support checksum option.");
  if (type === "gre" && csum === "remcsum")
    return void bad(first, "gre tunnels do not support remote checksum option.");
  ctx.diags.warn(
    first,
    "unsupported",
    "TUN tunnel options (type ipip|gue|gre, port, checksums) are parsed but not acted on by Vigil yet",
  );
}

/** `lvs_method` (in a virtual or a real server) / `lb_kind` (its older name, virtual servers only): the forwarding method. */
const methodKeyword = <S extends { method: "NAT" | "DR" | "TUN" | null }>(
  server: "virtual" | "real",
): KeywordSpec<S> => ({
  handle: (c, st, s) => {
    s.method = readMethod(c, st, server) ?? s.method;
  },
});

const checkerTiming = timing<CheckerDraft>("");

/** `snmp_name NAME` (vs_snmp_name_handler / rs_snmp_name_handler): exactly one word. Not acted on. */
const snmpName = <S>(server: "virtual" | "real"): KeywordSpec<S> =>
  partlyUnsupported<S>(
    {
      handle: (c, st) => {
        if (st.args.length !== 1)
          c.diags.warn(st.keyword, "value", `${server} server snmp_name missing or extra parameters`);
      },
    },
    "SNMP is not served",
  );

/** Connection options (install_checker_common_keywords with connection keywords). */
const connectionKeywords: KeywordTable<CheckerDraft> = {
  connect_timeout: checkerTiming.connect_timeout,
  connect_ip: checkerAddress("connectIp", "connect_ip"),
  connect_port: checkerPort("connectPort", "connect_port"),
  bindto: checkerAddress("bindTo", "bindto"),
  bind_port: checkerPort("bindPort", "bind_port"),
  bind_if: partlyUnsupported<CheckerDraft>(
    { handle: (c, st) => void lvsArg(c, st) },
    "checker interfaces are not set: SO_BINDTODEVICE cannot be set on Node's net sockets",
  ),
  // Checked as co_fwmark_handler checks it (0..2^32 - 1), though not acted on.
  fwmark: partlyUnsupported<CheckerDraft>(
    unsignedKw(undefined, 0, UINT32_MAX, (v) => `Invalid fwmark connection value '${v}'`, true),
    "checker fwmarks are not set: SO_MARK cannot be set on Node's net sockets",
  ),
};

/** Every checker (install_checker_common_keywords). */
const commonCheckerKeywords: KeywordTable<CheckerDraft> = {
  delay_loop: checkerTiming.delay_loop,
  retry: checkerTiming.retry,
  delay_before_retry: checkerTiming.delay_before_retry,
  warmup: secs("warmupUs", 0, TIMER_MAX_US, (v) => `Invalid warmup connection value '${v}'`),
  alpha: checkerAlpha,
  log_all_failures: checkerLogAllFailures,
};

/** HTTP_GET and SSL_GET (check_http.c). */
const httpGetKeywords: KeywordTable<CheckerDraft> = {
  // check_http.c http_get_retry_handler: HTTP_GET / SSL_GET only, not in a virtual server.
  nb_get_retry: {
    handle: (c, st, s) => {
      c.diags.warn(st.keyword, "semantic", "nb_get_retry is deprecated - please use 'retry'");
      unsignedKw<CheckerDraft>(
        "retry",
        0,
        UINT32_MAX,
        (v) => `Invalid nb_get_retry value '${v}'`,
        true,
      ).handle(c, st, s);
    },
  },
  ...httpKeywords,
};

/** MISC_CHECK (check_misc.c): no connection options. */
const miscKeywords: KeywordTable<CheckerDraft> = {
  // misc_path_handler says nothing of a missing command (misc_end_handler's "No script path has been specified for MISC_CHECKER" follows).
  misc_path: {
    handle: (c, st, s) => {
      const v = readCommand(c, st, 0, null, "none");
      if (v !== undefined) s.miscPath = v;
    },
  },
  // check_misc.c misc_timeout_handler: whole seconds that fit 2^32 µs.
  misc_timeout: {
    handle: (c, st, s) => {
      const t = lvsArg(c, st);
      if (t === undefined) return;
      const v = readUnsigned(c, t, 0, Math.floor(UINT32_MAX / 1e6), true);
      if (v === undefined) c.diags.warn(t, "value", `Invalid misc_timeout value '${t.text}'`);
      else s.miscTimeoutUs = v * 1_000_000;
    },
  },
  misc_dynamic: bool("miscDynamic"),
  user: partlyUnsupported<CheckerDraft>(
    {
      handle: (c, st, s) => {
        if (st.args.length === 0)
          c.diags.warn(
            st.keyword,
            "value",
            `No user specified for misc checker script '${s.miscPath?.argv.join(" ") ?? ""}'`,
          );
      },
    },
    "Vigil's checkers do not use it yet",
  ),
};

/** DNS_CHECK (check_dns.c). */
const dnsKeywords: KeywordTable<CheckerDraft> = {
  type: {
    handle: (c, st, s) => {
      const t = lvsArg(c, st);
      if (t === undefined) return;
      // dns_type_lookup compares ignoring case.
      if (DNS_TYPES.has(t.text.toUpperCase())) s.dnsType = t.text.toUpperCase();
      else c.diags.warn(t, "value", `Unknown DNS check type ${t.text} - ignoring`);
    },
  },
  name: {
    // dns_name_handler: the first name stays; a name with an empty label is refused.
    handle: (c, st, s) => {
      const t = lvsArg(c, st);
      if (t === undefined) return;
      if (s.dnsName !== null)
        return void c.diags.warn(t, "semantic", "DNS_CHECK name already specified - ignoring");
      const n = t.text;
      // keepalived's scan also looks one past the first character, so "a.example" is refused too.
      const emptyLabel = (n.startsWith(".") && n !== ".") || n[1] === "." || /\.\./.test(n);
      if (emptyLabel) c.diags.warn(t, "value", `DNS_CHECK name '${n}' has empty label - ignoring`);
      else s.dnsName = n;
    },
  },
};

/**
 * Each checker's keywords, as keepalived installs them per checker block: a keyword of another
 * checker (`type` in SMTP_CHECK, `nb_get_retry` outside HTTP_GET/SSL_GET) is an unknown keyword.
 */
export const checkerKeywords: Readonly<Record<Checker["kind"], KeywordTable<CheckerDraft>>> = {
  TCP_CHECK: { ...commonCheckerKeywords, ...connectionKeywords },
  HTTP_GET: { ...commonCheckerKeywords, ...connectionKeywords, ...httpGetKeywords },
  SSL_GET: { ...commonCheckerKeywords, ...connectionKeywords, ...httpGetKeywords },
  SMTP_CHECK: {
    ...commonCheckerKeywords,
    ...connectionKeywords,
    helo_name: str("heloName"),
    host: unsupported("SMTP checker hosts are not used", true),
  },
  DNS_CHECK: { ...commonCheckerKeywords, ...connectionKeywords, ...dnsKeywords },
  MISC_CHECK: { ...commonCheckerKeywords, ...miscKeywords },
};

const CHECKERS = ["TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK"] as const;

const newChecker = (kind: Checker["kind"], line: number): CheckerDraft => ({
  kind,
  line,
  connectIp: null,
  connectPort: null,
  bindTo: null,
  bindPort: null,
  connectTimeoutUs: null,
  retry: null,
  delayBeforeRetryUs: null,
  delayLoopUs: null,
  warmupUs: null,
  alpha: null,
  logAllFailures: false,
  urls: [],
  virtualhost: null,
  httpProtocol: "1.0",
  enableSni: false,
  miscPath: null,
  miscTimeoutUs: null,
  miscDynamic: false,
  heloName: null,
  dnsType: null,
  dnsName: null,
});

export const realServerKeywords: KeywordTable<RealServerDraft> = {
  // IPVS_WEIGHT_LIMIT is INT_MAX.
  weight: unsignedKw(
    "weight",
    0,
    2_147_483_647,
    (v) => `Real server weight ${v} is outside range 0-2147483647`,
    true,
  ),
  // keepalived 2.2.7 takes `lvs_method` in a real_server, not its older name `lb_kind`.
  lvs_method: methodKeyword("real"),
  inhibit_on_failure: realServerInhibit,
  notify_up: onceCmd("notifyUp", "notify_up"),
  notify_down: onceCmd("notifyDown", "notify_down"),
  ...Object.fromEntries(
    CHECKERS.map((k) => [
      k,
      {
        block: true,
        handle: (c: Ctx, st: Statement, s: RealServerDraft) => {
          const ch = newChecker(k, st.keyword.line);
          walk(c, st.block ?? [], checkerKeywords[k], ch);
          let keep = true;
          if (k === "MISC_CHECK" && ch.miscPath === null) {
            // misc_end_handler dequeues the checker
            c.diags.error(
              st.keyword,
              "semantic",
              "No script path has been specified for MISC_CHECKER - skipping",
            );
            keep = false;
          }
          if (k !== "MISC_CHECK") checkFamilies(c, st.block ?? [], s.address, ch);
          // At the checker's end (http_get_check_end and the others): an HTTP/SSL_GET without urls
          // is dropped, then (check_api.c check_conn_opts) one whose destination is IPv6 link-local
          // without bind_if; each is reported.
          if ((k === "HTTP_GET" || k === "SSL_GET") && ch.urls.length === 0) {
            c.diags.warn(st.keyword, "semantic", "HTTP/SSL_GET checker has no urls specified - ignoring");
            keep = false;
          }
          const dst = ch.connectIp ?? s.address;
          const bindIf = (st.block ?? []).some((i) => i.keyword.text === "bind_if" && i.args.length > 0);
          if (k !== "MISC_CHECK" && /^fe[89ab][0-9a-f]:/i.test(dst) && !bindIf) {
            c.diags.warn(st.keyword, "semantic", `Checker link local address ${dst} requires a bind_if`);
            keep = false;
          }
          if (keep) s.checkers.push(ch);
        },
      },
    ]),
  ),
  UDP_CHECK: unsupported("this checker is not implemented", true),
  PING_CHECK: unsupported("this checker is not implemented", true),
  FILE_CHECK: unsupported("this checker is not implemented", true),
  BFD_CHECK: unsupported("this checker is not implemented", true),
  ...realServerTimingKeywords,
  ...realServerThresholdKeywords,
  smtp_alert: unsupportedTrueFalse(
    "SMTP alerts are not sent",
    (w) => `Invalid real_server smtp_alert parameter ${w}`,
  ),
  virtualhost: vhostKeyword("real server"),
  snmp_name: snmpName("real"),
};

/**
 * `IP [PORT]` of a virtual or real server as alloc_vs / alloc_rs read it (inet_stosockaddr): a port
 * of zeros is no port (0); otherwise the port is read first (1..65535, its own messages), then the
 * address without a `-range` or `/mask` part, as an address of the family a `:` says. Undefined
 * when either is invalid (the caller says so in keepalived's words).
 */
function stoSockaddr(
  ctx: Ctx,
  ip: Token,
  port: Token | undefined,
): { address: string; port: number | null } | undefined {
  const given = port !== undefined && /[^0]/.test(port.text) ? port : undefined;
  const portNum = given === undefined ? undefined : readUnsigned(ctx, given, 1, 65535, true);
  if (given !== undefined && portNum === undefined) return undefined;
  const address = ip.text.replace(ip.text.includes("-") ? /-.*$/ : /\/.*$/, "");
  if (familyOf(address) !== (address.includes(":") ? "ipv6" : "ipv4")) return undefined;
  return { address, port: portNum ?? (port === undefined ? null : 0) };
}

/** `IP [PORT]` as written after `sorry_server`. */
function readHostPort(
  ctx: Ctx,
  st: Statement,
  what: string,
  invalidAddress?: string,
): { address: string; port: number | null } | undefined {
  const [a, p] = st.args;
  if (a === undefined) return void ctx.diags.error(st.keyword, "value", `${what}: missing address`);
  const address = readAddress(ctx, a, what, invalidAddress);
  if (address === undefined) return undefined;
  const port = p === undefined ? null : readInt(ctx, p, 0, 65535);
  if (port === undefined) return undefined;
  return { address, port };
}

/** keepalived 2.2.7's IPVS scheduler names (check_parser.c). */
const LVS_SCHEDULERS = new Set([
  "rr",
  "wrr",
  "lc",
  "wlc",
  "lblc",
  "sh",
  "mh",
  "dh",
  "fo",
  "ovf",
  "lblcr",
  "sed",
  "nq",
  "twos",
]);

/** A valid scheduler name, or keepalived's "Invalid lvs_scheduler" (the default stays). */
function readScheduler(c: Ctx, st: Statement, s: VirtualServerDraft): void {
  const t = lvsArg(c, st);
  if (t === undefined) return;
  if (LVS_SCHEDULERS.has(t.text)) s.scheduler = t.text;
  else
    c.diags.warn(t, "value", `Invalid lvs_scheduler '${t.text}' - ignoring`, [...LVS_SCHEDULERS].join(", "));
}

/** keepalived 2.2.7's DNS_CHECK query types (check_dns.c). */
const DNS_TYPES = new Set(["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY"]);

export const virtualServerKeywords: KeywordTable<VirtualServerDraft> = {
  ...timing<VirtualServerDraft>("virtual server "),
  lvs_sched: { handle: (c, st, s) => readScheduler(c, st, s) },
  lb_algo: { handle: (c, st, s) => readScheduler(c, st, s) },
  lvs_method: methodKeyword("virtual"),
  lb_kind: methodKeyword("virtual"),
  protocol: {
    handle: (c, st, s) => {
      const t = lvsArg(c, st);
      if (t === undefined) return;
      if (t.text === "TCP" || t.text === "UDP" || t.text === "SCTP") s.protocol = t.text;
      else c.diags.error(t, "value", `Unknown protocol ${t.text} - ignoring`, "expected TCP, UDP or SCTP");
    },
  },
  persistence_timeout: {
    handle: (c, st, s) => {
      // check_parser.c pto_handler: bare is IPVS's 360 s; an invalid value is reported and changes nothing.
      const t = st.args[0];
      const v = t === undefined ? 360 : readUnsigned(c, t, 1, 2678400);
      if (v !== undefined) s.persistenceTimeoutS = v;
      else if (t !== undefined) c.diags.warn(t, "value", "persistence_timeout invalid");
    },
  },
  // check_parser.c quorum_handler (an invalid quorum is 1) and hysteresis_handler.
  quorum: {
    handle: (c, st, s) => {
      const t = lvsArg(c, st);
      if (t === undefined) return;
      const v = readUnsigned(c, t, 1, UINT32_MAX, true);
      if (v === undefined)
        c.diags.warn(t, "value", `Quorum ${t.text} must be in [1, ${UINT32_MAX}]. Setting to 1.`);
      s.quorum = v ?? 1;
    },
  },
  // check_parser.c vs_weight_handler: the weight of the real servers that set none.
  weight: unsignedKw(
    "defaultWeight",
    1,
    2_147_483_647,
    (v) => `Virtual server weight ${v} is outside range 1-2147483647`,
    true,
  ),
  hysteresis: unsignedKw(
    "hysteresis",
    0,
    UINT32_MAX,
    (v) => `Hysteresis ${v} must be in [0, ${UINT32_MAX}] - ignoring`,
    true,
  ),
  quorum_up: cmd("quorumUp"),
  quorum_down: cmd("quorumDown"),
  sorry_server: {
    handle: (c, st, s) => {
      if (lvsArg(c, st) === undefined) return;
      const hp = readHostPort(
        c,
        st,
        "sorry_server",
        st.args[0] && `Invalid sorry server IP address ${st.args[0].text} - skipping`,
      );
      if (hp !== undefined) s.sorryServer = hp as VirtualServerDraft["sorryServer"];
    },
  },
  // check_parser.c vs_inhibit_handler, vs_alpha_handler, omega_handler: on whatever follows.
  inhibit_on_failure: bool("inhibitOnFailure"),
  alpha: bool("alpha"),
  omega: bool("omega"),
  real_server: {
    block: true,
    handle: (c, st, s) => {
      // check_data.c alloc_rs: a name where the address belongs skips the real server (a warning).
      const [a0, p0] = st.args;
      if (a0 === undefined) return void c.diags.error(st.keyword, "value", "real_server: missing address");
      const hp = stoSockaddr(c, a0, p0);
      if (hp === undefined)
        return void c.diags.warn(
          a0,
          "value",
          `Invalid real server ip address/port ${a0.text}/${p0?.text ?? "(null)"} - skipping`,
        );
      const rs: RealServerDraft = {
        address: hp.address as RealServerDraft["address"],
        port: hp.port,
        line: st.keyword.line,
        weight: null,
        method: null,
        inhibitOnFailure: null,
        notifyUp: null,
        notifyDown: null,
        delayLoopUs: null,
        connectTimeoutUs: null,
        retry: null,
        delayBeforeRetryUs: null,
        warmupUs: null,
        alpha: null,
        upperThreshold: 0,
        lowerThreshold: 0,
        virtualhost: null,
        checkers: [],
      };
      walk(c, st.block ?? [], realServerKeywords, rs);
      if (keepRealServer(c, st, s, rs)) s.realServers.push(rs);
    },
  },
  ...virtualServerOptionKeywords,
  // check_parser.c ssvri_handler / ss_forwarding_handler: they apply to a sorry_server written before.
  sorry_server_inhibit: partlyUnsupported<VirtualServerDraft>(
    {
      handle: (c, st, s) => {
        if (s.sorryServer == null)
          c.diags.warn(
            st.keyword,
            "semantic",
            "Ignoring sorry_server inhibit used before or without sorry_server",
          );
      },
    },
    "Vigil does not pass it to IPVS yet",
  ),
  sorry_server_lvs_method: partlyUnsupported<VirtualServerDraft>(
    {
      handle: (c, st, s) => {
        if (s.sorryServer == null)
          c.diags.warn(st.keyword, "semantic", "sorry_server forwarding used without sorry_server");
        else if (lvsArg(c, st) !== undefined) readMethod(c, st, "sorry");
      },
    },
    "Vigil does not pass it to IPVS yet",
  ),
  ha_suspend: unsupported("Vigil does not pass it to IPVS yet"),
  virtualhost: vhostKeyword("virtual server"),
  smtp_alert: unsupportedTrueFalse(
    "SMTP alerts are not sent",
    (w) => `Invalid virtual_server smtp_alert parameter ${w}`,
  ),
  snmp_name: snmpName("virtual"),
};

export function readVirtualServer(ctx: Ctx, st: Statement): VirtualServerDraft | undefined {
  const [first, second] = st.args;
  let key: VirtualServerDraft["key"];
  if (first === undefined) {
    ctx.diags.error(st.keyword, "value", "virtual_server: missing address, 'fwmark N' or 'group NAME'");
    return undefined;
  }
  if (first.text === "fwmark" || first.text === "group") {
    if (second === undefined) {
      ctx.diags.error(first, "value", `virtual_server ${first.text}: missing value`);
      return undefined;
    }
    if (first.text === "group") key = { kind: "group", name: second.text, member: 0, entries: [] };
    else {
      // check_data.c alloc_vs
      const m = readUnsigned(ctx, second, 0, UINT32_MAX, true);
      if (m === undefined) {
        ctx.diags.error(
          second,
          "value",
          `virtual server fwmark '${second.text}' must be in [0, ${UINT32_MAX}] - ignoring`,
        );
        return undefined;
      }
      key = { kind: "fwmark", mark: m };
    }
  } else {
    const hp = stoSockaddr(ctx, first, second);
    if (hp === undefined) {
      const port = second !== undefined && /[^0]/.test(second.text) ? second : undefined;
      ctx.diags.error(
        first,
        "value",
        `Invalid virtual server IP address${port ? "/port" : ""} ${first.text}${port ? `/${port.text}` : ""} - skipping`,
      );
      return undefined;
    }
    key = { kind: "address", address: hp.address as never, port: hp.port };
  }
  const vs: VirtualServerDraft = {
    key,
    line: st.keyword.line,
    at: atToken(st.keyword),
    protocol: "TCP",
    scheduler: "wlc",
    method: "NAT",
    persistenceTimeoutS: null,
    persistenceGranularity: null,
    persistenceEngine: null,
    onePacket: false,
    schedulerFlags: [],
    family: key.kind === "address" ? (familyOf(key.address) ?? null) : null,
    delayLoopUs: 60_000_000,
    connectTimeoutUs: 5_000_000,
    retry: null,
    delayBeforeRetryUs: null,
    warmupUs: null,
    quorum: 1,
    hysteresis: 0,
    quorumUp: null,
    quorumDown: null,
    sorryServer: null,
    inhibitOnFailure: false,
    alpha: false,
    omega: false,
    virtualhost: null,
    realServers: [],
    defaultWeight: 1,
    written: { protocol: false, method: false, scheduler: false },
  };
  walk(ctx, st.block ?? [], virtualServerKeywords, vs);
  endVirtualServer(ctx, st, vs);
  vs.written = {
    // keepalived's vs->service_type stays unset for a protocol it does not know (the default is said)
    protocol: (st.block ?? []).some(
      (x) => x.keyword.text === "protocol" && ["TCP", "UDP", "SCTP"].includes(x.args[0]?.text ?? ""),
    ),
    // likewise vs->forwarding_method: an unknown method leaves it unset (the NAT default is said)
    method: (st.block ?? []).some(
      (x) =>
        (x.keyword.text === "lvs_method" || x.keyword.text === "lb_kind") &&
        ["NAT", "DR", "TUN"].includes(x.args[0]?.text ?? ""),
    ),
    // keepalived's vs->sched stays empty unless a valid name is given.
    scheduler: (st.block ?? []).some(
      (x) =>
        (x.keyword.text === "lvs_sched" || x.keyword.text === "lb_algo") &&
        LVS_SCHEDULERS.has(x.args[0]?.text ?? ""),
    ),
  };
  return vs;
}
