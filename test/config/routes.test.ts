/**
 * `virtual_routes` and `virtual_rules` (src/config/keywords/routes.ts): the Route and Rule built for
 * each supported option with keepalived 2.2.7's text for it (format_iproute / format_iprule), the
 * messages keepalived gives for bad lines and which lines it drops, the rule preferences it numbers
 * from 16384 down per family across instances, and the lines Vigil drops because it cannot install
 * an option keepalived would. The name tables come from a fixed `hostFile` here. Then the same
 * lines through the real `keepalived -t`, run directly on this host's first non-loopback interface
 * (no namespace, no daemon): per line, its messages must be Vigil's (Vigil's own notes aside).
 * skipUnlessLab for that part. Not pure (the last part runs keepalived).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Diagnostic } from "../../src/config/diagnostics.ts";
import { Diagnostics } from "../../src/config/diagnostics.ts";
import { interfacesOf } from "../../src/config/keywords/routes.ts";
import { loadConfig } from "../../src/config/load.ts";
import { configText, stableJson } from "../../src/config/render.ts";
import {
  formatIproute,
  formatIprule,
  inetNtop,
  type RouteIn,
  type RuleIn,
} from "../../src/config/route-format.ts";
import {
  lookupName,
  parseNameFile,
  RT_PROTOS,
  RT_TABLES,
  routeTypeOf,
  scanRange,
  strtoul,
} from "../../src/config/rt-names.ts";
import { inCi, keepalivedPath, skipUnlessLab } from "../support/env.ts";
import { routeOf, ruleOf } from "../support/routes.ts";
import { memFs } from "./memfs.ts";

/** The host files the unit tests read (Debian's, shortened, with a few names of their own). */
const HOST: Readonly<Record<string, string>> = {
  "/etc/iproute2/rt_tables":
    "#\n# reserved values\n#\n255\tlocal\n254\tmain\n253\tdefault\n0\tunspec\n100\tcustom\n#1\tinr.ruhep\n",
  "/etc/iproute2/rt_protos": "0\tunspec\n1\tredirect\n4\tstatic\n18\tkeepalived\n186\tbgp\n",
  "/etc/iproute2/rt_scopes": "0\tglobal\n255\tnowhere\n254\thost\n253\tlink\n200\tsite\n",
  "/etc/iproute2/rt_dsfield": "0x0\tdefault\n0x28\tAF11\n",
  "/etc/iproute2/rt_realms": "0\tcosmos\n5\tcity\n",
  "/etc/iproute2/group": "0\tdefault\n",
  "/etc/protocols": "tcp\t6\tTCP\nudp\t17\tUDP\nsctp\t132\tSCTP\n",
};
const hostFile = (p: string): string | undefined => HOST[p];

/** An instance with `block { lines }`; the first line of the block is line 8. */
const instance = (
  name: string,
  vrid: number,
  block: string,
  lines: readonly string[],
  vip = "192.0.2.10/24",
) =>
  `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id ${vrid}\n  virtual_ipaddress {\n    ${vip}\n  }\n  ${block} {\n${lines
    .map((l) => `    ${l}\n`)
    .join("")}  }\n}\n`;

const load = (text: string) =>
  loadConfig("k.conf", { configId: "lb1", fs: memFs({ "k.conf": text }), hostFile });
const shown = (d: Diagnostic) =>
  `${d.line} ${d.severity === "warning" ? "warning" : d.fatal ? "fatal" : "error"} ${d.message}`;

/** One block of `lines` in VI_1: its routes or rules (as keepalived's daemon would run them) and diagnostics. */
function read(block: "virtual_routes" | "virtual_rules", lines: readonly string[]) {
  const r = load(instance("VI_1", 51, block, lines));
  const i = (r.runnable ?? r.config)?.instances[0];
  return { routes: i?.routes ?? [], rules: i?.rules ?? [], diagnostics: r.diagnostics.map(shown), result: r };
}
const route1 = (line: string): RouteIn => {
  const { routes, diagnostics } = read("virtual_routes", [line]);
  expect(diagnostics).toEqual([]);
  expect(routes).toHaveLength(1);
  return routes[0] as RouteIn;
};
const rule1 = (line: string, messages: readonly string[] = []): RuleIn => {
  const { rules, diagnostics } = read("virtual_rules", [line]);
  expect(diagnostics).toEqual(messages);
  expect(rules).toHaveLength(1);
  return rules[0] as RuleIn;
};
/** The defaults the parser gives a route / rule (test/support/routes.ts's, without what a line names). */
const { text: _rt, dst: _rd, dstLength: _rl, ...routeDefaults } = routeOf({ via: null, line: 8 });
const { text: _ut, priority: _up, action: _ua, table: _ub, from: _uf, ...ruleRest } = ruleOf({ line: 8 });
const ruleDefaults = { ...ruleRest, from: null, table: 0 };

describe("format_iproute / format_iprule: keepalived's text", () => {
  const base = { ...routeDefaults, dst: "198.18.5.0", dstLength: 24 } as const;
  it("routes, as keepalived's dump prints them", () => {
    expect(formatIproute({ ...base, via: "192.0.2.1" })).toBe(
      "prepend 198.18.5.0/24 via inet 192.0.2.1 dev eth0 proto 18",
    );
    expect(
      formatIproute(
        { ...base, dst: "192.168.112.0", dev: null, via: "192.168.100.254", noTrack: true },
        { protocolShown: true },
      ),
    ).toBe("prepend 192.168.112.0/24 via inet 192.168.100.254 proto 18 no_track");
    expect(formatIproute({ ...base, dst: "192.168.111.0", dev: "eth2", noTrack: true })).toBe(
      "prepend 192.168.111.0/24 dev eth2 no_track",
    );
    expect(
      formatIproute(
        { ...base, dst: "192.168.114.0", dev: null, type: 6, typeGiven: true, mode: "add", noTrack: true },
        { protocolShown: true },
      ),
    ).toBe("add blackhole 192.168.114.0/24 proto 18 no_track");
    expect(
      formatIproute({
        ...base,
        dst: "0.0.0.0",
        dstLength: 0,
        via: "192.0.2.1",
        table: 100,
        metric: 5,
        scope: 253,
      }),
    ).toBe("prepend 0.0.0.0/0 via inet 192.0.2.1 dev eth0 table 100 proto 18 scope 253 metric 5");
    expect(
      formatIproute({
        ...base,
        dst: "192.168.109.0",
        src: "192.168.100.1",
        via: "192.168.200.254",
        dev: "eth1",
      }),
    ).toBe("prepend 192.168.109.0/24 src 192.168.100.1 via inet 192.168.200.254 dev eth1 proto 18");
  });
  it("routes: every part in keepalived's order; host routes without /32; IPv6 as inet_ntop writes it", () => {
    expect(
      formatIproute(
        {
          ...base,
          dst: "198.18.5.9",
          dstLength: 32,
          type: 3,
          src: "192.0.2.10",
          via: "192.0.2.1",
          tos: 0,
          table: 4294967295,
          protocol: 4,
          scope: 0,
          metric: 0,
          onlink: true,
          mode: "append",
          noTrack: true,
        },
        { tosShown: true },
      ),
    ).toBe(
      "append broadcast 198.18.5.9 src 192.0.2.10 tos 0 via inet 192.0.2.1 dev eth0 table 4294967295 proto 4 scope 0 metric 0 onlink no_track",
    );
    expect(
      formatIproute({
        ...base,
        family: 6,
        dst: "2001:DB8:5:0:0:0:0:0",
        dstLength: 64,
        from: { address: "2001:db8:1::", family: "ipv6", prefixLength: 64 },
        src: "2001:0db8::10",
        via: "fe80::1",
        onlink: true,
        mode: "add",
      }),
    ).toBe("add 2001:db8:5::/64 from 2001:db8:1::/64 src 2001:db8::10 via inet6 fe80::1 dev eth0 proto 18");
    expect(formatIproute({ ...base, type: 200 }, { dstAddress: "198.18.5.1" })).toBe(
      "prepend 200 198.18.5.1/24 dev eth0 proto 18",
    );
  });
  it("inet_ntop: glibc's compression and embedded IPv4", () => {
    expect(inetNtop("2001:DB8:0:0:1:0:0:1", 6)).toBe("2001:db8::1:0:0:1");
    expect(inetNtop("2001:db8:0:1:0:0:0:0", 6)).toBe("2001:db8:0:1::");
    expect(inetNtop("0:0:0:0:0:0:0:0", 6)).toBe("::");
    expect(inetNtop("1:0:2:3:4:5:6:7", 6)).toBe("1:0:2:3:4:5:6:7");
    expect(inetNtop("::0102:0304", 6)).toBe("::1.2.3.4");
    expect(inetNtop("::ffff:0102:0304", 6)).toBe("::ffff:1.2.3.4");
    expect(inetNtop("::ffff:0:1.2.3.4", 6)).toBe("::ffff:0:102:304");
    expect(inetNtop("::2", 6)).toBe("::2");
  });
  it("rules, as keepalived's dump prints them", () => {
    const rule = { ...ruleDefaults, priority: 16384, action: "table", table: 1 } as const;
    expect(
      formatIprule({ ...rule, from: { address: "192.168.2.0", family: "ipv4", prefixLength: 24 } }),
    ).toBe("from 192.168.2.0/24 priority 16384 tos 0x0 protocol 18 lookup 1");
    expect(
      formatIprule({
        ...rule,
        priority: 16383,
        to: { address: "192.168.2.0", family: "ipv4", prefixLength: 24 },
        protocol: null,
        noTrack: true,
      }),
    ).toBe("from all to 192.168.2.0/24 priority 16383 tos 0x0 lookup 1 no_track");
    expect(formatIprule({ ...rule, priority: 101, fwmark: 16, action: "unreachable", table: 0 })).toBe(
      "from all priority 101 tos 0x0 fwmark 0x10 protocol 18 type unreachable",
    );
    expect(formatIprule({ ...rule, from: { address: "0.0.0.0", family: "ipv4", prefixLength: 0 } })).toBe(
      "from 0.0.0.0/0 priority 16384 tos 0x0 protocol 18 lookup 1",
    );
  });
  it("rules: inet6 without addresses, not, masks, interfaces, goto and nop", () => {
    const rule = { ...ruleDefaults, priority: 5, action: "nop" } as const;
    expect(formatIprule({ ...rule, family: 6 })).toBe("inet6 from all priority 5 tos 0x0 protocol 18 nop");
    expect(
      formatIprule({
        ...rule,
        invert: true,
        from: { address: "2001:db8::", family: "ipv6", prefixLength: 64 },
        tos: 0x28,
        fwmark: 0xff,
        fwmask: 0xf0,
        iif: "eth0",
        oif: "lo",
        action: "goto",
        goto: 200,
        family: 6,
      }),
    ).toBe(
      "not from 2001:db8::/64 priority 5 tos 0x28 fwmark 0xff/0xf0 iif eth0 oif lo protocol 18 goto 200",
    );
    expect(formatIprule({ ...rule, fwmark: 1, fwmask: 0xffffffff, action: "prohibit" })).toBe(
      "from all priority 5 tos 0x0 fwmark 0x1 protocol 18 type prohibit",
    );
  });
});

