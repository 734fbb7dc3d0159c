/**
 * Reload (SIGHUP) on the VirtualClock, keepalived 2.2.7's way (src/runtime/reload.ts,
 * reload-apply.ts): instances matched by VRID + family + interface (+ unicast source / multicast
 * group) keep state and counters and notify nothing; a changed priority takes effect; VIPs are
 * diffed; a removed MASTER sends priority 0 and releases its VIPs; new instances start as at
 * start-up. Journal and replay: reload-replay.test.ts.
 */
import { describe, expect, test } from "vitest";
import { instanceKey, planReload, vipDiff } from "../../src/runtime/reload.ts";
import { defaultVipAddress, type InstanceSpec, type NodeSpec } from "../../src/runtime/spec.ts";
import { base, harness, inst, nonLog, ofType, PEER, S, specOf, vipOps } from "./reload-support.ts";

describe("matching (keepalived's vrrp_exist)", () => {
  test("VRID + family + interface + unicast source / multicast group, not the name", () => {
    const a = inst("A", 5, 100, []);
    expect(instanceKey(a)).toBe(instanceKey(inst("B", 5, 150, ["198.18.9.9/32"])));
    expect(instanceKey(a)).not.toBe(instanceKey(inst("A", 6, 100, [])));
    expect(instanceKey(a)).not.toBe(instanceKey({ ...a, params: { ...a.params, ifname: "eth1" } }));
    expect(instanceKey(a)).not.toBe(instanceKey({ ...a, params: { ...a.params, family: 6 } }));
    expect(instanceKey(a)).not.toBe(instanceKey({ ...a, unicastPeers: ["198.18.0.2"] }));
    expect(instanceKey(a)).not.toBe(instanceKey({ ...a, mcastGroup: "224.0.0.19" }));
    const u = { ...a, unicastPeers: ["198.18.0.2"] };
    expect(instanceKey(u)).not.toBe(instanceKey({ ...u, params: { ...u.params, ownIp: "198.18.0.3" } }));
    const plan = planReload(
      specOf(a, inst("C", 7, 100, [])),
      specOf(inst("B", 5, 1, []), inst("D", 8, 1, [])),
    );
    expect(plan.kept.map((k) => [k.old.params.name, k.next.params.name])).toEqual([["A", "B"]]);
    expect(plan.removed.map((r) => r.params.name)).toEqual(["C"]);
    expect(plan.added.map((r) => r.params.name)).toEqual(["D"]);
  });

  test("the VIP diff compares canonical addresses with prefix and interface", () => {
    const o = inst("A", 5, 100, ["2001:db8::a/128", "198.18.1.1/32", "198.18.1.2/32"]);
    const n = inst("A", 5, 100, ["2001:DB8:0::A/128", "198.18.1.1/24", "198.18.1.3/32"]);
    expect(vipDiff(o, n)).toEqual({
      removed: ["198.18.1.1/32", "198.18.1.2/32"],
      added: ["198.18.1.1/24", "198.18.1.3/32"],
    });
  });
});

