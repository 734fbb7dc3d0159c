/**
 * SMTP_CHECK's probe against scripted SMTP servers on loopback: the conversation keepalived has
 * (banner 220, `HELO name` → 250, `QUIT` → one line), the exact lines the server receives (the
 * default HELO name and a configured one), keepalived's status rule (`220-…`, `220\r`, `22 `
 * are not 220), a server that hangs at any step (each step has its own deadline: a slow but
 * steady server passes), one that closes early, a refused port; each with keepalived's line. Every
 * socket is closed.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, describe, expect, test } from "vitest";
import type { NetProbeResult } from "../../src/lvs/net.probe.ts";
import { type SmtpTarget, smtpProbe, smtpStatus } from "../../src/lvs/smtp.probe.ts";

const socketHandles = (): number =>
  process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;

interface Smtp {
  server: Server;
  port: number;
  received: string[];
  open: () => number;
}

const servers: Smtp[] = [];
/**
 * A scripted server: `banner` first (after `bannerDelayMs`), then for each line received the
 * answer `reply(line)` (null: say nothing) after `delayMs`.
 */
async function smtp(
  banner: string | null,
  reply: (line: string) => string | null,
  delayMs = 0,
  bannerDelayMs = 0,
): Promise<Smtp> {
  const sockets = new Set<Socket>();
  const x: Smtp = { server: undefined as never, port: 0, received: [], open: () => sockets.size };
  x.server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    const later = (fn: () => void, ms: number): void => void setTimeout(() => !s.destroyed && fn(), ms);
    if (banner !== null) later(() => s.write(banner), bannerDelayMs);
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl + 1);
        buf = buf.slice(nl + 1);
        x.received.push(line);
        const r = reply(line);
        if (r !== null) later(() => s.write(r), delayMs);
      }
    });
  });
  await new Promise<void>((ok) => x.server.listen(0, "127.0.0.1", ok));
  x.port = (x.server.address() as { port: number }).port;
  servers.push(x);
  return x;
}

afterAll(async () => {
  for (const s of servers) await new Promise((ok) => s.server.close(ok));
  expect(socketHandles()).toBe(0);
});

async function settled(x: Smtp): Promise<void> {
  for (let i = 0; i < 100 && x.open() > 0; i++) await new Promise((ok) => setTimeout(ok, 10));
  expect(x.open()).toBe(0);
}

const target = (port: number, over: Partial<SmtpTarget> = {}): SmtpTarget => ({
  host: "127.0.0.1",
  port,
  bindTo: null,
  timeoutMs: 300,
  label: `[127.0.0.1]:tcp:${port}`,
  helo: null,
  ...over,
});

const run = (t: SmtpTarget): Promise<NetProbeResult> =>
  new Promise((resolve) => {
    let calls = 0;
    smtpProbe(t, (r) => {
      calls++;
      setTimeout(() => resolve(calls === 1 ? r : { ok: false, reason: "reported twice" }), 30);
    });
  });

/** A well-behaved server. */
const good = (line: string): string | null =>
  line.startsWith("HELO ") ? "250 pleased to meet you\r\n" : line === "QUIT\r\n" ? "221 bye\r\n" : null;

