/**
 * The failure lines of TCP_CHECK, HTTP_GET / SSL_GET and MISC_CHECK (and DNS_CHECK / SMTP_CHECK's
 * with log_all_failures) come from the checker machine, in keepalived 2.2.7's words and at its
 * moments: without `log_all_failures` no line per failed attempt, only the state changes
 * (`TCP_CHECK on service … failed after N retries.`, `HTTP_CHECK on service … failed.`, `Misc check
 * … after N retries`); with it (the checker's, or the global `checker_log_all_failures`) one line per
 * failed attempt — check_tcp.c tcp_check_thread while the checker is up, check_http.c timeout_epilog
 * while up or not yet run, check_misc.c's message_only lines (`, will do N retries`, ` on retry K/N`),
 * dns_final / smtp_final before the retries are spent. A probe that could not run (bind failure)
 * decides nothing. Each run with the option is compared step by step with the same run without it:
 * the only difference is the attempt's line, first in the step. A Node's journal replays the lines.
 */
import { describe, expect, test } from "vitest";
import { type CheckerSpec, miscRetryText, type ProbeResult } from "../../machines/checker.machine.ts";
import { HTTP_REASON, TCP_REASON } from "../../machines/checker-tcp-http.ts";
import { loadConfig } from "../../src/config/load.ts";
import { virtualServerSpec } from "../../src/lvs/spec.ts";
import { memFs } from "../config/memfs.ts";
import { runCheckersInNode } from "./node-run.ts";
import { Driver, logs, rs, tcp, timers, VS, vs } from "./support.ts";

const R1 = "[198.18.0.11]:tcp:80";
const REMOVED = `Removing service ${R1} from VS ${VS}`;

/** One checker on one real server; `laf`: log_all_failures. */
const driver = (over: Partial<CheckerSpec>, laf: boolean) =>
  new Driver(
    vs({ realServers: [rs(1, { checkers: [tcp({ ...over, ...(laf ? { logAllFailures: true } : {}) })] })] }),
  );

type Step = { ok: boolean; atUs: number; extra?: object };

/** Runs `steps` with and without log_all_failures; returns each step's lines for both. */
function both(over: Partial<CheckerSpec>, steps: readonly Step[]): { on: string[][]; off: string[][] } {
  const run = (laf: boolean) => {
    const d = driver(over, laf);
    d.start();
    return steps.map((s) => logs(d.check(0, s.ok, s.atUs, 0, s.extra ?? {})));
  };
  return { on: run(true), off: run(false) };
}

/** up at 1 s, then 3 failures (retry 2) at 7, 8, 9 s, then one while down at 15 s. */
const upThenFail = (extra: object, okExtra: object = {}): Step[] => [
  { ok: true, atUs: 1_000_000, extra: okExtra },
  { ok: false, atUs: 7_000_000, extra },
  { ok: false, atUs: 8_000_000, extra },
  { ok: false, atUs: 9_000_000, extra },
  { ok: false, atUs: 15_000_000, extra },
];

describe("TCP_CHECK (check_tcp.c): the attempt's line only with log_all_failures, while up", () => {
  const cases: [string, ProbeResult, string | null][] = [
    [
      "timeout",
      { ok: false, timedOut: true, reason: TCP_REASON.timeout },
      `TCP connection to ${R1} timeout.`,
    ],
    ["failed", { ok: false, reason: TCP_REASON.failed }, `TCP connection to ${R1} failed.`],
    // connect() failed at once: tcp_connect_thread goes to tcp_epilog without a line.
    ["unreachable", { ok: false, reason: TCP_REASON.unreachable }, null],
  ];
  test.each(cases)("%s", (_name, res, line) => {
    const { on, off } = both({ retry: 2 }, upThenFail(res));
    expect(off).toEqual([
      [`TCP connection to ${R1} success.`],
      [],
      [],
      [`TCP_CHECK on service ${R1} failed after 2 retries.`, REMOVED, expect.any(String)],
      [],
    ]);
    const attempt = line === null ? [] : [line];
    // Up for the three failures (the third takes it down after its line); down: no line.
    expect(on).toEqual(off.map((l, i) => (i >= 1 && i <= 3 ? [...attempt, ...l] : l)));
  });

  test("the machine's own connect_timeout is a timeout; a checker that starts down (alpha) logs no attempt", () => {
    const d = driver({ retry: 0 }, true);
    d.start();
    d.check(0, true, 1_000_000);
    d.timer("check:0.0", 7_000_000);
    expect(logs(d.timer("timeout:0.0", 10_000_000)).slice(0, 2)).toEqual([
      `TCP connection to ${R1} timeout.`,
      `TCP_CHECK on service ${R1} failed.`,
    ]);
    const a = driver({ retry: 0, alpha: true }, true);
    a.start();
    // is_up is false: no attempt line; not yet run: the state line (tcp_epilog).
    expect(logs(a.check(0, false, 1_000_000, 0, { reason: "failed" }))).toEqual([
      `TCP_CHECK on service ${R1} failed.`,
    ]);
  });
});

