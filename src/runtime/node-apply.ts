/**
 * What each kind of input does to a node — the body of one step, between the journal's `in` line
 * and its `out` line (node.ts): `start` and `shutdown` in keepalived's order, a fired timer to its
 * actor (or an LVS virtual server's checkers), probe and link results to their trackers, a datagram
 * to the instance it is for, an effect's outcome to keepalived's reaction, a deleted address to the
 * MASTER that owned it, a reload, a checker input. It reaches the node's parts and its emit/send
 * through `ApplyHost`. Not pure: it drives the host.
 */
import type { CheckerEvent } from "../../machines/checker.machine.ts";
import type { Message } from "../../machines/events.ts";
import type { SyncGroupEvent } from "../../machines/sync-group.machine.ts";
import type { Actor } from "./actor-registry.ts";
import { isCheckerActor, probeResult } from "./checkers.ts";
import { effectReaction } from "./effect-reaction.ts";
import type { CheckInput, Input } from "./input.ts";
import type { RxMemo } from "./input-text.ts";
import type { NodeParts } from "./node-parts.ts";
import { applyReload, type ReloadHost } from "./reload-apply.ts";
import { formatVip, type NodeSpec, staticAddressName, staticAddressNames, staticNames } from "./spec.ts";
import type { TimerMemo } from "./timer-table.ts";
import { trackerResult } from "./tracking.ts";

type TimerInput = Extract<Input, { kind: "timer" }>;

/** What a step reaches of its node. */
export interface ApplyHost {
  /** The spec-derived parts in force (a reload replaces them). */
  readonly parts: NodeParts;
  /** The time of the event being applied. */
  readonly atUs: number;
  send(actor: Actor, event: { readonly type: string }): void;
  emit(m: Message): void;
  /** Steps one virtual server's checkers. */
  check(vs: string, event: CheckerEvent): void;
  reloadHost(): ReloadHost;
}

/** Applies one input; `rx` / `timer`: the node's memo of a received datagram / of a fired timer. */
export function applyInput(h: ApplyHost, input: Input, rx?: RxMemo, timer?: TimerMemo): void {
  const p = h.parts;
  switch (input.kind) {
    case "rx": {
      const r = p.receive(input, rx);
      if (r !== undefined) h.send(r.actor, r.event);
      return;
    }
    case "admin":
      if (input.command === "start") {
        // keepalived's start_vrrp: the static addresses, routes and rules are installed before any
        // instance starts.
        p.lifecycle.shutDown = false;
        const addresses = staticAddressNames(p.spec);
        if (addresses !== undefined) h.emit({ type: "addVips", instance: "", vips: addresses });
        const statics = staticNames(p.spec);
        if (statics !== undefined) h.emit({ type: "addRoutes", instance: "", ...statics });
        // As keepalived's vrrp_init_state: trackers first, then groups (they notify first), then instances.
        for (const a of p.actors.instances) h.send(a, p.tracking.trackingEvent(a.name));
        for (const g of p.actors.groups) {
          const start: SyncGroupEvent = { type: "START", members: p.tracking.memberStarts(g) };
          h.send(g, start);
        }
        for (const a of p.actors.instances) h.send(a, { type: "START" });
      } else {
        for (const a of p.actors.instances) h.send(a, { type: "SHUTDOWN" });
        for (const g of p.actors.groups) h.send(g, { type: "SHUTDOWN" });
        for (const vs of p.checkers.names) h.check(vs, { type: "STOP", atUs: h.atUs });
        // vrrp_terminate_phase1: after the instances, the static rules, routes and addresses go (even
        // with -V); their deletions are no longer restored.
        p.lifecycle.shutDown = true;
        const statics = staticNames(p.spec);
        if (statics !== undefined) h.emit({ type: "removeRoutes", instance: "", ...statics });
        const addresses = staticAddressNames(p.spec);
        if (addresses !== undefined) h.emit({ type: "removeVips", instance: "", vips: addresses });
      }
      return;
    case "timer": {
      if (isCheckerActor(input.actor)) {
        if (takeTimer(p, input, timer) === undefined) return;
        h.check(input.actor.slice(3), { type: "TIMER", atUs: h.atUs, id: input.id });
        return;
      }
      const actor = timerActor(p, input.actor, timer);
      const event = takeTimer(p, input, timer);
      if (event === undefined || actor === undefined) return;
      h.send(actor, event);
      return;
    }
    case "probe":
    case "link": {
      const tracker = p.actors.get(`tracker:${input.kind === "probe" ? input.tracker : input.ifname}`);
      if (tracker !== undefined) h.send(tracker, trackerResult(input));
      return;
    }
    case "effect": {
      const spec = input.instance === undefined ? undefined : p.specs.get(input.instance);
      const ctx = spec && { family: spec.params.family, unicast: spec.unicastPeers.length > 0 };
      for (const c of effectReaction(input, ctx)) h.emit(c);
      return;
    }
    case "address":
      if (!input.present) addressDeleted(h, input);
      return;
    case "route": {
      // keepalived_netlink.c netlink_route_filter / netlink_rule_filter → set_vrrp_backup
      const owner = h.parts.deletedRouteOwner(input);
      if (owner !== undefined) {
        h.emit({ type: "log", line: `Netlink reports ${input.entry} ${input.text} deleted`, detail: true });
        h.send(owner, { type: "VIP_DELETED" });
        return;
      }
      // … or a tracked static one, added again at once (reinstate_static_route / _rule)
      if (!h.parts.isStaticEntry(input)) return;
      h.emit({ type: "log", line: `Restoring deleted static ${input.entry} ${input.text}` });
      const named =
        input.entry === "route" ? { routes: [input.text], rules: [] } : { routes: [], rules: [input.text] };
      h.emit({ type: "addRoutes", instance: "", ...named });
      return;
    }
    case "reload":
      applyReload(h.reloadHost(), input.spec as NodeSpec, input.configHash);
      return;
    case "check":
      checkInput(h, input);
      return;
  }
}

