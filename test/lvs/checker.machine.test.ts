/**
 * The checker machine against keepalived 2.2.7's checker process, step by step (check_tcp.c
 * tcp_epilog, check_http.c epilog, check_misc.c, ipwrapper.c): the first failure decides at once,
 * later ones after `retry` retries at delay_before_retry; inhibit_on_failure edits the weight to 0;
 * quorum with hysteresis swaps in the sorry server; alpha starts servers down; MISC_CHECK's dynamic
 * weights; connect_timeout as a machine timer; stop. Exact log lines, IPVS operations, notifies and
 * timer delays.
 */
import { describe, expect, test } from "vitest";
import { initialPoolState, stepPool } from "../../machines/checker.machine.ts";
import { Driver, IpvsTable, ipvs, logs, notifies, rs, tcp, timers, VS, vs } from "./support.ts";

const R1 = "[198.18.0.11]:tcp:80";
const R2 = "[198.18.0.12]:tcp:80";

describe("start", () => {
  test("adds the service and every real server, gains the quorum, schedules 1 s + scaled warmup", () => {
    const d = new Driver(
      vs({ realServers: [rs(1, { checkers: [tcp({ warmupUs: 4_000_000 })] }), rs(2)], hasQuorumUp: true }),
    );
    const out = d.start(0, [1_073_741_823, 123]); // about RAND_MAX / 2
    expect(ipvs(out)).toEqual(["addService", "addDest 0 w1", "addDest 1 w1"]);
    expect(logs(out)).toEqual([
      `Gained quorum 1+0=1 <= 2 for VS ${VS}`,
      `Activating healthchecker for service ${R1} for VS ${VS}`,
      `Activating healthchecker for service ${R2} for VS ${VS}`,
    ]);
    expect(notifies(out)).toEqual(["quorumUp", `VS ${VS} UP`]);
    // warmup 0 for the second: BOOTSTRAP_DELAY alone.
    expect(timers(out)).toEqual(["check:0.0+2999999", "check:1.0+1000000"]);
    expect(d.start(5)).toEqual([]); // a second START changes nothing
    // 60 s of warmup × a draw near RAND_MAX: keepalived truncates (64-bit integer math).
    const big = new Driver(vs({ realServers: [rs(1, { checkers: [tcp({ warmupUs: 60_000_000 })] })] }));
    expect(timers(big.start(0, [2_147_483_646]))).toEqual(["check:0.0+60999999"]);
  });

  test("alpha: nothing is added until a first success; a first failure runs notify_down", () => {
    const d = new Driver(
      vs({
        realServers: [rs(1, { hasNotifyDown: true, hasNotifyUp: true }), rs(2, { hasNotifyDown: true })],
      }),
    );
    const spec = {
      ...d.spec,
      realServers: d.spec.realServers.map((r) => ({ ...r, checkers: [tcp({ alpha: true })] })),
    };
    const a = new Driver(spec);
    const out = a.start();
    expect(ipvs(out)).toEqual(["addService"]);
    expect(logs(out).filter((l) => l.includes("quorum"))).toEqual([]);
    const ok = a.check(0, true, 1_000_000);
    expect(logs(ok)).toEqual([
      `TCP connection to ${R1} success.`,
      `Adding service ${R1} to VS ${VS}`,
      `Gained quorum 1+0=1 <= 1 for VS ${VS}`,
    ]);
    expect(ipvs(ok)).toEqual(["addDest 0 w1"]);
    expect(notifies(ok)).toEqual(["notifyUp 0", `RS ${R1} ${VS} UP`, `VS ${VS} UP`]);
    const bad = a.check(1, false, 1_000_000);
    expect(logs(bad)).toEqual([`TCP_CHECK on service ${R2} failed.`]);
    expect(ipvs(bad)).toEqual([]);
    expect(notifies(bad)).toEqual(["notifyDown 1", `RS ${R2} ${VS} DOWN`]);
  });
});

