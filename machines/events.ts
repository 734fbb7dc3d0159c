/**
 * The vocabulary between the host and the pure machines: events the machines accept and the
 * messages they emit as named XState actions — effect `Command`s and host-internal `Routing`. Everything here is plain JSON data so it
 * can be journaled and compared byte for byte. Pure types and tiny pure helpers.
 */

/**
 * Version of the machines' behaviour and snapshot layout, recorded in journal headers: bump it when a
 * machine change makes old journals replay differently. `vigil replay` refuses a journal recorded with
 * another value unless `--force`. 4: the LVS checkers' failure lines come from the checker machine,
 * in keepalived's words and at keepalived's moments (a version 3 journal with checker failures logs
 * other lines at other events when replayed); a notify script's exec failure is logged with
 * `severity: "error"`.
 */
export const MACHINE_VERSION = 4;

export type VrrpState = "INIT" | "BACKUP" | "MASTER" | "FAULT" | "STOP";
export type NotifyState =
  | "MASTER"
  | "BACKUP"
  | "FAULT"
  | "STOP"
  | "DELETED"
  | "MASTER_RX_LOWER_PRI"
  | "MASTER_PRIORITY"
  | "BACKUP_PRIORITY";

/**
 * Whether a notify event runs the generic `notify` script too. keepalived 2.2.7 runs it for state
 * changes only: MASTER_RX_LOWER_PRI runs just `notify_master_rx_lower_pri` (plus the FIFO line), and
 * the priority-change events are FIFO lines only (observed against the real binary in
 * test/netns/keepalived-conformance-more.test.ts).
 */
export const runsGenericNotify = (state: NotifyState): boolean =>
  state !== "MASTER_RX_LOWER_PRI" && state !== "MASTER_PRIORITY" && state !== "BACKUP_PRIORITY";

/** Static parameters of one VRRP instance, derived from the validated configuration. */
export interface InstanceParams {
  readonly name: string;
  readonly vrid: number;
  readonly version: 2 | 3;
  readonly family: 4 | 6;
  readonly ifname: string;
  /** Our advert source address, used for the equal-priority tie-break. */
  readonly ownIp: string;
  readonly basePriority: number;
  /** `state MASTER` (or implied by priority 255). Only meaningful with priority 255. */
  readonly wantMaster: boolean;
  readonly nopreempt: boolean;
  readonly preemptDelayUs: number;
  readonly advertIntervalCs: number;
  readonly downTimerAdverts: number;
  readonly vips: readonly string[];
  readonly garpMasterRepeat: number;
  readonly garpMasterDelayUs: number;
  /** 0 = no periodic refresh. */
  readonly garpMasterRefreshUs: number;
  /** `garp_master_refresh_repeat`: GARPs per VIP in each periodic refresh (default 1). */
  readonly garpMasterRefreshRepeat?: number;
  readonly garpLowerPrioRepeat: number;
  /**
   * `garp_lower_prio_delay`: a MASTER that hears a lower priority sends a second
   * `garpLowerPrioRepeat` burst this long after the first (0: none). Absent: 0.
   */
  readonly garpLowerPrioDelayUs?: number;
  readonly lowerPrioNoAdvert: boolean;
  readonly higherPrioSendAdvert: boolean;
  /** Member of a sync group: MASTER / BACKUP / FAULT are decided group-wide. */
  readonly syncGroup?: string;
  /** `notify_priority_changes`: FIFO `MASTER_PRIORITY` / `BACKUP_PRIORITY` lines on priority changes. */
  readonly notifyPriorityChanges?: boolean;
  /** Adverts go to unicast peers: leaving FAULT also GARPs `ownIp` to refresh the peers' ARP entry. */
  readonly unicast?: boolean;
  /**
   * `virtual_routes` and `virtual_rules`, each named by keepalived's own rendering of it (the
   * configuration's `text`): added after the VIPs on becoming MASTER, removed before them. Absent: none.
   */
  readonly routes?: readonly string[];
  readonly rules?: readonly string[];
}

/** A validated advert as the instance sees it (the codec and validation ran at the edge). */
export interface AdvertEvent {
  readonly type: "ADVERT";
  readonly priority: number;
  readonly srcIp: string;
  /** Max_Adver_Int carried by the advert, in centiseconds (v2 seconds × 100). */
  readonly advertIntervalCs: number;
}

/** Tracker summary for the instance (see priority.ts `summarizeTracking`). */
export interface TrackingEvent {
  readonly type: "TRACKING";
  readonly faulted: boolean;
  readonly pending: boolean;
  readonly deltaSum: number;
  /**
   * Per tracked file, its status `value × weight` (reverse: negated) clamped to −254..253, where −254
   * means the file holds the instance in FAULT (docs/keepalived-reference.md §3.3). Absent = no tracked files.
   */
  readonly fileStatus?: Readonly<Record<string, number>>;
  /** keepalived's start-up lines (after `(NAME)`) of the trackers holding the instance in FAULT. */
  readonly faults?: readonly string[];
}

