/**
 * A `Node`: one Vigil daemon's core. Built from a `NodeSpec` (derived from a validated Config) and
 * ports (Clock, Transport, effect ports, Journal). Every input — datagram bytes, timer fired, probe
 * result, link change, admin command, effect result — goes through ONE ordered queue, becomes a
 * schema-checked `Event {seq, atUs, input}`, is appended to the journal, and only then is applied to
 * the pure machines (instances, sync groups, trackers) with the pure transition API. Delayed raises and
 * cancels become entries of the node's timer table on the injected clock; custom actions go to the
 * host's effect actors (effect-actors.ts), whose outcomes come back through the same queue as
 * `effect` inputs (failures logged as keepalived does, effect-reaction.ts). With `timerSource: "journal"` (replay) timers are tracked but never fire: the recorded
 * timer events are applied instead — the same code path. A step that leaves an actor's snapshot
 * unchanged (a steady master's advert) is remembered and reused for the same event (exact, since the
 * machines are pure; see `memoizeFixpoints`). Not pure: this is the host.
 */
import { createHash, type Hash } from "node:crypto";
import type { Subscription } from "rxjs";
import type { Command, InstanceEvent } from "../../machines/events.ts";
import { startDisposition } from "../../machines/instance-guards.ts";
import { summarizeTracking } from "../../machines/priority.ts";
import {
  type MemberStart,
  type SyncGroupContext,
  type SyncGroupEvent,
  syncGroupMachine,
} from "../../machines/sync-group.machine.ts";
import { xstateMsToUs } from "../../machines/timers.ts";
import { type TrackerEvent, trackerMachine } from "../../machines/tracker.machine.ts";
import { vrrpInstanceMachine } from "../../machines/vrrp-instance.machine.ts";
import type { Datagram, Transport } from "../../transports/transport.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { AdvertCodec } from "./codec.adapter.ts";
import { EffectActors } from "./effect-actors.ts";
import { EffectDispatch, ownerOfDeletedAddress } from "./effect-dispatch.ts";
import { effectReaction } from "./effect-reaction.ts";
import { checkInput, type Event, type Input, inLine } from "./input.ts";
import { JOURNAL_FORMAT, JOURNAL_VERSION, type Journal } from "./journal.ts";
import {
  type Fixpoint,
  MachineDriver,
  type StepAction,
  sameFields,
  sameSnapshot,
  sameValue,
  topState,
} from "./machine-driver.ts";
import type { EffectPorts } from "./ports.ts";
import type { InstanceSpec, NodeSpec } from "./spec.ts";
import { type InstanceStats, newStats } from "./stats.ts";

/** One thing a step produced: a machine command or a state change of an actor. */
export type Output =
  | Command
  | { readonly type: "state"; readonly actor: string; readonly from: string; readonly to: string };

export interface NodeOptions {
  readonly clock: Clock;
  readonly ports: EffectPorts;
  readonly journal?: Journal;
  readonly transport?: Transport;
  /** "clock": timers fire on the clock (production, simulation); "journal": replay applies recorded ones. */
  readonly timerSource?: "clock" | "journal";
  readonly configHash?: string;
  readonly vigilVersion?: string;
  /** Called after each applied event with what it produced. */
  readonly onApplied?: (ev: Event, outputs: readonly Output[]) => void;
  /**
   * Reuse the result of a machine step that left the snapshot unchanged (a fixpoint, e.g. BACKUP
   * accepting the same master's advert again) when the same event arrives again; default true.
   * Exact: machines are pure, so `transition(S, E)` with `S` unchanged is the same step. `false`
   * runs XState for every event (for benchmarks and the equivalence test).
   */
  readonly memoizeFixpoints?: boolean;
  /** How long an effect actor waits for a port before reporting TIMEOUT (default EFFECT_TIMEOUT_US). */
  readonly effectTimeoutUs?: number;
}

/** Bound on the machine steps one input may cause (sync-group fan-out is O(members²)). */
const MAX_STEPS_PER_INPUT = 100_000;

interface Actor {
  readonly id: string;
  readonly kind: "instance" | "group" | "tracker";
  readonly name: string;
  // biome-ignore lint/suspicious/noExplicitAny: drivers of three machine kinds
  readonly driver: MachineDriver<any>;
  // biome-ignore lint/suspicious/noExplicitAny: snapshots of three machine kinds
  snapshot: any;
  fixpoint: Fixpoint | undefined;
  /** Pending timers by id. */
  readonly timers: Map<string, TimerEntry>;
  /** One clock callback per timer id, made once and reused on every restart. */
  readonly fire: Map<string, () => void>;
  readonly stats: InstanceStats | undefined;
}

