/**
 * The VRRP instance machine (keepalived 2.2.7 semantics, docs/keepalived-reference.md §3). States INIT, BACKUP,
 * MASTER, FAULT and STOP. Timers are XState `after` delays computed from context by timers.ts
 * (masterDown in BACKUP; advertInterval, garpMasterDelay and garpRefresh in MASTER) plus one delayed
 * raise (`preemptDelay`); effects leave as custom actions whose params are `Command`s built by
 * instance-commands.ts (which also holds the context and the tracker bookkeeping); guards are named in
 * instance-guards.ts. This module is the state chart only. Nothing is performed here: the host
 * interprets every action. Pure.
 *
 * State entry effects live on the transitions, not in `entry`, so that re-entering BACKUP emits
 * nothing; an accepted advert restarts the down timer in place (`restartMasterDown`).
 */
import { setup } from "xstate";
import {
  COMMAND_TYPES,
  type Command,
  type CommandType,
  type InstanceEvent,
  type InstanceParams,
} from "./events.ts";
import {
  advertNow,
  advertOf,
  becomeMaster,
  configurationError,
  discardLower,
  type Emit,
  enterBackup,
  enterFault,
  garp,
  type InstanceContext,
  initialInstanceContext,
  intervalMismatch,
  isOwner,
  leaveFault,
  leaveInit,
  leaveMaster,
  log,
  lowerPriorityAdvert,
  MASTER_DOWN_TIMER_ID,
  preemptDelayStarted,
  releaseVips,
  report,
  stopCommands,
  type TrackingState,
  trackingUpdate,
  vipDeleted,
  yieldToAdvert,
} from "./instance-commands.ts";
import { instanceGuards } from "./instance-guards.ts";
import { csToUs, downTimerUs, usToXstateMs } from "./timers.ts";

export { type InstanceContext, initialInstanceContext } from "./instance-commands.ts";

/** Delayed raise id of the preempt_delay window. */
export const PREEMPT_DELAY_ID = "preemptDelay";

const actionImpl = (_: unknown, _params: Command): void => {};

const s = setup({
  types: {
    context: {} as InstanceContext,
    events: {} as InstanceEvent,
    input: {} as InstanceParams,
  },
  actions: Object.fromEntries(COMMAND_TYPES.map((t) => [t, actionImpl])) as Record<
    CommandType,
    (_: unknown, params: Command) => void
  >,
  delays: {
    masterDown: ({ context: c }) =>
      usToXstateMs(
        downTimerUs({
          version: c.p.version,
          priority: c.priority,
          masterAdverIntervalCs: c.masterAdverIntervalCs,
          downTimerAdverts: c.p.downTimerAdverts,
          downTimer: c.downTimer,
        }),
      ),
    advertInterval: ({ context: c }) => usToXstateMs(csToUs(c.p.advertIntervalCs)),
    garpMasterDelay: ({ context: c }) => usToXstateMs(c.p.garpMasterDelayUs),
    garpRefresh: ({ context: c }) => usToXstateMs(c.p.garpMasterRefreshUs),
  },
  guards: instanceGuards,
});

/** Enqueues a list of commands as custom actions (type = command type, params = the command). */
const emit = (f: Emit) =>
  s.enqueueActions(({ context, event, enqueue }) => {
    for (const c of f(context, event)) enqueue({ type: c.type, params: c } as never);
  });

/** A TRACKING event in `state`: priority bookkeeping (instance-commands.ts `trackingUpdate`). */
const applyTracking = (state: TrackingState) =>
  s.enqueueActions(({ context, event, enqueue }) => {
    if (event.type !== "TRACKING") return;
    const u = trackingUpdate(context, event, state);
    for (const c of u.commands) enqueue({ type: c.type, params: c } as never);
    enqueue.assign(u.patch);
  });

