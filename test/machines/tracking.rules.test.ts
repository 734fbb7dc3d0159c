/**
 * Rules for priority changes and the value-carrying trackers (docs/keepalived-reference.md §3.2–3.4, §3.8): the down
 * timer shifted by the change in skew, `notify_priority_changes` FIFO lines, `track_file`,
 * `vrrp_track_process`, `reverse` on weighted trackers, the unicast GARP on leaving FAULT and
 * `garp_master_refresh_repeat`. Every test asserts emitted commands and exact virtual-clock times.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { InstanceParams } from "../../machines/events.ts";
import { MASTER_DOWN_TIMER_ID } from "../../machines/instance-commands.ts";
import { fileStatus, trackerEffect } from "../../machines/priority.ts";
import { masterDownIntervalUs, skewTimeUs } from "../../machines/timers.ts";
import type { TrackerParams } from "../../machines/tracker.machine.ts";
import { instanceDefaults } from "../../src/runtime/spec.ts";
import { Harness, S } from "./harness.ts";

const one = (
  over: Partial<InstanceParams>,
  tracker: TrackerParams,
  binding: { weight: number; reverse?: boolean },
): Harness =>
  new Harness({
    instances: [
      {
        params: instanceDefaults({
          name: "VI_1",
          vrid: 1,
          ownIp: "198.18.0.1",
          vips: ["198.18.0.100"],
          ...over,
        }),
        tracking: [{ tracker: tracker.name, weight: binding.weight, reverse: binding.reverse ?? false }],
        unicastPeers: [],
      },
    ],
    groups: [],
    trackers: [tracker],
  });

const script: TrackerParams = { name: "chk", kind: "script", rise: 1, fall: 1, initFail: false };
const file: TrackerParams = { name: "tf", kind: "file", rise: 1, fall: 1, initFail: false, initValue: 0 };
const proc = (quorum: number, quorumMax?: number): TrackerParams => ({
  name: "proc",
  kind: "process",
  rise: 1,
  fall: 1,
  initFail: false,
  quorum,
  ...(quorumMax === undefined ? {} : { quorumMax }),
});
const fileValue = (h: Harness, value: number): Harness => {
  h.node.input({ kind: "probe", tracker: "tf", ok: true, value });
  return h;
};
const running = (h: Harness, n: number): Harness => {
  h.node.input({ kind: "probe", tracker: "proc", ok: true, running: n });
  return h;
};
const masterDownTimers = (h: Harness) => h.node.timers().filter((t) => t.key.includes("masterDown"));

describe("effective priority change while BACKUP shifts the pending down timer by the change in skew", () => {
  test("150 → 90 one second in: logged, timer moved later by skew(90) − skew(150) = 234,375 µs", () => {
    const h = one({ basePriority: 150 }, script, { weight: -60 }).start();
    const due150 = masterDownIntervalUs({ version: 2, priority: 150, masterAdverIntervalCs: 100 });
    expect(due150).toBe(3_414_062);
    expect(masterDownTimers(h).map((t) => t.dueUs)).toEqual([due150]);
    h.log.length = 0;
    h.at(1 * S).probe("chk", false);
    expect(h.commands()).toEqual([
      { type: "log", line: "VRRP_Script(chk) failed" },
      { type: "trackerChanged", tracker: "chk", ok: false },
      { type: "log", line: "(VI_1) Changing effective priority from 150 to 90" },
      { type: "shiftTimer", instance: "VI_1", timer: MASTER_DOWN_TIMER_ID, deltaUs: 234_375 },
    ]);
    expect(234_375).toBe(
      skewTimeUs({ version: 2, priority: 90, masterAdverIntervalCs: 100 }) -
        skewTimeUs({ version: 2, priority: 150, masterAdverIntervalCs: 100 }),
    );
    // Shifted, not restarted: 3,414,062 + 234,375 (a restart at 1 s would give 4,648,437).
    expect(masterDownTimers(h).map((t) => t.dueUs)).toEqual([3_648_437]);
    h.at(10 * S);
    expect(h.states()).toEqual([[3_648_437, "MASTER"]]);
  });

  test("a shift into the past fires at once: priority-0 advert (timer = skew 609,375), then 100 → 200 at 1.5 s", () => {
    const h = one({ basePriority: 100 }, script, { weight: 100 }).start();
    h.at(1 * S).advert("198.18.0.2", 0);
    expect(masterDownTimers(h).map((t) => t.dueUs)).toEqual([1_609_375]);
    h.log.length = 0;
    h.at(1_500_000).probe("chk", true);
    expect(h.of("shiftTimer").map((t) => [t.atUs, t.out.deltaUs])).toEqual([[1_500_000, 218_750 - 609_375]]);
    expect(h.lines()).toContain("(VI_1) Changing effective priority from 100 to 200");
    h.at(2 * S);
    expect(h.states()).toEqual([[1_500_000, "MASTER"]]);
    expect(h.adverts()).toEqual([[1_500_000, 200]]);
  });

  test("v3 skew uses the learned master interval: 50 cs adverts, 100 → 50 shifts by (206−156)×500,000/256", () => {
    const h = one({ basePriority: 100, version: 3 }, script, { weight: -50 }).start();
    h.at(1 * S).advert("198.18.0.2", 150, { version: 3, intervalCs: 50 });
    expect(masterDownTimers(h).map((t) => t.dueUs)).toEqual([1 * S + 1_500_000 + 304_687]);
    h.at(1_200_000).probe("chk", false);
    const delta = Math.floor((206 * 500_000) / 256) - Math.floor((156 * 500_000) / 256);
    expect(h.of("shiftTimer").map((t) => t.out.deltaUs)).toEqual([delta]);
    expect(masterDownTimers(h).map((t) => t.dueUs)).toEqual([1 * S + 1_500_000 + 304_687 + delta]);
  });

  test("no shift outside BACKUP: a MASTER's priority change only logs", () => {
    const h = one({ basePriority: 100 }, script, { weight: -10 })
      .start()
      .at(5 * S);
    h.log.length = 0;
    h.probe("chk", false);
    expect(h.commands()).toEqual([
      { type: "log", line: "VRRP_Script(chk) failed" },
      { type: "trackerChanged", tracker: "chk", ok: false },
      { type: "log", line: "(VI_1) Changing effective priority from 100 to 90" },
    ]);
  });
});

describe("down-timer shifting, property", () => {
  type Step = { waitUs: number; ok: boolean };
  const skew = (prio: number): number => Math.floor(((256 - prio) * 1_000_000) / 256);
  /** Reference: the deadline moves by the skew change; a deadline already past fires at the probe. */
  const model = (steps: readonly Step[]): number | undefined => {
    let now = 0;
    let prio = 150;
    let deadline = 3_000_000 + skew(150);
    for (const st of steps) {
      if (deadline <= now + st.waitUs) return deadline;
      now += st.waitUs;
      const next = st.ok ? 150 : 90;
      deadline += skew(next) - skew(prio);
      prio = next;
      if (deadline <= now) return now;
    }
    return deadline;
  };
  test("random script flips (weight −60, base 150): MASTER exactly when the shifted deadline passes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ waitUs: fc.integer({ min: 0, max: 1_500_000 }), ok: fc.boolean() }), {
          maxLength: 8,
        }),
        (steps) => {
          const h = one({ basePriority: 150 }, script, { weight: -60 }).start();
          let t = 0;
          for (const st of steps) {
            t += st.waitUs;
            h.at(t).probe("chk", st.ok);
          }
          h.at(t + 10 * S);
          expect(h.states().find(([, to]) => to === "MASTER")?.[0]).toBe(model(steps));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("notify_priority_changes", () => {
  test("BACKUP_PRIORITY while BACKUP, MASTER_PRIORITY while MASTER, with the new effective priority", () => {
    const h = one({ basePriority: 150, notifyPriorityChanges: true }, script, { weight: -60 }).start();
    h.at(1 * S).probe("chk", false);
    h.at(2 * S).probe("chk", true);
    h.at(10 * S).probe("chk", false);
    expect(h.of("fifo").map((t) => [t.atUs, t.out.line])).toEqual([
      [0, 'INSTANCE "VI_1" BACKUP 150'],
      [1 * S, 'INSTANCE "VI_1" BACKUP_PRIORITY 90'],
      [2 * S, 'INSTANCE "VI_1" BACKUP_PRIORITY 150'],
      // 90 → 150 shifts the timer back by 234,375: MASTER at the original 3,414,062, not 2 s + that.
      [3_414_062, 'INSTANCE "VI_1" MASTER 150'],
      [10 * S, 'INSTANCE "VI_1" MASTER_PRIORITY 90'],
    ]);
  });

  test("off by default: no priority FIFO lines", () => {
    const h = one({ basePriority: 150 }, script, { weight: -60 }).start();
    h.at(1 * S).probe("chk", false);
    expect(h.fifo()).toEqual(['INSTANCE "VI_1" BACKUP 150']);
  });
});

describe("track_file", () => {
  test.each([
    { value: 70, weight: -1, reverse: false, status: -70 },
    { value: 70, weight: -1, reverse: true, status: 70 },
    { value: 300, weight: -1, reverse: false, status: -254 },
    { value: 300, weight: 1, reverse: false, status: 253 },
    { value: 127, weight: -2, reverse: false, status: -254 },
    { value: 126, weight: -2, reverse: false, status: -252 },
    { value: 5, weight: 0, reverse: false, status: -254 },
    { value: 0, weight: 0, reverse: false, status: 0 },
    { value: 0, weight: 0, reverse: true, status: -254 },
    { value: 5, weight: 0, reverse: true, status: 0 },
  ])(
    "value $value × weight $weight (reverse $reverse) → status $status",
    ({ value, weight, reverse, status }) => {
      expect(fileStatus(value, weight, reverse)).toBe(status);
    },
  );

  test("observed run: priority 150, weight −1: 70 → 80; 300 → FAULT notified as FAULT 80; 0 → 150 and takes over", () => {
    const h = one({ basePriority: 150 }, file, { weight: -1 }).start();
    expect(h.node.priority("VI_1")).toBe(150);
    h.log.length = 0;
    fileValue(h.at(1 * S), 70);
    expect(h.lines()).toEqual(["(VI_1) Changing effective priority from 150 to 80"]);
    h.log.length = 0;
    fileValue(h.at(2 * S), 300);
    expect(h.commands()).toEqual([
      { type: "trackerChanged", tracker: "tf", ok: true, value: 300 },
      { type: "log", line: "(VI_1): tracked file tf now FAULT state", detail: true },
      { type: "log", line: "(VI_1) Entering FAULT STATE" },
      { type: "notify", scope: "INSTANCE", name: "VI_1", state: "FAULT", priority: 80 },
      { type: "fifo", line: 'INSTANCE "VI_1" FAULT 80' },
    ]);
    h.log.length = 0;
    fileValue(h.at(3 * S), 0);
    expect(h.commands()).toEqual([
      { type: "trackerChanged", tracker: "tf", ok: true, value: 0 },
      { type: "log", line: "(VI_1): tracked file tf leaving FAULT state", detail: true },
      { type: "log", line: "(VI_1) Entering BACKUP STATE" },
      { type: "notify", scope: "INSTANCE", name: "VI_1", state: "BACKUP", priority: 150 },
      { type: "fifo", line: 'INSTANCE "VI_1" BACKUP 150' },
    ]);
    h.at(10 * S);
    expect(h.states()).toEqual([
      [3 * S, "BACKUP"],
      [3 * S + 3_414_062, "MASTER"],
    ]);
  });

  test("leaving FAULT with a non-zero status sets the priority directly (`Setting effective priority to 140`)", () => {
    const h = one({ basePriority: 150 }, file, { weight: -1 }).start();
    fileValue(h.at(1 * S), 400);
    h.log.length = 0;
    fileValue(h.at(2 * S), 10);
    expect(h.lines()).toEqual([
      "(VI_1): tracked file tf leaving FAULT state",
      "(VI_1) Setting effective priority to 140",
      "(VI_1) Entering BACKUP STATE",
    ]);
    expect(h.node.priority("VI_1")).toBe(140);
  });

  test("a MASTER whose tracked file goes FAULT sends two priority-0 adverts and removes its VIPs", () => {
    const h = one({ basePriority: 100 }, file, { weight: -1 })
      .start()
      .at(5 * S);
    h.log.length = 0;
    fileValue(h, 254);
    expect(h.states()).toEqual([[5 * S, "FAULT"]]);
    expect(h.adverts()).toEqual([
      [5 * S, 0],
      [5 * S, 0],
    ]);
    expect(h.of("removeVips").map((t) => t.atUs)).toEqual([5 * S]);
  });

  test("weight 0: any non-zero value is FAULT, 0 recovers", () => {
    const h = one({}, file, { weight: 0 }).start();
    fileValue(h.at(1 * S), 1);
    fileValue(h.at(2 * S), 0);
    expect(h.states()).toEqual([
      [0, "BACKUP"],
      [1 * S, "FAULT"],
      [2 * S, "BACKUP"],
    ]);
    expect(h.node.priority("VI_1")).toBe(100);
  });

  test("reverse negates the delta: weight −1 reverse, value 70 → 170", () => {
    const h = one({ basePriority: 100 }, file, { weight: -1, reverse: true }).start();
    fileValue(h.at(1 * S), 70);
    expect(h.lines()).toEqual([
      "(VI_1) removing VIPs.",
      "(VI_1) Entering BACKUP STATE (init)",
      "(VI_1) Changing effective priority from 100 to 170",
    ]);
  });

  test("init_file value applies from the start", () => {
    const h = one({ basePriority: 150 }, { ...file, initValue: 20 }, { weight: -1 }).start();
    expect(h.node.priority("VI_1")).toBe(130);
    expect(h.fifo()).toEqual(['INSTANCE "VI_1" BACKUP 130']);
  });
});

describe("vrrp_track_process", () => {
  test("weight 0: waits for the first count; FAULT outside quorum..quorum_max; quorum log lines", () => {
    const h = one({}, proc(2, 3), { weight: 0 }).start();
    expect(h.node.state("VI_1")).toBe("INIT");
    running(h.at(100_000), 2);
    running(h.at(1 * S), 1);
    running(h.at(2 * S), 4); // still outside (above quorum_max): no change
    running(h.at(3 * S), 3);
    expect(h.states()).toEqual([
      [100_000, "BACKUP"],
      [1 * S, "FAULT"],
      [3 * S, "BACKUP"],
    ]);
    expect(h.lines().filter((l) => l.startsWith("Quorum"))).toEqual([
      "Quorum gained for tracked process proc",
      "Quorum lost for tracked process proc",
      "Quorum gained for tracked process proc",
    ]);
  });

  test("weighted: +20 while the quorum holds (no upper bound by default)", () => {
    const h = one({ basePriority: 100 }, proc(1), { weight: 20 }).start();
    running(h.at(1 * S), 50);
    expect(h.node.priority("VI_1")).toBe(120);
    running(h.at(2 * S), 0);
    expect(h.node.priority("VI_1")).toBe(100);
  });
});

describe("reverse on weighted trackers (keepalived's weight × multiplier)", () => {
  test.each([
    { weight: 20, reverse: true, ok: true, delta: -20 },
    { weight: 20, reverse: true, ok: false, delta: 0 },
    { weight: -30, reverse: true, ok: false, delta: 30 },
    { weight: -30, reverse: true, ok: true, delta: 0 },
    { weight: 0, reverse: true, ok: true, delta: 0 },
  ])("weight $weight reverse, ok=$ok → delta $delta", ({ weight, reverse, ok, delta }) => {
    expect(trackerEffect({ ok, weight, reverse })).toEqual({
      faulted: weight === 0 && ok,
      pending: false,
      delta,
    });
  });
});

describe("leaving FAULT", () => {
  const linked = (unicast: boolean) =>
    new Harness({
      instances: [
        {
          params: instanceDefaults({
            name: "VI_1",
            vrid: 1,
            ownIp: "198.18.0.1",
            vips: ["198.18.0.100"],
            unicast,
          }),
          tracking: [{ tracker: "eth0", weight: 0, reverse: false }],
          unicastPeers: unicast ? ["198.18.0.2"] : [],
        },
      ],
      groups: [],
      trackers: [{ name: "eth0", kind: "link", rise: 1, fall: 1, initFail: false }],
    });

  test("unicast: one GARP for our own source address first (keepalived's try_up_instance), then BACKUP", () => {
    const h = linked(true).start();
    h.at(1 * S).link("eth0", false);
    h.log.length = 0;
    h.at(2 * S).link("eth0", true);
    expect(h.commands()).toEqual([
      { type: "log", line: "Netlink reports eth0 up" },
      { type: "trackerChanged", tracker: "eth0", ok: true },
      { type: "log", line: "VI_1: sending gratuitous ARP for 198.18.0.1", detail: true },
      { type: "garp", instance: "VI_1", vips: ["198.18.0.1"], repeat: 1, reason: "ownAddress" },
      { type: "log", line: "(VI_1) Entering BACKUP STATE" },
      { type: "notify", scope: "INSTANCE", name: "VI_1", state: "BACKUP", priority: 100 },
      { type: "fifo", line: 'INSTANCE "VI_1" BACKUP 100' },
    ]);
    h.at(10 * S);
    expect(h.states()).toEqual([
      [2 * S, "BACKUP"],
      [2 * S + 3_609_375, "MASTER"],
    ]);
  });

  test("unicast: leaving INIT after the weight-0 tracker's first result also GARPs our address", () => {
    const h = new Harness({
      instances: [
        {
          params: instanceDefaults({ name: "VI_1", vrid: 1, ownIp: "198.18.0.1", unicast: true }),
          tracking: [{ tracker: "chk", weight: 0, reverse: false }],
          unicastPeers: ["198.18.0.2"],
        },
      ],
      groups: [],
      trackers: [script],
    }).start();
    h.at(500_000).probe("chk", true);
    expect(h.of("garp").map((t) => [t.atUs, t.out.vips, t.out.reason])).toEqual([
      [500_000, ["198.18.0.1"], "ownAddress"],
    ]);
  });

  test("sync group, unicast: only the member whose own tracker faulted GARPs when the group leaves FAULT", () => {
    const member = (name: string, i: number) => ({
      params: instanceDefaults({
        name,
        vrid: 10 + i,
        ownIp: "198.18.0.1",
        vips: [`198.18.1.${10 + i}`],
        syncGroup: "G1",
        unicast: true,
      }),
      tracking: name === "VI_C" ? [{ tracker: "chk", weight: 0, reverse: false }] : [],
      unicastPeers: ["198.18.0.2"],
    });
    const h = new Harness({
      instances: [member("VI_C", 0), member("VI_D", 1)],
      groups: [{ name: "G1", members: ["VI_C", "VI_D"] }],
      trackers: [script],
    }).start();
    h.probe("chk", true);
    h.at(1 * S).probe("chk", false);
    h.log.length = 0;
    h.at(2 * S).probe("chk", true);
    expect(h.of("garp").map((t) => [t.atUs, t.out.instance, t.out.vips])).toEqual([
      [2 * S, "VI_C", ["198.18.0.1"]],
    ]);
    expect(h.fifo()).toEqual([
      'INSTANCE "VI_C" BACKUP 100',
      'INSTANCE "VI_D" BACKUP 100',
      'GROUP "G1" BACKUP 0',
    ]);
  });

  test("multicast: no GARP on leaving FAULT", () => {
    const h = linked(false).start();
    h.at(1 * S).link("eth0", false);
    h.at(2 * S).link("eth0", true);
    expect(h.of("garp")).toEqual([]);
  });
});

describe("garp_master_refresh_repeat", () => {
  test("each periodic refresh sends `repeat` GARPs per VIP", () => {
    const h = Harness.single({ garpMasterDelayUs: 0, garpMasterRefreshUs: 2 * S, garpMasterRefreshRepeat: 3 })
      .start()
      .at(8 * S);
    const m = 3_609_375;
    expect(h.of("garp").map((t) => [t.atUs, t.out.reason, t.out.repeat])).toEqual([
      [m, "master", 5],
      [m + 2 * S, "refresh", 3],
      [m + 4 * S, "refresh", 3],
    ]);
  });
});

describe("two owners (keepalived 2.2.7 vrrp_state_master_rx)", () => {
  test("exact CONFIGURATION ERROR line, priority 254, then yields to the 255 advert", () => {
    const h = Harness.single({ basePriority: 255, wantMaster: true })
      .start()
      .at(1 * S);
    h.log.length = 0;
    h.advert("198.18.0.0", 255);
    expect(h.lines()).toEqual([
      "(VI_1) CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority",
      "(VI_1) Master received advert from 198.18.0.0 with higher priority 255, ours 254",
      "(VI_1) Entering BACKUP STATE",
      "(VI_1) removing VIPs.",
    ]);
    expect(h.node.priority("VI_1")).toBe(254);
    expect(h.fifo()).toEqual(['INSTANCE "VI_1" BACKUP 254']);
  });
});