describe("TCP_CHECK retries", () => {
  test("the first failure removes at once; later ones after retry+1 failures at delay_before_retry", () => {
    const d = new Driver(
      vs({ realServers: [rs(1, { checkers: [tcp({ retry: 2 })], hasNotifyDown: true }), rs(2)] }),
    );
    d.start();
    const first = d.check(0, true, 1_000_000);
    expect(logs(first)).toEqual([`TCP connection to ${R1} success.`]);
    expect(timers(first)).toEqual(["check:0.0+6000000"]);
    expect(d.check(0, true, 7_000_000)).not.toContainEqual(expect.objectContaining({ type: "log" }));
    const f1 = d.check(0, false, 13_000_000);
    expect([logs(f1), ipvs(f1), timers(f1)]).toEqual([[], [], ["check:0.0+1000000"]]);
    const f2 = d.check(0, false, 14_000_000);
    expect([logs(f2), timers(f2)]).toEqual([[], ["check:0.0+1000000"]]);
    const f3 = d.check(0, false, 15_000_000);
    expect(logs(f3)).toEqual([
      `TCP_CHECK on service ${R1} failed after 2 retries.`,
      `Removing service ${R1} from VS ${VS}`,
    ]);
    expect(ipvs(f3)).toEqual(["delDest 0 w1"]);
    expect(notifies(f3)).toEqual(["notifyDown 0", `RS ${R1} ${VS} DOWN`]);
    expect(timers(f3)).toEqual(["check:0.0+6000000"]);
    // Down: further failures say nothing.
    expect(logs(d.check(0, false, 21_000_000))).toEqual([]);
    const back = d.check(0, true, 27_000_000);
    expect(logs(back)).toEqual([`TCP connection to ${R1} success.`, `Adding service ${R1} to VS ${VS}`]);
    expect(ipvs(back)).toEqual(["addDest 0 w1"]);
  });

  test("a success between failures resets the retry count", () => {
    const d = new Driver(vs({ realServers: [rs(1, { checkers: [tcp({ retry: 1 })] })] }));
    d.start();
    d.check(0, true, 1_000_000);
    d.check(0, false, 7_000_000);
    d.check(0, true, 8_000_000);
    expect(logs(d.check(0, false, 14_000_000))).toEqual([]);
    expect(logs(d.check(0, false, 15_000_000))).toContain(
      `TCP_CHECK on service ${R1} failed after 1 retries.`,
    );
  });

  test("connect_timeout is a machine timer: it cancels the probe, fails, and a late result is ignored", () => {
    const d = new Driver(vs());
    d.start();
    const launch = d.timer("check:0.0", 1_000_000);
    expect(launch).toEqual([
      { type: "probe", rs: 0, checker: 0, seq: 1, url: null },
      { type: "setTimer", id: "timeout:0.0", delayUs: 3_000_000 },
    ]);
    const to = d.timer("timeout:0.0", 4_000_000);
    expect(to[0]).toEqual({ type: "cancelProbe", rs: 0, checker: 0, seq: 1 });
    expect(logs(to)).toEqual([`TCP_CHECK on service ${R1} failed.`, `Removing service ${R1} from VS ${VS}`]);
    expect(
      d.step({ type: "RESULT", atUs: 4_500_000, rs: 0, checker: 0, seq: 1, result: { ok: true } }),
    ).toEqual([]);
    expect(d.timer("timeout:0.0", 5_000_000)).toEqual([]);
    expect(d.timer("check:9.9", 5_000_000)).toEqual([]);
    expect(d.timer("garbage", 5_000_000)).toEqual([]);
  });
});

