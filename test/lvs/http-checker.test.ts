/**
 * HTTP_GET / SSL_GET from a parsed configuration through the production probe port, against real
 * servers on loopback that record what they receive: the exact request bytes for each http_protocol
 * and each level of keepalived's virtualhost precedence (url, checker, real server, virtual server,
 * else ip:port; IPv6 in brackets), SNI as the TLS server sees it (enable_sni; the real server's
 * virtualhost is not a server name in keepalived), the SSL block's client certificate (an encrypted
 * key with its password) presented to the server, a CA that does not sign the server and still
 * passes (keepalived never verifies), an SSL block whose files cannot be loaded (said once, SSL_GET
 * fails, no socket opened), bindto with bind_port (the server sees that source), bind_port alone
 * (ignored, as keepalived binds only with bindto), a bindto that is not local (a clear line), and
 * Content-Length: the digest covers Content-Length bytes, a longer body is logged once per
 * difference. No socket is left open.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ProbeResult } from "../../machines/checker.machine.ts";
import { configProbePort } from "./probe-support.ts";

const socketHandles = (): number =>
  process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "TLSWrap").length;

interface Seen {
  request: string;
  servername: string | false | null | undefined;
  peerCn: string | string[] | undefined;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
}

/** A server that records each request (and TLS facts) and answers `response(path)`. */
interface Rec {
  server: Server;
  port: number;
  seen: Seen[];
  open: () => number;
}

async function record(
  response: (path: string) => string | Buffer,
  host = "127.0.0.1",
  tls?: { key: string; cert: string },
): Promise<Rec> {
  const sockets = new Set<Socket>();
  const r: Rec = { server: undefined as never, port: 0, seen: [], open: () => sockets.size };
  const handler = (s: Socket): void => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    let buf = Buffer.alloc(0);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const text = buf.toString("latin1");
      if (!text.includes("\r\n\r\n")) return;
      const t = s as TLSSocket;
      const peer = tls ? t.getPeerCertificate() : undefined;
      r.seen.push({
        request: text,
        servername: tls ? t.servername : undefined,
        peerCn: peer?.subject?.CN,
        remoteAddress: s.remoteAddress,
        remotePort: s.remotePort,
      });
      s.end(response(/^GET (\S*)/.exec(text)?.[1] ?? ""));
    });
  };
  r.server = tls
    ? createTlsServer({ ...tls, requestCert: true, rejectUnauthorized: false }, handler)
    : createServer(handler);
  r.server.on("tlsClientError", () => {});
  await new Promise<void>((ok) => r.server.listen(0, host, ok));
  r.port = (r.server.address() as { port: number }).port;
  servers.push(r);
  return r;
}

async function settled(r: Rec): Promise<void> {
  for (let i = 0; i < 100 && r.open() > 0; i++) await new Promise((ok) => setTimeout(ok, 10));
  expect(r.open()).toBe(0);
}

const servers: Rec[] = [];
const dir = mkdtempSync(join(tmpdir(), "vigil-http-checker-"));
const pem: Record<string, string> = {};
const openssl = (args: string[]): void => void execFileSync("openssl", args, { stdio: "ignore" });

beforeAll(() => {
  const selfSigned = (name: string, cn: string, pass?: string): void =>
    openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      ...(pass === undefined ? ["-nodes"] : ["-passout", `pass:${pass}`]),
      "-subj",
      `/CN=${cn}`,
      "-days",
      "1",
      "-keyout",
      join(dir, `${name}.key`),
      "-out",
      join(dir, `${name}.crt`),
    ]);
  selfSigned("server", "server.test");
  selfSigned("client", "vigil-client", "s3cret");
  selfSigned("otherca", "unrelated-ca");
  for (const n of ["server.key", "server.crt"]) pem[n] = readFileSync(join(dir, n), "utf8");
});

afterAll(async () => {
  for (const s of servers) await new Promise((ok) => s.server.close(ok));
  rmSync(dir, { recursive: true, force: true });
  expect(socketHandles()).toBe(0);
});

function port(conf: string) {
  const { run, lines, config } = configProbePort(dir, conf);
  const once = (vs: number, rs: number, checker = 0, url = 0): Promise<ProbeResult> =>
    run({ vs, rs, checker, url });
  return { once, lines, config };
}

const UA = "User-Agent: KeepAliveClient\r\n";
const OK = "HTTP/1.0 200 OK\r\n\r\nok";

