/**
 * The node's timer table: every pending delayed raise of every machine, by actor and by the timer's
 * own name (`masterDown`, `advert`, `garpDelay`, `garpRefresh`, `preemptDelay`), with its due time
 * and the event it will deliver. Timers run on the injected clock (`live`), or are only tracked
 * (replay: the journal's recorded timer events are applied instead). Each arming gets a sequence
 * number, so a table saved in a checkpoint is re-armed in the order the clock would have fired it
 * (due time, then arming order) and a restored node fires its timers exactly as the original would.
 * On a clock that can move a timer (`moveTimerToUs`: the real one) a re-arm moves the armed clock
 * timer in place. So a BACKUP's down timer, restarted by every advert, costs an O(1) move per
 * advert (clock.ts `TimerHeap.move`) and no process wake-up until it is due, not a cancel and a new
 * clock timer per advert (nor, as a lazily kept earlier wake-up would, a wake-up per instance per
 * down interval: up to ≈ 75 a second at 250 instances whose timers are spread,
 * test/runtime/real-clock.test.ts).
 * The down timer (`masterDown`) is armed `precise` (real-clock.ts): its lateness is failover and handover
 * latency. A timer armed in a step counts from the time of the event being applied (`stepNowUs`), as
 * keepalived's count from the time its loop woke for the event — not from when the step reached the
 * arming, which on a real clock is later by the step's own run time (a cold step after a second's
 * sleep takes milliseconds: a down timer counted from there fired that much late). A virtual clock
 * (simulation, replay) does not move during a step, so both are the same there. Likewise a timer's
 * own event counts from its due time when the real clock woke for it within the process timers'
 * resolution (`happenedAtUs`): a MASTER's adverts keep their period instead of drifting by the
 * millisecond timer's rounding every time.
 * Not pure (holds clock handles).
 */
import type { Actor } from "./actor-registry.ts";
import type { Clock, TimerHandle, TimerOptions } from "./clock.ts";
import type { Input } from "./input.ts";
import { inputText } from "./input-text.ts";

/** One pending timer as a checkpoint holds it. */
export interface SavedTimer {
  readonly actor: string;
  readonly id: string;
  readonly event: { readonly type: string };
  readonly dueUs: number;
  /** Arming order (ties of `dueUs` fire in this order). */
  readonly armSeq: number;
}

/**
 * A timer of one actor; re-arming updates it in place (one object and one clock callback per timer
 * name, kept once it has fired or been cancelled: a MASTER's advert timer, fired and armed again every
 * advert_int, allocates nothing and does not shrink and regrow its actor's map).
 */
interface Entry {
  /** Armed: false once it has fired (taken) or been cancelled, until it is armed again. */
  pending: boolean;
  event: { readonly type: string };
  dueUs: number;
  /** How long after its arming base it was due (its period, for a repeating timer). */
  delayUs: number;
  armSeq: number;
  /** The clock timer: pending, or (the entry fired) the one that fired, which the next arming re-arms. */
  handle: TimerHandle | undefined;
  /** Calls the table's `fire` for this (actor, id) once due; made once, reused on every re-arm. */
  readonly fire: () => void;
  /** How the clock wakes it (a precise one with its rehearsal); made once. */
  readonly opts: TimerOptions;
  /** What its firings hand to the node; made once. */
  readonly memo: TimerMemo;
}

type TimerInput = Extract<Input, { kind: "timer" }>;

/**
 * What a node keeps of one timer's firing (one per timer entry, made with it and handed over with
 * every firing), so that a MASTER's advert timer, firing every advert_int, costs no lookup by name:
 * the input (checked once), its journal text, the journal dictionary entry it last had (`dict`,
 * checked before use: segment-format.ts), the entry itself (`TimerTable.takeFired`) and the actor it
 * fires for (node-apply.ts), both valid for its owner table's parts only (a reload makes new ones).
 */
