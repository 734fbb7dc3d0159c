/**
 * A `Node`: one Vigil daemon's core, and its event loop. Built from a `NodeSpec` (derived from a
 * validated Config) and ports (Clock, Transport, effect ports, Journal). Every input — datagram bytes,
 * timer fired, probe result, link change, address change, admin command, effect result — goes through
 * ONE ordered queue, becomes a schema-checked `Event {seq, atUs, input}`, is appended to the journal
 * (event-record.ts: its `in` line, then its outputs' `out` line and the output hash), and only then is
 * applied to the pure machines (actor-registry.ts). What a step emits is interpreted
 * here: delayed raises and cancels go to the timer table (timer-table.ts, timers named by the machines),
 * routing messages to tracking.ts (before and apart from effects), effect commands to the effect
 * actors through effect-dispatch.ts, whose outcomes come back through the same queue as `effect` inputs
 * (failures logged as keepalived does, effect-reaction.ts). With `timerSource: "journal"` (replay)
 * timers are tracked but never fire: the recorded timer events are applied instead — the same path.
 * The whole decision state is one JSON value: `checkpoint()` takes it, `Node.restore` continues from
 * it (checkpoint.ts). A `reload` input (SIGHUP) swaps the spec in place, keepalived's way
 * (reload-apply.ts); after one, checkpoints carry the spec in force. LVS health checkers are machines
 * of the node too (checkers.ts): their starts and probe results are `check` inputs, their timers live
 * in the timer table, and their probes, IPVS batches and notify scripts go to the host's `checks`
 * port (live only; replay applies the recorded results). Not pure: this is the host.
 */
import type { Subscription } from "rxjs";
import type { CheckerEvent } from "../../machines/checker.machine.ts";
import { type Command, isRouting, type Message } from "../../machines/events.ts";
import { MASTER_DOWN_TIMER_ID } from "../../machines/instance-commands.ts";
import { xstateMsToUs } from "../../machines/timers.ts";
import type { Transport } from "../../transports/transport.ts";
import type { Actor, StateChange } from "./actor-registry.ts";
import {
  type CheckHost,
  type CheckPorts,
  type LvsOutput,
  ProbeTable,
  resumeProbes,
  runChecks,
} from "./checkers.ts";
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type Checkpoint,
  decodeNodeCheckpoint,
  type NodeState,
} from "./checkpoint.ts";
import type { Clock } from "./clock.ts";
import { EffectActors } from "./effect-actors.ts";
import { EventRecord } from "./event-record.ts";
import { checkInput, type Event, type Input, rxInput } from "./input.ts";
import type { RxMemo } from "./input-text.ts";
import { headerLine, type Journal } from "./journal.ts";
import { type StepAction, topState } from "./machine-driver.ts";
import { type ApplyHost, applyInput } from "./node-apply.ts";
import { NodeParts, type PartsDeps } from "./node-parts.ts";
import { restoreState, type StateParts, saveState } from "./node-state.ts";
import type { EffectPorts } from "./ports.ts";
import type { ReloadHost } from "./reload-apply.ts";
import type { NodeSpec } from "./spec.ts";
import { countCommand, type InstanceStats } from "./stats.ts";
import type { TimerMemo } from "./timer-table.ts";
import type { RoutingHost } from "./tracking.ts";

/**
 * One thing a step produced: an effect command, a routing message, a state change of an actor, or
 * what an LVS checker step hands to the host (checkers.ts).
 */
export type Output = Message | StateChange | LvsOutput;

/**
 * An event's outputs before its first: shared, and never pushed to (`#push` replaces it), handed out
 * read-only. Not frozen: a for-of over a frozen array (status-model.ts reads every event's outputs)
 * takes V8's slow path, 2.5 times the time of a plain one here.
 */
const NO_OUTPUTS: Output[] = [];

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
   * Keep the output hash (`outputHash()`: sha256 over every `out` line), which replay and simulations
   * compare; default true. The daemon leaves it out: nothing reads it there, and it cost a line and
   * a hash update per advert sent.
   */
  readonly hashOutputs?: boolean;
  /** Reuse a step that left a snapshot unchanged for the same event (exact, actor-registry.ts); default true. */
  readonly memoizeFixpoints?: boolean;
  /** How long an effect actor waits for a port before reporting TIMEOUT (default EFFECT_TIMEOUT_US). */
  readonly effectTimeoutUs?: number;
  /** The LVS checkers' probes, IPVS and notify scripts (absent: nothing is probed; results must come as inputs). */
  readonly checks?: CheckPorts;
}

