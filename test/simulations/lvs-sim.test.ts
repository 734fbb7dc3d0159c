/**
 * The simulator's LVS world (simulations/lvs-sim.ts): probes answered from the real servers'
 * states as the real probe port reports them (up / down / hang for TCP_CHECK, HTTP_GET, SSL_GET
 * and MISC_CHECK, with connect_timeout, misc_timeout or delay_loop), to the checker's own target
 * (connect_ip / connect_port), cancelled by their abort; warmup draws from the seeded PRNG; the
 * IPVS table with the kernel's answers to keepalived's calls; names as a scenario writes them.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type CheckerSpec,
  initialPoolState,
  type ProbeResult,
  RAND_MAX,
  stepPool,
} from "../../machines/checker.machine.ts";
import {
  IpvsTable,
  ipvsNames,
  MISC_TIMEOUT_SIGNAL,
  PROBE_ANSWER_US,
  parseLvsName,
  parseRealServer,
  probedServers,
  SimRealServers,
  selfTimed,
  simChecksPort,
} from "../../simulations/lvs-sim.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { virtualServerSpec } from "../../src/lvs/spec.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { Prng } from "../../src/runtime/prng.ts";
import { rs, tcp, vs } from "../lvs/support.ts";
import { tempDirForFile } from "../support/temp.ts";

const dir = tempDirForFile("vigil-lvs-sim-");

const CONF = `
virtual_server 198.18.0.100 80 {
    delay_loop 7
    protocol TCP
    sorry_server 198.18.0.30 8080
    real_server 198.18.0.11 80 {
        TCP_CHECK {
            connect_timeout 2
        }
        HTTP_GET {
            url {
                path /
            }
            connect_timeout 3
        }
        SSL_GET {
            url {
                path /
            }
            connect_timeout 4
        }
        MISC_CHECK {
            misc_path /bin/true
            misc_timeout 5
        }
        MISC_CHECK {
            misc_path /bin/false
        }
        SMTP_CHECK {
            connect_timeout 6
        }
        DNS_CHECK {
            name example.org
            connect_timeout 1
        }
    }
    real_server 198.18.0.12 80 {
        TCP_CHECK {
            connect_ip 198.18.0.13
            connect_port 81
            connect_timeout 2
        }
    }
}
virtual_server 2001:db8::100 443 {
    protocol TCP
    real_server 2001:DB8:0::11 443 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`;

function config(): Config {
  const file = join(dir, "lb.conf");
  writeFileSync(file, CONF);
  const r = loadConfig(file, { configId: "lb" });
  if (r.runnable === undefined) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.runnable;
}

const VS = "[198.18.0.100]:tcp:80";

function world(seed = 1) {
  const clock = new VirtualClock();
  const servers = new SimRealServers();
  const conf = config();
  const specs = conf.virtualServers.map(virtualServerSpec);
  const table = new IpvsTable();
  const port = simChecksPort({
    clock,
    servers,
    prng: new Prng(seed),
    specs: () => specs,
    config: () => conf,
    ipvs: (vs, spec, ops) => table.apply(vs, spec, ops),
  });
  /** Starts probe (rs, checker) now and returns what it reported and when. */
  const probe = (rs: number, checker: number, vs = VS) => {
    const got: Array<{ atUs: number; result: ProbeResult }> = [];
    const abort = port.probe({ vs, rs, checker, url: 0 }, (result) =>
      got.push({ atUs: clock.nowUs(), result }),
    );
    return { got, abort };
  };
  return { clock, servers, port, probe, table, specs };
}

