/**
 * keepalived's dump signals for `vigil run`: SIGUSR1 writes `keepalived.data`, SIGUSR2
 * `keepalived.stats`, SIGRTMIN+2 (36 on Linux/glibc) `keepalived.json`, and SIGRTMAX−1 (63) writes
 * the stats and then clears them, each logging keepalived's line (`Printing VRRP data for
 * process(N) on signal`, …). Files go to `/tmp` (or `--dump-dir`), mode 0600 whatever the umask,
 * written to a fresh temporary file (O_EXCL, O_NOFOLLOW) renamed over the old one, so a symlink
 * planted in /tmp is replaced, never followed. Clearing is a view: the daemon's counters (part of
 * its replayable state, and monotonic Prometheus counters) are not touched; the dumps subtract what
 * they were at the last clear, as keepalived's dumps would show after its memset.
 *
 * Node cannot name real-time signals in `process.on`. They are received through libuv's own signal
 * handling (Node's internal `signal_wrap` binding, the one `process.on` uses: a C handler writing to
 * a pipe, the JS callback running later on the event loop — safe). That binding is deprecated
 * (DEP0111); the warning is silenced for the one call. Where it is missing, the two signals are set
 * to SIG_IGN through koffi so they cannot kill the daemon, and a line says the JSON dump is then
 * available on SIGUSR2 too. Not pure (signals, files).
 */
