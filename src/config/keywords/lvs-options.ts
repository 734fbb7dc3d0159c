/**
 * The LVS keywords that shape IPVS services and the timing checkers inherit, read as keepalived
 * 2.2.7's check_parser.c reads them: `persistence_granularity` (an IPv4 netmask as inet_aton reads
 * it, or an IPv6 prefix length, by the virtual server's family so far), `persistence_engine`, `ops`,
 * the scheduler flags (`flag-1..3`, `sh-port`/`sh-fallback` for sh, `mh-port`/`mh-fallback` for mh,
 * judged against the scheduler written before them), `ip_family`, and the real-server level
 * `delay_loop`, `connect_timeout`, `retry`, `delay_before_retry`, `warmup`, `alpha` (with the
 * checker-level `alpha`). Also the address-family bookkeeping keepalived does at the end of each
 * real server and virtual server. Pure.
 */
import type { CheckerDraft, RealServerDraft, VirtualServerDraft } from "../draft.ts";
import type { Statement } from "../parser.ts";
import type { Family } from "../types.ts";
import {
  arg,
  type Ctx,
  familyOf,
  type KeywordSpec,
  type KeywordTable,
  readInt,
  readSecondsUs,
  readUnsigned,
  trueFalseKeyword,
  UINT32_MAX,
} from "../values.ts";

const TIMER_MAX_US = Number.MAX_SAFE_INTEGER;
const TIMER_MAX_TEXT = "18446744073709.551614";
const UINT_MAX_US = 4_294_967_295;

/** A read_timer keyword: `invalid` is keepalived's line when the value is refused. */
function timer<S>(key: string, minUs: number, maxUs: number, invalid: (v: string) => string): KeywordSpec<S> {
  return {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "value", false);
      if (t === undefined) return;
      const v = readSecondsUs(c, t, minUs, maxUs, maxUs === TIMER_MAX_US ? TIMER_MAX_TEXT : undefined);
      if (v === undefined) c.diags.warn(t, "value", invalid(t.text));
      else (s as Record<string, unknown>)[key] = v;
    },
  };
}

/** check_true_false (see trueFalseKeyword): keepalived's `Invalid WHAT parameter WORD` otherwise. */
const onOff = <S>(key: string, what: string): KeywordSpec<S> =>
  trueFalseKeyword<S>(
    (s, v) => {
      (s as Record<string, unknown>)[key] = v;
    },
    (w) => `Invalid ${what} parameter ${w}`,
  );

/** `alpha [on|off]` in a checker (check_api.c alpha_handler). */
export const checkerAlpha: KeywordSpec<CheckerDraft> = onOff("alpha", "alpha");

/** `log_all_failures [on|off]` in a checker (check_api.c log_all_failures_handler). */
export const checkerLogAllFailures: KeywordSpec<CheckerDraft> = onOff("logAllFailures", "log_all_failures");

/** `inhibit_on_failure [on|off]` in a real server (check_parser.c rs_inhibit_handler). */
export const realServerInhibit: KeywordSpec<RealServerDraft> = onOff(
  "inhibitOnFailure",
  "inhibit_on_failure",
);

/** Real-server keywords a checker inherits (check_parser.c rs_*_handler). */
export const realServerTimingKeywords: KeywordTable<RealServerDraft> = {
  delay_loop: timer(
    "delayLoopUs",
    1,
    TIMER_MAX_US,
    (v) => `real server delay_loop '${v}' invalid - ignoring`,
  ),
  connect_timeout: timer(
    "connectTimeoutUs",
    1,
    UINT_MAX_US,
    (v) => `real server connect_timeout ${v} invalid - ignoring`,
  ),
  delay_before_retry: timer(
    "delayBeforeRetryUs",
    0,
    TIMER_MAX_US,
    (v) => `real server delay_before_retry '${v}' invalid - ignoring`,
  ),
  warmup: timer("warmupUs", 0, TIMER_MAX_US, (v) => `real server warmup '${v}' invalid - ignoring`),
  retry: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "value", false);
      if (t === undefined) return;
      const v = readUnsigned(c, t, 1, UINT32_MAX);
      if (v === undefined) c.diags.warn(t, "value", `retry value invalid - ${t.text}`);
      else s.retry = v;
    },
  },
  alpha: onOff("alpha", "alpha"),
};

/** `uthreshold` / `lthreshold` (0..UINT_MAX; keepalived's line and no change otherwise). */
export const realServerThresholdKeywords: KeywordTable<RealServerDraft> = Object.fromEntries(
  (["uthreshold", "lthreshold"] as const).map((kw) => [
    kw,
    {
      handle: (c, st, s) => {
        const t = arg(c, st, 0, "value", false);
        if (t === undefined) return;
        const v = readUnsigned(c, t, 0, UINT32_MAX, true);
        if (v === undefined)
          return void c.diags.warn(t, "value", `Invalid real_server ${kw} '${t.text}' - ignoring`);
        s[kw === "uthreshold" ? "upperThreshold" : "lowerThreshold"] = v;
      },
    } satisfies KeywordSpec<RealServerDraft>,
  ]),
);

