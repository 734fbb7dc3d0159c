/**
 * Table-driven tests for the VRRP instance rules of docs/keepalived-reference.md §3, each asserting the emitted
 * commands and their exact times on the virtual clock.
 */
import { describe, expect, test } from "vitest";
import { Harness, S } from "./harness.ts";

const firstParams = (h: Harness) => {
  const i = h.spec.instances[0];
  if (i === undefined) throw new Error("no instance");
  return i.params;
};

const PEER_LOW = "198.18.0.0"; // below our 198.18.0.1
const PEER_HIGH = "198.18.0.2";

describe("startup", () => {
  test("removes VIPs, enters BACKUP (init) and notifies BACKUP", () => {
    const h = Harness.single().start();
    expect(h.commands().slice(0, 5)).toEqual([
      { type: "log", line: "(VI_1) removing VIPs.", detail: true },
      { type: "removeVips", instance: "VI_1", vips: ["198.18.0.100"] },
      { type: "log", line: "(VI_1) Entering BACKUP STATE (init)" },
      { type: "notify", scope: "INSTANCE", name: "VI_1", state: "BACKUP", priority: 100 },
      { type: "fifo", line: 'INSTANCE "VI_1" BACKUP 100' },
    ]);
    expect(h.states()).toEqual([[0, "BACKUP"]]);
  });

  test("priority 255 with state MASTER becomes MASTER at once", () => {
    const h = Harness.single({ basePriority: 255, wantMaster: true }).start().at(1);
    expect(h.states()).toEqual([
      [0, "BACKUP"],
      [0, "MASTER"],
    ]);
  });

  test.each([
    {
      name: "state MASTER at 200 behaves as BACKUP",
      basePriority: 200,
      wantMaster: true,
      takeoverUs: 3_218_750,
    },
    { name: "priority 100", basePriority: 100, wantMaster: false, takeoverUs: 3_609_375 },
    { name: "priority 150", basePriority: 150, wantMaster: false, takeoverUs: 3_414_062 },
    {
      name: "priority 255 without state MASTER",
      basePriority: 255,
      wantMaster: false,
      takeoverUs: 3_003_906,
    },
  ])("$name: MASTER after $takeoverUs µs of silence", ({ basePriority, wantMaster, takeoverUs }) => {
    const h = Harness.single({ basePriority, wantMaster })
      .start()
      .at(10 * S);
    expect(h.states()).toEqual([
      [0, "BACKUP"],
      [takeoverUs, "MASTER"],
    ]);
  });
});

describe("Master_Down timer", () => {
  test("backup at priority 100 takes over exactly 3,609,375 µs after the last advert (v2, advert_int 1)", () => {
    const h = Harness.single().start();
    h.at(1 * S).advert(PEER_HIGH, 150);
    h.at(2 * S).advert(PEER_HIGH, 150);
    h.at(20 * S);
    expect(h.states()).toEqual([
      [0, "BACKUP"],
      [2 * S + 3_609_375, "MASTER"],
    ]);
  });

  test("priority 0 advert → down timer = skew (609,375 µs)", () => {
    const h = Harness.single().start();
    h.at(1 * S).advert(PEER_HIGH, 150);
    h.at(2 * S).advert(PEER_HIGH, 0);
    h.at(20 * S);
    expect(h.states()[1]).toEqual([2 * S + 609_375, "MASTER"]);
    expect(h.lines()).toContain("(VI_1) Backup received priority 0 advertisement");
  });

  test("v3 learns the master's interval (50 cs) and returns to its own as master", () => {
    const h = Harness.single({ version: 3 }).start();
    h.at(1 * S).advert(PEER_HIGH, 150, { version: 3, intervalCs: 50 });
    h.at(20 * S);
    // 3 × 500,000 + (256−100) × 500,000 / 256 = 1,804,687
    expect(h.states()[1]).toEqual([1 * S + 1_804_687, "MASTER"]);
    const adverts = h.adverts();
    expect(adverts[1]?.[0]).toBe((adverts[0]?.[0] ?? 0) + 1 * S); // own advert_int 100 cs as master
  });

  test("v2 interval mismatch: advert dropped with keepalived's line, timer not reset", () => {
    const h = Harness.single().start();
    h.at(1 * S).advert(PEER_HIGH, 150, { intervalCs: 200 });
    h.at(20 * S);
    expect(h.lines()).toContain("(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec");
    expect(h.states()[1]).toEqual([3_609_375, "MASTER"]);
  });
});