export class TimerMemo {
  readonly input: TimerInput;
  /** The input's journal text: `inputText(input)`. */
  readonly text: string;
  dict = -1;
  /** node-apply.ts: the actor of the owner's parts it fires for, once looked up. */
  actor: Actor | undefined = undefined;
  /** Its entry in `owner` (set as the entry is made). */
  entry: Entry | undefined = undefined;
  constructor(
    /** The table whose entry this is. */
    readonly owner: TimerTable,
    actor: string,
    id: string,
  ) {
    this.input = Object.freeze({ kind: "timer", actor, id } as const);
    this.text = inputText(this.input);
  }
}

/** What a table needs besides its clock. */
export interface TimerTableOptions {
  /** What an arming counts from: the applied event's time inside a step; by default the clock's now. */
  readonly armBaseUs?: () => number;
  /** A precise timer's rehearsal (real clock, shortly before it fires): computes what it will do, changes nothing. */
  readonly rehearse?: (actor: string, id: string) => void;
}

/** Timers whose lateness a peer sees as takeover latency: armed precise on the real clock. */
const PRECISE_TIMER_IDS: ReadonlySet<string> = new Set(["masterDown"]);
const PRECISE = { precise: true } as const;
const COARSE = { precise: false } as const;

/**
 * How late a process timer wakes for its own reasons, not the process's: the millisecond rounding
 * and the loop's cached time (≈ 1 ms, `TIMER_ROUNDING_US`), plus the kernel's slack on the poll, up
 * to 0.1 % of the wait (1 ms for a second) — at most `TIMER_RESOLUTION_US`, and at most half the
 * timer's delay. Lateness up to this is not carried into the schedule; lateness beyond it (the
 * process was busy: a burst of a thousand instances' steps, a stall) is. Measured at 1,000 × 0.1 s
 * (docs/benchmarks.md, scale): 2 ms there made a delay of a busy burst two off gaps (+d, then −d
 * back on schedule) where 1 ms makes the second one at most 1 ms; at 1 s a smaller bound than 2 ms
 * moved adverts on the kernel's slack alone.
 */
export const TIMER_ROUNDING_US = 1_000;
export const TIMER_RESOLUTION_US = 2_000;
export const timerResolutionUs = (delayUs: number): number =>
  Math.min(TIMER_RESOLUTION_US, TIMER_ROUNDING_US + Math.floor(delayUs / 1000), Math.floor(delayUs / 2));

/**
 * When a timer's event happened, fired at `nowUs`: its due time, or at most its resolution
 * (`timerResolutionUs`) before now. So a timer woken within the resolution keeps its period
 * exactly; one woken later than that moves on — timers that fell due together but could not all be
 * served at once spread out instead of falling due together again, and a timer re-armed from a stall
 * is never overdue at once (no burst of catch-up adverts).
 */
export const happenedAtUs = (dueUs: number, delayUs: number, nowUs: number): number =>
  Math.max(dueUs, nowUs - timerResolutionUs(delayUs));

/**
 * One actor's timers in one table (`TimerTable.register`), for the actor to carry: a step's timer
 * commands then find its timers without a lookup by actor name. A BACKUP re-arms one down timer per
 * advert, and with a thousand actors those lookups were 4 % of its CPU samples (docs/benchmarks.md,
 * scale, fourteenth pass). Used only by the table that made it (`owner`); another table looks the
 * actor up by name.
 */
export interface ActorTimers {
  readonly owner: TimerTable;
  /** @internal the table's own map for the actor */
  readonly byId: Map<string, unknown>;
}

const byArmSeq = (a: [string, Entry], b: [string, Entry]): number => a[1].armSeq - b[1].armSeq;

