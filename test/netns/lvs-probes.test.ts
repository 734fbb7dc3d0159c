/**
 * Checker probes between lab namespaces (198.18.0.0/15): from h1 to a TCP listener, a web server
 * and a server that answers and never closes on h2, to a closed port, and to an address on the lab
 * network where no host answers (TCP_CHECK and HTTP_GET); SSL_GET to the plain web server (a TLS
 * handshake error); HTTP_GET from bindto h1 with bind_port, which a server on h2 echoes back; a
 * network with no route (connect() fails at once) and a bindto h1 does not have (no verdict). Each
 * probe reports once with keepalived's reason within its timeout, and no socket is left open in the
 * probing process.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess } from "../support/lab.ts";
import { startScript } from "./support/vigil.ts";

const suite = "netns: LVS checker probes between namespaces";

interface Line {
  name?: string;
  result?: { ok: boolean; timedOut?: boolean; reason?: string; rescheduled?: boolean; lines?: string[] };
  ms?: number;
  sockets?: number;
}

describe.skipIf(skipUnlessLab(suite, { netns: true }))(suite, () => {
  let lab: Lab;
  let prober: LabProcess;
  const servers: LabProcess[] = [];
  let out: Line[] = [];
  let h2 = "";
  let nowhere = "";

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}lp`, hosts: 2 });
    const [host1, host2] = [lab.host(1), lab.host(2)];
    h2 = host2.ipv4;
    nowhere = `198.18.${lab.subnet}.250`;
    const www = join(lab.tempDir(), "www");
    mkdirSync(www);
    writeFileSync(join(www, "health"), "ok\n");
    const py = (label: string, code: string): LabProcess => {
      const p = lab.spawn(host2.ns, "python3", ["-u", "-c", code], { label });
      servers.push(p);
      return p;
    };
    const listener = (port: number, onConn: string): string =>
      `import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(("${h2}",${port}))\ns.listen(16)\nprint("listening",flush=True)\nkeep=[]\nwhile True:\n  c,_=s.accept()\n  ${onConn}`;
    await py("tcp", listener(8080, "c.close()")).waitForOutput(/listening/, 10_000);
    await py(
      "echo-peer",
      listener(
        8083,
        'c.recv(4096); c.sendall(("HTTP/1.0 200 OK\\r\\n\\r\\n%s:%d" % c.getpeername()).encode()); c.close()',
      ),
    ).waitForOutput(/listening/, 10_000);
    await py(
      "hang",
      listener(8082, 'c.sendall(b"HTTP/1.0 200 OK\\r\\n\\r\\nstill here"); keep.append(c)'),
    ).waitForOutput(/listening/, 10_000);
    const web = lab.spawn(host2.ns, "python3", [
      "-u",
      "-m",
      "http.server",
      "8081",
      "--bind",
      h2,
      "--directory",
      www,
    ]);
    servers.push(web);
    await web.waitForOutput(/Serving HTTP/, 10_000);
    const plan = [
      { name: "tcp-ok", kind: "tcp", host: h2, port: 8080, timeoutMs: 2000 },
      { name: "tcp-bindto", kind: "tcp", host: h2, port: 8080, bindTo: host1.ipv4, timeoutMs: 2000 },
      { name: "tcp-refused", kind: "tcp", host: h2, port: 9, timeoutMs: 2000 },
      { name: "tcp-nowhere", kind: "tcp", host: nowhere, port: 80, timeoutMs: 1500 },
      { name: "http-ok", kind: "http", host: h2, port: 8081, path: "/health", timeoutMs: 2000 },
      { name: "http-404", kind: "http", host: h2, port: 8081, path: "/missing", timeoutMs: 2000 },
      { name: "http-never-closes", kind: "http", host: h2, port: 8082, path: "/", timeoutMs: 1000 },
      { name: "http-nowhere", kind: "http", host: nowhere, port: 80, path: "/", timeoutMs: 1500 },
      { name: "ssl-to-plain", kind: "ssl", host: h2, port: 8081, path: "/health", timeoutMs: 2000 },
      // No route from h1 to another 198.19 network: connect() itself fails (ENETUNREACH).
      { name: "tcp-no-route", kind: "tcp", host: "198.19.254.1", port: 80, timeoutMs: 2000 },
      { name: "http-no-route", kind: "http", host: "198.19.254.1", port: 80, path: "/", timeoutMs: 2000 },
      // bindto an address h1 does not have: bind() fails, no verdict.
      { name: "http-bind-fails", kind: "http", host: h2, port: 8081, bindTo: nowhere, timeoutMs: 2000 },
      {
        name: "http-bind-port",
        kind: "http",
        host: h2,
        port: 8083,
        path: "/",
        bindTo: host1.ipv4,
        bindPort: 40123,
        regex: `\r\n\r\n${host1.ipv4.replaceAll(".", "\\.")}:40123$`,
        timeoutMs: 2000,
      },
    ];
    prober = startScript(lab, host1.ns, "lvs-probe.ts", [JSON.stringify(plan)]);
    await prober.waitExit(60_000);
    out = prober.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Line);
  }, 120_000);

  afterAll(async () => {
    if (prober !== undefined) dumpForInspection("lvs probes", prober.output);
    await lab?.destroy();
  });

  const by = (name: string): Line => out.find((l) => l.name === name) ?? {};

  it("succeeds against a listener and a web server, also from a bound source address", () => {
    expect(by("tcp-ok").result).toEqual({ ok: true });
    expect(by("tcp-bindto").result).toEqual({ ok: true });
    expect(by("http-ok").result).toEqual({ ok: true });
    // The server saw the probe come from bindto:bind_port (the regex matches its echo).
    expect(by("http-bind-port").result).toEqual({ ok: true });
  });

  it("fails a closed port, an absent host, a 404 and a server that never closes, each with keepalived's reason", () => {
    expect(by("tcp-refused").result).toEqual({ ok: false, reason: "failed" });
    // An absent host: the deadline (`timeout`), or ARP giving up first (EHOSTUNREACH later: `failed`).
    const nw = by("tcp-nowhere");
    expect([
      { ok: false, timedOut: true, reason: "timeout" },
      { ok: false, reason: "failed" },
    ]).toContainEqual(nw.result);
    expect(nw.ms).toBeLessThan(4000);
    expect(by("http-404").result).toEqual({ ok: false, reason: "HTTP status code error to" });
    expect(by("http-never-closes").result).toEqual({
      ok: false,
      timedOut: true,
      reason: "Timeout HTTP read",
    });
    const hn = by("http-nowhere");
    expect([
      { ok: false, timedOut: true, reason: "Timeout connecting" },
      { ok: false, reason: "Connection failed" },
    ]).toContainEqual(hn.result);
    expect(hn.ms).toBeLessThan(4000);
    expect(by("ssl-to-plain").result).toEqual({
      ok: false,
      reason: "SSL handshake/communication error connecting to",
    });
  });

  it("tells a connect() that fails at once from one that fails later, and a bind failure is no verdict", () => {
    // check_tcp.c: straight to tcp_epilog (no per-attempt line); check_http.c: its own reason.
    expect(by("tcp-no-route").result).toEqual({ ok: false, reason: "unreachable" });
    expect(by("http-no-route").result).toEqual({ ok: false, reason: "HTTP_CHECK - network unreachable" });
    expect(by("http-bind-fails").result).toEqual({
      ok: false,
      rescheduled: true,
      lines: ["Checker bind failed: Cannot assign requested address", "WEB socket bind failed. Rescheduling"],
    });
  });

  it("leaves no socket open in the probing process", () => {
    expect(out.at(-1)).toEqual({ sockets: 0 });
    expect(prober.code).toBe(0);
  });
});
