/**
 * The one clock. Every timer in Vigil — machine timers held by the host, RxJS time operators in
 * transports, probe intervals, simulated link delays — is scheduled on a `Clock`, in integer
 * microseconds (keepalived's timer resolution). The same object is an RxJS `SchedulerLike`
 * (milliseconds, as RxJS expects), so operators take it explicitly: `delay(5, clock)`.
 *
 * `VirtualClock` is a binary heap ordered by (due, seq): O(log n) schedule, O(1) lazy cancel,
 * FIFO among equal deadlines, and each timer fires at its own due time even inside one large
 * `advanceTo`. `RealClock` wraps the process timers with a monotonic time base. Not pure (it holds
 * the time), but deterministic for the virtual one.
 */
import { type SchedulerAction, type SchedulerLike, Subscription } from "rxjs";

/** A cancellable timer handle. */
export interface TimerHandle {
  readonly dueUs: number;
  cancel(): void;
  /**
   * The owner no longer needs this wake-up on time (it only re-arms for a later deadline): a precise
   * timer may then fire at the process timers' millisecond resolution. Only the real clock has it.
   */
  relax?(): void;
}

/** How a timer wants to be woken: `precise` ones finish their wait off the millisecond timers (RealClock). */
export interface TimerOptions {
  readonly precise?: boolean;
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
   * True when a timer re-armed for a LATER time may keep its earlier wake-up and re-arm only then
   * (the timer table does so on the real clock, where deadlines never tie exactly). The virtual
   * clock leaves it unset: there the (due, seq) order of every arming is part of the determinism.
   */
  readonly lazyRearm?: boolean;
}

/** What a heap timer tells its clock when it is cancelled. */
interface CancelSink {
  cancelled(): void;
}

/** A heap timer of either clock: heap entry and handle in one object (no closure per timer). */
class HeapTimer implements TimerHandle {
  live = true;
  constructor(
    readonly dueUs: number,
    readonly seq: number,
    readonly fn: () => void,
    private readonly sink: CancelSink,
    public precise = false,
  ) {}

  relax(): void {
    this.precise = false;
  }

  cancel(): void {
    if (!this.live) return;
    this.live = false;
    this.sink.cancelled();
  }
}

const before = (a: HeapTimer, b: HeapTimer): boolean =>
  a.dueUs < b.dueUs || (a.dueUs === b.dueUs && a.seq < b.seq);

/**
 * Pending timers as a binary heap ordered by (due, seq): O(log n) push and pop, O(1) lazy cancel
 * (a cancelled entry stays until it reaches the top or the dead outnumber the live, then compaction).
 */
class TimerHeap {
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

  add(dueUs: number, fn: () => void, precise = false): HeapTimer {
    const entry = new HeapTimer(dueUs, this.#seq++, fn, this.sink, precise);
    this.#push(entry);
    return entry;
  }

  /** The earliest live timer (dead ones on top are dropped), or undefined when idle. */
  top(): HeapTimer | undefined {
    while (this.#heap.length > 0 && this.#heap[0]?.live === false) {
      this.#pop();
      this.#dead--;
    }
    return this.#heap[0];
  }

  /** Removes the top entry (call after `top()` returned it) and marks it fired. */
  take(top: HeapTimer): void {
    this.#pop();
    top.live = false;
  }

  #push(entry: HeapTimer): void {
    const h = this.#heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as HeapTimer;
      if (before(parent, entry)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = entry;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= h.length) break;
        const right = h[c + 1];
        if (right !== undefined && before(right, h[c] as HeapTimer)) c++;
        const child = h[c] as HeapTimer;
        if (before(last, child)) break;
        h[i] = child;
        i = c;
      }
      h[i] = last;
    }
  }

  #compact(): void {
    const live = this.#heap.filter((e) => e.live);
    this.#heap.length = 0;
    this.#dead = 0;
    for (const e of live) this.#push(e);
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

abstract class ClockBase implements Clock {
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

/** Deterministic discrete-event clock for tests and simulations. Time moves only when told. */
export class VirtualClock extends ClockBase {
  readonly #timers = new TimerHeap();
  #nowUs: number;

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

