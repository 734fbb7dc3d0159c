/**
 * The instance machine's context, its commands (what each transition emits, in keepalived 2.2.7's
 * order) and its tracker bookkeeping, as pure functions of context and event; also the instance's
 * named timers. vrrp-instance.machine.ts declares which named actions each transition carries. Pure.
 */
import type {
  AdvertEvent,
  Command,
  InstanceEvent,
  InstanceParams,
  Message,
  NotifyState,
  TrackingEvent,
} from "./events.ts";
import { fifoLine } from "./events.ts";
import { effectivePriority, FILE_FAULT_STATUS, OWNER_PRIORITY } from "./priority.ts";
import { type DownTimerKind, skewTimeUs } from "./timers.ts";

export interface InstanceContext {
  readonly p: InstanceParams;
  /** Base priority; drops from 255 to 254 on the two-owners CONFIGURATION ERROR. */
  readonly basePriority: number;
  readonly priority: number;
  readonly deltaSum: number;
  readonly ownFault: boolean;
  readonly pending: boolean;
  readonly masterAdverIntervalCs: number;
  readonly masterPriority: number;
  readonly masterIp: string;
  /** How the next BACKUP down timer is computed: full interval, skew only (priority 0), or at once (owner). */
  readonly downTimer: DownTimerKind;
  readonly preempt: "idle" | "running" | "expired";
  /** Sync-group member whose down timer expired: wants MASTER, waits for the group. */
  readonly wantMaster: boolean;
  /** The instance's own trackers faulted it during the current FAULT (not only the sync group). */
  readonly ownFaultSeen: boolean;
  /** Last status of each tracked file (priority.ts `fileStatus`; −254 = FAULT). */
  readonly fileStatus: Readonly<Record<string, number>>;
  /** Before START: keepalived's start-up lines of the trackers holding the instance in FAULT. */
  readonly startFaults: readonly string[];
}

export const initialInstanceContext = (p: InstanceParams): InstanceContext => ({
  p,
  basePriority: p.basePriority,
  priority: p.basePriority,
  deltaSum: 0,
  ownFault: false,
  pending: false,
  masterAdverIntervalCs: p.advertIntervalCs,
  masterPriority: 0,
  masterIp: "",
  downTimer: "full",
  preempt: "idle",
  wantMaster: false,
  ownFaultSeen: false,
  fileStatus: {},
  startFaults: [],
});

export type Ctx = InstanceContext;
export type Emit = (c: Ctx, e: InstanceEvent) => Message[];
export const advertOf = (e: InstanceEvent): AdvertEvent => e as AdvertEvent;
export const tag = (c: Ctx): string => `(${c.p.name})`;
export const isOwner = (c: Ctx): boolean => c.basePriority === OWNER_PRIORITY;
export const log = (c: Ctx, text: string, detail?: true): Command =>
  detail ? { type: "log", line: `${tag(c)} ${text}`, detail } : { type: "log", line: `${tag(c)} ${text}` };
export const notify = (c: Ctx, state: NotifyState): Command[] => [
  { type: "notify", scope: "INSTANCE", name: c.p.name, state, priority: c.priority },
  { type: "fifo", line: fifoLine("INSTANCE", c.p.name, state, c.priority) },
];
export const advert = (c: Ctx, priority: number): Command => ({
  type: "sendAdvert",
  instance: c.p.name,
  priority,
  advertIntervalCs: c.p.advertIntervalCs,
});
export const report = (c: Ctx, state: "BACKUP" | "MASTER" | "FAULT" | "INIT" | "STOP"): Message[] =>
  c.p.syncGroup === undefined
    ? []
    : [
        {
          type: "memberReport",
          group: c.p.syncGroup,
          instance: c.p.name,
          state,
          wantMaster: c.wantMaster,
          faulted: c.ownFault,
        },
      ];
export const v2Mismatch = (c: Ctx, e: InstanceEvent): boolean =>
  c.p.version === 2 && advertOf(e).advertIntervalCs !== c.p.advertIntervalCs;

/** Commands of entering BACKUP from another state. */
export const enterBackup =
  (suffix = ""): Emit =>
  (c) => [log(c, `Entering BACKUP STATE${suffix}`), ...notify(c, "BACKUP"), ...report(c, "BACKUP")];

/**
 * keepalived's try_up_instance: in unicast mode, an instance coming up (its own FAULT cleared, or its
 * weight-0 trackers' first results in) first sends one gratuitous ARP / NA for its own source address,
 * so that the peers learn it before they need to send it adverts (docs/keepalived-reference.md §3.4).
 */
