/**
 * The VRRP instance machine (keepalived 2.2.7 semantics, keepalived.md §3). States INIT, BACKUP,
 * MASTER, FAULT and STOP. Timers are XState `after` delays computed from context by timers.ts
 * (masterDown in BACKUP; advertInterval, garpMasterDelay and garpRefresh in MASTER) plus one delayed
 * raise (`preemptDelay`); effects leave as custom actions whose params are `Command`s. Nothing is
 * performed here: the host interprets every action. Pure.
 *
 * State entry effects live on the transitions, not in `entry`, so that re-entering BACKUP to restart
 * its down timer (an accepted advert) emits nothing.
 */
import { setup } from "xstate";
import { backupAccepts, rankAdvert } from "./election.ts";
import type { Command, CommandType, InstanceEvent, InstanceParams } from "./events.ts";
import {
  advert,
  advertOf,
  becomeMaster,
  type Emit,
  enterBackup,
  enterFault,
  type InstanceContext,
  initialInstanceContext,
  isOwner,
  log,
  notify,
  priorityChange,
  releaseVips,
  report,
  v2Mismatch,
} from "./instance-commands.ts";
import { effectivePriority, OWNER_PRIORITY } from "./priority.ts";
import { csToUs, masterDownIntervalUs, skewTimeUs, usToXstateMs } from "./timers.ts";

export { type InstanceContext, initialInstanceContext } from "./instance-commands.ts";

/** Delayed raise id of the preempt_delay window. */
export const PREEMPT_DELAY_ID = "preemptDelay";

const actionImpl = (_: unknown, _params: Command): void => {};
const commandTypes: readonly CommandType[] = [
  "sendAdvert",
  "addVips",
  "removeVips",
  "garp",
  "notify",
  "fifo",
  "log",
  "memberReport",
  "syncMember",
  "trackerChanged",
];

const s = setup({
  types: {
    context: {} as InstanceContext,
    events: {} as InstanceEvent,
    input: {} as InstanceParams,
  },
  actions: Object.fromEntries(commandTypes.map((t) => [t, actionImpl])) as Record<
    CommandType,
    (_: unknown, params: Command) => void
  >,
  delays: {
    masterDown: ({ context: c }) => {
      const t = {
        version: c.p.version,
        priority: c.priority,
        masterAdverIntervalCs: c.masterAdverIntervalCs,
      };
      if (c.downTimer === "now") return 0;
      if (c.downTimer === "skew") return usToXstateMs(skewTimeUs(t));
      return usToXstateMs(masterDownIntervalUs({ ...t, downTimerAdverts: c.p.downTimerAdverts }));
    },
    advertInterval: ({ context: c }) => usToXstateMs(csToUs(c.p.advertIntervalCs)),
    garpMasterDelay: ({ context: c }) => usToXstateMs(c.p.garpMasterDelayUs),
    garpRefresh: ({ context: c }) => usToXstateMs(c.p.garpMasterRefreshUs),
  },
  guards: {
    pending: ({ context: c }) => c.pending,
    faulted: ({ context: c }) => c.ownFault,
    ownerFastStart: ({ context: c }) => isOwner(c) && c.p.wantMaster,
    synced: ({ context: c }) => c.p.syncGroup !== undefined,
    v2Mismatch: ({ context: c, event: e }) => v2Mismatch(c, e),
    priorityZero: ({ event: e }) => advertOf(e).priority === 0,
    backupAccepts: ({ context: c, event: e }) =>
      backupAccepts(advertOf(e).priority, {
        priority: c.priority,
        nopreempt: c.p.nopreempt,
        preemptDelayRunning: c.preempt === "running",
      }),
    backupAcceptsWanting: ({ context: c, event: e }) =>
      c.wantMaster &&
      backupAccepts(advertOf(e).priority, {
        priority: c.priority,
        nopreempt: c.p.nopreempt,
        preemptDelayRunning: c.preempt === "running",
      }),
    startsPreemptDelay: ({ context: c }) => c.p.preemptDelayUs > 0 && c.preempt === "idle",
    bothOwners: ({ context: c, event: e }) => isOwner(c) && advertOf(e).priority === OWNER_PRIORITY,
    rankZero: ({ context: c, event: e }) =>
      rankAdvert(advertOf(e), { priority: c.priority, ownIp: c.p.ownIp }) === "zero",
    rankLower: ({ context: c, event: e }) =>
      !(isOwner(c) && advertOf(e).priority === OWNER_PRIORITY) &&
      rankAdvert(advertOf(e), { priority: c.priority, ownIp: c.p.ownIp }) === "lower",
    rankSelf: ({ context: c, event: e }) =>
      rankAdvert(advertOf(e), { priority: c.priority, ownIp: c.p.ownIp }) === "self",
    rankHigher: ({ context: c, event: e }) =>
      rankAdvert(advertOf(e), { priority: c.priority, ownIp: c.p.ownIp }) === "higher",
    trackingFaults: ({ event: e }) => e.type === "TRACKING" && e.faulted,
    trackingClears: ({ context: c, event: e }) =>
      e.type === "TRACKING" && !e.faulted && !e.pending && c.p.syncGroup === undefined,
    trackingReady: ({ event: e }) => e.type === "TRACKING" && !e.pending,
    syncMaster: ({ event: e }) => e.type === "SYNC" && e.state === "MASTER",
    syncBackup: ({ event: e }) => e.type === "SYNC" && e.state === "BACKUP",
    syncBackupClear: ({ context: c, event: e }) => e.type === "SYNC" && e.state === "BACKUP" && !c.ownFault,
    syncFault: ({ event: e }) => e.type === "SYNC" && e.state === "FAULT",
    garpDelayEnabled: ({ context: c }) => c.p.garpMasterDelayUs > 0,
    garpRefreshEnabled: ({ context: c }) => c.p.garpMasterRefreshUs > 0,
  },
});

