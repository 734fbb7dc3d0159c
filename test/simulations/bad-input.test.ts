/**
 * Bad scenarios: `vigil simulate` exits 2 with one clear `FILE:LINE:COLUMN: message` per problem
 * (in the scenario, or in the keepalived.conf that has the error) and never a stack trace, whatever
 * is wrong — YAML syntax, shapes, names that refer to nothing, times, configurations.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { simulateCommand } from "../../src/cli/simulate.ts";
import { tempDirForFile } from "../support/temp.ts";

const dir = tempDirForFile("vigil-sim-bad-");

const CONF = (prio: number, extra = ""): string =>
  `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority ${prio}\n  virtual_ipaddress { 198.18.0.100/24 }\n${extra}}\n`;
writeFileSync(join(dir, "good.conf"), CONF(150));
writeFileSync(
  join(dir, "bad.conf"),
  "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n  priority 150\n}\n",
);

/** A valid scenario; `edit` changes it into a bad one. */
const GOOD = `name: t
duration: 20s
lans:
  lan:
nodes:
  lb1:
    config: good.conf
    interfaces:
      eth0: { lan: lan, ipv4: 198.18.0.1 }
  lb2:
    interfaces:
      eth0: { lan: lan, ipv4: 198.18.0.2 }
    config: |
      vrrp_instance VI_1 {
          interface eth0
          virtual_router_id 51
          priority 100
          virtual_ipaddress { 198.18.0.100/24 }
      }
timeline:
  - at: 5s
    partition: [[lb1], [lb2]]
  - at: 10s
    heal:
expect:
  - master: { at: 15s, node: lb1 }
`;

async function simulate(
  text: string,
  name = "s.yaml",
): Promise<{ code: number; out: string; err: string; file: string }> {
  const file = join(dir, name);
  writeFileSync(file, text);
  let out = "";
  let err = "";
  const code = await simulateCommand.run([file], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err, file };
}

const lineOf = (text: string, needle: string): number =>
  text.slice(0, text.indexOf(needle)).split("\n").length;

