/**
 * The one clock. Every timer in Vigil — machine timers held by the host, RxJS time operators in
 * transports, probe intervals, simulated link delays — is scheduled on a `Clock`, in integer
 * microseconds (keepalived's timer resolution). The same object is an RxJS `SchedulerLike`
 * (milliseconds, as RxJS expects), so operators take it explicitly: `delay(5, clock)`.
 *
 * `VirtualClock` is a binary heap ordered by (due, seq): O(log n) schedule, O(1) lazy cancel,
 * FIFO among equal deadlines, and each timer fires at its own due time even inside one large
 * `advanceTo`. `RealClock` (real-clock.ts) drives the same heap from the process timers with a
 * monotonic time base. Not pure (it holds the time), but deterministic for the virtual one.
 */
import { type SchedulerAction, type SchedulerLike, Subscription } from "rxjs";

/** A cancellable timer handle. */
export interface TimerHandle {
  readonly dueUs: number;
  cancel(): void;
}

/** How a timer wants to be woken: `precise` ones finish their wait off the millisecond timers (RealClock). */
export interface TimerOptions {
  readonly precise?: boolean;
  /**
   * A precise timer's rehearsal: run once by the real clock at the start of the timer's last stretch
   * (≤ `FINISH_WINDOW_US` before due), to compute ahead, or bring into the CPU's caches, what the
   * firing will run. It must change nothing the firing could observe; what it throws is ignored.
   * Virtual clocks never call it.
   */
  readonly prepare?: () => void;
}

export interface Clock extends SchedulerLike {
  /** Current time in microseconds since the clock's epoch (virtual: 0; real: process start). */
  nowUs(): number;
  /** Runs `fn` once, `delayUs` from now (negative delays count as 0). */
  setTimerUs(fn: () => void, delayUs: number, opts?: TimerOptions): TimerHandle;
  /** XState `Clock` compatibility (milliseconds). */
  setTimeout(fn: () => void, timeoutMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  /**
   * Re-arms a pending or fired timer of this clock in place, due at `dueUs` on this clock (a time
   * already past counts as now; its callback and precision kept): the same (due, seq) order as
   * cancelling it (if pending) and setting a new one, without a new handle or (pending) a new
   * process wake-up. False (nothing done) when `handle` is neither, e.g. cancelled. Only the real
   * clock has it: a BACKUP's down timer is re-armed by every
   * advert, a MASTER's advert timer after every firing (one object per timer, not one per period:
   * an object that lives a period outlives the young generation and is collected by full GCs only).
   * Only the timer's owner may re-arm a fired handle (anyone else holding it would cancel the new arming).
   */
  moveTimerToUs?(handle: TimerHandle, dueUs: number): boolean;
}

/** What a heap timer tells its clock when it is cancelled. */
interface CancelSink {
  cancelled(): void;
}

/** A heap timer of either clock: heap entry and handle in one object (no closure per timer). */
export class HeapTimer implements TimerHandle {
  live = true;
  /** Taken off the heap by firing (not cancelled): `TimerHeap.rearm` may put it back. */
  fired = false;
  /** Position in its heap's array (-1 once taken off): a move re-sorts it from there. */
  index = -1;
  /**
   * Where the heap orders it: (keyDueUs, keySeq) ≤ (dueUs, seq) always. A move to later leaves the
   * key behind (O(1)); the entry is re-sorted only if it reaches the top so (`TimerHeap.top`).
   */
  keyDueUs: number;
  keySeq: number;
  constructor(
    public dueUs: number,
    public seq: number,
    readonly fn: () => void,
    readonly sink: CancelSink,
    readonly precise = false,
    readonly prepare?: () => void,
  ) {
    this.keyDueUs = dueUs;
    this.keySeq = seq;
  }
  /** The due time `prepare` last ran for (a moved timer is rehearsed again for its new due time). */
  preparedForUs = Number.NaN;