export class TimerTable {
  /**
   * Per actor (in registration order), pending timers. A Map keeps first-insertion order and a re-arm
   * updates in place, so listings sort by `armSeq` (arming order) instead.
   */
  readonly #byActor = new Map<string, Map<string, Entry>>();
  /**
   * The entry `takeFired` last took, until a lookup of another timer: a fired timer's step cancels and
   * re-arms that same timer (a MASTER's advert), and finds it here instead of by name. Forgotten at the
   * first miss, so other steps (a BACKUP's re-armed down timer, per advert) pay no comparison.
   */
  #fired: Entry | undefined;
  /** Closed: its entries are gone from its maps (a memo's entry is then no longer the lookup's). */
  #closed = false;
  #armSeq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly live: boolean,
    /** A timer is due: its event happened at `atUs`; `memo` is the entry's (`TimerMemo`: `memo.input` names it). */
    private readonly fire: (atUs: number, memo: TimerMemo) => void,
    private readonly opts: TimerTableOptions = {},
  ) {}

  #armBaseUs(): number {
    return this.opts.armBaseUs?.() ?? this.clock.nowUs();
  }

  /** Registers `actor` (once; again: the same) and returns its timers, for the actor to carry. */
  register(actor: string): ActorTimers {
    return { owner: this, byId: this.#table(actor) };
  }

  /**
   * Arms (or re-arms, replacing) timer `id` of `actor` to deliver `event` `delayUs` after
   * `armBaseUs()`; `slot`, this table's `register(actor)`, saves the lookup by actor.
   */
  schedule(
    actor: string,
    id: string,
    event: { readonly type: string },
    delayUs: number,
    slot?: ActorTimers,
  ): void {
    this.#arm(actor, id, event, this.#armBaseUs() + delayUs, delayUs, ++this.#armSeq, slot);
  }

  #arm(
    actor: string,
    id: string,
    event: { readonly type: string },
    dueUs: number,
    delayUs: number,
    armSeq: number,
    slot?: ActorTimers,
  ): void {
    let e = this.#entry(actor, id, slot);
    if (e === undefined) {
      const rehearse = this.opts.rehearse;
      const memo = new TimerMemo(this, actor, id);
      const entry: Entry = {
        pending: true,
        event,
        dueUs,
        delayUs,
        armSeq,
        handle: undefined,
        fire: () => this.#wake(entry),
        opts: !PRECISE_TIMER_IDS.has(id)
          ? COARSE
          : rehearse === undefined
            ? PRECISE
            : { precise: true, prepare: () => rehearse(actor, id) },
        memo,
      };
      memo.entry = entry;
      e = entry;
      this.#table(actor).set(id, e);
    } else {
      e.pending = true;
      e.event = event;
      e.dueUs = dueUs;
      e.delayUs = delayUs;
      e.armSeq = armSeq;
      // The same (due, seq) place as a cancel (if pending) and a new timer, without either (the real
      // clock): the pending clock timer moved, or the one that fired put back.
      if (e.handle !== undefined && this.clock.moveTimerToUs?.(e.handle, dueUs) === true) return;
      e.handle?.cancel();
      e.handle = undefined;
    }
    if (this.live) e.handle = this.clock.setTimerUs(e.fire, Math.max(0, dueUs - this.clock.nowUs()), e.opts);
  }

  /**
   * A clock timer of `e` fired: it is due (clocks never fire early), else — defensively — re-armed for
   * the rest. Its event happened at its due time, or — woken later than the process timers'
   * resolution — a little before now (`happenedAtUs`).
   */
  #wake(e: Entry): void {
    const nowUs = this.clock.nowUs();
    const leftUs = e.dueUs - nowUs;
    if (leftUs > 0) {
      e.handle = this.clock.setTimerUs(e.fire, leftUs, e.opts);
      return;
    }
    // e.handle is kept: the next arming puts the fired clock timer back (`moveTimerToUs`)
    this.fire(happenedAtUs(e.dueUs, e.delayUs, nowUs), e.memo);
  }

  /** The pending timer `id` of `actor`: its event and due time (undefined when none is pending). */
  get(
    actor: string,
    id: string,
  ): { readonly event: { readonly type: string }; readonly dueUs: number } | undefined {
    const t = this.#entry(actor, id);
    return t?.pending === true ? { event: t.event, dueUs: t.dueUs } : undefined;
  }

  /** One actor's pending timers in arming order. */
  #ordered(timers: Map<string, Entry>): Array<[string, Entry]> {
    return [...timers].filter(([, t]) => t.pending).sort(byArmSeq);
  }

  /**
   * Stops a pending timer (its clock timer too: a cancel, or nothing when it has fired — then the next
   * arming puts it back); nothing when it is not pending.
   */
  #stop(t: Entry): void {
    t.pending = false;
    t.handle?.cancel();
  }

  /** Cancels timer `id` of `actor` (`slot`: as for `schedule`). */
  cancel(actor: string, id: string, slot?: ActorTimers): void {
    const t = this.#entry(actor, id, slot);
    if (t?.pending === true) this.#stop(t);
  }

  /** Takes a due timer off the table and returns its event (undefined when it is not pending: cancelled, unknown). */
  take(actor: string, id: string): { readonly type: string } | undefined {
    const t = this.#entry(actor, id);
    if (t?.pending !== true) return undefined;
    this.#stop(t);
    return t.event;
  }

  /**
   * `take` of the timer `memo` names, by its entry when the memo is this table's (no lookup): the
   * same entry the lookup finds, as an entry, once made, stays its (actor, id)'s for the table's life.
   */
  takeFired(memo: TimerMemo): { readonly type: string } | undefined {
    const t = memo.owner === this && !this.#closed ? memo.entry : undefined;
    if (t === undefined) return this.take(memo.input.actor, memo.input.id);
    this.#fired = t;
    if (!t.pending) return undefined;
    this.#stop(t);
    return t.event;
  }

  /** Moves a pending timer by `deltaUs` (never before `armBaseUs()`); false when no such timer is pending. */
  shift(actor: string, id: string, deltaUs: number): boolean {
    const t = this.#entry(actor, id);
    if (t?.pending !== true) return false;
    this.schedule(actor, id, t.event, Math.max(0, t.dueUs + deltaUs - this.#armBaseUs()));
    return true;
  }

  /** Pending timers: `actor id` and due time, per actor in arming order. */
  list(): Array<{ key: string; dueUs: number }> {
    const out: Array<{ key: string; dueUs: number }> = [];
    for (const [actor, timers] of this.#byActor)
      for (const [id, t] of this.#ordered(timers)) out.push({ key: `${actor} ${id}`, dueUs: t.dueUs });
    return out;
  }

  save(): { readonly armSeq: number; readonly timers: readonly SavedTimer[] } {
    const timers: SavedTimer[] = [];
    for (const [actor, table] of this.#byActor)
      for (const [id, t] of this.#ordered(table))
        timers.push({ actor, id, event: t.event, dueUs: t.dueUs, armSeq: t.armSeq });
    return { armSeq: this.#armSeq, timers };
  }

  /**
   * Re-arms saved timers from their due times (overdue ones fire at once), in firing order, then in
   * their original listing order. Every actor must be registered.
   */
  restore(saved: { readonly armSeq: number; readonly timers: readonly SavedTimer[] }): void {
    const byFiring = [...saved.timers].sort((a, b) => a.dueUs - b.dueUs || a.armSeq - b.armSeq);
    for (const t of byFiring) {
      if (!this.#byActor.has(t.actor)) throw new Error(`checkpoint timer for unknown actor ${t.actor}`);
      this.#arm(t.actor, t.id, t.event, t.dueUs, Math.max(0, t.dueUs - this.clock.nowUs()), t.armSeq);
    }
    this.#armSeq = saved.armSeq;
  }

  close(): void {
    for (const table of this.#byActor.values()) {
      for (const t of table.values()) this.#stop(t);
      table.clear();
    }
    this.#fired = undefined;
    this.#closed = true;
  }

  /**
   * Timer `id` of `actor`: the fired one (`#fired`: an entry, once made, stays its (actor, id)'s until
   * `close`), else by name — in `slot`'s map when it is this table's `register(actor)`.
   */
  #entry(actor: string, id: string, slot?: ActorTimers): Entry | undefined {
    const f = this.#fired;
    if (f !== undefined) {
      if (id === f.memo.input.id && actor === f.memo.input.actor) return f;
      this.#fired = undefined;
    }
    const byId = slot?.owner === this ? (slot.byId as Map<string, Entry>) : this.#byActor.get(actor);
    return byId?.get(id);
  }

  #table(actor: string): Map<string, Entry> {
    let t = this.#byActor.get(actor);
    if (t === undefined) {
      t = new Map();
      this.#byActor.set(actor, t);
    }
    return t;
  }
}