describe("preemption", () => {
  test("preempting backup discards a lower-priority advert without resetting its timer", () => {
    const h = Harness.single({ basePriority: 150 }).start();
    h.at(1 * S).advert(PEER_HIGH, 100);
    h.at(2 * S).advert(PEER_HIGH, 100);
    h.at(20 * S);
    expect(h.lines()).toContain(`(VI_1) received lower priority (100) advert from ${PEER_HIGH} - discarding`);
    expect(h.states()[1]).toEqual([3_414_062, "MASTER"]);
  });

  test("nopreempt accepts lower-priority adverts (timer reset, stays BACKUP)", () => {
    const h = Harness.single({ basePriority: 150, nopreempt: true }).start();
    for (let t = 1; t <= 10; t++) h.at(t * S).advert(PEER_HIGH, 100);
    h.at(10 * S + 3_414_061);
    expect(h.states()).toEqual([[0, "BACKUP"]]);
    h.at(10 * S + 3_414_062);
    expect(h.states()[1]).toEqual([10 * S + 3_414_062, "MASTER"]);
  });

  test("preempt_delay: adverts accepted during the window, then discarded; master after delay + down", () => {
    const h = Harness.single({ basePriority: 150, preemptDelayUs: 4 * S }).start();
    for (let t = 1; t <= 20; t++) h.at(t * S).advert(PEER_HIGH, 100);
    // window 1 s → 5 s: adverts at 1..4 s accepted (timer reset), from 5 s discarded; down = 3,414,062
    expect(h.lines()).toContain("(VI_1) start preempt delay (4.000000)");
    expect(h.states()[1]).toEqual([4 * S + 3_414_062, "MASTER"]);
  });
});