describe("inhibit_on_failure", () => {
  test("weight 0 instead of removal, the weight back on recovery, removed at stop", () => {
    const d = new Driver(vs({ realServers: [rs(1, { inhibit: true, weight: 5 }), rs(2)] }));
    d.start();
    const down = d.check(0, false, 1_000_000);
    expect(logs(down)).toEqual([`TCP_CHECK on service ${R1} failed.`, `Disabling service ${R1} of VS ${VS}`]);
    expect(ipvs(down)).toEqual(["editDest 0 w0"]);
    const up = d.check(0, true, 7_000_000);
    expect(logs(up)).toEqual([`TCP connection to ${R1} success.`, `Enabling service ${R1} of VS ${VS}`]);
    expect(ipvs(up)).toEqual(["editDest 0 w5"]);
    expect(ipvs(d.check(0, false, 13_000_000))).toEqual([]);
    expect(ipvs(d.check(0, false, 14_000_000))).toEqual(["editDest 0 w0"]);
    const stop = d.step({ type: "STOP", atUs: 15_000_000 });
    expect(logs(stop)).toEqual([
      `Shutting down (inhibited) service ${R1} from VS ${VS}`,
      `Shutting down service ${R2} from VS ${VS}`,
    ]);
    expect(ipvs(stop)).toEqual(["delDest 0 w5", "delDest 1 w1", "delService"]);
  });

  test("alpha with inhibit: added at weight 0 at start", () => {
    const d = new Driver(
      vs({ realServers: [rs(1, { inhibit: true, weight: 3, checkers: [tcp({ alpha: true })] })] }),
    );
    expect(ipvs(d.start())).toEqual(["addService", "addDest 0 w0"]);
    expect(ipvs(d.check(0, true, 1_000_000))).toEqual(["editDest 0 w3"]);
  });
});

describe("quorum, hysteresis, sorry server", () => {
  test("losing the quorum swaps every alive server for the sorry server, and back", () => {
    const d = new Driver(
      vs({
        quorum: 2,
        hasQuorumUp: true,
        hasQuorumDown: true,
        sorry: { name: "[198.18.0.99]:tcp:80", weight: 1 },
      }),
    );
    const table = new IpvsTable();
    table.apply(d.start());
    const lost = d.check(0, false, 1_000_000);
    table.apply(lost);
    expect(logs(lost)).toEqual([
      `TCP_CHECK on service ${R1} failed.`,
      `Removing service ${R1} from VS ${VS}`,
      `Lost quorum 2-0=2 > 1 for VS ${VS}`,
      `Adding sorry server [198.18.0.99]:tcp:80 to VS ${VS}`,
      `Removing alive servers from the pool for VS ${VS}`,
    ]);
    expect(ipvs(lost)).toEqual(["delDest 0 w1", "delDest 1 w1", "addDest -1 w1"]);
    expect(notifies(lost)).toEqual([`RS ${R1} ${VS} DOWN`, "quorumDown", `VS ${VS} DOWN`]);
    expect([...table.dests.keys()]).toEqual([-1]);
    const gained = d.check(0, true, 7_000_000);
    table.apply(gained);
    expect(logs(gained)).toEqual([
      `TCP connection to ${R1} success.`,
      `Adding service ${R1} to VS ${VS}`,
      `Gained quorum 2+0=2 <= 2 for VS ${VS}`,
      `Removing sorry server [198.18.0.99]:tcp:80 from VS ${VS}`,
      `Adding alive servers to the pool for VS ${VS}`,
    ]);
    expect(ipvs(gained)).toEqual(["delDest -1 w1", "addDest 0 w1", "addDest 1 w1"]);
    expect([...table.dests.keys()].sort()).toEqual([0, 1]);
    table.apply(d.step({ type: "STOP", atUs: 8_000_000 }));
    expect(table.service).toBe(false);
  });

  test("hysteresis: lost below quorum − hysteresis, gained at quorum + hysteresis", () => {
    const d = new Driver(vs({ quorum: 2, hysteresis: 1, realServers: [rs(1), rs(2), rs(3)] }));
    expect(logs(d.start())[0]).toBe(`Gained quorum 2+1=3 <= 3 for VS ${VS}`);
    d.check(0, false, 1_000_000);
    expect(logs(d.check(1, false, 1_000_000)).some((l) => l.includes("quorum"))).toBe(false);
    expect(logs(d.check(2, false, 1_000_000))).toContain(`Lost quorum 2-1=1 > 0 for VS ${VS}`);
    d.check(0, true, 7_000_000);
    expect(logs(d.check(1, true, 7_000_000)).some((l) => l.includes("quorum"))).toBe(false);
    expect(logs(d.check(2, true, 7_000_000))).toContain(`Gained quorum 2+1=3 <= 3 for VS ${VS}`);
  });

  test("alpha with a sorry server starts with the quorum down and the sorry server in", () => {
    const d = new Driver(
      vs({
        sorry: { name: "[198.18.0.99]:tcp:80", weight: 1 },
        realServers: [rs(1, { checkers: [tcp({ alpha: true })] })],
      }),
    );
    const out = d.start();
    expect(logs(out).slice(0, 2)).toEqual([
      `Starting with quorum down 1-0=1 > 0 for VS ${VS}`,
      `Adding sorry server [198.18.0.99]:tcp:80 to VS ${VS}`,
    ]);
    expect(ipvs(out)).toEqual(["addService", "addDest -1 w1"]);
  });
});

