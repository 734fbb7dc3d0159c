/**
 * The spec-derived parts of a `Node` (node.ts): the spec in force and its instance specs by name,
 * per-instance stats, the advert codec, the effect dispatch, the timer table, the machine actors and
 * the tracker aggregation, the LVS checkers — and what needs only them: routing a received datagram to its instance
 * (with its counters), counting state changes, and finding the MASTER that owns a deleted address.
 * A node builds them once from its spec; a reload (reload-apply.ts) builds them again from the new
 * spec and puts the state carried over from the old ones into them
 * (reload.ts `carryState`), while the node itself — queue, seq, journal, effect actors, transport
 * subscription — stays the same object. Not pure (holds the snapshots and clock handles).
 */
import type { AdvertEvent } from "../../machines/events.ts";
import { type Actor, ActorRegistry, type StateChange } from "./actor-registry.ts";
import { Checkers, checkerActorId } from "./checkers.ts";
import type { NodeState } from "./checkpoint.ts";
import type { Clock } from "./clock.ts";
import { AdvertCodec, type Received } from "./codec.adapter.ts";
import type { EffectActors } from "./effect-actors.ts";
import { deletedStaticAddress, EffectDispatch, ownerOfDeletedAddress } from "./effect-dispatch.ts";
import type { Input } from "./input.ts";
import type { RxMemo } from "./input-text.ts";
import { type StepAction, topState } from "./machine-driver.ts";
import type { StateParts } from "./node-state.ts";
import type { VipAddress } from "./ports.ts";
import type { InstanceSpec, NodeSpec } from "./spec.ts";
import { countStateChange, type InstanceStats, newStats } from "./stats.ts";
import { type TimerMemo, TimerTable } from "./timer-table.ts";
import { Tracking } from "./tracking.ts";

/** A received advert's instance and the event it steps with. */
export interface Routed {
  readonly actor: Actor;
  readonly event: AdvertEvent;
}

/** Whether an instance reads datagrams: not in FAULT or INIT (keepalived), nor once stopped. */
const listens = (a: Actor | undefined): boolean =>
  a !== undefined && (a.top === "BACKUP" || a.top === "MASTER");

/** What the parts need from their node. */
export interface PartsDeps {
  readonly clock: Clock;
  readonly effects: EffectActors;
  /** Timers fire on the clock (false in replay: recorded timer events are applied instead). */
  readonly live: boolean;
  readonly memoize: boolean;
  readonly hasTransport: boolean;
  /** A timer fired: the node journals and applies it as having happened at `atUs` (timer-table.ts). */
  readonly fire: (atUs: number, memo: TimerMemo) => void;
  /** The time a timer armed now counts from: the applied event's time inside a step (timer-table.ts). */
  readonly stepNowUs: () => number;
  /** A precise timer's rehearsal shortly before it fires (timer-table.ts). */
  readonly rehearse: (actor: string, id: string) => void;
}

export class NodeParts {
  readonly specs = new Map<string, InstanceSpec>();
  readonly stats = new Map<string, InstanceStats>();
  readonly codec: AdvertCodec;
  readonly dispatch: EffectDispatch;
  readonly timers: TimerTable;
  readonly actors: ActorRegistry;
  readonly tracking: Tracking;
  readonly checkers: Checkers;
  /**
   * Whether the node has been shut down (an `admin` shutdown input): its static addresses are then
   * being removed, and their deletions are no longer restored. Carried by reloads and checkpoints.
   */
  readonly lifecycle = { shutDown: false };

  /** Builds every part of `spec`; `initial` receives each actor's initial actions, in build order. */
  constructor(
    readonly spec: NodeSpec,
    deps: PartsDeps,
    initial: (a: Actor, actions: readonly StepAction[]) => void,
  ) {
    for (const s of spec.instances) {
      this.specs.set(s.params.name, s);
      this.stats.set(s.params.name, newStats());
    }
    this.codec = new AdvertCodec(spec);
    this.dispatch = new EffectDispatch(this.specs, this.codec, deps.effects, deps.hasTransport, {
      addresses: spec.staticAddresses ?? [],
      routes: spec.staticRoutes ?? [],
      rules: spec.staticRules ?? [],
    });
    this.timers = new TimerTable(deps.clock, deps.live, deps.fire, {
      armBaseUs: deps.stepNowUs,
      rehearse: deps.rehearse,
    });
    this.actors = new ActorRegistry(spec, deps.memoize, (a, actions) => {
      a.timers = this.timers.register(a.id);
      initial(a, actions);
    });
    // each instance actor carries its stats (node.ts counts its commands without a lookup)
    for (const a of this.actors.instances) a.stats = this.stats.get(a.name);
    this.tracking = new Tracking(spec, this.actors);
    this.checkers = new Checkers(spec.virtualServers ?? []);
    for (const vs of this.checkers.names) this.timers.register(checkerActorId(vs));
  }

