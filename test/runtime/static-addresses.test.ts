/**
 * `static_ipaddress` through a node (recording ports), as keepalived 2.2.7's vrrp_daemon.c and
 * keepalived_netlink.c handle it: added at start before the static routes and any instance, removed
 * at shutdown after the static routes; a tracked one (not `no_track`) that someone deletes while the
 * node runs is added again at once (`reinstate_static_address`), never after the shutdown began;
 * a reload removes the dropped ones first and adds the new ones last. The shut-down mark goes through
 * checkpoints, and the journal replays.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { specFromConfig } from "../../src/runtime/config.adapter.ts";
import { MemoryJournal, parseJournal } from "../../src/runtime/journal.ts";
import type { VipAddress } from "../../src/runtime/ports.ts";
import { replayJournal } from "../../src/runtime/replay.ts";
import { defaultVipAddress, formatVip, type NodeSpec } from "../../src/runtime/spec.ts";
import { decodeNodeSpec } from "../../src/runtime/spec-schema.ts";
import { memFs } from "../config/memfs.ts";
import { routeOf } from "../support/routes.ts";
import { base, harness, nonLog, S, vipOps } from "./reload-support.ts";

/** A /24 on eth0 with keepalived's defaults, then `over`. */
const address = (a: string, over: Partial<VipAddress> = {}): VipAddress => ({
  ...defaultVipAddress(`${a}/24`, "eth0"),
  ...over,
});

const s1 = address("198.18.5.1");
const s2 = address("198.18.5.2", { noTrack: true });
const s3 = address("2001:2::5", { family: 6, prefixLength: 64, dev: "eth1" });
const withStatics = (
  staticAddresses: VipAddress[] = [s1, s2, s3],
  over: Partial<NodeSpec> = {},
): NodeSpec => ({
  ...base(),
  staticAddresses,
  ...over,
});
const deleted = (v: VipAddress, ifname = v.dev) =>
  ({
    kind: "address",
    ifname,
    address: v.address,
    prefixLength: v.prefixLength,
    family: v.family,
    present: false,
  }) as const;

describe("static_ipaddress on a node", () => {
  it("is added first at start and removed last at shutdown, whatever the instances' states", () => {
    const st = routeOf({ text: "198.19.7.0/24 dev eth0 proto 18", dst: "198.19.7.0" });
    const h = harness(withStatics(undefined, { staticRoutes: [st] }));
    const ports = h.ports.records.filter((r) => r.port === "vip" || r.port === "route");
    expect(ports[0]?.port).toBe("vip");
    expect(vipOps(h.ports.records).slice(0, 2)).toEqual([
      { op: "add", addresses: ["198.18.5.1", "198.18.5.2"] },
      { op: "add", addresses: ["2001:2::5"] },
    ]);
    expect(ports[2]?.port).toBe("route");
    const from = h.ports.records.length;
    h.node.shutdown();
    const after = h.ports.records.slice(from).filter((r) => r.port === "vip" || r.port === "route");
    expect(after.at(-3)?.port).toBe("route");
    expect(vipOps(after).slice(-2)).toEqual([
      { op: "remove", addresses: ["198.18.5.1", "198.18.5.2"] },
      { op: "remove", addresses: ["2001:2::5"] },
    ]);
  });

  it("one per interface: the VIP port is called once per dev, with that dev's addresses", () => {
    const h = harness(withStatics());
    const adds = h.ports.records.filter((r) => r.port === "vip" && r.what.op === "add").slice(0, 2);
    expect(adds.map((r) => (r.what.addresses as VipAddress[]).map((a) => a.dev))).toEqual([
      ["eth0", "eth0"],
      ["eth1"],
    ]);
  });

  it("a tracked static address deleted while the node runs is added again at once, with keepalived's line", () => {
    const h = harness(withStatics());
    const from = h.ports.records.length;
    const seen = h.outs.length;
    h.node.input(deleted(s3));
    const out = h.outs.slice(seen).flatMap((o) => o.out);
    expect(out).toContainEqual({
      type: "log",
      line: "Restoring deleted static address 2001:2::5/64 dev eth1 scope global preferred_lft forever",
    });
    expect(nonLog(out)).toEqual([{ type: "addVips", instance: "", vips: ["2001:2::5/64"] }]);
    expect(vipOps(h.ports.records.slice(from))).toEqual([{ op: "add", addresses: ["2001:2::5"] }]);
  });

  it("not a no_track one, nor one on another interface, nor after the shutdown began", () => {
    const h = harness(withStatics());
    const from = h.ports.records.length;
    h.node.input(deleted(s2));
    h.node.input(deleted(s1, "eth9"));
    expect(vipOps(h.ports.records.slice(from))).toEqual([]);
    h.node.shutdown();
    const after = h.ports.records.length;
    h.node.input(deleted(s1));
    expect(vipOps(h.ports.records.slice(after))).toEqual([]);
  });

  it("an address written in another form is still the deleted one (the kernel's canonical text)", () => {
    const h = harness(withStatics([address("2001:2:0::5", { family: 6, prefixLength: 64 })]));
    const from = h.ports.records.length;
    h.node.input({ ...deleted(s3), ifname: "eth0" });
    expect(vipOps(h.ports.records.slice(from))).toEqual([{ op: "add", addresses: ["2001:2:0::5"] }]);
  });

  it("a reload removes the dropped ones first and adds the new ones last; kept ones are untouched", () => {
    const h = harness(withStatics([s1, s2]));
    const s4 = address("198.18.5.4");
    const { out, records } = h.reload(withStatics([s1, s4]));
    const statics = nonLog(out).filter((o) => "instance" in o && o.instance === "");
    expect(statics).toEqual([
      { type: "removeVips", instance: "", vips: ["198.18.5.2/24"] },
      { type: "addVips", instance: "", vips: ["198.18.5.4/24"] },
    ]);
    expect(vipOps(records)).toEqual([
      { op: "remove", addresses: ["198.18.5.2"] },
      { op: "add", addresses: ["198.18.5.4"] },
    ]);
    // the new one is tracked, the dropped one no longer is
    const from = h.ports.records.length;
    h.node.input(deleted(s4));
    h.node.input(deleted(s2));
    expect(vipOps(h.ports.records.slice(from))).toEqual([{ op: "add", addresses: ["198.18.5.4"] }]);
  });

  it("the shut-down mark is in the checkpoint, and the journal replays", () => {
    const journal = new MemoryJournal();
    const h = harness(withStatics(), journal);
    expect(h.node.checkpoint().state).not.toHaveProperty("shutDown");
    h.node.input(deleted(s1));
    h.node.shutdown();
    h.node.input(deleted(s1));
    expect(h.node.checkpoint().state).toMatchObject({ shutDown: true });
    h.clock.advanceTo(20 * S);
    const parsed = parseJournal(journal.text());
    if (!parsed.ok) throw new Error(parsed.error.message);
    const r = replayJournal(parsed.header, parsed.lines);
    expect(r.mismatches).toEqual([]);
  });
});