describe("MISC_CHECK", () => {
  const misc = (over = {}) =>
    tcp({ kind: "MISC_CHECK", retry: 0, miscPath: "/usr/local/bin/chk", miscDynamic: true, ...over });
  const who = `[${R1} VS ${VS}] by [/usr/local/bin/chk]`;

  test("dynamic weights: exit 2..255 sets weight code − 2; exit 1 fails; the next run counts from the start", () => {
    const d = new Driver(vs({ realServers: [rs(1, { checkers: [misc()] }), rs(2)] }));
    d.start();
    expect(d.timer("check:0.0", 1_000_000)).toEqual([
      { type: "probe", rs: 0, checker: 0, seq: 1, url: null },
    ]);
    const w3 = d.step({
      type: "RESULT",
      atUs: 1_500_000,
      rs: 0,
      checker: 0,
      seq: 1,
      result: { ok: true, exitStatus: 5 },
    });
    expect(logs(w3)).toEqual([
      `Changing weight from 1 to 3 for active service ${R1} of VS ${VS}`,
      `Misc check for ${who} succeeded.`,
    ]);
    expect(ipvs(w3)).toEqual(["editDest 0 w3"]);
    expect(timers(w3)).toEqual(["check:0.0+5500000"]);
    const w0 = d.check(0, true, 7_000_000, 0, { exitStatus: 2 });
    expect(logs(w0)).toEqual([`Changing weight from 3 to 0 for active service ${R1} of VS ${VS}`]);
    expect(ipvs(w0)).toEqual(["editDest 0 w0"]);
    const fail = d.check(0, false, 13_000_000, 0, { exitStatus: 1 });
    expect(logs(fail)).toEqual([
      `Misc check for ${who} failed with retry disabled (exited with status 1).`,
      `Removing service ${R1} from VS ${VS}`,
    ]);
    const ok = d.check(0, true, 19_000_000, 0, { exitStatus: 0 });
    expect(logs(ok)).toEqual([`Misc check for ${who} succeeded.`, `Adding service ${R1} to VS ${VS}`]);
    expect(ipvs(ok)).toEqual(["addDest 0 w1"]);
  });

  test("without misc_dynamic, exit 2 is a failure; retries are silent; a timeout and a signal are named", () => {
    const d = new Driver(
      vs({ realServers: [rs(1, { checkers: [misc({ miscDynamic: false, retry: 1 })] }), rs(2)] }),
    );
    d.start();
    d.check(0, true, 1_000_000, 0, { exitStatus: 0 });
    expect(logs(d.check(0, false, 7_000_000, 0, { exitStatus: 2 }))).toEqual([]);
    expect(logs(d.check(0, false, 8_000_000, 0, { timedOut: true }))).toEqual([
      `Misc check for ${who} timed out after 1 retry.`,
      `Removing service ${R1} from VS ${VS}`,
    ]);
    const e = new Driver(vs({ realServers: [rs(1, { checkers: [misc({ miscDynamic: false })] })] }));
    e.start();
    expect(logs(e.check(0, false, 1_000_000, 0, { signal: 9 }))[0]).toBe(
      `Misc check for ${who} failed with retry disabled (due to signal 9).`,
    );
  });
});