/** Takes the fired timer off the table: by its memo's entry, else by name. */
const takeTimer = (p: NodeParts, input: TimerInput, memo: TimerMemo | undefined) =>
  memo !== undefined ? p.timers.takeFired(memo) : p.timers.take(input.actor, input.id);

/**
 * The actor a timer fires for: remembered on its memo, whose table is these parts' (the parts' actors
 * are fixed for their life), else looked up.
 */
function timerActor(p: NodeParts, id: string, memo: TimerMemo | undefined): Actor | undefined {
  if (memo === undefined || memo.owner !== p.timers) return p.actors.get(id);
  if (memo.actor === undefined) memo.actor = p.actors.get(id);
  return memo.actor;
}

function checkInput(h: ApplyHost, input: CheckInput): void {
  const e = input.event;
  if (e.type === "START") {
    h.check(input.vs, { type: "START", atUs: h.atUs, warmupDraws: e.warmupDraws });
    return;
  }
  const { rs, checker, seq } = e;
  h.check(input.vs, { type: "RESULT", atUs: h.atUs, rs, checker, seq, result: probeResult(e) });
}

/**
 * keepalived's RTM_DELADDR handling (keepalived_netlink.c): the MASTER instance owning a deleted
 * tracked VIP (`ownerOfDeletedAddress`) goes to BACKUP with a skew-time down timer (`set_vrrp_backup`);
 * then, a tracked static address (not `no_track`) deleted while the node runs is added again at once
 * (`reinstate_static_address`).
 */
function addressDeleted(h: ApplyHost, input: Extract<Input, { kind: "address" }>): void {
  const owner = h.parts.deletedVipOwner(input);
  if (owner !== undefined) {
    const line = `Netlink reflector reports IP ${input.address} removed from ${input.ifname}`;
    h.emit({ type: "log", line, detail: true });
    h.send(owner, { type: "VIP_DELETED" });
  }
  const s = h.parts.deletedStaticAddress(input);
  if (s === undefined) return;
  h.emit({ type: "log", line: `Restoring deleted static address ${formatVip(s, false)}` });
  h.emit({ type: "addVips", instance: "", vips: [staticAddressName(s)] });
}
