/**
 * The daemon's periodic `malloc_trim` (src/daemon/malloc-trim.ts): when it runs (vitest's fake
 * timers, no sleeping), that a failing trim stops nothing, that stop() ends it, and that glibc's
 * real `malloc_trim` is found and callable here.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  glibcMallocTrim,
  MALLOC_TRIM_EVERY_MS,
  MALLOC_TRIM_FIRST_MS,
  startMallocTrim,
} from "../../src/daemon/malloc-trim.ts";

describe("startMallocTrim", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("trims once after start-up, then every period, until stopped; timers do not hold the process", () => {
    const trim = vi.fn(() => 1);
    const stop = startMallocTrim({ trim });
    vi.advanceTimersByTime(MALLOC_TRIM_FIRST_MS - 1);
    expect(trim).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(trim).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(3 * MALLOC_TRIM_EVERY_MS);
    expect(trim).toHaveBeenCalledTimes(4);
    stop();
    vi.advanceTimersByTime(10 * MALLOC_TRIM_EVERY_MS);
    expect(trim).toHaveBeenCalledTimes(4);
  });

  it("a trim that throws is skipped, the next still runs; stop() before the first trim prevents it", () => {
    const trim = vi.fn(() => {
      throw new Error("no");
    });
    const stop = startMallocTrim({ trim, firstMs: 5, everyMs: 10 });
    vi.advanceTimersByTime(25);
    expect(trim).toHaveBeenCalledTimes(3);
    stop();
    const early = vi.fn();
    startMallocTrim({ trim: early, firstMs: 5 })();
    vi.advanceTimersByTime(100);
    expect(early).not.toHaveBeenCalled();
    // nothing to call: nothing scheduled
    expect(() => startMallocTrim({ trim: undefined })()).not.toThrow();
  });
});

describe("glibcMallocTrim", () => {
  it("calls glibc's malloc_trim(0) here (0 or 1)", () => {
    const trim = glibcMallocTrim();
    expect(trim).toBeDefined();
    expect([0, 1]).toContain(trim?.());
  });
});
