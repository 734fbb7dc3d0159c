/**
 * Virtual routes and rules through a node (recording ports): keepalived's order — VIPs, then routes,
 * then rules on becoming MASTER; rules, routes, then VIPs on leaving it and at shutdown — a reload's
 * diff (a changed route is removed and the new one added, an unchanged rule untouched, a removed
 * MASTER instance's routes go before its VIPs), and the journal spec check of the names.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import type { Route, Rule } from "../../src/config/types.ts";
import { specFromConfig } from "../../src/runtime/config.adapter.ts";
import type { InstanceSpec } from "../../src/runtime/spec.ts";
import { decodeNodeSpec } from "../../src/runtime/spec-schema.ts";
import { memFs } from "../config/memfs.ts";
import { routeOf, ruleOf } from "../support/routes.ts";
import { base, harness, nonLog, specOf } from "./reload-support.ts";

/** A route to `dst`/24 via 198.18.1.254 on eth0. */
const route = (dst: string, over: Readonly<Record<string, unknown>> = {}): Route =>
  routeOf({
    text: `prepend ${dst}/24 via inet 198.18.1.254 dev eth0 proto 18`,
    dst,
    via: "198.18.1.254",
    ...over,
  });

/** A rule from 198.19.9.0/24 to table 100 at `priority`. */
const rule = (priority: number): Rule =>
  ruleOf({
    text: `from 198.19.9.0/24 priority ${priority} tos 0x0 protocol 18 lookup 100`,
    from: { address: "198.19.9.0", family: "ipv4", prefixLength: 24 },
    priority,
  });

/** VI_1 of `base()` with routes and rules (the params name them, the spec holds them). */
const withRoutes = (i: InstanceSpec, routes: readonly Route[], rules: readonly Rule[]): InstanceSpec => ({
  ...i,
  params: { ...i.params, routes: routes.map((r) => r.text), rules: rules.map((r) => r.text) },
  routes,
  rules,
});

const spec = (routes: readonly Route[], rules: readonly Rule[]) => {
  const [vi1, vi2] = base().instances as [InstanceSpec, InstanceSpec];
  return specOf(withRoutes(vi1, routes, rules), vi2);
};

/** The route and VIP port calls, in order. */
const calls = (records: ReturnType<typeof harness>["ports"]["records"]) =>
  records
    .filter((r) => r.port === "route" || r.port === "vip")
    .map((r) =>
      r.port === "vip"
        ? `vip ${String(r.what.op)}`
        : `route ${String(r.what.op)} ${JSON.stringify(r.what.routes)} ${JSON.stringify(r.what.rules)}`,
    );

describe("virtual routes and rules on a node", () => {
  const a = route("198.19.1.0");
  const b = route("198.19.2.0");
  const r1 = rule(1000);

  it("become MASTER: VIPs, then routes and rules; shutdown: rules and routes, then VIPs", () => {
    const h = harness(spec([a, b], [r1]));
    expect(h.node.state("VI_1")).toBe("MASTER");
    const both = `${JSON.stringify([a.text, b.text])} ${JSON.stringify([r1.text])}`;
    expect(calls(h.ports.records)).toEqual([
      // start-up clears what a previous run may have left: VI_1's routes and rules, its VIPs, VI_2's VIPs
      `route remove ${both}`,
      "vip remove",
      "vip remove",
      "vip add",
      `route add ${both}`,
    ]);
    const logs = h.outs
      .flatMap((o) => o.out)
      .filter((o) => o.type === "log")
      .map((o) => (o as { line: string }).line);
    expect(logs).toContain("(VI_1) setting Virtual Routes");
    expect(logs).toContain("(VI_1) setting Virtual Rules");
    const from = h.ports.records.length;
    h.node.shutdown();
    expect(calls(h.ports.records.slice(from))).toEqual([
      `route remove ${JSON.stringify([a.text, b.text])} ${JSON.stringify([r1.text])}`,
      "vip remove",
    ]);
  });

  it("an instance without routes emits no route command", () => {
    const h = harness(base());
    expect(h.ports.records.some((r) => r.port === "route")).toBe(false);
    expect(
      h.outs.flatMap((o) => o.out).some((o) => o.type === "addRoutes" || o.type === "removeRoutes"),
    ).toBe(false);
  });

  it("a reload removes the changed and dropped entries first, then adds every route and the new rules", () => {
    const h = harness(spec([a, b], [r1]));
    const b2 = route("198.19.2.0", {
      metric: 5,
      text: "prepend 198.19.2.0/24 via inet 198.18.1.254 dev eth0 proto 18 metric 5",
    });
    const r2 = rule(1001);
    const { out, records } = h.reload(spec([a, b2], [r1, r2]));
    const types = nonLog(out).map((o) => o.type);
    expect(types.indexOf("removeRoutes")).toBeLessThan(types.indexOf("addRoutes"));
    expect(calls(records)).toEqual([
      `route remove ${JSON.stringify([b.text])} []`,
      // keepalived re-adds every route of a MASTER on reload (existing ones are EEXIST), and the new rules
      `route add ${JSON.stringify([a.text, b2.text])} ${JSON.stringify([r2.text])}`,
    ]);
    expect(h.node.state("VI_1")).toBe("MASTER");
  });

  it("a reload that removes a MASTER instance removes its routes and rules before its VIPs", () => {
    const h = harness(spec([a], [r1]));
    const [, vi2] = base().instances as [InstanceSpec, InstanceSpec];
    const { records } = h.reload(specOf(vi2));
    expect(calls(records)).toEqual([
      `route remove ${JSON.stringify([a.text])} ${JSON.stringify([r1.text])}`,
      "vip remove",
    ]);
  });
});