  /** Fires every timer due at or before `targetUs`, each at its own time, then sets now = targetUs. */
  advanceTo(targetUs: number): void {
    for (;;) {
      const top = this.#timers.top();
      if (top === undefined || top.dueUs > targetUs) break;
      this.#timers.take(top);
      this.#nowUs = Math.max(this.#nowUs, top.dueUs);
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

/** What a `RealClock` needs from the host: a monotonic microsecond time, one-shot process timers and immediates. */
export interface TimerHost {
  nowUs(): number;
  setTimeout(fn: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` on the next turn of the event loop, after pending I/O. */
  setImmediate(fn: () => void): unknown;
  clearImmediate(handle: unknown): void;
}

/**
 * Process timers and the monotonic `performance.now()` (the same uv_hrtime as `process.hrtime`, read
 * without BigInt arithmetic: it is read several times per received advert), whole microseconds
 * since construction.
 */
const processHost = (): TimerHost => {
  const originMs = performance.now();
  return {
    nowUs: () => Math.floor((performance.now() - originMs) * 1000),
    setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    setImmediate: (fn) => setImmediate(fn),
    clearImmediate: (h) => clearImmediate(h as ReturnType<typeof setImmediate>),
  };
};

/**
 * A precise timer's last stretch, at most this long, is waited for on event-loop turns (immediates,
 * I/O still served between them) rather than on a millisecond process timer.
 */
export const FINISH_WINDOW_US = 3_000;

/**
 * Production clock: the same (due, seq) heap as the virtual clock, driven by ONE process wake-up armed
 * for the earliest deadline. Re-arming a timer (a BACKUP's down timer on every advert) is a heap push
 * and a lazy cancel, not a `clearTimeout` + `setTimeout` pair per advert; the wake-up moves only
 * when the earliest deadline moves earlier, and is dropped when no live timer is left (a process that
 * exits when its event loop drains is not held by cancelled timers). Due timers fire in (due, seq)
 * order, and never before `dueUs` on this clock's own time.
 *
 * Precision. Node's timers have millisecond resolution and count from the loop's cached time, which
 * lags hrtime by up to a millisecond or more, so a `setTimeout` of the rounded-up rest can wake early,
 * and a second whole-millisecond timeout then makes the timer 1–2 ms late; and libuv counts the poll
 * timeout from the loop time of the turn that armed it, so work done after arming in that turn makes
 * the wake-up late by as much. A `precise` timer (the down timer, whose lateness is failover latency)
 * is therefore armed to wake 1–2 ms EARLY (whole milliseconds rounded down, minus one) and finishes
 * its last `FINISH_WINDOW_US` at most on event-loop turns
 * (`setImmediate`, I/O served in between), checking hrtime each turn: it fires within one loop turn
 * of its due time. Other timers (adverts, GARP pacing, a wake-up kept only to re-arm later: `relax`)
 * wake on the rounded-up millisecond and re-arm if early, as spinning for each of a thousand
 * instances' adverts would cost CPU for nothing a peer can see.
 */
export class RealClock extends ClockBase {
  readonly lazyRearm = true;
  readonly #host: TimerHost;
  /** With no live timer left, no process timer either: nothing keeps the process alive for nothing. */
  readonly #timers = new TimerHeap(() => this.#disarm());
  /** The armed process timer or immediate, and the due time it was armed for. */
  #armed: unknown;
  #armedImmediate = false;
  #armedForUs = Number.POSITIVE_INFINITY;
  #firing = false;
  readonly #wake = (): void => this.#fireDue();

  constructor(host: TimerHost = processHost()) {
    super();
    this.#host = host;
  }

  nowUs(): number {
    return this.#host.nowUs();
  }

  /** Number of live pending timers. */
  get pending(): number {
    return this.#timers.pending;
  }

  setTimerUs(fn: () => void, delayUs: number, opts?: TimerOptions): TimerHandle {
    const t = this.#timers.add(this.#host.nowUs() + Math.max(0, delayUs), fn, opts?.precise === true);
    if (!this.#firing && t.dueUs < this.#armedForUs) this.#arm(t);
    return t;
  }

  #disarm(): void {
    if (this.#armed !== undefined) {
      if (this.#armedImmediate) this.#host.clearImmediate(this.#armed);
      else this.#host.clearTimeout(this.#armed);
    }
    this.#armed = undefined;
    this.#armedForUs = Number.POSITIVE_INFINITY;
  }

  #arm(t: HeapTimer): void {
    this.#disarm();
    this.#armedForUs = t.dueUs;
    const leftUs = Math.max(0, t.dueUs - this.#host.nowUs());
    if (t.precise && leftUs <= FINISH_WINDOW_US) {
      this.#armedImmediate = true;
      this.#armed = this.#host.setImmediate(this.#wake);
      return;
    }
    this.#armedImmediate = false;
    // precise: wake 1–2 ms early (at least 2 ms from now, as leftUs > FINISH_WINDOW_US); else rounded up.
    const delayMs = t.precise ? Math.floor(leftUs / 1000) - 1 : Math.ceil(leftUs / 1000);
    this.#armed = this.#host.setTimeout(this.#wake, delayMs);
  }

  /** Fires every timer due by now, in order (a throwing callback does not lose the others), then re-arms. */
  #fireDue(): void {
    this.#armed = undefined;
    this.#armedForUs = Number.POSITIVE_INFINITY;
    this.#firing = true;
    try {
      for (let top = this.#timers.top(); top !== undefined; top = this.#timers.top()) {
        if (top.dueUs > this.#host.nowUs()) break;
        this.#timers.take(top);
        top.fn();
      }
    } finally {
      this.#firing = false;
      const next = this.#timers.top();
      if (next !== undefined) this.#arm(next);
    }
  }
}
