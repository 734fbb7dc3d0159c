/**
 * A node's own clock over the shared VirtualClock (simulations/node-clock.ts): drift scales local
 * time, a timer never fires before its local due time, and jitter is bounded and seeded.
 */
import { describe, expect, it } from "vitest";
import { NodeClock } from "../../simulations/node-clock.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { Prng } from "../../src/runtime/prng.ts";

const fire = (drift: number, jitter: number, seed: number, delays: number[]): Array<[number, number]> => {
  const base = new VirtualClock();
  const c = new NodeClock(base, { driftPpm: drift, jitterUs: jitter, prng: new Prng(seed) });
  const out: Array<[number, number]> = [];
  for (const d of delays) {
    const h = c.setTimerUs(() => out.push([base.nowUs(), c.nowUs() - h.dueUs]), d);
  }
  base.advanceTo(100_000_000);
  return out;
};

describe("NodeClock", () => {
  it("runs fast or slow by its drift", () => {
    const base = new VirtualClock();
    const fast = new NodeClock(base, { driftPpm: 50_000, jitterUs: 0, prng: new Prng(1) });
    const slow = new NodeClock(base, { driftPpm: -50_000, jitterUs: 0, prng: new Prng(1) });
    base.advanceTo(10_000_000);
    expect([fast.nowUs(), slow.nowUs()]).toEqual([10_500_000, 9_500_000]);
    expect(() => new NodeClock(base, { driftPpm: 1_000_000, jitterUs: 0, prng: new Prng(1) })).toThrow(
      RangeError,
    );
  });

  it("fires each timer at the first shared instant its local due time is reached, never before", () => {
    for (const drift of [-99_999, -50_000, -7, 0, 3, 50_000, 99_999]) {
      const got = fire(drift, 0, 1, [1, 999_999, 1_000_000, 3_609_375, 7_777_777]);
      for (const [, lateUs] of got) expect(lateUs, `drift ${drift}`).toBeGreaterThanOrEqual(0);
      for (const [, lateUs] of got) expect(lateUs, `drift ${drift}`).toBeLessThanOrEqual(1);
    }
    expect(fire(-50_000, 0, 1, [950_000]).map(([at]) => at)).toEqual([1_000_000]);
  });

  it("jitter makes timers late by at most jitterUs, the same for the same seed", () => {
    const a = fire(0, 30_000, 7, [1_000_000, 2_000_000, 3_000_000, 4_000_000]);
    expect(a.every(([, late]) => late >= 0 && late <= 30_000)).toBe(true);
    expect(a.some(([, late]) => late > 0)).toBe(true);
    expect(fire(0, 30_000, 7, [1_000_000, 2_000_000, 3_000_000, 4_000_000])).toEqual(a);
    expect(fire(0, 30_000, 8, [1_000_000, 2_000_000, 3_000_000, 4_000_000])).not.toEqual(a);
  });
});
