/**
 * From drafts to the final `Config`: fills in keepalived 2.2.7's defaults (globals first, then
 * per instance), derives family, version, state and priority, resolves tracker weights, and runs
 * the cross-item semantic checks (undefined trackers, duplicate VRIDs, nopreempt conflicts,
 * fractional v2 intervals, mixed families, sync-group membership, vrrp_strict rules), reporting
 * with keepalived's message texts where it has one. Pure.
 */
import type { Diagnostics, Position } from "./diagnostics.ts";
import type { ConfigDraft, GlobalDraft, NotifyDraft } from "./draft.ts";
import { resolveVirtualServers } from "./lvs-resolve.ts";
import {
  type GlobalIn,
  type InstanceIn,
  type MtuOf,
  notifyOf,
  resolveInstance,
  resolveRefs,
  type TrackerDefaults,
  vipOf,
} from "./resolve-instance.ts";
import type { ConfigInput } from "./types.ts";

function resolveGlobal(g: GlobalDraft): GlobalIn {
  const masterDelayUs = g.garp.masterDelayUs ?? 5_000_000;
  const masterRepeat = g.garp.masterRepeat ?? 5;
  const fifo = (f: GlobalDraft["notifyFifo"]) =>
    f === undefined || f.path === ""
      ? null
      : { path: f.path, user: f.user, group: f.group, script: f.script };
  return {
    routerId: g.routerId ?? null,
    scriptUser: g.scriptUser ?? null,
    scriptGroup: g.scriptGroup ?? null,
    enableScriptSecurity: g.enableScriptSecurity,
    mcastGroup4: g.mcastGroup4 ?? "224.0.0.18",
    mcastGroup6: g.mcastGroup6 ?? "ff02::12",
    defaultInterface: g.defaultInterface ?? "eth0",
    garp: {
      masterDelayUs,
      masterRepeat,
      masterRefreshUs: g.garp.masterRefreshUs ?? 0,
      masterRefreshRepeat: g.garp.masterRefreshRepeat ?? 1,
      lowerPrioDelayUs: g.garp.lowerPrioDelayUs ?? masterDelayUs,
      lowerPrioRepeat: g.garp.lowerPrioRepeat ?? masterRepeat,
      intervalUs: g.garp.intervalUs ?? 0,
      gnaIntervalUs: g.garp.gnaIntervalUs ?? 0,
      minGarp: g.garp.minGarp ?? false,
    },
    downTimerAdverts: g.downTimerAdverts ?? 3,
    lowerPrioNoAdvert: g.lowerPrioNoAdvert ?? g.strict,
    higherPrioSendAdvert: g.higherPrioSendAdvert ?? false,
    version: g.version ?? 2,
    checkUnicastSrc: g.checkUnicastSrc,
    skipCheckAdvAddr: g.skipCheckAdvAddr,
    strict: g.strict,
    notifyPriorityChanges: g.notifyPriorityChanges,
    notifyFifo: fifo(g.notifyFifo),
    vrrpNotifyFifo: fifo(g.vrrpNotifyFifo),
    startupDelayUs: g.startupDelayUs,
    dynamicInterfaces: g.dynamicInterfaces,
    logUnknownVrids: g.logUnknownVrids,
    randomSeed: g.randomSeed ?? null,
    startupScript: g.startupScript ?? null,
    shutdownScript: g.shutdownScript ?? null,
    transport: g.transport ?? { kind: "raw" },
    ssl: g.ssl ?? null,
  };
}

