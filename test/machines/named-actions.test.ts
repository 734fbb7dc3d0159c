/**
 * Issue 9 "Host structure": the machines' effects and timers are visible in their definitions.
 * - Every action on every transition, entry and exit is a named message action (its type is a
 *   message type: `sendAdvert`, `log`, `memberReport`…) or one of XState's assign / raise / cancel —
 *   never `xstate.enqueueActions`, which would hide what is emitted. Each machine declares every
 *   message type it emits, and specific transitions carry the effects keepalived performs there.
 * - Messages only leave through these actions, and a message inside an action of another type is
 *   refused (named-actions.ts `splitRuns`, and the host), so a command type appears as a named action
 *   on every transition that emits it.
 * - Timers are raised under our own names (INSTANCE_TIMERS), no `after` delays, and no `xstate.after`
 *   id anywhere in src/ (but the chart generator, src/viz) or machines/; the priority-change shift names a pending timer.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { AnyStateMachine } from "xstate";
import { MESSAGE_TYPES, type Message } from "../../machines/events.ts";
import { INSTANCE_TIMERS, MASTER_DOWN_TIMER_ID } from "../../machines/instance-commands.ts";
import { splitRuns } from "../../machines/named-actions.ts";
import { syncGroupMachine } from "../../machines/sync-group.machine.ts";
import { trackerMachine } from "../../machines/tracker.machine.ts";
import { vrrpInstanceMachine } from "../../machines/vrrp-instance.machine.ts";
import { Tracking } from "../../src/runtime/tracking.ts";
import { Harness, S } from "./harness.ts";

const BUILTINS = new Set(["xstate.assign", "xstate.raise", "xstate.cancel"]);

interface Site {
  readonly where: string;
  // biome-ignore lint/suspicious/noExplicitAny: XState action objects
  readonly actions: readonly any[];
}

/** Every entry, exit and transition (including eventless ones) of every state node. */
const sites = (machine: AnyStateMachine): Site[] => {
  const out: Site[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: XState state nodes
  const walk = (node: any): void => {
    out.push({ where: `${node.id} entry`, actions: node.entry });
    out.push({ where: `${node.id} exit`, actions: node.exit });
    for (const [event, defs] of node.transitions as Map<string, Array<{ actions: unknown[] }>>)
      defs.forEach((d, i) => {
        out.push({ where: `${node.id} ${event}#${i}`, actions: d.actions });
      });
    for (const [i, d] of (node.always ?? []).entries())
      out.push({ where: `${node.id} always#${i}`, actions: d.actions });
    for (const child of Object.values(node.states ?? {})) walk(child);
  };
  walk(machine.root);
  return out;
};
// biome-ignore lint/suspicious/noExplicitAny: XState action objects
const typeOf = (a: any): string => (typeof a === "string" ? a : a.type);
const named = (machine: AnyStateMachine): Set<string> =>
  new Set(
    sites(machine)
      .flatMap((s) => s.actions.map(typeOf))
      .filter((t) => !BUILTINS.has(t)),
  );

describe("every effect is a named action", () => {
  test.each([
    ["instance", vrrpInstanceMachine],
    ["sync group", syncGroupMachine],
    ["tracker", trackerMachine],
  ] as const)("%s machine: only named message actions and assign / raise / cancel", (_, machine) => {
    const bad = sites(machine).flatMap((s) =>
      s.actions
        .map(typeOf)
        .flatMap((t) => (BUILTINS.has(t) || MESSAGE_TYPES.includes(t as never) ? [] : [`${s.where}: ${t}`])),
    );
    expect(bad).toEqual([]);
  });

  test("each machine declares exactly the message types it emits", () => {
    expect([...named(vrrpInstanceMachine)].sort()).toEqual(
      [
        "addRoutes",
        "addVips",
        "fifo",
        "garp",
        "log",
        "memberReport",
        "notify",
        "removeRoutes",
        "removeVips",
        "sendAdvert",
        "shiftTimer",
      ].sort(),
    );
    expect([...named(syncGroupMachine)].sort()).toEqual(["fifo", "log", "notify", "syncMember"]);
    expect([...named(trackerMachine)].sort()).toEqual(["log", "trackerChanged"]);
  });

  test("the transitions carry the effects keepalived performs there", () => {
    const at = (id: string, event: string, i: number) =>
      // biome-ignore lint/suspicious/noExplicitAny: XState state nodes
      ((vrrpInstanceMachine.getStateNodeById(id) as any).transitions.get(event)[i].actions as unknown[])
        .map(typeOf)
        .filter((t) => !BUILTINS.has(t));
    // BACKUP's down timer → MASTER: keepalived's timeout line, then vrrp_state_become_master's order
    // (VIPs, then virtual routes and rules, each after its detail lines).
    expect(at("vrrp.backup", "MASTER_DOWN", 1)).toEqual([
      "log",
      "log",
      "sendAdvert",
      "log",
      "addVips",
      "log",
      "addRoutes",
      "garp",
      "notify",
      "fifo",
      "memberReport",
    ]);
    expect(at("vrrp.master.adverts.waiting", "ADVERT_TIMER", 0)).toEqual(["sendAdvert"]);
    expect(at("vrrp.backup", "TRACKING", 1)).toEqual(["log", "shiftTimer", "fifo"]);
  });

  test("messages that do not fit the declared actions are refused", () => {
    const log: Message = { type: "log", line: "x" };
    const advert: Message = { type: "sendAdvert", instance: "VI_1", priority: 1, advertIntervalCs: 100 };
    expect(splitRuns([log, advert, log], ["log", "sendAdvert", "log"])).toEqual([[log], [advert], [log]]);
    expect(splitRuns([advert], ["log", "sendAdvert", "log"])).toEqual([[], [advert], []]);
    expect(() => splitRuns([advert, log, advert], ["log", "sendAdvert", "log"])).toThrow(/does not fit/);
  });
});

describe("timers are named by the machines", () => {
  test("no `after` delays; every delayed raise has one of our timer names", () => {
    const raises = sites(vrrpInstanceMachine).flatMap((s) =>
      s.actions.filter((a) => typeOf(a) === "xstate.raise"),
    );
    expect(raises.length).toBeGreaterThan(4);
    for (const r of raises) expect(Object.keys(INSTANCE_TIMERS)).toContain(r.id);
    const ids = new Set(raises.map((r) => r.id));
    expect([...ids].sort()).toEqual(Object.keys(INSTANCE_TIMERS).sort());
    for (const m of [vrrpInstanceMachine, syncGroupMachine, trackerMachine])
      for (const s of sites(m)) {
        const node = m.getStateNodeById(s.where.split(" ")[0] ?? "") as unknown as { after: unknown[] };
        expect(node.after).toEqual([]);
      }
  });

  test("no XState-generated timer id in src/ or machines/ (the chart generator in src/viz excepted)", () => {
    // src/viz draws any machine, so it knows XState's `after` ids; it reads the machines, never runs them.
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        if (p === join("src", "viz")) return [];
        return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
      });
    const hits = [...files("src"), ...files("machines")].filter((f) =>
      readFileSync(f, "utf8").includes("xstate.after"),
    );
    expect(hits).toEqual([]);
  });

  test("the timer table and journal know the down timer as masterDown; the priority shift moves it", () => {
    const one = Harness.single(
      { basePriority: 150 },
      { tracking: [{ tracker: "chk", weight: -60, reverse: false }] },
    );
    const spec = {
      ...one.spec,
      trackers: [{ name: "chk", kind: "script" as const, rise: 1, fall: 1, initFail: false }],
    };
    const g = new Harness(spec).start();
    expect(g.node.timers().map((t) => t.key)).toEqual([`instance:VI_1 ${MASTER_DOWN_TIMER_ID}`]);
    const before = g.node.timers()[0]?.dueUs ?? 0;
    g.at(1 * S).probe("chk", false);
    const shift = g.of("shiftTimer")[0]?.out;
    expect(shift?.timer).toBe("masterDown");
    expect(g.node.timers()).toEqual([
      { key: "instance:VI_1 masterDown", dueUs: before + (shift?.deltaUs ?? 0) },
    ]);
    g.at(10 * S);
    expect(
      g.journal.lines.some((l) => l.includes('"kind":"timer","actor":"instance:VI_1","id":"masterDown"')),
    ).toBe(true);
  });

  test("a shift naming no pending timer is refused, not silently dropped", () => {
    const spec = { instances: [], groups: [], trackers: [] };
    const tracking = new Tracking(spec, { instance: () => undefined, get: () => undefined } as never);
    const host = { send: () => {}, defer: () => {}, shiftTimer: () => false };
    expect(() =>
      tracking.route(
        { type: "shiftTimer", instance: "VI_1", timer: "xstate.after.masterDown", deltaUs: 5 },
        host,
      ),
    ).toThrow(/no pending timer named 'xstate.after.masterDown'/);
  });
});