describe("HTTP_GET", () => {
  const http = tcp({
    kind: "HTTP_GET",
    delayBeforeRetryUs: 3_000_000,
    urls: [
      { path: "/a", hasDigest: false },
      { path: "/b", hasDigest: true },
    ],
  });
  test("one url per delay_loop; a failing url retries, then marks the server down; all urls to recover", () => {
    const d = new Driver(vs({ realServers: [rs(1, { checkers: [http] }), rs(2)] }));
    d.start();
    const u0 = d.check(0, true, 1_000_000);
    // HTTP times itself out per read (keepalived's thread_add_read): no machine timeout timer.
    expect(d.launched).toEqual([{ type: "probe", rs: 0, checker: 0, seq: 1, url: 0 }]);
    expect([logs(u0), timers(u0)]).toEqual([[], ["check:0.0+6000000"]]);
    expect(logs(d.check(0, true, 7_000_000))).toEqual([`Remote Web server ${R1} succeed on service.`]);
    const r1 = d.check(0, false, 13_000_000);
    expect([logs(r1), timers(r1)]).toEqual([[], ["check:0.0+3000000"]]);
    const down = d.check(0, false, 16_000_000);
    expect(logs(down)).toEqual([
      `HTTP_CHECK on service ${R1} failed after 1 retries.`,
      `Removing service ${R1} from VS ${VS}`,
    ]);
    expect(timers(down)).toEqual(["check:0.0+6000000"]);
    expect(logs(d.check(0, false, 22_000_000))).toEqual([]);
    expect(logs(d.check(0, true, 28_000_000))).toEqual([`HTTP status code success to ${R1} url(/a)`]);
    expect(logs(d.check(0, true, 34_000_000))).toEqual([`HTTP status code success to ${R1} url(/a)`]);
    const back = d.check(0, true, 40_000_000);
    expect(d.launched[0]).toEqual(expect.objectContaining({ type: "probe", url: 1 }));
    expect(logs(back)).toEqual([
      `MD5 digest success to ${R1} url(/b)`,
      `Remote Web server ${R1} succeed on service.`,
      `Adding service ${R1} to VS ${VS}`,
    ]);
  });
});

describe("stop and purity", () => {
  test("stop cancels timers and probes, removes everything; omega runs the down notifies", () => {
    const d = new Driver(vs({ omega: true, realServers: [rs(1, { hasNotifyDown: true }), rs(2)] }));
    d.start();
    d.timer("check:0.0", 1_000_000);
    const stop = d.step({ type: "STOP", atUs: 2_000_000 });
    expect(stop.filter((c) => c.type === "cancelTimer" || c.type === "cancelProbe")).toEqual([
      { type: "cancelTimer", id: "check:0.0" },
      { type: "cancelTimer", id: "timeout:0.0" },
      { type: "cancelProbe", rs: 0, checker: 0, seq: 1 },
      { type: "cancelTimer", id: "check:1.0" },
    ]);
    expect(ipvs(stop)).toEqual(["delDest 0 w1", "delDest 1 w1", "delService"]);
    expect(stop).toContainEqual({ type: "lvsNotify", script: "notifyDown", rs: 0, stopping: true });
    expect(
      d.step({ type: "RESULT", atUs: 2_000_001, rs: 0, checker: 0, seq: 1, result: { ok: true } }),
    ).toEqual([]);
    expect(d.timer("check:1.0", 3_000_000)).toEqual([]);
  });

  test("a step never mutates its input state", () => {
    const spec = vs({ quorum: 2, sorry: { name: "[198.18.0.99]:tcp:80", weight: 1 } });
    const s0 = initialPoolState(spec);
    const frozen = JSON.stringify(s0);
    const s1 = stepPool(spec, s0, { type: "START", atUs: 0 }).state;
    expect(JSON.stringify(s0)).toBe(frozen);
    const s1Text = JSON.stringify(s1);
    stepPool(spec, s1, { type: "TIMER", atUs: 1, id: "check:0.0" });
    expect(JSON.stringify(s1)).toBe(s1Text);
  });
});

