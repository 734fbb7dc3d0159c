/**
 * The production clock: the same (due, seq) heap as the virtual clock (clock.ts), driven by the
 * process timers on a monotonic time base, with precise timers for the down timer (see `RealClock`).
 * Not pure: process timers and, in the daemon, a blocking sleep on a kernel timer.
 */
import { ClockBase, HeapTimer, type TimerHandle, TimerHeap, type TimerOptions } from "./clock.ts";

/** What a `RealClock` needs from the host: a monotonic microsecond time, one-shot process timers and immediates. */
export interface TimerHost {
  nowUs(): number;
  setTimeout(fn: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` on the next turn of the event loop, after pending I/O. */
  setImmediate(fn: () => void): unknown;
  clearImmediate(handle: unknown): void;
  /**
   * Blocks the thread on a kernel timer for `us` (a sleep, not a spin: no CPU is used). Without it,
   * a precise timer's last stretch is waited for on loop turns.
   */
  readonly sleepUs?: ((us: number) => void) | undefined;
}

/**
 * Process timers and the monotonic `performance.now()` (the same uv_hrtime as `process.hrtime`, read
 * without BigInt arithmetic: it is read several times per received advert), whole microseconds
 * since construction.
 */
export const processTimerHost = (sleepUs?: (us: number) => void): TimerHost => {
  const originMs = performance.now();
  return {
    sleepUs,
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
/** The longest timeout Node's setTimeout keeps (2^31 − 1 ms, about 24.8 days). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * The kernel's slack on a poll timeout, in µs per millisecond waited: Linux lets an `epoll_wait` of
 * T ms end anywhere up to T/1000 late (T/200 for a niced process; capped at 100 ms) so that wake-ups
 * can be coalesced — 3.6 ms for a 3.6 s down timer. A precise timer wakes early by the niced
 * process's worst case, then waits the rest on a short timeout (whose slack is the 50 µs floor).
 */
export const KERNEL_SLACK_US_PER_MS = 5;

/**
 * libuv counts a poll timeout from the start of the loop turn that armed it, so the work the turn
 * still does after arming delays the wake-up by as much. A cold step — the priority-0 advert that sets
 * a handover's 30 ms Skew_Time, a first MASTER → BACKUP — took up to 3.5 ms after arming here. A
 * precise timer more than twice this far from due wakes up this much earlier still (and waits the
 * rest on a short timeout).
 */
export const TURN_WORK_US = 5_000;

/**
 * A sleep on a kernel timer ends late: by the timer's slack (50 µs) and by the time an idle CPU takes
 * to run the sleeper again — 150–600 µs measured on this project's 2-vCPU virtual machine. The last
 * stretch's sleep therefore ends this much before due, and the rest is waited for on loop turns.
 */
export const SLEEP_MARGIN_US = 300;

/**
 * Timers one wake-up fires at most; the rest wait for the next turn of the event loop (a
 * millisecond), so that sockets and signals are served in between. Far more than a daemon's timers
 * due at once; it bounds a timer that re-arms itself with no delay, which would otherwise hold the
 * process in one wake-up for ever.
 */
export const MAX_TIMERS_PER_WAKE = 10_000;

/**
 * Production clock: the same (due, seq) heap as the virtual clock, driven by ONE process wake-up armed
 * for the earliest deadline. Re-arming a timer (a BACKUP's down timer on every advert) is a move
 * within the heap (`moveTimerToUs`), not a `clearTimeout` + `setTimeout` pair per advert; the wake-up
 * moves only when the earliest deadline moves earlier, and is dropped when no live timer is left (a process that
 * exits when its event loop drains is not held by cancelled timers). Due timers fire in (due, seq)
 * order, and never before `dueUs` on this clock's own time.
 *
 * Precision. Node's timers have millisecond resolution and count from the loop's cached time, which
 * lags hrtime by up to a millisecond or more, so a `setTimeout` of the rounded-up rest can wake early,
 * and a second whole-millisecond timeout then makes the timer 1–2 ms late; and libuv counts the poll
 * timeout from the loop time of the turn that armed it, so work done after arming in that turn makes
 * the wake-up late by as much (`TURN_WORK_US`); and the kernel ends a long poll up to 0.1–0.5 % of it
 * late (`KERNEL_SLACK_US_PER_MS`). A `precise` timer (the down timer, whose lateness is failover
 * latency) is therefore armed to wake 1–2 ms EARLY plus that slack and that work (a wait ends in a
 * second, short one) and finishes its last `FINISH_WINDOW_US` mostly asleep on a kernel timer when
 * the host can sleep (the daemon: a spin would use up the process's scheduler slice right before the
 * takeover, and the kernel then preempts it for the work its own address change wakes): it first
 * runs the timer's rehearsal (`TimerOptions.prepare`: the down timer's machine step, computed ahead,
 * which the firing 1–3 ms later takes if nothing changed meanwhile, and meets warm caches either
 * way), sleeps until `SLEEP_MARGIN_US` before due, and waits the rest on loop turns (pending I/O
 * served between them); without a sleeping host, all on loop turns (`setImmediate`), checking hrtime
 * each turn. Either way it fires within one loop turn of its due time. Other timers (adverts, GARP
 * pacing) wake on the rounded-up millisecond and re-arm if early, as spinning for each of a thousand
 * instances' adverts would cost CPU for nothing a peer can see.
 */
export class RealClock extends ClockBase {
  readonly #host: TimerHost;
  /** With no live timer left, no process timer either: nothing keeps the process alive for nothing. */
  readonly #timers = new TimerHeap(() => this.#disarm());
  /** The armed process timer or immediate, and the due time it was armed for. */
  #armed: unknown;
  #armedImmediate = false;
  #armedForUs = Number.POSITIVE_INFINITY;
  #firing = false;
  /** Reads the input waiting in the sockets (`readInputFirst`). */
  #readInput: (() => void) | undefined;
  readonly #wake = (): void => this.#fireDue();
  /**
   * A precise timer's last stretch with a host that sleeps: its rehearsal (once per due time), asleep
   * until `SLEEP_MARGIN_US` before due, then loop turns until due (I/O served between them).
   */
  readonly #finish = (): void => {
    // due already: this turn's I/O has been served (immediates run after the poll phase)
    if (this.#armedForUs <= this.#host.nowUs()) {
      this.#fireDue();
      return;
    }
    const top = this.#timers.top();
    if (top?.prepare !== undefined && top.preparedForUs !== top.dueUs) {
      top.preparedForUs = top.dueUs;
      // The input waiting first (an advert a transport let wait, which restarts this down timer):
      // a timer it moves is not rehearsed or slept for, the wake-up is armed for the earliest again.
      if (this.#readInput !== undefined) {
        this.#readInput();
        const next = this.#timers.top();
        if (next !== top || top.dueUs !== this.#armedForUs) {
          this.#disarm();
          if (next !== undefined) this.#arm(next);
          return;
        }
      }
      try {
        top.prepare();
      } catch {
        // a rehearsal changes nothing: its failure is the firing's to report
      }
    }
    const leftUs = Math.min(FINISH_WINDOW_US, this.#armedForUs - this.#host.nowUs());
    if (leftUs > SLEEP_MARGIN_US) this.#host.sleepUs?.(leftUs - SLEEP_MARGIN_US);
    // I/O that came meanwhile (an advert that re-arms this timer) is served before it fires
    this.#armed = this.#host.setImmediate(this.#wake);
  };

  constructor(host: TimerHost = processTimerHost()) {
    super();
    this.#host = host;
  }

  nowUs(): number {
    return this.#host.nowUs();
  }

  /**
   * `read` delivers the input already waiting in the host's sockets (the transport's `readPending`).
   * It is called once per wake-up, before the first due `precise` timer fires, so that a down timer
   * never fires ahead of an advert that arrived while the process was busy (a start-up step, a
   * burst of effect outcomes: the event loop runs due timers before it polls the sockets, and
   * reads a busy socket a datagram or a batch per turn); the advert restarts the timer instead.
   * Inputs read here are journaled before the timer's, so replay follows the same order.
   */
  readInputFirst(read: (() => void) | undefined): void {
    this.#readInput = read;
  }

  /** Number of live pending timers. */
  get pending(): number {
    return this.#timers.pending;
  }

  setTimerUs(fn: () => void, delayUs: number, opts?: TimerOptions): TimerHandle {
    const t = this.#timers.add(
      this.#host.nowUs() + Math.max(0, delayUs),
      fn,
      opts?.precise === true,
      opts?.prepare,
    );
    if (!this.#firing && t.dueUs < this.#armedForUs) this.#arm(t);
    return t;
  }

  /**
   * In place (see `Clock.moveTimerToUs`). Moved later, a timer the process wake-up was armed for leaves
   * that wake-up early: it finds nothing due and re-arms for the earliest deadline then, so timers
   * restarted by every advert wake the process once per down interval in all, not once each.
   */
  moveTimerToUs(handle: TimerHandle, dueUs: number): boolean {
    if (!(handle instanceof HeapTimer)) return false;
    const at = Math.max(dueUs, this.#host.nowUs()); // a time already past is now
    if (!this.#timers.move(handle, at) && !this.#timers.rearm(handle, at)) return false;
    if (!this.#firing && handle.dueUs < this.#armedForUs) this.#arm(handle);
    return true;
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
      this.#armed = this.#host.setImmediate(this.#host.sleepUs === undefined ? this.#wake : this.#finish);
      return;
    }
    this.#armedImmediate = false;
    // precise: wake 1–2 ms early plus the kernel's slack on this wait plus the rest of this turn's
    // work (at least 2 ms from now, as leftUs > FINISH_WINDOW_US); a wait thus ends in a second,
    // short one. Else rounded up.
    const delayMs = t.precise
      ? Math.max(
          2,
          Math.floor((leftUs - (leftUs > 2 * TURN_WORK_US ? TURN_WORK_US : 0)) / 1000) -
            1 -
            Math.ceil((leftUs / 1000) * (KERNEL_SLACK_US_PER_MS / 1000)),
        )
      : Math.ceil(leftUs / 1000);
    // Node fires a longer timeout after 1 ms (TimeoutOverflowWarning): a timer further out (a
    // keepalived interval may be years) wakes at the limit, finds nothing due and re-arms.
    this.#armed = this.#host.setTimeout(this.#wake, Math.min(delayMs, MAX_TIMEOUT_MS));
  }

  /**
   * Fires every timer due by now (at most `MAX_TIMERS_PER_WAKE`), in order (a throwing callback does
   * not lose the others), then re-arms.
   */
  #fireDue(): void {
    this.#armed = undefined;
    this.#armedForUs = Number.POSITIVE_INFINITY;
    this.#firing = true;
    let readInput = this.#readInput;
    let fired = 0;
    try {
      for (let top = this.#timers.top(); top !== undefined; top = this.#timers.top()) {
        if (top.dueUs > this.#host.nowUs() || fired++ >= MAX_TIMERS_PER_WAKE) break;
        if (top.precise && readInput !== undefined) {
          // what the input moves (a down timer restarted by its advert) is found again by `top()`
          readInput();
          readInput = undefined;
          continue;
        }
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
