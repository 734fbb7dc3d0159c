/**
 * Reload (SIGHUP) as keepalived 2.2.7 does it (vrrp.c `vrrp_exist`, `clear_diff_vrrp`,
 * `clear_diff_vrrp_vip`, `restore_vrrp_state`, `clear_diff_script`): which running instances the new
 * configuration keeps, which it removes and which it adds, the VIP diff of a kept instance, and the
 * carry-over of the saved decision state (checkpoint.ts `NodeState`) onto the actors of the new spec.
 *
 * Matching follows keepalived, not the instance name: an old and a new instance are the same when
 * VRID, family and interface are equal, both are unicast or both multicast, and then the unicast
 * source address (unicast) or the multicast destination (multicast) is equal. keepalived also compares
 * the VMAC flags, which Vigil does not have. A renamed instance therefore keeps its state and
 * counters under its new name. The node (node.ts) applies a reload as one journaled `reload` input:
 * it emits what the removed and kept instances must do and rebuilds its parts from the new spec with
 * the state carried here. Pure.
 */
import { canonicalAddress } from "../protocol/address.ts";
import type { NodeState } from "./checkpoint.ts";
import type { VipAddress } from "./ports.ts";
import { type InstanceSpec, type NodeSpec, vipAddresses } from "./spec.ts";

/** keepalived's `vrrp_exist` key of an instance (see the module text). */
export const instanceKey = (s: InstanceSpec): string => {
  const p = s.params;
  const where =
    s.unicastPeers.length > 0
      ? `unicast ${canonicalAddress(p.ownIp, p.family) ?? p.ownIp}`
      : `multicast ${s.mcastGroup ?? (p.family === 4 ? "224.0.0.18" : "ff02::12")}`;
  return `${p.vrid}/${p.family}/${p.ifname}/${where}`;
};

export interface ReloadPlan {
  /** Kept instances: the old spec and the new one (names may differ), in the new configuration's order. */
  readonly kept: ReadonlyArray<{ readonly old: InstanceSpec; readonly next: InstanceSpec }>;
  /** Instances of the old spec that the new one does not have, in the old order. */
  readonly removed: readonly InstanceSpec[];
  /** Instances of the new spec that are not running yet, in the new order. */
  readonly added: readonly InstanceSpec[];
}

/** Matches the old spec's instances with the new spec's (first match wins, each used once). */
export const planReload = (old: NodeSpec, next: NodeSpec): ReloadPlan => {
  const byKey = new Map<string, InstanceSpec>();
  for (const o of old.instances) if (!byKey.has(instanceKey(o))) byKey.set(instanceKey(o), o);
  const kept: Array<{ old: InstanceSpec; next: InstanceSpec }> = [];
  const added: InstanceSpec[] = [];
  for (const n of next.instances) {
    const o = byKey.get(instanceKey(n));
    if (o === undefined) added.push(n);
    else {
      byKey.delete(instanceKey(n));
      kept.push({ old: o, next: n });
    }
  }
  const used = new Set(kept.map((k) => k.old));
  return { kept, removed: old.instances.filter((o) => !used.has(o)), added };
};

/** A VIP's identity across configurations: interface, canonical address and prefix length. */
const vipKey = (v: VipAddress): string =>
  `${v.dev}|${canonicalAddress(v.address, v.family) ?? v.address}/${v.prefixLength}`;
/** How a command names a VIP (the effect dispatch finds its options by this text). */
const vipText = (v: VipAddress): string => `${v.address}/${v.prefixLength}`;

/**
 * `clear_diff_vrrp_vip` and `restore_vrrp_state`: the VIPs and excluded VIPs of `old` that `next`
 * has not (to delete) and those of `next` that `old` has not (to add), as command texts. VIPs in
 * both are untouched (no delete and re-add).
 */
export const vipDiff = (
  old: InstanceSpec,
  next: InstanceSpec,
): { readonly removed: readonly string[]; readonly added: readonly string[] } =>
  addressDiff(vipAddresses(old), vipAddresses(next));

/**
 * The addresses of `before` that `after` has not and those of `after` that `before` has not, as
 * command texts (an instance's VIPs, or the static addresses: `clear_diff_static_addresses`).
 */
export const addressDiff = (
  before: readonly VipAddress[],
  after: readonly VipAddress[],
): { readonly removed: readonly string[]; readonly added: readonly string[] } => {
  const had = new Set(before.map(vipKey));
  const has = new Set(after.map(vipKey));
  return {
    removed: before.filter((v) => !has.has(vipKey(v))).map(vipText),
    added: after.filter((v) => !had.has(vipKey(v))).map(vipText),
  };
};

/** Routes and rules named by keepalived's rendering of each (an instance's params, `staticNames`). */
export type Named = { readonly routes: readonly string[]; readonly rules: readonly string[] };