describe("SMTP_CHECK probe", () => {
  test("keepalived's status rule", () => {
    expect(smtpStatus("220 mail.example ESMTP")).toBe(220);
    expect(smtpStatus("220")).toBe(220);
    expect(smtpStatus("220\r")).toBe(-1);
    expect(smtpStatus("220-first of many")).toBe(-1);
    expect(smtpStatus("22 short")).toBe(-1);
    expect(smtpStatus("2200 long")).toBe(-1);
  });

  test("the conversation passes, with the lines keepalived sends", async () => {
    const a = await smtp("220 mx.test ESMTP\r\n", good);
    expect(await run(target(a.port))).toEqual({ ok: true });
    expect(a.received).toEqual(["HELO smtpchecker.keepalived.org\r\n", "QUIT\r\n"]);
    const b = await smtp("220 mx.test\r\n", good);
    expect(await run(target(b.port, { helo: "lb1.example" }))).toEqual({ ok: true });
    expect(b.received).toEqual(["HELO lb1.example\r\n", "QUIT\r\n"]);
    // Any line after QUIT will do, as in keepalived.
    const c = await smtp("220 mx\r\n", (l) => (l.startsWith("HELO") ? "250 ok\r\n" : "500 whatever\r\n"));
    expect(await run(target(c.port))).toEqual({ ok: true });
    for (const x of [a, b, c]) await settled(x);
  });

  test("a bad banner, a bad HELO reply, an early close, a refused port: keepalived's lines", async () => {
    const label = (p: number): string => `[127.0.0.1]:${p}`;
    const cases: [Smtp, string][] = [
      [await smtp("220-multi\r\n220 line\r\n", good), "Bad greeting banner from server"],
      [await smtp("554 go away\r\n", good), "Bad greeting banner from server"],
      [await smtp("220 ok\r\n", () => "550 no\r\n"), "Bad HELO response from server"],
      [
        await smtp("220 ok\r\n", (l) => (l.startsWith("HELO") ? "250\r\n" : null)),
        "Bad HELO response from server",
      ],
    ];
    for (const [x, why] of cases)
      expect(await run(target(x.port))).toEqual({ ok: false, reason: `${why} ${label(x.port)}` });
    const closer = await smtp(null, good);
    closer.server.on("connection", (s: Socket) => s.end());
    expect(await run(target(closer.port))).toEqual({
      ok: false,
      reason: `Read failure from server ${label(closer.port)}`,
    });
    const gone = await smtp(null, good);
    const port = gone.port;
    await new Promise((ok) => gone.server.close(ok));
    servers.splice(servers.indexOf(gone), 1);
    // ECONNREFUSED comes after the non-blocking connect: socket_state's connect_fail.
    expect(await run(target(port))).toEqual({
      ok: false,
      reason: `Could not connect to server ${label(port)}`,
    });
    // A bind that fails is no verdict: keepalived's two lines at once, then delay_loop (Rescheduling).
    const busy = await smtp(null, good);
    expect(await run(target(busy.port, { bindTo: "127.0.0.1", bindPort: busy.port }))).toEqual({
      ok: false,
      rescheduled: true,
      lines: ["Checker bind failed: Address already in use", "SMTP_CHECK socket bind failed. Rescheduling."],
    });
    await settled(busy);
    for (const [x] of cases) await settled(x);
    await settled(closer);
  });

  test("each step has its own deadline: silence fails, a slow but steady server passes", async () => {
    const silent = await smtp(null, good);
    const t0 = Date.now();
    expect(await run(target(silent.port, { timeoutMs: 200 }))).toEqual({
      ok: false,
      timedOut: true,
      reason: `Read timeout from server [127.0.0.1]:${silent.port}`,
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    const mute = await smtp("220 ok\r\n", () => null);
    expect((await run(target(mute.port, { timeoutMs: 200 }))).reason).toBe(
      `Read timeout from server [127.0.0.1]:${mute.port}`,
    );
    // Three steps of 150 ms each under a 400 ms deadline: 450 ms in all, and it passes.
    const slow = await smtp("220 slow\r\n", good, 150, 150);
    const t1 = Date.now();
    expect(await run(target(slow.port, { timeoutMs: 400 }))).toEqual({ ok: true });
    expect(Date.now() - t1).toBeGreaterThanOrEqual(400);
    let reported = false;
    const cancel = smtpProbe(target(silent.port), () => {
      reported = true;
    });
    await new Promise((ok) => setTimeout(ok, 50));
    cancel();
    await new Promise((ok) => setTimeout(ok, 50));
    expect(reported).toBe(false);
    for (const x of [silent, mute, slow]) await settled(x);
  });
});