describe("HTTP_GET / SSL_GET (check_http.c timeout_epilog): `<reason> server FMT_CHK.` with log_all_failures", () => {
  const reasons = Object.values(HTTP_REASON);
  for (const kind of ["HTTP_GET", "SSL_GET"] as const)
    test.each(reasons)(`${kind}: %s`, (reason) => {
      const over = { kind, retry: 2, urls: [{ path: "/", hasDigest: false }] };
      const { on, off } = both(over, upThenFail({ reason }));
      expect(off).toEqual([
        [`Remote Web server ${R1} succeed on service.`],
        [],
        [],
        [`HTTP_CHECK on service ${R1} failed after 2 retries.`, REMOVED, expect.any(String)],
        [],
      ]);
      const line = `${reason} server ${R1}.`;
      expect(on).toEqual(off.map((l, i) => (i >= 1 && i <= 3 ? [line, ...l] : l)));
    });

  test("not yet run counts as up: an alpha checker's first failure is logged too", () => {
    const d = driver(
      { kind: "HTTP_GET", retry: 0, alpha: true, urls: [{ path: "/", hasDigest: false }] },
      true,
    );
    d.start();
    expect(logs(d.check(0, false, 1_000_000, 0, { reason: HTTP_REASON.responseTimeout }))[0]).toBe(
      `Timeout WEB read server ${R1}.`,
    );
  });
});

describe("MISC_CHECK (check_misc.c): message_only lines with log_all_failures", () => {
  const cases: [string, object, string, string][] = [
    ["exit status", { exitStatus: 3 }, "failed", " (exited with status 3)"],
    ["signal", { signal: 9 }, "failed", " (due to signal 9)"],
    ["timeout", { timedOut: true, signal: 15 }, "timed out", ""],
  ];
  test.each(cases)("%s", (_name, extra, kind, why) => {
    const over = { kind: "MISC_CHECK" as const, retry: 2, miscPath: "/bin/chk" };
    const { on, off } = both(over, upThenFail(extra, { exitStatus: 0 }));
    const m = `Misc check for [${R1} VS ${VS}] by [/bin/chk]`;
    expect(off).toEqual([
      [`${m} succeeded.`],
      [],
      [],
      [`${m} ${kind} after 2 retries${why}.`, REMOVED, expect.any(String)],
      [],
    ]);
    expect(on).toEqual([
      off[0],
      [`${m} ${kind}, will do 2 retries${why}.`],
      [`${m} ${kind} on retry 1/2${why}.`],
      off[3],
      [],
    ]);
  });

  test("the retry words, as check_misc.c builds them", () => {
    expect([0, 1, 2, 3].map((it) => miscRetryText(3, it))).toEqual([
      " after 3 retries",
      ", will do 3 retries",
      " on retry 1/3",
      " on retry 2/3",
    ]);
    expect([miscRetryText(1, 1), miscRetryText(1, 0), miscRetryText(0, 0)]).toEqual([
      ", will do 1 retry",
      " after 1 retry",
      " with retry disabled",
    ]);
  });
});

describe("DNS_CHECK / SMTP_CHECK with log_all_failures: every failed attempt while up", () => {
  test("DNS_CHECK: the retried attempts without the suffix, the last with it", () => {
    const reason = "read timeout from socket";
    const { on, off } = both({ kind: "DNS_CHECK", retry: 2 }, upThenFail({ reason }));
    expect(off.slice(1, 3)).toEqual([[], []]);
    expect(on.slice(1, 4).map((l) => l[0])).toEqual([
      `DNS_CHECK (${R1}) ${reason}`,
      `DNS_CHECK (${R1}) ${reason}`,
      `DNS_CHECK (${R1}) ${reason} after 2 retries`,
    ]);
    expect(on[4]).toEqual([]);
  });

  test("SMTP_CHECK: every attempt while up; the down server's retries stay silent", () => {
    const reason = "Read timeout from server [198.18.0.11]:25";
    const { on, off } = both({ kind: "SMTP_CHECK", retry: 2 }, upThenFail({ reason }));
    expect(off.slice(1, 3)).toEqual([[], []]);
    expect(on.slice(1, 4).map((l) => l[0])).toEqual([1, 2, 3].map(() => `SMTP_CHECK ${reason}`));
    expect(on[4]).toEqual([]);
  });
});

