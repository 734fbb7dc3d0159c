/**
 * Oracle false positives the swarm found and shrank (kept as scenarios): each is keepalived 2.2.7's
 * own behaviour, which the oracles must accept — a sync group waits for its slowest member
 * (vrrp_sync_can_goto_master), an address owner back from FAULT waits a full Master_Down
 * (try_up_instance leaves FAULT wanting BACKUP), and a BACKUP that fell into FAULT before its
 * Master_Down ran out no longer counts towards the master-elected bound. Also the `settled`
 * expectation the swarm's liveness phase uses: it passes on a settled cluster and fails when a
 * group has no MASTER (or two) after its time.
 */
import { describe, expect, it } from "vitest";
import { type InstanceInfo, Oracles } from "../../simulations/invariants.ts";
import { runScenario } from "../../simulations/runner.ts";
import { loadScenarioText } from "../../simulations/scenario.load.ts";

const run = (text: string) => runScenario(loadScenarioText("oracle-regression.yaml", text));
const failed = (text: string): string[] => {
  const r = run(text);
  return [...r.invariants, ...r.expectations].filter((v) => !v.ok).map((v) => `${v.name}: ${v.detail}`);
};
const instance = (name: string, ifname: string, extra: string): string =>
  `      vrrp_instance ${name} {\n          interface ${ifname}\n${extra
    .split("\n")
    .map((l) => `          ${l}`)
    .join("\n")}\n          virtual_ipaddress { 198.18.${ifname === "eth0" ? 0 : 1}.200/24 }\n      }`;

