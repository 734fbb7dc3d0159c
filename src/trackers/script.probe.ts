/**
 * The `vrrp_script` probe: runs a checked script every `interval` on the injected clock (first run
 * at once, as keepalived's `thread_add_event`), reports each outcome as a `probe` input and leaves
 * rise/fall/weight to the tracker machine. Semantics of keepalived 2.2.7 vrrp_scheduler.c
 * (vrrp_script_thread / vrrp_script_child_thread): on `timeout` SIGTERM goes to the process group,
 * SIGKILL 2 s later (and again every 10 s with `failed to terminate after kill`); a script killed by
 * our SIGTERM/SIGKILL is `timed_out`, one that exits with a status after SIGTERM reports that status;
 * another signal is a plain failure (the
 * machine logs `failed`; keepalived adds `(due to signal N)`); a script that dies of our SIGTERM also has its group SIGKILLed at once (stray children). A tick
 * while a run is in progress is skipped with keepalived's log line (exhaustMap semantics: this is
 * the fixed behaviour of keepalived commit 94d40e3b; 2.2.7 logged the line and ran anyway). An exec
 * failure counts as success (keepalived's child exits 0). `Script `x` now returning N` is logged on
 * a change of exit status (initially 0). Not pure: starts processes through the `ProcessRunner`.
 */
import { constants as osConstants } from "node:os";
import { exhaustMap, filter, Observable, timer } from "rxjs";
import type { ProcessRunner, RunExit, RunHandle } from "../effects/process-runner.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Input } from "../runtime/input.ts";
import type { LogPort } from "../runtime/ports.ts";

export type ProbeInput = Extract<Input, { kind: "probe" }>;
/** Where a probe's log lines go: the node's log port. */
export type ProbeLog = LogPort["log"];

export interface ScriptProbeSpec {
  /** The vrrp_script name (the tracker name). */
  readonly name: string;
  /** argv as checked by script security (argv[0] resolved). */
  readonly argv: readonly string[];
  readonly uid: number;
  readonly gid: number;
  readonly intervalMs: number;
  /** keepalived: `timeout`, or the interval when unset (0). */
  readonly timeoutMs: number;
}

/** keepalived's SIGTERM → SIGKILL grace, and its retry delay when SIGKILL did not end the process. */
export const SCRIPT_KILL_GRACE_MS = 2000;
export const SCRIPT_KILL_RETRY_MS = 10_000;

const errnoNumber = (code: string): number => (osConstants.errno as Record<string, number>)[code] ?? 0;

type RunState = "idle" | "running" | "requesting" | "forcing";

/**
 * The probe stream of one script. Unsubscribing kills a run in progress (SIGKILL to its group) and
 * cancels every timer.
 */
export function scriptProbe$(
  spec: ScriptProbeSpec,
  deps: { readonly clock: Clock; readonly runner: ProcessRunner; readonly log: ProbeLog },
): Observable<ProbeInput> {
  const { clock, runner, log } = deps;
  return new Observable<ProbeInput>((subscriber) => {
    let state: RunState = "idle";
    let lastStatus = 0;
    const runOnce = (): Observable<ProbeInput> =>
      new Observable<ProbeInput>((out) => {
        let handle: RunHandle | undefined;
        let killTimer: TimerHandle | undefined;
        let done = false;
        state = "running";
        const arm = (delayMs: number, fn: () => void): void => {
          killTimer?.cancel();
          killTimer = clock.setTimerUs(fn, delayMs * 1000);
        };
        const finish = (input: ProbeInput): void => {
          done = true;
          killTimer?.cancel();
          state = "idle";
          out.next(input);
          out.complete();
        };
        const onExit = (e: RunExit): void => {
          if (done) return;
          if (e.status !== null) {
            if (e.status !== lastStatus) log(`Script \`${spec.name}\` now returning ${e.status}`, false);
            lastStatus = e.status;
            finish({ kind: "probe", tracker: spec.name, ok: e.status === 0, exitStatus: e.status });
            return;
          }
          const sig = e.signal ?? "SIGKILL";
          if (state === "requesting" && sig === "SIGTERM") handle?.kill("SIGKILL");
          const ours =
            (state === "requesting" && sig === "SIGTERM") ||
            (state === "forcing" && (sig === "SIGKILL" || sig === "SIGTERM"));
          finish({ kind: "probe", tracker: spec.name, ok: false, ...(ours ? { timedOut: true } : {}) });
        };
        const onTimeout = (): void => {
          if (done || handle === undefined) return;
          const h = handle;
          if (state === "running") {
            state = "requesting";
            h.kill("SIGTERM");
            arm(SCRIPT_KILL_GRACE_MS, onTimeout);
          } else if (state === "requesting") {
            state = "forcing";
            h.kill("SIGKILL");
            arm(SCRIPT_KILL_GRACE_MS, onTimeout);
          } else {
            log(`Script ${spec.name} child (PID ${h.pid}) failed to terminate after kill`, false);
            h.kill("SIGKILL");
            arm(SCRIPT_KILL_RETRY_MS, onTimeout);
          }
        };
        runner
          .start({ argv: spec.argv, uid: spec.uid, gid: spec.gid, timeoutMs: null, captureBytes: 0 })
          .then(
            (h) => {
              handle = h;
              if (done) {
                h.kill("SIGKILL");
                return;
              }
              arm(spec.timeoutMs, onTimeout);
              void h.exit.then(onExit);
            },
            (err: unknown) => {
              if (done) return;
              const code = (err as { code?: unknown }).code;
              const name = typeof code === "string" ? code : "EIO";
              const msg = err instanceof Error ? err.message : String(err);
              log(
                `Error exec-ing command '${spec.argv[0] ?? ""}', error ${errnoNumber(name)}: ${msg}`,
                false,
                "error", // keepalived's child logs it at LOG_ALERT (lib/notify.c)
              );
              // keepalived's script child exits 0 when execve fails: the run counts as a success.
              finish({ kind: "probe", tracker: spec.name, ok: true, exitStatus: 0 });
            },
          );
        return () => {
          if (done) return;
          done = true;
          killTimer?.cancel();
          handle?.kill("SIGKILL");
          state = "idle";
        };
      });
    const sub = timer(0, Math.max(1, spec.intervalMs), clock)
      .pipe(
        filter(() => {
          if (state === "idle") return true;
          log(
            `Track script ${spec.name} is ${state === "running" ? "already running" : "being timed out"}, expect idle - skipping run`,
            false,
          );
          return false;
        }),
        exhaustMap(runOnce),
      )
      .subscribe(subscriber);
    return () => sub.unsubscribe();
  });
}
