/**
 * Tracker aggregation and sync-group routing: the host-internal `Routing` messages the machines emit
 * (machines/events.ts) are delivered here, before and apart from effect dispatch. A tracker's new
 * verdict (`trackerChanged`) updates the tracker values and sends each instance that tracks it its new
 * `TRACKING` summary; a member's report (`memberReport`) reaches its group after the current step
 * (deferred); a group's decision (`syncMember`) reaches the member at once; `shiftTimer` moves a
 * pending timer, which must exist (a name that matches no pending timer is a defect and throws).
 * The tracker values are part of the node's decision state and save to / restore from JSON. Also
 * the mapping of probe results and link changes to tracker events (pure). Not pure.
 */
import type { InstanceEvent, Routing } from "../../machines/events.ts";
import { startDisposition } from "../../machines/instance-guards.ts";
import { summarizeTracking } from "../../machines/priority.ts";
import type { MemberStart, SyncGroupContext, SyncGroupEvent } from "../../machines/sync-group.machine.ts";
import type { TrackerEvent } from "../../machines/tracker.machine.ts";
import type { Actor, ActorRegistry } from "./actor-registry.ts";
import type { Input } from "./input.ts";
import { configFaultTracker, type NodeSpec } from "./spec.ts";

/** Tracker values as a checkpoint holds them (`null`: no result yet). */
export interface SavedTracking {
  readonly ok: Readonly<Record<string, boolean | null>>;
  readonly value: Readonly<Record<string, number>>;
}

/** What routing needs from the node. */
export interface RoutingHost {
  send(actor: Actor, event: { readonly type: string }): void;
  /** Runs `f` after the current step's actions (member reports reach the group after the step). */
  defer(f: () => void): void;
  /** Moves a pending timer; false when it is not pending. */
  shiftTimer(actor: string, id: string, deltaUs: number): boolean;
}

export class Tracking {
  /** Each tracker's verdict (undefined: no result yet). */
  readonly #ok = new Map<string, boolean | undefined>();
  /** Each tracked file's current value. */
  readonly #value = new Map<string, number>();
  /** Instances tracking each tracker, in configuration order. */
  readonly #users = new Map<string, string[]>();
  readonly #bindings = new Map<string, NodeSpec["instances"][number]["tracking"]>();
  /** What each tracker watches (`config`: an instance's configuration fault). */
  readonly #kind = new Map<string, "script" | "link" | "process" | "file" | "config">();

  constructor(
    spec: NodeSpec,
    private readonly actors: ActorRegistry,
  ) {
    for (const t of spec.trackers) {
      this.#kind.set(t.name, t.name.startsWith(configFaultTracker("")) ? "config" : t.kind);
      this.#ok.set(t.name, t.kind === "link" ? true : t.initFail ? false : undefined);
      if (t.kind === "file") this.#value.set(t.name, t.initValue ?? 0);
    }
    for (const s of spec.instances) this.#bindings.set(s.params.name, s.tracking);
    for (const s of spec.instances)
      for (const b of s.tracking)
        this.#users.set(b.tracker, [...(this.#users.get(b.tracker) ?? []), s.params.name]);
  }

  /** The TRACKING summary of an instance from the current tracker values. */
  trackingEvent(instance: string): InstanceEvent {
    const s = summarizeTracking(
      (this.#bindings.get(instance) ?? []).map((b) => ({
        ok: this.#ok.get(b.tracker),
        weight: b.weight,
        reverse: b.reverse,
        name: b.tracker,
        value: this.#value.get(b.tracker),
        kind: this.#kind.get(b.tracker),
      })),
    );
    return { type: "TRACKING", ...s };
  }

  /** How each member of a group will start, from its instance's current (INIT) context. */
  memberStarts(group: Actor): Record<string, MemberStart> {
    const starts: Record<string, MemberStart> = {};
    for (const m of (group.snapshot.context as SyncGroupContext).members) {
      const inst = this.actors.instance(m);
      starts[m] = inst === undefined ? "waiting" : startDisposition(inst.snapshot.context);
    }
    return starts;
  }

  /** Delivers one routing message. */
  route(m: Routing, host: RoutingHost): void {
    switch (m.type) {
      case "memberReport": {
        const group = this.actors.get(`group:${m.group}`);
        const ev: SyncGroupEvent = {
          type: "MEMBER",
          instance: m.instance,
          state: m.state,
          wantMaster: m.wantMaster,
          faulted: m.faulted,
        };
        if (group) host.defer(() => host.send(group, ev));
        return;
      }
      case "syncMember": {
        const inst = this.actors.instance(m.instance);
        const ev: InstanceEvent = { type: "SYNC", state: m.state };
        if (inst) host.send(inst, ev);
        return;
      }
      case "trackerChanged": {
        this.#ok.set(m.tracker, m.ok);
        if (m.value !== undefined) this.#value.set(m.tracker, m.value);
        for (const name of this.#users.get(m.tracker) ?? []) {
          const inst = this.actors.instance(name);
          if (inst) host.send(inst, this.trackingEvent(name));
        }
        return;
      }
      case "shiftTimer": {
        const actor = `instance:${m.instance}`;
        if (!host.shiftTimer(actor, m.timer, m.deltaUs))
          throw new Error(`shiftTimer: ${actor} has no pending timer named '${m.timer}'`);
        return;
      }
    }
  }

  save(): SavedTracking {
    const ok: Record<string, boolean | null> = {};
    for (const [k, v] of this.#ok) ok[k] = v ?? null;
    return { ok, value: Object.fromEntries(this.#value) };
  }

  restore(saved: SavedTracking): void {
    for (const [k, v] of Object.entries(saved.ok)) {
      if (!this.#ok.has(k)) throw new Error(`checkpoint has a tracker the spec does not: ${k}`);
      this.#ok.set(k, v ?? undefined);
    }
    for (const [k, v] of Object.entries(saved.value)) this.#value.set(k, v);
  }
}

/** A probe result or link change as its tracker's RESULT event. Pure. */
export const trackerResult = (input: Extract<Input, { kind: "probe" | "link" }>): TrackerEvent =>
  input.kind === "probe"
    ? {
        type: "RESULT",
        ok: input.ok,
        ...(input.exitStatus === undefined ? {} : { exitStatus: input.exitStatus }),
        ...(input.timedOut === undefined ? {} : { timedOut: input.timedOut }),
        ...(input.value === undefined ? {} : { value: input.value }),
        ...(input.running === undefined ? {} : { running: input.running }),
      }
    : { type: "RESULT", ok: input.up };
