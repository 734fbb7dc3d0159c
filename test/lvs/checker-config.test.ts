/**
 * The HTTP_GET / SSL_GET and connection keywords as keepalived 2.2.7 parses them (check_http.c,
 * check_api.c, check_parser.c): virtualhost at each level, http_protocol (1.0, 1.0C/1.0c, 1.1 —
 * anything else refused with keepalived's line), enable_sni, status_code lines that accumulate,
 * urls without a path and checkers without urls dropped, connect_ip / bindto that are DNS names
 * ("Invalid … address … - ignoring", never a lookup), `-range` and `/mask` suffixes dropped, family
 * mismatches in the order written, bind_port, and the root SSL block. Each bad line is a warning: the
 * configuration stays runnable, as keepalived's checker process keeps going.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";

const dir = mkdtempSync(join(tmpdir(), "vigil-checker-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(conf: string) {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, conf);
  const { runnable, diagnostics } = loadConfig(file, { configId: "lb1" });
  if (runnable === undefined) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const messages = diagnostics
    .map((d) => d.message)
    .filter((m) => !/no forwarding method|no scheduler set/.test(m));
  return { config: runnable, messages };
}

const vs = (body: string, rsAddress = "198.18.0.11"): string => `virtual_server 198.18.0.100 80 {
  protocol TCP
  lvs_method NAT
  lvs_sched rr
  real_server ${rsAddress} 80 {
${body}
  }
}
`;

describe("HTTP_GET keywords", () => {
  test("virtualhost at every level, http_protocol, enable_sni, accumulated status codes", () => {
    const { config, messages } = load(`virtual_server 198.18.0.100 443 {
  protocol TCP
  lvs_method NAT
  lvs_sched rr
  virtualhost vs.example
  real_server 198.18.0.11 443 {
    virtualhost rs.example
    SSL_GET {
      virtualhost chk.example
      http_protocol 1.0c
      enable_sni
      url {
        path /a
        virtualhost url.example
        status_code 200
        status_code 404 500-503
      }
    }
    HTTP_GET {
      http_protocol 1.1
      enable_sni off
      url {
        path /b
      }
    }
  }
}
`);
    expect(messages).toEqual([]);
    const v = config.virtualServers[0];
    const [ssl, http] = v?.realServers[0]?.checkers ?? [];
    expect(v?.virtualhost).toBe("vs.example");
    expect(v?.realServers[0]?.virtualhost).toBe("rs.example");
    expect(ssl).toMatchObject({ virtualhost: "chk.example", httpProtocol: "1.0C", enableSni: true });
    expect(ssl?.urls).toEqual([
      { path: "/a", digest: null, statusCode: "200 404 500-503", virtualhost: "url.example", regex: null },
    ]);
    expect(http).toMatchObject({ virtualhost: null, httpProtocol: "1.1", enableSni: false });
  });

  test("bad values: keepalived's lines, the checker keeps its defaults", () => {
    const { config, messages } = load(
      vs(`    HTTP_GET {
      http_protocol 1.0K
      http_protocol
      enable_sni maybe
      virtualhost
      url {
        path /x
        status_code 2000 abc 300-200 99
        virtualhost
      }
      url {
        status_code 200
      }
    }
    SSL_GET {
      url {
        digest 0123456789abcdef0123456789abcdef
      }
    }`),
    );
    expect(messages).toEqual([
      "Invalid http_protocol version 1.0K",
      "Missing http_protocol version",
      "Invalid enable_sni parameter maybe",
      "HTTP_GET virtualhost name missing",
      "Invalid HTTP_GET status code '2000'",
      "Invalid HTTP_GET status code 'abc'",
      "Invalid HTTP_GET status code '300-200'",
      "Invalid HTTP_GET status code '99'",
      "Missing HTTP_GET virtualhost name",
      "HTTP/SSL_GET checker url has no path - ignoring",
      // Vigil lists diagnostics in source order: the checker's line comes before its url's.
      "HTTP/SSL_GET checker has no urls specified - ignoring",
      "HTTP/SSL_GET checker url has no path - ignoring",
    ]);
    const checkers = config.virtualServers[0]?.realServers[0]?.checkers ?? [];
    expect(checkers).toHaveLength(1);
    expect(checkers[0]).toMatchObject({ httpProtocol: "1.0", enableSni: false, virtualhost: null });
    expect(checkers[0]?.urls).toEqual([
      { path: "/x", digest: null, statusCode: null, virtualhost: null, regex: null },
    ]);
  });
});

describe("url regex keywords", () => {
  test("keepalived's lines for bad regex parameters; the regex is dropped where keepalived drops it", () => {
    const { config, messages } = load(
      vs(`    HTTP_GET {
      url {
        path /a
        regex_no_match
        regex_min_offset 5
      }
      url {
        path /b
        regex ok
        regex_min_offset 10
        regex_max_offset 9
        regex_stack 10
        regex_options ungreedy nonsense multiline
      }
      url {
        path /c
        regex "(unclosed"
      }
      url {
        path /d
        regex two words
        regex_max_offset x
        regex_min_offset
      }
    }`),
    );
    expect(messages).toEqual([
      "regex parameters specified without regex",
      "regex min offset 10 > regex_max_offset 9 - ignoring",
      "regex_stack requires start and max values",
      "regex option 'ungreedy' is parsed but not acted on by Vigil yet",
      expect.stringMatching(/^Invalid regex: '\(unclosed': /),
      "regex parameters specified without regex",
      "regex missing or too many fields",
      "Invalid regex_max_offset x specified",
      "Missing or too may options for regex_min_offset",
    ]);
    const urls = config.virtualServers[0]?.realServers[0]?.checkers[0]?.urls ?? [];
    expect(urls.map((u) => u.regex)).toEqual([
      null,
      { pattern: "ok", flags: "m", noMatch: false, minOffset: 0, maxOffset: null },
      null,
      null,
    ]);
  });
});

describe("connection keywords", () => {
  test("DNS names in connect_ip and bindto are refused without a lookup; suffixes are dropped", () => {
    const { config, messages } = load(
      vs(`    TCP_CHECK {
      connect_ip www.example.com
      bindto localhost
      bind_port 0
      bind_port 70000
    }
    TCP_CHECK {
      connect_ip 198.18.0.21/24
      bindto 198.18.0.1-9
      bind_port 4000
      connect_port 8080
    }`),
    );
    expect(messages).toEqual([
      "Invalid connect_ip address www.example.com - ignoring",
      "Invalid bindto address localhost - ignoring",
      "number '0' outside range [1, 65535]",
      "Invalid checker bind_port '0'",
      "number '70000' outside range [1, 65535]",
      "Invalid checker bind_port '70000'",
    ]);
    const [a, b] = config.virtualServers[0]?.realServers[0]?.checkers ?? [];
    expect(a).toMatchObject({ connectIp: null, bindTo: null, bindPort: null });
    expect(b).toMatchObject({
      connectIp: "198.18.0.21",
      bindTo: "198.18.0.1",
      bindPort: 4000,
      connectPort: 8080,
    });
  });

  test("a real server written as a DNS name is skipped with keepalived's line, the rest runs", () => {
    const { config, messages } = load(`virtual_server 198.18.0.100 80 {
  protocol TCP
  lvs_method NAT
  lvs_sched rr
  real_server www.example.com 80 {
    TCP_CHECK {
    }
  }
  real_server localhost {
  }
  real_server 198.18.0.12 80 {
    TCP_CHECK {
    }
  }
}
`);
    expect(messages).toEqual([
      "Invalid real server ip address/port www.example.com/80 - skipping",
      "Invalid real server ip address/port localhost/(null) - skipping",
    ]);
    expect(config.virtualServers[0]?.realServers.map((r) => r.address)).toEqual(["198.18.0.12"]);
  });

  test("address families must agree, in the order written, starting from the real server's", () => {
    const { config, messages } = load(
      vs(`    TCP_CHECK {
      bindto 2001:db8::1
    }
    TCP_CHECK {
      connect_ip 2001:db8::21
      bindto 2001:db8::1
    }
    TCP_CHECK {
      bindto 198.18.0.1
      connect_ip 2001:db8::21
    }`),
    );
    expect(messages).toEqual([
      "bindto address 2001:db8::1 does not match address family of connect_ip - skipping",
      "connect_ip address 2001:db8::21 does not match address family of bindto - skipping",
    ]);
    const [a, b, c] = config.virtualServers[0]?.realServers[0]?.checkers ?? [];
    expect(a).toMatchObject({ connectIp: null, bindTo: null });
    expect(b).toMatchObject({ connectIp: "2001:db8::21", bindTo: "2001:db8::1" });
    expect(c).toMatchObject({ connectIp: null, bindTo: "198.18.0.1" });
  });
});

describe("the SSL block", () => {
  test("its four items, keepalived's lines for a repeat, a missing value and a second block", () => {
    const { config, messages } = load(`SSL {
  password one
  ca /etc/ssl/ca.pem
  certificate /etc/ssl/client.pem
  key /etc/ssl/client.key
  key /etc/ssl/other.key
  password
}
`);
    expect(messages).toEqual(["SSL keyfile already specified - replacing", "SSL password missing"]);
    expect(config.global.ssl).toEqual({
      password: "one",
      ca: "/etc/ssl/ca.pem",
      certificate: "/etc/ssl/client.pem",
      key: "/etc/ssl/other.key",
    });
    const again = load("SSL {\n  ca /a\n}\nSSL {\n  key /b\n}\n");
    expect(again.messages).toEqual(["SSL context already specified - replacing"]);
    expect(again.config.global.ssl).toEqual({ password: null, ca: null, certificate: null, key: "/b" });
    expect(load("").config.global.ssl).toBeNull();
  });
});