describe("a tracked route or rule deleted by someone else (keepalived's set_vrrp_backup)", () => {
  const a = route("198.19.1.0");
  const quiet = route("198.19.3.0", {
    noTrack: true,
    text: "prepend 198.19.3.0/24 via inet 198.18.1.254 dev eth0 no_track",
  });
  const r1 = rule(1000);

  it("the MASTER holding it goes BACKUP, removes everything, takes over again after the skew time and reinstalls", () => {
    const h = harness(spec([a, quiet], [r1]));
    expect(h.node.state("VI_1")).toBe("MASTER");
    const from = h.ports.records.length;
    h.node.input({ kind: "route", entry: "route", text: a.text });
    expect(h.node.state("VI_1")).toBe("BACKUP");
    // the skew time at priority 200: (256 - 200) / 256 s
    h.clock.advanceBy(300_000);
    expect(h.node.state("VI_1")).toBe("MASTER");
    const both = `${JSON.stringify([a.text, quiet.text])} ${JSON.stringify([r1.text])}`;
    expect(calls(h.ports.records.slice(from))).toEqual([
      `route remove ${both}`,
      "vip remove",
      "vip add",
      `route add ${both}`,
    ]);
    h.node.input({ kind: "route", entry: "rule", text: r1.text });
    expect(h.node.state("VI_1")).toBe("BACKUP");
  });

  it("a no_track route, an unknown text or a BACKUP's route changes nothing", () => {
    const h = harness(spec([a, quiet], [r1]));
    h.node.input({ kind: "route", entry: "route", text: quiet.text });
    h.node.input({ kind: "route", entry: "route", text: "prepend 10.0.0.0/8 dev eth0 proto 18" });
    h.node.input({ kind: "route", entry: "rule", text: a.text });
    expect(h.node.state("VI_1")).toBe("MASTER");
    expect(h.node.state("VI_2")).toBe("BACKUP");
  });
});