describe("simulated probes", () => {
  it("an up server answers ok after PROBE_ANSWER_US, for every kind (MISC: exit 0)", () => {
    const w = world();
    const probes = [0, 1, 2, 3].map((c) => w.probe(0, c));
    w.clock.advanceTo(60_000_000);
    for (const p of probes.slice(0, 3))
      expect(p.got).toEqual([{ atUs: PROBE_ANSWER_US, result: { ok: true } }]);
    expect(probes[3]?.got).toEqual([{ atUs: PROBE_ANSWER_US, result: { ok: true, exitStatus: 0 } }]);
  });

  it("a down server answers a failure after PROBE_ANSWER_US (MISC: exit 1)", () => {
    const w = world();
    w.servers.set(parseRealServer("198.18.0.11:80") as string, "down");
    const probes = [0, 1, 2, 3].map((c) => w.probe(0, c));
    w.clock.advanceTo(60_000_000);
    for (const p of probes.slice(0, 3))
      expect(p.got).toEqual([{ atUs: PROBE_ANSWER_US, result: { ok: false } }]);
    expect(probes[3]?.got).toEqual([{ atUs: PROBE_ANSWER_US, result: { ok: false, exitStatus: 1 } }]);
  });

  it("a hung server: TCP never answers; HTTP/SSL time out at connect_timeout; MISC at misc_timeout, else delay_loop", () => {
    const w = world();
    w.servers.set(parseRealServer("198.18.0.11:80") as string, "hang");
    const [tcp, http, ssl, misc, miscDefault, smtp, dns] = [0, 1, 2, 3, 4, 5, 6].map((c) => w.probe(0, c));
    w.clock.advanceTo(60_000_000);
    expect(tcp?.got).toEqual([]);
    expect(dns?.got).toEqual([]);
    expect(smtp?.got).toEqual([{ atUs: 6_000_000, result: { ok: false, timedOut: true } }]);
    expect(http?.got).toEqual([{ atUs: 3_000_000, result: { ok: false, timedOut: true } }]);
    expect(ssl?.got).toEqual([{ atUs: 4_000_000, result: { ok: false, timedOut: true } }]);
    const killed = { ok: false, timedOut: true, signal: MISC_TIMEOUT_SIGNAL };
    expect(misc?.got).toEqual([{ atUs: 5_000_000, result: killed }]);
    expect(miscDefault?.got).toEqual([{ atUs: 7_000_000, result: killed }]);
  });

  it("a probe the machine does not time out itself is timed out by the port (as the real port does)", () => {
    const kinds: CheckerSpec["kind"][] = [
      "TCP_CHECK",
      "HTTP_GET",
      "SSL_GET",
      "MISC_CHECK",
      "SMTP_CHECK",
      "DNS_CHECK",
    ];
    for (const kind of kinds) {
      const checker = tcp({ kind, connectTimeoutUs: 2_000_000, urls: [{ path: "/", hasDigest: false }] });
      const spec = vs({ realServers: [rs(1, { checkers: [checker] })] });
      const started = stepPool(spec, initialPoolState(spec), { type: "START", atUs: 0 }).state;
      const launched = stepPool(spec, started, { type: "TIMER", atUs: 1_000_000, id: "check:0.0" }).commands;
      const machineTimer = launched.some((c) => c.type === "setTimer" && c.id === "timeout:0.0");
      expect({ kind, selfTimed: selfTimed(kind) }).toEqual({ kind, selfTimed: !machineTimer });
    }
  });

  it("the abort cancels a pending answer", () => {
    const w = world();
    w.servers.set(parseRealServer("198.18.0.11:80") as string, "hang");
    const http = w.probe(0, 1);
    const up = w.probe(1, 0);
    w.clock.advanceTo(500);
    http.abort();
    up.abort();
    w.clock.advanceTo(60_000_000);
    expect(http.got).toEqual([]);
    expect(up.got).toEqual([]);
  });

  it("a checker with connect_ip / connect_port probes that server, not the real server", () => {
    const w = world();
    w.servers.set(parseRealServer("198.18.0.12:80") as string, "down");
    const a = w.probe(1, 0);
    w.clock.advanceTo(10_000);
    expect(a.got).toEqual([{ atUs: PROBE_ANSWER_US, result: { ok: true } }]);
    w.servers.set(parseRealServer("198.18.0.13:81") as string, "down");
    const b = w.probe(1, 0);
    w.clock.advanceTo(20_000);
    expect(b.got).toEqual([{ atUs: 10_000 + PROBE_ANSWER_US, result: { ok: false } }]);
    expect(probedServers(config()).sort()).toEqual(
      ["[198.18.0.11]:80", "[198.18.0.13]:81", "[2001:db8::11]:443"].sort(),
    );
  });

  it("IPv6 real servers are found by their canonical address, however the scenario writes it", () => {
    const w = world();
    w.servers.set(parseRealServer("[2001:DB8:0:0::11]:443") as string, "down");
    const p = w.probe(0, 0, "[2001:db8::100]:tcp:443");
    w.clock.advanceTo(10_000);
    expect(p.got).toEqual([{ atUs: PROBE_ANSWER_US, result: { ok: false } }]);
  });

  it("an unknown probe (no such checker) fails, as the real port does", () => {
    const w = world();
    const p = w.probe(0, 9);
    w.clock.advanceTo(10_000);
    expect(p.got).toEqual([{ atUs: PROBE_ANSWER_US, result: { ok: false } }]);
  });

  it("warmup draws come from the seeded PRNG: within 0..RAND_MAX, the same per seed, another with another seed", () => {
    const a = world(1).port.draws(VS, 50);
    expect(world(1).port.draws(VS, 50)).toEqual(a);
    expect(world(2).port.draws(VS, 50)).not.toEqual(a);
    expect(a.every((d) => Number.isInteger(d) && d >= 0 && d <= RAND_MAX)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(45);
  });
});

describe("IPVS table", () => {
  it("applies keepalived's calls with the kernel's answers", () => {
    const w = world();
    const spec = w.specs[0];
    const t = new IpvsTable();
    // a destination of a service not there: ESRCH, nothing
    expect(t.apply(VS, spec, [{ type: "ipvs", op: "addDest", rs: 0, weight: 1 }])).toEqual([]);
    expect(
      t.apply(VS, spec, [
        { type: "ipvs", op: "addService" },
        { type: "ipvs", op: "addService" },
        { type: "ipvs", op: "addDest", rs: 0, weight: 1 },
        // EEXIST: the weight stays
        { type: "ipvs", op: "addDest", rs: 0, weight: 5 },
        // an edit of a missing destination adds it
        { type: "ipvs", op: "editDest", rs: -1, weight: 2 },
        { type: "ipvs", op: "editDest", rs: 0, weight: 0 },
        { type: "ipvs", op: "delDest", rs: 1, weight: 1 },
      ]),
    ).toEqual([
      `+ service ${VS}`,
      `${VS} + [198.18.0.11]:tcp:80 weight 1`,
      `${VS} + [198.18.0.30]:tcp:8080 weight 2`,
      `${VS} [198.18.0.11]:tcp:80 weight 1 -> 0`,
    ]);
    expect(t.snapshot()).toEqual({ [VS]: { "[198.18.0.11]:tcp:80": 0, "[198.18.0.30]:tcp:8080": 2 } });
    expect(t.weight(VS, "[198.18.0.11]:tcp:80")).toBe(0);
    expect(t.weight(VS, "[198.18.0.12]:tcp:80")).toBeUndefined();
    expect(t.apply(VS, spec, [{ type: "ipvs", op: "delDest", rs: -1, weight: 2 }])).toEqual([
      `${VS} - [198.18.0.30]:tcp:8080`,
    ]);
    expect(t.apply(VS, spec, [{ type: "ipvs", op: "delService" }])).toEqual([
      `- service ${VS} (with [198.18.0.11]:tcp:80)`,
    ]);
    expect(t.hasService(VS)).toBe(false);
    expect(t.apply(VS, spec, [{ type: "ipvs", op: "delService" }])).toEqual([]);
    t.apply(VS, spec, [{ type: "ipvs", op: "addService" }]);
    expect(t.clear()).toEqual([`- service ${VS} (host down)`]);
    expect(t.snapshot()).toEqual({});
  });

  it("a configuration's services and destinations by keepalived's names", () => {
    const names = ipvsNames(config());
    expect([...(names.get(VS) ?? [])]).toEqual([
      "[198.18.0.11]:tcp:80",
      "[198.18.0.12]:tcp:80",
      "[198.18.0.30]:tcp:8080",
    ]);
    expect([...(names.get("[2001:db8::100]:tcp:443") ?? [])]).toEqual(["[2001:db8::11]:tcp:443"]);
  });
});

describe("names", () => {
  it.each([
    ["198.18.0.11:80", "[198.18.0.11]:80"],
    ["[2001:DB8::1]:80", "[2001:db8::1]:80"],
    [" 198.18.0.11:0 ", "[198.18.0.11]:0"],
  ])("real server %j is %s", (text, key) => {
    expect(parseRealServer(text)).toBe(key);
  });

  it.each(["198.18.0.11", "198.18.0.11:65536", "host:80", "2001:db8::1:80", "198.18.0.11:-1", ""])(
    "real server %j is refused",
    (text) => {
      expect(parseRealServer(text)).toEqual({ error: expect.stringMatching(/ADDRESS:PORT/) });
    },
  );

  it.each([
    ["[198.18.0.100]:tcp:80", "[198.18.0.100]:tcp:80"],
    ["[2001:DB8::0:100]:udp:53", "[2001:db8::100]:udp:53"],
    ["FWM 7", "FWM 7"],
    ["[G1]:0", "[G1]:0"],
  ])("service %j is %s", (text, name) => {
    expect(parseLvsName(text, "service")).toBe(name);
  });

  it.each([
    "198.18.0.100:80",
    "[198.18.0.100]:80",
    "[198.18.0.100]:icmp:80",
    "[G1]:tcp:0",
    "FWM x",
    "[1.2.3.4]:tcp:70000",
  ])("service %j is refused", (text) => {
    expect(parseLvsName(text, "service")).toEqual({
      error: expect.stringMatching(/^service '.*': give keepalived's name/),
    });
  });
});
