/**
 * Script security for a whole configuration, as keepalived 2.2.7 checks it at startup
 * (keepalived/vrrp/vrrp.c check_vrrp_script_security, lib/notify.c get_default_script_user;
 * keepalived.md §3.9): who runs each script (its own user, script_user, keepalived_script, else the
 * daemon's uid:gid), the per-script checks of script-check.ts in keepalived's order, then the
 * `SECURITY VIOLATION` summary when enable_script_security is off. `vigil check` prints the
 * diagnostics; the notify port re-checks each script before it runs it. Pure over a `ScriptEnv`.
 */
import type { Command, Config } from "../config/types.ts";
import { type CheckedScript, checkScript, type ScriptDiagnostic, type ScriptEnv } from "./script-check.ts";

export {
  type CheckedScript,
  checkScript,
  type FileStat,
  isExecutable,
  pathPrefixes,
  type ScriptDiagnostic,
  type ScriptEnv,
  type StatResult,
} from "./script-check.ts";
export { nodeScriptEnv } from "./script-env.ts";

/** Who runs a script, or why it cannot run; `messages` are keepalived's log lines for the lookup. */
export type ScriptIdentity =
  | { readonly uid: number; readonly gid: number; readonly messages: readonly string[] }
  | { readonly error: string; readonly messages: readonly string[] };

/**
 * A command checked as it is about to run: who runs it (`scriptIdentity`), then keepalived's per-script
 * checks (`checkScript`) under the configuration's enable_script_security; `error` when nobody may.
 */
export function checkCommand(
  cmd: Pick<Command, "argv" | "user" | "group">,
  global: Pick<Config["global"], "scriptUser" | "scriptGroup" | "enableScriptSecurity">,
  env: ScriptEnv,
): CheckedScript | { readonly error: string; readonly messages: readonly string[] } {
  const id = scriptIdentity(cmd, global, env);
  return "error" in id ? id : checkScript(cmd.argv, id.uid, id.gid, global.enableScriptSecurity, env);
}

/**
 * Resolves who runs a script (keepalived's notify_script_init / get_default_script_user): its own
 * `user [group]`, else global `script_user [group]`, else `keepalived_script` when that user exists,
 * else the daemon's own uid:gid — refused when enable_script_security is set.
 */
export function scriptIdentity(
  cmd: Pick<Command, "user" | "group">,
  global: Pick<Config["global"], "scriptUser" | "scriptGroup" | "enableScriptSecurity">,
  env: ScriptEnv,
): ScriptIdentity {
  const lookup = (user: string, group: string | null): ScriptIdentity => {
    const u = env.user(user);
    if (u === null)
      return {
        error: `Script user '${user}' does not exist`,
        messages: [`Script user '${user}' does not exist`],
      };
    if (group === null) return { ...u, messages: [] };
    const g = env.group(group);
    if (g === null)
      return {
        error: `Script group '${group}' does not exist`,
        messages: [`Script group '${group}' does not exist`],
      };
    return { uid: u.uid, gid: g, messages: [] };
  };
  if (cmd.user !== null) return lookup(cmd.user, cmd.group);
  if (global.scriptUser !== null) return lookup(global.scriptUser, global.scriptGroup);
  const dflt = lookup("keepalived_script", null);
  if (!("error" in dflt)) return dflt;
  if (global.enableScriptSecurity)
    return {
      error: "Unable to set default user keepalived_script for script",
      messages: [...dflt.messages, "Unable to set default user keepalived_script for script"],
    };
  return { uid: env.ourUid, gid: env.ourGid, messages: dflt.messages };
}

/** One configured script and where it comes from (`VI_1 notify_master`, `chk vrrp_script`, ...). */
export interface ScriptUse {
  readonly where: string;
  readonly kind: "notify" | "vrrp_script" | "fifo";
  readonly command: Command;
}

/** Every script of the VRRP side, in the order keepalived checks them (check_vrrp_script_security). */
export function configuredScripts(
  config: Pick<Config, "global" | "instances" | "syncGroups" | "scripts">,
): ScriptUse[] {
  const out: ScriptUse[] = [];
  const add = (where: string, kind: ScriptUse["kind"], command: Command | null): void => {
    if (command !== null) out.push({ where, kind, command });
  };
  for (const s of config.scripts) add(`${s.name} vrrp_script`, "vrrp_script", s.command);
  for (const i of config.instances) {
    const n = i.notify;
    add(`${i.name} notify_backup`, "notify", n.backup);
    add(`${i.name} notify_master`, "notify", n.master);
    add(`${i.name} notify_fault`, "notify", n.fault);
    add(`${i.name} notify_stop`, "notify", n.stop);
    add(`${i.name} notify_deleted`, "notify", n.deleted);
    add(`${i.name} notify`, "notify", n.generic);
    add(`${i.name} notify_master_rx_lower_pri`, "notify", n.masterRxLowerPri);
  }
  for (const g of config.syncGroups) {
    const n = g.notify;
    add(`${g.name} notify_backup`, "notify", n.backup);
    add(`${g.name} notify_master`, "notify", n.master);
    add(`${g.name} notify_fault`, "notify", n.fault);
    add(`${g.name} notify_stop`, "notify", n.stop);
    add(`${g.name} notify`, "notify", n.generic);
  }
  add("notify_fifo_script", "fifo", config.global.notifyFifo?.script ?? null);
  add("vrrp_notify_fifo_script", "fifo", config.global.vrrpNotifyFifo?.script ?? null);
  return out;
}