describe("bad scenarios", () => {
  it("the base scenario is good (so each case below fails for its own reason)", async () => {
    const r = await simulate(GOOD);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });

  const cases: Array<[string, string, RegExp, string | undefined]> = [
    ["a YAML syntax error", GOOD.replace("  lan:\n", "  lan: [\n"), /YAML: /, undefined],
    [
      "an unknown node in the timeline",
      GOOD.replace("partition: [[lb1], [lb2]]", "partition: [[lb1], [lb9]]"),
      /unknown node 'lb9' \(nodes: lb1, lb2\)/,
      "partition: [[lb1], [lb9]]",
    ],
    [
      "an event before time zero",
      GOOD.replace("at: 5s", "at: -5s"),
      /negative duration '-5s': times start at 0/,
      "at: -5s",
    ],
    [
      "a partition naming a missing LAN",
      GOOD.replace("partition: [[lb1], [lb2]]", "partition: { groups: [[lb1], [lb2]], lan: dmz }"),
      /unknown LAN 'dmz' \(lans: lan\)/,
      "partition: { groups",
    ],
    [
      "an interface on a missing LAN",
      GOOD.replace("eth0: { lan: lan, ipv4: 198.18.0.2 }", "eth0: { lan: wan, ipv4: 198.18.0.2 }"),
      /unknown LAN 'wan'/,
      "lan: wan",
    ],
    [
      "an unknown timeline action",
      GOOD.replace("heal:", "explode: lb1"),
      /unknown timeline entry 'explode': expected one of partition, heal/,
      "explode",
    ],
    [
      "two actions in one entry",
      GOOD.replace("    heal:\n", "    heal:\n    crash: lb1\n"),
      /one action per timeline entry, found heal, crash/,
      "at: 10s",
    ],
    [
      "an unknown key",
      GOOD.replace("duration: 20s", "duration: 20s\ndurration: 30s"),
      /unknown key 'durration'/,
      "durration",
    ],
    ["a missing duration", GOOD.replace("duration: 20s\n", ""), /missing key 'duration'/, undefined],
    [
      "a bad duration",
      GOOD.replace("duration: 20s", "duration: twenty"),
      /not a duration: 'twenty'/,
      "duration: twenty",
    ],
    ["an event after the end", GOOD.replace("at: 10s", "at: 25s"), /after the end of the run/, "at: 25s"],
    ["a wrong type", GOOD.replace("ipv4: 198.18.0.1 }", "ipv4: [1] }"), /Expected string/, "ipv4: [1]"],
    [
      "an unknown instance in an expectation",
      GOOD.replace("node: lb1 }", "node: lb1, instance: VI_9 }"),
      /node lb1 has no vrrp_instance VI_9/,
      "master: {",
    ],
    [
      "an unknown script",
      GOOD.replace("    heal:\n", "    script: { node: lb1, name: chk, result: fail }\n"),
      /lb1's keepalived.conf has no vrrp_script chk/,
      "script:",
    ],
    [
      "an unknown invariant",
      GOOD.replace("  - master: { at: 15s, node: lb1 }", "  - violates: split-brain"),
      /unknown invariant 'split-brain'/,
      "violates",
    ],
    [
      "a link on a missing interface",
      GOOD.replace("    heal:\n", "    link: { node: lb1, interface: eth7, state: down }\n"),
      /node lb1 has no interface eth7/,
      "link:",
    ],
    [
      "a loss above 100%",
      GOOD.replace("  lan:\n", "  lan: { loss: 150% }\n"),
      /not a percentage from 0% to 100%/,
      "loss: 150%",
    ],
    ["a scalar document", "just text\n", /a scenario is a YAML mapping/, undefined],
    [
      "an endless duration",
      GOOD.replace("duration: 20s", "duration: 1e308"),
      /duration too large/,
      "duration: 1e308",
    ],
    [
      "a duration of many years",
      GOOD.replace("duration: 20s", "duration: 99999h"),
      /duration too large: '99999h'/,
      "duration: 99999h",
    ],
    [
      "a node name with a separator",
      GOOD.replace("  lb2:\n", "  'lb>2':\n").replace("[lb2]", "['lb>2']"),
      /node name 'lb>2': use letters/,
      "'lb>2':",
    ],
    ["a LAN name with a separator", GOOD.replace("  lan:\n", "  'l|an':\n"), /LAN name 'l\|an'/, "'l|an':"],
    [
      "a bad IPv4 address",
      GOOD.replace("ipv4: 198.18.0.1 }", "ipv4: 198.18.0.999 }"),
      /not an IPv4 address/,
      "ipv4: 198.18.0.999",
    ],
    [
      "an alias bomb",
      `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`,
      /YAML: |alias|Excessive/i,
      undefined,
    ],
    ["an empty file", "", /a scenario is a YAML mapping/, undefined],
  ];

  it.each(cases)("%s: exit 2, file:line:column, no stack trace", async (_what, text, message, where) => {
    const r = await simulate(text);
    expect(r.out).toBe("");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at |Error:/);
    const m = /^vigil simulate: (.+?):(\d+):(\d+): /m.exec(r.err);
    if (text.trim() !== "") {
      expect(m?.[1]).toBe(r.file);
      if (where !== undefined) expect(Number(m?.[2])).toBe(lineOf(text, where));
    }
  });

  it("a keepalived.conf with errors (by path): the error names that file and its line", async () => {
    const r = await simulate(GOOD.replace("config: good.conf", "config: bad.conf"));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`vigil simulate: ${join(dir, "bad.conf")}:3:`);
    expect(r.err).toMatch(/VRID '300' not valid/);
    expect(r.err).toMatch(/lb1's keepalived.conf, .*s\.yaml:7\]/);
  });

  it("a keepalived.conf with errors (inline): the error is on the scenario's own line", async () => {
    const text = GOOD.replace(
      "          priority 100\n",
      "          priority 100\n          advert_int banana\n",
    );
    const r = await simulate(text);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${r.file}:${lineOf(text, "advert_int banana")}:`);
    expect(r.err).toMatch(/lb2's keepalived.conf: /);
  });

  it("a missing configuration file and a missing scenario file", async () => {
    const r = await simulate(GOOD.replace("config: good.conf", "config: nowhere.conf"));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nowhere\.conf/);
    let err = "";
    const code = await simulateCommand.run([join(dir, "absent.yaml")], {
      stdout: () => {},
      stderr: (t) => (err += t),
    });
    expect(code).toBe(2);
    expect(err).toMatch(/absent\.yaml: cannot read the scenario: ENOENT/);
  });

  it("an instance on an interface the node does not declare", async () => {
    const r = await simulate(
      GOOD.replace(
        "      eth0: { lan: lan, ipv4: 198.18.0.1 }",
        "      eth1: { lan: lan, ipv4: 198.18.0.1 }",
      ),
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/vrrp_instance VI_1 uses interface eth0, which is not under interfaces: \(eth1\)/);
  });
});
