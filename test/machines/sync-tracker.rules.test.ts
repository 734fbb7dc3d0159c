/** Sync-group and tracker rules (docs/keepalived-reference.md §3.3, §3.6), asserted on emitted commands and times. */
import { describe, expect, test } from "vitest";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";
import { Harness, S } from "./harness.ts";

const groupSpec = (): NodeSpec => ({
  instances: ["VI_C", "VI_D"].map((name, i) => ({
    params: instanceDefaults({
      name,
      vrid: 10 + i,
      ownIp: "198.18.0.1",
      vips: [`198.18.1.${10 + i}`],
      basePriority: 100 + 10 * i,
      syncGroup: "G1",
    }),
    tracking: name === "VI_C" ? [{ tracker: "chk", weight: 0, reverse: false }] : [],
    unicastPeers: [],
  })),
  groups: [{ name: "G1", members: ["VI_C", "VI_D"] }],
  trackers: [{ name: "chk", kind: "script", rise: 1, fall: 1, initFail: false }],
});

describe("sync group", () => {
  test("startup: members BACKUP then group BACKUP", () => {
    const h = new Harness(groupSpec()).start();
    h.probe("chk", true);
    expect(h.fifo()).toEqual([
      'INSTANCE "VI_D" BACKUP 110',
      'INSTANCE "VI_C" BACKUP 100',
      'GROUP "G1" BACKUP 0',
    ]);
  });

  test("MASTER only when all members want MASTER, then together; group notify last", () => {
    const h = new Harness(groupSpec()).start().probe("chk", true);
    // VI_C keeps hearing a master, VI_D does not: the group stays BACKUP.
    for (let t = 1; t <= 6; t++) h.at(t * S).advert("198.18.0.2", 150, { vrid: 10, vips: ["198.18.1.10"] });
    expect(h.node.state("VI_D")).toBe("BACKUP");
    expect(h.node.state("group:G1")).toBe("BACKUP");
    h.log.length = 0;
    h.at(20 * S);
    // VI_C's timer expires last (6 s + 3,609,375) and completes the group: as keepalived 2.2.7 (observed
    // in test/netns/keepalived-conformance.test.ts), the trigger goes first, then the group syncs the
    // others, then the group notify.
    expect(h.fifo()).toEqual([
      'INSTANCE "VI_C" MASTER 100',
      'INSTANCE "VI_D" MASTER 110',
      'GROUP "G1" MASTER 0',
    ]);
    const lines = h.lines();
    expect(lines.indexOf("(VI_C) Entering MASTER STATE")).toBeLessThan(
      lines.indexOf("VRRP_Group(G1) Syncing instances to MASTER state"),
    );
    expect(lines.indexOf("VRRP_Group(G1) Syncing instances to MASTER state")).toBeLessThan(
      lines.indexOf("(VI_D) Entering MASTER STATE"),
    );
    expect(h.states("instance:VI_C")).toEqual([[6 * S + 3_609_375, "MASTER"]]);
    expect(h.states("instance:VI_D")).toEqual([[6 * S + 3_609_375, "MASTER"]]);
  });

  test("one member FAULT → all FAULT; the forced master sends one priority-0 advert; recovery → all BACKUP", () => {
    const h = new Harness(groupSpec())
      .start()
      .probe("chk", true)
      .at(10 * S);
    expect(h.node.state("group:G1")).toBe("MASTER");
    h.log.length = 0;
    h.probe("chk", false);
    expect(h.fifo()).toEqual([
      'INSTANCE "VI_C" FAULT 100',
      'INSTANCE "VI_D" FAULT 110',
      'GROUP "G1" FAULT 0',
    ]);
    expect(h.adverts("VI_C")).toEqual([
      [10 * S, 0],
      [10 * S, 0],
    ]);
    expect(h.adverts("VI_D")).toEqual([[10 * S, 0]]);
    h.log.length = 0;
    h.at(11 * S).probe("chk", true);
    expect(h.fifo()).toEqual([
      'INSTANCE "VI_C" BACKUP 100',
      'INSTANCE "VI_D" BACKUP 110',
      'GROUP "G1" BACKUP 0',
    ]);
    h.at(30 * S);
    expect(h.node.state("group:G1")).toBe("MASTER");
  });

  test("a member yielding to a higher master takes the group to BACKUP", () => {
    const h = new Harness(groupSpec())
      .start()
      .probe("chk", true)
      .at(10 * S);
    h.log.length = 0;
    h.advert("198.18.0.2", 200, { vrid: 11, vips: ["198.18.1.11"] });
    expect(h.fifo()).toEqual([
      'INSTANCE "VI_D" BACKUP 110',
      'INSTANCE "VI_C" BACKUP 100',
      'GROUP "G1" BACKUP 0',
    ]);
    expect(h.node.state("VI_C")).toBe("BACKUP");
  });

  test("shutdown: every instance STOP, group STOP last", () => {
    const h = new Harness(groupSpec())
      .start()
      .probe("chk", true)
      .at(1 * S);
    h.log.length = 0;
    h.node.shutdown();
    expect(h.fifo()).toEqual(['INSTANCE "VI_C" STOP 100', 'INSTANCE "VI_D" STOP 110', 'GROUP "G1" STOP 0']);
  });
});

describe("tracker rise/fall", () => {
  const spec = (rise: number, fall: number, initFail = false): NodeSpec => ({
    instances: [
      {
        params: instanceDefaults({ name: "VI_1", vrid: 1, ownIp: "198.18.0.1", basePriority: 150 }),
        tracking: [{ tracker: "chk", weight: -60, reverse: false }],
        unicastPeers: [],
      },
    ],
    groups: [],
    trackers: [{ name: "chk", kind: "script", rise, fall, initFail }],
  });

  test.each([
    { rise: 1, fall: 1, results: [true, false], prio: [150, 90] },
    { rise: 2, fall: 2, results: [false, true, false, true, true], prio: [90, 90, 90, 90, 150] },
    {
      rise: 2,
      fall: 3,
      results: [true, false, false, true, false, false, false],
      prio: [150, 150, 150, 150, 150, 150, 90],
    },
    { rise: 3, fall: 1, results: [true, false, true, true, true], prio: [150, 90, 90, 90, 150] },
  ])("rise $rise fall $fall: $results → $prio (first result decides)", ({ rise, fall, results, prio }) => {
    const h = new Harness(spec(rise, fall)).start();
    const seen = results.map((ok, i) => {
      h.at((i + 1) * S).probe("chk", ok);
      return h.node.priority("VI_1");
    });
    expect(seen).toEqual(prio);
  });

  test("log lines and init_fail", () => {
    const h = new Harness(spec(1, 2, true)).start();
    expect(h.node.priority("VI_1")).toBe(90);
    h.probe("chk", true);
    h.probe("chk", false);
    h.node.input({ kind: "probe", tracker: "chk", ok: false, exitStatus: 1 });
    expect(h.lines()).toEqual(
      expect.arrayContaining([
        "VRRP_Script(chk) succeeded",
        "VRRP_Script(chk) failed (exited with status 1)",
      ]),
    );
    expect(h.node.priority("VI_1")).toBe(90);
  });
});
