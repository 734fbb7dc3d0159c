/**
 * The checks of `vigil check` that depend on the host it runs on rather than on the file: today,
 * whether the interfaces the configuration names exist (keepalived's `if_get_by_ifname` lookups at
 * parse time). keepalived 2.2.7 reports, in its words:
 *
 *   WARNING - interface IF for vrrp_instance NAME doesn't exist          (`interface`)
 *   (NAME) tracked interface IF doesn't exist                             (`track_interface`, instance or sync group)
 *   WARNING - interface IF for ip address ADDR doesn't exist              (a VIP's `dev`)
 *   Non-existent interface specified in configuration                     (once, then it refuses to start)
 *
 * and says nothing when `dynamic_interfaces` is set (it waits for them to appear). An instance
 * without `interface` (unicast) names no interface, so there is nothing to look up. Vigil reports
 * these as warnings, not errors: a configuration is often checked on another machine than the one
 * that runs it, so `vigil check` still exits 0. `hostChecks` is pure (the host facts are passed
 * in, `undefined` meaning unknown → no warning); `readHostInterfaces` reads the current network
 * namespace.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Diagnostic } from "../config/diagnostics.ts";
import { interfacesOf } from "../config/keywords/routes.ts";
import type { Config } from "../config/types.ts";
import { checkScriptSecurity, nodeScriptEnv, type ScriptEnv } from "../effects/script-security.ts";

/** What `vigil check` knows about the host. */
export interface HostFacts {
  /** Interface names in the current network namespace; undefined when they cannot be read. */
  readonly interfaces: ReadonlySet<string> | undefined;
  /** The scripts' files and users as this host has them; undefined = unknown (no script checks). */
  readonly scripts?: ScriptEnv;
  /** An interface's MTU on this host (how many VIPs fit one advert); undefined = unknown. */
  readonly mtu?: (ifname: string) => number | undefined;
}

/** An address as keepalived's messages write it: the prefix length unless it is the full one. */
const written = (v: { readonly address: string; readonly prefixLength: number; readonly family: string }) =>
  v.prefixLength === (v.family === "ipv4" ? 32 : 128) ? v.address : `${v.address}/${v.prefixLength}`;

/** keepalived's IFNAMSIZ: longer names are rejected by the parser before any lookup. */
const IFNAMSIZ = 16;

/** The interfaces of this process's network namespace (/proc/net/dev, else /sys/class/net). */
export function readHostInterfaces(
  procNetDev = "/proc/net/dev",
  sysClassNet = "/sys/class/net",
): ReadonlySet<string> | undefined {
  try {
    const names = new Set<string>();
    for (const line of readFileSync(procNetDev, "latin1").split("\n")) {
      const m = /^\s*([^:\s]+):/.exec(line);
      if (m?.[1] !== undefined) names.add(m[1]);
    }
    if (names.size > 0) return names;
  } catch {
    // fall through to sysfs
  }
  try {
    return new Set(readdirSync(sysClassNet));
  } catch {
    return undefined;
  }
}

/** The host's facts for `vigil check` on this machine. */
/** An interface's MTU in this process's network namespace, or undefined. */
export function readInterfaceMtu(ifname: string, sysClassNet = "/sys/class/net"): number | undefined {
  if (ifname === "" || ifname.includes("/") || ifname === "." || ifname === "..") return undefined;
  try {
    const mtu = Number(readFileSync(`${sysClassNet}/${ifname}/mtu`, "latin1").trim());
    return Number.isSafeInteger(mtu) && mtu > 0 ? mtu : undefined;
  } catch {
    return undefined;
  }
}

export const currentHost = (): HostFacts => ({
  interfaces: readHostInterfaces(),
  scripts: nodeScriptEnv(),
  mtu: (ifname) => readInterfaceMtu(ifname),
});

const warning = (file: string, line: number, message: string, hint?: string): Diagnostic => {
  const base = { severity: "warning" as const, file, line, column: 0, kind: "semantic" as const, message };
  return hint === undefined ? base : { ...base, hint };
};

/** Warnings about what the configuration expects of this host. Pure. */
export function hostChecks(config: Config, host: HostFacts): Diagnostic[] {
  return [
    ...interfaceChecks(config, host),
    ...scriptChecks(config, host),
    ...checkScriptChecks(config, host),
  ];
}

/**
 * keepalived's startup check of every script (src/effects/script-security.ts: missing, not
 * executable, unsafe permissions, unknown users), as warnings: the same files decide whether the
 * notify actor runs a script. keepalived prints these without a line; they are placed at the first
 * block that configures a script. Its informational notes (user look-ups) and the summary line
 * `SECURITY VIOLATION …` (reported by the front end from the configuration alone) are left out.
 */