const unicastSelfGarp = (c: Ctx): Command[] =>
  c.p.unicast === true
    ? [
        {
          type: "log",
          line: `${c.p.name}: sending gratuitous ${c.p.family === 4 ? "ARP" : "NA"} for ${c.p.ownIp}`,
          detail: true,
        },
        { type: "garp", instance: c.p.name, vips: [c.p.ownIp], repeat: 1, reason: "ownAddress" },
      ]
    : [];

/** Leaving FAULT → BACKUP (the caller sets the full down timer); forced-FAULT members send no GARP. */
export const leaveFault: Emit = (c, e) => [
  ...(c.ownFaultSeen ? unicastSelfGarp(c) : []),
  ...enterBackup()(c, e),
];

/** Leaving INIT once the weight-0 trackers have reported (keepalived's try_up_instance too). */
export const leaveInit: Emit = (c, e) => [...unicastSelfGarp(c), ...enterBackup()(c, e)];

/** docs/keepalived-reference.md §3.7: advert, VIPs, GARP burst, notify. */
export const becomeMaster: Emit = (c) => [
  log(c, "Entering MASTER STATE"),
  // A VRRPv3 BACKUP that learned its master's interval advertises at its own again (vrrp_state_become_master).
  ...(c.p.version === 3 && c.masterAdverIntervalCs !== c.p.advertIntervalCs
    ? [
        log(
          c,
          `changing advert interval from ${c.masterAdverIntervalCs * 10}ms to locally configured ${c.p.advertIntervalCs * 10}ms`,
          true,
        ),
      ]
    : []),
  advert(c, c.priority),
  log(c, "setting VIPs.", true),
  { type: "addVips", instance: c.p.name, vips: c.p.vips },
  ...setRoutes(c),
  garp(c, "master", c.p.garpMasterRepeat),
  ...notify(c, "MASTER"),
  ...report(c, "MASTER"),
];

/** After the VIPs: the virtual routes, then the virtual rules (vrrp_state_become_master). */
const setRoutes = (c: Ctx): Command[] => {
  const routes = c.p.routes ?? [];
  const rules = c.p.rules ?? [];
  if (routes.length === 0 && rules.length === 0) return [];
  return [
    ...(routes.length > 0 ? [log(c, "setting Virtual Routes", true)] : []),
    ...(rules.length > 0 ? [log(c, "setting Virtual Rules", true)] : []),
    { type: "addRoutes", instance: c.p.name, routes, rules },
  ];
};

/** Leaving MASTER: the virtual rules, the virtual routes, then the VIPs (vrrp_restore_interface). */
export const releaseVips = (c: Ctx): Command[] => {
  const routes = c.p.routes ?? [];
  const rules = c.p.rules ?? [];
  return [
    ...(rules.length > 0 ? [log(c, "removing Virtual Rules", true)] : []),
    ...(routes.length > 0 ? [log(c, "removing Virtual Routes", true)] : []),
    ...(routes.length > 0 || rules.length > 0
      ? [{ type: "removeRoutes", instance: c.p.name, routes, rules } as const]
      : []),
    log(c, "removing VIPs.", true),
    { type: "removeVips", instance: c.p.name, vips: c.p.vips },
  ];
};

/**
 * keepalived's start-up lines (vrrp_complete_init, before the state is entered): the trackers holding
 * the instance in FAULT, then its effective priority if the trackers moved it from the base.
 * Tracking results before START are taken silently and told here once, as keepalived does.
 */
export const startLines: Emit = (c) => [
  ...c.startFaults.map((f): Command => ({ type: "log", line: `${tag(c)}${f}` })),
  ...(c.priority === c.basePriority
    ? []
    : [
        log(c, `Changing effective priority from ${c.basePriority} to ${c.priority}`),
        ...(c.p.notifyPriorityChanges === true
          ? [{ type: "fifo", line: fifoLine("INSTANCE", c.p.name, "BACKUP_PRIORITY", c.priority) } as Command]
          : []),
      ]),
];

/**
 * Entering FAULT; from MASTER also priority 0 (twice for an own tracker) and VIP removal. At start-up
 * keepalived words it `(NAME) entering FAULT state` (`text`).
 */
export const enterFault =
  (fromMaster: boolean, cause: "own" | "sync", suffix = "", text = "Entering FAULT STATE"): Emit =>
  (c) => [
    log(c, `${text}${suffix}`),
    ...(fromMaster
      ? [
          advert(c, 0),
          ...(cause === "own" ? [advert(c, 0)] : []),
          log(c, "sent 0 priority", true),
          ...releaseVips(c),
        ]
      : []),
    ...notify(c, "FAULT"),
    ...report(c, "FAULT"),
  ];