describe("HTTP_GET request", () => {
  test("http_protocol and the virtualhost precedence give keepalived's exact request bytes", async () => {
    const web = await record(() => OK);
    const to = `connect_ip 127.0.0.1\n      connect_port ${web.port}`;
    const { once } = port(`virtual_server 198.18.0.100 80 {
  protocol TCP
  virtualhost vs.example
  real_server 198.18.0.11 80 {
    virtualhost rs.example
    HTTP_GET {
      ${to}
      virtualhost chk.example
      url {
        path /a
        virtualhost url.example
      }
      url {
        path /b?x=1
      }
    }
    HTTP_GET {
      ${to}
      http_protocol 1.0C
      url {
        path /c
      }
    }
  }
  real_server 198.18.0.12 80 {
    HTTP_GET {
      ${to}
      http_protocol 1.1
      url {
        path /d
      }
    }
  }
}
virtual_server 198.18.0.101 80 {
  protocol TCP
  real_server 127.0.0.1 ${web.port} {
    HTTP_GET {
      http_protocol 1.0c
      url {
        path /e
      }
    }
  }
}
`);
    expect(await once(0, 0, 0, 0)).toEqual({ ok: true });
    expect(await once(0, 0, 0, 1)).toEqual({ ok: true });
    expect(await once(0, 0, 1)).toEqual({ ok: true });
    expect(await once(0, 1)).toEqual({ ok: true });
    expect(await once(1, 0)).toEqual({ ok: true });
    expect(web.seen.map((s) => s.request)).toEqual([
      `GET /a HTTP/1.0\r\n${UA}Host: url.example\r\n\r\n`,
      `GET /b?x=1 HTTP/1.0\r\n${UA}Host: chk.example\r\n\r\n`,
      `GET /c HTTP/1.0\r\n${UA}Connection: close\r\nHost: rs.example\r\n\r\n`,
      `GET /d HTTP/1.1\r\n${UA}Connection: close\r\nHost: vs.example\r\n\r\n`,
      `GET /e HTTP/1.0\r\n${UA}Connection: close\r\nHost: 127.0.0.1:${web.port}\r\n\r\n`,
    ]);
    await settled(web);
  });

  test("an IPv6 destination is bracketed in inet_ntop's form; connect_port goes into Host", async () => {
    const web = await record(() => OK, "::1");
    const { once } = port(`virtual_server 2001:db8::100 80 {
  protocol TCP
  real_server 2001:db8::11 80 {
    HTTP_GET {
      connect_ip 0:0:0:0:0:0:0:1
      connect_port ${web.port}
      url {
        path /six
      }
    }
  }
}
`);
    expect(await once(0, 0)).toEqual({ ok: true });
    expect(web.seen[0]?.request).toBe(`GET /six HTTP/1.0\r\n${UA}Host: [::1]:${web.port}\r\n\r\n`);
    await settled(web);
  });

  test("bindto with bind_port is the source the server sees; bind_port alone is ignored", async () => {
    const web = await record(() => OK);
    const srcPort = 20_000 + (process.pid % 20_000);
    const { once, lines } = port(`virtual_server 198.18.0.100 80 {
  protocol TCP
  real_server 198.18.0.11 80 {
    HTTP_GET {
      connect_ip 127.0.0.1
      connect_port ${web.port}
      bindto 127.0.0.2
      bind_port ${srcPort}
      url {
        path /bound
      }
    }
    HTTP_GET {
      connect_ip 127.0.0.1
      connect_port ${web.port}
      bind_port ${srcPort}
      url {
        path /portonly
      }
    }
    HTTP_GET {
      connect_ip 127.0.0.1
      connect_port ${web.port}
      bindto 198.18.0.1
      url {
        path /notlocal
      }
    }
  }
}
`);
    expect(await once(0, 0, 0)).toEqual({ ok: true });
    expect(await once(0, 0, 1)).toEqual({ ok: true });
    expect(web.seen[0]).toMatchObject({ remoteAddress: "127.0.0.2", remotePort: srcPort });
    expect(web.seen[1]?.remoteAddress).toBe("127.0.0.1");
    expect(web.seen[1]?.remotePort).not.toBe(srcPort);
    // check_http.c http_connect_thread: no verdict, keepalived's two lines at once.
    expect(await once(0, 0, 2)).toEqual({ ok: false, rescheduled: true });
    expect(lines).toEqual([
      "Checker bind failed: Cannot assign requested address",
      "WEB socket bind failed. Rescheduling",
    ]);
    expect(web.seen).toHaveLength(2);
    await settled(web);
  });
});