  cancel(): void {
    if (!this.live) return;
    this.live = false;
    this.sink.cancelled();
  }
}

const before = (a: HeapTimer, b: HeapTimer): boolean =>
  a.keyDueUs < b.keyDueUs || (a.keyDueUs === b.keyDueUs && a.keySeq < b.keySeq);

/**
 * Pending timers as a binary heap ordered by (due, seq): O(log n) push and pop, O(1) lazy cancel
 * (a cancelled entry stays until it reaches the top or the dead outnumber the live, then compaction)
 * and O(1) lazy move to later (a BACKUP's down timer, re-armed by every advert: the entry keeps its
 * place until it reaches the top, and only then sinks to where its due time is — once per down
 * interval instead of once per advert). The top is always exact: every other entry's time is at
 * least its key, and the top's key is its time.
 */
export class TimerHeap {
  readonly #heap: HeapTimer[] = [];
  #seq = 0;
  #dead = 0;

  /** `onIdle` runs when a cancel leaves no live timer (the real clock then drops its process timer). */
  constructor(private readonly onIdle?: () => void) {}

  /** Counts a cancelled (dead) heap entry; compacts when they outnumber the live ones. */
  readonly sink: CancelSink = {
    cancelled: (): void => {
      this.#dead++;
      if (this.#dead > 64 && this.#dead > 2 * (this.#heap.length - this.#dead)) this.#compact();
      if (this.#heap.length === this.#dead) this.onIdle?.();
    },
  };

  get pending(): number {
    return this.#heap.length - this.#dead;
  }

  add(dueUs: number, fn: () => void, precise = false, prepare?: () => void): HeapTimer {
    const entry = new HeapTimer(dueUs, this.#seq++, fn, this.sink, precise, prepare);
    this.#push(entry);
    return entry;
  }

  /**
   * The earliest live timer, or undefined when idle: dead entries on top are dropped, and a moved one
   * whose key is behind its time is sunk to its place.
   */
  top(): HeapTimer | undefined {
    const h = this.#heap;
    for (let t = h[0]; t !== undefined; t = h[0]) {
      if (!t.live) {
        this.#pop();
        this.#dead--;
      } else if (t.keyDueUs !== t.dueUs || t.keySeq !== t.seq) {
        t.keyDueUs = t.dueUs;
        t.keySeq = t.seq;
        this.#siftDown(0, t);
      } else return t;
    }
    return undefined;
  }

  /** Removes the top entry (call after `top()` returned it) and marks it fired. */
  take(top: HeapTimer): void {
    this.#pop();
    top.live = false;
    top.fired = true;
  }

  /**
   * Puts a fired entry of this heap back at `dueUs` with a fresh seq — the place a new `add` would give
   * it. False when it is not a fired entry of this heap.
   */
  rearm(t: HeapTimer, dueUs: number): boolean {
    if (!t.fired || t.sink !== this.sink) return false;
    t.fired = false;
    t.live = true;
    t.dueUs = dueUs;
    t.keyDueUs = dueUs;
    t.seq = this.#seq++;
    t.keySeq = t.seq;
    t.preparedForUs = Number.NaN;
    this.#push(t);
    return true;
  }

  /**
   * Moves a live entry of this heap to `dueUs` with a fresh seq — the (due, seq) place a cancel and a
   * new `add` would give it: to later in O(1) (its key stays), to earlier in O(log n). False when it
   * is not a live entry of this heap.
   */
  move(t: HeapTimer, dueUs: number): boolean {
    if (!t.live || t.sink !== this.sink || this.#heap[t.index] !== t) return false;
    t.dueUs = dueUs;
    t.seq = this.#seq++;
    if (dueUs >= t.keyDueUs) return true;
    t.keyDueUs = dueUs;
    t.keySeq = t.seq;
    this.#siftUp(t.index, t);
    return true;
  }

  #push(entry: HeapTimer): void {
    this.#heap.push(entry);
    this.#siftUp(this.#heap.length - 1, entry);
  }

  /** Puts `entry` at `i` or above, moving the parents it precedes down. */
  #siftUp(i: number, entry: HeapTimer): void {
    const h = this.#heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as HeapTimer;
      if (before(parent, entry)) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = entry;
    entry.index = i;
  }

  /** Puts `entry` at `i` or below, moving the children that precede it up. */
  #siftDown(i: number, entry: HeapTimer): void {
    const h = this.#heap;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= h.length) break;
      const right = h[c + 1];
      if (right !== undefined && before(right, h[c] as HeapTimer)) c++;
      const child = h[c] as HeapTimer;
      if (before(entry, child)) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = entry;
    entry.index = i;
  }

  #pop(): void {
    const h = this.#heap;
    const top = h[0];
    if (top !== undefined) top.index = -1;
    const last = h.pop();
    if (h.length > 0 && last !== undefined) this.#siftDown(0, last);
  }