interface TimerEntry {
  readonly event: { type: string };
  readonly dueUs: number;
  readonly handle: TimerHandle | undefined;
}

export class Node {
  readonly #opts: NodeOptions;
  readonly #clock: Clock;
  readonly #actors = new Map<string, Actor>();
  readonly #instances: Actor[] = [];
  readonly #groups: Actor[] = [];
  readonly #specs = new Map<string, InstanceSpec>();
  readonly #trackerOk = new Map<string, boolean | undefined>();
  /** Current value of each tracked file. */
  readonly #trackerValue = new Map<string, number>();
  readonly #trackerUsers = new Map<string, string[]>();
  readonly #instanceByName = new Map<string, Actor>();
  readonly #queue: Input[] = [];
  readonly #deferred: Array<() => void> = [];
  readonly #stats = new Map<string, InstanceStats>();
  readonly #codec: AdvertCodec;
  readonly #hash: Hash = createHash("sha256");
  readonly #instanceDriver: MachineDriver<typeof vrrpInstanceMachine>;
  readonly #groupDriver: MachineDriver<typeof syncGroupMachine>;
  readonly #trackerDriver: MachineDriver<typeof trackerMachine>;
  readonly #memoize: boolean;
  readonly #effects: EffectActors;
  readonly #dispatch: EffectDispatch;
  #fixpointHits = 0;
  #seq = 0;
  /** Machine steps taken for the current input (a guard against a livelock between machines). */
  #steps = 0;
  #draining = false;
  #outputs: Output[] = [];
  #rx: Subscription | undefined;

