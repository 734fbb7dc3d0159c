/**
 * The one process runner for scripts (notify scripts and FIFO scripts now, vrrp_script trackers
 * later). It starts an already split argv without a shell, as a given uid/gid (supplementary groups
 * cleared), in a process group of its own, with the daemon's environment, stdin on /dev/null and
 * stdout/stderr either discarded (keepalived sends them to /dev/null) or captured up to a byte limit
 * for logs. Starting and exiting are reported separately: `start` settles once the exec succeeded
 * or failed, and the handle's `exit` promise once the process ended (status, signal, timed out).
 * A timeout sends SIGTERM to the whole process group and SIGKILL after a grace period (keepalived's
 * vrrp_script handling; a grace of 0 sends SIGKILL at once, as keepalived does for STOP notifies).
 * Not pure: this is the edge to the kernel's process table. No module-level state: each runner
 * owns the table of its live children.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { bytesToUnicode } from "../config/bytes.ts";
import { EffectError } from "../runtime/ports.ts";

export { EffectError };

/** Millisecond timers (a `Clock` from src/runtime/clock.ts fits). */
export interface RunnerTimers {
  setTimeout(fn: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RunSpec {
  /** argv[0] is a path, or a bare name searched in PATH by exec. Never passed to a shell. */
  readonly argv: readonly string[];
  /** Run as this uid/gid (only applied when the daemon is root). null = the daemon's own. */
  readonly uid: number | null;
  readonly gid: number | null;
  /** Kill the process group after this long; null = never (keepalived's notify scripts). */
  readonly timeoutMs: number | null;
  /** Delay between SIGTERM and SIGKILL after a timeout; 0 = SIGKILL straight away. Default 2000. */
  readonly killGraceMs?: number;
  /** Bytes of stdout+stderr kept for the log; 0 (default) sends both to /dev/null as keepalived does. */
  readonly captureBytes?: number;
  /** Extra environment on top of the daemon's (tests); the daemon's environment is inherited. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface RunExit {
  readonly pid: number;
  /** Exit status, or null when killed by a signal. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** The first `captureBytes` of stdout and stderr, interleaved as read. */
  readonly output: string;
  /** Bytes of output read and discarded beyond the limit. */
  readonly discardedBytes: number;
}

export interface RunHandle {
  readonly pid: number;
  /** Settles when the process exited (never rejects). */
  readonly exit: Promise<RunExit>;
  /** Sends `signal` to the whole process group now. */
  kill(signal?: NodeJS.Signals): void;
}

export interface ProcessRunner {
  /** Starts the process; rejects with EffectError(errno name) when it cannot be executed. */
  start(spec: RunSpec): Promise<RunHandle>;
  /** Sends `signal` to every live process group (daemon shutdown: keepalived's PDEATHSIG). */
  killAll(signal?: NodeJS.Signals): void;
  /** Number of started processes that have not exited yet. */
  readonly running: number;
}

export const DEFAULT_KILL_GRACE_MS = 2000;
/** How long to wait for the last output after the process exited (a forked child may hold the pipe). */
const OUTPUT_DRAIN_MS = 50;

const defaultTimers: RunnerTimers = {
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

const killGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone; EPERM: nothing we may do about it.
  }
};

const amRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0;

/** Creates a runner. `timers` schedule the timeout and the SIGKILL (real timers by default). */
export function createProcessRunner(timers: RunnerTimers = defaultTimers): ProcessRunner {
  const live = new Map<number, ChildProcess>();

  const start = (spec: RunSpec): Promise<RunHandle> =>
    new Promise<RunHandle>((resolve, reject) => {
      // The configuration is read as bytes (one char per byte): hand the OS the text those bytes spell.
      const [file, ...args] = spec.argv.map(bytesToUnicode);
      if (file === undefined || file === "") {
        reject(new EffectError("ENOENT", "empty command"));
        return;
      }
      const captureBytes = spec.captureBytes ?? 0;
      const root = amRoot();
      let child: ChildProcess;
      try {
        child = spawn(file, args, {
          detached: true, // setsid(): own session and process group, pgid = pid
          stdio: ["ignore", captureBytes > 0 ? "pipe" : "ignore", captureBytes > 0 ? "pipe" : "ignore"],
          env: spec.env === undefined ? process.env : { ...process.env, ...spec.env },
          // As root, always set both ids: libuv then also clears the supplementary groups.
          ...(root ? { uid: spec.uid ?? 0, gid: spec.gid ?? 0 } : {}),
          shell: false,
        });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        reject(new EffectError(err.code ?? "INTERNAL", `Error exec-ing command '${file}': ${err.message}`));
        return;
      }
      let output = "";
      let kept = 0;
      let discardedBytes = 0;
      const onData = (chunk: Buffer): void => {
        const room = captureBytes - kept;
        if (room > 0) {
          const part = chunk.subarray(0, room);
          output += part.toString("utf8");
          kept += part.length;
          discardedBytes += chunk.length - part.length;
        } else discardedBytes += chunk.length;
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);

      let timedOut = false;
      let termTimer: unknown;
      child.once("error", (err: NodeJS.ErrnoException) => {
        // Only spawn failures reach here before "spawn"; later errors (kill) are ignored.
        if (child.pid === undefined)
          reject(new EffectError(err.code ?? "INTERNAL", `Error exec-ing command '${file}': ${err.message}`));
      });
      child.once("spawn", () => {
        const pid = child.pid as number;
        live.set(pid, child);
        const exit = new Promise<RunExit>((resolveExit) => {
          child.once("exit", (status, signal) => {
            live.delete(pid);
            if (termTimer !== undefined) timers.clearTimeout(termTimer);
            // After a timeout, the SIGKILL still goes to the group (stray children of the script).
            const finish = (): void => {
              child.stdout?.off("data", onData);
              child.stderr?.off("data", onData);
              resolveExit({ pid, status, signal, timedOut, output, discardedBytes });
            };
            if (captureBytes > 0) {
              // A child that forked may keep the pipe open: do not wait for it (and do not close
              // the pipe under it); keep discarding what it writes until it closes.
              const drain = timers.setTimeout(finish, OUTPUT_DRAIN_MS);
              child.once("close", () => {
                timers.clearTimeout(drain);
                finish();
              });
            } else finish();
          });
        });
        if (spec.timeoutMs !== null) {
          termTimer = timers.setTimeout(() => {
            termTimer = undefined;
            timedOut = true;
            const graceMs = spec.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
            if (graceMs <= 0) killGroup(pid, "SIGKILL");
            else {
              killGroup(pid, "SIGTERM");
              timers.setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
            }
          }, spec.timeoutMs);
        }
        resolve({ pid, exit, kill: (signal = "SIGTERM") => killGroup(pid, signal) });
      });
    });

  return {
    start,
    killAll: (signal = "SIGTERM") => {
      for (const pid of live.keys()) killGroup(pid, signal);
    },
    get running() {
      return live.size;
    },
  };
}