import { closeSync, constants, fchmodSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import koffi from "koffi";
import type { InstanceStats } from "../runtime/stats.ts";
import { type DumpView, formatData, formatJson, formatStats } from "./dumps.ts";

/** Linux/glibc numbers, as `keepalived --signum=JSON` / `--signum=STATS_CLEAR` print them. */
export const SIGNUM_JSON = 36;
export const SIGNUM_STATS_CLEAR = 63;

export const DEFAULT_DUMP_DIR = "/tmp";

export interface DumpSignalOptions {
  readonly view: () => DumpView;
  readonly log: (line: string) => void;
  /** Where the files go (default /tmp). */
  readonly dir?: string;
  readonly pid?: number;
  /** How a signal number is listened to (default: libuv through `signal_wrap`; tests replace it). */
  readonly listenNumber?: (signum: number, fn: () => void) => (() => void) | undefined;
}

export type DumpKind = "data" | "stats" | "json" | "stats-clear";

export interface DumpSignals {
  /** How real-time signals are handled: dumps, only made harmless, or not at all. */
  readonly realtime: "handled" | "ignored" | "unavailable";
  /** What a signal does, callable directly. */
  dump(kind: DumpKind): void;
  close(): void;
}

/** Writes `text` to `dir/name` mode 0600 without following a planted symlink. */
export function writeDumpFile(dir: string, name: string, text: string): void {
  const path = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  const fd = openSync(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

const minus = (a: InstanceStats, b: InstanceStats | undefined): InstanceStats => {
  if (b === undefined) return a;
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof InstanceStats)[]) out[k] = Math.max(0, a[k] - b[k]);
  return out;
};

interface SignalWrap {
  onsignal: (signum: number) => void;
  start(signum: number): number;
  unref(): void;
  close(): void;
}

/** A listener on a signal number through libuv (see the module comment); undefined when impossible. */
function listenSignalNumber(signum: number, fn: () => void): (() => void) | undefined {
  const proc = process as unknown as { binding?: (name: string) => unknown; noDeprecation?: boolean };
  const quiet = proc.noDeprecation === true;
  let binding: { Signal?: new () => SignalWrap } | undefined;
  try {
    proc.noDeprecation = true;
    binding = proc.binding?.("signal_wrap") as typeof binding;
  } catch {
    binding = undefined;
  } finally {
    proc.noDeprecation = quiet;
  }
  if (binding?.Signal === undefined) return undefined;
  const handle = new binding.Signal();
  handle.onsignal = () => fn();
  if (handle.start(signum) !== 0) {
    handle.close();
    return undefined;
  }
  handle.unref();
  return () => handle.close();
}

/** Sets `signum` to SIG_IGN through libc (koffi); false when that fails. */
function ignoreSignalNumber(signum: number): boolean {
  try {
    const signal = koffi.load("libc.so.6").func("intptr_t signal(int, intptr_t)") as (
      n: number,
      h: number,
    ) => number | bigint;
    return Number(signal(signum, 1)) !== -1;
  } catch {
    return false;
  }
}

/**
 * Installs the four dump signals at once (before them SIGUSR2 and the real-time signals would kill
 * the process and SIGUSR1 would open Node's inspector); `close()` removes them.
 */
export function installDumpSignals(opts: DumpSignalOptions): DumpSignals {
  const dir = opts.dir ?? DEFAULT_DUMP_DIR;
  const pid = opts.pid ?? process.pid;
  let cleared = new Map<string, InstanceStats>();
  let realtimeHandled = true;
  const write = (name: string, text: () => string): void => {
    try {
      writeDumpFile(dir, name, text());
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      opts.log(
        `Can't open ${join(dir, name)} (${err.errno === undefined ? "" : `${-err.errno}: `}${err.message})`,
      );
    }
  };
  const statsOf = (view: DumpView) =>
    view.instances.map((d) => ({
      name: d.spec.params.name,
      stats: minus(d.status.stats, cleared.get(d.spec.params.name)),
      raw: d.status.stats,
    }));
  const dump = (kind: DumpKind): void => {
    const view = opts.view();
    if (kind === "data") {
      opts.log(`Printing VRRP data for process(${pid}) on signal`);
      write("keepalived.data", () => formatData(view));
    } else if (kind === "json") {
      opts.log(`Printing VRRP as json for process(${pid}) on signal`);
      write("keepalived.json", () =>
        formatJson(view, (d) => minus(d.status.stats, cleared.get(d.spec.params.name))),
      );
    } else {
      const clear = kind === "stats-clear";
      opts.log(`Printing ${clear ? "and clearing " : ""}VRRP stats for process(${pid}) on signal`);
      const stats = statsOf(view);
      write("keepalived.stats", () => formatStats(stats));
      if (!realtimeHandled)
        write("keepalived.json", () =>
          formatJson(view, (d) => minus(d.status.stats, cleared.get(d.spec.params.name))),
        );
      if (clear) cleared = new Map(stats.map((s) => [s.name, { ...s.raw }]));
    }
  };
  const onUsr1 = (): void => dump("data");
  const onUsr2 = (): void => dump("stats");
  process.on("SIGUSR1", onUsr1);
  process.on("SIGUSR2", onUsr2);
  const closers: Array<() => void> = [];
  for (const [signum, kind] of [
    [SIGNUM_JSON, "json"],
    [SIGNUM_STATS_CLEAR, "stats-clear"],
  ] as const) {
    const close = (opts.listenNumber ?? listenSignalNumber)(signum, () => dump(kind));
    if (close !== undefined) closers.push(close);
  }
  let realtime: DumpSignals["realtime"] = "handled";
  if (closers.length !== 2) {
    for (const c of closers.splice(0)) c();
    realtimeHandled = false;
    const ignored = ignoreSignalNumber(SIGNUM_JSON) && ignoreSignalNumber(SIGNUM_STATS_CLEAR);
    realtime = ignored ? "ignored" : "unavailable";
    opts.log(
      `Real-time signals ${SIGNUM_JSON} and ${SIGNUM_STATS_CLEAR} cannot be handled here${ignored ? " (ignored)" : ""}: the JSON dump is written on SIGUSR2 too`,
    );
  }
  return {
    realtime,
    dump,
    close: () => {
      process.off("SIGUSR1", onUsr1);
      process.off("SIGUSR2", onUsr2);
      for (const c of closers) c();
    },
  };
}
