/**
 * The guards of the VRRP instance machine, by name: predicates over (context, event) that decide
 * which transition an advert, tracker summary, sync decision or timer takes (docs/keepalived-reference.md §3). The
 * election rules themselves live in election.ts; this module only binds them to the machine's context.
 * Pure.
 */
import { backupAccepts, rankAdvert } from "./election.ts";
import type { InstanceEvent } from "./events.ts";
import { advertOf, type InstanceContext, isOwner, v2Mismatch } from "./instance-commands.ts";
import { OWNER_PRIORITY } from "./priority.ts";
import type { MemberStart } from "./sync-group.machine.ts";

type Args = { readonly context: InstanceContext; readonly event: InstanceEvent };
type Guard = (args: Args) => boolean;

const accepts = (c: InstanceContext, e: InstanceEvent): boolean =>
  backupAccepts(advertOf(e).priority, {
    priority: c.priority,
    nopreempt: c.p.nopreempt,
    preemptDelayRunning: c.preempt === "running",
  });
const rank = (c: InstanceContext, e: InstanceEvent) =>
  rankAdvert(advertOf(e), { priority: c.priority, ownIp: c.p.ownIp });
/** keepalived: both sides at 255 from another address → CONFIGURATION ERROR and local 254. */
const bothOwners = (c: InstanceContext, e: InstanceEvent): boolean =>
  isOwner(c) && advertOf(e).priority === OWNER_PRIORITY && advertOf(e).srcIp !== c.p.ownIp;

/**
 * How an instance in INIT will start on START, from the tracker summary it holds (the same facts the
 * `pending` and `faulted` guards read): its sync group decides its own start from these.
 */
export const startDisposition = (c: InstanceContext): MemberStart =>
  c.pending ? "waiting" : c.ownFault ? "fault" : "backup";

export const instanceGuards = {
  pending: ({ context: c }) => startDisposition(c) === "waiting",
  faulted: ({ context: c }) => startDisposition(c) === "fault",
  ownerFastStart: ({ context: c }) => isOwner(c) && c.p.wantMaster,
  synced: ({ context: c }) => c.p.syncGroup !== undefined,
  v2Mismatch: ({ context: c, event: e }) => v2Mismatch(c, e),
  priorityZero: ({ event: e }) => advertOf(e).priority === 0,
  backupAccepts: ({ context: c, event: e }) => accepts(c, e),
  backupAcceptsWanting: ({ context: c, event: e }) => c.wantMaster && accepts(c, e),
  startsPreemptDelay: ({ context: c }) => c.p.preemptDelayUs > 0 && c.preempt === "idle",
  bothOwners: ({ context: c, event: e }) => bothOwners(c, e),
  /**
   * A MASTER re-arms its advert timer after a valid advert that leaves it MASTER, unless
   * lower_prio_no_advert (keepalived's `vrrp_dispatcher_read`; instance-actions.ts `onReceipt`).
   */
  rearmsOnReceipt: ({ context: c }) => !c.p.lowerPrioNoAdvert,
  rankZero: ({ context: c, event: e }) => rank(c, e) === "zero",
  rankLower: ({ context: c, event: e }) => !bothOwners(c, e) && rank(c, e) === "lower",
  rankSelf: ({ context: c, event: e }) => rank(c, e) === "self",
  rankHigher: ({ context: c, event: e }) => rank(c, e) === "higher",
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
  /**
   * A MASTER's lower-priority advert (the advert region's `rankLower` branch: not a v2 interval
   * mismatch, not a priority 0) with a delayed second GARP burst configured (keepalived arms it only
   * when `garp_lower_prio_repeat` and `garp_lower_prio_delay` are both set).
   */
  lowerPrioGarpDelayed: ({ context: c, event: e }) =>
    c.p.garpLowerPrioRepeat > 0 &&
    (c.p.garpLowerPrioDelayUs ?? 0) > 0 &&
    !v2Mismatch(c, e) &&
    !bothOwners(c, e) &&
    rank(c, e) === "lower",
} satisfies Record<string, Guard>;