/** A checkpoint; after a reload it also carries the spec in force (the journal header has the first one). */
export type NodeCheckpoint = Checkpoint & { readonly spec?: NodeSpec; readonly configHash?: string };

export class Node {
  readonly #opts: NodeOptions;
  readonly #clock: Clock;
  /** The spec-derived parts (node-parts.ts); a reload replaces them. */
  #p: NodeParts;
  /** The spec differs from the journal header's (a reload happened): checkpoints carry it. */
  #specInCheckpoint = false;
  #configHash: string;
  readonly #queue: Input[] = [];
  /** When each queued input happened, if before its turn (NaN: at its turn). */
  readonly #queueAt: number[] = [];
  /** A queued timer input's memo (timer-table.ts), else undefined. */
  readonly #queueMemo: Array<TimerMemo | undefined> = [];
  readonly #deferred: Array<() => void> = [];
  /** The `in` and `out` lines of each event, and the output hash (event-record.ts). */
  readonly #record: EventRecord;
  readonly #effects: EffectActors;
  readonly #routing: RoutingHost;
  #seq = 0;
  #draining = false;
  /** Inside an event's application (a checkpoint then would be half a step). */
  #applying = false;
  /** The current event's outputs: `NO_OUTPUTS` until its first (`#push`), so most events allocate no array. */
  #outputs: Output[] = NO_OUTPUTS;
  /** A step's state changes (reused; moved to `#outputs` after the step). */
  readonly #changes: StateChange[] = [];
  /** The time of the event being applied. */
  #atUs = 0;
  /** Instance actors whose snapshot the current event changed (for the transport's `unsteady`). */
  readonly #changed: Actor[] = [];
  /** The current event (re)started a down timer: a BACKUP heard its master. */
  #downRestarted = false;
  /** Counts the transport's `unsteady` hints: a datagram named steady in this epoch is not named again. */
  #hintEpoch = 0;
  /** LVS probes in flight. */
  readonly #probes = new ProbeTable();
  readonly #checkHost: CheckHost;
  #rx: Subscription | undefined;

