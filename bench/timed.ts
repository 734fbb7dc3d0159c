/**
 * Runs one command under `/usr/bin/time` and `timeout(1)` for the benchmarks that compare Vigil's
 * CLI with keepalived: wall time, CPU time and peak RSS of the child tree, exit status, and how
 * much it printed. A run that hits the time limit is reported (`timedOut`), not thrown, when
 * `allowTimeout` is set (keepalived -t runs for ever on some inputs). Not pure (processes).
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

export const TIME = "/usr/bin/time";

export interface Run {
  wallMs: number;
  cpuMs: number;
  maxRssKb: number;
  status: number;
  outputLines: number;
  outputBytes: number;
  timedOut: boolean;
}

const lineCount = (s: string): number => (s === "" ? 0 : s.split("\n").filter((l) => l !== "").length);

export interface TimedOptions {
  readonly cwd: string;
  readonly timesFile: string;
  readonly timeoutS: number;
  readonly allowTimeout?: boolean;
}

/** Runs argv under /usr/bin/time (and timeout(1)); CPU and RSS are the child tree's rusage. */
export function timed(argv: readonly string[], o: TimedOptions): Run {
  const t0 = performance.now();
  const r: SpawnSyncReturns<Buffer> = spawnSync(
    TIME,
    ["-f", "%U %S %M", "-o", o.timesFile, "timeout", "-k", "5", String(o.timeoutS), ...argv],
    { cwd: o.cwd, maxBuffer: 1024 * 1024 * 1024, timeout: (o.timeoutS + 30) * 1000 },
  );
  const wallMs = performance.now() - t0;
  if (r.error !== undefined) throw new Error(`${argv.join(" ")}: ${r.error.message}`);
  const timedOut = r.status === 124 || r.status === 137 || r.signal !== null;
  if (timedOut && o.allowTimeout !== true)
    throw new Error(`${argv.join(" ")}: timed out after ${o.timeoutS} s (hung?)`);
  // time(1) writes "Command exited with non-zero status N" before the figures on failure.
  const figures = readFileSync(o.timesFile, "utf8").trim().split("\n").at(-1) ?? "";
  const [user, sys, rss] = figures.split(" ").map(Number);
  if (user === undefined || sys === undefined || rss === undefined || Number.isNaN(user + sys + rss))
    throw new Error(`${argv.join(" ")}: cannot read /usr/bin/time output '${figures}'`);
  const out = r.stdout.toString("latin1");
  const err = r.stderr.toString("latin1");
  return {
    wallMs,
    cpuMs: (user + sys) * 1000,
    maxRssKb: rss,
    status: r.status ?? -1,
    outputLines: lineCount(out) + lineCount(err),
    outputBytes: r.stdout.length + r.stderr.length,
    timedOut,
  };
}
