/**
 * Bad LVS lines in a scenario — the `realServer` action, the `realServers` initial states, the
 * `ipvs` expectation — are refused by `vigil simulate` with exit 2 and one
 * `FILE:LINE:COLUMN: message` pointing at the offending token, never a stack trace.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { simulateCommand } from "../../src/cli/simulate.ts";
import { tempDirForFile } from "../support/temp.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dir = tempDirForFile("vigil-sim-lvs-bad-");
const conf = (n: number): string => join(root, `simulations/configs/lvs-lb${n}.conf`);

const GOOD = `name: lvs
duration: 30s
realServers:
  "198.18.0.12:80": hang
lans: { lan: }
nodes:
  lb1:
    config: ${conf(1)}
    interfaces: { eth0: { lan: lan, ipv4: 198.18.0.1 } }
  lb2:
    config: ${conf(2)}
    interfaces: { eth0: { lan: lan, ipv4: 198.18.0.2 } }
timeline:
  - at: 5s
    realServer: { address: 198.18.0.11, port: 80, state: down }
expect:
  - ipvs: { at: 20s, node: lb1, service: "[198.18.0.100]:tcp:80", realServer: "[198.18.0.30]:tcp:80", weight: 1 }
`;

async function simulate(text: string): Promise<{ code: number; out: string; err: string; file: string }> {
  const file = join(dir, "s.yaml");
  writeFileSync(file, text);
  let out = "";
  let err = "";
  const code = await simulateCommand.run([file], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err, file };
}

/** 1-based line and column of the first `needle` in `text`. */
const posOf = (text: string, needle: string): [number, number] => {
  const before = text.slice(0, text.indexOf(needle)).split("\n");
  return [before.length, (before[before.length - 1] as string).length + 1];
};

describe("bad LVS lines in a scenario", () => {
  it("the base scenario is good (so each case below fails for its own reason)", async () => {
    const r = await simulate(GOOD);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });

  const EXPECT = `ipvs: { at: 20s, node: lb1, service: "[198.18.0.100]:tcp:80", realServer: "[198.18.0.30]:tcp:80", weight: 1 }`;
  const cases: Array<[string, string, string, RegExp, string]> = [
    [
      "a real server state that is not one",
      "state: down",
      "state: sideways",
      /Expected "up" \| "down" \| "hang"/,
      "sideways",
    ],
    [
      "a real server address that is not an address",
      "address: 198.18.0.11",
      "address: 198.18.0.311",
      /give an IP address/,
      "198.18.0.311",
    ],
    [
      "a real server port out of range",
      "port: 80",
      "port: 70000",
      /port 70000: give an IP address and a port from 0 to 65535/,
      "70000",
    ],
    [
      "a real server no checker probes",
      "address: 198.18.0.11",
      "address: 198.18.0.99",
      /no checker probes real server \[198\.18\.0\.99\]:80 \(probed: \[198\.18\.0\.11\]:80, \[198\.18\.0\.12\]:80\)/,
      "{ address: 198.18.0.99",
    ],
    [
      "a real server action naming a node",
      "port: 80, state",
      "port: 80, node: lb1, state",
      /unknown key 'node'/,
      "lb1, state",
    ],
    [
      "an initial state without a port",
      `"198.18.0.12:80": hang`,
      `"198.18.0.12": hang`,
      /'198\.18\.0\.12': write a real server as ADDRESS:PORT/,
      `"198.18.0.12"`,
    ],
    [
      "an initial state of a server no checker probes",
      `"198.18.0.12:80": hang`,
      `"198.18.0.12:8080": hang`,
      /no checker probes real server \[198\.18\.0\.12\]:8080/,
      `"198.18.0.12:8080"`,
    ],
    [
      "an initial state that is not one",
      `"198.18.0.12:80": hang`,
      `"198.18.0.12:80": hung`,
      /Expected "up" \| "down" \| "hang"/,
      "hung",
    ],
    [
      "a service not in keepalived's form",
      `service: "[198.18.0.100]:tcp:80"`,
      `service: "198.18.0.100:80"`,
      /service '198\.18\.0\.100:80': give keepalived's name, e\.g\. \[198\.18\.0\.100\]:tcp:80/,
      `"198.18.0.100:80"`,
    ],
    [
      "a service the node does not have",
      `service: "[198.18.0.100]:tcp:80"`,
      `service: "[198.18.0.100]:tcp:81"`,
      /lb1's keepalived\.conf has no virtual_server \[198\.18\.0\.100\]:tcp:81 \(it has: \[198\.18\.0\.100\]:tcp:80\)/,
      `"[198.18.0.100]:tcp:81"`,
    ],
    [
      "a destination the service does not have",
      `realServer: "[198.18.0.30]:tcp:80"`,
      `realServer: "[198.18.0.31]:tcp:80"`,
      /has no real or sorry server \[198\.18\.0\.31\]:tcp:80 \(it has: \[198\.18\.0\.11\]:tcp:80, \[198\.18\.0\.12\]:tcp:80, \[198\.18\.0\.30\]:tcp:80\)/,
      `"[198.18.0.31]:tcp:80"`,
    ],
    [
      "a weight for an absent destination",
      "weight: 1 }",
      "weight: 1, present: false }",
      /weight: only for a realServer that is present/,
      "1, present",
    ],
    ["a negative weight", "weight: 1 }", "weight: -1 }", /weight: 0 or more/, "-1"],
    ["an unknown node", "node: lb1, service", "node: lb7, service", /unknown node 'lb7'/, "lb7"],
    [
      "a time after the end",
      "at: 20s, node: lb1",
      "at: 40s, node: lb1",
      /at: after the end of the run/,
      "40s",
    ],
    ["a missing service", `service: "[198.18.0.100]:tcp:80", `, "", /missing key 'service'/, "{ at: 20s"],
  ];

  it.each(cases)("%s: exit 2 at its line and column", async (_what, from, to, message, where) => {
    expect(GOOD).toContain(from);
    const text = GOOD.replace(from, to);
    const r = await simulate(text);
    expect(r.out).toBe("");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at |Error:/);
    const m = /^vigil simulate: (.+?):(\d+):(\d+): /m.exec(r.err);
    expect(m?.[1]).toBe(r.file);
    expect([Number(m?.[2]), Number(m?.[3])]).toEqual(posOf(text, where));
  });

  it("the expectation's shape is checked too: an unknown key", async () => {
    const text = GOOD.replace(EXPECT, EXPECT.replace("weight: 1", "wieght: 1"));
    const r = await simulate(text);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown key 'wieght'/);
  });
});