  /** A fresh node (writes the journal header). `Node.restore` builds one from a checkpoint instead. */
  constructor(spec: NodeSpec, opts: NodeOptions);
  constructor(spec: NodeSpec, opts: NodeOptions, from: { seq: number; state: NodeState });
  constructor(spec: NodeSpec, opts: NodeOptions, from?: { seq: number; state: NodeState }) {
    this.#opts = opts;
    this.#clock = opts.clock;
    this.#configHash = opts.configHash ?? "";
    this.#record = new EventRecord(opts.journal, opts.hashOutputs !== false);
    this.#effects = new EffectActors({
      clock: opts.clock,
      ports: opts.ports,
      transport: opts.transport,
      live: opts.timerSource !== "journal",
      ...(opts.effectTimeoutUs === undefined ? {} : { timeoutUs: opts.effectTimeoutUs }),
      report: (outcome) => this.input(outcome),
    });
    const live = opts.timerSource !== "journal";
    this.#checkHost = {
      timers: () => this.#p.timers,
      ports: live ? opts.checks : undefined,
      probes: this.#probes,
      output: (o) => this.#push(o),
      emit: (m) => this.#emit(m),
      input: (i) => this.input(i),
    };
    this.#routing = {
      send: (a, e) => this.#send(a, e),
      defer: (f) => this.#deferred.push(f),
      shiftTimer: (actor, id, deltaUs) => this.#p.timers.shift(actor, id, deltaUs),
    };
    if (from === undefined) opts.journal?.append(headerLine(opts.vigilVersion, opts.configHash, spec));
    // Initial actions are interpreted for a fresh node only: a restored one takes its timers from the checkpoint.
    const initial: Array<[Actor, readonly StepAction[]]> = [];
    this.#p = new NodeParts(spec, this.#deps(), (a, actions) => initial.push([a, actions]));
    if (from === undefined) for (const [a, actions] of initial) this.#interpret(a, actions);
    else {
      restoreState(this.#parts(), from.state);
      this.#seq = from.seq;
    }
    if (opts.transport) this.#rx = opts.transport.inbound$.subscribe((d) => this.input(rxInput(d), d.rxAtUs));
  }

  /**
   * A node that continues exactly where `checkpoint` was taken: same machine snapshots, timers re-armed
   * from their due times on `opts.clock` (overdue ones fire at once), tracker values, counters and seq.
   * Writes nothing to `opts.journal` (a new segment starts with `journal.startSegment`). Throws a
   * `CheckpointError` for a checkpoint that does not decode or is of another version, and an Error when
   * it does not fit `spec` (other actors or trackers).
   */
  static restore(spec: NodeSpec, checkpoint: NodeCheckpoint, opts: NodeOptions): Node {
    const { checkpoint: cp, state } = decodeNodeCheckpoint(checkpoint);
    // A checkpoint taken after a reload carries the spec (and config hash) then in force.
    const own = checkpoint.spec;
    const hash = checkpoint.configHash === undefined ? {} : { configHash: checkpoint.configHash };
    const node = new Node(own ?? spec, { ...opts, ...hash }, { seq: cp.seq, state });
    node.#specInCheckpoint = own !== undefined;
    return node;
  }

  /** The node's whole decision state (checkpoint.ts); taken between events. */
  checkpoint(atUs: number = this.#clock.nowUs()): NodeCheckpoint {
    if (this.#applying) throw new Error("checkpoint() inside an event's application");
    const state = saveState(this.#parts());
    return {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      seq: this.#seq,
      atUs,
      state,
      ...(this.#specInCheckpoint ? { spec: this.#p.spec, configHash: this.#configHash } : {}),
    };
  }

  /** The spec in force (the configuration's, or the last reload's). */
  get spec(): NodeSpec {
    return this.#p.spec;
  }
  /** The hash of the configuration in force. */
  get configHash(): string {
    return this.#configHash;
  }

  #deps(): PartsDeps {
    const o = this.#opts;
    return {
      clock: this.#clock,
      effects: this.#effects,
      live: o.timerSource !== "journal",
      memoize: o.memoizeFixpoints ?? true,
      hasTransport: o.transport !== undefined,
      fire: (atUs, memo) => this.#enqueue(memo.input, atUs, memo),
      stepNowUs: () => (this.#applying ? this.#atUs : this.#clock.nowUs()),
      rehearse: (actor, id) => this.#rehearse(actor, id),
    };
  }

  /**
   * A precise timer's rehearsal (real clock): the machine step its firing will take, computed ahead
   * (actor-registry.ts `rehearse`) — nothing journaled or emitted; the firing 1–3 ms later takes it
   * if nothing changed the actor meanwhile, and meets warm caches either way.
   */
  #rehearse(actor: string, id: string): void {
    const a = this.#p.actors.get(actor);
    const t = this.#p.timers.get(actor, id);
    if (!this.#applying && a !== undefined && t !== undefined) this.#p.actors.rehearse(a, t.event);
  }

  /** A reload's new parts, holding the state carried over (reload.ts); same node, queue and journal. */
  #rebuild(spec: NodeSpec, configHash: string, carried: NodeState): void {
    const { parts, initial } = NodeParts.carried(spec, this.#deps(), carried, this.#p);
    this.#p.close();
    this.#p = parts;
    this.#configHash = configHash;
    this.#hintEpoch++;
    this.#opts.transport?.unsteadyAll?.();
    this.#specInCheckpoint = true;
    for (const [a, actions] of initial) this.#interpret(a, actions);
  }

  #reloadHost(): ReloadHost {
    return {
      parts: () => this.#p,
      emit: (m) => this.#emit(m),
      send: (a, e) => this.#send(a, e),
      save: () => saveState(this.#parts()),
      rebuild: (spec, hash, carried) => this.#rebuild(spec, hash, carried),
      check: (vs, event) => this.#check(vs, { ...event, atUs: this.#atUs }),
    };
  }

  #parts(): StateParts {
    return this.#p.state(this.#effects);
  }

  // ---- inputs and the event loop ------------------------------------------------------------

  start(): void {
    this.input({ kind: "admin", command: "start" });
    this.startCheckers();
  }

  /**
   * Starts every LVS virtual server whose checkers are idle (at start, and after a reload for new or
   * changed ones): one journaled `check` START input each, with its warmup draws from the host.
   */
  startCheckers(): void {
    const c = this.#p.checkers;
    for (const vs of c.names) {
      if (c.state(vs)?.phase !== "idle") continue;
      const warmupDraws = [...(this.#opts.checks?.draws(vs, c.drawsFor(vs)) ?? [])];
      this.input({ kind: "check", vs, event: { type: "START", warmupDraws } });
    }
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

  /**
   * Enqueues one live input; the queue drains synchronously in arrival order. An input that happened
   * before its turn (`happenedAtUs`: a datagram's receive time — the kernel's, when the transport
   * has it, else its read's; a timer's due time when it woke within the process timers' resolution,
   * timer-table.ts) is stamped with that time — never before the previous event — so the timers it
   * restarts count from the datagram's arrival (keepalived's count from its loop's wake-up), not from
   * after a busy process got round to it or the receive path ran; and a repeating
   * timer (the MASTER's advert) keeps its period on the real clock as on the virtual one, instead of
   * adding the millisecond process timer's rounding to every period.
   */
  input(input: Input, happenedAtUs?: number): void {
    this.#enqueue(input, happenedAtUs, undefined);
  }

  /** `input`, with a fired timer's memo (its input is `memo.input`, checked when the memo was made). */
  #enqueue(input: Input, happenedAtUs: number | undefined, memo: TimerMemo | undefined): void {
    // Datagrams a transport left waiting (`Transport.steady`) arrived before this input's turn: they
    // are queued ahead of it (each with its arrival time), so every input is applied in the order it came.
    const deferred = this.#opts.transport;
    if (!this.#draining && deferred?.readDeferred !== undefined) {
      this.#draining = true;
      try {
        deferred.readDeferred();
      } finally {
        this.#draining = false;
      }
    }
    // Nothing queued and nothing being applied (the usual case): applied at once, without the queue.
    const direct = !this.#draining && this.#queue.length === 0;
    if (!direct) {
      this.#queue.push(input);
      this.#queueAt.push(happenedAtUs ?? Number.NaN);
      this.#queueMemo.push(memo);
      if (this.#draining) return;
    }
    this.#draining = true;
    try {
      if (direct) this.#applyNext(input, happenedAtUs ?? Number.NaN, memo);
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift())
        this.#applyNext(next, this.#queueAt.shift() ?? Number.NaN, this.#queueMemo.shift());
    } finally {
      this.#draining = false;
    }
  }

  /** Applies the next input, stamped with when it happened (NaN: now), never before the last event. */
  #applyNext(input: Input, happenedAtUs: number, memo: TimerMemo | undefined): void {
    const nowUs = this.#clock.nowUs();
    const atUs = happenedAtUs < nowUs ? Math.max(happenedAtUs, this.#atUs) : nowUs;
    // Live inputs are typed values: checked structurally (checkInput ≡ the Input schema).
    const checked = memo !== undefined ? memo.input : checkInput(input);
    this.#applyEvent({ seq: this.#seq + 1, atUs, input: checked }, memo);
  }

  /**
   * Applies the datagrams the transport left waiting (`Transport.steady`), each at its arrival time:
   * a view of the counters (status, metrics, dumps) calls it first, so it counts every advert that has
   * arrived, as keepalived's would. Nothing happens inside an event's application.
   */
  readDeferred(): void {
    if (!this.#draining) this.#opts.transport?.readDeferred?.();
  }

  /** Replay: applies a recorded event (its seq and time are kept). The clock must already be at `atUs`. */
  applyRecorded(ev: Event): readonly Output[] {
    return this.#applyEvent(ev);
  }

  #applyEvent(ev: Event, timerMemo?: TimerMemo): readonly Output[] {
    const j = this.#opts.journal;
    // A new segment starts with the state before this event (the journal's segment hooks), taken
    // at the event's time: a real clock has moved on since the event was stamped.
    if (j?.shouldRotate?.() === true) j.startSegment?.(this.checkpoint(ev.atUs));
    this.#seq = ev.seq;
    this.#atUs = ev.atUs;
    const input = ev.input;
    // A received datagram's or fired timer's memo: its text and what the journal and the step remember of it.
    const rx = input.kind === "rx" ? this.#record.rx(input) : undefined;
    this.#record.in(ev, rx ?? timerMemo);
    this.#outputs = NO_OUTPUTS;
    this.#changed.length = 0;
    this.#downRestarted = false;
    this.#p.actors.newInput();
    this.#applying = true;
    try {
      applyInput(this.#applyHost, input, rx, timerMemo);
      for (let f = this.#deferred.shift(); f !== undefined; f = this.#deferred.shift()) f();
    } finally {
      this.#applying = false;
    }
    const outputs = this.#outputs;
    if (this.#opts.transport?.steady !== undefined)
      this.#hintTransport(this.#opts.transport, input, outputs, rx);
    if (outputs.length > 0)
      this.#record.out(
        ev.seq,
        outputs,
        Number.isSafeInteger(ev.seq) ? this.#p.actors.outText(outputs) : undefined,
      );
    this.#opts.onApplied?.(ev, outputs);
    return outputs;
  }

  /**
   * Tells the transport which adverts may wait (`Transport.steady`): a datagram that restarted an
   * instance's down timer and otherwise changed no actor and emitted nothing — a BACKUP's master,
   * heard again — will do the same again until an instance changes (its own datagrams then come at
   * once again: `unsteady`). Any other datagram is never named (one rejected, for another VRID, a
   * lower priority a BACKUP ignores): a flood of those is read as it comes.
   */
  #hintTransport(t: Transport, input: Input, outputs: readonly Output[], rx: RxMemo | undefined): void {
    const changed = this.#changed;
    if (input.kind === "rx") {
      if (outputs.length === 0 && changed.length === 0 && this.#downRestarted) {
        // named once per epoch: the same datagram again, with nothing unsteady since, is known
        if (rx?.steadyEpoch !== this.#hintEpoch) {
          t.steady?.(input);
          if (rx !== undefined) rx.steadyEpoch = this.#hintEpoch;
        }
      } else if (input.hex.length >= 4) {
        this.#hintEpoch++;
        t.unsteady?.(input.ifname, input.family, Number.parseInt(input.hex.slice(2, 4), 16));
      }
    }
    for (const a of changed) {
      const p = a.spec?.params;
      if (p === undefined) continue;
      this.#hintEpoch++;
      t.unsteady?.(p.ifname, p.family, p.vrid);
    }
    changed.length = 0;
  }

  /** What a step reaches of this node (node-apply.ts). */
  readonly #applyHost: ApplyHost = ((node: Node): ApplyHost => ({
    get parts() {
      return node.#p;
    },
    get atUs() {
      return node.#atUs;
    },
    send: (a, e) => node.#send(a, e),
    emit: (m) => node.#emit(m),
    check: (vs, event) => node.#check(vs, event),
    reloadHost: () => node.#reloadHost(),
  }))(this);

  /** Steps one virtual server's checkers; checkers.ts interprets what the step decided. */
  #check(vs: string, event: CheckerEvent): void {
    runChecks(this.#checkHost, vs, this.#p.checkers.step(vs, event));
  }

  // ---- what a step emits --------------------------------------------------------------------

  #send(actor: Actor, event: { readonly type: string }): void {
    const changes = this.#changes;
    changes.length = 0; // (nothing left behind by a step that threw)
    const before = actor.snapshot;
    const actions = this.#p.actors.step(actor, event, changes);
    if (actor.snapshot !== before && actor.spec !== undefined) this.#changed.push(actor);
    if (changes.length > 0) {
      for (const c of changes) this.#push(c);
      this.#p.countChange(actor, changes[0] as StateChange);
      changes.length = 0;
    }
    // (emptied before: what the outputs route to other actors steps them through here again)
    this.#interpret(actor, actions);
  }

  /** Adds one output of the current event (a one-element array for its first: most have one or none). */
  #push(o: Output): void {
    if (this.#outputs === NO_OUTPUTS) this.#outputs = [o];
    else this.#outputs.push(o);
  }

  #interpret(actor: Actor, actions: readonly StepAction[]): void {
    for (const a of actions) {
      if (a.type === "xstate.raise") {
        const p = a.params as { event: { type: string }; id?: string; delay?: number };
        if (p.delay === undefined) continue; // consumed inside the macrostep
        if (p.id === undefined)
          throw new Error(`${actor.id}: a delayed ${p.event.type} without a timer name`);
        this.#p.timers.schedule(actor.id, p.id, p.event, xstateMsToUs(p.delay), actor.timers);
        if (p.id === MASTER_DOWN_TIMER_ID) this.#downRestarted = true;
      } else if (a.type === "xstate.cancel") {
        this.#p.timers.cancel(actor.id, (a.params as { sendId: string }).sendId, actor.timers);
      } else if (!a.type.startsWith("xstate.")) {
        // A named message action: its params are the messages of that type (machines/named-actions.ts).
        for (const m of a.params as readonly Message[]) {
          if (m.type !== a.type) throw new Error(`${actor.id}: a ${m.type} message in a ${a.type} action`);
          this.#emit(m, actor);
        }
      }
    }
  }

  /** Records one message; routing is delivered (tracking.ts), effects are dispatched. `from`: the actor whose step emitted it. */
  #emit(m: Message, from?: Actor): void {
    this.#push(m);
    if (isRouting(m)) this.#p.tracking.route(m, this.#routing);
    else this.#perform(m, from);
  }

  #perform(c: Command, from: Actor | undefined): void {
    const name = "instance" in c ? c.instance : "";
    // An instance's own command: its stats and spec from the actor, not looked up by name.
    const own = from !== undefined && from.stats !== undefined && from.name === name;
    const stats = own ? from.stats : this.#p.stats.get(name);
    if (stats !== undefined) countCommand(stats, c);
    this.#p.dispatch.dispatch(c, own ? from : undefined);
  }

  // ---- views --------------------------------------------------------------------------------

  /** Top-level state of an instance (`BACKUP`, `MASTER`, …) or group (`group:G1`). */
  state(name: string): string {
    const a = this.#p.actors.get(name.includes(":") ? name : `instance:${name}`);
    return a ? topState(a.snapshot.value) : "UNKNOWN";
  }
  /** Effective priority of an instance. */
  priority(name: string): number {
    return this.#p.actors.instance(name)?.snapshot.context.priority ?? 0;
  }
  stats(name: string): InstanceStats | undefined {
    return this.#p.stats.get(name);
  }
  /** Pending timers: `actor timerName` and due time (per actor, in arming order). */
  timers(): Array<{ key: string; dueUs: number }> {
    return this.#p.timers.list();
  }
  /** The pending timer `id` of `actor` (its due time), or undefined: one lookup, not a scan. */
  pendingTimer(actor: string, id: string): { readonly dueUs: number } | undefined {
    return this.#p.timers.get(actor, id);
  }
  /** Machine steps served from a remembered fixpoint instead of XState (see `memoizeFixpoints`). */
  get fixpointHits(): number {
    return this.#p.actors.fixpointHits;
  }
  /** sha256 over every `out` journal line so far (since the checkpoint, for a restored node); throws without `hashOutputs`. */
  outputHash(): string {
    return this.#record.outputHash();
  }
  get seq(): number {
    return this.#seq;
  }
  /** One virtual server's checker state (machines/lvs-pool.ts), for views and tests. */
  checkerState(vs: string): ReturnType<NodeParts["checkers"]["state"]> {
    return this.#p.checkers.state(vs);
  }
  /**
   * After `Node.restore` (live): starts again the LVS probes that were in flight when the checkpoint
   * was taken (checkers.ts `resumeProbes`).
   */
  resumeProbes(): void {
    resumeProbes(this.#checkHost, this.#p.checkers);
  }
  /** LVS probes in flight (leak checks). */
  get probesInFlight(): number {
    return this.#probes.size;
  }
  close(): void {
    this.#probes.abortAll();
    this.#rx?.unsubscribe();
    this.#effects.close();
    this.#p.close();
    this.#opts.journal?.close();
  }
}

/** The host side of the LVS checkers (checkers.ts), as a node's `checks` option takes it. */
export type { CheckPorts };
/** A received datagram as a journalable input (input.ts keeps every fact a receive check needs). */
export { rxInput };
