/**
 * LVS configuration, keepalived 2.2.7's way: `virtual_server_group` entries (addresses, last-part
 * ranges, whole ranges, subnets, fwmarks with and without family) and their validation lines;
 * `virtual_server group` linking (member numbers, unknown or removed groups, family checks);
 * persistence_granularity / persistence_engine / ops / scheduler flags; the settings real servers and
 * checkers inherit (alpha, delay_loop, connect_timeout, retry, delay_before_retry, warmup, lvs_method,
 * inhibit_on_failure); the `vigil dump` text. The last block runs the real `keepalived -t` on the
 * same files (root, netns and keepalived needed) and checks both print the same lines.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { configText } from "../../src/config/render.ts";
import type { Config, VirtualServer } from "../../src/config/types.ts";
import { skipUnlessLab } from "../support/env.ts";
import { keepalivedTest, makeKeepalivedNs, runQuiet } from "./keepalived-t.ts";

const dir = mkdtempSync(join(tmpdir(), "vigil-lvsg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const write = (body: string): string => {
  const file = join(dir, `g${n++}.conf`);
  writeFileSync(file, body);
  return file;
};
const load = (body: string) => {
  const r = loadConfig(write(body), { configId: "lb1" });
  const messages = r.diagnostics.map((d) => `${d.line} ${d.message}`);
  return { config: r.runnable as Config, messages };
};

/** Files with keepalived's own lines: each is compared with `keepalived -t` below. */
const GROUPS = `virtual_server_group G1 {
  198.18.0.1-10 80
  198.18.0.20 0
  198.18.2.0/30 443
  198.18.3.1-198.18.3.4 8080
  198.18.3.9-300 80
  198.18.0.1 70000
  198.18.0.300 80
  198.18.0.10-5 80
  198.18.0.5-198.18.0.1 80
  198.18.0.1/24 80
  fwmark 5 inet
  fwmark abc
  fwmark 5 inet9
}
virtual_server_group G6 {
  2001:db8::1-a 80
  2001:db8::ff00/120 80
  2001:db8::1/120 80
  2001:db8::5-2001:db8::9 80
  2001:db8::1-2001:db8::0 80
  fwmark 7 inet6
}
virtual_server_group EMPTY {
}
virtual_server_group MIXED {
  198.18.0.1 80
  2001:db8::1 80
  fwmark 1
}
virtual_server group G1 {
  protocol TCP
  lvs_sched sh
  sh-port
  mh-port
  persistence_timeout 60
  real_server 198.18.5.1 8080 {
    lvs_method DR
    TCP_CHECK {
      connect_timeout 3
    }
  }
}
virtual_server group G6 {
  protocol UDP
  lvs_method NAT
  lvs_sched rr
  real_server 2001:db8::99 53 {
    TCP_CHECK {
      connect_timeout 3
    }
  }
  real_server 198.18.0.99 53 {
  }
}
`;

const OPTIONS = `virtual_server fwmark 3 {
  protocol TCP
  lvs_method DR
  persistence_granularity 1.2.3.4.5
  persistence_engine sip
  real_server 198.18.5.1 80 {
  }
}
virtual_server 198.18.9.1 0 {
  protocol TCP
  lvs_method NAT
  lvs_sched rr
  ops
  flag-3
  hashed
  persistence_engine sipsipsipsipsipsipsip
  real_server 198.18.5.1 {
    retry 0
    delay_loop 0
    connect_timeout 0
    alpha maybe
  }
}
virtual_server 198.18.9.2 80 {
  protocol UDP
  lvs_method NAT
  lvs_sched sh
  ops
  sh-fallback
  flag-3
  persistence_granularity 0xffffff00
  real_server 198.18.5.1 8080 {
  }
}
virtual_server 198.18.9.3 80 {
  protocol TCP
  lvs_method NAT
  lvs_sched rr
  real_server 198.18.5.1 80 {
    uthreshold 100
    lthreshold x
  }
  real_server 198.18.5.2 80 {
    uthreshold 4294967296
    lthreshold 10
  }
}
virtual_server 198.18.9.4 80 {
  protocol TCP
  lvs_method NAT
  lvs_sched rr
  weight 0
  quorum 7
  real_server 198.18.5.1 80 {
  }
  real_server 198.18.5.2 80 {
    weight 3
  }
}
virtual_server 198.18.9.5 80 {
  protocol TCP
  lvs_method NAT
  lvs_sched rr
  quorum 20
  real_server 198.18.5.1 80 {
    weight x
  }
  real_server 198.18.5.2 80 {
    weight 2
  }
  weight 5
  real_server 198.18.5.3 80 {
  }
}
`;

