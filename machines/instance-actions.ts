/**
 * The instance machine's setup (context, events, input, delays, guards and the no-op named message
 * actions) and the actions its transitions use: named effect actions built from instance-commands.ts
 * (one per message slot, named-actions.ts), context assignments, and the named timers (delayed raises
 * under our own ids, `INSTANCE_TIMERS`). vrrp-instance.machine.ts is the chart built from these. Pure.
 */
import { and, setup } from "xstate";
import type { InstanceEvent, InstanceParams, MessageType } from "./events.ts";
import {
  advertNow,
  advertOf,
  becomeMaster,
  type Emit,
  garp,
  INSTANCE_TIMERS,
  type InstanceContext,
  type InstanceTimerId,
  intervalMismatch,
  intervalUpdate,
  isOwner,
  leaveMaster,
  log,
  MASTER_DOWN_TIMER_ID,
  releaseVips,
  report,
  stopCommands,
  type TrackingState,
  trackingUpdate,
  yieldToAdvert,
} from "./instance-commands.ts";
import { instanceGuards } from "./instance-guards.ts";
import { type Effects, effectActions, effects, messageActionImpls } from "./named-actions.ts";
import { csToUs, downTimerUs, usToXstateMs } from "./timers.ts";

/** Delayed raise id of the preempt_delay window. */
export const PREEMPT_DELAY_ID: InstanceTimerId = "preemptDelay";

export const s = setup({
  types: {
    context: {} as InstanceContext,
    events: {} as InstanceEvent,
    input: {} as InstanceParams,
  },
  actions: messageActionImpls(),
  delays: {
    masterDown: ({ context: c }) =>
      usToXstateMs(
        downTimerUs({
          version: c.p.version,
          priority: c.priority,
          masterAdverIntervalCs: c.masterAdverIntervalCs,
          downTimerAdverts: c.p.downTimerAdverts,
          downTimer: c.downTimer,
          ownAdverIntervalCs: c.p.advertIntervalCs,
        }),
      ),
    advertInterval: ({ context: c }) => usToXstateMs(csToUs(c.p.advertIntervalCs)),
    garpMasterDelay: ({ context: c }) => usToXstateMs(c.p.garpMasterDelayUs),
    garpRefresh: ({ context: c }) => usToXstateMs(c.p.garpMasterRefreshUs),
    garpLowerPrioDelay: ({ context: c }) => usToXstateMs(c.p.garpLowerPrioDelayUs ?? 0),
    preemptDelay: ({ context: c }) => usToXstateMs(c.p.preemptDelayUs),
  },
  guards: instanceGuards,
});

/** The named actions (one per message slot, in order) of an emit function: see named-actions.ts. */
// biome-ignore lint/suspicious/noExplicitAny: XState's action typing of dynamic params
export const emit = (slots: readonly MessageType[], f: Emit): any[] =>
  effectActions(effects(slots, f) as Effects<InstanceContext, InstanceEvent>);

/** The message slots of each command function of instance-commands.ts (in emission order). */
export const REPORT: readonly MessageType[] = ["memberReport"];
export const ENTER_BACKUP: readonly MessageType[] = ["log", "notify", "fifo", "memberReport"];
export const SELF_GARP_THEN_BACKUP: readonly MessageType[] = ["log", "garp", ...ENTER_BACKUP];
/** `releaseVips`: rules and routes, then VIPs, each after its log lines. */
const RELEASE: readonly MessageType[] = ["log", "removeRoutes", "log", "removeVips"];
export const LEAVE_MASTER: readonly MessageType[] = [...RELEASE, "notify", "fifo", "memberReport"];
export const ENTER_FAULT: readonly MessageType[] = [
  "log",
  "sendAdvert",
  ...RELEASE,
  "notify",
  "fifo",
  "memberReport",
];
export const VIP_DELETED = ENTER_FAULT;
export const BECOME_MASTER: readonly MessageType[] = [
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
];

/** A TRACKING event in `state`: priority bookkeeping (instance-commands.ts `trackingUpdate`). */
/** Before START: tracking results change the context silently (`startLines` tells them at START). */
export const takeStartTracking = s.assign(({ context, event }) =>
  event.type === "TRACKING"
    ? { ...trackingUpdate(context, event, "init").patch, startFaults: event.faults ?? [] }
    : {},
);
/** keepalived's start-up lines, emitted first by every START transition. */
export const START_LINES: readonly MessageType[] = ["log", "fifo"];

export const applyTracking = (state: TrackingState) => [
  ...emit(["log", "shiftTimer", "fifo"], (c, e) =>
    e.type === "TRACKING" ? trackingUpdate(c, e, state).commands : [],
  ),
  s.assign(({ context, event }) =>
    event.type === "TRACKING" ? trackingUpdate(context, event, state).patch : {},
  ),
];