export interface SecurityReport {
  /** keepalived's lines in its order: user lookups (parse time), per-script checks, the summary. */
  readonly diagnostics: readonly ScriptDiagnostic[];
  /** Each configured script with its outcome (a refused one is not run). */
  readonly scripts: ReadonlyArray<ScriptUse & { readonly checked: CheckedScript }>;
}

/** lib/notify.c cmd_str: each word single-quoted (not a first word starting `<` or `>`), space-separated. */
export const cmdStr = (argv: readonly string[]): string =>
  argv.map((a, i) => (i === 0 && (a.startsWith("<") || a.startsWith(">")) ? a : `'${a}'`)).join(" ");

/**
 * keepalived's line for a script whose user cannot be set: the default user's (get_default_script_user)
 * or the script's own `user` line (vrrp_vscript_user_handler: `Unable to set uid/gid for script`;
 * notify and FIFO scripts: `Invalid user/group for … script`).
 */
export function userFailure(use: ScriptUse, usesDefault: boolean): string {
  const name = use.command.argv[0] ?? "";
  const kind = use.kind === "fifo" ? use.where.replace(/_script$/, "") : "notify";
  if (use.kind === "vrrp_script")
    return usesDefault
      ? `Unable to set default user for vrrp script ${name} - removing`
      : `Unable to set uid/gid for script ${cmdStr(use.command.argv)}`;
  return usesDefault
    ? `Failed to set default user for ${kind} script ${name} - ignoring`
    : `Invalid user/group for ${kind} script ${name} - ignoring`;
}

/** The startup check of every VRRP script, as `keepalived -t` and the VRRP child do it; for `vigil check`. */
export function checkScriptSecurity(
  config: Pick<Config, "global" | "instances" | "syncGroups" | "scripts">,
  env: ScriptEnv,
): SecurityReport {
  const diagnostics: ScriptDiagnostic[] = [];
  const scripts: Array<ScriptUse & { checked: CheckedScript }> = [];
  const security = config.global.enableScriptSecurity;
  const uses = configuredScripts(config);
  const ids = new Map<ScriptUse, ScriptIdentity>();
  let defaultUserReported = false;
  for (const use of uses) {
    const id = scriptIdentity(use.command, config.global, env);
    ids.set(use, id);
    const usesDefault = use.command.user === null && config.global.scriptUser === null;
    if (!usesDefault || !defaultUserReported)
      for (const m of id.messages) diagnostics.push({ severity: "info", kind: "user", message: m });
    if (usesDefault) defaultUserReported = true;
    if ("error" in id) {
      const message = userFailure(use, usesDefault);
      diagnostics.push({ severity: "error", kind: "user", message });
      // a vrrp_script whose own user or group does not resolve is removed while the file is read,
      // so the instances and sync groups that track it do not find it
      if (use.kind === "vrrp_script" && !usesDefault) {
        const script = use.where.replace(/ vrrp_script$/, "");
        for (const owner of [...config.instances, ...config.syncGroups])
          if (owner.trackScripts.some((r) => r.name === script))
            diagnostics.push({
              severity: "error",
              kind: "user",
              message: `(${owner.name}) track script ${script} not found, ignoring...`,
            });
      }
      scripts.push({
        ...use,
        checked: {
          argv: use.command.argv,
          uid: -1,
          gid: -1,
          isScript: false,
          insecure: false,
          refused: { code: "EINVAL", message },
          messages: [message],
        },
      });
    }
  }
  if (config.instances.length === 0) return { diagnostics, scripts };
  let anyScript = false;
  let anyInsecure = false;
  for (const use of uses) {
    const id = ids.get(use) as ScriptIdentity;
    if ("error" in id) continue;
    const checked = checkScript(use.command.argv, id.uid, id.gid, security, env);
    scripts.push({ ...use, checked });
    for (const m of checked.messages)
      diagnostics.push({
        severity: checked.refused === null ? "warning" : "error",
        kind: "script",
        message: m,
      });
    if (use.kind === "vrrp_script" && checked.refused !== null && checked.refused.code !== "EACCES") {
      const name = use.where.replace(/ vrrp_script$/, "");
      diagnostics.push({
        severity: "error",
        kind: "script",
        message:
          checked.refused.code === "UNSAFE"
            ? `Disabling track script ${name} due to insecure`
            : `Disabling track script ${name} since not found/accessible`,
      });
    }
    anyScript ||= checked.isScript;
    anyInsecure ||= checked.insecure;
  }
  if (!security && anyScript)
    diagnostics.push({
      severity: "error",
      kind: "security",
      message: `SECURITY VIOLATION - scripts are being executed but script_security not enabled.${anyInsecure ? " There are insecure scripts." : ""}`,
    });
  return { diagnostics, scripts };
}