describe("virtual_server_group", () => {
  it("entries as keepalived reads them; bad lines skipped with its text; empty and mixed groups removed", () => {
    const { messages } = load(GROUPS);
    expect(messages).toEqual([
      "6 Virtual server group range '198.18.3.9-300' end '300' too large",
      "7 number '70000' outside range [1, 65535]",
      "7 Invalid virtual server group IP address 198.18.0.1 /port/70000 - skipping",
      "8 Invalid virtual server group IP address 198.18.0.300 /port/80 - skipping",
      "9 Address range end is not greater than address range start - 198.18.0.10-5 - skipping",
      "10 Address range end is less than address range start - 198.18.0.5-198.18.0.1 - skipping",
      "11 Address mask bits not empty - 198.18.0.1/24 - skipping",
      "13 invalid number 'abc'",
      "13 (G1): fwmark 'abc' must be in [0, 4294967295] - ignoring",
      "14 (G1): fwmark '5' family inet9 unknown - ignoring",
      "19 Address mask bits not empty - 2001:db8::1/120 - skipping",
      "21 Address range end is less than address range start - 2001:db8::1-2001:db8::0 - skipping",
      "24 virtual server group EMPTY has no entries - removing",
      "26 virtual server group MIXED cannot have IPv4, IPv6 and fwmark without family - removing",
      "37 WARNING - fwmark virtual server [G1]:0, real server [198.18.5.1]:tcp:8080 has port specified - port will be ignored",
      "37 virtual server [G1]:0:[198.18.0.1-198.18.0.10,80] and real server [198.18.5.1]:tcp:8080 ports don't match",
      "37 virtual server [G1]:0:[198.18.0.20,0] and real server [198.18.5.1]:tcp:8080 ports don't match",
      "37 virtual server [G1]:0:[198.18.2.0-198.18.2.3,443] and real server [198.18.5.1]:tcp:8080 ports don't match",
      "54 Address family of virtual server and real server 198.18.0.99 don't match - skipping real server.",
    ]);
  });

  it("the resolved entries: ranges with their ends, ports (0: none), fwmarks with their family", () => {
    const { config } = load(GROUPS);
    const [g1, g6] = config.virtualServers as [VirtualServer, VirtualServer];
    expect(g1.key).toEqual({
      kind: "group",
      name: "G1",
      member: 0,
      entries: [
        { kind: "range", first: "198.18.0.1", last: "198.18.0.10", port: 80, line: 2 },
        { kind: "range", first: "198.18.0.20", last: "198.18.0.20", port: 0, line: 3 },
        { kind: "range", first: "198.18.2.0", last: "198.18.2.3", port: 443, line: 4 },
        { kind: "range", first: "198.18.3.1", last: "198.18.3.4", port: 8080, line: 5 },
        { kind: "fwmark", mark: 5, family: "ipv4", line: 12 },
      ],
    });
    expect(g1.family).toBe("ipv4");
    expect(g1.schedulerFlags).toEqual(["flag-2"]);
    expect(g6.key.kind === "group" && g6.key.entries).toEqual([
      { kind: "range", first: "2001:db8::1", last: "2001:db8::a", port: 80, line: 17 },
      { kind: "range", first: "2001:db8::ff00", last: "2001:db8::ffff", port: 80, line: 18 },
      { kind: "range", first: "2001:db8::5", last: "2001:db8::9", port: 80, line: 20 },
      { kind: "fwmark", mark: 7, family: "ipv6", line: 22 },
    ]);
    expect(g6.family).toBe("ipv6");
    expect(g6.realServers.map((r) => r.address)).toEqual(["2001:db8::99"]);
  });

  it("linking: members numbered per group, an unknown or removed group drops its virtual servers, families must match", () => {
    const { config, messages } = load(`virtual_server_group A {
  198.18.0.1 80
}
virtual_server_group V6 {
  fwmark 4 inet6
}
virtual_server group A {
  protocol TCP
  real_server 198.18.0.11 80 {
  }
}
virtual_server group NOPE {
  protocol TCP
  real_server 198.18.0.11 80 {
  }
}
virtual_server group A {
  protocol UDP
  real_server 198.18.0.11 80 {
  }
}
virtual_server group V6 {
  real_server 198.18.0.11 80 {
  }
}
virtual_server group A {
  ip_family inet6
  protocol TCP
  real_server 2001:db8::1 80 {
  }
}
`);
    expect(
      config.virtualServers.map((v) => v.key.kind === "group" && `${v.key.name}:${v.key.member}`),
    ).toEqual(["A:0", "A:1"]);
    expect(messages.filter((m) => m.includes("group") || m.includes("family"))).toEqual([
      "12 Virtual server group NOPE specified but not configured - ignoring virtual server [NOPE]:0",
      "22 V6: address family doesn't match virtual server [V6]:0 - ignoring",
      "26 A: address family doesn't match virtual server [A]:0 - ignoring",
    ]);
  });

  it("a group beyond what Vigil expands is refused, with the count", () => {
    const { messages } = load(`virtual_server_group BIG {
  10.0.0.0/8 80
}
`);
    expect(messages).toEqual([
      "1 virtual server group BIG expands to 16777216 IPVS services; Vigil programs at most 65536 per group - removing",
    ]);
  });
});

