/**
 * How a node applies a `reload` input (SIGHUP with a configuration that passed validation), in
 * keepalived 2.2.7's order (vrrp_daemon.c `reload_vrrp_thread`, vrrp.c `clear_diff_vrrp`,
 * `restore_vrrp_state`, vrrp_scheduler.c `vrrp_init_state`):
 * 1. `Reloading`; the static rules, routes and addresses the new configuration dropped or changed
 *    are removed;
 * 2. each removed instance (reload.ts `planReload`): a MASTER sends priority 0 and deletes its
 *    virtual routes and rules, then its VIPs;
 *    then, unless it was in FAULT (or INIT), it is notified FAULT — DELETED with `notify_deleted`;
 * 3. each kept MASTER deletes the virtual rules and routes, then the VIPs, the new configuration
 *    dropped or changed (the others are untouched);
 * 4. the node's parts are rebuilt from the new spec with the kept state (reload.ts `carryState`):
 *    machine state, tracker values and counters survive (timers too, until step 7), no notify;
 * 5. scripts kept by name log keepalived's `considered successful|unsuccessful on reload`;
 * 6. each kept instance gets its TRACKING summary under the new configuration: a changed priority or
 *    weight takes effect as a tracker change would (`Changing effective priority`, BACKUP's down
 *    timer shifted by the change in skew; a MASTER keeps MASTER until an advert says otherwise);
 * 7. timers restart as keepalived's `vrrp_init_state` / `vrrp_init_sands` restart them: each kept
 *    BACKUP gets a full down timer from the reload (3 × the master's interval + skew at the new
 *    priority); each kept MASTER adds the new VIPs and, if it added any, sends the GARP burst over
 *    all its addresses (as keepalived does), adds every virtual route again and the new virtual
 *    rules, then advertises at once and re-arms its advert timer;
 * 8. new instances start as at start-up (TRACKING, new groups START, then START); the new static
 *    addresses, routes and rules are added; `Reload complete`.
 * LVS virtual servers (checkers.ts): before step 4, those removed or changed stop (their services
 * leave IPVS); unchanged ones keep their checker state and timers; new and changed ones are started
 * by the host afterwards with a `check` START input, as at start-up.
 * Deterministic (a function of the node's state and the input); not pure (it drives the node).
 */
import { fifoLine, type Message } from "../../machines/events.ts";
import {
  INSTANCE_TIMERS,
  type InstanceTimerId,
  MASTER_DOWN_TIMER_ID,
} from "../../machines/instance-commands.ts";
import type { SyncGroupEvent } from "../../machines/sync-group.machine.ts";
import { csToUs, downTimerUs } from "../../machines/timers.ts";
import type { Actor } from "./actor-registry.ts";
import { checkerActorId } from "./checkers.ts";
import type { NodeState } from "./checkpoint.ts";
import { topState } from "./machine-driver.ts";
import type { NodeParts } from "./node-parts.ts";
import { addressDiff, carryState, namesAny, planReload, routeDiff, vipDiff } from "./reload.ts";
import { configFaultTracker, type NodeSpec, staticNames } from "./spec.ts";

/** What applying a reload needs from the node (node.ts). */
export interface ReloadHost {
  /** The node's current parts (the new ones after `rebuild`). */
  parts(): NodeParts;
  emit(m: Message): void;
  send(actor: Actor, event: { readonly type: string }): void;
  save(): NodeState;
  rebuild(spec: NodeSpec, configHash: string, carried: NodeState): void;
  /** Steps the checkers of virtual server `vs` at the reload's time (checkers.ts). */
  check(vs: string, event: { readonly type: "STOP" }): void;
}

const log = (line: string, detail?: true): Message =>
  detail ? { type: "log", line, detail } : { type: "log", line };

