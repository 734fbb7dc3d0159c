/**
 * The node's machine actors: one per VRRP instance, sync group and tracker, each a snapshot of a pure
 * machine stepped with the transition API (machine-driver.ts). Stepping applies the fixpoint memo (a
 * step that left the snapshot unchanged is reused for the same event: exact, the machines are pure;
 * a cache, never checkpointed), bounds the steps one input may cause (a livelock guard) and reports
 * top-level state changes. Snapshots save to and restore from JSON for checkpoints; the static part of
 * a context (`p`, the actor's parameters from the spec) is left out and put back from the spec. Not
 * pure (holds the snapshots).
 */
import { type SyncGroupParams, syncGroupMachine } from "../../machines/sync-group.machine.ts";
import { type TrackerParams, trackerMachine } from "../../machines/tracker.machine.ts";
import { vrrpInstanceMachine } from "../../machines/vrrp-instance.machine.ts";
import type { TemplateSlot } from "./advert-out.ts";
import {
  type Fixpoint,
  MachineDriver,
  persistSnapshot,
  type StepAction,
  sameFields,
  sameSnapshot,
  sameValue,
  topState,
} from "./machine-driver.ts";
import type { InstanceSpec, NodeSpec } from "./spec.ts";
import type { InstanceStats } from "./stats.ts";
import type { ActorTimers } from "./timer-table.ts";

/** Bound on the machine steps one input may cause (sync-group fan-out is O(members²)). */
export const MAX_STEPS_PER_INPUT = 100_000;

export type ActorKind = "instance" | "group" | "tracker";

/** A machine actor; an instance's also keeps its advert template, for the codec that made it (`TemplateSlot`). */
export interface Actor extends TemplateSlot {
  /** `instance:VI_1`, `group:G1`, `tracker:chk`. */
  readonly id: string;
  readonly kind: ActorKind;
  readonly name: string;
  /** The machine input: instance params, group params or tracker params. */
  readonly input: unknown;
  // biome-ignore lint/suspicious/noExplicitAny: drivers of three machine kinds
  readonly driver: MachineDriver<any>;
  // biome-ignore lint/suspicious/noExplicitAny: snapshots of three machine kinds
  snapshot: any;
  /** `topState(snapshot.value)`, kept with the snapshot (the receive path asks it per datagram). */
  top: string;
  fixpoint: Fixpoint | undefined;
  /** A rehearsed step (`rehearse`), taken by the next step if that is the same event on the same snapshot. */
  rehearsal: Rehearsal | undefined;
  /** An instance's spec (undefined for groups and trackers). */
  readonly spec: InstanceSpec | undefined;
  /** An instance's stats, set by the parts that own them (node-parts.ts), so its commands count without a lookup. */
  stats: InstanceStats | undefined;
  /** Its timers in the parts' timer table, set as it registers (node-parts.ts): no lookup by name per step. */
  timers: ActorTimers | undefined;
}

/** A step computed ahead (machines are pure: the same snapshot and event give the same step). */
interface Rehearsal {
  readonly snapshot: unknown;
  readonly event: { readonly type: string };
  readonly next: unknown;
  readonly actions: readonly StepAction[];
}

export interface StateChange {
  readonly type: "state";
  readonly actor: string;
  readonly from: string;
  readonly to: string;
}

export class ActorRegistry {
  readonly byId = new Map<string, Actor>();
  /** Instances by name (the hot path: no `instance:` key built per lookup). */
  readonly #byName = new Map<string, Actor>();
  #lastName: string | undefined;
  #lastActor: Actor | undefined;
  readonly instances: Actor[] = [];
  readonly groups: Actor[] = [];
  readonly trackers: Actor[] = [];
  readonly #memoize: boolean;
  #steps = 0;
  #fixpointHits = 0;
  /** The fixpoint the current input's last reused step came from (`outText`). */
  #lastHit: Fixpoint | undefined;

  /** Builds every actor of `spec`; `initial` receives each actor's initial actions, in build order. */
  constructor(spec: NodeSpec, memoize: boolean, initial: (a: Actor, actions: readonly StepAction[]) => void) {
    this.#memoize = memoize;
    const instanceDriver = new MachineDriver(vrrpInstanceMachine, spec.instances[0]?.params);
    const groupDriver = new MachineDriver(syncGroupMachine, spec.groups[0] ?? { name: "", members: [] });
    const trackerDriver = new MachineDriver(
      trackerMachine,
      spec.trackers[0] ?? { name: "", kind: "script", rise: 1, fall: 1, initFail: false },
    );
    const add = (
      kind: ActorKind,
      name: string,
      driver: MachineDriver<never>,
      input: unknown,
      spec?: InstanceSpec,
    ): Actor => {
      const [snapshot, actions] = driver.initial(input);
      const actor: Actor = {
        id: `${kind}:${name}`,
        kind,
        name,
        input,
        driver,
        snapshot,
        top: topState((snapshot as { value: unknown }).value),
        fixpoint: undefined,
        rehearsal: undefined,
        spec,
        stats: undefined,
        timers: undefined,
        templateOf: undefined,
        template: undefined,
      };
      this.byId.set(actor.id, actor);
      initial(actor, actions);
      return actor;
    };
    for (const t of spec.trackers as readonly TrackerParams[])
      this.trackers.push(add("tracker", t.name, trackerDriver as never, t));
    for (const s of spec.instances) {
      const a = add("instance", s.params.name, instanceDriver as never, s.params, s);
      this.instances.push(a);
      this.#byName.set(a.name, a);
    }
    for (const g of spec.groups as readonly SyncGroupParams[])
      this.groups.push(add("group", g.name, groupDriver as never, g));
  }

