import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer, type TlsOptions } from "node:tls";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ProbeResult } from "../../machines/checker.machine.ts";
import { HTTP_REASON, TCP_REASON } from "../../machines/checker-tcp-http.ts";
import { connectEnd } from "../../src/lvs/errno-text.ts";
import { type HttpTarget, httpProbe, type NetProbeResult, tcpProbe } from "../../src/lvs/net.probe.ts";
import { configProbePort, selfSignedKeys } from "./probe-support.ts";

let dir = "";
let keys: { key: string; cert: string };
const servers: Server[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vigil-lines-"));
  keys = selfSignedKeys(dir);
});
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  rmSync(dir, { recursive: true, force: true });
  await new Promise((r) => setTimeout(r, 50));
  const open = process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "TLSWrap");
  expect(open).toEqual([]);
});

const sockets = new Set<Socket>();
async function listen(onConn: (s: Socket) => void, tls?: TlsOptions): Promise<number> {
  const handler = (s: Socket): void => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    onConn(s);
  };
  const server = tls === undefined ? createServer(handler) : createTlsServer(tls, handler);
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  servers.push(server);
  return (server.address() as { port: number }).port;
}
/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const p = await listen(() => {});
  await new Promise((r) => servers.pop()?.close(r));
  return p;
}
afterAll(() => {
  for (const s of sockets) s.destroy();
});

const once = (start: (done: (r: NetProbeResult) => void) => () => void): Promise<NetProbeResult> =>
  new Promise((resolve) => start(resolve));
const base = (port: number) => ({
  host: "127.0.0.1",
  port,
  bindTo: null,
  timeoutMs: 300,
  label: `[127.0.0.1]:tcp:${port}`,
});
const http = (port: number, over: Partial<HttpTarget> = {}): HttpTarget => ({
  ...base(port),
  tls: false,
  path: "/",
  statusCodes: null,
  digest: null,
  ...over,
});
/** Timers whose deadline the test fires by hand (before any I/O). */
const manual = () => {
  let fire = (): void => {};
  return {
    timers: {
      setTimeout: (fn: () => void) => {
        fire = fn;
        return 1;
      },
      clearTimeout: () => {},
    },
    fire: () => fire(),
  };
};
/** After the request: answer with `text` (or nothing), then end, reset or stay silent. */
const afterRequest =
  (text: string | null, then: "end" | "reset" | "silent") =>
  (s: Socket): void => {
    s.once("data", () => {
      if (text !== null) s.write(text);
      if (then === "end") s.end();
      else if (then === "reset") setTimeout(() => s.resetAndDestroy(), 20);
    });
  };

describe("how a connect ends (layer4.c socket_bind_connect, socket_state)", () => {
  const err = (code: string, syscall = "connect") => Object.assign(new Error(code), { code, syscall });
  test.each([
    [err("EADDRNOTAVAIL", "bind"), false, { kind: "bind", text: "Cannot assign requested address" }],
    [err("ENETUNREACH"), true, { kind: "unreachable" }],
    [err("EHOSTUNREACH"), true, { kind: "unreachable" }],
    [err("EACCES"), true, { kind: "error" }],
    [err("EINVAL"), true, { kind: "error" }],
    [err("ETIMEDOUT"), false, { kind: "timeout" }],
    [err("ECONNREFUSED"), false, { kind: "failed" }],
    [err("EHOSTUNREACH"), false, { kind: "failed" }],
  ])("%s (at once: %s)", (e, atOnce, end) => expect(connectEnd(e, atOnce)).toEqual(end));
});

describe("TCP_CHECK: check_tcp.c's reasons", () => {
  test("refused later: failed; the deadline: timeout; a bind failure: no verdict", async () => {
    const [c1, c2, c3] = [await closedPort(), await closedPort(), await closedPort()];
    expect(await once((d) => tcpProbe(base(c1), d))).toEqual({
      ok: false,
      reason: TCP_REASON.failed,
    });
    const m = manual();
    const p = once((d) => tcpProbe({ ...base(c2), timers: m.timers }, d));
    m.fire();
    expect(await p).toEqual({ ok: false, timedOut: true, reason: TCP_REASON.timeout });
    expect(await once((d) => tcpProbe({ ...base(c3), bindTo: "198.18.0.1" }, d))).toEqual({
      ok: false,
      rescheduled: true,
      lines: [
        "Checker bind failed: Cannot assign requested address",
        "TCP socket bind failed. Rescheduling.",
      ],
    });
  });
});