export const applyReload = (h: ReloadHost, next: NodeSpec, configHash: string): void => {
  const old = h.parts().spec;
  const before = h.parts().actors;
  const stateOf = (id: string): string => {
    const a = before.get(id);
    return a === undefined ? "UNKNOWN" : topState(a.snapshot.value);
  };
  const plan = planReload(old, next);
  h.emit(log("Reloading"));
  // keepalived's clear_diff_static_rules / _routes / _addresses first; the new ones are added at the end.
  const statics = routeDiff(staticNames(old), staticNames(next));
  if (namesAny(statics.removed)) h.emit({ type: "removeRoutes", instance: "", ...statics.removed });
  const addresses = addressDiff(old.staticAddresses ?? [], next.staticAddresses ?? []);
  if (addresses.removed.length > 0) h.emit({ type: "removeVips", instance: "", vips: addresses.removed });
  for (const o of plan.removed) {
    const name = o.params.name;
    const a = before.instance(name);
    if (a === undefined) continue;
    const state = topState(a.snapshot.value);
    const priority: number = a.snapshot.context.priority;
    if (state === "MASTER") {
      h.emit({
        type: "sendAdvert",
        instance: name,
        priority: 0,
        advertIntervalCs: o.params.advertIntervalCs,
      });
      h.emit(log(`(${name}) sent 0 priority`, true));
      const routes = o.params.routes ?? [];
      const rules = o.params.rules ?? [];
      if (routes.length > 0 || rules.length > 0)
        h.emit({ type: "removeRoutes", instance: name, routes, rules });
      h.emit(log(`(${name}) removing VIPs.`, true));
      h.emit({ type: "removeVips", instance: name, vips: o.params.vips });
    }
    if (state === "MASTER" || state === "BACKUP" || (o.notifyDeleted === true && state === "FAULT")) {
      const as = o.notifyDeleted === true ? "DELETED" : "FAULT";
      h.emit({ type: "notify", scope: "INSTANCE", name, state: as, priority });
      h.emit({ type: "fifo", line: fifoLine("INSTANCE", name, as, priority) });
    }
  }
  const masters = new Set(
    plan.kept.filter((k) => stateOf(`instance:${k.old.params.name}`) === "MASTER").map((k) => k.next),
  );
  for (const k of plan.kept) {
    const r = routeDiff(k.old.params, k.next.params);
    if (masters.has(k.next) && namesAny(r.removed))
      h.emit({ type: "removeRoutes", instance: k.old.params.name, ...r.removed });
    const gone = vipDiff(k.old, k.next).removed;
    if (masters.has(k.next) && gone.length > 0)
      h.emit({ type: "removeVips", instance: k.old.params.name, vips: gone });
  }
  // LVS: a virtual server whose spec changed or that is gone stops (keepalived removes it from IPVS);
  // an unchanged one keeps its state and timers; new and changed ones start idle, and the host
  // starts them with a journaled `check` START input (its warmup draws) after this reload.
  const lvs = h.parts().checkers.carryTo(next.virtualServers ?? []);
  for (const vs of lvs.stop) h.check(vs, { type: "STOP" });
  const savedState = h.save();
  const carried = carryState(savedState, old, next, plan, stateOf);
  const kept = new Set(Object.keys(lvs.keep).map(checkerActorId));
  h.rebuild(next, configHash, {
    ...carried,
    timers: {
      armSeq: carried.timers.armSeq,
      timers: [...carried.timers.timers, ...savedState.timers.timers.filter((t) => kept.has(t.actor))],
    },
    checkers: lvs.keep,
  });
  const { actors, tracking, timers } = h.parts();
  const saved = tracking.save().ok;
  for (const t of next.trackers) {
    const was = old.trackers.find((x) => x.name === t.name);
    const ok = saved[t.name];
    if (
      t.kind !== "script" ||
      was?.kind !== "script" ||
      t.name.startsWith(configFaultTracker("")) ||
      ok == null
    )
      continue;
    h.emit(log(`VRRP_Script(${t.name}) considered ${ok ? "successful" : "unsuccessful"} on reload`));
  }
  for (const k of plan.kept) {
    const a = actors.instance(k.next.params.name);
    if (a !== undefined) h.send(a, tracking.trackingEvent(a.name));
  }
  for (const k of plan.kept) {
    const a = actors.instance(k.next.params.name);
    if (a !== undefined && topState(a.snapshot.value) === "BACKUP") {
      const c = a.snapshot.context;
      const downUs = downTimerUs({
        ...c,
        version: c.p.version,
        downTimerAdverts: c.p.downTimerAdverts,
        downTimer: "full",
      });
      timers.schedule(a.id, MASTER_DOWN_TIMER_ID, { type: INSTANCE_TIMERS[MASTER_DOWN_TIMER_ID] }, downUs);
    }
    if (a === undefined || !masters.has(k.next) || topState(a.snapshot.value) !== "MASTER") continue;
    const p = k.next.params;
    const added = vipDiff(k.old, k.next).added;
    if (added.length > 0) {
      h.emit(log(`(${p.name}) setting VIPs.`, true));
      h.emit({ type: "addVips", instance: p.name, vips: added });
      h.emit({ type: "garp", instance: p.name, vips: p.vips, repeat: p.garpMasterRepeat, reason: "master" });
    }
    // keepalived's restore_vrrp_state: every virtual route again (one someone deleted comes back; the
    // others are there: EEXIST), and the new rules.
    const routes = p.routes ?? [];
    const rules = routeDiff(k.old.params, k.next.params).added.rules;
    if (routes.length > 0 || rules.length > 0) h.emit({ type: "addRoutes", instance: p.name, routes, rules });
    h.emit({
      type: "sendAdvert",
      instance: p.name,
      priority: a.snapshot.context.priority,
      advertIntervalCs: p.advertIntervalCs,
    });
    const advert: InstanceTimerId = "advert";
    timers.schedule(
      `instance:${p.name}`,
      advert,
      { type: INSTANCE_TIMERS[advert] },
      csToUs(p.advertIntervalCs),
    );
  }
  const fresh = plan.added.flatMap((s) => actors.instance(s.params.name) ?? []);
  for (const a of fresh) h.send(a, tracking.trackingEvent(a.name));
  for (const g of actors.groups)
    if (carried.actors[g.id] === undefined) {
      const start: SyncGroupEvent = { type: "START", members: tracking.memberStarts(g) };
      h.send(g, start);
    }
  for (const a of fresh) h.send(a, { type: "START" });
  if (addresses.added.length > 0) h.emit({ type: "addVips", instance: "", vips: addresses.added });
  if (namesAny(statics.added)) h.emit({ type: "addRoutes", instance: "", ...statics.added });
  h.emit(log("Reload complete"));
};