describe("MASTER receiving adverts", () => {
  const master = (over = {}) => {
    const h = Harness.single({ basePriority: 100, ...over }).start();
    h.at(4 * S);
    expect(h.node.state("VI_1")).toBe("MASTER");
    h.log.length = 0;
    return h;
  };

  test.each([
    { what: "higher priority", src: PEER_LOW, prio: 150, line: `with higher priority 150, ours 100` },
    {
      what: "equal priority from a higher IP",
      src: PEER_HIGH,
      prio: 100,
      line: "with same priority 100 but higher IP address than ours",
    },
  ])("yields at once to $what", ({ src, prio, line }) => {
    const h = master();
    h.at(5 * S).advert(src, prio);
    expect(h.states()).toEqual([[5 * S, "BACKUP"]]);
    expect(h.lines()).toContain(`(VI_1) Master received advert from ${src} ${line}`);
    expect(h.of("removeVips").map((t) => t.atUs)).toEqual([5 * S]);
    expect(h.fifo()).toEqual(['INSTANCE "VI_1" BACKUP 100']);
    h.at(30 * S);
    expect(h.states()[1]).toEqual([5 * S + 3_609_375, "MASTER"]);
  });

  test.each([
    { what: "lower priority", src: PEER_HIGH, prio: 50 },
    { what: "equal priority from a lower IP", src: PEER_LOW, prio: 100 },
  ])("$what: re-advertises, GARP burst, MASTER_RX_LOWER_PRI", ({ src, prio }) => {
    const h = master();
    const t0 = 4_500_000;
    h.at(t0).advert(src, prio);
    expect(h.of("sendAdvert").map((t) => t.atUs)).toEqual([t0]);
    expect(h.of("garp").map((t) => [t.atUs, t.out.reason, t.out.repeat])).toEqual([[t0, "lowerPrio", 5]]);
    expect(h.fifo()).toEqual(['INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100']);
    expect(h.lines()).toContain(
      `(VI_1) Received advert from ${src} with lower priority ${prio}, ours 100, forcing new election`,
    );
    h.at(t0 + 1 * S);
    expect(h.of("sendAdvert").map((t) => t.atUs)).toEqual([t0, t0 + 1 * S]); // timer re-armed
  });

  test("garp_lower_prio_delay: a second lower-priority burst after the delay (keepalived vrrp_lower_prio_gratuitous_arp_thread)", () => {
    const h = master({ garpMasterDelayUs: 0, garpLowerPrioRepeat: 2, garpLowerPrioDelayUs: 3 * S });
    const t0 = 4_500_000;
    h.at(t0).advert(PEER_HIGH, 50);
    h.at(t0 + 3 * S - 1);
    expect(h.of("garp").map((t) => [t.atUs, t.out.reason, t.out.repeat])).toEqual([[t0, "lowerPrio", 2]]);
    h.at(20 * S);
    expect(h.of("garp").map((t) => [t.atUs, t.out.reason, t.out.repeat])).toEqual([
      [t0, "lowerPrio", 2],
      [t0 + 3 * S, "lowerPrioDelay", 2],
    ]);
    expect(h.node.state("VI_1")).toBe("MASTER");
  });

  test("garp_lower_prio_delay defaults to 5 s; a delay or a repeat of 0 sends no second burst", () => {
    const reasons = (over: object) => {
      const h = master({ garpMasterDelayUs: 0, ...over });
      h.at(4_500_000).advert(PEER_HIGH, 50);
      h.at(30 * S);
      return h.of("garp").map((t) => [t.atUs, t.out.reason]);
    };
    expect(reasons({})).toEqual([
      [4_500_000, "lowerPrio"],
      [9_500_000, "lowerPrioDelay"],
    ]);
    expect(reasons({ garpLowerPrioDelayUs: 0 })).toEqual([[4_500_000, "lowerPrio"]]);
    expect(reasons({ garpLowerPrioRepeat: 0 })).toEqual([[4_500_000, "lowerPrio"]]);
  });

  test("garp_lower_prio_delay: leaving MASTER before the delay sends no second burst (VIPs no longer set)", () => {
    const h = master({ garpMasterDelayUs: 0, garpLowerPrioDelayUs: 3 * S });
    h.at(4_500_000).advert(PEER_HIGH, 50);
    h.at(5 * S).advert(PEER_HIGH, 150);
    expect(h.node.state("VI_1")).toBe("BACKUP");
    h.at(8 * S);
    expect(h.of("garp").map((t) => t.out.reason)).toEqual(["lowerPrio"]);
    expect(h.node.pendingTimer("instance:VI_1", "garpLowerPrio")).toBeUndefined();
  });

  test("garp_lower_prio_delay: one delayed burst pending at a time (a later lower advert in the window adds none)", () => {
    const h = master({ garpMasterDelayUs: 0, garpLowerPrioDelayUs: 3 * S });
    h.at(4_500_000).advert(PEER_HIGH, 50);
    h.at(5_500_000).advert(PEER_HIGH, 50);
    h.at(12 * S);
    expect(h.of("garp").map((t) => [t.atUs, t.out.reason])).toEqual([
      [4_500_000, "lowerPrio"],
      [5_500_000, "lowerPrio"],
      [7_500_000, "lowerPrioDelay"],
    ]);
  });

  test("lower_prio_no_advert: no re-advert and no 'forcing new election' in the log line", () => {
    const h = master({ lowerPrioNoAdvert: true });
    h.at(4_500_000).advert(PEER_HIGH, 50);
    expect(h.of("sendAdvert").map((t) => t.atUs)).toEqual([]);
    expect(h.lines()).toContain(`(VI_1) Received advert from ${PEER_HIGH} with lower priority 50, ours 100`);
  });

  test("priority 0 advert: send one at once and stay MASTER", () => {
    const h = master();
    h.at(4_200_000).advert(PEER_HIGH, 0);
    expect(h.of("sendAdvert").map((t) => t.atUs)).toEqual([4_200_000]);
    expect(h.node.state("VI_1")).toBe("MASTER");
  });

  test("two owners → local priority 254 with the CONFIGURATION ERROR line", () => {
    const h = Harness.single({ basePriority: 255, wantMaster: true })
      .start()
      .at(1 * S);
    h.advert(PEER_LOW, 255);
    expect(h.lines().some((l) => l.startsWith("(VI_1) CONFIGURATION ERROR"))).toBe(true);
    expect(h.node.priority("VI_1")).toBe(254);
    expect(h.node.state("VI_1")).toBe("BACKUP");
  });

  test("becoming MASTER: advert, VIPs, GARP burst, notify — then second burst after garp_master_delay", () => {
    const h = Harness.single({ garpMasterRefreshUs: 10 * S })
      .start()
      .at(30 * S);
    const m = 3_609_375;
    const seq = h.log.filter((t) => t.atUs === m).map((t) => t.out.type);
    expect(seq).toEqual(["state", "log", "log", "sendAdvert", "log", "addVips", "garp", "notify", "fifo"]);
    expect(
      h.log.filter((t) => t.atUs === m && t.out.type === "log").map((t) => (t.out as { line: string }).line),
    ).toEqual([
      "(VI_1) Receive advertisement timeout",
      "(VI_1) Entering MASTER STATE",
      "(VI_1) setting VIPs.",
    ]);
    expect(h.of("garp").map((t) => [t.atUs, t.out.reason])).toEqual([
      [m, "master"],
      [m + 5 * S, "delay"],
      [m + 15 * S, "refresh"],
      [m + 25 * S, "refresh"],
    ]);
  });
});