describe("oracles accept keepalived's own timing (swarm findings)", () => {
  it("a sync group over a v3 1 s and a v2 2 s instance goes MASTER when its slowest member may", () => {
    const text = [
      "duration: 30s",
      "lans: { lan0: , lan1: }",
      "nodes:",
      "  n1:",
      "    interfaces:",
      "      eth0: { lan: lan0, ipv4: 198.18.0.1 }",
      "      eth1: { lan: lan1, ipv4: 198.18.1.1 }",
      "    config: |",
      "      vrrp_sync_group G1 {",
      "          group { VI_1 VI_2 }",
      "      }",
      instance("VI_1", "eth0", "version 3\nvirtual_router_id 12\npriority 161\nadvert_int 1"),
      instance("VI_2", "eth1", "version 2\nvirtual_router_id 226\npriority 182\nadvert_int 2"),
      "expect:",
      "  - settled: { from: 10s }",
    ].join("\n");
    const r = run(text);
    // keepalived: VI_1 waits for VI_2 (Master_Down 3 × 2 s + skew), then both go MASTER together.
    const masters = r.timeline.filter((e) => e.text.endsWith("-> MASTER"));
    expect(masters.length).toBe(2);
    expect(masters[0]?.atUs).toBeGreaterThan(6_000_000);
    expect(failed(text)).toEqual([]);
  });

  it("an address owner back from FAULT waits Master_Down before MASTER, and owner-master allows it", () => {
    const text = [
      "duration: 20s",
      "lans: { lan0: }",
      "nodes:",
      "  n1:",
      "    interfaces: { eth0: { lan: lan0, ipv4: 198.18.0.1 } }",
      "    config: |",
      instance("VI_1", "eth0", "version 3\nvirtual_router_id 107\npriority 255\nadvert_int 0.5"),
      "timeline:",
      "  - { at: 5s, link: { node: n1, interface: eth0, state: down } }",
      "  - { at: 8s, link: { node: n1, interface: eth0, state: up } }",
      "expect:",
      "  - settled: { from: 10s }",
    ].join("\n");
    const r = run(text);
    const back = r.timeline.find((e) => e.text === "VI_1 BACKUP -> MASTER" && e.atUs > 8_000_000);
    // 3 × 0.5 s + (256 - 255) × 0.5 s / 256
    expect(back?.atUs).toBe(8_000_000 + 1_500_000 + 1_953);
    expect(failed(text)).toEqual([]);
  });

  it("master-elected counts from when the nodes eligible now became eligible", () => {
    const text = [
      "duration: 60s",
      "lans: { lan0: }",
      "nodes:",
      "  n1:",
      "    interfaces: { eth0: { lan: lan0, ipv4: 198.18.0.1 } }",
      "    config: |",
      instance("VI_1", "eth0", "version 2\nvirtual_router_id 62\npriority 100\nadvert_int 1"),
      "  n2:",
      "    interfaces: { eth0: { lan: lan0, ipv4: 198.18.0.2 } }",
      "    config: |",
      instance("VI_1", "eth0", "version 2\nvirtual_router_id 62\npriority 255\nadvert_int 1"),
      "timeline:",
      // The owner fails; n1 would take over after 3.6 s but falls into FAULT after 3.1 s, while
      // the owner is back and waits its own full Master_Down (3 s): no one could have done better.
      "  - { at: 20s, link: { node: n2, interface: eth0, state: down } }",
      "  - { at: 23s, link: { node: n2, interface: eth0, state: up } }",
      "  - { at: 23100ms, link: { node: n1, interface: eth0, state: down } }",
      "  - { at: 40s, link: { node: n1, interface: eth0, state: up } }",
      "expect:",
      "  - settled: { from: 45s }",
    ].join("\n");
    expect(failed(text)).toEqual([]);
  });

  it("master-elected on a trace: the bound restarts when the eligible node changes, and still fails", () => {
    const S = 1_000_000;
    const info = (node: string): InstanceInfo => ({
      node,
      instance: "VI_1",
      group: "lan|51|v4",
      advertIntervalUs: S,
      boundUs: 4_600_000,
      advertToleranceUs: 1_000,
      owner: false,
      vips: [],
    });
    const trace = (masterAtUs: number): string[] => {
      const o = new Oracles([info("a"), info("b")]);
      o.alive(0, "a", true);
      o.transition(0, "a", "VI_1", "INIT", "BACKUP", true);
      // a (eligible from 0) falls into FAULT at 3 s; b starts then and is MASTER at masterAtUs.
      o.transition(3 * S, "a", "VI_1", "BACKUP", "FAULT", true);
      o.alive(3 * S, "b", true);
      o.transition(3 * S, "b", "VI_1", "INIT", "BACKUP", true);
      o.transition(masterAtUs, "b", "VI_1", "BACKUP", "MASTER", true);
      o.finish(20 * S);
      return o
        .violations()
        .filter((v) => v.invariant === "master-elected")
        .map((v) => `${v.invariant} ${v.atUs}`);
    };
    expect(trace(7 * S)).toEqual([]);
    // b waits longer than the bound from when it became eligible (3 s + 4.6 s).
    expect(trace(8 * S)).toEqual(["master-elected 7600000"]);
  });

  it("settled fails when a group has no MASTER after its time, and when it has two", () => {
    const base = [
      "duration: 30s",
      "lans: { lan0: }",
      "nodes:",
      "  n1:",
      "    interfaces: { eth0: { lan: lan0, ipv4: 198.18.0.1 } }",
      "    config: |",
      instance("VI_1", "eth0", "virtual_router_id 9\npriority 100"),
      "  n2:",
      "    interfaces: { eth0: { lan: lan0, ipv4: 198.18.0.2 } }",
      "    config: |",
      instance("VI_1", "eth0", "virtual_router_id 9\npriority 150"),
    ];
    const ok = [...base, "expect:", "  - settled: { from: 10s }"].join("\n");
    expect(failed(ok)).toEqual([]);
    const none = [
      ...base,
      "timeline:",
      "  - { at: 20s, crash: n1 }",
      "  - { at: 20s, crash: n2 }",
      "expect:",
      "  - settled: { from: 10s }",
    ].join("\n");
    expect(failed(none)).toContainEqual(
      expect.stringMatching(/^one MASTER per group from 10s.*no MASTER from 20/),
    );
    const two = [
      ...base,
      "timeline:",
      "  - { at: 20s, partition: [[n1], [n2]] }",
      "expect:",
      "  - settled: { from: 10s }",
    ].join("\n");
    expect(failed(two)).toContainEqual(expect.stringMatching(/^one MASTER per group.*two MASTERs from 2/));
    const never = [
      ...base,
      "timeline:",
      "  - { at: 0s, link: { node: n1, interface: eth0, state: down } }",
      "  - { at: 0s, link: { node: n2, interface: eth0, state: down } }",
      "expect:",
      "  - settled: { from: 10s }",
    ].join("\n");
    expect(failed(never)).toContainEqual(
      expect.stringMatching(/^one MASTER per group.*never a MASTER in lan0\|9\|v4/),
    );
  });
});