describe("DNS_CHECK, SMTP_CHECK and regex urls", () => {
  test("DNS_CHECK: timed by the machine, retried while up, its own failure line (dns_final)", () => {
    const d = new Driver(vs({ realServers: [rs(1, { checkers: [tcp({ kind: "DNS_CHECK", retry: 1 })] })] }));
    d.start();
    const ok = d.check(0, true, 1_000_000);
    expect(timers(d.launched)).toEqual(["timeout:0.0+3000000"]); // connect_timeout, the machine's
    expect(logs(ok)).toEqual([]); // keepalived logs nothing on a DNS success
    const first = d.check(0, false, 7_000_000);
    expect([logs(first), timers(first)]).toEqual([[], ["check:0.0+1000000"]]); // a silent retry
    const second = d.check(0, false, 8_000_000);
    expect(logs(second)).toEqual([
      `DNS_CHECK (${R1}) connection error. after 1 retries`, // no reason from the probe: connect_error's
      `Removing service ${R1} from VS ${VS}`,
      `Lost quorum 1-0=1 > 0 for VS ${VS}`,
    ]);
    expect(timers(second)).toEqual(["check:0.0+6000000"]);
    // Down: dns_final neither logs nor retries.
    expect(timers(d.check(0, false, 14_000_000))).toEqual(["check:0.0+6000000"]);
  });

  test("SMTP_CHECK: no machine timeout; every delay_loop run starts with retry_it 0 (smtp_start_check_thread)", () => {
    const d = new Driver(vs({ realServers: [rs(1, { checkers: [tcp({ kind: "SMTP_CHECK", retry: 1 })] })] }));
    d.start();
    const up = d.check(0, true, 1_000_000);
    expect(d.launched.some((c) => c.type === "setTimer" && c.id.startsWith("timeout:"))).toBe(false);
    expect(logs(up)).toEqual([`Remote SMTP server ${R1} succeed on service.`]);
    expect(timers(d.check(0, false, 7_000_000))).toEqual(["check:0.0+1000000"]); // retry 1 of 1
    const down = d.check(0, false, 8_000_000);
    expect(logs(down)).toEqual([
      `SMTP_CHECK Could not connect to server [198.18.0.11]:80`, // no reason from the probe
      `Removing service ${R1} from VS ${VS}`,
      `Lost quorum 1-0=1 > 0 for VS ${VS}`,
    ]);
    expect(timers(down)).toEqual(["check:0.0+6000000"]);
    // The next run starts over: retried again (silently, the checker is down), then delay_loop.
    expect(timers(d.check(0, false, 14_000_000))).toEqual(["check:0.0+1000000"]);
    expect(timers(d.check(0, false, 15_000_000))).toEqual(["check:0.0+6000000"]);
    const back = d.check(0, true, 21_000_000);
    expect(logs(back)).toContain(`Remote SMTP server ${R1} succeed on service.`);
    expect(timers(d.check(0, false, 27_000_000))).toEqual(["check:0.0+1000000"]); // retries again after a success
  });

  test("a url with a regex names it in the success line (check_http.c http_handle_response)", () => {
    const url = (hasRegex: boolean) => ({ path: "/h", hasDigest: true, ...(hasRegex ? { hasRegex } : {}) });
    for (const [hasRegex, what] of [
      [true, "Regex match"],
      [false, "MD5 digest"],
    ] as const) {
      const http = tcp({ kind: "HTTP_GET", alpha: true, urls: [url(hasRegex)] });
      const d = new Driver(vs({ realServers: [rs(1, { checkers: [http] })] }));
      d.start();
      expect(logs(d.check(0, true, 1_000_000))).toContain(`${what} success to ${R1} url(/h)`);
    }
  });
});