/**
 * The instance machine's named timers: id of the delayed raise → the event it raises. The host's
 * timer table and journal know timers by these ids only (never by an XState-generated id).
 */
export const INSTANCE_TIMERS = {
  masterDown: "MASTER_DOWN",
  advert: "ADVERT_TIMER",
  garpDelay: "GARP_DELAY",
  garpRefresh: "GARP_REFRESH",
  garpLowerPrio: "GARP_LOWER_PRIO",
  preemptDelay: "PREEMPT_DELAY_EXPIRED",
} as const;
export type InstanceTimerId = keyof typeof INSTANCE_TIMERS;

/** The BACKUP down timer (raised on entering BACKUP, restarted by every accepted advert). */
export const MASTER_DOWN_TIMER_ID: InstanceTimerId = "masterDown";

export type TrackingState = "init" | "backup" | "master" | "fault";

/** What a TRACKING event does to an instance: commands in keepalived's order and the context patch. */
export interface TrackingUpdate {
  readonly commands: Message[];
  readonly patch: Partial<InstanceContext>;
}

const skewOf = (c: Ctx, priority: number): number =>
  skewTimeUs({ version: c.p.version, priority, masterAdverIntervalCs: c.masterAdverIntervalCs });

/**
 * keepalived's tracker bookkeeping (vrrp_track.c, docs/keepalived-reference.md §3.2–3.3):
 * - a tracked file entering FAULT logs `(VI_E): tracked file tf now FAULT state` (detail) and leaves
 *   the effective priority as it was (keepalived drops the file's share of the total without
 *   recomputing, so the FAULT notify still shows it); leaving FAULT logs `… leaving FAULT state` and
 *   sets the priority directly (`Setting effective priority to N` when the file's status is non-zero);
 * - any other change of the effective priority logs `Changing effective priority from A to B`, shifts
 *   a pending BACKUP down timer by the change in skew (`shiftTimer`), and with
 *   `notify_priority_changes` writes the FIFO line `MASTER_PRIORITY` (as MASTER) or `BACKUP_PRIORITY`.
 */
export const trackingUpdate = (c: Ctx, e: TrackingEvent, state: TrackingState): TrackingUpdate => {
  const files = e.fileStatus ?? {};
  const wasFault = (f: string): boolean => c.fileStatus[f] === FILE_FAULT_STATUS;
  const entered = Object.keys(files).filter((f) => files[f] === FILE_FAULT_STATUS && !wasFault(f));
  const left = Object.keys(files).filter((f) => files[f] !== FILE_FAULT_STATUS && wasFault(f));
  const next = effectivePriority(c.basePriority, e.deltaSum);
  const base = {
    deltaSum: e.deltaSum,
    ownFault: e.faulted,
    ownFaultSeen: c.ownFaultSeen || e.faulted,
    pending: e.pending,
    fileStatus: files,
  };
  const commands: Message[] = [];
  for (const f of entered) commands.push(fileLog(c, f, "now FAULT state"));
  if (entered.length > 0) return { commands, patch: base };
  for (const f of left) {
    commands.push(fileLog(c, f, "leaving FAULT state"));
    if (files[f] !== 0 && !isOwner(c)) commands.push(log(c, `Setting effective priority to ${next}`, true));
  }
  if (left.length > 0) return { commands, patch: { ...base, priority: next } };
  if (next === c.priority) return { commands, patch: base };
  commands.push(log(c, `Changing effective priority from ${c.priority} to ${next}`));
  if (state === "backup") {
    const deltaUs = skewOf(c, next) - skewOf(c, c.priority);
    if (deltaUs !== 0)
      commands.push({ type: "shiftTimer", instance: c.p.name, timer: MASTER_DOWN_TIMER_ID, deltaUs });
  }
  if (c.p.notifyPriorityChanges === true) {
    const kind = state === "master" ? "MASTER_PRIORITY" : "BACKUP_PRIORITY";
    commands.push({ type: "fifo", line: fifoLine("INSTANCE", c.p.name, kind, next) });
  }
  return { commands, patch: { ...base, priority: next } };
};

/** keepalived writes the tracked-file lines as `(VI_E): tracked file …` (with a colon; -D only). */
const fileLog = (c: Ctx, file: string, what: string): Command => ({
  type: "log",
  line: `${tag(c)}: tracked file ${file} ${what}`,
  detail: true,
});

// ---- transition commands of the instance machine (docs/keepalived-reference.md §3.2, §3.7, §3.10) ----------