describe("service options and inherited settings", () => {
  it("persistence_granularity, persistence_engine, ops and scheduler flags: keepalived's checks and lines", () => {
    const { config, messages } = load(OPTIONS);
    expect(messages).toEqual([
      "1 Warning: Virtual server FWM 3: protocol specified for fwmark - protocol will be ignored",
      "1 Virtual server FWM 3: no scheduler set, setting default 'wlc'",
      "4 Invalid IPv4 persistence_granularity specified - 1.2.3.4.5",
      "6 WARNING - fwmark virtual server FWM 3, real server [198.18.5.1]:none:80 has port specified - clearing",
      "9 Virtual server [198.18.9.1]:tcp:0: one packet scheduling requires UDP - resetting",
      "9 Virtual server [198.18.9.1]:tcp:0: zero port only valid for persistent services - setting",
      "15 hashed only applies to sh scheduler - ignoring",
      "16 persistence_name too long, truncating - sipsipsipsipsipsipsip",
      "18 number '0' outside range [1, 4294967295]",
      "18 retry value invalid - 0",
      "19 number '0' outside range [0.000001, 18446744073709.551614]",
      "19 real server delay_loop '0' invalid - ignoring",
      "20 number '0' outside range [0.000001, 4294.967295]",
      "20 real server connect_timeout 0 invalid - ignoring",
      "21 Invalid alpha parameter maybe",
      "41 invalid number 'x'",
      "41 Invalid real_server lthreshold 'x' - ignoring",
      "44 number '4294967296' outside unsigned integer range",
      "44 Invalid real_server uthreshold '4294967296' - ignoring",
      "48 Warning - quorum 7 for [198.18.9.4]:tcp:80 exceeds total weight of real servers 4, reducing quorum to 4",
      "52 number '0' outside range [1, 2147483647]",
      "52 Virtual server weight 0 is outside range 1-2147483647",
      "60 Warning - quorum 20 for [198.18.9.5]:tcp:80 exceeds total weight of real servers 12, reducing quorum to 12",
      "66 invalid number 'x'",
      "66 Real server weight x is outside range 0-2147483647",
    ]);
    const [fw, zero, udp, th] = config.virtualServers as [
      VirtualServer,
      VirtualServer,
      VirtualServer,
      VirtualServer,
    ];
    expect(th.realServers.map((r) => [r.upperThreshold, r.lowerThreshold])).toEqual([
      [100, 0],
      [0, 10],
    ]);
    expect([fw.persistenceGranularity, fw.persistenceEngine, fw.persistenceTimeoutS]).toEqual([
      null,
      "sip",
      null,
    ]);
    expect([zero.onePacket, zero.schedulerFlags, zero.persistenceEngine, zero.persistenceTimeoutS]).toEqual([
      false,
      ["flag-3"],
      "sipsipsipsipsip",
      360,
    ]);
    // inet_aton reads 0xffffff00; a granularity implies persistence (pgr_handler)
    expect([udp.onePacket, udp.schedulerFlags, udp.persistenceGranularity, udp.persistenceTimeoutS]).toEqual([
      true,
      ["flag-1", "flag-3"],
      "255.255.255.0",
      360,
    ]);
  });

  it("IPv6 granularity is a prefix length (1..128), by the family known when it is read", () => {
    const { config, messages } = load(`virtual_server 2001:db8::1 80 {
  protocol TCP
  persistence_granularity 64
  real_server 2001:db8::2 80 {
  }
}
virtual_server fwmark 9 {
  persistence_granularity 129
  real_server 2001:db8::2 80 {
  }
}
virtual_server fwmark 10 {
  persistence_granularity 0.0.255.255
  real_server 198.18.0.2 80 {
  }
}
`);
    expect(messages.filter((m) => m.includes("granularity") || m.includes("range"))).toEqual([
      "8 number '129' outside range [1, 128]",
      "8 Invalid IPv6 persistence_granularity specified - 129",
    ]);
    expect(config.virtualServers.map((v) => [v.persistenceGranularity, v.family])).toEqual([
      ["64", "ipv6"],
      [null, "ipv6"],
      ["0.0.255.255", "ipv4"],
    ]);
  });

  it("a virtual server's weight is its real servers' where they set none, also for the quorum check", () => {
    const { config, messages } = load(OPTIONS);
    const weights = (address: string): number[] =>
      config.virtualServers
        .find((v) => v.key.kind === "address" && v.key.address === address)
        ?.realServers.map((r) => r.weight) ?? [];
    // `weight 5` after the first real server still applies to it; `weight x` is no weight
    expect(weights("198.18.9.5")).toEqual([5, 2, 5]);
    expect(weights("198.18.9.4")).toEqual([1, 3]);
    expect(messages).toContain("52 Virtual server weight 0 is outside range 1-2147483647");
    expect(
      messages.some((m) => m.endsWith("exceeds total weight of real servers 12, reducing quorum to 12")),
    ).toBe(true);
  });

  it("checkers inherit from their real server, which inherits from its virtual server (check_data.c)", () => {
    const { config } = load(`virtual_server 198.18.0.100 80 {
  protocol TCP
  delay_loop 20
  connect_timeout 4
  retry 5
  delay_before_retry 2
  warmup 7
  alpha
  inhibit_on_failure
  lvs_method DR
  real_server 198.18.0.11 80 {
    delay_loop 10
    connect_timeout 2
    retry 3
    delay_before_retry 1.5
    warmup 0
    alpha off
    inhibit_on_failure off
    lvs_method TUN
    TCP_CHECK {
    }
    TCP_CHECK {
      delay_loop 1
      connect_timeout 0.5
      retry 0
      delay_before_retry 0.25
      warmup 0.75
      alpha
    }
  }
  real_server 198.18.0.12 80 {
    HTTP_GET {
      url {
        path /
      }
    }
    MISC_CHECK {
      misc_path /bin/true
    }
  }
}
virtual_server 198.18.0.101 80 {
  protocol TCP
  real_server 198.18.0.13 80 {
    HTTP_GET {
      url {
        path /
      }
    }
    MISC_CHECK {
      misc_path /bin/true
    }
    DNS_CHECK {
      delay_loop 9
    }
  }
}
`);
    const [vs, plain] = config.virtualServers as [VirtualServer, VirtualServer];
    const t = (v: VirtualServer) =>
      v.realServers.map((r) => ({
        rs: [r.method, r.inhibitOnFailure, r.alpha],
        checkers: r.checkers.map((c) => [
          c.delayLoopUs,
          c.connectTimeoutUs,
          c.retry,
          c.delayBeforeRetryUs,
          c.warmupUs,
          c.alpha,
        ]),
      }));
    expect(t(vs)).toEqual([
      {
        rs: ["TUN", false, false],
        checkers: [
          [10_000_000, 2_000_000, 3, 1_500_000, 0, false],
          [1_000_000, 500_000, 0, 250_000, 750_000, true],
        ],
      },
      {
        rs: ["DR", true, true],
        checkers: [
          [20_000_000, 4_000_000, 5, 2_000_000, 7_000_000, true],
          [20_000_000, 4_000_000, 5, 2_000_000, 7_000_000, true],
        ],
      },
    ]);
    // keepalived's checker defaults: retry 1 (MISC 0, DNS 3); delay_before_retry 1 s (HTTP 3 s,
    // DNS its delay_loop); warmup its delay_loop
    expect(t(plain)).toEqual([
      {
        rs: ["NAT", false, false],
        checkers: [
          [60_000_000, 5_000_000, 1, 3_000_000, 60_000_000, false],
          [60_000_000, 5_000_000, 0, 1_000_000, 60_000_000, false],
          [9_000_000, 5_000_000, 3, 9_000_000, 9_000_000, false],
        ],
      },
    ]);
  });

  it("checker bind_if and fwmark stay unbuilt, and say why", () => {
    const { messages } = load(`virtual_server 198.18.0.100 80 {
  protocol TCP
  real_server 198.18.0.11 80 {
    TCP_CHECK {
      bind_if eth0
      fwmark 3
    }
  }
}
`);
    expect(messages.filter((m) => m.includes("not acted on"))).toEqual([
      "5 'bind_if' is parsed but not acted on by Vigil yet (checker interfaces are not set: SO_BINDTODEVICE cannot be set on Node's net sockets)",
      "6 'fwmark' is parsed but not acted on by Vigil yet (checker fwmarks are not set: SO_MARK cannot be set on Node's net sockets)",
    ]);
  });

  it("vigil dump shows the group entries, service options and inherited timing", () => {
    const { config } = load(`${GROUPS.split("virtual_server group")[0]}virtual_server group G1 {
  protocol TCP
  lvs_sched sh
  sh-port
  persistence_timeout 60
  real_server 198.18.5.1 80 {
    retry 4
    TCP_CHECK {
    }
  }
}
`);
    const text = configText(config);
    expect(text).toContain(
      "virtual_server group G1: TCP sh NAT delay_loop 60s persistence 60s flags flag-2 (member 0 of 198.18.0.1-198.18.0.10:80, 198.18.0.20, 198.18.2.0-198.18.2.3:443, 198.18.3.1-198.18.3.4:8080, fwmark 5 inet)",
    );
    expect(text).toContain("  real_server 198.18.5.1 80 weight 1 NAT: TCP_CHECK (retry 4)");
  });
});