describe("HTTP_GET: timeout_epilog's reasons", () => {
  const cases: [string, (s: Socket) => void, string, boolean][] = [
    ["silent after the request", afterRequest(null, "silent"), HTTP_REASON.responseTimeout, true],
    ["stalls after some data", afterRequest("HTTP/1.0 200 OK\r\n", "silent"), HTTP_REASON.readTimeout, true],
    ["closes without data", afterRequest(null, "end"), HTTP_REASON.noData, false],
    [
      "closes inside the header",
      afterRequest("HTTP/1.0 200 OK\r\nX: y\r\n", "end"),
      HTTP_REASON.noData,
      false,
    ],
    ["resets after some data", afterRequest("HTTP/1.0 200 OK\r\n", "reset"), HTTP_REASON.readError, false],
    ["answers 500", afterRequest("HTTP/1.0 500 Oops\r\n\r\n", "end"), HTTP_REASON.status, false],
  ];
  test.each(cases)("%s", async (_name, serve, reason, timedOut) => {
    const port = await listen(serve);
    expect(await once((d) => httpProbe(http(port), d))).toEqual({
      ok: false,
      ...(timedOut ? { timedOut: true } : {}),
      reason,
    });
  });

  test("refused: Connection failed; the deadline before the connect: Timeout connecting; a bind failure: no verdict", async () => {
    const [c1, c2, c3] = [await closedPort(), await closedPort(), await closedPort()];
    expect(await once((d) => httpProbe(http(c1), d))).toEqual({
      ok: false,
      reason: HTTP_REASON.connectFailed,
    });
    const m = manual();
    const p = once((d) => httpProbe({ ...http(c2), timers: m.timers }, d));
    m.fire();
    expect(await p).toEqual({ ok: false, timedOut: true, reason: HTTP_REASON.connectTimeout });
    expect(await once((d) => httpProbe(http(c3, { bindTo: "198.18.0.1" }), d))).toEqual({
      ok: false,
      rescheduled: true,
      lines: ["Checker bind failed: Cannot assign requested address", "WEB socket bind failed. Rescheduling"],
    });
  });
});

describe("SSL_GET: check_http.c / check_ssl.c's reasons", () => {
  const tls = (over: TlsOptions = {}): TlsOptions => ({ ...keys, ...over });
  test("a plain server: the handshake fails", async () => {
    const port = await listen((s) => s.end("HTTP/1.0 400 Bad\r\n\r\n"));
    expect(await once((d) => httpProbe(http(port, { tls: true }), d))).toEqual({
      ok: false,
      reason: HTTP_REASON.handshake,
    });
  });

  test("silent after the request: Timeout SSL read over TLS 1.3 (tickets read first), Timeout WEB read over 1.2", async () => {
    const v13 = await listen(() => {}, tls());
    const v12 = await listen(() => {}, tls({ maxVersion: "TLSv1.2" }));
    const r13 = await once((d) => httpProbe(http(v13, { tls: true }), d));
    const r12 = await once((d) => httpProbe(http(v12, { tls: true }), d));
    expect([r13, r12]).toEqual([
      { ok: false, timedOut: true, reason: HTTP_REASON.sslReadTimeout },
      { ok: false, timedOut: true, reason: HTTP_REASON.responseTimeout },
    ]);
  });

  test("a stall after some data: Timeout SSL read; a close without a header: SSL read error from", async () => {
    const stall = await listen(afterRequest("HTTP/1.0 200 OK\r\n", "silent"), tls({ maxVersion: "TLSv1.2" }));
    const close = await listen(afterRequest(null, "end"), tls());
    expect(await once((d) => httpProbe(http(stall, { tls: true }), d))).toEqual({
      ok: false,
      timedOut: true,
      reason: HTTP_REASON.sslReadTimeout,
    });
    expect(await once((d) => httpProbe(http(close, { tls: true }), d))).toEqual({
      ok: false,
      reason: HTTP_REASON.sslReadError,
    });
  });
});

describe("the probe port logs no failed attempt: the reason goes to the machine", () => {
  test("TCP_CHECK refused, HTTP_GET silent, SSL_GET to a plain server", async () => {
    const refused = await closedPort();
    const silent = await listen(afterRequest(null, "silent"));
    const plain = await listen((s) => s.end("HTTP/1.0 400 Bad\r\n\r\n"));
    const checker = (kind: string, port: number, url = true) => `    ${kind} {
      connect_ip 127.0.0.1
      connect_port ${port}
      connect_timeout 0.3
${url ? "      url {\n        path /\n      }\n" : ""}    }`;
    const conf = `virtual_server 198.18.0.100 80 {
  protocol TCP
  real_server 198.18.0.11 80 {
${checker("TCP_CHECK", refused, false)}
${checker("HTTP_GET", silent)}
${checker("SSL_GET", plain)}
  }
}
`;
    const { run, lines } = configProbePort(dir, conf);
    const results: ProbeResult[] = [];
    for (const checker of [0, 1, 2]) results.push(await run({ vs: 0, rs: 0, checker, url: 0 }));
    expect(results).toEqual([
      { ok: false, reason: TCP_REASON.failed },
      { ok: false, timedOut: true, reason: HTTP_REASON.responseTimeout },
      { ok: false, reason: HTTP_REASON.handshake },
    ]);
    expect(lines).toEqual([]);
  });
});