describe("tracking", () => {
  const tracked = (weight: number, reverse = false, over = {}) =>
    new Harness({
      instances: [
        {
          params: firstParams(Harness.single(over)),
          tracking: [{ tracker: "chk", weight, reverse }],
          unicastPeers: [],
        },
      ],
      groups: [],
      trackers: [{ name: "chk", kind: "script", rise: 1, fall: 1, initFail: false }],
    });

  test.each([
    { weight: 20, reverse: false, ok: true, prio: 120 },
    { weight: 20, reverse: false, ok: false, prio: 100 },
    { weight: -30, reverse: false, ok: false, prio: 70 },
    { weight: -30, reverse: false, ok: true, prio: 100 },
    { weight: 20, reverse: true, ok: true, prio: 80 },
    { weight: 200, reverse: false, ok: true, prio: 254 },
    { weight: -200, reverse: false, ok: false, prio: 1 },
  ])("weight $weight reverse $reverse, script ok=$ok → priority $prio", ({ weight, reverse, ok, prio }) => {
    const h = tracked(weight, reverse).start();
    h.at(S).probe("chk", ok);
    expect(h.node.priority("VI_1")).toBe(prio);
  });

  test("255 never changes", () => {
    const h = tracked(-50, false, { basePriority: 255 }).start();
    h.probe("chk", false);
    expect(h.node.priority("VI_1")).toBe(255);
  });

  test("weight-0 tracker: waits silently in INIT, then its first result decides", () => {
    const h = tracked(0).start();
    expect(h.node.state("VI_1")).toBe("INIT");
    h.at(500_000).probe("chk", true);
    expect(h.states()).toEqual([[500_000, "BACKUP"]]);
    expect(h.lines()).toContain("(VI_1) Entering BACKUP STATE");
  });

  test("weight-0 failure in MASTER → FAULT, two priority-0 adverts, VIPs removed; recovery → BACKUP with full timer", () => {
    const h = tracked(0).start();
    h.probe("chk", true).at(10 * S);
    expect(h.node.state("VI_1")).toBe("MASTER");
    h.log.length = 0;
    h.probe("chk", false);
    expect(h.states()).toEqual([[10 * S, "FAULT"]]);
    expect(h.adverts()).toEqual([
      [10 * S, 0],
      [10 * S, 0],
    ]);
    expect(h.of("removeVips").length).toBe(1);
    expect(h.fifo()).toEqual(['INSTANCE "VI_1" FAULT 100']);
    h.at(11 * S).advert(PEER_HIGH, 150); // ignored in FAULT
    h.at(12 * S).probe("chk", true);
    h.at(30 * S);
    expect(h.states()).toEqual([
      [10 * S, "FAULT"],
      [12 * S, "BACKUP"],
      [12 * S + 3_609_375, "MASTER"],
    ]);
  });

  test("owner after FAULT waits a full down timer", () => {
    const h = tracked(0, false, { basePriority: 255, wantMaster: true }).start();
    h.probe("chk", true)
      .at(1 * S)
      .probe("chk", false)
      .at(2 * S)
      .probe("chk", true)
      .at(10 * S);
    expect(h.states()).toEqual([
      [0, "BACKUP"],
      [0, "MASTER"],
      [1 * S, "FAULT"],
      [2 * S, "BACKUP"],
      [2 * S + 3_003_906, "MASTER"],
    ]);
  });

  test("own interface down → FAULT (link tracker weight 0)", () => {
    const base = { params: firstParams(Harness.single()), tracking: [], unicastPeers: [] };
    const h = new Harness({
      instances: [{ ...base, tracking: [{ tracker: "eth0", weight: 0, reverse: false }] }],
      groups: [],
      trackers: [{ name: "eth0", kind: "link", rise: 1, fall: 1, initFail: false }],
    }).start();
    expect(h.node.state("VI_1")).toBe("BACKUP");
    h.at(S).link("eth0", false);
    expect(h.node.state("VI_1")).toBe("FAULT");
  });
});

describe("shutdown", () => {
  test("MASTER: priority 0, VIPs removed, STOP notify", () => {
    const h = Harness.single()
      .start()
      .at(5 * S);
    h.log.length = 0;
    h.node.shutdown();
    expect(h.commands().map((c) => c.type)).toEqual([
      "sendAdvert",
      "log",
      "log",
      "removeVips",
      "notify",
      "fifo",
    ]);
    expect(h.adverts()).toEqual([[5 * S, 0]]);
    expect(h.fifo()).toEqual(['INSTANCE "VI_1" STOP 100']);
    expect(h.node.timers()).toEqual([]);
  });
  test("BACKUP: STOP notify only", () => {
    const h = Harness.single()
      .start()
      .at(1 * S);
    h.log.length = 0;
    h.node.shutdown();
    expect(h.commands().map((c) => c.type)).toEqual(["notify", "fifo"]);
  });
});