/** Enqueues a list of commands as custom actions (type = command type, params = the command). */
const emit = (f: Emit) =>
  s.enqueueActions(({ context, event, enqueue }) => {
    for (const c of f(context, event)) enqueue({ type: c.type, params: c } as never);
  });

const applyTracking = s.enqueueActions(({ context, event, enqueue }) => {
  if (event.type !== "TRACKING") return;
  for (const c of priorityChange(context, event)) enqueue({ type: c.type, params: c } as never);
  enqueue.assign({
    deltaSum: event.deltaSum,
    ownFault: event.faulted,
    pending: event.pending,
    priority: effectivePriority(context.basePriority, event.deltaSum),
  });
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
/** From INIT an owner with state MASTER takes over at once (keepalived.md §3.1); otherwise a full timer. */
const initialDown = s.assign(({ context: c }) => ({
  downTimer: isOwner(c) && c.p.wantMaster ? ("now" as const) : ("full" as const),
}));
const removeVipsAtStart = emit((c) => releaseVips(c));
const becomeMasterActions = [ownInterval, s.cancel(PREEMPT_DELAY_ID), emit(becomeMaster)];

const yieldActions = [
  emit((c, e) => {
    const a = advertOf(e);
    const why =
      a.priority === c.priority
        ? `with same priority ${a.priority} but higher IP address than ours`
        : `with higher priority ${a.priority}, ours ${c.priority}`;
    return [
      log(c, `Master received advert from ${a.srcIp} ${why}`),
      ...(c.p.higherPrioSendAdvert ? [advert(c, c.priority)] : []),
    ];
  }),
  recordMaster,
  emit((c) => [
    log(c, "Entering BACKUP STATE"),
    ...releaseVips(c),
    ...notify(c, "BACKUP"),
    ...report(c, "BACKUP"),
  ]),
];
const syncYieldActions = [
  toFullDown,
  emit((c) => [
    log(c, "Entering BACKUP STATE"),
    ...releaseVips(c),
    ...notify(c, "BACKUP"),
    ...report(c, "BACKUP"),
  ]),
];
const stopActions = (fromMaster: boolean) =>
  emit((c) => [
    ...(fromMaster ? [advert(c, 0), log(c, "sent 0 priority", true), ...releaseVips(c)] : []),
    ...notify(c, "STOP"),
    ...report(c, "STOP"),
  ]);
const logIntervalMismatch = emit((c, e) => [
  log(
    c,
    `advertisement interval mismatch mine=${c.p.advertIntervalCs / 100} sec rcv'd=${advertOf(e).advertIntervalCs / 100} sec`,
  ),
]);

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
        TRACKING: { actions: applyTracking },
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
          },
        },
        waiting: {
          on: {
            TRACKING: [
              {
                guard: "trackingFaults",
                target: "#vrrp.fault",
                actions: [applyTracking, emit(enterFault(false, "own"))],
              },
              {
                guard: "trackingReady",
                target: "#vrrp.backup",
                actions: [applyTracking, toFullDown, initialDown, emit(enterBackup())],
              },
              { actions: applyTracking },
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
            target: "backup",
            reenter: true,
            actions: [
              wantReset,
              recordMaster,
              emit((c) => [log(c, "Backup received priority 0 advertisement", true)]),
            ],
          },
          {
            guard: "backupAcceptsWanting",
            target: "backup",
            reenter: true,
            actions: [wantReset, recordMaster],
          },
          { guard: "backupAccepts", target: "backup", reenter: true, actions: recordMaster },
          {
            guard: "startsPreemptDelay",
            target: "backup",
            reenter: true,
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
              emit((c) => [log(c, `start preempt delay (${(c.p.preemptDelayUs / 1e6).toFixed(6)})`, true)]),
            ],
          },
          {
            actions: emit((c, e) => [
              log(
                c,
                `received lower priority (${advertOf(e).priority}) advert from ${advertOf(e).srcIp} - discarding`,
              ),
            ]),
          },
        ],
        PREEMPT_DELAY_EXPIRED: { actions: s.assign({ preempt: "expired" as const }) },
        TRACKING: [
          {
            guard: "trackingFaults",
            target: "fault",
            actions: [applyTracking, emit(enterFault(false, "own"))],
          },
          { actions: applyTracking },
        ],
        SYNC: [
          { guard: "syncMaster", target: "master", actions: becomeMasterActions },
          { guard: "syncFault", target: "fault", actions: emit(enterFault(false, "sync")) },
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
              emit((c, e) => [
                log(
                  c,
                  `CONFIGURATION ERROR: local instance and a remote instance (${advertOf(e).srcIp}) are both configured as address owner, please fix - reducing local priority`,
                ),
              ]),
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
            actions: [applyTracking, emit(enterFault(true, "own"))],
          },
          { actions: applyTracking },
        ],
        SYNC: [
          { guard: "syncFault", target: "fault", actions: emit(enterFault(true, "sync")) },
          { guard: "syncBackup", target: "backup", actions: syncYieldActions },
        ],
        SHUTDOWN: { target: "stop", actions: stopActions(true) },
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
                  actions: emit((c) => [advert(c, c.priority)]),
                },
              },
              on: {
                ADVERT: [
                  { guard: "v2Mismatch", actions: logIntervalMismatch },
                  {
                    guard: "rankZero",
                    target: "waiting",
                    reenter: true,
                    actions: emit((c) => [advert(c, c.priority)]),
                  },
                  {
                    guard: "rankLower",
                    target: "waiting",
                    reenter: true,
                    actions: emit((c, e) => [
                      log(
                        c,
                        `Received advert from ${advertOf(e).srcIp} with lower priority ${advertOf(e).priority}, ours ${c.priority}, forcing new election`,
                      ),
                      ...(c.p.lowerPrioNoAdvert ? [] : [advert(c, c.priority)]),
                      {
                        type: "garp",
                        instance: c.p.name,
                        vips: c.p.vips,
                        repeat: c.p.garpLowerPrioRepeat,
                        reason: "lowerPrio",
                      },
                      ...notify(c, "MASTER_RX_LOWER_PRI"),
                    ]),
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
                    actions: emit((c) => [
                      {
                        type: "garp",
                        instance: c.p.name,
                        vips: c.p.vips,
                        repeat: c.p.garpMasterRepeat,
                        reason: "delay",
                      },
                    ]),
                  },
                  {
                    target: "idle",
                    actions: emit((c) => [
                      {
                        type: "garp",
                        instance: c.p.name,
                        vips: c.p.vips,
                        repeat: c.p.garpMasterRepeat,
                        reason: "delay",
                      },
                    ]),
                  },
                ],
              },
            },
            refresh: {
              after: {
                garpRefresh: {
                  target: "refresh",
                  reenter: true,
                  actions: emit((c) => [
                    { type: "garp", instance: c.p.name, vips: c.p.vips, repeat: 1, reason: "refresh" },
                  ]),
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
            actions: [applyTracking, toFullDown, emit(enterBackup())],
          },
          { guard: "synced", actions: [applyTracking, emit((c) => report(c, "FAULT"))] },
          { actions: applyTracking },
        ],
        SYNC: [
          { guard: "syncBackupClear", target: "backup", actions: [toFullDown, emit(enterBackup())] },
          { guard: "syncFault", actions: [] },
        ],
      },
    },
    stop: { type: "final" },
  },
});