describe("static_routes and static_rules", () => {
  const st = route("198.19.7.0");
  const sr = rule(900);
  const withStatics = (
    over: { staticRoutes?: Route[]; staticRules?: Rule[] } = { staticRoutes: [st], staticRules: [sr] },
  ) => ({
    ...base(),
    ...over,
  });

  it("are added before any instance starts and removed after every instance stopped", () => {
    const h = harness(withStatics());
    const c = calls(h.ports.records);
    expect(c[0]).toBe(`route add ${JSON.stringify([st.text])} ${JSON.stringify([sr.text])}`);
    expect(c.slice(1)).toEqual(["vip remove", "vip remove", "vip add"]);
    const from = h.ports.records.length;
    h.node.shutdown();
    expect(calls(h.ports.records.slice(from))).toEqual([
      "vip remove",
      `route remove ${JSON.stringify([st.text])} ${JSON.stringify([sr.text])}`,
    ]);
  });

  it("a tracked one deleted while the node runs is added again at once, with keepalived's line; not after the shutdown", () => {
    const untracked = rule(901);
    const h = harness(
      withStatics({ staticRoutes: [st], staticRules: [sr, { ...untracked, noTrack: true }] }),
    );
    const seen = h.outs.length;
    h.node.input({ kind: "route", entry: "route", text: st.text });
    h.node.input({ kind: "route", entry: "rule", text: sr.text });
    h.node.input({ kind: "route", entry: "rule", text: untracked.text });
    const out = h.outs.slice(seen).flatMap((o) => o.out);
    expect(out).toContainEqual({ type: "log", line: `Restoring deleted static route ${st.text}` });
    expect(nonLog(out)).toEqual([
      { type: "addRoutes", instance: "", routes: [st.text], rules: [] },
      { type: "addRoutes", instance: "", routes: [], rules: [sr.text] },
    ]);
    h.node.shutdown();
    const after = h.outs.length;
    h.node.input({ kind: "route", entry: "route", text: st.text });
    expect(h.outs.slice(after).flatMap((o) => nonLog(o.out))).toEqual([]);
  });

  it("a reload removes the dropped ones first and adds the new ones last", () => {
    const h = harness(withStatics());
    const st2 = route("198.19.8.0");
    const { out, records } = h.reload(withStatics({ staticRoutes: [st2], staticRules: [sr] }));
    const routing = nonLog(out).filter((o) => o.type === "addRoutes" || o.type === "removeRoutes");
    expect(routing).toEqual([
      { type: "removeRoutes", instance: "", routes: [st.text], rules: [] },
      { type: "addRoutes", instance: "", routes: [st2.text], rules: [] },
    ]);
    expect(calls(records)).toEqual([
      `route remove ${JSON.stringify([st.text])} []`,
      `route add ${JSON.stringify([st2.text])} []`,
    ]);
  });
});

describe("the interfaces of routes and rules are tracked (keepalived's TRACK_ROUTE / TRACK_RULE)", () => {
  it("a tracked route's dev and a tracked rule's iif / oif hold the instance in FAULT while down; no_track ones do not", () => {
    const text = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress {
    198.18.0.10/24
  }
  virtual_routes {
    198.19.1.0/24 dev eth1
    198.19.2.0/24 dev eth2 no_track
  }
  virtual_rules {
    from 198.19.1.0/24 table 100 priority 100 iif eth3 oif eth4
  }
}
`;
    const config = loadConfig("k.conf", { configId: "lb1", fs: memFs({ "k.conf": text }) }).config;
    if (config === undefined) throw new Error("not loaded");
    const spec = specFromConfig(config, { primaryAddress: () => "198.18.0.1" });
    expect(spec.instances[0]?.tracking).toEqual(
      ["eth0", "eth1", "eth3", "eth4"].map((tracker) => ({ tracker, weight: 0, reverse: false })),
    );
    expect(spec.trackers.filter((t) => t.kind === "link").map((t) => t.name)).toEqual([
      "eth0",
      "eth1",
      "eth3",
      "eth4",
    ]);
  });
});

describe("the journal's spec check", () => {
  it("refuses a route the instance names but does not hold, and an address of the wrong family", () => {
    const good = spec([route("198.19.1.0")], [rule(1000)]);
    expect(decodeNodeSpec(JSON.parse(JSON.stringify(good)))).toMatchObject({ ok: true });
    const [vi1, vi2] = good.instances as [InstanceSpec, InstanceSpec];
    const missing = specOf({ ...vi1, routes: [] }, vi2);
    expect(decodeNodeSpec(JSON.parse(JSON.stringify(missing)))).toMatchObject({
      ok: false,
      message: expect.stringContaining("has no entry"),
    });
    const v6via = specOf({ ...vi1, routes: [route("198.19.1.0", { via: "2001:db8::1" })] }, vi2);
    expect(decodeNodeSpec(JSON.parse(JSON.stringify(v6via)))).toMatchObject({
      ok: false,
      message: expect.stringContaining("does not match family 4"),
    });
  });
});
