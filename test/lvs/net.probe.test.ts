import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type HttpTarget,
  httpProbe,
  httpRequest,
  type NetProbeResult,
  statusAccepted,
  tcpProbe,
} from "../../src/lvs/net.probe.ts";
import { selfSignedKeys } from "./probe-support.ts";

const socketHandles = (): number =>
  process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "TLSWrap").length;

/** A server whose connections are counted; `open` falls to 0 when every connection has closed. */
interface Counted {
  server: Server;
  port: number;
  open: () => number;
  requests: string[];
}

async function serve(
  onConn: (s: Socket, req: Counted) => void,
  tls?: { key: string; cert: string },
): Promise<Counted> {
  const sockets = new Set<Socket>();
  const c: Counted = { server: undefined as never, port: 0, open: () => sockets.size, requests: [] };
  const handler = (s: Socket): void => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.resume(); // read (and so see the client's close) even when the test server ignores the data
    onConn(s, c);
  };
  c.server = tls ? createTlsServer(tls, handler) : createServer(handler);
  c.server.on("tlsClientError", () => {});
  await new Promise<void>((r) => c.server.listen(0, "127.0.0.1", r));
  c.port = (c.server.address() as { port: number }).port;
  return c;
}

/** Answers one HTTP request with `response` once the request's blank line arrived, then closes. */
const answer =
  (response: string | Buffer, close = true) =>
  (s: Socket, c: Counted): void => {
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString();
      if (!buf.includes("\r\n\r\n")) return;
      c.requests.push(buf);
      s.write(response);
      if (close) s.end();
    });
  };

const run = (f: (done: (r: NetProbeResult) => void) => () => void): Promise<NetProbeResult> =>
  new Promise((resolve) => {
    let calls = 0;
    f((r) => {
      calls++;
      // A second report would be a bug: fail loudly after the first.
      setTimeout(() => (calls === 1 ? resolve(r) : resolve({ ok: false, reason: "reported twice" })), 30);
    });
  });

async function settled(c: Counted): Promise<void> {
  for (let i = 0; i < 100 && c.open() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(c.open()).toBe(0);
}

const target = (port: number, over: Partial<HttpTarget> = {}): HttpTarget => ({
  host: "127.0.0.1",
  port,
  bindTo: null,
  timeoutMs: 400,
  label: `[127.0.0.1]:tcp:${port}`,
  tls: false,
  path: "/health",
  statusCodes: null,
  digest: null,
  ...over,
});

const servers: Counted[] = [];
let dir = "";
let tlsKeys: { key: string; cert: string };
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vigil-lvs-"));
  tlsKeys = selfSignedKeys(dir);
});
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.server.close(r));
  rmSync(dir, { recursive: true, force: true });
  expect(socketHandles()).toBe(0);
});
const track = async (c: Promise<Counted>): Promise<Counted> => {
  const s = await c;
  servers.push(s);
  return s;
};

describe("TCP_CHECK", () => {
  test("connects and closes at once; a refused port fails with its reason", async () => {
    const srv = await track(serve(() => {}));
    expect(await run((d) => tcpProbe(target(srv.port), d))).toEqual({ ok: true });
    await settled(srv);
    const closedPort = await track(serve(() => {}));
    const port = closedPort.port;
    await new Promise((r) => closedPort.server.close(r));
    const r = await run((d) => tcpProbe(target(port), d));
    // Refused after connect() returned (socket_state): keepalived's `failed`, logged by the machine.
    expect(r).toEqual({ ok: false, reason: "failed" });
  });

  test("a DNS name where an address is expected fails without a lookup", async () => {
    const r = await run((d) => tcpProbe(target(80, { host: "localhost" }), d));
    expect(r).toEqual({
      ok: false,
      rescheduled: true,
      lines: ["TCP connection to [127.0.0.1]:tcp:80: 'localhost' is not an IP address."],
    });
  });

  test("cancel closes the socket and reports nothing", async () => {
    const srv = await track(serve(() => {}));
    let reported = false;
    const cancel = tcpProbe(target(srv.port), () => {
      reported = true;
    });
    cancel();
    await new Promise((r) => setTimeout(r, 50));
    expect(reported).toBe(false);
    await settled(srv);
  });
});