/** inet_aton: 1 to 4 parts, each decimal, octal (0…) or hex (0x…); the last fills the rest. */
export function inetAton(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const p of parts) {
    const m = /^(?:0[xX]([0-9a-fA-F]*)|(0[0-7]*)|([1-9]\d*))$/.exec(p);
    if (m === null) return undefined;
    const v =
      m[1] !== undefined
        ? m[1] === ""
          ? 0
          : Number.parseInt(m[1], 16)
        : m[2] !== undefined
          ? Number.parseInt(m[2], 8)
          : Number(m[3]);
    values.push(v);
  }
  const last = values.pop() as number;
  if (values.some((v) => v > 255) || last >= 2 ** (8 * (4 - values.length))) return undefined;
  return values.reduce((acc, v, i) => acc + v * 2 ** (8 * (3 - i)), 0) + last;
}

const dotted = (v: number): string => [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join(".");

/** pgr_handler: the family is the virtual server's so far, else a `.` means IPv4. */
function readGranularity(c: Ctx, st: Statement, s: VirtualServerDraft): void {
  const t = arg(c, st, 0, "value", false);
  if (t === undefined) return;
  const family: Family = s.family ?? (t.text.includes(".") ? "ipv4" : "ipv6");
  if (family === "ipv6") {
    const v = readInt(c, t, 1, 128);
    if (v === undefined)
      return void c.diags.warn(t, "value", `Invalid IPv6 persistence_granularity specified - ${t.text}`);
    s.persistenceGranularity = String(v);
  } else {
    const v = inetAton(t.text);
    if (v === undefined)
      return void c.diags.warn(t, "value", `Invalid IPv4 persistence_granularity specified - ${t.text}`);
    s.persistenceGranularity = dotted(v);
  }
  s.family ??= family;
  s.persistenceTimeoutS ??= 360;
}

/** lbflags_handler: flag-1..3 always; sh-* only after `lvs_sched sh`, mh-* only after `mh`. */
function schedulerFlag(c: Ctx, st: Statement, s: VirtualServerDraft): void {
  const kw = st.keyword.text;
  const add = (f: "flag-1" | "flag-2" | "flag-3"): void => {
    if (!s.schedulerFlags.includes(f)) s.schedulerFlags.push(f);
    s.schedulerFlags.sort();
  };
  if (kw === "ops") s.onePacket = true;
  else if (kw === "flag-1" || kw === "flag-2" || kw === "flag-3") add(kw);
  else if (s.scheduler === "sh" || s.scheduler === "mh") {
    if (kw === `${s.scheduler}-port`) add("flag-2");
    else if (kw === `${s.scheduler}-fallback`) add("flag-1");
  } else c.diags.warn(st.keyword, "semantic", `${kw} only applies to sh scheduler - ignoring`);
}

/** Virtual-server keywords for IPVS service options and inherited timing. */
export const virtualServerOptionKeywords: KeywordTable<VirtualServerDraft> = {
  persistence_granularity: { handle: readGranularity },
  persistence_engine: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "value", false);
      if (t === undefined) return;
      if (t.text.length > 15) c.diags.warn(t, "value", `persistence_name too long, truncating - ${t.text}`);
      s.persistenceEngine = t.text.slice(0, 15);
    },
  },
  ...Object.fromEntries(
    ["ops", "hashed", "flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback"].map(
      (k) => [k, { handle: schedulerFlag } satisfies KeywordSpec<VirtualServerDraft>],
    ),
  ),
  ip_family: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "value", false);
      if (t === undefined) return;
      const f: Family | undefined = t.text === "inet" ? "ipv4" : t.text === "inet6" ? "ipv6" : undefined;
      if (f === undefined) return void c.diags.warn(t, "value", `unknown address family ${t.text}`);
      if (s.family !== null && s.family !== f)
        return void c.diags.warn(
          t,
          "semantic",
          `Virtual server specified family ${t.text} conflicts with server family`,
        );
      s.family = f;
    },
  },
  warmup: timer("warmupUs", 0, TIMER_MAX_US, (v) => `virtual server warmup '${v}' invalid - ignoring`),
};

/**
 * rs_end_handler: a real server not tunnelled sets the virtual server's family, or is skipped when
 * it has the other one. Returns whether to keep the real server.
 */
export function keepRealServer(c: Ctx, st: Statement, vs: VirtualServerDraft, rs: RealServerDraft): boolean {
  if ((rs.method ?? vs.method) === "TUN") return true;
  const f = familyOf(rs.address) ?? "ipv4";
  if (vs.family === null) vs.family = f;
  else if (vs.family !== f) {
    c.diags.error(
      st.close ?? st.keyword, // rs_end_handler: at the block's end
      "semantic",
      `Address family of virtual server and real server ${rs.address} don't match - skipping real server.`,
    );
    return false;
  }
  return true;
}

/**
 * vs_end_handler: the sorry server sets the family or is dropped; a fwmark virtual server still
 * without one takes its servers' common family, else IPv4. A group's is settled when it is linked.
 */
export function endVirtualServer(c: Ctx, st: Statement, vs: VirtualServerDraft): void {
  if (vs.sorryServer !== null) {
    const f = familyOf(vs.sorryServer.address) ?? "ipv4";
    if (vs.family === null) vs.family = f;
    else if (vs.family !== f) {
      c.diags.error(
        st.keyword,
        "semantic",
        `Address family of virtual server and sorry server ${vs.sorryServer.address} don't match - skipping sorry server.`,
      );
      vs.sorryServer = null;
    }
  }
  if (vs.family === null && vs.key.kind !== "group") {
    const fams = new Set(vs.realServers.map((r) => familyOf(r.address) ?? "ipv4"));
    vs.family = fams.size === 1 ? ([...fams][0] as Family) : "ipv4";
  }
}
