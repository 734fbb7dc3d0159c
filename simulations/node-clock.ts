/**
 * A node's own clock over the one shared VirtualClock: it runs fast or slow by `driftPpm` parts
 * per million, and each timer fires late by a seeded uniform jitter in [0, jitterUs] (a loaded
 * host). The node's journal and timers live in its local time, which never goes backwards, and a
 * timer never fires before its local due time (so `vigil replay --verify` holds). RxJS scheduling
 * is passed to the shared clock unscaled (the daemon's Node does not use it in a simulation). Not
 * pure (it schedules on the shared clock), deterministic.
 */
import type { SchedulerAction, Subscription } from "rxjs";
import type { Clock, TimerHandle, VirtualClock } from "../src/runtime/clock.ts";
import type { Prng } from "../src/runtime/prng.ts";

export interface NodeClockOptions {
  /** Local time runs this many millionths faster (negative: slower); |driftPpm| < 1,000,000. */
  readonly driftPpm: number;
  /** Each timer fires up to this much (virtual) time late. */
  readonly jitterUs: number;
  /** Draws the jitter (one fork per node). */
  readonly prng: Prng;
}

const PPM = 1_000_000;

export class NodeClock implements Clock {
  readonly #base: VirtualClock;
  readonly #driftPpm: number;
  readonly #jitterUs: number;
  readonly #prng: Prng;

  constructor(base: VirtualClock, options: NodeClockOptions) {
    if (!(Math.abs(options.driftPpm) < PPM)) throw new RangeError(`drift ${options.driftPpm} ppm`);
    this.#base = base;
    this.#driftPpm = options.driftPpm;
    this.#jitterUs = Math.max(0, options.jitterUs);
    this.#prng = options.prng;
  }

  /** Local time at shared time `virtualUs` (monotonic). */
  localUs(virtualUs: number): number {
    return virtualUs + Math.floor((virtualUs * this.#driftPpm) / PPM);
  }

  nowUs(): number {
    return this.localUs(this.#base.nowUs());
  }

  setTimerUs(fn: () => void, delayUs: number): TimerHandle {
    const dueUs = this.nowUs() + Math.max(0, Math.round(delayUs));
    const base = this.#base.nowUs();
    let at = Math.max(base, Math.floor((dueUs * PPM) / (PPM + this.#driftPpm)));
    while (this.localUs(at) < dueUs) at++;
    while (at > base && this.localUs(at - 1) >= dueUs) at--;
    if (this.#jitterUs > 0) at += this.#prng.int(0, this.#jitterUs);
    const handle = this.#base.setTimerUs(fn, at - base);
    return { dueUs, cancel: () => handle.cancel() };
  }

  setTimeout(fn: () => void, timeoutMs: number): TimerHandle {
    return this.setTimerUs(fn, Math.round(timeoutMs * 1000));
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    handle?.cancel();
  }

  now(): number {
    return this.nowUs() / 1000;
  }

  schedule<T>(
    work: (this: SchedulerAction<T>, state?: T) => void,
    delayMs?: number,
    state?: T,
  ): Subscription {
    return this.#base.schedule(work as (this: SchedulerAction<T>, state: T) => void, delayMs, state as T);
  }
}