function scriptChecks(config: Config, host: HostFacts): Diagnostic[] {
  if (host.scripts === undefined) return [];
  const found = checkScriptSecurity(config, host.scripts).diagnostics.filter(
    (d) => d.severity !== "info" && !d.message.startsWith("SECURITY VIOLATION"),
  );
  if (found.length === 0) return [];
  const notifies = (n: Config["instances"][number]["notify"]): boolean =>
    Object.values(n).some((c) => c !== null);
  const lines = [
    ...config.scripts.map((s) => s.line),
    ...config.instances.filter((i) => notifies(i.notify)).map((i) => i.line),
    ...config.syncGroups.filter((g) => notifies(g.notify)).map((g) => g.line),
  ];
  const line = lines.length > 0 ? Math.min(...lines) : 1;
  return found.map((d) => warning(config.source, line, d.message));
}

/**
 * The checker side's line (check_data.c check_check_script_security): a MISC_CHECK path, a real
 * server's notify_up/down or a quorum_up/down script that exists on this host, without
 * enable_script_security. keepalived counts only scripts it finds, so this is a host check.
 */
function checkScriptChecks(config: Config, host: HostFacts): Diagnostic[] {
  const env = host.scripts;
  if (env === undefined || config.global.enableScriptSecurity) return [];
  const found = (c: Config["virtualServers"][number]["quorumUp"]): boolean => {
    const path = c?.argv[0];
    if (path === undefined || !path.startsWith("/")) return false;
    const st = env.stat(path);
    return "mode" in st && (st.mode & 0o170000) === 0o100000;
  };
  for (const v of config.virtualServers) {
    const uses = [
      v.quorumUp,
      v.quorumDown,
      ...v.realServers.flatMap((r) => [r.notifyUp, r.notifyDown, ...r.checkers.map((c) => c.miscPath)]),
    ];
    if (uses.some(found))
      return [
        warning(
          config.source,
          v.line,
          "SECURITY VIOLATION - check scripts are being executed but script_security not enabled.",
          "add enable_script_security to global_defs",
        ),
      ];
  }
  return [];
}

function interfaceChecks(config: Config, host: HostFacts): Diagnostic[] {
  const present = host.interfaces;
  if (present === undefined || config.global.dynamicInterfaces) return [];
  const file = config.source;
  const out: Diagnostic[] = [];
  const missing = (name: string): boolean =>
    name !== "" && Buffer.byteLength(name) < IFNAMSIZ && !present.has(name);
  for (const g of config.syncGroups)
    for (const t of g.trackInterfaces)
      if (missing(t.name))
        out.push(warning(file, g.line, `(${g.name}) tracked interface ${t.name} doesn't exist`));
  for (const inst of config.instances) {
    const own = inst.interface;
    if (own !== null && missing(own))
      out.push(
        warning(file, inst.line, `WARNING - interface ${own} for vrrp_instance ${inst.name} doesn't exist`),
      );
    for (const t of inst.trackInterfaces)
      if (missing(t.name))
        out.push(warning(file, inst.line, `(${inst.name}) tracked interface ${t.name} doesn't exist`));
    // keepalived's alloc_route / alloc_rule: a route's `dev`, a rule's `iif` / `oif`
    for (const u of interfacesOf(inst)) if (missing(u.ifname)) out.push(warning(file, u.line, u.message));
    for (const vip of [...inst.vips, ...inst.excludedVips]) {
      // A VIP without `dev` is resolved to the instance's interface (already reported above).
      if (vip.dev === own || !missing(vip.dev)) continue;
      out.push(
        warning(
          file,
          vip.line,
          `WARNING - interface ${vip.dev} for ip address ${written(vip)} doesn't exist`,
        ),
      );
    }
  }
  // The static entries: a route's `dev`, a rule's `iif` / `oif`, an address's `dev` — or, for an
  // address without one, `default_interface` (keepalived drops that address: a fatal error for it).
  for (const u of interfacesOf({ routes: config.staticRoutes, rules: config.staticRules }))
    if (missing(u.ifname)) out.push(warning(file, u.line, u.message));
  for (const a of config.staticAddresses) {
    if (!missing(a.dev)) continue;
    out.push(
      warning(
        file,
        a.line,
        a.devDefaulted
          ? `Static address ${written(a)} requires either an interface or default interface must exist`
          : `WARNING - interface ${a.dev} for ip address ${written(a)} doesn't exist`,
      ),
    );
  }
  if (out.length > 0)
    out.push(
      warning(
        file,
        Math.min(...out.map((d) => d.line)),
        "Non-existent interface specified in configuration",
        "keepalived refuses to start on this host and keepalived -t fails; vigil check only warns, as the configuration may be meant for another host",
      ),
    );
  return out;
}