/** Accepting a master's advert: record it, learn its interval (v3), full down timer next. */
const recordMaster = s.assign(({ context: c, event: e }) => {
  const a = advertOf(e);
  return {
    masterPriority: a.priority,
    masterIp: a.srcIp,
    masterAdverIntervalCs: c.p.version === 3 ? a.advertIntervalCs : c.p.advertIntervalCs,
    downTimer: a.priority === 0 ? ("skew" as const) : ("full" as const),
    wantMaster: false,
  };
});
const wantReset = emit((c) => (c.wantMaster ? report({ ...c, wantMaster: false }, "BACKUP") : []));
const toFullDown = s.assign({ downTimer: "full" as const, preempt: "idle" as const, wantMaster: false });
const ownInterval = s.assign(({ context: c }) => ({
  masterAdverIntervalCs: c.p.advertIntervalCs,
  preempt: "idle" as const,
  wantMaster: false,
  masterPriority: c.priority,
  masterIp: c.p.ownIp,
}));
/** From INIT an owner with state MASTER takes over at once (docs/keepalived-reference.md §3.1); otherwise a full timer. */
const initialDown = s.assign(({ context: c }) => ({
  downTimer: isOwner(c) && c.p.wantMaster ? ("now" as const) : ("full" as const),
}));
const removeVipsAtStart = emit((c) => releaseVips(c));
/**
 * Restarts BACKUP's `after: masterDown` timer without leaving the state: re-raises the same delayed
 * event under the same id (the host's timer table replaces the pending one). Equivalent to a
 * `reenter: true` self-transition (BACKUP has no entry/exit effects), but about 1 µs cheaper per
 * accepted advert. The delay is resolved after the preceding `assign`s, as on re-entry.
 */
const restartMasterDown = s.raise({ type: MASTER_DOWN_TIMER_ID } as never, {
  id: MASTER_DOWN_TIMER_ID,
  delay: "masterDown",
});
const becomeMasterActions = [ownInterval, s.cancel(PREEMPT_DELAY_ID), emit(becomeMaster)];

const yieldActions = [emit(yieldToAdvert), recordMaster, emit(leaveMaster)];
const syncYieldActions = [toFullDown, emit(leaveMaster)];
const stopActions = (fromMaster: boolean) => emit(stopCommands(fromMaster));
const logIntervalMismatch = emit(intervalMismatch);
/** FAULT forced by the sync group: leaving it later sends no unicast GARP (keepalived's try_up_instance). */
const forcedFault = s.assign({ ownFaultSeen: false });
const garpDelayed = emit((c) => [garp(c, "delay", c.p.garpMasterRepeat)]);