  #compact(): void {
    const live = this.#heap.filter((e) => e.live);
    this.#heap.length = 0;
    this.#dead = 0;
    for (const e of live) {
      e.keyDueUs = e.dueUs;
      e.keySeq = e.seq;
      this.#push(e);
    }
  }
}

/** RxJS action that supports the recursive `this.schedule(state, delay)` used by `interval()`. */
class ClockAction<T> extends Subscription implements SchedulerAction<T> {
  private handle: TimerHandle | undefined;
  private state: T | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super();
    this.add(() => this.handle?.cancel());
  }

  schedule(state?: T, delayMs = 0): Subscription {
    if (this.closed) return this;
    this.handle?.cancel();
    this.state = state;
    this.handle = this.clock.setTimerUs(
      () => {
        this.handle = undefined;
        this.work.call(this, this.state);
      },
      Math.round(delayMs * 1000),
    );
    return this;
  }
}

export abstract class ClockBase implements Clock {
  abstract nowUs(): number;
  abstract setTimerUs(fn: () => void, delayUs: number, opts?: TimerOptions): TimerHandle;

  now(): number {
    return this.nowUs() / 1000;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delayMs?: number, state?: T): Subscription;
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delayMs = 0, state?: T): Subscription {
    return new ClockAction<T>(this, work).schedule(state, delayMs);
  }

  setTimeout(fn: () => void, timeoutMs: number): TimerHandle {
    return this.setTimerUs(fn, Math.round(timeoutMs * 1000));
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    handle?.cancel();
  }
}

/**
 * Timers one instant of a virtual clock may fire: far more than any cluster arms at once, so only a
 * timer that re-arms itself with no delay reaches it (time would never move on: a hang, not a run).
 */
export const MAX_TIMERS_PER_INSTANT = 100_000;

/** Deterministic discrete-event clock for tests and simulations. Time moves only when told. */
export class VirtualClock extends ClockBase {
  readonly #timers = new TimerHeap();
  #nowUs: number;
  /** The instant timers last fired at, and how many fired at it. */
  #instantUs = Number.NaN;
  #firedAtInstant = 0;

  constructor(startUs = 0) {
    super();
    this.#nowUs = startUs;
  }

  nowUs(): number {
    return this.#nowUs;
  }

  /** Number of live pending timers. */
  get pending(): number {
    return this.#timers.pending;
  }

  /** Due time of the earliest live timer, or undefined when idle. */
  nextDueUs(): number | undefined {
    return this.#timers.top()?.dueUs;
  }

  setTimerUs(fn: () => void, delayUs: number): TimerHandle {
    return this.#timers.add(this.#nowUs + Math.max(0, Math.round(delayUs)), fn);
  }

  /**
   * Fires every timer due at or before `targetUs`, each at its own time, then sets now = targetUs.
   * Throws when more than `MAX_TIMERS_PER_INSTANT` fire at one instant (a zero-delay timer loop).
   */
  advanceTo(targetUs: number): void {
    for (;;) {
      const top = this.#timers.top();
      if (top === undefined || top.dueUs > targetUs) break;
      this.#timers.take(top);
      this.#nowUs = Math.max(this.#nowUs, top.dueUs);
      if (this.#nowUs !== this.#instantUs) {
        this.#instantUs = this.#nowUs;
        this.#firedAtInstant = 0;
      }
      if (++this.#firedAtInstant > MAX_TIMERS_PER_INSTANT)
        throw new Error(
          `virtual clock: more than ${MAX_TIMERS_PER_INSTANT} timers fired at ${this.#nowUs} µs without time moving (a timer re-arming itself with no delay)`,
        );
      top.fn();
    }
    this.#nowUs = Math.max(this.#nowUs, targetUs);
  }

  advanceBy(deltaUs: number): void {
    this.advanceTo(this.#nowUs + deltaUs);
  }

  /** Fires the next live timer (if any); returns false when idle. */
  step(): boolean {
    const due = this.nextDueUs();
    if (due === undefined) return false;
    this.advanceTo(due);
    return true;
  }
}
