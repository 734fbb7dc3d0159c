/**
 * The VRRP instance machine (keepalived 2.2.7 semantics, docs/keepalived-reference.md §3). States INIT, BACKUP,
 * MASTER, FAULT and STOP. Timers are delayed raises with our own ids (`INSTANCE_TIMERS`: masterDown
 * in BACKUP; advert, garpDelay, garpRefresh and garpLowerPrio in MASTER; preemptDelay), raised on entry and
 * cancelled on exit, their delays computed from context by timers.ts — no XState-generated `after`
 * ids, so the host's timer table and journal name them. Effects leave as named actions (one per
 * message type, named-actions.ts) whose params are the `Message`s built by instance-commands.ts (which
 * also holds the context and the tracker bookkeeping); setup, delays and the actions used here are in
 * instance-actions.ts, guards in instance-guards.ts. This module is the state chart only. Nothing is
 * performed here: the host interprets every action. Pure.
 *
 * State entry effects live on the transitions, not in `entry`, so that re-entering BACKUP emits
 * nothing (entries only raise timers); an accepted advert restarts the down timer in place
 * (`restartMasterDown`).
 */
import {
  advertActions,
  applyTracking,
  becomeMasterActions,
  ENTER_BACKUP,
  ENTER_FAULT,
  emit,
  forcedFault,
  garpDelayed,
  garpLowerPrioDelayed,
  initialDown,
  logDownTimeout,
  logIntervalMismatch,
  logIntervalUpdate,
  onReceipt,
  PREEMPT_DELAY_ID,
  REPORT,
  recordMaster,
  removeVipsAtStart,
  restartMasterDown,
  SELF_GARP_THEN_BACKUP,
  START_LINES,
  s,
  startTimer,
  stopActions,
  syncYieldActions,
  takeStartTracking,
  toFullDown,
  VIP_DELETED,
  wantReset,
  yieldActions,
} from "./instance-actions.ts";
import {
  configurationError,
  discardLower,
  enterBackup,
  enterFault,
  equalPriorityOwnAddress,
  garp,
  initialInstanceContext,
  leaveFault,
  leaveInit,
  log,
  lowerPriorityAdvert,
  preemptDelayStarted,
  report,
  startLines,
  vipDeleted,
} from "./instance-commands.ts";

