/**
 * DNS_CHECK and SMTP_CHECK failure lines come when keepalived 2.2.7 logs them, in its words — not on
 * every failed attempt. check_dns.c dns_final: while the checker is up (or has not run), a failure
 * with retries left is retried silently; the last logs `DNS_CHECK (FMT_CHK) reason` (` after N
 * retries` once it has run) and takes it down; while down nothing is logged and nothing retried.
 * check_smtp.c smtp_final: `SMTP_CHECK reason` only while up (or not run) and `retry_it >= retry`;
 * every delay_loop run (the first too) starts from smtp_start_check_thread, which resets retry_it,
 * so the first failure is retried too and a down server is retried silently. A probe that could not
 * run (a bind failure: keepalived's `… Rescheduling.`) is no verdict. Each failure kind: the probe
 * gives its reason (loopback servers), the port logs nothing, the machine logs it once at the end,
 * and a node's journal replays the lines exactly.
 */
import { createSocket } from "node:dgram";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, describe, expect, test } from "vitest";
import type { ProbeResult } from "../../machines/checker.machine.ts";
import { dnsProbe } from "../../src/lvs/dns.probe.ts";
import type { NetProbeResult } from "../../src/lvs/net.probe.ts";
import { probeOutcome } from "../../src/lvs/probe-port.ts";
import { smtpProbe } from "../../src/lvs/smtp.probe.ts";
import { runCheckersInNode } from "./node-run.ts";
import { Driver, logs, rs, tcp, timers, VS, vs } from "./support.ts";

const R1 = "[198.18.0.11]:tcp:80";
const REMOVED = `Removing service ${R1} from VS ${VS}`;

/** Every reason keepalived 2.2.7's dns_final is called with (check_dns.c). */
const DNS_REASONS = [
  "read timeout from socket",
  "failed to read socket; errno 111 (Connection refused)",
  "read error occurred. (rcode = 3)",
  "failed to write socket.",
  "write timeout to socket.",
  "connection error.",
  "connection timeout.",
  "connection failure.",
  "network unreachable for [198.18.0.11]:53",
];
/** Every reason keepalived 2.2.7's smtp_final is called with (check_smtp.c), for server [198.18.0.11]:25. */
const SMTP_REASONS = [
  "Read timeout from server",
  "Read failure from server",
  "Write timeout to server",
  "Write failure to server",
  "Bad greeting banner from server",
  "Bad HELO response from server",
  "Error connecting to server",
  "Connection timeout to server",
  "Could not connect to server",
].map((r) => `${r} [198.18.0.11]:25`);

const dnsDriver = (retry: number) =>
  new Driver(vs({ realServers: [rs(1, { checkers: [tcp({ kind: "DNS_CHECK", retry })] })] }));
const smtpDriver = (retry: number) =>
  new Driver(vs({ realServers: [rs(1, { checkers: [tcp({ kind: "SMTP_CHECK", retry })] })] }));

