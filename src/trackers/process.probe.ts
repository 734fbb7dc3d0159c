/**
 * The `vrrp_track_process` probe, by /proc scan: every `scanIntervalMs` (on the injected clock) one
 * pass over /proc counts, for every tracked process at once, the processes that match, and the
 * count is reported as `running` (the tracker machine applies quorum / quorum_max). Matching is
 * keepalived 2.2.7's (core/track_process.c read_procs / check_params, vrrp_parser.c): on `comm`
 * (from /proc/PID/stat, zombies skipped) unless `full_command`, arguments or `param_match` are
 * given — then on argv[0] of /proc/PID/cmdline, with the arguments compared as NUL-separated bytes:
 * exact (same list), `partial` (the list starts with ours) or `initial` (same, but our last argument
 * may be a prefix). `delay` / `fork_delay` / `terminate_delay` debounce as keepalived's quorum
 * timers: a change of verdict waits the delay and is dropped if the verdict returns meanwhile.
 * keepalived uses the kernel's proc connector instead of scanning; the scan's cost is measured by
 * bench/process-scan.bench.ts (docs/benchmarks.md) and bounded: a pass reads /proc in slices and
 * yields to the event loop between them, and a tick is skipped while a pass runs. Not pure: reads /proc.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Observable, timer } from "rxjs";
import type { TrackProcess } from "../config/types.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { ProbeInput, ProbeLog } from "./script.probe.ts";

/** What to match, derived from a `vrrp_track_process` block as keepalived's parser does. */
export interface ProcessMatcher {
  readonly name: string;
  /** comm (≤ 15 bytes) or, with fullCommand, argv[0]. */
  readonly process: string;
  readonly fullCommand: boolean;
  /** "none": argv[0] only. */
  readonly paramMatch: "none" | "exact" | "initial" | "partial";
  /** Arguments as keepalived stores them: each followed by a NUL. null = none given. */
  readonly params: Buffer | null;
}

export const processMatcher = (
  p: Pick<TrackProcess, "name" | "process" | "args" | "paramMatch" | "fullCommand">,
): ProcessMatcher => {
  const args = p.args === null ? null : p.args.split(" ").filter((a) => a !== "");
  const explicit = p.paramMatch !== "exact";
  const paramMatch = args !== null || explicit ? p.paramMatch : "none";
  return {
    name: p.name,
    process: p.process,
    fullCommand: p.fullCommand || args !== null || explicit,
    paramMatch,
    params: args === null ? null : Buffer.from(args.map((a) => `${a}\0`).join(""), "latin1"),
  };
};

/** keepalived's check_params over the bytes after argv[0]'s NUL. Pure. */
export function paramsMatch(m: ProcessMatcher, params: Buffer): boolean {
  const ours = m.params;
  if (m.paramMatch === "none") return true;
  if (m.paramMatch === "exact" && ours === null && params.length === 0) return true;
  const ourLen = ours?.length ?? 0;
  if (params.length < ourLen) return false;
  if (m.paramMatch === "exact") return params.length === ourLen && (ours === null || params.equals(ours));
  if (ours === null) return true;
  if (m.paramMatch === "partial") return params.subarray(0, ourLen).equals(ours);
  return ourLen === 1 || params.subarray(0, ourLen - 1).equals(ours.subarray(0, ourLen - 1));
}

/** One process as read from /proc: its comm (null for a zombie or unreadable) and raw cmdline. */
export interface ProcEntry {
  readonly comm: string | null;
  readonly cmdline: Buffer | null;
}

/** Whether one process matches. Pure. */
export function processMatches(m: ProcessMatcher, e: ProcEntry): boolean {
  if (!m.fullCommand) return e.comm !== null && e.comm === m.process;
  const c = e.cmdline;
  if (c === null || c.length === 0) return false;
  const nul = c.indexOf(0);
  const argv0 = c.subarray(0, nul === -1 ? c.length : nul).toString("latin1");
  if (argv0 !== m.process) return false;
  return paramsMatch(m, nul === -1 ? Buffer.alloc(0) : c.subarray(nul + 1));
}

const readComm = (root: string, pid: string): string | null => {
  try {
    const stat = readFileSync(`${root}/${pid}/stat`, "latin1");
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    if (open === -1 || close < open) return null;
    if (stat.charAt(close + 2) === "Z") return null;
    return stat.slice(open + 1, close);
  } catch {
    return null;
  }
};

const readCmdline = (root: string, pid: string): Buffer | null => {
  try {
    return readFileSync(`${root}/${pid}/cmdline`);
  } catch {
    return null;
  }
};

/**
 * One pass over `procRoot` being made: the PIDs to read, the counts so far by tracker name, and
 * `count(i)`, which reads process `i` — stat only if some matcher uses comm, cmdline only if some
 * uses the full command; a process that vanished meanwhile is skipped.
 */
function procPass(matchers: readonly ProcessMatcher[], procRoot: string) {
  const counts = new Map(matchers.map((m) => [m.name, 0] as [string, number]));
  const needComm = matchers.some((m) => !m.fullCommand);
  const needCmd = matchers.some((m) => m.fullCommand);
  let pids: string[] = [];
  try {
    if (matchers.length > 0)
      pids = readdirSync(procRoot).filter((n) => n.charCodeAt(0) > 48 && n.charCodeAt(0) <= 57);
  } catch {
    // no /proc to read: nothing runs
  }
  const count = (i: number): void => {
    const pid = pids[i] as string;
    const entry: ProcEntry = {
      comm: needComm ? readComm(procRoot, pid) : null,
      cmdline: needCmd ? readCmdline(procRoot, pid) : null,
    };
    for (const m of matchers) if (processMatches(m, entry)) counts.set(m.name, (counts.get(m.name) ?? 0) + 1);
  };
  return { pids, counts, count };
}