  get(id: string): Actor | undefined {
    return this.byId.get(id);
  }
  /**
   * The instance actor of that name. One entry of memory: a received advert looks its instance up
   * twice in a row (the listening check, then the step), with the same name (the instance set is
   * fixed for the registry's life, so the entry never goes stale).
   */
  instance(name: string): Actor | undefined {
    if (name === this.#lastName) return this.#lastActor;
    const a = this.#byName.get(name);
    this.#lastName = name;
    this.#lastActor = a;
    return a;
  }
  get fixpointHits(): number {
    return this.#fixpointHits;
  }

  /** Starts the step budget of a new input. */
  newInput(): void {
    this.#steps = 0;
    this.#lastHit = undefined;
  }

  /**
   * `JSON.stringify(outputs)` — the journal's `out` line of an input — remembered on the fixpoint the
   * input's last reused step came from: a repeated step (a MASTER's advert timer) emits the same
   * message objects again (machines' messages are immutable values), so when every output is, by
   * identity and in order, the one remembered, the text is too. Anything else is serialised afresh.
   */
  outText(outputs: readonly unknown[]): string {
    const fp = this.#lastHit;
    const outs = fp?.outs;
    if (fp !== undefined && outs !== undefined && outs.length === outputs.length) {
      let i = 0;
      while (i < outs.length && outs[i] === outputs[i]) i++;
      if (i === outs.length) return fp.outText;
    }
    const text = JSON.stringify(outputs);
    if (fp !== undefined) {
      fp.outs = outputs.slice();
      fp.outText = text;
    }
    return text;
  }

  /** One machine step; a state change is pushed to `changes`. Returns the step's actions. */
  step(actor: Actor, event: { readonly type: string }, changes: StateChange[]): readonly StepAction[] {
    if (++this.#steps > MAX_STEPS_PER_INPUT)
      throw new Error(
        `livelock: more than ${MAX_STEPS_PER_INPUT} machine steps for one input (last: ${actor.id})`,
      );
    const prev = actor.snapshot;
    const rehearsed = actor.rehearsal;
    actor.rehearsal = undefined;
    const fp = actor.fixpoint;
    // The codec hands out the same (frozen) event for a repeated advert: identity first.
    if (fp !== undefined && fp.snapshot === prev && (fp.event === event || sameFields(fp.event, event))) {
      this.#fixpointHits++;
      this.#lastHit = fp;
      return fp.actions;
    }
    const [next, actions] =
      rehearsed !== undefined && rehearsed.snapshot === prev && rehearsed.event === event
        ? [rehearsed.next, rehearsed.actions]
        : actor.driver.step(prev, event as never);
    if (this.#memoize && sameSnapshot(prev, next)) {
      // Keep `prev` (equal to `next`) so the next identical event on it can reuse this step.
      actor.fixpoint = { snapshot: prev, event, actions, outs: undefined, outText: "" };
    } else {
      actor.fixpoint = undefined;
      actor.snapshot = next;
      if (!sameValue(prev.value, next.value)) {
        const from = actor.top;
        const to = topState(next.value);
        actor.top = to;
        if (to !== from) changes.push({ type: "state", actor: actor.id, from, to });
      }
    }
    return actions;
  }

  /**
   * Computes `actor`'s step for `event` ahead and keeps it, changing nothing else: the next step, if it
   * is that event (the same object) on the same snapshot, takes it instead of running XState again
   * (the real clock rehearses a down timer this way shortly before it fires).
   */
  rehearse(actor: Actor, event: { readonly type: string }): void {
    const [next, actions] = actor.driver.step(actor.snapshot, event as never);
    actor.rehearsal = { snapshot: actor.snapshot, event, next, actions };
  }

  /** Every actor's persisted snapshot, by id, without the static `context.p`. */
  save(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const a of this.byId.values()) {
      const persisted = persistSnapshot(a.driver.machine, a.snapshot);
      const { p: _p, ...context } = persisted.context as Record<string, unknown>;
      out[a.id] = { ...persisted, context };
    }
    return out;
  }

  /**
   * Restores every actor from `save()` output; the set of actors must be the spec's. `partial`
   * (a reload): only the actors `saved` names are restored, the others keep their initial snapshot.
   */
  restore(saved: Readonly<Record<string, unknown>>, partial = false): void {
    const extra = Object.keys(saved).filter((id) => !this.byId.has(id));
    if (extra.length > 0) throw new Error(`checkpoint has actors the spec does not: ${extra.join(", ")}`);
    for (const a of this.byId.values()) {
      const s = saved[a.id] as { context?: Record<string, unknown> } | undefined;
      if (partial && s === undefined) continue;
      if (s === undefined || typeof s.context !== "object" || s.context === null)
        throw new Error(`checkpoint has no snapshot for ${a.id}`);
      const context = a.kind === "group" ? s.context : { p: a.input, ...s.context };
      a.snapshot = a.driver.restore({ ...s, context });
      a.top = topState(a.snapshot.value);
      a.fixpoint = undefined;
    }
  }
}
