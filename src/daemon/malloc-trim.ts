/**
 * Hands the C heap's free pages back to the kernel (glibc `malloc_trim(0)`) a few seconds after the
 * daemon started and then periodically. Start-up (configuration checks, compiling the code that
 * runs, opening sockets) leaves several MB of freed malloc memory that glibc keeps mapped: at 1,000
 * instances `malloc_trim` takes the daemon's RSS down by ≈ 3–6 MB, and the memory stays returned
 * (docs/benchmarks.md, Scale). A trim costs one pass over the free chunks: nothing at this
 * period. Where there is no glibc (or koffi cannot load it) nothing is done. Not pure: process
 * timers and libc.
 */
import koffi from "koffi";

/** When to trim: `firstMs` after start, then every `everyMs`. */
export interface MallocTrimOptions {
  readonly firstMs?: number;
  readonly everyMs?: number;
  /** The trim itself (default: glibc's `malloc_trim(0)` through koffi; undefined when unavailable). */
  readonly trim?: (() => unknown) | undefined;
}

export const MALLOC_TRIM_FIRST_MS = 10_000;
export const MALLOC_TRIM_EVERY_MS = 60_000;

/** glibc's `malloc_trim(0)`, or undefined when it cannot be loaded here. */
export function glibcMallocTrim(): (() => number) | undefined {
  try {
    const fn = koffi.load("libc.so.6").func("int malloc_trim(size_t)") as (pad: number) => number;
    return () => fn(0);
  } catch {
    return undefined;
  }
}

/** Starts the periodic trim; returns its stop. The timers never keep the process alive. */
export function startMallocTrim(opts: MallocTrimOptions = {}): () => void {
  const trim = "trim" in opts ? opts.trim : glibcMallocTrim();
  if (trim === undefined) return () => {};
  let every: ReturnType<typeof setInterval> | undefined;
  const run = (): void => {
    try {
      trim();
    } catch {
      /* a failed trim changes nothing */
    }
  };
  const first = setTimeout(() => {
    run();
    every = setInterval(run, opts.everyMs ?? MALLOC_TRIM_EVERY_MS);
    every.unref();
  }, opts.firstMs ?? MALLOC_TRIM_FIRST_MS);
  first.unref();
  return () => {
    clearTimeout(first);
    if (every !== undefined) clearInterval(every);
  };
}
