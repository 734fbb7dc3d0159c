/**
 * The production NotifyPort: notify scripts and the notify FIFOs, as keepalived 2.2.7 runs them
 * (keepalived/vrrp/vrrp_notify.c, lib/notify.c; keepalived.md §3.8). A notify request starts the
 * instance's or group's `notify_<state>` script, then the generic `notify` script with
 * `INSTANCE|GROUP name STATE priority` appended; both fire and forget (STOP ones are killed after
 * 1 s, as keepalived does), run through the process runner as the script user after the security
 * check of script-check.ts. `fifo(line)` writes `line\n` to notify_fifo and vrrp_notify_fifo, which
 * are created (mkfifo 0644, chowned to the FIFO user) when missing and opened O_RDWR|O_NONBLOCK as
 * keepalived does, so writes never block and never fail for want of a reader (lines wait in the
 * pipe; when it is full they are dropped). Each FIFO's `*_fifo_script` starts when the FIFO opens,
 * with the FIFO path as its last argument. Not pure: spawns processes and writes to FIFOs. No
 * module-level state: the port holds its open FIFO descriptors.
 */
import {
  chownSync,
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { constants as osConstants } from "node:os";
import koffi from "koffi";
import type { LogSeverity, NotifyState } from "../../machines/events.ts";
import { runsGenericNotify } from "../../machines/events.ts";
import type { Command, Config, Notify } from "../config/types.ts";
import { errnoName, type NotifyPort, type NotifyRequest } from "../runtime/ports.ts";
import { EffectError, type ProcessRunner, type RunExit } from "./process-runner.ts";
import { checkScript, type ScriptEnv, scriptIdentity } from "./script-security.ts";

/** One script to start for a request. */
export interface NotifyRun {
  /** `notify_master`, `notify` (generic), ... — for logs. */
  readonly role: string;
  readonly command: Command;
  /** The command's argv plus, for the generic script, the four appended arguments. */
  readonly appended: readonly string[];
  /** STOP notifies are killed (SIGKILL to the group) after 1 s; others are never timed out. */
  readonly stop: boolean;
}

const stateScript = (n: Notify, state: NotifyState): [string, Command | null] | null => {
  switch (state) {
    case "MASTER":
      return ["notify_master", n.master];
    case "BACKUP":
      return ["notify_backup", n.backup];
    case "FAULT":
      return ["notify_fault", n.fault];
    case "STOP":
      return ["notify_stop", n.stop];
    case "DELETED":
      return ["notify_deleted", n.deleted];
    case "MASTER_RX_LOWER_PRI":
      return ["notify_master_rx_lower_pri", n.masterRxLowerPri];
    default:
      return null; // MASTER_PRIORITY / BACKUP_PRIORITY are FIFO lines only
  }
};

/**
 * The scripts a request starts, in keepalived's order (send_instance_notifies /
 * send_group_notifies / send_event_notify). Pure. An instance without `notify_deleted` is
 * notified FAULT instead of DELETED (keepalived's backward compatibility); groups have no
 * DELETED or rx_lower_pri scripts; an unknown name starts nothing.
 */
export function notifyRuns(config: Pick<Config, "instances" | "syncGroups">, n: NotifyRequest): NotifyRun[] {
  const notify =
    n.scope === "INSTANCE"
      ? config.instances.find((i) => i.name === n.name)?.notify
      : config.syncGroups.find((g) => g.name === n.name)?.notify;
  if (notify === undefined) return [];
  let state = n.state;
  if (n.scope === "GROUP" && (state === "DELETED" || state === "MASTER_RX_LOWER_PRI")) return [];
  if (state === "DELETED" && notify.deleted === null) state = "FAULT";
  const out: NotifyRun[] = [];
  const own = stateScript(notify, state);
  if (own !== null && own[1] !== null)
    out.push({ role: own[0], command: own[1], appended: [], stop: state === "STOP" });
  if (runsGenericNotify(state) && notify.generic !== null)
    out.push({
      role: "notify",
      command: notify.generic,
      appended: [n.scope, n.name, state, String(n.priority)],
      stop: state === "STOP",
    });
  return out;
}

/** Which FIFOs exist and how to make them (injectable for tests; `nodeFifoOps()` is the real one). */
export interface FifoOps {
  /** mkfifo(2): null on success, else the errno name. */
  mkfifo(path: string, mode: number): string | null;
}

export function nodeFifoOps(): FifoOps {
  const lib = koffi.load("libc.so.6");
  const mkfifo = lib.func("int mkfifo(const char *path, uint32_t mode)") as (p: string, m: number) => number;
  return { mkfifo: (p, m) => (mkfifo(p, m) === 0 ? null : errnoName(koffi.errno())) };
}

export interface NotifyPortOptions {
  readonly config: Pick<Config, "global" | "instances" | "syncGroups">;
  readonly runner: ProcessRunner;
  readonly env: ScriptEnv;
  /** Log lines (keepalived's wording); synchronous, never throws. */
  readonly log: (line: string, severity?: LogSeverity) => void;
  readonly fifoOps?: FifoOps;
  /** Timeout for non-STOP notify scripts; null (keepalived) = none. */
  readonly notifyTimeoutMs?: number | null;
  /** STOP notifies: keepalived kills the group with SIGKILL after 1 s. */
  readonly stopTimeoutMs?: number;
  /** Output kept for the log per script; 0 = /dev/null. */
  readonly captureBytes?: number;
  /** Called when a started script exits (logs, tests). */
  readonly onExit?: (role: string, exit: RunExit) => void;
}

interface OpenFifo {
  readonly kind: "" | "vrrp_";
  readonly path: string;
  fd: number | null;
  created: boolean;
  error: EffectError | null;
  stopScript: (() => void) | null;
}

export interface ProductionNotifyPort extends NotifyPort {
  /** Creates/opens the FIFOs and starts their scripts (done by the first `fifo()` if not called). */
  open(): Promise<void>;
  /** Unlinks FIFOs we created, closes them and sends SIGTERM to the FIFO scripts. */
  close(): void;
}

const O_FLAGS = constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW;
const S_IFIFO = 0o010000;
const S_IFMT = 0o170000;

export function createNotifyPort(opts: NotifyPortOptions): ProductionNotifyPort {
  const { config, runner, env, log } = opts;
  const global = config.global;
  const security = global.enableScriptSecurity;
  let fifoOps = opts.fifoOps;
  let fifos: OpenFifo[] | null = null;

  /** Checks and starts one script; rejects with EffectError when it cannot be started. */
  const run = async (
    role: string,
    command: Command,
    appended: readonly string[],
    timeoutMs: number | null,
    graceMs: number,
  ) => {
    const id = scriptIdentity(command, global, env);
    if ("error" in id) {
      const message = `Invalid user/group for ${role} script ${command.argv[0] ?? ""} - ignoring (${id.error})`;
      log(message);
      throw new EffectError("EINVAL", message);
    }
    const checked = checkScript(command.argv, id.uid, id.gid, security, env);
    if (checked.refused !== null) {
      for (const m of checked.messages) log(m);
      throw new EffectError(checked.refused.code, checked.refused.message);
    }
    const argv = [...checked.argv, ...appended];
    try {
      const handle = await runner.start({
        argv,
        uid: id.uid,
        gid: id.gid,
        timeoutMs,
        killGraceMs: graceMs,
        captureBytes: opts.captureBytes ?? 4096,
      });
      void handle.exit.then((e) => opts.onExit?.(role, e));
      return handle;
    } catch (e) {
      const err = e instanceof EffectError ? e : new EffectError("INTERNAL", String(e));
      // keepalived's child logs it at LOG_ALERT (lib/notify.c)
      log(`Error exec-ing command '${argv[0]}', error ${err.code}: ${err.message}`, "error");
      throw err;
    }
  };

  const notify = async (n: NotifyRequest): Promise<void> => {
    let first: EffectError | null = null;
    for (const r of notifyRuns(config, n)) {
      try {
        await run(
          r.role,
          r.command,
          r.appended,
          r.stop ? (opts.stopTimeoutMs ?? 1000) : (opts.notifyTimeoutMs ?? null),
          r.stop ? 0 : 2000,
        );
      } catch (e) {
        first ??= e as EffectError;
      }
    }
    if (first !== null) throw first;
  };

  const openOne = async (kind: OpenFifo["kind"], spec: NonNullable<Config["global"]["notifyFifo"]>) => {
    const f: OpenFifo = { kind, path: spec.path, fd: null, created: false, error: null, stopScript: null };
    fifoOps ??= nodeFifoOps();
    const err = fifoOps.mkfifo(spec.path, 0o644);
    if (err === null) {
      f.created = true;
      const owner = scriptIdentity({ user: spec.user, group: spec.group }, global, env);
      if (!("error" in owner) && (owner.uid !== env.ourUid || owner.gid !== env.ourGid)) {
        try {
          chownSync(spec.path, owner.uid, owner.gid);
        } catch {
          log(`Failed to set uid:gid for fifo ${spec.path}`);
        }
      }
    } else if (err !== "EEXIST") {
      log(`Unable to create ${kind}notify fifo ${spec.path}`);
      f.error = new EffectError(err, `Unable to create ${kind}notify fifo ${spec.path} - ${err}`);
      return f;
    }
    if (spec.script !== null) {
      try {
        const h = await run(`${kind}notify_fifo_script`, spec.script, [spec.path], null, 2000);
        f.stopScript = () => h.kill("SIGTERM");
        void h.exit.then(() => log("vrrp notify fifo script terminated"));
      } catch {
        // already logged; the FIFO itself still opens, as in keepalived
      }
    }
    try {
      const st = lstatSync(spec.path);
      if ((st.mode & S_IFMT) !== S_IFIFO) throw Object.assign(new Error("not a FIFO"), { code: "EEXIST" });
      f.fd = openSync(spec.path, O_FLAGS);
      if ((fstatSync(f.fd).mode & S_IFMT) !== S_IFIFO)
        throw Object.assign(new Error("not a FIFO"), { code: "EEXIST" });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "EIO";
      const errno = (osConstants.errno as Record<string, number>)[code] ?? 0;
      log(`Unable to open ${kind}notify fifo ${spec.path} - errno ${errno}`);
      if (f.fd !== null) closeSync(f.fd);
      f.fd = null;
      if (f.created) unlinkSync(spec.path);
      f.created = false;
      f.error = new EffectError(code, `Unable to open ${kind}notify fifo ${spec.path} - ${code}`);
    }
    return f;
  };

  const open = async (): Promise<void> => {
    if (fifos === null) {
      fifos = [];
      if (global.notifyFifo !== null) fifos.push(await openOne("", global.notifyFifo));
      if (global.vrrpNotifyFifo !== null) fifos.push(await openOne("vrrp_", global.vrrpNotifyFifo));
    }
    const failed = fifos.find((f) => f.error !== null);
    if (failed?.error) throw failed.error;
  };

  const fifo = async (line: string): Promise<void> => {
    if (fifos === null) await open().catch(() => {});
    const bytes = Buffer.from(`${line}\n`);
    let first: EffectError | null = null;
    for (const f of fifos ?? []) {
      if (f.fd === null) {
        first ??= f.error;
        continue;
      }
      try {
        writeSync(f.fd, bytes);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? "EIO";
        // EAGAIN: the pipe is full (nobody reads); keepalived drops the line silently.
        if (code !== "EAGAIN")
          first ??= new EffectError(code, `write to ${f.kind}notify fifo ${f.path}: ${code}`);
      }
    }
    if (first !== null) throw first;
  };

  const close = (): void => {
    for (const f of fifos ?? []) {
      if (f.created) {
        try {
          unlinkSync(f.path);
        } catch {}
      }
      if (f.fd !== null) closeSync(f.fd);
      f.fd = null;
      f.stopScript?.();
    }
    fifos = null;
  };

  return { notify, fifo, open, close };
}