describe("the iproute2 name tables and C number readers", () => {
  it("strtoul base 0, as C reads it", () => {
    expect(strtoul("0x10", 0)).toEqual({ value: 16n, end: 4, overflow: false });
    expect(strtoul("010", 0)).toEqual({ value: 8n, end: 3, overflow: false });
    expect(strtoul("08", 0)).toEqual({ value: 0n, end: 1, overflow: false });
    expect(strtoul("0x", 0)).toEqual({ value: 0n, end: 1, overflow: false });
    expect(strtoul("-1", 10)).toEqual({ value: 2n ** 64n - 1n, end: 2, overflow: false });
    expect(strtoul("abc", 10)).toEqual({ value: 0n, end: 0, overflow: false });
    expect(strtoul("99999999999999999999", 10)).toEqual({ value: 2n ** 64n - 1n, end: 20, overflow: true });
  });
  it("sscanf %u-%u counts", () => {
    expect(scanRange("1000-2000", 16)).toEqual({ count: 2, first: 1000, second: 2000 });
    expect(scanRange("80", 16).count).toBe(1);
    expect(scanRange("80-", 16).count).toBe(1);
    expect(scanRange("x", 32).count).toBe(0);
  });
  it("name files: two words, a number keepalived takes, no comments", () => {
    expect(parseNameFile("# c\n255 local\n#1 x\n-1 neg\n0x10 hex # no\n300 big\n7\tseven\n", 255)).toEqual([
      { id: 255, name: "local" },
      { id: 7, name: "seven" },
    ]);
  });
  it("look-ups: numbers without a look-up, the file's names, then built-ins for ids the file lacks", () => {
    const ctx = { diags: new Diagnostics(), hostFile };
    expect(lookupName(ctx, RT_TABLES, "custom")).toBe(100);
    expect(lookupName(ctx, RT_TABLES, "main")).toBe(254);
    expect(lookupName(ctx, RT_TABLES, "-1")).toBe(4294967295);
    expect(lookupName(ctx, RT_TABLES, "4294967296")).toBe(0);
    expect(lookupName(ctx, RT_TABLES, "inr.ruhep")).toBeUndefined();
    expect(lookupName(ctx, RT_PROTOS, "keepalived")).toBe(18);
    // the file gives id 0 a name of its own, so keepalived's built-in `none` is not added
    expect(lookupName(ctx, RT_PROTOS, "none")).toBeUndefined();
    expect(lookupName(ctx, RT_PROTOS, "zebra")).toBe(11);
    expect(lookupName(ctx, RT_PROTOS, "256")).toBeUndefined();
    expect(lookupName({ diags: new Diagnostics() }, RT_PROTOS, "none")).toBe(0);
    expect(lookupName({ diags: new Diagnostics() }, RT_PROTOS, "keepalived")).toBeUndefined();
  });
  it("route types: names and any number 0-255", () => {
    expect(
      ["unicast", "local", "broadcast", "brd", "anycast", "multicast", "blackhole"].map(routeTypeOf),
    ).toEqual([1, 2, 3, 3, 4, 5, 6]);
    expect(["unreachable", "prohibit", "throw", "nat", "xresolve", "0x6", "255"].map(routeTypeOf)).toEqual([
      7, 8, 9, 10, 11, 6, 255,
    ]);
    expect(["256", "-1", "type", "to"].map(routeTypeOf)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe("virtual_routes: every supported option", () => {
  it("a route with every installed option", () => {
    expect(
      route1(
        "198.18.5.0/24 src 192.0.2.10 via inet 192.0.2.1 dev eth0 tos 0x10 table custom protocol keepalived scope link metric 50 onlink add no_track",
      ),
    ).toEqual({
      ...routeDefaults,
      text: "add 198.18.5.0/24 src 192.0.2.10 tos 16 via inet 192.0.2.1 dev eth0 table 100 proto 18 scope 253 metric 50 onlink no_track",
      dst: "198.18.5.0",
      dstLength: 24,
      src: "192.0.2.10",
      via: "192.0.2.1",
      table: 100,
      scope: 253,
      metric: 50,
      tos: 16,
      onlink: true,
      mode: "add",
      // keepalived's `add` and "a type was written" are one mask bit (see routes.ts)
      typeGiven: true,
      noTrack: true,
    });
  });
  it("IPv6: from, src, via inet6, append; the destination's network address, keepalived's text as written", () => {
    expect(
      route1(
        "2001:DB8:5::1/64 from 2001:db8:1::/64 src 2001:db8::10 via inet6 2001:db8::1 oif eth0 append metric 1024 onlink",
      ),
    ).toEqual({
      ...routeDefaults,
      text: "append 2001:db8:5::1/64 from 2001:db8:1::/64 src 2001:db8::10 via inet6 2001:db8::1 dev eth0 proto 18 metric 1024",
      family: 6,
      dst: "2001:db8:5::",
      dstLength: 64,
      from: { address: "2001:db8:1::", family: "ipv6", prefixLength: 64 },
      src: "2001:db8::10",
      via: "2001:db8::1",
      metric: 1024,
      onlink: true,
      mode: "append",
    });
  });
  it("the destination: to, default/any/all/default6, a type word or number before it", () => {
    const r = (line: string) => {
      const x = route1(line);
      return [x.text, x.family, x.type, x.typeGiven, x.dst, x.dstLength];
    };
    expect(r("to 198.18.5.0/24 dev eth0")).toEqual([
      "prepend 198.18.5.0/24 dev eth0 proto 18",
      4,
      1,
      false,
      "198.18.5.0",
      24,
    ]);
    expect(r("default via 192.0.2.1 dev eth0")).toEqual([
      "prepend 0.0.0.0/0 via inet 192.0.2.1 dev eth0 proto 18",
      4,
      1,
      false,
      "0.0.0.0",
      0,
    ]);
    expect(r("any via 2001:db8::1 dev eth0")).toEqual([
      "prepend ::/0 via inet6 2001:db8::1 dev eth0 proto 18",
      6,
      1,
      false,
      "::",
      0,
    ]);
    expect(r("all dev eth0 prepend")).toEqual([
      "prepend 0.0.0.0/0 dev eth0 proto 18",
      4,
      1,
      false,
      "0.0.0.0",
      0,
    ]);
    expect(r("default6 dev eth0")).toEqual(["prepend ::/0 dev eth0 proto 18", 6, 1, false, "::", 0]);
    expect(r("unicast 198.18.5.0/24 dev eth0")).toEqual([
      // a written type sets keepalived's `add` bit (see routes.ts): shown and sent as `add`
      "add 198.18.5.0/24 dev eth0 proto 18",
      4,
      1,
      true,
      "198.18.5.0",
      24,
    ]);
    expect(r("brd 198.18.5.255 dev eth0")).toEqual([
      "add broadcast 198.18.5.255 dev eth0 proto 18",
      4,
      3,
      true,
      "198.18.5.255",
      32,
    ]);
    expect(r("0x6 198.18.7.0/24 dev eth0")).toEqual([
      "add blackhole 198.18.7.0/24 dev eth0 proto 18",
      4,
      6,
      true,
      "198.18.7.0",
      24,
    ]);
    expect(r("200 198.18.7.0/24 dev eth0")).toEqual([
      "add 200 198.18.7.0/24 dev eth0 proto 18",
      4,
      200,
      true,
      "198.18.7.0",
      24,
    ]);
    expect(r("198.18.5.0/24 dev eth0 throw 198.18.6.0/24")).toEqual([
      "add throw 198.18.6.0/24 dev eth0 proto 18",
      4,
      9,
      true,
      "198.18.6.0",
      24,
    ]);
    for (const [word, type] of [
      ["local", 2],
      ["anycast", 4],
      ["multicast", 5],
      ["unreachable", 7],
      ["prohibit", 8],
      ["nat", 10],
      ["xresolve", 11],
    ] as const)
      expect(r(`${word} 198.18.5.0/24 dev eth0`)).toEqual([
        `add ${word} 198.18.5.0/24 dev eth0 proto 18`,
        4,
        type,
        true,
        "198.18.5.0",
        24,
      ]);
  });
  it("inet / inet6 skip the next word (keepalived's loop steps twice)", () => {
    expect(route1("inet skipped 198.18.5.0/24 dev eth0").dst).toBe("198.18.5.0");
    expect(route1("inet6 skipped 2001:db8:5::/64 dev eth0").family).toBe(6);
  });
  it("table, protocol, scope, metric aliases, tos by name, gw", () => {
    const r = (line: string) => {
      const x = route1(line);
      return [x.table, x.protocol, x.scope, x.metric, x.tos, x.text];
    };
    expect(r("198.18.5.0/24 dev eth0 table main")).toEqual([
      254,
      18,
      null,
      null,
      0,
      "prepend 198.18.5.0/24 dev eth0 proto 18",
    ]);
    expect(r("198.18.5.0/24 dev eth0 table local scope host priority 7")).toEqual([
      255,
      18,
      254,
      7,
      0,
      "prepend 198.18.5.0/24 dev eth0 table 255 proto 18 scope 254 metric 7",
    ]);
    expect(r("198.18.5.0/24 dev eth0 table 0x1000 scope 0x10 preference 0 dsfield AF11")).toEqual([
      4096,
      18,
      16,
      0,
      40,
      "prepend 198.18.5.0/24 tos 40 dev eth0 table 4096 proto 18 scope 16 metric 0",
    ]);
    expect(r("198.18.5.0/24 dev eth0 tos 0")).toEqual([
      254,
      18,
      null,
      null,
      0,
      "prepend 198.18.5.0/24 tos 0 dev eth0 proto 18",
    ]);
    expect(r("198.18.5.0/24 dev eth0 protocol bgp no_track")).toEqual([
      254,
      186,
      null,
      null,
      0,
      "prepend 198.18.5.0/24 dev eth0 proto 186 no_track",
    ]);
    expect(r("198.18.5.0/24 dev eth0 protocol 18 no_track")[5]).toBe(
      "prepend 198.18.5.0/24 dev eth0 proto 18 no_track",
    );
    expect(r("198.18.5.0/24 dev eth0 no_track")[5]).toBe("prepend 198.18.5.0/24 dev eth0 no_track");
    const { routes, diagnostics } = read("virtual_routes", ["198.18.5.0/24 gw 192.0.2.1 dev eth0"]);
    expect(diagnostics).toEqual(['8 warning "gw" for routes is deprecated. Please use "via"']);
    expect(routes.map((x) => [x.via, x.text])).toEqual([
      ["192.0.2.1", "prepend 198.18.5.0/24 via inet 192.0.2.1 dev eth0 proto 18"],
    ]);
  });
  it("a later destination, src or via replaces an earlier one; the last mode wins", () => {
    const x = route1(
      "198.18.5.0/24 via 192.0.2.1 src 192.0.2.9 add 198.18.6.0/24 via 192.0.2.2 src 192.0.2.10 append dev eth0",
    );
    expect([x.dst, x.via, x.src, x.mode]).toEqual(["198.18.6.0", "192.0.2.2", "192.0.2.10", "append"]);
  });
});

describe("virtual_routes: keepalived's messages, and the lines it drops", () => {
  const cases: ReadonlyArray<readonly [string, readonly string[], string | null]> = [
    [
      "198.18.5.0/24",
      ["8 warning Warning - cannot track route 198.18.5.0/24 with no interface specified, not tracking"],
      "prepend 198.18.5.0/24 proto 18 no_track",
    ],
    [
      "192.168.112.0/24 via 192.168.100.254",
      ["8 warning Warning - cannot track route 192.168.112.0/24 with no interface specified, not tracking"],
      "prepend 192.168.112.0/24 via inet 192.168.100.254 proto 18 no_track",
    ],
    [
      "blackhole 192.168.114.0/24",
      ["8 warning Warning - cannot track route 192.168.114.0/24 with no interface specified, not tracking"],
      "add blackhole 192.168.114.0/24 proto 18 no_track",
    ],
    [
      "198.18.5.0/24 dev eth0 protocol static",
      ["8 warning Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"],
      "prepend 198.18.5.0/24 dev eth0 proto 18",
    ],
    [
      "198.18.5.0/33 dev eth0",
      [
        "8 error number '33' outside range [0, 32]",
        "8 error Invalid address prefix len 33 for address 198.18.5.0/33 - using 32",
      ],
      "prepend 198.18.5.0 dev eth0 proto 18",
    ],
    [
      "198.18.5.0/24 dev eth0 as to 1.2.3.4",
      ['8 warning "as to" for MPLS only - ignoring'],
      "prepend 198.18.5.0/24 dev eth0 proto 18",
    ],
    [
      "198.18.5.0/24 dev eth0 features foo",
      ["8 error feature foo not supported"],
      "prepend 198.18.5.0/24 dev eth0 proto 18",
    ],
    [
      "198.18.5.1/24 dev eth0",
      [
        "8 warning virtual route '198.18.5.1/24 dev eth0': 198.18.5.1/24 has host bits set - the kernel refuses such an IPv4 route (keepalived's install fails); Vigil installs 198.18.5.0/24",
      ],
      "prepend 198.18.5.1/24 dev eth0 proto 18",
    ],
    [
      "198.18.5.300/24 dev eth0",
      [
        "8 error VRRP parsed invalid IP 198.18.5.300/24. skipping IP...",
        "8 error unknown route keyword 198.18.5.300/24",
      ],
      null,
    ],
    [
      "198.18.5.0/24 dev eth0 bogus 1",
      ["8 error VRRP parsed invalid IP bogus. skipping IP...", "8 error unknown route keyword bogus"],
      null,
    ],
    [
      "198.18.5.0/24 dev eth0 proto 5",
      ["8 error VRRP parsed invalid IP proto. skipping IP...", "8 error unknown route keyword proto"],
      null,
    ],
    [
      "198.18.5.0/24 dev eth0 type unicast",
      ["8 error VRRP parsed invalid IP type. skipping IP...", "8 error unknown route keyword type"],
      null,
    ],
    [
      "198.18.5.0/24 dev eth0 lookup 100",
      ["8 error VRRP parsed invalid IP lookup. skipping IP...", "8 error unknown route keyword lookup"],
      null,
    ],
    [
      "to blackhole 198.18.6.0/24",
      ["8 error VRRP parsed invalid IP blackhole. skipping IP...", "8 error unknown route keyword blackhole"],
      null,
    ],
    ["dev eth0 via 192.0.2.1", ["8 error Route must have a destination"], null],
    ["inet6 2001:db8:5::/64 dev eth0", ["8 error Route must have a destination"], null],
    [
      "inet6 x default via 2001:db8::1 dev eth0",
      ["8 error Cannot mix IPv4 and IPv6 addresses for route (default)"],
      null,
    ],
    [
      "src 192.0.2.10 default dev eth0",
      ["8 error Cannot mix IPv4 and IPv6 addresses for route (default)"],
      null,
    ],
    [
      "198.18.5.0/24 via 2001:db8::1 dev eth0",
      ["8 error Cannot mix IPv4 and IPv6 addresses for route"],
      null,
    ],
    [
      "to 198.18.8.0/24 dev eth0 via inet6 192.0.2.1",
      ["8 error Cannot mix IPv4 and IPv6 addresses for route"],
      null,
    ],
    ["inet x inet6 y 198.18.5.0/24", ["8 error inet6 specified for IPv4 route"], null],
    ["2001:db8::/64 inet y dev eth0", ["8 error inet specified for IPv6 route"], null],
    [
      "198.18.5.0/24 src 192.0.2.10/24 dev eth0",
      [
        "8 error VRRP parsed invalid IP 192.0.2.10/24. skipping IP...",
        "8 error invalid route src address 192.0.2.10/24",
      ],
      null,
    ],
    [
      "198.18.5.0/24 via bad dev eth0",
      ["8 error VRRP parsed invalid IP bad. skipping IP...", "8 error invalid route via address bad"],
      null,
    ],
    [
      "198.18.5.0/24 from 192.0.2.0/24 dev eth0",
      ["8 error route from address only supported with IPv6 (192.0.2.0/24)"],
      null,
    ],
    [
      "2001:db8::/64 from default dev eth0",
      ["8 error route from address only supported with IPv6 (default)"],
      null,
    ],
    [
      "2001:db8::/64 from x dev eth0",
      ["8 error VRRP parsed invalid IP x. skipping IP...", "8 error invalid route from address x"],
      null,
    ],
    ["198.18.5.0/24 dev eth0 tos 256", ["8 error TOS value 256 is invalid"], null],
    ["198.18.5.0/24 dev eth0 dsfield af11", ["8 error TOS value af11 is invalid"], null],
    ["198.18.5.0/24 dev eth0 table nosuch", ["8 error Routing table nosuch not found for route"], null],
    ["198.18.5.0/24 dev eth0 protocol none", ["8 error Protocol none not found or invalid for route"], null],
    ["198.18.5.0/24 dev eth0 protocol 256", ["8 error Protocol 256 not found or invalid for route"], null],
    ["198.18.5.0/24 dev eth0 scope far", ["8 error Scope far not found or invalid for route"], null],
    [
      "198.18.5.0/24 dev eth0 metric x",
      ["8 error invalid number 'x'", "8 error Invalid metric x specified for route"],
      null,
    ],
    [
      "198.18.5.0/24 dev eth0 metric -1",
      ["8 error negative number '-1'", "8 error Invalid metric -1 specified for route"],
      null,
    ],
    [
      "198.18.5.0/24 dev eth0 metric 4294967296",
      [
        "8 error number '4294967296' outside unsigned integer range",
        "8 error Invalid metric 4294967296 specified for route",
      ],
      null,
    ],
  ];
  for (const [line, messages, text] of cases)
    it(line, () => {
      const { routes, diagnostics } = read("virtual_routes", [line]);
      expect(diagnostics).toEqual(messages);
      expect(routes.map((r) => r.text)).toEqual(text === null ? [] : [text]);
    });

  it("a keyword without its value is keepalived's fatal missing parameter (a bare number is a type)", () => {
    for (const [line, after, position] of [
      ["198.18.5.0/24 dev eth0 5", "5", 5],
      ["198.18.5.0/24 dev", "dev", 3],
      ["to", "to", 2],
      ["198.18.5.0/24 via inet", "inet", 4],
      ["198.18.5.0/24 dev eth0 mtu lock", "lock", 6],
    ] as const) {
      const { routes, diagnostics, result } = read("virtual_routes", [line]);
      const first = line.split(" ")[0];
      expect(diagnostics).toEqual([
        `8 fatal *** Configuration line starting \`${first}\` is missing a parameter after keyword \`${after}\` at word position ${position}`,
      ]);
      expect(routes).toEqual([]);
      expect(result.runnable).toBeUndefined();
    }
  });

  it('"or": deprecated, a second one ignored, nexthops after it refused', () => {
    expect(
      read("virtual_routes", ["198.18.5.0/24 via 192.0.2.1 or 192.0.2.2 or 192.0.2.3 dev eth0"]).diagnostics,
    ).toEqual([
      '8 warning "or" for routes is deprecated. Please use "nexthop"',
      "8 warning virtual route '198.18.5.0/24 via 192.0.2.1 or 192.0.2.2 or 192.0.2.3 dev eth0': option 'or' is not installed by Vigil - route ignored",
      '8 warning "or" for routes is deprecated. Please use "nexthop"',
      '8 warning "or" route already specified - ignoring subsequent',
    ]);
    expect(
      read("virtual_routes", ["198.18.5.0/24 via 192.0.2.1 or 192.0.2.2 nexthop via 192.0.2.3"]).diagnostics,
    ).toEqual([
      '8 warning "or" for routes is deprecated. Please use "nexthop"',
      '8 error Cannot specify nexthops with "or" route',
      "8 error Route has trailing nonsense - nexthop",
    ]);
    expect(read("virtual_routes", ["198.18.5.0/24 via 192.0.2.1 or x dev eth0"]).diagnostics).toEqual([
      '8 warning "or" for routes is deprecated. Please use "nexthop"',
      "8 error VRRP parsed invalid IP x. skipping IP...",
      '8 error Invalid "or" address x',
    ]);
  });
});

describe("virtual_routes: options Vigil does not install drop the route with one warning", () => {
  const dropped = (
    line: string,
    options: readonly string[],
    before: readonly string[] = [],
    after: readonly string[] = [],
  ) => {
    const { routes, diagnostics } = read("virtual_routes", [line]);
    const list = options.map((o) => `'${o}'`).join(", ");
    const shortLine = line.length <= 100 ? line : `${line.slice(0, 99)}…`;
    expect(diagnostics).toEqual([
      ...before,
      `8 warning virtual route '${shortLine}': option${options.length > 1 ? "s" : ""} ${list} ${options.length > 1 ? "are" : "is"} not installed by Vigil - route ignored`,
      ...after,
    ]);
    expect(routes).toEqual([]);
  };
  it("each option alone", () => {
    for (const opt of [
      "mtu 1400",
      "mtu lock 1400",
      "hoplimit 64",
      "advmss lock 1360",
      "rtt 300ms",
      "rttvar lock 2s",
      "rto_min 300",
      "reordering 3",
      "window 65535",
      "cwnd lock 10",
      "ssthresh 20",
      "initcwnd 10",
      "initrwnd 20",
      "features ecn",
      "quickack 1",
      "congctl lock cubic",
      "fastopen_no_cookie 0",
      "ttl-propagate disabled",
      "realms 1/city",
      "encap ip id 5 dst 203.0.113.1 ttl 5",
      "encap mpls 100/200",
      "encap ila 1:2:3:4",
      "vrf blue",
    ])
      dropped(`198.18.5.0/24 dev eth0 ${opt}`, [opt.split(" ")[0] as string]);
    dropped("2001:db8:5::/64 dev eth0 pref high expires 300", ["pref", "expires"]);
    dropped(
      "198.18.5.0/24 via 192.0.2.1 or 192.0.2.2 dev eth0",
      ["or"],
      ['8 warning "or" for routes is deprecated. Please use "nexthop"'],
    );
    dropped(
      "198.18.7.0/24 dev eth0 nexthop via inet 192.0.2.1 dev eth0 weight 2 onlink realms 3 nexthop via 192.0.2.2 encap mpls 100",
      ["nexthop"],
    );
  });
  it("keepalived's messages for the line come too, and the tracking warning", () => {
    dropped(
      "198.18.5.0/24 mtu 1400",
      ["mtu"],
      ["8 warning Warning - cannot track route 198.18.5.0/24 with no interface specified, not tracking"],
    );
    dropped(
      "198.18.5.0/24 dev eth0 ttl-propagate maybe",
      ["ttl-propagate"],
      [],
      ["8 error ttl-propagate value maybe not recognised"],
    );
    dropped(
      "198.18.5.0/24 dev eth0 rtt 0.5",
      ["rtt"],
      [],
      ["8 error number '0.5' has too many decimal places"],
    );
    dropped("198.18.5.0/24 dev eth0 encap foo bar", ["encap"], [], ["8 error Unknown encap type - foo"]);
    dropped(
      "198.18.7.0/24 dev eth0 nexthop via 192.0.2.1 weight 0",
      ["nexthop"],
      [],
      ["8 error Invalid weight 0 specified for route"],
    );
    dropped(
      "198.18.7.0/24 dev eth0 nexthop via 192.0.2.1 dev eth0 bogus",
      ["nexthop"],
      [],
      ["8 error Route has trailing nonsense after nexthops - bogus"],
    );
  });
  it("a bad value of such an option is keepalived's error and drops the line", () => {
    const msgs = (line: string) => read("virtual_routes", [line]).diagnostics;
    expect(msgs("198.18.5.0/24 dev eth0 mtu lock x")).toEqual([
      "8 error invalid number 'x'",
      "8 error Invalid MTU x specified for route",
    ]);
    expect(msgs("198.18.5.0/24 dev eth0 quickack 2")).toEqual([
      "8 error number '2' outside range [0, 1]",
      "8 error Invalid quickack value 2 specified for route",
    ]);
    expect(msgs("198.18.5.0/24 dev eth0 rtt 1e3")).toEqual(["8 error Invalid rtt 1e3 for route"]);
    expect(msgs("198.18.5.0/24 dev eth0 rtt 5000000")).toEqual([
      "8 error number '5000000' outside range [0., 960000.]",
      "8 error Invalid rtt 5000000 for route",
    ]);
    expect(msgs("198.18.5.0/24 dev eth0 rttvar 300x")).toEqual([
      "8 error invalid number '300x'",
      "8 error Invalid rttvar 300x for route",
    ]);
    expect(msgs("198.18.5.0/24 dev eth0 rttvar 300xs")).toEqual([
      "8 error invalid number '300x'",
      "8 error Invalid rttvar 300xs for route",
    ]);
    expect(msgs("198.18.5.0/24 dev eth0 rtt ms")).toEqual(["8 error Invalid rtt ms for route"]);
    expect(msgs("198.18.5.0/24 dev eth0 rto_min 500s")).toEqual([
      "8 error number '500' outside range [0.000, 120.000]",
      "8 error Invalid rto_min value 500s specified for route",
    ]);
    expect(msgs("198.18.5.0/24 dev eth0 expires 10")).toEqual(["8 error expires is only valid for IPv6"]);
    expect(msgs("198.18.5.0/24 dev eth0 pref high")).toEqual(["8 error pref is only valid for IPv6"]);
    expect(msgs("2001:db8::/64 dev eth0 realms 1")).toEqual(["8 error realms are only valid for IPv4"]);
    expect(msgs("198.18.5.0/24 dev eth0 realms bad")).toEqual(["8 error Invalid realms bad for route"]);
    expect(msgs("198.18.5.0/24 dev eth0 encap ip id x dst 1.2.3.4")).toEqual([
      "8 error VRRP parsed invalid IP id. skipping IP...",
      "8 error unknown route keyword id",
      "8 error invalid number 'x'",
      "8 error encap id x value is invalid",
    ]);
  });
});

describe("virtual_rules: every supported option", () => {
  it("a rule with every installed option", () => {
    expect(
      rule1(
        "not from 192.0.2.0/24 to 198.18.0.0/16 preference 100 tos 0x10 fwmark 0x10/0xff iif eth0 oif lo protocol 18 lookup custom",
      ),
    ).toEqual({
      ...ruleDefaults,
      text: "not from 192.0.2.0/24 to 198.18.0.0/16 priority 100 tos 0x10 fwmark 0x10/0xff iif eth0 oif lo protocol 18 lookup 100",
      invert: true,
      from: { address: "192.0.2.0", family: "ipv4", prefixLength: 24 },
      to: { address: "198.18.0.0", family: "ipv4", prefixLength: 16 },
      priority: 100,
      tos: 16,
      fwmark: 16,
      fwmask: 255,
      iif: "eth0",
      oif: "lo",
      action: "table",
      table: 100,
    });
  });
  it("actions: goto, nop, blackhole / unreachable / prohibit with or without type, a type number", () => {
    const r = (line: string) => {
      const x = rule1(line);
      return [x.action, x.table, x.goto, x.text];
    };
    expect(r("from all goto 200 order 100")).toEqual([
      "goto",
      0,
      200,
      "from 0.0.0.0/0 priority 100 tos 0x0 protocol 18 goto 200",
    ]);
    expect(r("to all nop priority 0x10")).toEqual([
      "nop",
      0,
      0,
      "from all to 0.0.0.0/0 priority 16 tos 0x0 protocol 18 nop",
    ]);
    expect(r("blackhole priority 010")).toEqual([
      "blackhole",
      0,
      0,
      "from all priority 8 tos 0x0 protocol 18 type blackhole",
    ]);
    expect(r("type unreachable priority 5")).toEqual([
      "unreachable",
      0,
      0,
      "from all priority 5 tos 0x0 protocol 18 type unreachable",
    ]);
    expect(r("type prohibit priority 5")).toEqual([
      "prohibit",
      0,
      0,
      "from all priority 5 tos 0x0 protocol 18 type prohibit",
    ]);
    expect(r("6 priority 5")).toEqual([
      "blackhole",
      0,
      0,
      "from all priority 5 tos 0x0 protocol 18 type blackhole",
    ]);
    expect(r("type goto 9 priority 5")).toEqual([
      "goto",
      0,
      9,
      "from all priority 5 tos 0x0 protocol 18 goto 9",
    ]);
    expect(r("table main priority 5")).toEqual([
      "table",
      254,
      0,
      "from all priority 5 tos 0x0 protocol 18 lookup 254",
    ]);
  });
  it("IPv6, dev as iif, dsfield, fwmark forms, no_track with and without protocol", () => {
    const x = rule1("from 2001:DB8::/64 dev eth0 dsfield AF11 fwmark 7 table 100 priority 5 no_track");
    expect(x).toEqual({
      ...ruleDefaults,
      text: "from 2001:db8::/64 priority 5 tos 0x28 fwmark 0x7 iif eth0 lookup 100 no_track",
      family: 6,
      from: { address: "2001:DB8::", family: "ipv6", prefixLength: 64 },
      priority: 5,
      tos: 40,
      fwmark: 7,
      iif: "eth0",
      protocol: null,
      action: "table",
      table: 100,
      noTrack: true,
    });
    expect(rule1("inet6 skipped nop priority 5").text).toBe(
      "inet6 from all priority 5 tos 0x0 protocol 18 nop",
    );
    expect(rule1("fwmark 16/ table 100 priority 7 no_track protocol 4").text).toBe(
      "from all priority 7 tos 0x0 fwmark 0x10/0x0 protocol 4 lookup 100 no_track",
    );
    expect(rule1("fwmark 0x10/0xffffffff table 100 priority 7")).toMatchObject({
      fwmark: 16,
      fwmask: 0xffffffff,
    });
    expect(rule1("fwmark /5 table 100 priority 7")).toMatchObject({ fwmark: 0, fwmask: 5 });
    expect(rule1("from all to 2001:db8::/32 table 100 priority 1")).toMatchObject({ family: 6 });
  });
  it("a bad protocol, ipproto or single port is reported and the rule kept without it", () => {
    expect(
      rule1("from 192.0.2.0/24 table 100 priority 5 protocol static", [
        "8 error invalid number 'static'",
        "8 error Invalid protocol static",
      ]).protocol,
    ).toBe(18);
    expect(
      rule1("from 192.0.2.0/24 table 100 priority 5 no_track protocol 300", [
        "8 error number '300' outside range [0, 255]",
        "8 error Invalid protocol 300",
      ]).protocol,
    ).toBe(null);
    rule1("from 192.0.2.0/24 table 100 priority 5 ipproto 132", ["8 error Invalid ipproto 132"]);
    rule1("from 192.0.2.0/24 table 100 priority 5 ipproto nosuch", ["8 error Invalid ipproto nosuch"]);
    rule1("from 192.0.2.0/24 table 100 priority 5 sport 80", ["8 error invalid sport range 80"]);
    rule1("from 192.0.2.0/24 table 100 priority 5 dport 80-", ["8 error invalid dport range 80-"]);
  });
});

describe("virtual_rules: keepalived's messages, and the lines it drops", () => {
  const cases: ReadonlyArray<readonly [string, readonly string[]]> = [
    ["from 192.0.2.0/24 priority 100", ["8 error No action specified for rule - ignoring"]],
    [
      "from 192.0.2.0/24 table 100 blackhole priority 5",
      [
        "8 error Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule",
      ],
    ],
    [
      "from 192.0.2.0/24 blackhole table 100 priority 5",
      ["8 error Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule"],
    ],
    ["from 192.0.2.0/24 local priority 5", ["8 error Invalid rule action local"]],
    ["100 priority 8", ["8 error Invalid rule action 100"]],
    ["inet6 goto 100 priority 5", ["8 error Invalid rule action 100"]],
    ["inet6 from 2001:db8::/64 table 100 priority 5", ["8 error Unknown rule option 2001:db8::/64"]],
    ["from 192.0.2.0/24 bogus", ["8 error Unknown rule option bogus"]],
    ["from 192.0.2.0/24 pref 5 table 1", ["8 error Unknown rule option pref"]],
    ["from 192.0.2.0/24 ip_proto 6 table 1 priority 3", ["8 error Unknown rule option ip_proto"]],
    ["from 192.0.2.0/24 table 1 priority 5 track_group g", ["8 error Unknown rule option track_group"]],
    ["from 192.0.2.0/24 goto 200 priority 300", ["8 error Invalid rule - preference 300 >= goto target 200"]],
    ["from 192.0.2.0/24 goto 200", ["8 error Invalid rule - goto target 200 specified without preference"]],
    [
      "from 192.0.2.0/24 goto abc priority 5",
      ["8 error invalid number 'abc'", "8 error Invalid target goto specified"],
    ],
    [
      "from 192.0.2.0/24 table 100 priority abc",
      ["8 error invalid number 'abc'", "8 error Invalid rule preference priority specified"],
    ],
    [
      "from 192.0.2.0/24 table 100 order 08",
      ["8 error invalid number '08'", "8 error Invalid rule preference order specified"],
    ],
    [
      "from 192.0.2.0/24 table 100 preference -1",
      ["8 error negative number '-1'", "8 error Invalid rule preference preference specified"],
    ],
    ["from 192.0.2.0/24 table nosuch priority 5", ["8 error Routing table nosuch not found for rule"]],
    ["from 192.0.2.0/24 table 0 priority 5", ["8 error Table 0 is not valid"]],
    [
      "from 192.0.2.0/24 to 2001:db8::/64 table 100 priority 5",
      ["8 error rule specification has mixed IPv4 and IPv6"],
    ],
    [
      "to 198.18.0.0/16 from all table 100 priority 5",
      ["8 error rule specification has mixed IPv4 and IPv6"],
    ],
    ["inet x inet6 y nop priority 5", ["8 error inet6 specified for IPv4 rule"]],
    [
      "from x table 1 priority 5",
      ["8 error VRRP parsed invalid IP x. skipping IP...", "8 error Invalid rule from address x"],
    ],
    ["from 192.0.2.0/24 tos 300 table 1 priority 5", ["8 error TOS value 300 is invalid"]],
    ["fwmark 16x table 100 priority 7", ["8 error Invalid rule fwmark 16x specified"]],
    ["fwmark 0x10/xyz table 100 priority 5", ["8 error Invalid rule fwmark 0x10/xyz specified"]],
    ["fwmark -1 table 100 priority 5", ["8 error Invalid rule fwmark -1 specified"]],
    ["fwmark 0x100000000 table 100 priority 5", ["8 error Invalid rule fwmark 0x100000000 specified"]],
    [
      "from 192.0.2.0/24 realms 1/2 blackhole priority 5",
      ["8 error suppressor/realm specified for non table action - skipping"],
    ],
    ["from 192.0.2.0/24 table 100 priority 5 uidrange 5", ["8 error Invalid uidrange uidrange specified"]],
    [
      "from 192.0.2.0/24 table 100 priority 5 tunnel-id x",
      ["8 error invalid number 'x'", "8 error Invalid tunnel-id tunnel-id specified"],
    ],
    [
      "from 192.0.2.0/24 table 100 priority 5 sup_pl -1",
      ["8 error negative number '-1'", "8 error Invalid suppress_prefixlength sup_pl specified"],
    ],
    ["from 192.0.2.0/24 table 100 priority 5 sup_group nosuch", ["8 error suppress_group nosuch is invalid"]],
    ["from 2001:db8::/64 realms 1 table 100 priority 5", ["8 error realms is only valid for IPv4"]],
    ["from 192.0.2.0/24 realms nosuch table 100 priority 5", ["8 error invalid realms nosuch for rule"]],
    [
      "l3mdev table 100 priority 5",
      ["8 error Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule"],
    ],
    ["nop l3mdev priority 5", ["8 error Cannot specify l3mdev with other action"]],
    [
      "from 192.0.2.0/24 table 100 priority 5 protocol 4",
      ["8 warning Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"],
    ],
  ];
  for (const [line, messages] of cases)
    it(line, () => {
      const { rules, diagnostics } = read("virtual_rules", [line]);
      expect(diagnostics).toEqual(messages);
      expect(rules.length).toBe(messages.some((m) => m.includes(" warning ")) ? 1 : 0);
    });
  it("a bad prefix length is reported and the address kept whole", () => {
    expect(
      rule1("to 1.2.3.4/x table 1 priority 5", [
        "8 error invalid number 'x'",
        "8 error Invalid address prefix len x for address 1.2.3.4/x - using 32",
      ]).text,
    ).toBe("from all to 1.2.3.4 priority 5 tos 0x0 protocol 18 lookup 1");
  });
  it("a keyword without its value is fatal", () => {
    const { diagnostics, result } = read("virtual_rules", ["from 192.0.2.0/24 table 1 priority"]);
    expect(diagnostics).toEqual([
      "8 fatal *** Configuration line starting `from` is missing a parameter after keyword `priority` at word position 6",
    ]);
    expect(result.runnable).toBeUndefined();
  });
});

describe("virtual_rules: options Vigil does not install drop the rule with one warning", () => {
  it("each option alone, and all at once", () => {
    const drop = (line: string, options: readonly string[], before: readonly string[] = []) => {
      const { rules, diagnostics } = read("virtual_rules", [line]);
      const list = options.map((o) => `'${o}'`).join(", ");
      const shortLine = line.length <= 100 ? line : `${line.slice(0, 99)}…`;
      expect(diagnostics).toEqual([
        ...before,
        `8 warning virtual rule '${shortLine}': option${options.length > 1 ? "s" : ""} ${list} ${options.length > 1 ? "are" : "is"} not installed by Vigil - rule ignored`,
      ]);
      expect(rules).toEqual([]);
    };
    for (const opt of [
      "realms 1/city",
      "suppress_prefixlength 0",
      "sup_pl 8",
      "suppress_ifgroup default",
      "sup_group 1",
      "tunnel-id 7",
      "uidrange 1000-2000",
      "ipproto tcp",
      "ipproto 6",
      "sport 1000-2000",
      "dport 80-80",
    ])
      drop(`from 192.0.2.0/24 table 100 priority 5 ${opt}`, [opt.split(" ")[0] as string]);
    drop("l3mdev priority 5", ["l3mdev"]);
    drop(
      "not from 192.0.2.0/24 to 198.18.0.0/16 preference 100 tos 0x10 fwmark 0x10/0xff realms 1/2 suppress_prefixlength 0 suppress_ifgroup 0 iif eth0 oif lo tunnel-id 7 uidrange 1000-2000 protocol 18 ipproto tcp sport 1000-2000 dport 80-80 lookup 100",
      [
        "realms",
        "suppress_prefixlength",
        "suppress_ifgroup",
        "tunnel-id",
        "uidrange",
        "ipproto",
        "sport",
        "dport",
      ],
    );
  });
  it("a dropped rule without a preference still takes keepalived's number", () => {
    const { rules, diagnostics } = read("virtual_rules", [
      "from 192.0.2.0/24 table 100 dport 1-2",
      "from 192.0.2.0/24 table 101",
    ]);
    expect(diagnostics).toEqual([
      "8 warning Rule has no preference specified - setting to 16384. This is probably not what you want.",
      "8 warning virtual rule 'from 192.0.2.0/24 table 100 dport 1-2': option 'dport' is not installed by Vigil - rule ignored",
      "9 warning Rule has no preference specified - setting to 16383. This is probably not what you want.",
    ]);
    expect(rules.map((r) => r.priority)).toEqual([16383]);
  });
});

describe("rule preferences keepalived gives: from 16384 down, per family, across instances in file order", () => {
  it("two instances, both families; a rule keepalived drops takes no number", () => {
    const text =
      instance("VI_1", 51, "virtual_rules", [
        "from 192.0.2.0/24 table 100",
        "from 2001:db8::/64 table 100",
        "to 198.18.0.0/16 table 101 priority 7",
        "from 192.0.2.0/24 priority 1",
        "inet6 x nop",
      ]) +
      instance(
        "VI_2",
        52,
        "virtual_rules",
        ["to 198.18.1.0/24 table 102", "to 2001:db8:1::/64 blackhole", "inet y prohibit"],
        "192.0.2.11/24",
      );
    const r = load(text);
    expect(r.diagnostics.map(shown)).toEqual([
      "8 warning Rule has no preference specified - setting to 16384. This is probably not what you want.",
      "9 warning Rule has no preference specified - setting to 16384. This is probably not what you want.",
      "11 error No action specified for rule - ignoring",
      "12 warning Rule has no preference specified - setting to 16383. This is probably not what you want.",
      "22 warning Rule has no preference specified - setting to 16383. This is probably not what you want.",
      "23 warning Rule has no preference specified - setting to 16382. This is probably not what you want.",
      "24 warning Rule has no preference specified - setting to 16382. This is probably not what you want.",
    ]);
    const instances = r.runnable?.instances ?? [];
    expect(instances.map((i) => i.rules.map((x) => x.text))).toEqual([
      [
        "from 192.0.2.0/24 priority 16384 tos 0x0 protocol 18 lookup 100",
        "from 2001:db8::/64 priority 16384 tos 0x0 protocol 18 lookup 100",
        "from all to 198.18.0.0/16 priority 7 tos 0x0 protocol 18 lookup 101",
        "inet6 from all priority 16383 tos 0x0 protocol 18 nop",
      ],
      [
        "from all to 198.18.1.0/24 priority 16383 tos 0x0 protocol 18 lookup 102",
        "from all to 2001:db8:1::/64 priority 16382 tos 0x0 protocol 18 type blackhole",
        "from all priority 16382 tos 0x0 protocol 18 type prohibit",
      ],
    ]);
  });
  it("each configuration read starts again at 16384", () => {
    const text = instance("VI_1", 51, "virtual_rules", ["from 192.0.2.0/24 table 100"]);
    expect(load(text).runnable?.instances[0]?.rules[0]?.priority).toBe(16384);
    expect(load(text).runnable?.instances[0]?.rules[0]?.priority).toBe(16384);
  });
});

describe("blocks, dump and host interfaces", () => {
  it("words before the block are keepalived's extra parameters; both blocks fill one instance", () => {
    const text = `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    192.0.2.10/24\n  }\n  virtual_routes extra {\n    198.18.5.0/24 dev eth0\n  }\n  virtual_rules {\n    from 198.18.5.0/24 table 100 priority 100\n  }\n  virtual_routes {\n    198.18.6.0/24 dev eth0\n  }\n}\n`;
    const r = load(text);
    expect(r.diagnostics.map(shown)).toEqual([
      "7 warning Block virtual_routes has extra parameters extra ...",
    ]);
    const i = r.config?.instances[0];
    expect(i?.routes.map((x) => [x.line, x.text])).toEqual([
      [8, "prepend 198.18.5.0/24 dev eth0 proto 18"],
      [14, "prepend 198.18.6.0/24 dev eth0 proto 18"],
    ]);
    expect(i?.rules.map((x) => [x.line, x.text])).toEqual([
      [11, "from 198.18.5.0/24 priority 100 tos 0x0 protocol 18 lookup 100"],
    ]);
  });
  it("vigil dump shows each route and rule by keepalived's text (text and JSON)", () => {
    const text = instance("VI_1", 51, "virtual_routes", ["198.18.5.0/24 via 192.0.2.1 dev eth0"]).replace(
      "  virtual_routes {",
      "  virtual_rules {\n    from 198.18.5.0/24 table 100 priority 100\n  }\n  virtual_routes {",
    );
    const config = load(text).config;
    expect(config).toBeDefined();
    if (config === undefined) return;
    const lines = configText(config).split("\n");
    expect(lines.filter((l) => l.startsWith("  route ") || l.startsWith("  rule "))).toEqual([
      "  route prepend 198.18.5.0/24 via inet 192.0.2.1 dev eth0 proto 18",
      "  rule from 198.18.5.0/24 priority 100 tos 0x0 protocol 18 lookup 100",
    ]);
    const json = JSON.parse(stableJson(config)) as {
      instances: Array<{ routes: unknown[]; rules: unknown[] }>;
    };
    expect(json.instances[0]?.routes).toEqual([
      {
        ...routeDefaults,
        line: 11,
        text: "prepend 198.18.5.0/24 via inet 192.0.2.1 dev eth0 proto 18",
        dst: "198.18.5.0",
        dstLength: 24,
        via: "192.0.2.1",
      },
    ]);
    expect(json.instances[0]?.rules).toHaveLength(1);
  });
  it("interfaces named by routes and rules, with keepalived's message for a missing one", () => {
    const r = load(
      instance("VI_1", 51, "virtual_routes", [
        "198.18.5.0/24 dev eth9",
        "198.18.6.0/24 via 192.0.2.1",
      ]).replace(
        "  virtual_routes {",
        "  virtual_rules {\n    iif eth7 oif eth8 table 100 priority 100\n  }\n  virtual_routes {",
      ),
    );
    const i = r.runnable?.instances[0];
    expect(i && interfacesOf(i)).toEqual([
      { ifname: "eth9", line: 11, message: "WARNING - interface eth9 for VROUTE nexthop doesn't exist" },
      { ifname: "eth7", line: 8, message: "WARNING - interface eth7 for rule doesn't exist" },
      { ifname: "eth8", line: 8, message: "WARNING - interface eth8 for rule doesn't exist" },
    ]);
  });
});

/** The lines compared with keepalived -t: IF is this host's interface. */
const ROUTE_LINES = [
  "198.18.5.0/24 via 192.0.2.1 dev IF",
  "192.168.112.0/24 via 192.168.100.254",
  "192.168.111.0/24 dev IF no_track",
  "blackhole 192.168.114.0/24",
  "default via 192.0.2.1 dev IF table 100 metric 5 scope link",
  "src 192.168.100.1 to 192.168.109.0/24 via 192.168.200.254 dev IF",
  "198.18.5.0/24 src 192.0.2.10 via inet 192.0.2.1 dev IF tos 0x10 table main protocol keepalived scope global metric 50 onlink add",
  "2001:db8:5::/64 from 2001:db8:1::/64 src 2001:db8::10 via 2001:db8::1 oif IF append",
  "198.18.5.0/33 dev IF",
  "198.18.5.300/24 dev IF",
  "198.18.5.0/24 dev IF bogus 1",
  "198.18.5.0/24 dev IF proto 5",
  "198.18.5.0/24 dev IF type unicast",
  "198.18.5.0/24 dev IF lookup 100",
  "inet6 2001:db8:5::/64 dev IF",
  "inet6 XXX 2001:db8:5::/64 dev IF",
  "inet6 x default via 2001:db8::1 dev IF",
  "src 192.0.2.10 default dev IF",
  "to blackhole 198.18.6.0/24",
  "0x6 198.18.7.0/24 dev IF",
  "198.18.5.0/24 gw 192.0.2.1 dev IF",
  "198.18.5.0/24 dev IF protocol static",
  "198.18.5.0/24 dev IF protocol static no_track",
  "198.18.5.0/24 via 2001:db8::1 dev IF",
  "to 198.18.8.0/24 dev IF via inet6 192.0.2.1",
  "198.18.5.0/24 from 192.0.2.0/24 dev IF",
  "198.18.5.0/24 src 192.0.2.10/24 dev IF",
  "198.18.5.0/24 dev IF tos 256",
  "198.18.5.0/24 dev IF table nosuch",
  "198.18.5.0/24 dev IF protocol 256",
  "198.18.5.0/24 dev IF scope far",
  "198.18.5.0/24 dev IF metric x",
  "dev IF via 192.0.2.1",
  "198.18.5.0/24 via 192.0.2.1 or 192.0.2.2 dev IF",
  "198.18.5.0/24 via 192.0.2.1 or 192.0.2.2 or 192.0.2.3 dev IF",
  "198.18.5.0/24 via 192.0.2.1 or 192.0.2.2 nexthop via 192.0.2.3",
  "198.18.5.0/24 dev IF as to 1.2.3.4",
  "198.18.5.0/24 dev IF features foo",
  "198.18.5.0/24 dev IF features ecn",
  "198.18.5.0/24 dev IF ttl-propagate maybe",
  "198.18.5.0/24 dev IF mtu lock 1400 hoplimit 64 advmss 1360 rtt 300ms rttvar 250ms reordering 3 window 65535",
  "198.18.5.0/24 dev IF cwnd lock 10 ssthresh 20 realms 1/2 rto_min 300ms initcwnd 10 initrwnd 20",
  "198.18.5.0/24 dev IF quickack 1 congctl lock cubic fastopen_no_cookie 1 ttl-propagate enabled",
  "198.18.5.0/24 dev IF encap ip id 5 dst 203.0.113.1 ttl 5 append",
  "198.18.5.0/24 dev IF encap ip id x dst 1.2.3.4",
  "198.18.5.0/24 dev IF encap ip6 tc bad dst 2001:db8::1",
  "198.18.5.0/24 dev IF encap ip6 id 3 hoplimit 300",
  "198.18.5.0/24 dev IF encap mpls 100/200/300",
  "198.18.5.0/24 dev IF encap foo bar",
  "198.18.5.0/24 dev IF encap ila 1:2:3",
  "198.18.7.0/24 dev IF nexthop via inet 192.0.2.1 dev IF weight 2 onlink realms 3 nexthop via 192.0.2.2 dev IF weight 1 encap mpls 100",
  "198.18.7.0/24 dev IF nexthop via 192.0.2.1 weight 0",
  "198.18.7.0/24 dev IF nexthop via 192.0.2.1 dev IF bogus",
  "2001:db8:5::/64 dev IF pref high expires 300",
  "198.18.5.0/24 dev IF rtt 1e3",
  "198.18.5.0/24 dev IF rtt 0.5",
  "198.18.5.0/24 dev IF rtt 5000000",
  "198.18.5.0/24 dev IF rto_min 500s",
  "198.18.5.0/24 dev IF rttvar abc",
  "198.18.5.0/24 dev IF rttvar 300xs",
  "198.18.5.0/24 dev IF rtt ms",
  "198.18.5.0/24 dev IF rtt 1.2345s",
  "198.18.5.0/24 dev IF rto_min 0.5secs",
  "198.18.5.0/24 dev IF mtu lock x",
  "198.18.5.0/24 dev IF quickack 2",
  "198.18.5.0/24 dev IF expires 10",
  "198.18.5.0/24 dev IF pref high",
  "198.18.5.0/24 dev IF realms bad",
  "198.18.5.1/24 dev IF",
];
const RULE_LINES = [
  "from 192.168.2.0/24 table 1",
  "to 192.168.2.0/24 table 1 no_track",
  "fwmark 16 priority 101 unreachable",
  "from all to 198.18.0.0/16 lookup main priority 7",
  "from 2001:db8::/64 table 100",
  "inet6 x nop",
  "not from 192.0.2.0/24 to 198.18.0.0/16 preference 100 tos 0x10 fwmark 0x10/0xff iif IF oif lo protocol 18 lookup 100",
  "fwmark 16/ table 100 priority 7 no_track protocol 4",
  "type 6 priority 0x10",
  "goto 200 priority 100",
  "not from 192.0.2.0/24 to 198.18.0.0/16 preference 100 realms 1/2 suppress_prefixlength 0 suppress_ifgroup 0 tunnel-id 7 uidrange 1000-2000 ipproto tcp sport 1000-2000 dport 80-80 lookup 100",
  "from 192.0.2.0/24 table 100 priority 5 dport 80",
  "from 192.0.2.0/24 table 100 priority 5 ipproto 132",
  "from 192.0.2.0/24 table 100 priority 5 ipproto nosuch",
  "l3mdev priority 5",
  "l3mdev table 100 priority 5",
  "from default priority 106 table main sup_pl 8 sup_group 1",
  "from 192.0.2.0/24 realms 1/2 blackhole priority 5",
  "from 192.0.2.0/24 table 100 priority 5 uidrange 5",
  "from 192.0.2.0/24 table 100 priority 5 tunnel-id x",
  "from 192.0.2.0/24 table 100 priority 5 sup_pl -1",
  "from 192.0.2.0/24 table 100 priority 5 sup_group nosuch",
  "from 2001:db8::/64 realms 1 table 100 priority 5",
  "from 192.0.2.0/24 table nosuch priority 5",
  "from 192.0.2.0/24 table 0 priority 5",
  "from 192.0.2.0/24 bogus",
  "from 192.0.2.0/24 pref 5 table 1",
  "from 192.0.2.0/24 ip_proto 6 table 1 priority 3",
  "from 192.0.2.0/24 goto abc priority 5",
  "from 192.0.2.0/24 goto 200 priority 300",
  "from 192.0.2.0/24 goto 200",
  "from 192.0.2.0/24 priority 100",
  "from 192.0.2.0/24 table 100 blackhole priority 5",
  "from 192.0.2.0/24 blackhole table 100 priority 5",
  "from 192.0.2.0/24 local priority 5",
  "inet6 goto 100 priority 5",
  "inet6 from 2001:db8::/64 table 100 priority 5",
  "from 192.0.2.0/24 to 2001:db8::/64 table 100 priority 5",
  "to 198.18.0.0/16 from all table 100 priority 5",
  "from 192.0.2.0/24 table 100 priority abc",
  "from 192.0.2.0/24 table 100 order 08",
  "fwmark 16x table 100 priority 7",
  "fwmark 0x10/xyz table 100 priority 5",
  "from 192.0.2.0/24 table 100 priority 5 protocol static",
  "from 192.0.2.0/24 table 100 priority 5 protocol 300",
  "from 192.0.2.0/24 table 100 priority 5 protocol 4",
  "from 192.0.2.0/24 table 1 priority 5 track_group g",
  "nop l3mdev priority 5",
];
/** Lines where keepalived stops (a missing parameter): each in a file of its own. */
const FATAL_LINES: ReadonlyArray<readonly ["virtual_routes" | "virtual_rules", string]> = [
  ["virtual_routes", "198.18.5.0/24 dev IF 5"],
  ["virtual_routes", "198.18.5.0/24 dev"],
  ["virtual_routes", "198.18.5.0/24 dev IF mtu lock"],
  ["virtual_rules", "from 192.0.2.0/24 table 1 priority"],
  ["virtual_rules", "type"],
];

/** Vigil's own notes, which keepalived does not print. */
const VIGIL_ONLY = [
  / (is|are) not installed by Vigil - (route|rule) ignored$/,
  /has host bits set - the kernel refuses/,
];

/** This host's first interface other than lo (keepalived checks the interfaces a configuration names). */
const hostInterface = (): string | undefined => {
  try {
    return readdirSync("/sys/class/net")
      .filter((n) => n !== "lo")
      .sort()[0];
  } catch {
    return undefined;
  }
};

const ifname = keepalivedPath === undefined ? undefined : hostInterface();
const skipKeepalived =
  skipUnlessLab("virtual routes and rules vs keepalived -t", { root: true, keepalived: true }) ||
  ((): boolean => {
    if (ifname !== undefined) return false;
    if (inCi)
      throw new Error("virtual routes and rules vs keepalived -t: no network interface other than lo");
    console.warn("[skip] virtual routes and rules vs keepalived -t: no network interface other than lo");
    return true;
  })();

describe.skipIf(skipKeepalived)(
  "the same lines through keepalived -t (run on this host, no namespace)",
  () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-routes-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const iface = ifname as string;

    /** keepalived -t's messages and Vigil's diagnostics, as `LINE message` sets, on a file of `lines`. */
    const both = (name: string, block: string, lines: readonly string[]) => {
      const file = join(dir, `${name}.conf`);
      const body = instance(
        "VI_1",
        51,
        block,
        lines.map((l) => l.replaceAll("IF", iface)),
      ).replace("interface eth0", `interface ${iface}`);
      writeFileSync(file, body);
      const pid = (n: string) => join(dir, `${name}-${n}.pid`);
      const run = spawnSync(
        keepalivedPath as string,
        ["-t", "-f", file, "-i", "lb1", "-p", pid("k"), "-r", pid("v"), "-c", pid("c"), "-b", pid("b")],
        { encoding: "latin1", timeout: 20_000 },
      );
      const keepalived = new Set<string>();
      for (const l of `${run.stdout}\n${run.stderr}`.split("\n")) {
        const m = /^\((?:[^)]*: )?Line (\d+)\) (.*)$/.exec(l.trim());
        if (m !== null) keepalived.add(`${m[1]} ${m[2]}`);
      }
      const vigil = new Set(
        loadConfig(file, { configId: "lb1" })
          .diagnostics.filter((d) => !VIGIL_ONLY.some((p) => p.test(d.message)))
          .map((d) => `${d.line} ${d.message}`),
      );
      return { keepalived: [...keepalived].sort(), vigil: [...vigil].sort(), status: run.status };
    };

    it("virtual_routes: keepalived's messages, line by line", () => {
      const r = both("routes", "virtual_routes", ROUTE_LINES);
      expect(r.vigil).toEqual(r.keepalived);
      expect(r.keepalived.length).toBeGreaterThan(50);
    });
    it("virtual_rules: keepalived's messages, line by line (the preferences it numbers too)", () => {
      const r = both("rules", "virtual_rules", RULE_LINES);
      expect(r.vigil).toEqual(r.keepalived);
      expect(r.keepalived.some((m) => m.includes("setting to 16383"))).toBe(true);
    });
    it("a missing parameter: keepalived stops on the line (exit 2), Vigil's error is fatal", () => {
      FATAL_LINES.forEach(([block, line], n) => {
        const r = both(`fatal${n}`, block, [line]);
        expect(r.status).toBe(2);
        expect(r.vigil).toEqual(r.keepalived);
        expect(r.vigil).toHaveLength(1);
      });
    });
    it("lines keepalived accepts silently give Vigil nothing either (only its own notes)", () => {
      const r = both("clean", "virtual_routes", [
        "198.18.5.0/24 via 192.0.2.1 dev IF",
        "198.18.9.0/24 dev IF table 100 metric 5 scope link protocol 4 no_track",
        "2001:db8:9::/64 via 2001:db8::1 dev IF mtu 1400",
      ]);
      expect(r.status).toBe(0);
      expect(r.keepalived).toEqual([]);
      expect(r.vigil).toEqual([]);
    });
  },
);

describe("static_routes and static_rules", () => {
  it("are read as keepalived's alloc_route / alloc_rule with track_group allowed; numbering shared with virtual rules", () => {
    const r = load(
      [
        "static_routes {",
        "  198.18.7.0/24 via 192.0.2.254 dev eth0 track_group G1",
        "}",
        "static_rules {",
        "  from 198.18.7.0/24 table 100",
        "}",
        instance("VI_1", 51, "virtual_rules", ["to 198.18.8.0/24 table 100"]),
      ].join("\n"),
    );
    const c = r.runnable ?? r.config;
    expect(c?.staticRoutes.map((x) => x.text)).toEqual([
      "prepend 198.18.7.0/24 via inet 192.0.2.254 dev eth0 proto 18",
    ]);
    expect(c?.staticRules.map((x) => x.text)).toEqual([
      "from 198.18.7.0/24 priority 16384 tos 0x0 protocol 18 lookup 100",
    ]);
    expect(c?.instances[0]?.rules.map((x) => x.priority)).toEqual([16383]);
    expect(r.diagnostics.map(shown)).toEqual([
      "2 warning 'track_group G1' is parsed but not acted on by Vigil yet (track groups are not implemented): the group's instances do not track the entry's interface",
      "5 warning Rule has no preference specified - setting to 16384. This is probably not what you want.",
      "14 warning Rule has no preference specified - setting to 16383. This is probably not what you want.",
    ]);
  });

  it("track_group is a static keyword only: in virtual_routes it is keepalived's unknown route keyword", () => {
    const { routes, diagnostics } = read("virtual_routes", ["198.18.7.0/24 dev eth0 track_group G1"]);
    expect(routes).toEqual([]);
    expect(diagnostics.join("\n")).toContain("unknown route keyword track_group");
  });
});