export function resolveConfig(
  diags: Diagnostics,
  draft: ConfigDraft,
  source: string,
  configId: string,
  interfaceMtu: MtuOf = () => undefined,
): ConfigInput {
  const global = resolveGlobal(draft.global);
  const byName = (xs: ReadonlyArray<{ name: string; weight: number; reverse: boolean }>) =>
    new Map(xs.map((x) => [x.name, { weight: x.weight, reverse: x.reverse }]));
  const trackers: TrackerDefaults = {
    scripts: byName(draft.scripts.filter((s) => s.hasScript)),
    processes: byName(draft.processes),
    files: byName(draft.files),
  };
  const instances: InstanceIn[] = [];
  for (const d of draft.instances) {
    const inst = resolveInstance(diags, d, global, trackers, draft.global.version === 2, interfaceMtu);
    if (inst !== undefined) instances.push(inst);
  }
  const instanceByName = new Map(instances.map((i) => [i.name, i]));
  // duplicate VRID on the same interface and family
  const seen = new Map<string, InstanceIn>();
  for (const i of instances) {
    const key = `${i.vrid}/${i.family}/${i.interface ?? ""}/${i.unicastPeers.length > 0 ? "u" : "m"}`;
    const other = seen.get(key);
    if (other !== undefined) {
      const at = draft.instanceByName.get(i.name)?.vrid?.at ?? {
        file: source,
        line: i.line,
        column: 0,
      };
      diags.fatal(
        at,
        "semantic",
        `${other.name} and ${i.name} both use VRID ${i.vrid} with ${i.family === "ipv4" ? "IPv4" : "IPv6"} on interface ${i.interface ?? "(none)"}`,
        "each VRID must be unique per interface and family",
      );
    } else seen.set(key, i);
  }
  // sync groups
  const syncGroups = [];
  const memberOf = new Map<string, string>();
  for (const gd of draft.syncGroups) {
    const members: string[] = [];
    for (const m of gd.members) {
      const inst = instanceByName.get(m.value);
      if (inst === undefined) {
        diags.error(
          m.at,
          "semantic",
          `Virtual router ${m.value} specified in sync group ${gd.name} doesn't exist - ignoring`,
        );
        continue;
      }
      const prev = memberOf.get(m.value);
      if (prev !== undefined) {
        diags.error(
          m.at,
          "semantic",
          `Virtual router ${m.value} cannot exist in more than one sync group; ignoring ${gd.name}`,
          `already in ${prev}`,
        );
        continue;
      }
      memberOf.set(m.value, gd.name);
      inst.syncGroup = gd.name;
      members.push(m.value);
    }
    if (members.length === 1)
      diags.warn(
        gd.at,
        "semantic",
        `Sync group ${gd.name} has only 1 virtual router(s) - this probably isn't what you want`,
      );
    if (members.length === 0) {
      diags.warn(
        gd.at,
        "semantic",
        gd.members.length === 0
          ? `Sync group ${gd.name} has no virtual router(s). removing`
          : `Sync group ${gd.name}, no matching virtual router found in group declaration - removing`,
      );
      continue;
    }
    syncGroups.push({
      name: gd.name,
      line: gd.at.line,
      members,
      trackInterfaces: resolveRefs(diags, gd.name, "interface", gd.track.interfaces, undefined),
      trackScripts: resolveRefs(diags, gd.name, "script", gd.track.scripts, trackers.scripts),
      trackProcesses: resolveRefs(diags, gd.name, "process", gd.track.processes, trackers.processes),
      trackFiles: resolveRefs(diags, gd.name, "file", gd.track.files, trackers.files),
      notify: notifyOf(gd.notify),
      trackingWeight: gd.trackingWeight,
      notifyPriorityChanges: gd.notifyPriorityChanges,
    });
  }
  // vrrp.c vrrp_complete_instance: a member of a sync group without sync_group_tracking_weight, or
  // an address owner (255), cannot have its priority moved by a tracker. A weighted interface keeps
  // being tracked with weight 0 in a sync group (it still means FAULT when down) and is dropped for
  // an owner; a weighted script is dropped; a tracked file of weight 1 (its default) becomes weight
  // 0, of any other weight is dropped; tracked processes are left as they are.
  const syncNoWeight = new Set(
    draft.syncGroups.filter((g) => !g.trackingWeight).flatMap((g) => g.members.map((m) => m.value)),
  );
  for (const inst of instances) {
    const d = draft.instanceByName.get(inst.name);
    const sync = inst.syncGroup !== null && syncNoWeight.has(inst.name);
    if (d === undefined || (!sync && inst.basePriority !== 255)) continue;
    const why = sync ? "SYNC group" : "address_owner";
    const report = (refs: readonly { name: string; at: Position }[], name: string, message: string) =>
      diags.warn(
        refs.find((x) => x.name === name)?.at ?? d.at,
        "semantic",
        message,
        sync ? "add sync_group_tracking_weight to the vrrp_sync_group to keep the weights" : undefined,
      );
    inst.trackInterfaces = inst.trackInterfaces.flatMap((r) => {
      if (r.weight === 0) return [r];
      report(
        d.track.interfaces,
        r.name,
        `(${inst.name}) ignoring ${r.name} tracked interface ${sync ? "weight " : ""}due to ${sync ? "SYNC group" : "address owner"}`,
      );
      return sync ? [{ ...r, weight: 0 }] : [];
    });
    inst.trackScripts = inst.trackScripts.filter((r) => {
      if (r.weight === 0) return true;
      report(
        d.track.scripts,
        r.name,
        `(${inst.name}) ignoring tracked script ${r.name} with weights due to ${why}`,
      );
      return false;
    });
    inst.trackFiles = inst.trackFiles.flatMap((r) => {
      if (r.weight === 0) return [r];
      if (r.weight === 1) {
        report(
          d.track.files,
          r.name,
          `(${inst.name}) ignoring weight from tracked file ${r.name} due to ${why}. specify weight 0`,
        );
        return [{ ...r, weight: 0 }];
      }
      report(
        d.track.files,
        r.name,
        `(${inst.name}) ignoring tracked file ${r.name} with weight ${r.weight} due to ${why}`,
      );
      return [];
    });
  }
  const userless = (n: NotifyDraft): boolean =>
    Object.values(n).some((c) => c !== undefined && c.user === null);
  const firstScriptAt =
    draft.global.scriptAt ??
    draft.scripts.find((s) => s.hasScript && s.command.user === null)?.at ??
    draft.instances.find((i) => userless(i.notify))?.at ??
    draft.syncGroups.find((sg) => userless(sg.notify))?.at;
  if (firstScriptAt !== undefined && global.enableScriptSecurity && global.scriptUser === null)
    diags.warn(
      firstScriptAt,
      "semantic",
      "No script_user set: keepalived runs scripts as 'keepalived_script' and, if that user does not exist, refuses to run them under enable_script_security (Unable to set default user keepalived_script for script)",
      "add 'script_user USER' to global_defs",
    );
  if (firstScriptAt !== undefined && !global.enableScriptSecurity)
    diags.warn(
      firstScriptAt,
      "semantic",
      "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
      "add enable_script_security to global_defs",
    );
  const strip = <T extends { at: unknown }>(x: T): Omit<T, "at"> => {
    const { at: _at, ...rest } = x;
    return rest;
  };
  return {
    source,
    configId,
    global,
    instances,
    syncGroups,
    scripts: draft.scripts
      .filter((s) => s.hasScript)
      .map((s) => {
        const { timeoutSet: _t, hasScript: _h, ...rest } = strip(s);
        return rest;
      }),
    processes: draft.processes.map(strip),
    files: draft.files.map(strip),
    interfaceDelays: draft.interfaceDelays,
    virtualServers: resolveVirtualServers(diags, draft),
    // alloc_ipaddress: a static address without `dev` is on get_default_if()
    staticAddresses: draft.staticAddresses.map((v) => ({
      ...vipOf(v, global.defaultInterface),
      devDefaulted: v.dev === null,
    })),
    staticRoutes: [...draft.staticRoutes],
    staticRules: [...draft.staticRules],
  };
}