describe("DNS_CHECK: the failure line once the retries are spent (dns_final)", () => {
  test.each(DNS_REASONS)("%s", (reason) => {
    const d = dnsDriver(2);
    d.start();
    const fail = (atUs: number) => d.check(0, false, atUs, 0, { reason });
    // Not yet run (non-alpha: "one failure is enough initially"): logged at once, without retries.
    expect(logs(fail(1_000_000))).toEqual([`DNS_CHECK (${R1}) ${reason}`, REMOVED, expect.any(String)]);
    expect(logs(d.check(0, true, 7_000_000))).toContain(`Adding service ${R1} to VS ${VS}`);
    // Up: two silent retries at delay_before_retry, then the line with keepalived's suffix.
    const f1 = fail(13_000_000);
    expect([logs(f1), timers(f1)]).toEqual([[], ["check:0.0+1000000"]]);
    expect(logs(fail(14_000_000))).toEqual([]);
    const f3 = fail(15_000_000);
    expect(logs(f3).slice(0, 2)).toEqual([`DNS_CHECK (${R1}) ${reason} after 2 retries`, REMOVED]);
    expect(timers(f3)).toEqual(["check:0.0+6000000"]);
    // Down: no line, and no retry (dns_final only retries while the checker is up).
    const down = fail(21_000_000);
    expect([logs(down), timers(down)]).toEqual([[], ["check:0.0+6000000"]]);
  });

  test("retry 0 once run: keepalived's ` after 0 retries`; the machine's timeout is the read timeout", () => {
    const d = dnsDriver(0);
    d.start();
    d.check(0, true, 1_000_000);
    expect(logs(d.check(0, false, 7_000_000, 0, { reason: "connection error." }))[0]).toBe(
      `DNS_CHECK (${R1}) connection error. after 0 retries`,
    );
    const t = dnsDriver(1);
    t.start();
    t.timer("check:0.0", 1_000_000);
    expect(logs(t.timer("timeout:0.0", 4_000_000))[0]).toBe(`DNS_CHECK (${R1}) read timeout from socket`);
  });

  test("a probe that could not run (bind failure) is no verdict: no line, no state change, delay_loop", () => {
    const d = dnsDriver(1);
    d.start();
    d.check(0, true, 1_000_000);
    d.check(0, false, 7_000_000, 0, { reason: "connection error." }); // retry 1 of 1 pending
    const r = d.check(0, false, 8_000_000, 0, { rescheduled: true });
    expect([logs(r), timers(r)]).toEqual([[], ["check:0.0+6000000"]]);
    // The retry count was kept: the next failure is the last.
    expect(logs(d.check(0, false, 14_000_000, 0, { reason: "connection error." }))[0]).toBe(
      `DNS_CHECK (${R1}) connection error. after 1 retries`,
    );
  });
});

describe("SMTP_CHECK: the failure line once the retries are spent (smtp_final)", () => {
  test.each(SMTP_REASONS)("%s", (reason) => {
    const d = smtpDriver(2);
    d.start();
    const fail = (atUs: number) => d.check(0, false, atUs, 0, { reason });
    // The first run comes from smtp_start_check_thread (retry_it = 0): retried silently.
    const f1 = fail(1_000_000);
    expect([logs(f1), timers(f1)]).toEqual([[], ["check:0.0+1000000"]]);
    expect(logs(fail(2_000_000))).toEqual([]);
    const f3 = fail(3_000_000);
    expect(logs(f3).slice(0, 2)).toEqual([`SMTP_CHECK ${reason}`, REMOVED]);
    expect(timers(f3)).toEqual(["check:0.0+6000000"]);
    // Down: the next run starts over (retry_it reset) and retries silently; no line at the end.
    expect(timers(fail(9_000_000))).toEqual(["check:0.0+1000000"]);
    expect(logs(fail(10_000_000))).toEqual([]);
    const last = fail(11_000_000);
    expect([logs(last), timers(last)]).toEqual([[], ["check:0.0+6000000"]]);
    expect(logs(d.check(0, true, 17_000_000))).toContain(`Remote SMTP server ${R1} succeed on service.`);
    // Up again: silent retries, then the line.
    expect(logs(fail(23_000_000))).toEqual([]);
    expect(logs(fail(24_000_000))).toEqual([]);
    expect(logs(fail(25_000_000))[0]).toBe(`SMTP_CHECK ${reason}`);
  });

  test("retry 0: the first failure logs and removes; a bind failure is no verdict", () => {
    const d = smtpDriver(0);
    d.start();
    const r = d.check(0, false, 1_000_000, 0, { rescheduled: true });
    expect([logs(r), timers(r)]).toEqual([[], ["check:0.0+6000000"]]);
    const f = d.check(0, false, 7_000_000, 0, { reason: SMTP_REASONS[0] });
    expect(logs(f).slice(0, 2)).toEqual([`SMTP_CHECK ${SMTP_REASONS[0]}`, REMOVED]);
  });
});

// --- the probes give the reason; the port logs nothing of it -------------------------------------