  constructor(
    readonly spec: NodeSpec,
    opts: NodeOptions,
  ) {
    this.#opts = opts;
    this.#clock = opts.clock;
    this.#memoize = opts.memoizeFixpoints ?? true;
    this.#codec = new AdvertCodec(spec);
    this.#effects = new EffectActors({
      clock: opts.clock,
      ports: opts.ports,
      transport: opts.transport,
      live: opts.timerSource !== "journal",
      ...(opts.effectTimeoutUs === undefined ? {} : { timeoutUs: opts.effectTimeoutUs }),
      report: (outcome) => this.input(outcome),
    });
    this.#dispatch = new EffectDispatch(
      this.#specs,
      this.#codec,
      this.#effects,
      opts.transport !== undefined,
    );
    const first = spec.instances[0]?.params;
    this.#instanceDriver = new MachineDriver(vrrpInstanceMachine, first);
    this.#groupDriver = new MachineDriver(syncGroupMachine, spec.groups[0] ?? { name: "", members: [] });
    this.#trackerDriver = new MachineDriver(
      trackerMachine,
      spec.trackers[0] ?? { name: "", kind: "script", rise: 1, fall: 1, initFail: false },
    );
    opts.journal?.append(
      JSON.stringify({
        t: "header",
        format: JOURNAL_FORMAT,
        version: JOURNAL_VERSION,
        vigil: opts.vigilVersion ?? "0.0.0",
        configHash: opts.configHash ?? "",
        spec,
      }),
    );
    for (const t of spec.trackers) {
      this.#add("tracker", t.name, this.#trackerDriver, t);
      this.#trackerOk.set(t.name, t.kind === "link" ? true : t.initFail ? false : undefined);
      if (t.kind === "file") this.#trackerValue.set(t.name, t.initValue ?? 0);
    }
    for (const s of spec.instances) {
      this.#specs.set(s.params.name, s);
      const stats = newStats();
      this.#stats.set(s.params.name, stats);
      const actor = this.#add("instance", s.params.name, this.#instanceDriver, s.params, stats);
      this.#instances.push(actor);
      this.#instanceByName.set(s.params.name, actor);
      for (const b of s.tracking)
        this.#trackerUsers.set(b.tracker, [...(this.#trackerUsers.get(b.tracker) ?? []), s.params.name]);
    }
    for (const g of spec.groups) this.#groups.push(this.#add("group", g.name, this.#groupDriver, g));
    if (opts.transport) this.#rx = opts.transport.inbound$.subscribe((d) => this.input(rxInput(d)));
  }

  // ---- inputs -------------------------------------------------------------------------------

  start(): void {
    this.input({ kind: "admin", command: "start" });
  }
  shutdown(): void {
    this.input({ kind: "admin", command: "shutdown" });
    this.#rx?.unsubscribe();
  }

  /**
   * Resolves once every effect actor has run what it was given (and what their outcomes caused):
   * a daemon waits for this after `shutdown()` so priority-0 adverts, VIP removals and STOP notifies
   * are done before it exits.
   */
  settled(): Promise<void> {
    return this.#effects.whenIdle();
  }

  /** Enqueues one live input; the queue drains synchronously in arrival order. */
  input(input: Input): void {
    this.#queue.push(input);
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        // Live inputs are typed values: checked structurally (checkInput ≡ the Input schema).
        this.#applyEvent({ seq: ++this.#seq, atUs: this.#clock.nowUs(), input: checkInput(next) });
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Replay: applies a recorded event (its seq and time are kept). The clock must already be at `atUs`. */
  applyRecorded(ev: Event): readonly Output[] {
    this.#seq = ev.seq;
    return this.#applyEvent(ev);
  }

  #applyEvent(ev: Event): readonly Output[] {
    const j = this.#opts.journal;
    j?.append(inLine(ev));
    this.#outputs = [];
    this.#steps = 0;
    this.#apply(ev.input);
    for (let f = this.#deferred.shift(); f !== undefined; f = this.#deferred.shift()) f();
    const outputs = this.#outputs;
    if (outputs.length > 0) {
      const line = JSON.stringify({ t: "out", seq: ev.seq, out: outputs });
      this.#hash.update(line);
      j?.append(line);
    }
    this.#opts.onApplied?.(ev, outputs);
    return outputs;
  }

  #apply(input: Input): void {
    switch (input.kind) {
      case "admin":
        if (input.command === "start") {
          // As keepalived's vrrp_init_state: trackers first, then groups (they notify first), then instances.
          for (const a of this.#instances) this.#send(a, this.#trackingEvent(a.name));
          for (const g of this.#groups) {
            const start: SyncGroupEvent = { type: "START", members: this.#memberStarts(g) };
            this.#send(g, start);
          }
          for (const a of this.#instances) this.#send(a, { type: "START" });
        } else {
          for (const a of this.#instances) this.#send(a, { type: "SHUTDOWN" });
          for (const g of this.#groups) this.#send(g, { type: "SHUTDOWN" });
        }
        return;
      case "timer": {
        const actor = this.#actors.get(input.actor);
        const entry = actor?.timers.get(input.id);
        if (entry === undefined || actor === undefined) return;
        actor.timers.delete(input.id);
        this.#send(actor, entry.event);
        return;
      }
      case "probe":
      case "link": {
        const name = input.kind === "probe" ? input.tracker : input.ifname;
        const tracker = this.#actors.get(`tracker:${name}`);
        if (tracker === undefined) return;
        const ok = input.kind === "probe" ? input.ok : input.up;
        const ev: TrackerEvent =
          input.kind === "probe"
            ? {
                type: "RESULT",
                ok,
                ...(input.exitStatus === undefined ? {} : { exitStatus: input.exitStatus }),
                ...(input.timedOut === undefined ? {} : { timedOut: input.timedOut }),
                ...(input.value === undefined ? {} : { value: input.value }),
                ...(input.running === undefined ? {} : { running: input.running }),
              }
            : { type: "RESULT", ok };
        this.#send(tracker, ev);
        return;
      }
      case "rx":
        this.#receive(input);
        return;
      case "effect": {
        const spec = input.instance === undefined ? undefined : this.#specs.get(input.instance);
        const ctx = spec && { family: spec.params.family, unicast: spec.unicastPeers.length > 0 };
        for (const c of effectReaction(input, ctx)) this.#perform(c);
        return;
      }
      case "address":
        if (!input.present) this.#addressDeleted(input);
        return;
    }
  }

  /**
   * keepalived's RTM_DELADDR handling (keepalived_netlink.c): the MASTER instance owning a deleted
   * tracked VIP (`ownerOfDeletedAddress`) goes to BACKUP with a skew-time down timer (`set_vrrp_backup`).
   */
  #addressDeleted(input: Extract<Input, { kind: "address" }>): void {
    const masters = this.#instances
      .filter((a) => topState(a.snapshot.value) === "MASTER")
      .flatMap((a) => {
        const spec = this.#specs.get(a.name);
        return spec === undefined ? [] : [{ name: a.name, spec }];
      });
    const owner = this.#instanceByName.get(ownerOfDeletedAddress(masters, input) ?? "");
    if (owner === undefined) return;
    const line = `Netlink reflector reports IP ${input.address} removed from ${input.ifname}`;
    this.#perform({ type: "log", line, detail: true });
    this.#send(owner, { type: "VIP_DELETED" });
  }

  #receive(input: Extract<Input, { kind: "rx" }>): void {
    const r = this.#codec.receive(input);
    if (r.instance === undefined) return;
    const actor = this.#instanceByName.get(r.instance);
    if (actor === undefined) return;
    const stats = actor.stats;
    if (stats && r.counter) stats[r.counter]++;
    if (!r.event) return;
    if (stats) {
      stats.advert_rcvd++;
      if (r.event.priority === 0) stats.pri_zero_rcvd++;
    }
    this.#send(actor, r.event);
  }

  // ---- machines -----------------------------------------------------------------------------

  #add(
    kind: Actor["kind"],
    name: string,
    // biome-ignore lint/suspicious/noExplicitAny: drivers of three machine kinds
    driver: MachineDriver<any>,
    input: unknown,
    stats?: InstanceStats,
  ): Actor {
    const [snapshot, actions] = driver.initial(input);
    const actor: Actor = {
      id: `${kind}:${name}`,
      kind,
      name,
      driver,
      snapshot,
      fixpoint: undefined,
      timers: new Map(),
      fire: new Map(),
      stats,
    };
    this.#actors.set(actor.id, actor);
    this.#interpret(actor, actions);
    return actor;
  }

  #send(actor: Actor, event: { readonly type: string }): void {
    if (++this.#steps > MAX_STEPS_PER_INPUT)
      throw new Error(
        `livelock: more than ${MAX_STEPS_PER_INPUT} machine steps for one input (last: ${actor.id})`,
      );
    const prev = actor.snapshot;
    const fp = actor.fixpoint;
    if (fp !== undefined && fp.snapshot === prev && sameFields(fp.event, event)) {
      this.#fixpointHits++;
      this.#interpret(actor, fp.actions);
      return;
    }
    const [next, actions] = actor.driver.step(prev, event as never);
    if (this.#memoize && sameSnapshot(prev, next)) {
      // Keep `prev` (equal to `next`) so the next identical event on it can reuse this step.
      actor.fixpoint = { snapshot: prev, event, actions };
    } else {
      actor.fixpoint = undefined;
      actor.snapshot = next;
      if (!sameValue(prev.value, next.value)) {
        const before = topState(prev.value);
        const after = topState(next.value);
        if (after !== before) this.#outputs.push({ type: "state", actor: actor.id, from: before, to: after });
      }
    }
    this.#interpret(actor, actions);
  }

  /** How each member of a group will start, from its instance's current (INIT) context. */
  #memberStarts(group: Actor): Record<string, MemberStart> {
    const starts: Record<string, MemberStart> = {};
    for (const m of (group.snapshot.context as SyncGroupContext).members) {
      const inst = this.#instanceByName.get(m);
      starts[m] = inst === undefined ? "waiting" : startDisposition(inst.snapshot.context);
    }
    return starts;
  }

  #trackingEvent(instance: string): InstanceEvent {
    const spec = this.#specs.get(instance);
    const s = summarizeTracking(
      (spec?.tracking ?? []).map((b) => ({
        ok: this.#trackerOk.get(b.tracker),
        weight: b.weight,
        reverse: b.reverse,
        name: b.tracker,
        value: this.#trackerValue.get(b.tracker),
      })),
    );
    return { type: "TRACKING", ...s };
  }

  #interpret(actor: Actor, actions: readonly StepAction[]): void {
    for (const a of actions) {
      if (a.type === "xstate.raise") {
        const p = a.params as { event: { type: string }; id?: string; delay?: number };
        if (p.delay !== undefined)
          this.#schedule(actor, p.id ?? p.event.type, p.event, xstateMsToUs(p.delay));
      } else if (a.type === "xstate.cancel") {
        this.#cancel(actor, (a.params as { sendId: string }).sendId);
      } else if (!a.type.startsWith("xstate.")) {
        this.#perform(a.params as Command);
      }
    }
  }

  #schedule(actor: Actor, id: string, event: { type: string }, delayUs: number): void {
    actor.timers.get(id)?.handle?.cancel();
    let handle: TimerHandle | undefined;
    if (this.#opts.timerSource !== "journal") {
      let fire = actor.fire.get(id);
      if (fire === undefined) {
        fire = () => this.input({ kind: "timer", actor: actor.id, id });
        actor.fire.set(id, fire);
      }
      handle = this.#clock.setTimerUs(fire, delayUs);
    }
    // Map.set on an existing id keeps its insertion position; delete first so `timers()` lists in
    // scheduling order, as before.
    actor.timers.delete(id);
    actor.timers.set(id, { event, dueUs: this.#clock.nowUs() + delayUs, handle });
  }

  #cancel(actor: Actor, id: string): void {
    const t = actor.timers.get(id);
    if (t === undefined) return;
    t.handle?.cancel();
    actor.timers.delete(id);
  }

  #perform(c: Command): void {
    this.#outputs.push(c);
    switch (c.type) {
      case "sendAdvert": {
        const stats = this.#stats.get(c.instance);
        if (stats) {
          stats.advert_sent++;
          if (c.priority === 0) stats.pri_zero_sent++;
        }
        this.#dispatch.dispatch(c);
        return;
      }
      case "addVips": {
        const stats = this.#stats.get(c.instance);
        if (stats) stats.become_master++;
        this.#dispatch.dispatch(c);
        return;
      }
      case "removeVips": {
        const stats = this.#stats.get(c.instance);
        const state = topState(this.#actors.get(`instance:${c.instance}`)?.snapshot.value);
        if (stats && state !== "INIT") stats.release_master++;
        this.#dispatch.dispatch(c);
        return;
      }
      case "garp":
      case "notify":
      case "fifo":
      case "log":
        this.#dispatch.dispatch(c);
        return;
      case "memberReport": {
        const group = this.#actors.get(`group:${c.group}`);
        const ev: SyncGroupEvent = {
          type: "MEMBER",
          instance: c.instance,
          state: c.state,
          wantMaster: c.wantMaster,
          faulted: c.faulted,
        };
        if (group) this.#deferred.push(() => this.#send(group, ev));
        return;
      }
      case "syncMember": {
        const inst = this.#actors.get(`instance:${c.instance}`);
        const ev: InstanceEvent = { type: "SYNC", state: c.state };
        if (inst) this.#send(inst, ev);
        return;
      }
      case "trackerChanged": {
        this.#trackerOk.set(c.tracker, c.ok);
        if (c.value !== undefined) this.#trackerValue.set(c.tracker, c.value);
        for (const name of this.#trackerUsers.get(c.tracker) ?? []) {
          const inst = this.#actors.get(`instance:${name}`);
          if (inst) this.#send(inst, this.#trackingEvent(name));
        }
        return;
      }
      case "shiftTimer": {
        const inst = this.#actors.get(`instance:${c.instance}`);
        const t = inst?.timers.get(c.timer);
        if (inst === undefined || t === undefined) return;
        const nowUs = this.#clock.nowUs();
        this.#schedule(inst, c.timer, t.event, Math.max(0, t.dueUs + c.deltaUs - nowUs));
        return;
      }
    }
  }

  // ---- views --------------------------------------------------------------------------------

  /** Top-level state of an instance (`BACKUP`, `MASTER`, …) or group (`group:G1`). */
  state(name: string): string {
    const a = this.#actors.get(name.includes(":") ? name : `instance:${name}`);
    return a ? topState(a.snapshot.value) : "UNKNOWN";
  }
  /** Effective priority of an instance. */
  priority(name: string): number {
    return this.#actors.get(`instance:${name}`)?.snapshot.context.priority ?? 0;
  }
  stats(name: string): InstanceStats | undefined {
    return this.#stats.get(name);
  }
  /** Pending timers: actor, id, due time (per actor, in scheduling order). */
  timers(): Array<{ key: string; dueUs: number }> {
    const out: Array<{ key: string; dueUs: number }> = [];
    for (const a of this.#actors.values())
      for (const [id, t] of a.timers) out.push({ key: `${a.id} ${id}`, dueUs: t.dueUs });
    return out;
  }
  /** Machine steps served from a remembered fixpoint instead of XState (see `memoizeFixpoints`). */
  get fixpointHits(): number {
    return this.#fixpointHits;
  }
  /** sha256 over every `out` journal line so far. */
  outputHash(): string {
    return this.#hash.copy().digest("hex");
  }
  get seq(): number {
    return this.#seq;
  }
  close(): void {
    this.#rx?.unsubscribe();
    this.#effects.close();
    for (const a of this.#actors.values()) {
      for (const t of a.timers.values()) t.handle?.cancel();
      a.timers.clear();
    }
    this.#opts.journal?.close();
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/** A received datagram as a journalable input. */
export const rxInput = (d: Datagram): Input => ({
  kind: "rx",
  family: d.family,
  src: d.src,
  dst: d.dst,
  ttl: d.ttl,
  ifname: d.ifname,
  hex: hex(d.bytes),
});
