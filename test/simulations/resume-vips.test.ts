/**
 * A node resumed from a checkpoint after its host lost its addresses: the simulated host tells it,
 * as journaled netlink-style `address` inputs, which addresses of its restored MASTER instances are
 * gone (VIPs, excluded VIPs, no_track ones, an IPv6 one in the kernel's canonical form) — and
 * nothing for BACKUP instances or for addresses a kill -9 left in place. The node then reacts as
 * to any deleted VIP and takes its addresses back; `vips-only-on-masters` knows excluded VIPs and
 * VIPs written without a prefix; the journals replay. Also the `vip` expectation.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario, type SimResult } from "../../simulations/runner.ts";
import { loadScenarioText } from "../../simulations/scenario.load.ts";
import { replayCommand } from "../../src/cli/replay.ts";
import { readJournal } from "../../src/runtime/journal.ts";
import { tempDirForTest } from "../support/temp.ts";

const instances = (prio1: number, prio2: number): string => `
      vrrp_instance VI_1 {
          state BACKUP
          interface eth0
          virtual_router_id 51
          priority ${prio1}
          advert_int 1
          virtual_ipaddress {
              198.18.0.100/24
              198.18.0.103
              198.18.0.102/24 no_track
          }
          virtual_ipaddress_excluded {
              198.18.0.101/24
              2001:DB8:0::A/64
          }
      }
      vrrp_instance VI_2 {
          state BACKUP
          interface eth0
          virtual_router_id 52
          priority ${prio2}
          advert_int 1
          virtual_ipaddress {
              198.18.0.200/24
          }
      }`;

const scenario = (crash: string, extraExpect = ""): string => `# resumed master
# (test)
name: resumed master
duration: 40s
checkpointEvery: 5s
lans: { lan: }
nodes:
  lb1:
    config: |${instances(150, 50)}
    interfaces: { eth0: { lan: lan, ipv4: 198.18.0.1 } }
  lb2:
    config: |${instances(100, 200)}
    interfaces: { eth0: { lan: lan, ipv4: 198.18.0.2 } }
timeline:
  - at: 12s
    crash: ${crash}
  - at: 20s
    restart: { node: lb1, resume: checkpoint }
expect:
  - master: { at: 30s, node: lb1, instance: VI_1 }
  - state: { at: 30s, node: lb1, instance: VI_2, is: BACKUP }${extraExpect}
`;

/** The addresses on `node`'s host at `atUs`, folded from the timeline's vip entries. */
const heldAt = (r: SimResult, node: string, atUs: number): string[] => {
  const held = new Set<string>();
  for (const e of r.timeline)
    if (e.node === node && e.kind === "vip" && e.atUs <= atUs) {
      if (e.text.startsWith("+ ")) held.add(e.text.slice(2));
      else held.delete(e.text.slice(2));
    }
  return [...held].sort();
};

/** The `address` inputs of the resumed daemon's journal. */
const addressInputs = (dir: string): unknown[] =>
  readdirSync(dir)
    .filter((f) => f.startsWith("lb1.run2"))
    .sort()
    .flatMap((f) => {
      const j = readJournal(readFileSync(join(dir, f), "utf8"));
      if (!j.ok) throw new Error(`${f}: ${j.error.message}`);
      return j.lines.flatMap((l) => {
        const input = (l as { t: string; ev?: { input: { kind: string } } }).ev?.input;
        return l.t === "in" && input?.kind === "address" ? [input] : [];
      });
    });