describe("HTTP_GET response", () => {
  const body = "abc";
  const md5 = createHash("md5").update(body).digest("hex");

  test("the digest covers Content-Length bytes; a longer body is logged once per difference", async () => {
    let extra = "XYZ";
    const web = await record(
      () => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}${extra}`,
    );
    const { once, lines } = port(`virtual_server 198.18.0.100 80 {
  protocol TCP
  real_server 127.0.0.1 ${web.port} {
    HTTP_GET {
      url {
        path /len
        digest ${md5}
      }
    }
  }
}
`);
    const said = `http_check for RS [127.0.0.1]:tcp:${web.port} VS [198.18.0.100]:tcp:80 url /len: content_length (3) does not match received bytes`;
    expect(await once(0, 0)).toEqual({ ok: true });
    expect(await once(0, 0)).toEqual({ ok: true });
    expect(lines).toEqual([`${said} (6)`]);
    extra = "XY";
    expect(await once(0, 0)).toEqual({ ok: true });
    extra = "";
    expect(await once(0, 0)).toEqual({ ok: true });
    expect(await once(0, 0)).toEqual({ ok: true });
    expect(lines).toEqual([`${said} (6)`, `${said} (5)`]);
    await settled(web);
  });

  test("keepalived's status line and header buffer: code between spaces, header within 4095 bytes", async () => {
    const pad = (n: number): string => `X-Pad: ${"p".repeat(n)}\r\n`;
    // "HTTP/1.0 200 OK\r\n" is 17 bytes, "X-Pad: …\r\n" n + 9, the blank line 2: n + 28 in all.
    const cases: [string, boolean, string?][] = [
      ["HTTP/1.1 204 No Content\r\n\r\n", true],
      ["HTTP/1.0 200\r\n\r\n", false, "HTTP status code error to"],
      ["HTTP/1.0  200 OK\r\n\r\n", false, "HTTP status code error to"],
      ["ICY 200 OK\r\n\r\n", true],
      ["HTTP/1.0 2000 OK\r\n\r\n", false, "HTTP status code error to"],
      ["HTTP/1.0 099 Odd\r\n\r\n", false, "HTTP status code error to"],
      [`HTTP/1.0 200 OK\r\n${pad(4095 - 28)}\r\n`, true],
      // The full buffer reads 0 bytes, keepalived's end of stream: no header.
      [`HTTP/1.0 200 OK\r\n${pad(4096 - 28)}\r\n`, false, "Read, no data received from "],
    ];
    for (const [response, ok, why] of cases) {
      const web = await record(() => response);
      const { once, lines } = port(`virtual_server 198.18.0.100 80 {
  protocol TCP
  real_server 127.0.0.1 ${web.port} {
    HTTP_GET {
      url {
        path /s
        status_code 99-204
        status_code 100-299
      }
    }
  }
}
`);
      expect(await once(0, 0), JSON.stringify(response.slice(0, 30))).toEqual(
        ok ? { ok } : { ok, reason: why },
      );
      // The port logs no failed attempt: the checker machine does, when keepalived does.
      expect(lines).toEqual([]);
      await settled(web);
    }
  });
});

describe("HTTP_GET regex", () => {
  test("regex, regex_no_match, caseless and the offsets, on the response from its first byte", async () => {
    // "HTTP/1.0 200 OK\r\n\r\n" is 19 bytes: the body starts at offset 19.
    const web = await record(() => "HTTP/1.0 200 OK\r\n\r\nStatus: GREEN; load=3\n");
    const url = (path: string, lines: string): string => `      url {
        path ${path}
${lines}
      }`;
    const { once, lines, config } = port(`virtual_server 198.18.0.100 80 {
  protocol TCP
  real_server 127.0.0.1 ${web.port} {
    HTTP_GET {
${url("/green", '        regex "GREEN; load=[0-9]"')}
${url("/red", "        regex RED")}
${url("/not-red", "        regex RED\n        regex_no_match")}
${url("/case", "        regex green\n        regex_options caseless extended")}
${url("/case-off", "        regex green")}
${url("/header", "        regex ^HTTP/1\\.0 200")}
${url("/min", "        regex GREEN\n        regex_min_offset 28")}
${url("/max-in", "        regex GREEN\n        regex_max_offset 27")}
${url("/max-out", "        regex GREEN\n        regex_max_offset 26")}
    }
  }
}
`);
    const results: ProbeResult[] = [];
    for (let u = 0; u < 9; u++) results.push(await once(0, 0, 0, u));
    expect(results.map((r) => r.ok)).toEqual([true, false, true, true, false, true, false, true, false]);
    expect(results[1]).toEqual({ ok: false, reason: "Regex match failed" });
    expect(lines).toEqual([]);
    expect(config.virtualServers[0]?.realServers[0]?.checkers[0]?.urls[3]?.regex).toEqual({
      pattern: "green",
      flags: "i",
      noMatch: false,
      minOffset: 0,
      maxOffset: null,
    });
    await settled(web);
  });
});

describe("SSL_GET", () => {
  const tlsKeys = (): { key: string; cert: string } => ({
    key: pem["server.key"] ?? "",
    cert: pem["server.crt"] ?? "",
  });
  const ssl = (over = ""): string => `SSL {
  certificate ${join(dir, "client.crt")}
  key ${join(dir, "client.key")}
  password s3cret
  ca ${join(dir, "otherca.crt")}
  ${over}
}
`;

  test("SNI with enable_sni from url, checker or virtual server (not the real server); the client certificate is presented; an unrelated CA does not stop it", async () => {
    const web = await record(() => OK, "127.0.0.1", tlsKeys());
    const to = `connect_ip 127.0.0.1\n      connect_port ${web.port}`;
    const { once, lines } = port(`${ssl()}
virtual_server 198.18.0.100 443 {
  protocol TCP
  virtualhost vs.example
  real_server 198.18.0.11 443 {
    virtualhost rs.example
    SSL_GET {
      ${to}
      enable_sni
      virtualhost chk.example
      url {
        path /a
        virtualhost url.example
      }
      url {
        path /b
      }
    }
    SSL_GET {
      ${to}
      url {
        path /nosni
      }
    }
  }
}
virtual_server 198.18.0.101 443 {
  protocol TCP
  real_server 198.18.0.12 443 {
    virtualhost rs-only.example
    SSL_GET {
      ${to}
      enable_sni yes
      url {
        path /rs
      }
    }
  }
}
`);
    expect(await once(0, 0, 0, 0)).toEqual({ ok: true });
    expect(await once(0, 0, 0, 1)).toEqual({ ok: true });
    expect(await once(0, 0, 1)).toEqual({ ok: true });
    expect(await once(1, 0)).toEqual({ ok: true });
    expect(lines).toEqual([]);
    expect(web.seen.map((s) => s.servername)).toEqual(["url.example", "chk.example", false, false]);
    expect(web.seen.map((s) => /Host: (.*)\r/.exec(s.request)?.[1])).toEqual([
      "url.example",
      "chk.example",
      "rs.example",
      "rs-only.example",
    ]);
    expect(web.seen.every((s) => s.peerCn === "vigil-client")).toBe(true);
    await settled(web);
  });

  test("an SSL block whose files cannot be loaded: said once, SSL_GET fails without a connection, HTTP_GET still runs", async () => {
    const web = await record(() => OK, "127.0.0.1", tlsKeys());
    const plain = await record(() => OK);
    const { once, lines } = port(`SSL {
  certificate ${join(dir, "client.crt")}
  key ${join(dir, "missing.key")}
}
virtual_server 198.18.0.100 443 {
  protocol TCP
  real_server 127.0.0.1 ${web.port} {
    SSL_GET {
      url {
        path /
      }
    }
  }
  real_server 127.0.0.1 ${plain.port} {
    HTTP_GET {
      url {
        path /
      }
    }
  }
}
`);
    expect(await once(0, 0)).toEqual({ ok: false });
    expect(await once(0, 0)).toEqual({ ok: false });
    expect(await once(0, 1)).toEqual({ ok: true });
    expect(lines[0]).toBe(`SSL error : Cant load key file... (${join(dir, "missing.key")}: ENOENT)`);
    expect(lines.filter((l) => l.startsWith("SSL error"))).toHaveLength(1);
    expect(lines).toContain("Error Initialize SSL, ctx Instance");
    expect(web.seen).toHaveLength(0);
    await settled(web);
    await settled(plain);
  });

  test("a wrong key password is a load failure too", async () => {
    const { once, lines } = port(`${ssl("password wrong")}
virtual_server 198.18.0.100 443 {
  protocol TCP
  real_server 127.0.0.1 9 {
    SSL_GET {
      url {
        path /
      }
    }
  }
}
`);
    expect(await once(0, 0)).toEqual({ ok: false });
    expect(lines[0]).toMatch(/^SSL error : /);
    expect(lines).toContain("  SSL password:(set)");
  });
});