describe("reload on a running node", () => {
  test("an unchanged configuration: states and counters kept; no notify, no VIP change", () => {
    const h = harness(base());
    expect([h.node.state("VI_1"), h.node.state("VI_2")]).toEqual(["MASTER", "BACKUP"]);
    const stats = { ...h.node.stats("VI_2") };
    const { out, records } = h.reload(base());
    // keepalived's reload_master: the MASTER advertises at once; nothing else but the two log lines.
    expect(nonLog(out)).toEqual([
      { type: "sendAdvert", instance: "VI_1", priority: 200, advertIntervalCs: 100 },
    ]);
    expect(ofType(out, "log").map((l) => l.line)).toEqual(["Reloading", "Reload complete"]);
    expect(records.filter((r) => r.port !== "log")).toEqual([]);
    expect([h.node.state("VI_1"), h.node.state("VI_2")]).toEqual(["MASTER", "BACKUP"]);
    // keepalived's vrrp_init_sands: the BACKUP's down timer restarts in full (priority 100: 3,609,375 µs).
    expect(h.node.pendingTimer("instance:VI_2", "masterDown")?.dueUs).toBe(h.clock.nowUs() + 3_609_375);
    expect(h.node.pendingTimer("instance:VI_1", "advert")?.dueUs).toBe(h.clock.nowUs() + 1_000_000);
    expect(h.node.stats("VI_2")).toEqual(stats);
    // It goes on: the advert timer re-armed one interval after the reload, the backup still hears its master.
    const seen = h.outs.length;
    h.peerUntil(20 * S);
    expect([h.node.state("VI_1"), h.node.state("VI_2")]).toEqual(["MASTER", "BACKUP"]);
    expect(
      h.outs.slice(seen).flatMap((o) => [...ofType(o.out, "notify"), ...ofType(o.out, "state")]),
    ).toEqual([]);
  });

  test("a renamed instance (same VRID, family, interface) keeps its state and counters", () => {
    const h = harness(base());
    const rcvd = h.node.stats("VI_2")?.advert_rcvd ?? 0;
    const next = specOf(base().instances[0] as InstanceSpec, inst("web", 2, 100, ["198.18.2.1/32"]));
    const { out } = h.reload(next);
    expect(ofType(out, "notify")).toEqual([]);
    expect(h.node.state("web")).toBe("BACKUP");
    expect(h.node.state("VI_2")).toBe("UNKNOWN");
    expect(h.node.stats("web")?.advert_rcvd).toBe(rcvd);
    expect(h.node.timers().some((t) => t.key === "instance:web masterDown")).toBe(true);
  });

  test("swapped names follow the VRIDs; a name reused for another VRID is a new instance", () => {
    const h = harness(base());
    const swapped = specOf(
      inst("VI_2", 1, 200, ["198.18.1.1/32", "198.18.1.2/32"]),
      inst("VI_1", 2, 100, ["198.18.2.1/32"]),
    );
    const { out } = h.reload(swapped);
    expect(ofType(out, "notify")).toEqual([]);
    expect([h.node.state("VI_2"), h.node.state("VI_1")]).toEqual(["MASTER", "BACKUP"]);
    expect(
      h.node
        .timers()
        .map((t) => t.key)
        .sort(),
    ).toEqual(["instance:VI_1 masterDown", "instance:VI_2 advert"]);
    const moved = specOf(inst("VI_2", 9, 200, ["198.18.9.1/32"]), inst("VI_1", 2, 100, ["198.18.2.1/32"]));
    const again = h.reload(moved);
    // Old VI_2 (VRID 1, MASTER) is removed; the new VI_2 (VRID 9) starts from INIT.
    expect(nonLog(again.out).slice(0, 4)).toEqual([
      { type: "sendAdvert", instance: "VI_2", priority: 0, advertIntervalCs: 100 },
      { type: "removeVips", instance: "VI_2", vips: ["198.18.1.1/32", "198.18.1.2/32"] },
      { type: "notify", scope: "INSTANCE", name: "VI_2", state: "FAULT", priority: 200 },
      { type: "fifo", line: 'INSTANCE "VI_2" FAULT 200' },
    ]);
    expect(ofType(again.out, "log").map((l) => l.line)).toContain("(VI_2) Entering BACKUP STATE (init)");
    expect(h.node.stats("VI_2")?.advert_rcvd).toBe(0);
  });

  test("a BACKUP whose new priority beats the master discards its adverts and takes over at its timer", () => {
    const h = harness(base());
    const next = specOf(base().instances[0] as InstanceSpec, inst("VI_2", 2, 200, ["198.18.2.1/32"]));
    const { out } = h.reload(next);
    expect(ofType(out, "log").map((l) => l.line)).toContain(
      "(VI_2) Changing effective priority from 100 to 200",
    );
    expect(h.node.priority("VI_2")).toBe(200);
    expect(ofType(out, "notify")).toEqual([]);
    h.peerUntil(11 * S);
    const later = h.outs.filter((o) => o.kind === "rx").flatMap((o) => ofType(o.out, "log"));
    expect(later.at(-1)?.line).toBe(`(VI_2) received lower priority (150) advert from ${PEER} - discarding`);
    h.peerUntil(15 * S);
    expect(h.node.state("VI_2")).toBe("MASTER");
  });

  test("a MASTER whose priority drops keeps MASTER and advertises the new priority at once", () => {
    const h = harness(base());
    const next = specOf(
      inst("VI_1", 1, 50, ["198.18.1.1/32", "198.18.1.2/32"]),
      base().instances[1] as InstanceSpec,
    );
    const { out } = h.reload(next);
    expect(ofType(out, "sendAdvert")).toEqual([
      { type: "sendAdvert", instance: "VI_1", priority: 50, advertIntervalCs: 100 },
    ]);
    expect(h.node.state("VI_1")).toBe("MASTER");
    expect(ofType(out, "removeVips")).toEqual([]);
  });

  test("VIPs diffed on a MASTER: the new one added and GARPed, the dropped one deleted, the kept one untouched", () => {
    const h = harness(base());
    const next = specOf(
      inst("VI_1", 1, 200, ["198.18.1.1/32", "198.18.1.3/32"]),
      inst("VI_2", 2, 100, ["198.18.2.1/32", "198.18.2.2/32"]),
    );
    const { out, records } = h.reload(next);
    const vip = vipOps(records);
    expect(vip).toEqual([
      { op: "remove", addresses: ["198.18.1.2"] },
      { op: "add", addresses: ["198.18.1.3"] },
    ]);
    const arp = records.filter((r) => r.port === "arp").map((r) => r.what.addresses);
    expect(arp).toEqual([["198.18.1.1", "198.18.1.3"]]);
    // The BACKUP (VI_2) has no VIPs set: nothing for its new VIP.
    expect([...ofType(out, "addVips"), ...ofType(out, "removeVips")].map((c) => c.instance)).toEqual([
      "VI_1",
      "VI_1",
    ]);
    expect(ofType(out, "notify")).toEqual([]);
  });

  test("excluded VIPs are diffed too, and a diff touches exactly its addresses", () => {
    const ex = (a: string) => defaultVipAddress(a, "eth0");
    const withExcluded = (vips: string[], excluded: string[]) =>
      specOf(
        inst("VI_1", 1, 200, vips, { excludedVips: excluded.map(ex) }),
        base().instances[1] as InstanceSpec,
      );
    const h = harness(withExcluded(["198.18.1.1/32"], ["198.18.9.1/32", "198.18.9.2/32"]));
    const { records } = h.reload(
      withExcluded(["198.18.1.1/32", "198.18.1.5/32"], ["198.18.9.1/32", "198.18.9.3/32"]),
    );
    const vip = vipOps(records);
    expect(vip).toEqual([
      { op: "remove", addresses: ["198.18.9.2"] },
      { op: "add", addresses: ["198.18.1.5", "198.18.9.3"] },
    ]);
    // keepalived GARPs every address when it added any.
    expect(records.filter((r) => r.port === "arp").map((r) => r.what.addresses)).toEqual([
      ["198.18.1.1", "198.18.1.5", "198.18.9.1", "198.18.9.3"],
    ]);
  });

  test("an instance removed while MASTER sends priority 0, releases its VIPs and is notified FAULT", () => {
    const h = harness(base());
    const { out, records } = h.reload(specOf(base().instances[1] as InstanceSpec));
    expect(nonLog(out)).toEqual([
      { type: "sendAdvert", instance: "VI_1", priority: 0, advertIntervalCs: 100 },
      { type: "removeVips", instance: "VI_1", vips: ["198.18.1.1/32", "198.18.1.2/32"] },
      { type: "notify", scope: "INSTANCE", name: "VI_1", state: "FAULT", priority: 200 },
      { type: "fifo", line: 'INSTANCE "VI_1" FAULT 200' },
    ]);
    expect(records.filter((r) => r.port === "vip").map((r) => r.what.op)).toEqual(["remove"]);
    expect(h.node.state("VI_1")).toBe("UNKNOWN");
    expect(h.node.timers().some((t) => t.key.startsWith("instance:VI_1"))).toBe(false);
    h.peerUntil(20 * S);
    expect(h.node.state("VI_2")).toBe("BACKUP");
  });

  test("with notify_deleted a removed instance is notified DELETED; a removed BACKUP sends no advert", () => {
    const h = harness(
      specOf(base().instances[0] as InstanceSpec, {
        ...(base().instances[1] as InstanceSpec),
        notifyDeleted: true,
      }),
    );
    const { out } = h.reload(specOf(base().instances[0] as InstanceSpec));
    expect(ofType(out, "sendAdvert").map((a) => a.priority)).toEqual([200]); // VI_1's advert at once
    expect(ofType(out, "notify")).toEqual([
      { type: "notify", scope: "INSTANCE", name: "VI_2", state: "DELETED", priority: 100 },
    ]);
  });

  test("a new instance starts as at start-up: BACKUP (init), BACKUP notify, MASTER after its down timer", () => {
    const h = harness(base());
    const next = specOf(...base().instances, inst("VI_3", 3, 150, ["198.18.3.1/32"]));
    const { out } = h.reload(next);
    expect(ofType(out, "log").map((l) => l.line)).toContain("(VI_3) Entering BACKUP STATE (init)");
    expect(ofType(out, "notify")).toEqual([
      { type: "notify", scope: "INSTANCE", name: "VI_3", state: "BACKUP", priority: 150 },
    ]);
    const at = h.clock.nowUs();
    h.peerUntil(at + 4 * S);
    expect(h.node.state("VI_3")).toBe("MASTER");
  });

  test("a sync group whose members are kept keeps its state: no group or member notify", () => {
    const grouped = (prio: number): NodeSpec => ({
      instances: [inst("VI_1", 1, 200, ["198.18.1.1/32"]), inst("VI_3", 3, prio, ["198.18.3.1/32"])].map(
        (i) => ({ ...i, params: { ...i.params, syncGroup: "G1" } }),
      ),
      groups: [{ name: "G1", members: ["VI_1", "VI_3"] }],
      trackers: [],
    });
    const h = harness(grouped(200));
    expect([h.node.state("VI_1"), h.node.state("VI_3"), h.node.state("group:G1")]).toEqual([
      "MASTER",
      "MASTER",
      "MASTER",
    ]);
    const { out } = h.reload(grouped(180));
    expect(ofType(out, "notify")).toEqual([]);
    expect(ofType(out, "state")).toEqual([]);
    expect(h.node.priority("VI_3")).toBe(180);
    h.peerUntil(20 * S);
    expect([h.node.state("VI_1"), h.node.state("VI_3"), h.node.state("group:G1")]).toEqual([
      "MASTER",
      "MASTER",
      "MASTER",
    ]);
  });

  test("a new weight-0 tracker that fails puts a kept instance in FAULT; trackers of the same name keep their result", () => {
    const chk = { name: "chk", kind: "script" as const, rise: 2, fall: 2, initFail: false };
    const tracked = (s: InstanceSpec): InstanceSpec => ({
      ...s,
      tracking: [{ tracker: "chk", weight: 0, reverse: false }],
    });
    const h = harness({ ...base(), trackers: [chk] });
    h.node.input({ kind: "probe", tracker: "chk", ok: false });
    const next: NodeSpec = {
      instances: [tracked(base().instances[0] as InstanceSpec), base().instances[1] as InstanceSpec],
      groups: [],
      trackers: [{ ...chk, rise: 3 }],
    };
    const { out } = h.reload(next);
    expect(ofType(out, "log").map((l) => l.line)).toContain(
      "VRRP_Script(chk) considered unsuccessful on reload",
    );
    expect(h.node.state("VI_1")).toBe("FAULT");
    expect(ofType(out, "sendAdvert").map((a) => a.priority)).toEqual([0, 0]);
  });
});
