/**
 * The oracles (simulations/invariants.ts) on hand-written traces: a clean trace passes every
 * invariant, and each invariant fails on a trace broken in its own way, at the right first time.
 */
import { describe, expect, it } from "vitest";
import { type InstanceInfo, Oracles } from "../../simulations/invariants.ts";

const S = 1_000_000;
const BOUND = 4_600_000;
const info = (node: string, extra: Partial<InstanceInfo> = {}): InstanceInfo => ({
  node,
  instance: "VI_1",
  group: "lan|51|v4",
  advertIntervalUs: S,
  boundUs: BOUND,
  advertToleranceUs: 1_000,
  owner: false,
  vips: ["198.18.0.100/24"],
  ...extra,
});

/** Two nodes up at 0, both BACKUP, connected; a becomes MASTER at 3.5 s and adverts every second. */
function healthy(o: Oracles, untilUs: number, opts: { master?: string } = {}): void {
  const m = opts.master ?? "a";
  o.alive(0, "a", true);
  o.alive(0, "b", true);
  o.connectivity(0, "lan", "a", "b", true);
  o.transition(0, "a", "VI_1", "INIT", "BACKUP", true);
  o.transition(0, "b", "VI_1", "INIT", "BACKUP", true);
  o.transition(3_500_000, m, "VI_1", "BACKUP", "MASTER", true);
  o.addresses(3_500_000, m, ["198.18.0.100/24"]);
  o.checkAddresses(3_500_000, m);
  for (let t = 3_500_000; t <= untilUs; t += S) o.advert(t, m, "VI_1");
}

const failed = (o: Oracles): Record<string, number> =>
  Object.fromEntries(o.violations().map((v) => [v.invariant, v.atUs]));

describe("oracles", () => {
  it("a clean trace passes every invariant and measures nothing bad", () => {
    const o = new Oracles([info("a"), info("b")]);
    healthy(o, 20 * S);
    o.finish(20 * S);
    expect(o.violations()).toEqual([]);
    expect(o.metrics()).toMatchObject({ splitBrainTotalUs: 0, failoverMaxUs: 0 });
    expect(o.metrics().transitions).toEqual({ "a/VI_1": 2, "b/VI_1": 1 });
  });

  it("single-master: two MASTERs that can hear each other longer than the bound", () => {
    const o = new Oracles([info("a"), info("b")]);
    healthy(o, 20 * S);
    o.transition(10 * S, "b", "VI_1", "BACKUP", "MASTER", true);
    for (let t = 10 * S; t <= 20 * S; t += S) o.advert(t, "b", "VI_1");
    o.finish(20 * S);
    expect(failed(o)).toEqual({ "single-master": 10 * S + BOUND });
    expect(o.metrics().splitBrain).toEqual([{ group: "lan|51|v4", fromUs: 10 * S, toUs: 20 * S }]);
  });

  it("single-master holds while the two cannot hear each other, and counts from the heal", () => {
    const o = new Oracles([info("a"), info("b")]);
    healthy(o, 30 * S);
    o.connectivity(8 * S, "lan", "a", "b", false);
    o.transition(12 * S, "b", "VI_1", "BACKUP", "MASTER", true);
    for (let t = 12 * S; t <= 30 * S; t += S) o.advert(t, "b", "VI_1");
    o.connectivity(20 * S, "lan", "a", "b", true);
    o.finish(30 * S);
    expect(failed(o)).toEqual({ "single-master": 20 * S + BOUND });
  });

  it("master-elected: no MASTER for longer than the bound while a BACKUP could take over", () => {
    const o = new Oracles([info("a"), info("b")]);
    healthy(o, 10 * S);
    o.alive(10 * S, "a", false);
    o.addresses(10 * S, "a", []);
    o.finish(20 * S);
    expect(failed(o)).toEqual({ "master-elected": 10 * S + BOUND });
    expect(o.metrics().failovers).toEqual([{ group: "lan|51|v4", fromUs: 10 * S, toUs: 20 * S }]);
  });

  it("master-elected does not blame a group with nobody eligible (FAULT, or held by its sync group)", () => {
    const o = new Oracles([
      info("a", { syncGroup: "G" }),
      info("a", { instance: "VI_2", group: "back|52|v4", syncGroup: "G", vips: [] }),
    ]);
    o.alive(0, "a", true);
    o.transition(0, "a", "VI_1", "INIT", "BACKUP", true);
    o.transition(0, "a", "VI_2", "INIT", "FAULT", true);
    o.finish(60 * S);
    expect(o.violations()).toEqual([]);
  });

  it("vips-only-on-masters: a VIP left on a host whose instance is not MASTER", () => {
    const o = new Oracles([info("a"), info("b")]);
    healthy(o, 20 * S);
    o.transition(12 * S, "a", "VI_1", "MASTER", "BACKUP", true);
    o.checkAddresses(12 * S, "a");
    o.finish(20 * S);
    expect(failed(o)["vips-only-on-masters"]).toBe(12 * S);
  });

  it("vips-only-on-masters: a crashed daemon's VIP still on the host", () => {
    const o = new Oracles([info("a"), info("b")]);
    healthy(o, 10 * S);
    o.alive(10 * S, "a", false);
    o.checkAddresses(10 * S, "a");
    expect(failed(o)["vips-only-on-masters"]).toBe(10 * S);
  });

  it("owner-master: an address owner that stays BACKUP", () => {
    const o = new Oracles([info("a", { owner: true }), info("b")]);
    o.alive(0, "a", true);
    o.alive(0, "b", true);
    o.transition(0, "a", "VI_1", "INIT", "BACKUP", true);
    o.transition(0, "b", "VI_1", "INIT", "BACKUP", true);
    o.transition(3 * S, "b", "VI_1", "BACKUP", "MASTER", true);
    o.finish(10 * S);
    expect(failed(o)["owner-master"]).toBe(S);
  });

  it("transition-cause: a state change the journal does not have", () => {
    const o = new Oracles([info("a"), info("b")]);
    healthy(o, 10 * S);
    o.transition(10 * S, "b", "VI_1", "BACKUP", "FAULT", false);
    expect(failed(o)).toEqual({ "transition-cause": 10 * S });
  });

  it("advert-gaps: a MASTER that skips adverts, detected at the next one and at the end", () => {
    const o = new Oracles([info("a"), info("b")]);
    healthy(o, 8 * S);
    o.advert(11 * S, "a", "VI_1");
    expect(failed(o)).toEqual({ "advert-gaps": 7_500_000 + S + 1_000 });
    const silent = new Oracles([info("a"), info("b")]);
    healthy(silent, 8 * S);
    silent.finish(30 * S);
    expect(failed(silent)["advert-gaps"]).toBe(7_500_000 + S + 1_000);
  });
});