/** Raises `event` after the named delay under our own timer id (entry of a timed state). */
export const startTimer = (id: InstanceTimerId, delay: string) =>
  s.raise({ type: INSTANCE_TIMERS[id] } as never, { id, delay: delay as never });

/**
 * Accepting a master's advert: record it, learn its interval (v3; not from a priority-0 advert, whose
 * Skew_Time keepalived takes with the interval it had), full down timer next.
 */
export const recordMaster = s.assign(({ context: c, event: e }) => {
  const a = advertOf(e);
  return {
    masterPriority: a.priority,
    masterIp: a.srcIp,
    masterAdverIntervalCs:
      c.p.version !== 3
        ? c.p.advertIntervalCs
        : a.priority === 0
          ? c.masterAdverIntervalCs
          : a.advertIntervalCs,
    downTimer: a.priority === 0 ? ("skew" as const) : ("full" as const),
    wantMaster: false,
  };
});
export const wantReset = emit(REPORT, (c) =>
  c.wantMaster ? report({ ...c, wantMaster: false }, "BACKUP") : [],
);
export const toFullDown = s.assign({
  downTimer: "full" as const,
  preempt: "idle" as const,
  wantMaster: false,
});
/** Becoming MASTER: its own advert interval again, after `becomeMaster` has said so. */
export const ownInterval = s.assign(({ context: c }) => ({
  masterAdverIntervalCs: c.p.advertIntervalCs,
}));
/** Becoming MASTER: no preempt delay, no longer wanting, itself the master. */
export const ownMaster = s.assign(({ context: c }) => ({
  preempt: "idle" as const,
  wantMaster: false,
  masterPriority: c.priority,
  masterIp: c.p.ownIp,
}));
/** From INIT an owner with state MASTER takes over at once (docs/keepalived-reference.md §3.1); otherwise a full timer. */
export const initialDown = s.assign(({ context: c }) => ({
  downTimer: isOwner(c) && c.p.wantMaster ? ("now" as const) : ("full" as const),
}));
export const removeVipsAtStart = emit(RELEASE, (c) => releaseVips(c));
/**
 * Restarts BACKUP's masterDown timer without leaving the state: re-raises the same delayed event
 * under the same id (the host's timer table replaces the pending one). Equivalent to a
 * `reenter: true` self-transition (BACKUP has no other entry/exit actions), but about 1 µs cheaper
 * per accepted advert. The delay is resolved after the preceding `assign`s, as on re-entry.
 */
export const restartMasterDown = startTimer(MASTER_DOWN_TIMER_ID, "masterDown");
export const becomeMasterActions = [
  ownMaster,
  s.cancel(PREEMPT_DELAY_ID),
  ...emit(BECOME_MASTER, becomeMaster),
  ownInterval,
];
/** The detail line of a master's new interval, before `recordMaster` learns it. */
export const logIntervalUpdate = emit(["log"], intervalUpdate);
/** The detail line of a BACKUP's down timer running out (keepalived's dispatcher timeout). */
export const logDownTimeout = emit(["log"], (c) => [log(c, "Receive advertisement timeout", true)]);

export const yieldActions = [
  ...emit(["log", "sendAdvert"], yieldToAdvert),
  ...logIntervalUpdate,
  recordMaster,
  ...emit(LEAVE_MASTER, leaveMaster),
];
export const syncYieldActions = [toFullDown, ...emit(LEAVE_MASTER, leaveMaster)];
export const stopActions = (fromMaster: boolean) =>
  emit(["sendAdvert", ...RELEASE, "notify", "fifo", "memberReport"], stopCommands(fromMaster));
export const logIntervalMismatch = emit(["log"], intervalMismatch);
/** FAULT forced by the sync group: leaving it later sends no unicast GARP (keepalived's try_up_instance). */
export const forcedFault = s.assign({ ownFaultSeen: false });
export const garpDelayed = emit(["garp"], (c) => [garp(c, "delay", c.p.garpMasterRepeat)]);
/** The second lower-priority burst, `garp_lower_prio_delay` after the first. */
export const garpLowerPrioDelayed = emit(["garp"], (c) => [
  garp(c, "lowerPrioDelay", c.p.garpLowerPrioRepeat),
]);
export const advertActions = emit(["sendAdvert"], advertNow);

/**
 * A MASTER's transitions for a valid advert that leaves it MASTER (`guard`): `actions` and the advert
 * timer re-armed — re-entering `adverts.waiting`, as keepalived's `vrrp_dispatcher_read` re-arms after
 * the state handler — unless lower_prio_no_advert, then `actions` alone.
 */
export const onReceipt = (
  guard: "rankZero" | "rankLower" | "rankSelf",
  // biome-ignore lint/suspicious/noExplicitAny: XState's action typing of dynamic params
  actions: any,
) =>
  [
    { guard: and([guard, "rearmsOnReceipt"]), target: "waiting", reenter: true, actions },
    { guard, actions },
  ] as const;
