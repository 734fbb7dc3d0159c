/**
 * Which scripts a notify request starts and with which argv (keepalived's send_instance_notifies /
 * send_group_notifies / send_event_notify / notify_script_exec), and the config-level script
 * security report (check_vrrp_script_security) for `vigil check`. Configurations go through the
 * real front end.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { notifyRuns } from "../../src/effects/notify.effect.ts";
import { checkScriptSecurity, scriptIdentity } from "../../src/effects/script-security.ts";
import { memFs } from "../config/memfs.ts";
import { fakeEnv } from "./fake-script-env.ts";

const load = (text: string): Config => {
  const r = loadConfig("k.conf", { fs: memFs({ "k.conf": text }), configId: "x" });
  if (r.config === undefined) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.config;
};

const instance = (name: string, vrid: number, body: string): string =>
  `vrrp_instance ${name} {\n interface eth0\n virtual_router_id ${vrid}\n${body}\n virtual_ipaddress {\n 198.18.0.${vrid}\n }\n}\n`;

const cfg = load(
  instance(
    "VI_1",
    1,
    ` notify_master "/etc/ka/m.sh master 'two words'"\n notify_backup /etc/ka/b.sh\n notify_fault /etc/ka/f.sh\n notify_stop /etc/ka/s.sh\n notify_master_rx_lower_pri /etc/ka/rx.sh\n notify "/etc/ka/all.sh pre"`,
  ) +
    instance("VI_2", 2, " notify /etc/ka/all2.sh\n notify_deleted /etc/ka/d.sh") +
    instance("VI_3", 3, " notify_fault /etc/ka/f3.sh\n notify /etc/ka/all3.sh") +
    `vrrp_sync_group G1 {\n group {\n VI_1\n VI_2\n }\n notify_master /etc/ka/gm.sh\n notify "/etc/ka/g.sh x"\n}\n`,
);

const argvs = (
  scope: "INSTANCE" | "GROUP",
  name: string,
  state: Parameters<typeof notifyRuns>[1]["state"],
  priority: number,
) =>
  notifyRuns(cfg, { scope, name, state, priority }).map((r) => [
    r.role,
    [...r.command.argv, ...r.appended],
    r.stop,
  ]);

describe("notifyRuns", () => {
  it("instance: notify_<state> first, then the generic script with INSTANCE name STATE priority", () => {
    expect(argvs("INSTANCE", "VI_1", "MASTER", 150)).toEqual([
      ["notify_master", ["/etc/ka/m.sh", "master", "two words"], false],
      ["notify", ["/etc/ka/all.sh", "pre", "INSTANCE", "VI_1", "MASTER", "150"], false],
    ]);
    expect(argvs("INSTANCE", "VI_1", "BACKUP", 90)).toEqual([
      ["notify_backup", ["/etc/ka/b.sh"], false],
      ["notify", ["/etc/ka/all.sh", "pre", "INSTANCE", "VI_1", "BACKUP", "90"], false],
    ]);
  });
  it("STOP scripts are flagged for keepalived's 1 s limit", () => {
    expect(argvs("INSTANCE", "VI_1", "STOP", 0)).toEqual([
      ["notify_stop", ["/etc/ka/s.sh"], true],
      ["notify", ["/etc/ka/all.sh", "pre", "INSTANCE", "VI_1", "STOP", "0"], true],
    ]);
  });
  it("MASTER_RX_LOWER_PRI runs only its own script; priority changes run nothing", () => {
    expect(argvs("INSTANCE", "VI_1", "MASTER_RX_LOWER_PRI", 150)).toEqual([
      ["notify_master_rx_lower_pri", ["/etc/ka/rx.sh"], false],
    ]);
    expect(argvs("INSTANCE", "VI_1", "MASTER_PRIORITY", 150)).toEqual([]);
    expect(argvs("INSTANCE", "VI_1", "BACKUP_PRIORITY", 90)).toEqual([]);
  });
  it("DELETED runs notify_deleted when configured, else FAULT as keepalived does", () => {
    expect(argvs("INSTANCE", "VI_2", "DELETED", 100)).toEqual([
      ["notify_deleted", ["/etc/ka/d.sh"], false],
      ["notify", ["/etc/ka/all2.sh", "INSTANCE", "VI_2", "DELETED", "100"], false],
    ]);
    expect(argvs("INSTANCE", "VI_3", "DELETED", 100)).toEqual([
      ["notify_fault", ["/etc/ka/f3.sh"], false],
      ["notify", ["/etc/ka/all3.sh", "INSTANCE", "VI_3", "FAULT", "100"], false],
    ]);
  });
  it("group: its own scripts with GROUP name STATE priority; unknown names start nothing", () => {
    expect(argvs("GROUP", "G1", "MASTER", 0)).toEqual([
      ["notify_master", ["/etc/ka/gm.sh"], false],
      ["notify", ["/etc/ka/g.sh", "x", "GROUP", "G1", "MASTER", "0"], false],
    ]);
    expect(argvs("GROUP", "G1", "BACKUP", 0)).toEqual([
      ["notify", ["/etc/ka/g.sh", "x", "GROUP", "G1", "BACKUP", "0"], false],
    ]);
    expect(argvs("GROUP", "VI_1", "MASTER", 0)).toEqual([]);
    expect(argvs("INSTANCE", "G1", "MASTER", 0)).toEqual([]);
  });
});

const files = {
  "/etc": { type: "dir" },
  "/etc/ka": { type: "dir" },
  "/etc/ka/ok.sh": { type: "file" },
  "/srv": { type: "dir", perm: 0o777 },
  "/srv/bad.sh": { type: "file" },
} as const;

describe("checkScriptSecurity", () => {
  const conf = (globals: string, body: string): Config =>
    load(`global_defs {\n${globals}\n}\n${instance("VI_1", 1, body)}`);

  it("without enable_script_security: warns and reports SECURITY VIOLATION, scripts still run", () => {
    const r = checkScriptSecurity(
      conf("", " notify_master /etc/ka/ok.sh\n notify /srv/bad.sh"),
      fakeEnv(files),
    );
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      "Script user 'keepalived_script' does not exist",
      "Unsafe permissions found for script '/srv/bad.sh'.",
      "SECURITY VIOLATION - scripts are being executed but script_security not enabled. There are insecure scripts.",
    ]);
    expect(r.scripts.map((s) => [s.where, s.checked.refused])).toEqual([
      ["VI_1 notify_master", null],
      ["VI_1 notify", null],
    ]);
  });
  it("SECURITY VIOLATION without the insecure suffix when every script is safe", () => {
    const r = checkScriptSecurity(
      conf("", " notify_master /etc/ka/ok.sh"),
      fakeEnv(files, { users: { keepalived_script: { uid: 990, gid: 990 } } }),
    );
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
    ]);
    expect(r.scripts[0]?.checked).toMatchObject({ uid: 990, gid: 990 });
  });
  it("with enable_script_security: the unsafe root script is disabled, no summary", () => {
    const r = checkScriptSecurity(
      conf(" enable_script_security\n script_user root", " notify_master /etc/ka/ok.sh\n notify /srv/bad.sh"),
      fakeEnv(files),
    );
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      "Unsafe permissions found for script '/srv/bad.sh' - disabling.",
    ]);
    expect(r.scripts.map((s) => s.checked.refused?.code ?? null)).toEqual([null, "UNSAFE"]);
  });
  it("with enable_script_security and no keepalived_script user, default-user scripts are ignored", () => {
    const r = checkScriptSecurity(
      conf(" enable_script_security", " notify_master /etc/ka/ok.sh\n notify /etc/ka/ok.sh nobody"),
      fakeEnv(files),
    );
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      "Script user 'keepalived_script' does not exist",
      "Unable to set default user keepalived_script for script",
      "Failed to set default user for notify script /etc/ka/ok.sh - ignoring",
    ]);
    expect(r.scripts.map((s) => [s.where, s.checked.refused?.code ?? null, s.checked.uid])).toEqual([
      ["VI_1 notify_master", "EINVAL", -1],
      ["VI_1 notify", null, 65534],
    ]);
  });
  it("a per-script user that does not exist is ignored with keepalived's lines", () => {
    const id = scriptIdentity(
      { user: "ghost", group: null },
      { scriptUser: null, scriptGroup: null, enableScriptSecurity: false },
      fakeEnv(files),
    );
    expect(id).toEqual({
      error: "Script user 'ghost' does not exist",
      messages: ["Script user 'ghost' does not exist"],
    });
    const g = scriptIdentity(
      { user: "nobody", group: "ghosts" },
      { scriptUser: null, scriptGroup: null, enableScriptSecurity: false },
      fakeEnv(files),
    );
    expect("error" in g && g.error).toBe("Script group 'ghosts' does not exist");
  });
});