  /**
   * The parts of `spec` holding `carried` (a reload): the actors it names restored, the others fresh
   * (their initial actions are returned, to be interpreted); router drop counters go on; checkers
   * whose virtual server is unchanged keep their state (the others start idle). The caller closes `prev`.
   */
  static carried(
    spec: NodeSpec,
    deps: PartsDeps,
    carried: NodeState,
    prev: NodeParts,
  ): { parts: NodeParts; initial: Array<[Actor, readonly StepAction[]]> } {
    const initial: Array<[Actor, readonly StepAction[]]> = [];
    const parts = new NodeParts(spec, deps, (a, actions) => {
      if (carried.actors[a.id] === undefined) initial.push([a, actions]);
    });
    Object.assign(parts.codec.dropped, prev.codec.dropped);
    parts.lifecycle.shutDown = prev.lifecycle.shutDown;
    parts.actors.restore(carried.actors, true);
    parts.tracking.restore(carried.tracking);
    for (const [name, saved] of Object.entries(carried.stats)) {
      const stats = parts.stats.get(name);
      if (stats !== undefined) Object.assign(stats, saved);
    }
    parts.checkers.restore(carried.checkers ?? {}, true);
    parts.timers.restore(carried.timers);
    return { parts, initial };
  }

  /** A BACKUP instance's current master (for `skip_check_adv_addr`); made once, not per datagram. */
  readonly #masterOf = (name: string): string | undefined => {
    const a = this.actors.instance(name);
    return a && topState(a.snapshot.value) === "BACKUP" ? a.snapshot.context.masterIp : undefined;
  };

  /** Whether an instance reads datagrams: not in FAULT or INIT (keepalived), nor once stopped. */
  readonly #listening = (name: string): boolean => listens(this.actors.instance(name));

  /**
   * A received datagram routed and checked (codec.adapter.ts), counted in its instance's stats as
   * keepalived counts it; the instance and its ADVERT event, or undefined when no instance is to step
   * (a datagram a check dropped never reaches the machine).
   */
  receive(input: Extract<Input, { kind: "rx" }>, memo?: RxMemo): Routed | undefined {
    // Routed before by these parts: what the codec's memo and the lookups below would give again.
    if (memo !== undefined && memo.parts === this) {
      const routed = memo.routed as Routed;
      if (!listens(routed.actor)) return undefined;
      this.codec.memoHits++;
      const counters = (memo.accepted as Received).counters;
      const stats = routed.actor.stats as InstanceStats; // these parts' (set in the constructor)
      // (an indexed loop: `for … of` here allocated its iterator per advert, 80 bytes)
      if (counters !== undefined)
        for (let k = 0; k < counters.length; k++) stats[counters[k] as (typeof counters)[number]]++;
      return routed;
    }
    const r = this.codec.receive(input, this.#masterOf, this.#listening, memo);
    if (r.instance === undefined) return undefined;
    const stats = this.stats.get(r.instance);
    if (stats !== undefined && r.counters !== undefined) for (const c of r.counters) stats[c]++;
    const actor = r.event && this.actors.instance(r.instance);
    if (actor === undefined) return undefined;
    const routed: Routed = { actor, event: r.event as AdvertEvent };
    if (memo !== undefined && memo.accepted === r && actor.stats !== undefined) {
      memo.parts = this;
      memo.routed = routed;
    }
    return routed;
  }

  /** Counts an instance's change of state (stats.ts `countStateChange`: become / release master). */
  countChange(actor: Actor, change: StateChange): void {
    const stats = actor.kind === "instance" ? this.stats.get(actor.name) : undefined;
    if (stats !== undefined) countStateChange(stats, change.from, change.to);
  }

  /** The MASTER instance owning a deleted address (effect-dispatch.ts `ownerOfDeletedAddress`). */
  deletedVipOwner(input: Extract<Input, { kind: "address" }>): Actor | undefined {
    const masters = this.actors.instances.flatMap((a) => {
      const spec = this.specs.get(a.name);
      return spec === undefined || topState(a.snapshot.value) !== "MASTER" ? [] : [{ name: a.name, spec }];
    });
    return this.actors.instance(ownerOfDeletedAddress(masters, input) ?? "");
  }

  /** The tracked static address a deletion names, while the node runs (keepalived restores it). */
  deletedStaticAddress(input: Extract<Input, { kind: "address" }>): VipAddress | undefined {
    if (this.lifecycle.shutDown) return undefined;
    return deletedStaticAddress(this.spec.staticAddresses ?? [], input);
  }

  /** Whether a `route` input names a tracked static route or rule, while the node runs. */
  isStaticEntry(input: Extract<Input, { kind: "route" }>): boolean {
    if (this.lifecycle.shutDown) return false;
    const all = input.entry === "route" ? this.spec.staticRoutes : this.spec.staticRules;
    return all?.some((x) => x.text === input.text && !x.noTrack) === true;
  }

  /** The first MASTER instance holding the tracked route or rule a `route` input names. */
  deletedRouteOwner(input: Extract<Input, { kind: "route" }>): Actor | undefined {
    return this.actors.instances.find((a) => {
      if (topState(a.snapshot.value) !== "MASTER") return false;
      const spec = this.specs.get(a.name);
      const all = input.entry === "route" ? spec?.routes : spec?.rules;
      return all?.some((x) => x.text === input.text && !x.noTrack) === true;
    });
  }

  /** The decision-state holders, for node-state.ts. */
  state(effects: EffectActors): StateParts {
    return {
      actors: this.actors,
      timers: this.timers,
      tracking: this.tracking,
      stats: this.stats,
      effects,
      checkers: this.checkers,
      lifecycle: this.lifecycle,
    };
  }

  /** Closed parts' actors count nothing of their own: a step on one after a reload counts by name, in the parts then in force. */
  close(): void {
    this.timers.close();
    for (const a of this.actors.instances) a.stats = undefined;
  }
}