/** A sync-group decision forced onto a member. */
export interface SyncEvent {
  readonly type: "SYNC";
  readonly state: "MASTER" | "BACKUP" | "FAULT";
}

export type InstanceEvent =
  | { readonly type: "START" }
  | { readonly type: "SHUTDOWN" }
  | AdvertEvent
  | TrackingEvent
  | SyncEvent
  | { readonly type: "PREEMPT_DELAY_EXPIRED" }
  /** The instance's own named timers (vrrp-instance.machine.ts `INSTANCE_TIMERS`). */
  | { readonly type: "MASTER_DOWN" }
  | { readonly type: "ADVERT_TIMER" }
  | { readonly type: "GARP_DELAY" }
  | { readonly type: "GARP_REFRESH" }
  | { readonly type: "GARP_LOWER_PRIO" }
  /** One of the MASTER's tracked VIPs was deleted from the host by someone else (netlink RTM_DELADDR). */
  | { readonly type: "VIP_DELETED" };

/** Commands: effects leaving a machine as data. `instance` names the emitter. */
export type Command =
  | {
      readonly type: "sendAdvert";
      readonly instance: string;
      readonly priority: number;
      readonly advertIntervalCs: number;
    }
  | { readonly type: "addVips"; readonly instance: string; readonly vips: readonly string[] }
  | { readonly type: "removeVips"; readonly instance: string; readonly vips: readonly string[] }
  | {
      /** Routes then rules, named as in `InstanceParams.routes` / `rules`. */
      readonly type: "addRoutes";
      readonly instance: string;
      readonly routes: readonly string[];
      readonly rules: readonly string[];
    }
  | {
      /** Rules then routes (keepalived removes them in that order). */
      readonly type: "removeRoutes";
      readonly instance: string;
      readonly routes: readonly string[];
      readonly rules: readonly string[];
    }
  | {
      readonly type: "garp";
      readonly instance: string;
      readonly vips: readonly string[];
      readonly repeat: number;
      readonly reason: "master" | "delay" | "refresh" | "lowerPrio" | "lowerPrioDelay" | "ownAddress";
    }
  | {
      readonly type: "notify";
      readonly scope: "INSTANCE" | "GROUP";
      readonly name: string;
      readonly state: NotifyState;
      readonly priority: number;
    }
  | { readonly type: "fifo"; readonly line: string }
  | {
      readonly type: "log";
      readonly line: string;
      readonly detail?: true;
      /** Given only where keepalived logs the line above LOG_INFO. */
      readonly severity?: LogSeverity;
    };

/** A log line's severity beyond info: keepalived's LOG_WARNING, or LOG_ERR and above. */
export type LogSeverity = "warn" | "error";

/**
 * Host-internal routing messages: not effects, but messages from one machine to another that the
 * host routes before any effect dispatch (a member's report to its sync group, the group's decision
 * to a member, a tracker's new verdict to the instances that track it, a shift of a pending timer).
 */
export type Routing =
  | {
      readonly type: "memberReport";
      readonly group: string;
      readonly instance: string;
      readonly state: VrrpState;
      readonly wantMaster: boolean;
      readonly faulted: boolean;
    }
  | { readonly type: "syncMember"; readonly instance: string; readonly state: "MASTER" | "BACKUP" | "FAULT" }
  | {
      readonly type: "trackerChanged";
      readonly tracker: string;
      readonly ok: boolean;
      /** A tracked file's new value (file trackers only). */
      readonly value?: number;
    }
  | {
      /** Moves a pending timer of `instance` by `deltaUs` (negative = earlier; never before now). */
      readonly type: "shiftTimer";
      readonly instance: string;
      readonly timer: string;
      readonly deltaUs: number;
    };

export type CommandType = Command["type"];
export type RoutingType = Routing["type"];
/** Everything a machine emits: effect commands and routing messages. */
export type Message = Command | Routing;
export type MessageType = Message["type"];

/** Every effect command type. */
export const COMMAND_TYPES: readonly CommandType[] = [
  "sendAdvert",
  "addVips",
  "removeVips",
  "addRoutes",
  "removeRoutes",
  "garp",
  "notify",
  "fifo",
  "log",
];
/** Every routing message type. */
export const ROUTING_TYPES: readonly RoutingType[] = [
  "memberReport",
  "syncMember",
  "trackerChanged",
  "shiftTimer",
];
/** Every message type: each is a named action of the machines that emit it (named-actions.ts). */
export const MESSAGE_TYPES: readonly MessageType[] = [...COMMAND_TYPES, ...ROUTING_TYPES];
export const isRouting = (m: Message): m is Routing =>
  m.type === "memberReport" ||
  m.type === "syncMember" ||
  m.type === "trackerChanged" ||
  m.type === "shiftTimer";

/** keepalived's FIFO line: `INSTANCE "VI_1" MASTER 150`. */
export const fifoLine = (
  scope: "INSTANCE" | "GROUP",
  name: string,
  state: NotifyState,
  priority: number,
): string => `${scope} "${name}" ${state} ${priority}`;