describe("resume from a checkpoint after the host lost its addresses", () => {
  const all = [
    "198.18.0.100/24",
    "198.18.0.101/24",
    "198.18.0.102/24",
    "198.18.0.103/32",
    "2001:DB8:0::A/64",
  ];

  it("the restored MASTER is told each lost address, goes BACKUP, and takes them all back", async () => {
    const dir = tempDirForTest("vigil-resume-vips-");
    const r = runScenario(loadScenarioText("resume.yaml", scenario("lb1")), { journalDir: dir });
    expect([...r.invariants, ...r.expectations].filter((v) => !v.ok)).toEqual([]);
    expect(heldAt(r, "lb1", 11_000_000)).toEqual(all);
    expect(heldAt(r, "lb1", 19_000_000)).toEqual([]);
    expect(heldAt(r, "lb1", 40_000_000)).toEqual(all);
    expect(heldAt(r, "lb2", 40_000_000)).toEqual(["198.18.0.200/24"]);
    const at20 = r.timeline.filter((e) => e.atUs === 20_000_000 && e.node === "lb1" && e.kind === "state");
    expect(at20.map((e) => e.text).slice(0, 3)).toEqual([
      "VI_1 restored as MASTER",
      "VI_2 restored as BACKUP",
      "VI_1 MASTER -> BACKUP",
    ]);
    // Only VI_1's addresses (VI_2 is BACKUP), in the order of its configuration, IPv6 canonical.
    const lost = (address: string, prefixLength: number, family = 4) => ({
      kind: "address",
      ifname: "eth0",
      address,
      prefixLength,
      family,
      present: false,
    });
    expect(addressInputs(dir)).toEqual([
      lost("198.18.0.100", 24),
      lost("198.18.0.103", 32),
      lost("198.18.0.102", 24),
      lost("198.18.0.101", 24),
      lost("2001:db8::a", 64, 6),
    ]);
    for (const f of readdirSync(dir)) {
      let err = "";
      const code = await replayCommand.run(["--verify", join(dir, f)], {
        stdout: () => {},
        stderr: (t) => (err += t),
      });
      expect({ f, code, err }).toEqual({ f, code: 0, err: expect.stringMatching(/verify ok/) });
    }
  });

  it("nothing is reported when the addresses stayed (kill -9): the node resumes as MASTER", () => {
    const dir = tempDirForTest("vigil-resume-vips-");
    const text = scenario("{ node: lb1, addresses: keep }", "\n  - violates: vips-only-on-masters");
    const r = runScenario(loadScenarioText("resume.yaml", text), { journalDir: dir });
    expect([...r.invariants, ...r.expectations].filter((v) => !v.ok)).toEqual([]);
    expect(addressInputs(dir)).toEqual([]);
    expect(
      r.timeline.some((e) => e.node === "lb1" && e.atUs === 20_000_000 && e.text === "VI_1 MASTER -> BACKUP"),
    ).toBe(false);
    expect(heldAt(r, "lb1", 40_000_000)).toEqual(all);
  });

  it("the vip expectation judges what the host holds at a time", () => {
    const text = scenario(
      "lb1",
      `
  - vip: { at: 19s, node: lb1, address: 198.18.0.100/24 }
  - vip: { at: 25s, node: lb1, address: 198.18.0.101/24 }
  - vip: { at: 25s, node: lb2, address: 198.18.0.100/24, present: false }
  - vip: { at: 25s, node: lb2, address: 198.18.0.200/24, present: false }`,
    );
    const r = runScenario(loadScenarioText("resume.yaml", text));
    expect(r.expectations.slice(2).map((v) => [v.name, v.ok, v.detail])).toEqual([
      ["lb1 holds 198.18.0.100/24 at 19s", false, "it holds no address"],
      ["lb1 holds 198.18.0.101/24 at 25s", true, `it holds ${all.join(", ")}`],
      ["lb2 does not hold 198.18.0.100/24 at 25s", true, "it holds 198.18.0.200/24"],
      ["lb2 does not hold 198.18.0.200/24 at 25s", false, "it holds 198.18.0.200/24"],
    ]);
  });

  it("a vip expectation naming an unknown node or a time after the end is a file error", () => {
    const text = scenario("lb1", "\n  - vip: { at: 50s, node: lb9, address: 198.18.0.100/24 }");
    expect(() => loadScenarioText("resume.yaml", text)).toThrow(/unknown node 'lb9'[\s\S]*after the end/);
  });
});
