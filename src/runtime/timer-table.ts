/**
 * The node's timer table: every pending delayed raise of every machine, by actor and by the timer's
 * own name (`masterDown`, `advert`, `garpDelay`, `garpRefresh`, `preemptDelay`), with its due time
 * and the event it will deliver. Timers run on the injected clock (`live`), or are only tracked
 * (replay: the journal's recorded timer events are applied instead). Each arming gets a sequence
 * number, so a table saved in a checkpoint is re-armed in the order the clock would have fired it
 * (due time, then arming order) and a restored node fires its timers exactly as the original would.
 * Not pure (holds clock handles).
 */
import type { Clock, TimerHandle } from "./clock.ts";

/** One pending timer as a checkpoint holds it. */
export interface SavedTimer {
  readonly actor: string;
  readonly id: string;
  readonly event: { readonly type: string };
  readonly dueUs: number;
  /** Arming order (ties of `dueUs` fire in this order). */
  readonly armSeq: number;
}

interface Entry {
  readonly event: { readonly type: string };
  readonly dueUs: number;
  readonly armSeq: number;
  readonly handle: TimerHandle | undefined;
}

export class TimerTable {
  /** Per actor (in registration order), pending timers in arming order. */
  readonly #byActor = new Map<string, Map<string, Entry>>();
  /** One clock callback per (actor, timer id), made once and reused on every re-arm. */
  readonly #fire = new Map<string, () => void>();
  #armSeq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly live: boolean,
    private readonly fire: (actor: string, id: string) => void,
  ) {}

  register(actor: string): void {
    if (!this.#byActor.has(actor)) this.#byActor.set(actor, new Map());
  }

  /** Arms (or re-arms, replacing) timer `id` of `actor` to deliver `event` after `delayUs`. */
  schedule(actor: string, id: string, event: { readonly type: string }, delayUs: number): void {
    this.#arm(actor, id, event, this.clock.nowUs() + delayUs, ++this.#armSeq);
  }

  #arm(actor: string, id: string, event: { readonly type: string }, dueUs: number, armSeq: number): void {
    const timers = this.#table(actor);
    timers.get(id)?.handle?.cancel();
    let handle: TimerHandle | undefined;
    if (this.live) {
      const key = `${actor} ${id}`;
      let f = this.#fire.get(key);
      if (f === undefined) {
        f = () => this.fire(actor, id);
        this.#fire.set(key, f);
      }
      handle = this.clock.setTimerUs(f, Math.max(0, dueUs - this.clock.nowUs()));
    }
    // Map.set on an existing id keeps its position; delete first so listings follow arming order.
    timers.delete(id);
    timers.set(id, { event, dueUs, armSeq, handle });
  }

  cancel(actor: string, id: string): void {
    const timers = this.#byActor.get(actor);
    const t = timers?.get(id);
    if (t === undefined) return;
    t.handle?.cancel();
    timers?.delete(id);
  }

  /** Removes a due timer and returns its event (undefined when it is not pending: cancelled, unknown). */
  take(actor: string, id: string): { readonly type: string } | undefined {
    const timers = this.#byActor.get(actor);
    const t = timers?.get(id);
    if (t === undefined) return undefined;
    timers?.delete(id);
    return t.event;
  }

  /** Moves a pending timer by `deltaUs` (never before now); false when no such timer is pending. */
  shift(actor: string, id: string, deltaUs: number): boolean {
    const t = this.#byActor.get(actor)?.get(id);
    if (t === undefined) return false;
    this.schedule(actor, id, t.event, Math.max(0, t.dueUs + deltaUs - this.clock.nowUs()));
    return true;
  }

  /** Pending timers: `actor id` and due time, per actor in arming order. */
  list(): Array<{ key: string; dueUs: number }> {
    const out: Array<{ key: string; dueUs: number }> = [];
    for (const [actor, timers] of this.#byActor)
      for (const [id, t] of timers) out.push({ key: `${actor} ${id}`, dueUs: t.dueUs });
    return out;
  }

  save(): { readonly armSeq: number; readonly timers: readonly SavedTimer[] } {
    const timers: SavedTimer[] = [];
    for (const [actor, table] of this.#byActor)
      for (const [id, t] of table)
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
      this.#arm(t.actor, t.id, t.event, t.dueUs, t.armSeq);
    }
    // Listing order (per actor, arming order) as in the original table.
    for (const table of this.#byActor.values()) {
      const sorted = [...table].sort((a, b) => a[1].armSeq - b[1].armSeq);
      table.clear();
      for (const [id, e] of sorted) table.set(id, e);
    }
    this.#armSeq = saved.armSeq;
  }

  close(): void {
    for (const table of this.#byActor.values()) {
      for (const t of table.values()) t.handle?.cancel();
      table.clear();
    }
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
