/**
 * Checker probes between lab namespaces (198.18.0.0/15): from h1 to a TCP listener, a web server
 * and a server that answers and never closes on h2, to a closed port, and to an address on the lab
 * network where no host answers (TCP_CHECK and HTTP_GET); SSL_GET to the plain web server (a TLS
 * handshake error); HTTP_GET from bindto h1 with bind_port, which a server on h2 echoes back. Each
 * probe reports once with its reason within its timeout, and no socket is left open in the probing
 * process.
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
  result?: { ok: boolean; timedOut?: boolean; detail?: string };
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

  it("fails a closed port, an absent host, a 404 and a server that never closes, each with its reason", () => {
    expect(by("tcp-refused").result).toEqual({
      ok: false,
      detail: `TCP connection to [${h2}]:tcp:9 failed (ECONNREFUSED).`,
    });
    const nw = by("tcp-nowhere");
    expect(nw.result?.ok).toBe(false);
    expect(nw.result?.detail).toMatch(
      new RegExp(
        `^TCP connection to \\[${nowhere.replaceAll(".", "\\.")}\\]:tcp:80 (timeout\\.|failed \\(EHOSTUNREACH\\)\\.)$`,
      ),
    );
    expect(nw.ms).toBeLessThan(4000);
    expect(by("http-404").result).toEqual({
      ok: false,
      detail: `HTTP status code error (404) to [${h2}]:tcp:8081 url(/missing).`,
    });
    expect(by("http-never-closes").result).toEqual({
      ok: false,
      timedOut: true,
      detail: `HTTP connection to [${h2}]:tcp:8082 timeout.`,
    });
    const hn = by("http-nowhere");
    expect(hn.result?.detail).toMatch(
      new RegExp(
        `^(HTTP connection to \\[${nowhere.replaceAll(".", "\\.")}\\]:tcp:80 timeout\\.|Error connecting \\(EHOSTUNREACH\\) to \\[${nowhere.replaceAll(".", "\\.")}\\]:tcp:80 url\\(/\\)\\.)$`,
      ),
    );
    expect(hn.ms).toBeLessThan(4000);
    expect(by("ssl-to-plain").result?.ok).toBe(false);
    expect(by("ssl-to-plain").result?.detail).toMatch(
      new RegExp(
        `^SSL handshake/communication error \\(.+\\) connecting to \\[${h2.replaceAll(".", "\\.")}\\]:tcp:8081 url\\(/health\\)\\.$`,
      ),
    );
  });

  it("leaves no socket open in the probing process", () => {
    expect(out.at(-1)).toEqual({ sockets: 0 });
    expect(prober.code).toBe(0);
  });
});