describe("static_ipaddress from a configuration", () => {
  const load = (text: string) => {
    const r = loadConfig("k.conf", { configId: "lb1", fs: memFs({ "k.conf": text }) });
    if (r.config === undefined) throw new Error("not loaded");
    return r;
  };
  it("keepalived's words: default interface, track_group (warned), use_vmac (unknown), the spec's schema", () => {
    const r = load(`global_defs {
  default_interface eth3
}
static_ipaddress {
  198.18.6.1/24
  198.18.6.2/24 dev eth1 track_group G1
  198.18.6.3/24 dev eth1 use_vmac
}
`);
    const spec = specFromConfig(r.config as NonNullable<typeof r.config>, {
      primaryAddress: () => "198.18.0.1",
    });
    expect(spec.staticAddresses?.map((v) => formatVip(v, false))).toEqual([
      "198.18.6.1/24 dev eth3 scope global",
      "198.18.6.2/24 dev eth1 scope global",
      "198.18.6.3/24 dev eth1 scope global",
    ]);
    const messages = r.diagnostics.map((d) => d.message);
    expect(messages).toContain(
      "'track_group G1' is parsed but not acted on by Vigil yet (track groups are not implemented): the group's instances do not track the address's interface",
    );
    expect(messages).toContain("Unknown configuration entry 'use_vmac' for ip address - ignoring");
    expect(decodeNodeSpec(JSON.parse(JSON.stringify(spec)))).toEqual({ ok: true, spec });
  });

  it("a second track_group is an error that ends the line; the address stays (alloc_ipaddress)", () => {
    const r = loadConfig("k.conf", {
      configId: "lb1",
      fs: memFs({
        "k.conf":
          "static_ipaddress {\n  198.18.6.4/24 dev eth1 track_group G1 track_group G2 label eth1:x\n}\n",
      }),
    });
    expect(r.diagnostics.map((d) => `${d.severity} ${d.message}`)).toContainEqual(
      "error track_group G2 is a duplicate",
    );
  });
});

describe("the journal's spec check of static entries", () => {
  it("refuses a static address, route or rule whose addresses are not of its family", () => {
    const check = (over: Partial<NodeSpec>) =>
      decodeNodeSpec(JSON.parse(JSON.stringify(withStatics([s1], over))));
    expect(check({}).ok).toBe(true);
    expect(check({ staticAddresses: [address("2001:2::1", { family: 4 })] })).toEqual({
      ok: false,
      message: "spec: static address 2001:2::1/24 does not match family 4",
    });
    expect(check({ staticAddresses: [address("198.18.5.1", { peer: "2001:2::1" })] }).ok).toBe(false);
    expect(check({ staticAddresses: [address("198.18.5.1", { prefixLength: 33 })] }).ok).toBe(false);
    const v6via = routeOf({ text: "198.19.7.0/24 via 2001:2::1", dst: "198.19.7.0", via: "2001:2::1" });
    expect(check({ staticRoutes: [v6via] })).toEqual({
      ok: false,
      message: `spec: static route "198.19.7.0/24 via 2001:2::1" does not match family 4`,
    });
  });
});

describe("keepalived's format_ipaddress (the data dump, the restore line)", () => {
  it("no prefix at full length, canonical text, computed broadcasts, a /128's deprecated default", () => {
    expect(formatVip(address("198.18.5.9", { prefixLength: 32 }), true)).toBe(
      "198.18.5.9 dev eth0 scope global set",
    );
    expect(formatVip(address("198.18.5.9", { broadcast: "+" }), false)).toBe(
      "198.18.5.9/24 brd 198.18.5.255 dev eth0 scope global",
    );
    expect(formatVip(address("198.18.5.9", { prefixLength: 16, broadcast: "-" }), false)).toBe(
      "198.18.5.9/16 brd 198.18.0.0 dev eth0 scope global",
    );
    expect(formatVip(address("2001:2:0:0::9", { family: 6, prefixLength: 128 }), false)).toBe(
      "2001:2::9 dev eth0 scope global deprecated",
    );
  });
});