const servers: { close: () => void }[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

const once = <T>(start: (done: (r: T) => void) => void): Promise<T> =>
  new Promise((resolve) => start(resolve));

async function listen(onConnection: (s: Socket) => void): Promise<number> {
  const server: Server = createServer(onConnection);
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  servers.push({ close: () => server.close() });
  return (server.address() as { port: number }).port;
}

async function udp(answer: (q: Buffer) => Buffer | null): Promise<number> {
  const s = createSocket("udp4");
  s.on("message", (q, from) => {
    const a = answer(q);
    if (a !== null) s.send(a, from.port, from.address);
  });
  await new Promise<void>((ok) => s.bind(0, "127.0.0.1", ok));
  servers.push({ close: () => s.close() });
  return s.address().port;
}

const dnsReply = (q: Buffer, rcode: number): Buffer => {
  const r = Buffer.from(q);
  r.writeUInt16BE(0x8180 | rcode, 2);
  return r;
};

const net = (port: number) => ({
  host: "127.0.0.1",
  port,
  bindTo: null,
  timeoutMs: 200,
  label: `[127.0.0.1]:tcp:${port}`,
});

describe("each failure kind: the probe's reason reaches the machine, the port logs nothing", () => {
  const expectOutcome = (r: NetProbeResult, reason: string, timedOut = false): void => {
    // No line for the log at every attempt: nothing to log at once.
    expect(r.lines).toBeUndefined();
    expect(probeOutcome(r)).toEqual({ ok: false, ...(timedOut ? { timedOut: true } : {}), reason });
  };

  test("DNS_CHECK: rcode, silence, refusal", async () => {
    const dns = (port: number) => ({ ...net(port), type: null, name: null });
    const nx = await udp((q) => dnsReply(q, 3));
    expectOutcome(await once((d) => dnsProbe(dns(nx), d)), "read error occurred. (rcode = 3)");
    const mute = await udp(() => null);
    expectOutcome(await once((d) => dnsProbe(dns(mute), d)), "read timeout from socket", true);
    const closed = await udp(() => null);
    servers.pop()?.close();
    await new Promise((r) => setTimeout(r, 20));
    expectOutcome(
      await once((d) => dnsProbe({ ...dns(closed), timeoutMs: 2000 }, d)),
      "failed to read socket; errno 111 (Connection refused)",
    );
  });

  test("SMTP_CHECK: banner, HELO, early close, silence, refusal", async () => {
    const smtp = (port: number) => ({ ...net(port), helo: null });
    const where = (port: number) => `server [127.0.0.1]:${port}`;
    const cases: [(s: Socket) => void, string, boolean][] = [
      [(s) => s.write("554 no\r\n"), "Bad greeting banner from", false],
      [
        (s) => {
          s.write("220 ok\r\n");
          s.on("data", () => s.write("550 no\r\n"));
        },
        "Bad HELO response from",
        false,
      ],
      [(s) => s.end(), "Read failure from", false],
      [() => {}, "Read timeout from", true],
    ];
    for (const [serve, why, timedOut] of cases) {
      const port = await listen(serve);
      expectOutcome(await once((d) => smtpProbe(smtp(port), d)), `${why} ${where(port)}`, timedOut);
    }
    const gone = await listen(() => {});
    servers.pop()?.close();
    await new Promise((r) => setTimeout(r, 20));
    expectOutcome(await once((d) => smtpProbe(smtp(gone), d)), `Could not connect to ${where(gone)}`);
  });
});

// --- inside a node: journaled, replayed exactly --------------------------------------------------

describe("inside a Node: the lines are journaled decisions and replay exactly", () => {
  test("DNS_CHECK and SMTP_CHECK failing: one line each, at the end of the retries; replay verifies", () => {
    let probes = 0;
    const answer = (checker: number): ProbeResult => {
      probes++;
      return checker === 0
        ? { ok: false, reason: "read error occurred. (rcode = 2)" }
        : { ok: false, reason: "Bad HELO response from server [198.18.0.11]:25" };
    };
    const checkers = [tcp({ kind: "DNS_CHECK", retry: 1 }), tcp({ kind: "SMTP_CHECK", retry: 1 })];
    const { lines, journal, replay } = runCheckersInNode(checkers, answer, 20_000_000);
    const failures = lines.filter((l) => /(DNS|SMTP)_CHECK/.test(l));
    expect(failures).toEqual([
      // DNS: not run yet, one failure is enough; SMTP: its first run retries once.
      `1001000 DNS_CHECK (${R1}) read error occurred. (rcode = 2)`,
      `2002000 SMTP_CHECK Bad HELO response from server [198.18.0.11]:25`,
    ]);
    expect(probes).toBeGreaterThan(4);
    expect(journal.some((l) => l.includes('"reason":"read error occurred. (rcode = 2)"'))).toBe(true);
    expect(replay.mismatches).toEqual([]);
    expect(replay.timerFaults).toEqual([]);
  });
});
