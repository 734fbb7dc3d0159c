import { delay, interval, of, take } from "rxjs";
import { describe, expect, it } from "vitest";
import { MAX_TIMERS_PER_INSTANT, VirtualClock } from "../../src/runtime/clock.ts";
import { Prng } from "../../src/runtime/prng.ts";

describe("VirtualClock", () => {
  it("fires each timer at its own due time within one advance, FIFO on ties", () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    clock.setTimerUs(() => log.push(`b@${clock.nowUs()}`), 2000);
    clock.setTimerUs(() => log.push(`a@${clock.nowUs()}`), 1000);
    clock.setTimerUs(() => log.push(`c@${clock.nowUs()}`), 2000);
    const cancelled = clock.setTimerUs(() => log.push("never"), 1500);
    cancelled.cancel();
    clock.advanceTo(10_000);
    expect(log).toEqual(["a@1000", "b@2000", "c@2000"]);
    expect(clock.nowUs()).toBe(10_000);
  });

  it("a timer re-arming itself with no delay is an error at the instant, not a hang", () => {
    const clock = new VirtualClock();
    let fired = 0;
    const loop = (): void => {
      fired++;
      clock.setTimerUs(loop, 0);
    };
    clock.setTimerUs(loop, 5);
    expect(() => clock.advanceTo(10)).toThrow(/timers fired at 5 µs without time moving/);
    expect(fired).toBe(MAX_TIMERS_PER_INSTANT);
    // Many timers at one instant that do not re-arm are fine.
    const busy = new VirtualClock();
    for (let i = 0; i < 5_000; i++) busy.setTimerUs(() => {}, 7);
    busy.advanceTo(7);
    expect(busy.pending).toBe(0);
  });

  it("re-arming timers inside callbacks start from the callback's time", () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.nowUs());
      if (fired.length < 4) clock.setTimerUs(tick, 1_000_000);
    };
    clock.setTimerUs(tick, 1_000_000);
    clock.advanceTo(3_500_000);
    expect(fired).toEqual([1_000_000, 2_000_000, 3_000_000]);
  });

  it("serves RxJS time operators as a scheduler", () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    interval(1000, clock)
      .pipe(take(3))
      .subscribe((n) => seen.push(`tick${n}@${clock.nowUs()}`));
    of("x")
      .pipe(delay(2500, clock))
      .subscribe((x) => seen.push(`${x}@${clock.nowUs()}`));
    clock.advanceTo(5_000_000);
    expect(seen).toEqual(["tick0@1000000", "tick1@2000000", "x@2500000", "tick2@3000000"]);
  });

  it("compacts cancelled entries and keeps ordering", () => {
    const clock = new VirtualClock();
    const out: number[] = [];
    for (let i = 0; i < 1000; i++) clock.setTimerUs(() => out.push(i), 1000 + i).cancel();
    clock.setTimerUs(() => out.push(-1), 5);
    expect(clock.pending).toBe(1);
    clock.advanceTo(1e6);
    expect(out).toEqual([-1]);
  });
});

describe("Prng", () => {
  it("is reproducible from its seed and forks independently", () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const xs = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xs);
    expect(new Prng(43).nextU32()).not.toBe(xs[0]);
    expect(new Prng(42).fork("link").nextU32()).not.toBe(xs[0]);
  });

  it("draws integers in range and integer-ratio chances", () => {
    const p = new Prng(7);
    let hits = 0;
    for (let i = 0; i < 10_000; i++) {
      const v = p.int(3, 9);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(9);
      if (p.chance(1, 4)) hits++;
    }
    expect(hits).toBeGreaterThan(2200);
    expect(hits).toBeLessThan(2800);
    expect(p.chance(0, 5)).toBe(false);
    expect(p.chance(5, 5)).toBe(true);
  });
});