describe("HTTP_GET", () => {
  const body = "all good\n";
  const md5 = createHash("md5").update(body).digest("hex");
  const ok200 = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

  test("sends keepalived's request; status and digest match", async () => {
    const srv = await track(serve(answer(ok200)));
    expect(await run((d) => httpProbe(target(srv.port, { digest: md5.toUpperCase() }), d))).toEqual({
      ok: true,
    });
    expect(srv.requests[0]).toBe(httpRequest("/health", "127.0.0.1", srv.port));
    expect(srv.requests[0]).toBe(
      `GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:${srv.port}\r\n\r\n`,
    );
    await settled(srv);
  });

  test("a wrong digest, a wrong status, garbage, silence and a close without data each fail", async () => {
    const cases: [string | Buffer, Partial<HttpTarget>, string][] = [
      [ok200, { digest: "0".repeat(32) }, "MD5 digest error to"],
      ["HTTP/1.0 503 Busy\r\n\r\n", {}, "HTTP status code error to"],
      ["SSH-2.0-OpenSSH\r\n\r\n", {}, "HTTP status code error to"],
      // keepalived's full header buffer reads 0 bytes: its end of stream without a header.
      [Buffer.alloc(70 * 1024, 0x41), {}, "Read, no data received from "],
      ["", {}, "Read, no data received from "],
      ["HTTP/1.0 200", {}, "Read, no data received from "],
    ];
    for (const [response, over, why] of cases) {
      const srv = await track(serve(answer(response)));
      const r = await run((d) => httpProbe(target(srv.port, over), d));
      expect(r).toEqual({ ok: false, reason: why });
      await settled(srv);
    }
  });

  test("status_code accepts listed codes and ranges only", async () => {
    const srv = await track(serve(answer("HTTP/1.0 404 Not Found\r\n\r\n")));
    expect(await run((d) => httpProbe(target(srv.port, { statusCodes: "200-299 404" }), d))).toEqual({
      ok: true,
    });
    expect(statusAccepted(299, null)).toBe(true);
    expect(statusAccepted(300, null)).toBe(false);
    expect(statusAccepted(302, "301-303")).toBe(true);
  });

  test("the deadline is per read, as keepalived's: a slow page that keeps arriving passes", async () => {
    const srv = await track(serve(answer(`HTTP/1.0 200 OK\r\n\r\n`, false)));
    srv.server.on("connection", (s: Socket) => {
      let n = 0;
      const tick = setInterval(() => {
        if (s.destroyed) return clearInterval(tick);
        if (++n > 6) {
          clearInterval(tick);
          s.end();
        } else s.write("x");
      }, 200);
    });
    // a byte every 200 ms for 1.4 s against a 1 s deadline: wide margins for a loaded machine's timers
    const t0 = Date.now();
    expect(await run((d) => httpProbe(target(srv.port, { timeoutMs: 1000 }), d))).toEqual({ ok: true });
    expect(Date.now() - t0).toBeGreaterThan(1100);
    await settled(srv);
  });

  test("a server that never answers, or answers and never closes, times out and is closed", async () => {
    const cases: [(s: Socket, c: Counted) => void, string][] = [
      [() => {}, "Timeout WEB read"],
      [answer(ok200, false), "Timeout HTTP read"],
    ];
    for (const [conn, reason] of cases) {
      const srv = await track(serve(conn));
      const t0 = Date.now();
      const r = await run((d) => httpProbe(target(srv.port, { timeoutMs: 200 }), d));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
      expect(r).toEqual({ ok: false, timedOut: true, reason });
      await settled(srv);
    }
  });
});

describe("SSL_GET", () => {
  test("over TLS with a self-signed certificate; a plain HTTP server is a TLS error", async () => {
    const body = "tls ok";
    const srv = await track(serve(answer(`HTTP/1.0 200 OK\r\n\r\n${body}`), tlsKeys));
    const digest = createHash("md5").update(body).digest("hex");
    expect(await run((d) => httpProbe(target(srv.port, { tls: true, digest }), d))).toEqual({ ok: true });
    await settled(srv);
    const plain = await track(serve((s) => s.end("HTTP/1.0 400 Bad Request\r\n\r\n")));
    const r = await run((d) => httpProbe(target(plain.port, { tls: true }), d));
    expect(r).toEqual({ ok: false, reason: "SSL handshake/communication error connecting to" });
    await settled(plain);
  });
});