export { type InstanceContext, initialInstanceContext } from "./instance-commands.ts";

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
      states: {
        idle: {
          on: {
            // Results before START are taken silently; START tells them (startLines).
            TRACKING: { actions: takeStartTracking },
            START: [
              {
                guard: "pending",
                target: "waiting",
                actions: [...removeVipsAtStart, ...emit(START_LINES, startLines)],
              },
              {
                guard: "faulted",
                target: "#vrrp.fault",
                actions: [
                  ...removeVipsAtStart,
                  ...emit(START_LINES, startLines),
                  ...emit(ENTER_FAULT, enterFault(false, "own", "", "entering FAULT state")),
                ],
              },
              {
                guard: "ownerFastStart",
                target: "#vrrp.backup",
                actions: [
                  ...removeVipsAtStart,
                  ...emit(START_LINES, startLines),
                  s.assign({ downTimer: "now" as const }),
                  ...emit(ENTER_BACKUP, enterBackup(" (init)")),
                ],
              },
              {
                target: "#vrrp.backup",
                actions: [
                  ...removeVipsAtStart,
                  ...emit(START_LINES, startLines),
                  ...emit(ENTER_BACKUP, enterBackup(" (init)")),
                ],
              },
            ],
            // The sync group starts in FAULT (a member starts faulted) and forces this member there.
            SYNC: {
              guard: "syncFault",
              target: "#vrrp.fault",
              actions: [
                ...removeVipsAtStart,
                ...emit(START_LINES, startLines),
                s.assign(({ context: c }) => ({ ownFaultSeen: c.ownFault })),
                ...emit(ENTER_FAULT, enterFault(false, "sync", "", "entering FAULT state")),
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
                actions: [...applyTracking("init"), ...emit(ENTER_FAULT, enterFault(false, "own"))],
              },
              {
                guard: "trackingReady",
                target: "#vrrp.backup",
                actions: [
                  ...applyTracking("init"),
                  toFullDown,
                  initialDown,
                  ...emit(SELF_GARP_THEN_BACKUP, leaveInit),
                ],
              },
              { actions: applyTracking("init") },
            ],
          },
        },
      },
    },
    backup: {
      entry: startTimer("masterDown", "masterDown"),
      exit: s.cancel("masterDown"),
      on: {
        MASTER_DOWN: [
          {
            guard: "synced",
            target: "backup",
            reenter: true,
            actions: [
              ...logDownTimeout,
              s.assign({ wantMaster: true, downTimer: "wait" as const }),
              ...emit(REPORT, (c) => report(c, "BACKUP")),
            ],
          },
          { target: "master", actions: [...logDownTimeout, ...becomeMasterActions] },
        ],
        ADVERT: [
          { guard: "v2Mismatch", actions: logIntervalMismatch },
          {
            guard: "priorityZero",
            actions: [
              ...wantReset,
              recordMaster,
              ...emit(["log"], (c) => [log(c, "Backup received priority 0 advertisement", true)]),
              restartMasterDown,
            ],
          },
          {
            guard: "backupAcceptsWanting",
            actions: [...wantReset, ...logIntervalUpdate, recordMaster, restartMasterDown],
          },
          { guard: "backupAccepts", actions: [...logIntervalUpdate, recordMaster, restartMasterDown] },
          {
            guard: "startsPreemptDelay",
            actions: [
              ...wantReset,
              ...logIntervalUpdate,
              recordMaster,
              s.assign({ preempt: "running" as const }),
              startTimer(PREEMPT_DELAY_ID, "preemptDelay"),
              ...emit(["log"], preemptDelayStarted),
              restartMasterDown,
            ],
          },
          { actions: emit(["log"], discardLower) },
        ],
        PREEMPT_DELAY_EXPIRED: { actions: s.assign({ preempt: "expired" as const }) },
        TRACKING: [
          {
            guard: "trackingFaults",
            target: "fault",
            actions: [...applyTracking("backup"), ...emit(ENTER_FAULT, enterFault(false, "own"))],
          },
          { actions: applyTracking("backup") },
        ],
        SYNC: [
          { guard: "syncMaster", target: "master", actions: becomeMasterActions },
          {
            guard: "syncFault",
            target: "fault",
            actions: [forcedFault, ...emit(ENTER_FAULT, enterFault(false, "sync"))],
          },
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
              ...emit(["log"], configurationError),
              s.assign({ basePriority: 254, priority: 254 }),
              ...yieldActions,
            ],
          },
          { guard: "rankHigher", target: "backup", actions: yieldActions },
        ],
        TRACKING: [
          {
            guard: "trackingFaults",
            target: "fault",
            actions: [...applyTracking("master"), ...emit(ENTER_FAULT, enterFault(true, "own"))],
          },
          { actions: applyTracking("master") },
        ],
        SYNC: [
          {
            guard: "syncFault",
            target: "fault",
            actions: [forcedFault, ...emit(ENTER_FAULT, enterFault(true, "sync"))],
          },
          { guard: "syncBackup", target: "backup", actions: syncYieldActions },
        ],
        SHUTDOWN: { target: "stop", actions: stopActions(true) },
        VIP_DELETED: {
          target: "backup",
          actions: [
            s.assign({ downTimer: "skew" as const, preempt: "idle" as const }),
            ...emit(VIP_DELETED, vipDeleted),
          ],
        },
      },
      states: {
        adverts: {
          initial: "waiting",
          states: {
            /**
             * A valid advert that leaves the instance MASTER re-arms the advert timer (re-entering
             * `waiting`), as keepalived's `vrrp_dispatcher_read` does, unless lower_prio_no_advert:
             * priority 0, lower priority, equal priority from our own address. A v2 interval mismatch
             * is logged and leaves the timer — and datagrams the codec adapter's receive checks drop
             * never reach the machine: a deliberate difference from keepalived, which re-arms on
             * those too, so junk for the VRID cannot silence a MASTER (docs/keepalived-reference.md §3.2).
             */
            waiting: {
              entry: startTimer("advert", "advertInterval"),
              exit: s.cancel("advert"),
              on: {
                ADVERT_TIMER: { target: "waiting", reenter: true, actions: advertActions },
                ADVERT: [
                  { guard: "v2Mismatch", actions: logIntervalMismatch },
                  ...onReceipt("rankZero", advertActions),
                  ...onReceipt(
                    "rankLower",
                    emit(["log", "sendAdvert", "garp", "notify", "fifo"], lowerPriorityAdvert),
                  ),
                  ...onReceipt("rankSelf", emit(["log"], equalPriorityOwnAddress)),
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
              entry: startTimer("garpDelay", "garpMasterDelay"),
              exit: s.cancel("garpDelay"),
              on: {
                GARP_DELAY: [
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
              entry: startTimer("garpRefresh", "garpRefresh"),
              exit: s.cancel("garpRefresh"),
              on: {
                GARP_REFRESH: {
                  target: "refresh",
                  reenter: true,
                  actions: emit(["garp"], (c) => [garp(c, "refresh", c.p.garpMasterRefreshRepeat ?? 1)]),
                },
              },
            },
            idle: {},
          },
        },
        /**
         * keepalived's `vrrp_lower_prio_gratuitous_arp_thread`: `garp_lower_prio_delay` after a
         * lower-priority advert, a second `garp_lower_prio_repeat` burst. keepalived starts one timer
         * per such advert and sends only while its VIPs are set; here one named timer is pending at a
         * time (further lower-priority adverts in the window add no burst) and leaving MASTER cancels it.
         */
        lowerPrioGarp: {
          initial: "idle",
          states: {
            idle: { on: { ADVERT: { guard: "lowerPrioGarpDelayed", target: "pending" } } },
            pending: {
              entry: startTimer("garpLowerPrio", "garpLowerPrioDelay"),
              exit: s.cancel("garpLowerPrio"),
              on: { GARP_LOWER_PRIO: { target: "idle", actions: garpLowerPrioDelayed } },
            },
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
            actions: [...applyTracking("fault"), toFullDown, ...emit(SELF_GARP_THEN_BACKUP, leaveFault)],
          },
          {
            guard: "synced",
            actions: [...applyTracking("fault"), ...emit(REPORT, (c) => report(c, "FAULT"))],
          },
          { actions: applyTracking("fault") },
        ],
        SYNC: [
          {
            guard: "syncBackupClear",
            target: "backup",
            actions: [toFullDown, ...emit(SELF_GARP_THEN_BACKUP, leaveFault)],
          },
          { guard: "syncFault", actions: [] },
        ],
      },
    },
    stop: { type: "final" },
  },
});