/** Whether `n` names any route or rule. */
export const namesAny = (n: Named): boolean => n.routes.length > 0 || n.rules.length > 0;

/**
 * The routes and rules a reload removes and adds, an instance's virtual ones or the static ones, by
 * keepalived's rendering of each (which holds every attribute: a changed route is the old one
 * removed and the new one added).
 */
export const routeDiff = (
  old: Partial<Named> | undefined,
  next: Partial<Named> | undefined,
): { readonly removed: Named; readonly added: Named } => {
  const minus = (a: readonly string[] | undefined, b: readonly string[] | undefined): string[] =>
    (a ?? []).filter((x) => !(b ?? []).includes(x));
  return {
    removed: { routes: minus(old?.routes, next?.routes), rules: minus(old?.rules, next?.rules) },
    added: { routes: minus(next?.routes, old?.routes), rules: minus(next?.rules, old?.rules) },
  };
};

/** A saved tracker counter on a new rise/fall (keepalived's `clear_diff_script` arithmetic). */
export const carriedCount = (
  count: number,
  old: { readonly rise: number; readonly fall: number },
  next: { readonly rise: number; readonly fall: number },
): number => {
  if (count < old.rise) return count === 0 ? 0 : Math.max(0, next.rise - (old.rise - count));
  if (count === old.rise + old.fall - 1) return next.rise + next.fall - 1;
  return Math.min(next.rise + next.fall - 1, next.rise + (count - old.rise));
};

type SavedActor = NodeState["actors"][string];

/**
 * The part of the old node's saved state that the new spec's actors take over: kept instances
 * (under their new names, base priority from the new configuration, their own advert interval if
 * MASTER or v2), trackers of the same name and kind (counter mapped to the new rise/fall), sync groups
 * of the same name and members; their timers (re-keyed), tracker values, and the kept instances'
 * counters. Actors it does not name start fresh.
 */
export const carryState = (
  saved: NodeState,
  old: NodeSpec,
  next: NodeSpec,
  plan: ReloadPlan,
  topStateOf: (id: string) => string,
): NodeState => {
  const rename = new Map<string, string>();
  const actors: Record<string, SavedActor> = {};
  for (const { old: o, next: n } of plan.kept) {
    const from = `instance:${o.params.name}`;
    const s = saved.actors[from];
    if (s === undefined) continue;
    const own = topStateOf(from) === "MASTER" || n.params.version === 2;
    const context = {
      ...s.context,
      basePriority: n.params.basePriority,
      ...(own ? { masterAdverIntervalCs: n.params.advertIntervalCs } : {}),
    };
    rename.set(from, `instance:${n.params.name}`);
    actors[`instance:${n.params.name}`] = { ...s, context };
  }
  const oldTrackers = new Map(old.trackers.map((t) => [t.name, t]));
  for (const t of next.trackers) {
    const o = oldTrackers.get(t.name);
    const s = saved.actors[`tracker:${t.name}`];
    if (o === undefined || o.kind !== t.kind || s === undefined) continue;
    const count = typeof s.context.count === "number" ? carriedCount(s.context.count, o, t) : s.context.count;
    rename.set(`tracker:${t.name}`, `tracker:${t.name}`);
    actors[`tracker:${t.name}`] = { ...s, context: { ...s.context, count } };
  }
  const newName = new Map(plan.kept.map((k) => [k.old.params.name, k.next.params.name]));
  for (const g of next.groups) {
    const o = old.groups.find((x) => x.name === g.name);
    const s = saved.actors[`group:${g.name}`];
    const same =
      o !== undefined &&
      o.members.length === g.members.length &&
      o.members.every((m, k) => newName.get(m) === g.members[k]);
    if (!same || s === undefined) continue;
    rename.set(`group:${g.name}`, `group:${g.name}`);
    actors[`group:${g.name}`] = { ...s, context: { ...s.context, members: [...g.members] } };
  }
  const timers = saved.timers.timers.flatMap((t) => {
    const to = rename.get(t.actor);
    return to === undefined ? [] : [{ ...t, actor: to }];
  });
  const names = new Set(next.trackers.map((t) => t.name));
  const ok = Object.fromEntries(Object.entries(saved.tracking.ok).filter(([k]) => names.has(k)));
  const value = Object.fromEntries(Object.entries(saved.tracking.value).filter(([k]) => names.has(k)));
  const stats: Record<string, NodeState["stats"][string]> = {};
  for (const [from, to] of newName) {
    const s = saved.stats[from];
    if (s !== undefined) stats[to] = s;
  }
  return {
    actors,
    timers: { armSeq: saved.timers.armSeq, timers },
    tracking: { ok, value },
    stats,
    effects: saved.effects,
  };
};