/** One pass over `procRoot` at once: how many processes match each matcher (by tracker name). */
export function scanProcesses(matchers: readonly ProcessMatcher[], procRoot = "/proc"): Map<string, number> {
  const pass = procPass(matchers, procRoot);
  for (let i = 0; i < pass.pids.length; i++) pass.count(i);
  return pass.counts;
}

/** Processes read between two yields to the event loop in `scanProcessesSliced` (≈ 3.5 ms at 55 µs each). */
export const SCAN_SLICE_PIDS = 64;

/**
 * `scanProcesses` in slices of `SCAN_SLICE_PIDS` processes, yielding to the event loop between
 * them: however many processes the host runs, the daemon's event loop (adverts, timers) is never
 * held longer than one slice. `cancelled()` stops a pass whose result is no longer wanted.
 */
export async function scanProcessesSliced(
  matchers: readonly ProcessMatcher[],
  procRoot = "/proc",
  cancelled: () => boolean = () => false,
): Promise<Map<string, number>> {
  const pass = procPass(matchers, procRoot);
  for (let i = 0; i < pass.pids.length; i++) {
    if (i > 0 && i % SCAN_SLICE_PIDS === 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (cancelled()) return pass.counts;
    }
    pass.count(i);
  }
  return pass.counts;
}

export interface ProcessProbeSpec {
  readonly matcher: ProcessMatcher;
  readonly quorum: number;
  readonly quorumMax: number | null;
  /** keepalived's fork_delay (or delay) and terminate_delay (or delay). */
  readonly gainDelayUs: number;
  readonly lossDelayUs: number;
}

export const processProbeSpec = (p: TrackProcess): ProcessProbeSpec => ({
  matcher: processMatcher(p),
  quorum: p.quorum,
  quorumMax: p.quorumMax,
  gainDelayUs: p.forkDelayUs > 0 ? p.forkDelayUs : p.delayUs,
  lossDelayUs: p.terminateDelayUs > 0 ? p.terminateDelayUs : p.delayUs,
});

/** Default bound on the scan rate: one pass over /proc per second for all tracked processes. */
export const PROCESS_SCAN_INTERVAL_MS = 1000;

/**
 * The probe stream of every tracked process: the first scan's counts at once, then, per tracker, a
 * report whenever its verdict (quorum ≤ running ≤ quorum_max) changes and stays changed for its
 * delay. Unsubscribing cancels the scan and the delay timers.
 */
export function processProbes$(
  specs: readonly ProcessProbeSpec[],
  deps: {
    readonly clock: Clock;
    readonly log: ProbeLog;
    readonly scanIntervalMs?: number;
    /** Injected for tests (default: `scanProcessesSliced`, which yields between slices). */
    readonly scan?: (
      matchers: readonly ProcessMatcher[],
      cancelled: () => boolean,
    ) => Map<string, number> | Promise<Map<string, number>>;
  },
): Observable<ProbeInput> {
  const scan =
    deps.scan ??
    ((ms: readonly ProcessMatcher[], cancelled: () => boolean) =>
      scanProcessesSliced(ms, "/proc", cancelled));
  const matchers = specs.map((s) => s.matcher);
  return new Observable<ProbeInput>((subscriber) => {
    /** A sliced pass still running: the next tick skips (one pass at a time). */
    let scanning = false;
    let closed = false;
    const reported = new Map<string, boolean>();
    const pending = new Map<string, { ok: boolean; handle: TimerHandle }>();
    const latest = new Map<string, number>();
    const verdict = (s: ProcessProbeSpec, n: number): boolean =>
      n >= s.quorum && (s.quorumMax === null || n <= s.quorumMax);
    const emit = (s: ProcessProbeSpec): void => {
      const n = latest.get(s.matcher.name) ?? 0;
      reported.set(s.matcher.name, verdict(s, n));
      subscriber.next({ kind: "probe", tracker: s.matcher.name, ok: verdict(s, n), running: n });
    };
    const failed = (e: unknown): void =>
      deps.log(`track_process scan failed: ${e instanceof Error ? e.message : String(e)}`, false);
    const tick = (): void => {
      if (scanning) return;
      const r = scan(matchers, () => closed);
      if (r instanceof Map) {
        apply(r);
        return;
      }
      scanning = true;
      r.then(
        (counts) => {
          scanning = false;
          if (!closed) apply(counts);
        },
        (e: unknown) => {
          scanning = false;
          failed(e);
        },
      );
    };
    const apply = (counts: Map<string, number>): void => {
      for (const s of specs) {
        const name = s.matcher.name;
        const n = counts.get(name) ?? 0;
        latest.set(name, n);
        const ok = verdict(s, n);
        const was = reported.get(name);
        const p = pending.get(name);
        if (was === undefined) {
          emit(s);
          continue;
        }
        if (p !== undefined && p.ok !== ok) {
          p.handle.cancel(); // the verdict returned before the delay ran out
          pending.delete(name);
        }
        if (ok === was || pending.has(name)) continue;
        const delayUs = ok ? s.gainDelayUs : s.lossDelayUs;
        if (delayUs <= 0) {
          emit(s);
          continue;
        }
        const handle = deps.clock.setTimerUs(() => {
          pending.delete(name);
          emit(s);
        }, delayUs);
        pending.set(name, { ok, handle });
      }
    };
    const sub = timer(0, Math.max(1, deps.scanIntervalMs ?? PROCESS_SCAN_INTERVAL_MS), deps.clock).subscribe(
      () => {
        try {
          tick();
        } catch (e) {
          failed(e);
        }
      },
    );
    return () => {
      closed = true;
      sub.unsubscribe();
      for (const p of pending.values()) p.handle.cancel();
      pending.clear();
    };
  });
}