export const vrrpInstanceMachine = s.createMachine({
  id: "vrrp",
  context: ({ input }) => initialInstanceContext(input),
  initial: "init",
  on: {
    SHUTDOWN: { target: ".stop", actions: stopActions(false) },
  },
  states: {
    init: {
      initial: "idle",
      on: {
        TRACKING: { actions: applyTracking("init") },
      },
      states: {
        idle: {
          on: {
            START: [
              { guard: "pending", target: "waiting", actions: removeVipsAtStart },
              {
                guard: "faulted",
                target: "#vrrp.fault",
                actions: [removeVipsAtStart, emit(enterFault(false, "own", " (init)"))],
              },
              {
                guard: "ownerFastStart",
                target: "#vrrp.backup",
                actions: [
                  removeVipsAtStart,
                  s.assign({ downTimer: "now" as const }),
                  emit(enterBackup(" (init)")),
                ],
              },
              { target: "#vrrp.backup", actions: [removeVipsAtStart, emit(enterBackup(" (init)"))] },
            ],
            // The sync group starts in FAULT (a member starts faulted) and forces this member there.
            SYNC: {
              guard: "syncFault",
              target: "#vrrp.fault",
              actions: [
                removeVipsAtStart,
                s.assign(({ context: c }) => ({ ownFaultSeen: c.ownFault })),
                emit(enterFault(false, "sync", " (init)")),
              ],
            },
          },
        },
        waiting: {
          on: {
            TRACKING: [
              {
                guard: "trackingFaults",
                target: "#vrrp.fault",
                actions: [applyTracking("init"), emit(enterFault(false, "own"))],
              },
              {
                guard: "trackingReady",
                target: "#vrrp.backup",
                actions: [applyTracking("init"), toFullDown, initialDown, emit(leaveInit)],
              },
              { actions: applyTracking("init") },
            ],
          },
        },
      },
    },
    backup: {
      after: {
        masterDown: [
          {
            guard: "synced",
            target: "backup",
            reenter: true,
            actions: [
              s.assign({ wantMaster: true, downTimer: "full" as const }),
              emit((c) => report(c, "BACKUP")),
            ],
          },
          { target: "master", actions: becomeMasterActions },
        ],
      },
      on: {
        ADVERT: [
          { guard: "v2Mismatch", actions: logIntervalMismatch },
          {
            guard: "priorityZero",
            actions: [
              wantReset,
              recordMaster,
              emit((c) => [log(c, "Backup received priority 0 advertisement", true)]),
              restartMasterDown,
            ],
          },
          {
            guard: "backupAcceptsWanting",
            actions: [wantReset, recordMaster, restartMasterDown],
          },
          { guard: "backupAccepts", actions: [recordMaster, restartMasterDown] },
          {
            guard: "startsPreemptDelay",
            actions: [
              wantReset,
              recordMaster,
              s.assign({ preempt: "running" as const }),
              s.raise(
                { type: "PREEMPT_DELAY_EXPIRED" },
                {
                  id: PREEMPT_DELAY_ID,
                  delay: ({ context: c }) => usToXstateMs(c.p.preemptDelayUs),
                },
              ),
              emit(preemptDelayStarted),
              restartMasterDown,
            ],
          },
          { actions: emit(discardLower) },
        ],
        PREEMPT_DELAY_EXPIRED: { actions: s.assign({ preempt: "expired" as const }) },
        TRACKING: [
          {
            guard: "trackingFaults",
            target: "fault",
            actions: [applyTracking("backup"), emit(enterFault(false, "own"))],
          },
          { actions: applyTracking("backup") },
        ],
        SYNC: [
          { guard: "syncMaster", target: "master", actions: becomeMasterActions },
          { guard: "syncFault", target: "fault", actions: [forcedFault, emit(enterFault(false, "sync"))] },
        ],
      },
    },
    master: {
      type: "parallel",
      on: {
        ADVERT: [
          {
            guard: "bothOwners",
            target: "backup",
            actions: [
              emit(configurationError),
              s.assign({ basePriority: 254, priority: 254 }),
              ...yieldActions,
            ],
          },
          {
            guard: "rankSelf",
            actions: emit((c, e) => [
              log(
                c,
                `WARNING - equal priority advert received from ${advertOf(e).srcIp} with our own address`,
              ),
            ]),
          },
          { guard: "rankHigher", target: "backup", actions: yieldActions },
        ],
        TRACKING: [
          {
            guard: "trackingFaults",
            target: "fault",
            actions: [applyTracking("master"), emit(enterFault(true, "own"))],
          },
          { actions: applyTracking("master") },
        ],
        SYNC: [
          { guard: "syncFault", target: "fault", actions: [forcedFault, emit(enterFault(true, "sync"))] },
          { guard: "syncBackup", target: "backup", actions: syncYieldActions },
        ],
        SHUTDOWN: { target: "stop", actions: stopActions(true) },
        VIP_DELETED: {
          target: "backup",
          actions: [s.assign({ downTimer: "skew" as const, preempt: "idle" as const }), emit(vipDeleted)],
        },
      },
      states: {
        adverts: {
          initial: "waiting",
          states: {
            waiting: {
              after: {
                advertInterval: {
                  target: "waiting",
                  reenter: true,
                  actions: emit(advertNow),
                },
              },
              on: {
                ADVERT: [
                  { guard: "v2Mismatch", actions: logIntervalMismatch },
                  {
                    guard: "rankZero",
                    target: "waiting",
                    reenter: true,
                    actions: emit(advertNow),
                  },
                  {
                    guard: "rankLower",
                    target: "waiting",
                    reenter: true,
                    actions: emit(lowerPriorityAdvert),
                  },
                ],
              },
            },
          },
        },
        garp: {
          initial: "start",
          states: {
            start: {
              always: [
                { guard: "garpDelayEnabled", target: "delay" },
                { guard: "garpRefreshEnabled", target: "refresh" },
                { target: "idle" },
              ],
            },
            delay: {
              after: {
                garpMasterDelay: [
                  {
                    guard: "garpRefreshEnabled",
                    target: "refresh",
                    actions: garpDelayed,
                  },
                  { target: "idle", actions: garpDelayed },
                ],
              },
            },
            refresh: {
              after: {
                garpRefresh: {
                  target: "refresh",
                  reenter: true,
                  actions: emit((c) => [garp(c, "refresh", c.p.garpMasterRefreshRepeat ?? 1)]),
                },
              },
            },
            idle: {},
          },
        },
      },
    },
    fault: {
      on: {
        ADVERT: {},
        TRACKING: [
          {
            guard: "trackingClears",
            target: "backup",
            actions: [applyTracking("fault"), toFullDown, emit(leaveFault)],
          },
          { guard: "synced", actions: [applyTracking("fault"), emit((c) => report(c, "FAULT"))] },
          { actions: applyTracking("fault") },
        ],
        SYNC: [
          { guard: "syncBackupClear", target: "backup", actions: [toFullDown, emit(leaveFault)] },
          { guard: "syncFault", actions: [] },
        ],
      },
    },
    stop: { type: "final" },
  },
});