describe.skipIf(skipUnlessLab("LVS configuration vs keepalived -t", { keepalived: true, netns: true }))(
  "the same lines as keepalived -t",
  () => {
    const ns = `vg${process.pid % 10000}c-lvsg`;
    const pidDir = mkdtempSync(join(tmpdir(), "vigil-lvsg-kt-"));
    beforeAll(() => makeKeepalivedNs(ns));
    afterAll(async () => {
      await runQuiet("ip", ["netns", "del", ns]);
      rmSync(pidDir, { recursive: true, force: true });
    });
    /**
     * Lines only one side prints: keepalived's read_unsigned adds "outside unsigned integer range"
     * to the fwmark line; Vigil names the unknown group keepalived drops at run time (LOG_INFO, not
     * in -t), and a range with extra characters is read as the daemon reads it (-t skips it).
     */
    const KEEPALIVED_ONLY = [/outside unsigned integer range/];
    for (const [name, body] of [
      ["groups", GROUPS],
      ["options", OPTIONS],
    ] as const)
      it(name, async () => {
        const file = write(body);
        const k = await keepalivedTest(ns, file, pidDir);
        const strip = (m: string): string => m.replace(/^\d+ /, "");
        const vigil = new Set(load(body).messages.map(strip));
        const missing = k.messages.filter((m) => !vigil.has(m) && !KEEPALIVED_ONLY.some((re) => re.test(m)));
        expect(missing, `keepalived printed, Vigil did not:\n${k.messages.join("\n")}`).toEqual([]);
        const extra = [...vigil].filter((m) => !k.messages.includes(m));
        expect(extra, "Vigil printed, keepalived did not").toEqual([]);
        expect(k.code).toBe(5);
      });
  },
);
