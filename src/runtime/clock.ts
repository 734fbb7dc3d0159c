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
}

export interface Clock extends SchedulerLike {
  /** Current time in microseconds since the clock's epoch (virtual: 0; real: process start). */
  nowUs(): number;
  /** Runs `fn` once, `delayUs` from now (negative delays count as 0). */
  setTimerUs(fn: () => void, delayUs: number): TimerHandle;
  /** XState `Clock` compatibility (milliseconds). */
  setTimeout(fn: () => void, timeoutMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** What a `VirtualTimer` tells its clock when it is cancelled. */
interface CancelSink {
  cancelled(): void;
}

/** A `VirtualClock` timer: heap entry and handle in one object (no closure per timer). */
class VirtualTimer implements TimerHandle {
  live = true;
  constructor(
    readonly dueUs: number,
    readonly seq: number,
    readonly fn: () => void,
    private readonly sink: CancelSink,
  ) {}

  cancel(): void {
    if (!this.live) return;
    this.live = false;
    this.sink.cancelled();
  }
}
type HeapEntry = VirtualTimer;

const before = (a: HeapEntry, b: HeapEntry): boolean =>
  a.dueUs < b.dueUs || (a.dueUs === b.dueUs && a.seq < b.seq);

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
  abstract setTimerUs(fn: () => void, delayUs: number): TimerHandle;

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
  readonly #heap: HeapEntry[] = [];
  #seq = 0;
  #nowUs: number;
  #dead = 0;

  constructor(startUs = 0) {
    super();
    this.#nowUs = startUs;
  }

  nowUs(): number {
    return this.#nowUs;
  }

  /** Number of live pending timers. */
  get pending(): number {
    return this.#heap.length - this.#dead;
  }

  /** Due time of the earliest live timer, or undefined when idle. */
  nextDueUs(): number | undefined {
    this.#dropDeadTop();
    return this.#heap[0]?.dueUs;
  }

  setTimerUs(fn: () => void, delayUs: number): TimerHandle {
    const entry = new VirtualTimer(
      this.#nowUs + Math.max(0, Math.round(delayUs)),
      this.#seq++,
      fn,
      this.#sink,
    );
    this.#push(entry);
    return entry;
  }

  /** Counts a cancelled (dead) heap entry; compacts when they outnumber the live ones. */
  readonly #sink: CancelSink = {
    cancelled: (): void => {
      this.#dead++;
      if (this.#dead > 64 && this.#dead > 2 * (this.#heap.length - this.#dead)) this.#compact();
    },
  };

  /** Fires every timer due at or before `targetUs`, each at its own time, then sets now = targetUs. */
  advanceTo(targetUs: number): void {
    for (;;) {
      this.#dropDeadTop();
      const top = this.#heap[0];
      if (top === undefined || top.dueUs > targetUs) break;
      this.#pop();
      top.live = false;
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

  #dropDeadTop(): void {
    while (this.#heap.length > 0 && this.#heap[0]?.live === false) {
      this.#pop();
      this.#dead--;
    }
  }

  #push(entry: HeapEntry): void {
    const h = this.#heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as HeapEntry;
      if (before(parent, entry)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = entry;
  }

  #pop(): HeapEntry | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= h.length) break;
        const right = h[c + 1];
        if (right !== undefined && before(right, h[c] as HeapEntry)) c++;
        const child = h[c] as HeapEntry;
        if (before(last, child)) break;
        h[i] = child;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  #compact(): void {
    const live = this.#heap.filter((e) => e.live);
    this.#heap.length = 0;
    this.#dead = 0;
    for (const e of live) this.#push(e);
  }
}

/** Production clock: process timers, monotonic microseconds since construction. */
export class RealClock extends ClockBase {
  readonly #originNs = process.hrtime.bigint();

  nowUs(): number {
    return Number((process.hrtime.bigint() - this.#originNs) / 1000n);
  }

  /**
   * Never fires before `dueUs` on this clock's own time: Node's timers run on a millisecond loop
   * clock that can be up to a millisecond ahead of hrtime, so an early wake-up re-arms for the rest
   * (a journal's timer events must not precede their timers' due times; replay --verify checks it).
   */
  setTimerUs(fn: () => void, delayUs: number): TimerHandle {
    const dueUs = this.nowUs() + Math.max(0, delayUs);
    let t: ReturnType<typeof setTimeout>;
    const wake = (): void => {
      const leftUs = dueUs - this.nowUs();
      if (leftUs > 0) t = setTimeout(wake, Math.ceil(leftUs / 1000));
      else fn();
    };
    t = setTimeout(wake, Math.ceil(Math.max(0, delayUs) / 1000));
    return { dueUs, cancel: () => clearTimeout(t) };
  }
}