/** A MASTER yielding to a higher advert: keepalived's line, then one advert if higher_prio_send_advert. */
export const yieldToAdvert: Emit = (c, e) => {
  const a = advertOf(e);
  const why =
    a.priority === c.priority
      ? `with same priority ${a.priority} but higher IP address than ours`
      : `with higher priority ${a.priority}, ours ${c.priority}`;
  return [
    log(c, `Master received advert from ${a.srcIp} ${why}`),
    ...(c.p.higherPrioSendAdvert ? [advert(c, c.priority)] : []),
  ];
};

/**
 * A VRRPv3 instance taking a master's advert learns its interval (RFC 5798 Master_Adver_Interval;
 * keepalived's `update_master_adver_int`): the detail line when it changes. Not for priority 0.
 */
export const intervalUpdate: Emit = (c, e) => {
  const a = advertOf(e);
  return c.p.version === 3 && a.priority !== 0 && a.advertIntervalCs !== c.masterAdverIntervalCs
    ? [
        log(
          c,
          `advertisement interval updated from ${c.masterAdverIntervalCs * 10}ms to ${a.advertIntervalCs * 10}ms by master`,
          true,
        ),
      ]
    : [];
};

/** Leaving MASTER for BACKUP: VIPs removed, then the BACKUP notify. */
export const leaveMaster: Emit = (c) => [
  log(c, "Entering BACKUP STATE"),
  ...releaseVips(c),
  ...notify(c, "BACKUP"),
  ...report(c, "BACKUP"),
];

/**
 * A tracked VIP deleted under a MASTER (keepalived_netlink.c `set_vrrp_backup` →
 * `vrrp_state_leave_master(vrrp, true)`): BACKUP, priority 0 advert, VIPs removed, BACKUP notify; the
 * caller sets a skew-time down timer so that the instance takes over again quickly.
 */
export const vipDeleted: Emit = (c) => [
  log(c, "Entering BACKUP STATE"),
  advert(c, 0),
  log(c, "sent 0 priority", true),
  ...releaseVips(c),
  ...notify(c, "BACKUP"),
  ...report(c, "BACKUP"),
];

/** Shutdown: a MASTER sends priority 0 and removes its VIPs; everyone notifies STOP. */
export const stopCommands =
  (fromMaster: boolean): Emit =>
  (c) => [
    ...(fromMaster ? [advert(c, 0), log(c, "sent 0 priority", true), ...releaseVips(c)] : []),
    ...notify(c, "STOP"),
    ...report(c, "STOP"),
  ];

/** v2: an advert with another interval is dropped with this line. */
export const intervalMismatch: Emit = (c, e) => [
  log(
    c,
    `advertisement interval mismatch mine=${c.p.advertIntervalCs / 100} sec rcv'd=${advertOf(e).advertIntervalCs / 100} sec`,
  ),
];

/** A MASTER hears its own priority from its own address (keepalived 2.2.7's exact line). */
export const equalPriorityOwnAddress: Emit = (c) => [
  log(c, "WARNING - equal priority advert received from remote host with our IP address."),
];

/** Both sides at 255 (keepalived 2.2.7's exact line; the local priority then drops to 254). */
export const configurationError: Emit = (c) => [
  log(
    c,
    "CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority",
  ),
];

/** A MASTER hearing a lower priority: re-advertise (unless lower_prio_no_advert), GARP, MASTER_RX_LOWER_PRI. */
export const lowerPriorityAdvert: Emit = (c, e) => [
  log(
    c,
    `Received advert from ${advertOf(e).srcIp} with lower priority ${advertOf(e).priority}, ours ${c.priority}${c.p.lowerPrioNoAdvert ? "" : ", forcing new election"}`,
  ),
  ...(c.p.lowerPrioNoAdvert ? [] : [advert(c, c.priority)]),
  garp(c, "lowerPrio", c.p.garpLowerPrioRepeat),
  ...notify(c, "MASTER_RX_LOWER_PRI"),
];

/** A preempting BACKUP discards a lower-priority advert (and keeps its timer running). */
export const discardLower: Emit = (c, e) => [
  log(c, `received lower priority (${advertOf(e).priority}) advert from ${advertOf(e).srcIp} - discarding`),
];

export const preemptDelayStarted: Emit = (c) => [
  log(c, `start preempt delay (${(c.p.preemptDelayUs / 1e6).toFixed(6)})`, true),
];

/** One GARP command over the instance's VIPs. */
export const garp = (
  c: Ctx,
  reason: "master" | "delay" | "refresh" | "lowerPrio" | "lowerPrioDelay",
  repeat: number,
): Command => ({ type: "garp", instance: c.p.name, vips: c.p.vips, repeat, reason });

/** An advert at the current effective priority. */
export const advertNow: Emit = (c) => [advert(c, c.priority)];