describe("a probe that could not run (bind failure) decides nothing", () => {
  for (const kind of ["TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK"] as const)
    test(kind, () => {
      const d = driver({ kind, retry: 1, urls: [{ path: "/", hasDigest: false }] }, true);
      d.start();
      d.check(0, true, 1_000_000, 0, { exitStatus: 0 });
      d.check(0, false, 7_000_000, 0, { reason: "failed", exitStatus: 1 }); // a retry is pending
      const before = d.state.rs[0]?.checkers[0];
      const r = d.check(0, false, 8_000_000, 0, { rescheduled: true });
      expect([logs(r), timers(r)]).toEqual([[], ["check:0.0+6000000"]]);
      const after = d.state.rs[0]?.checkers[0];
      expect([after?.isUp, after?.retryIt, after?.hasRun]).toEqual([
        before?.isUp,
        before?.retryIt,
        before?.hasRun,
      ]);
      expect(logs(d.check(0, true, 14_000_000, 0, { exitStatus: 0 }))).toEqual([]);
    });
});

describe("configuration: log_all_failures and checker_log_all_failures as keepalived parses them", () => {
  const conf = (global: string, checker: string) => `global_defs {
${global}
}
virtual_server 198.18.0.100 80 {
  protocol TCP
  real_server 198.18.0.11 80 {
    TCP_CHECK {
${checker}
    }
  }
}
`;
  const load = (text: string) => {
    const r = loadConfig("/k.conf", { configId: "lb1", fs: memFs({ "/k.conf": text }) });
    const checker = r.runnable?.virtualServers[0]?.realServers[0]?.checkers[0];
    const first = r.runnable?.virtualServers[0];
    const spec = first === undefined ? undefined : virtualServerSpec(first);
    return {
      laf: checker?.logAllFailures,
      spec: spec?.realServers[0]?.checkers[0]?.logAllFailures ?? false,
      messages: r.diagnostics.map((d) => d.message).filter((m) => !m.startsWith("Virtual server")),
    };
  };
  test.each([
    ["", "", false, []],
    ["", "log_all_failures", true, []],
    ["", "log_all_failures on", true, []],
    ["", "log_all_failures yes", true, []],
    ["", "log_all_failures off", false, []],
    // check_true_false compares exactly: keepalived 2.2.7 -t says the same.
    ["", "log_all_failures ON", false, ["Invalid log_all_failures parameter ON"]],
    ["checker_log_all_failures", "", true, []],
    ["checker_log_all_failures true", "log_all_failures no", true, []],
    ["checker_log_all_failures no", "", false, []],
    ["checker_log_all_failures maybe", "", false, ["Invalid value for checker_log_all_failures specified"]],
  ])("global %j, checker %j", (global, checker, laf, messages) => {
    const r = load(conf(global, checker));
    expect([r.laf, r.spec, r.messages]).toEqual([laf, laf, messages]);
  });
});

describe("inside a Node: every attempt's line is a journaled decision and replays exactly", () => {
  test("checker_log_all_failures: TCP_CHECK, HTTP_GET and MISC_CHECK lines, replay verifies", () => {
    const answer = (checker: number): ProbeResult =>
      checker === 0
        ? { ok: false, reason: TCP_REASON.failed }
        : checker === 1
          ? { ok: false, timedOut: true, reason: HTTP_REASON.responseTimeout }
          : { ok: false, exitStatus: 2 };
    const checkers = [
      tcp({ retry: 1, logAllFailures: true }),
      tcp({ kind: "HTTP_GET", retry: 1, logAllFailures: true, urls: [{ path: "/", hasDigest: false }] }),
      tcp({ kind: "MISC_CHECK", retry: 1, logAllFailures: true, miscPath: "/bin/chk" }),
    ];
    const { lines, journal, replay } = runCheckersInNode(checkers, answer, 8_000_000);
    const attempts = lines.filter((l) => /timeout|failed|Timeout|Misc/.test(l));
    expect(attempts).toEqual([
      // Not yet run, one failure is enough: each attempt's line, then the state change.
      `1001000 TCP connection to ${R1} failed.`,
      `1001000 TCP_CHECK on service ${R1} failed.`,
      `1001000 Timeout WEB read server ${R1}.`,
      // timeout_epilog marks it run before epilog: keepalived's ` after 1 retries` even at the first.
      `1001000 HTTP_CHECK on service ${R1} failed after 1 retries.`,
      `1001000 Misc check for [${R1} VS ${VS}] by [/bin/chk] failed after 1 retry (exited with status 2).`,
    ]);
    expect(journal.some((l) => l.includes('"reason":"Timeout WEB read"'))).toBe(true);
    expect(replay.mismatches).toEqual([]);
    expect(replay.timerFaults).toEqual([]);
  });
});
