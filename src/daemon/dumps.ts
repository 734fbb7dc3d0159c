/**
 * keepalived's signal dumps, as text: `/tmp/keepalived.data` (SIGUSR1: the "VRRP Topology" and
 * "VRRP Sync groups" sections of keepalived 2.2.7's data dump, its line wording, for the fields
 * Vigil has), `/tmp/keepalived.stats` (SIGUSR2: keepalived's stats layout exactly) and
 * `/tmp/keepalived.json` (an array of `{data, stats}` per instance, keepalived's field names, states
 * as numbers INIT 0 BACKUP 1 MASTER 2 FAULT 3). Fields keepalived has but Vigil's node does not keep
 * (scripts' command lines, track_ifp/track_script, VMAC, strict mode, accept) are written with
 * keepalived's non-strict defaults or left out, as keepalived leaves out empty ones. Pure: functions
 * of a `DumpInstance` list (built by `dumpInstances` from the node's read-only views).
 */

import { formatVip, type InstanceSpec, vipAddresses } from "../runtime/spec.ts";
import type { InstanceStats } from "../runtime/stats.ts";
import { stateNumber } from "./metrics.ts";
import {
  type InstanceContextView,
  type InstanceStatus,
  instanceContexts,
  instanceStatus,
  type NodeView,
  type StatusModel,
  type SyncGroupStatus,
} from "./status-model.ts";

export interface DumpInstance {
  readonly spec: InstanceSpec;
  readonly status: InstanceStatus;
  readonly ctx: InstanceContextView | undefined;
}

export interface DumpView {
  /** `static_ipaddress`, `static_routes`, `static_rules`: keepalived's text of each. */
  readonly staticAddresses: readonly string[];
  readonly staticRoutes: readonly string[];
  readonly staticRules: readonly string[];
  readonly instances: readonly DumpInstance[];
  readonly syncGroups: readonly SyncGroupStatus[];
  /** Tracker name → kind (script, process, file, link). */
  readonly trackers: ReadonlyMap<string, string>;
}

/** The node's instances and groups as the dumps need them, read now. */
export function dumpView(node: NodeView, model: StatusModel): DumpView {
  const contexts = instanceContexts(node);
  return {
    // installed while the node runs, as an instance's VIPs are while it is MASTER
    staticAddresses: (node.spec.staticAddresses ?? []).map((v) => formatVip(v, true)),
    staticRoutes: (node.spec.staticRoutes ?? []).map((r) => r.text),
    staticRules: (node.spec.staticRules ?? []).map((r) => r.text),
    instances: node.spec.instances.map((spec) => {
      const ctx = contexts.get(spec.params.name);
      return { spec, ctx, status: instanceStatus(node, model, spec, ctx) };
    }),
    syncGroups: node.spec.groups.map((g) => ({
      name: g.name,
      state: node.state(`group:${g.name}`),
      members: [...g.members],
    })),
    trackers: new Map(node.spec.trackers.map((t) => [t.name, t.kind])),
  };
}

const vipsOf = (d: DumpInstance, excluded: boolean): string[] => {
  const all = vipAddresses(d.spec);
  const n = d.spec.vips?.length ?? d.spec.params.vips.length;
  const set = d.status.state === "MASTER";
  return (excluded ? all.slice(n) : all.slice(0, n)).map((v) => formatVip(v, set));
};

/** keepalived's `%ld.%6.6ld (ctime with µs)` time form. */
const ctimeUs = (ms: number): string => {
  const d = new Date(ms);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p2 = (n: number): string => String(n).padStart(2, "0");
  const us = String(Math.round((ms % 1000) * 1000)).padStart(6, "0");
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${us} ${d.getFullYear()}`;
};
const epochUs = (ms: number): string =>
  `${Math.floor(ms / 1000)}.${String(Math.round((ms % 1000) * 1000)).padStart(6, "0")}`;
const secs = (us: number): number => Math.floor(us / 1_000_000);
const dontTrackPrimary = (s: InstanceSpec): boolean =>
  !s.tracking.some((t) => t.tracker === s.params.ifname && t.weight === 0 && !t.reverse);

/** An instance's tracker sections in keepalived's order (vrrp_data.c `dump_vrrp`), and each entry's separator. */
const TRACKED: ReadonlyArray<readonly [kind: string, title: string, sep: string]> = [
  ["link", "interfaces", " "],
  ["script", "scripts", " "],
  ["file", "files", ", "],
  ["process", "processes", ", "],
];

/** `/tmp/keepalived.data`: keepalived's VRRP Topology and Sync groups sections. */
export function formatData(view: DumpView): string {
  // Each section only when it has something, as keepalived writes them.
  const out: string[] = [];
  const w = (line: string): void => void out.push(line);
  for (const [title, list] of [
    ["Static Addresses", view.staticAddresses],
    ["Static Routes", view.staticRoutes],
    ["Static Rules", view.staticRules],
  ] as const) {
    if (list.length === 0) continue;
    w(`------< ${title} >------`);
    for (const r of list) w(`     ${r}`);
  }
  if (view.instances.length > 0) w("------< VRRP Topology >------");
  for (const d of view.instances) {
    const p = d.spec.params;
    const st = d.status;
    w(` VRRP Instance = ${p.name}`);
    w(`   VRRP Version = ${p.version}`);
    if (p.syncGroup !== undefined) w(`   Sync group = ${p.syncGroup}`);
    if (p.family === 6) w("   Using Native IPv6");
    w(`   State = ${st.state}`);
    if (st.state === "BACKUP") {
      w(`   Master router = ${st.masterAddress ?? (p.family === 4 ? "0.0.0.0" : "::")}`);
      w(`   Master priority = ${st.masterPriority ?? 0}`);
      if (p.version === 3)
        w(
          `   Master advert int = ${((d.ctx?.masterAdverIntervalCs ?? p.advertIntervalCs) / 100).toFixed(2)} sec`,
        );
    }
    w(p.unicast === true ? "   Flags:\n     Using unicast" : "   Flags: none");
    w(`   Wantstate = ${d.ctx?.wantMaster === true ? "MASTER" : st.state}`);
    w(`   Number of config faults = ${d.spec.configFaults?.length ?? 0}`);
    if (st.lastTransition !== null) {
      const ms = st.lastTransition.atMs;
      w(`   Last transition = ${epochUs(ms)} (${ctimeUs(ms)})`);
    }
    w(`   Interface = ${p.ifname}`);
    if (dontTrackPrimary(d.spec)) w("   VRRP interface tracking disabled");
    if (d.spec.skipCheckAdvAddr === true) w("   Skip checking advert IP addresses");
    w(`   Using src_ip = ${p.ownIp}`);
    if (p.unicast !== true)
      w(`   Multicast address ${d.spec.mcastGroup ?? (p.family === 4 ? "224.0.0.18" : "ff02::12")}`);
    w(`   Gratuitous ARP delay = ${secs(p.garpMasterDelayUs)}`);
    w(`   Gratuitous ARP repeat = ${p.garpMasterRepeat}`);
    w(`   Gratuitous ARP refresh = ${secs(p.garpMasterRefreshUs)}`);
    w(`   Gratuitous ARP refresh repeat = ${p.garpMasterRefreshRepeat ?? 1}`);
    w(`   Gratuitous ARP lower priority delay = ${secs(p.garpLowerPrioDelayUs ?? 0)}`);
    w(`   Gratuitous ARP lower priority repeat = ${p.garpLowerPrioRepeat}`);
    w(`   Down timer adverts = ${p.downTimerAdverts}`);
    w(`   Send advert after receive lower priority advert = ${p.lowerPrioNoAdvert ? "false" : "true"}`);
    w(`   Send advert after receive higher priority advert = ${p.higherPrioSendAdvert ? "true" : "false"}`);
    w(`   Virtual Router ID = ${p.vrid}`);
    w(`   Priority = ${st.priority.base}`);
    w(`   Effective priority = ${st.priority.effective}`);
    w(
      p.version === 2
        ? `   Advert interval = ${Math.floor(p.advertIntervalCs / 100)} sec`
        : `   Advert interval = ${p.advertIntervalCs * 10} milli-sec`,
    );
    w(`   Preempt = ${p.nopreempt ? "disabled" : "enabled"}`);
    if (p.preemptDelayUs > 0) w(`   Preempt delay = ${p.preemptDelayUs / 1_000_000} secs`);
    if (d.spec.authPass !== undefined) w("   Authentication type = SIMPLE_PASSWORD");
    else if (p.version === 2) w("   Authentication type = none");
    const vips = vipsOf(d, false);
    if (vips.length > 0) {
      w(`   Virtual IP (${vips.length}):`);
      for (const v of vips) w(`     ${v}`);
    }
    const evips = vipsOf(d, true);
    if (evips.length > 0) {
      w("   Virtual IP Excluded :");
      for (const v of evips) w(`     ${v}`);
    }
    if (p.unicast === true) {
      if (d.spec.unicastTtl !== undefined) w(`   Unicast TTL = ${d.spec.unicastTtl}`);
      w(`   Check unicast src : ${d.spec.checkUnicastSrc === true ? "yes" : "no"}`);
      w("   Unicast Peer :");
      for (const peer of d.spec.unicastPeers) w(`     ${peer}`);
    }
    for (const [title, list] of [
      ["Virtual Routes", p.routes ?? []],
      ["Virtual Rules", p.rules ?? []],
    ] as const) {
      if (list.length === 0) continue;
      w(`   ${title} :`);
      for (const r of list) w(`     ${r}`);
    }
    for (const [kind, title, sep] of TRACKED) {
      const tracked = d.spec.tracking.filter(
        (t) =>
          view.trackers.get(t.tracker) === kind &&
          !t.tracker.startsWith("!") &&
          !(kind === "link" && t.tracker === p.ifname),
      );
      if (tracked.length === 0) continue;
      w(`   Tracked ${title} :`);
      for (const t of tracked) w(`     ${t.tracker}${sep}weight ${t.weight}${t.reverse ? " reverse" : ""}`);
    }
  }
  if (view.syncGroups.length > 0) out.push("------< VRRP Sync groups >------");
  for (const g of view.syncGroups) {
    w(` VRRP Sync Group = ${g.name}, ${g.state}`);
    if (g.members.length > 0) {
      w("   VRRP member instances :");
      for (const m of g.members) w(`     ${m}`);
    }
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}

/** `/tmp/keepalived.stats`: keepalived 2.2.7's layout, line for line. */
export function formatStats(
  view: readonly { readonly name: string; readonly stats: InstanceStats }[],
): string {
  const out: string[] = [];
  for (const { name, stats: s } of view)
    out.push(
      `VRRP Instance: ${name}`,
      "  Advertisements:",
      `    Received: ${s.advert_rcvd}`,
      `    Sent: ${s.advert_sent}`,
      `  Became master: ${s.become_master}`,
      `  Released master: ${s.release_master}`,
      "  Packet Errors:",
      `    Length: ${s.packet_len_err}`,
      `    TTL: ${s.ip_ttl_err}`,
      `    Invalid Type: ${s.invalid_type_rcvd}`,
      `    Advertisement Interval: ${s.advert_interval_err}`,
      `    Address List: ${s.addr_list_err}`,
      "  Authentication Errors:",
      `    Invalid Type: ${s.invalid_authtype}`,
      `    Type Mismatch: ${s.authtype_mismatch}`,
      `    Failure: ${s.auth_failure}`,
      "  Priority Zero:",
      `    Received: ${s.pri_zero_rcvd}`,
      `    Sent: ${s.pri_zero_sent}`,
    );
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}

/** One instance's `data` object of keepalived.json (keepalived's field names and units). */
export function jsonData(d: DumpInstance): Record<string, unknown> {
  const p = d.spec.params;
  const st = d.status;
  const vips = vipsOf(d, false);
  const evips = vipsOf(d, true);
  return {
    iname: p.name,
    dont_track_primary: dontTrackPrimary(d.spec) ? 1 : 0,
    skip_check_adv_addr: d.spec.skipCheckAdvAddr === true ? 1 : 0,
    strict_mode: 0,
    vmac_ifname: "",
    ifp_ifname: p.ifname,
    // The last accepted advert's priority: keepalived shows 0 on a MASTER that never heard one.
    master_priority: st.state === "BACKUP" ? (d.ctx?.masterPriority ?? 0) : 0,
    last_transition: st.lastTransition === null ? 0 : st.lastTransition.atMs / 1000,
    garp_delay: p.garpMasterDelayUs / 1_000_000,
    garp_refresh: secs(p.garpMasterRefreshUs),
    garp_rep: p.garpMasterRepeat,
    garp_refresh_rep: p.garpMasterRefreshRepeat ?? 1,
    garp_lower_prio_delay: secs(p.garpLowerPrioDelayUs ?? 0),
    garp_lower_prio_rep: p.garpLowerPrioRepeat,
    lower_prio_no_advert: p.lowerPrioNoAdvert ? 1 : 0,
    higher_prio_send_advert: p.higherPrioSendAdvert ? 1 : 0,
    vrid: p.vrid,
    base_priority: st.priority.base,
    effective_priority: st.priority.effective,
    vipset: st.state === "MASTER" && vips.length > 0,
    promote_secondaries: false,
    adver_int: p.advertIntervalCs / 100,
    master_adver_int: (d.ctx?.masterAdverIntervalCs ?? p.advertIntervalCs) / 100,
    accept: 1,
    nopreempt: p.nopreempt,
    preempt_delay: secs(p.preemptDelayUs),
    state: stateNumber(st.state),
    wantstate: d.ctx?.wantMaster === true ? 2 : stateNumber(st.state),
    version: p.version,
    smtp_alert: false,
    notify_deleted: false,
    ...(vips.length > 0 ? { vips } : {}),
    ...(evips.length > 0 ? { evips } : {}),
    // keepalived's 256-byte buffer: each string is cut at 255 characters
    ...((p.routes ?? []).length > 0 ? { vroutes: (p.routes ?? []).map((r) => r.slice(0, 255)) } : {}),
    ...((p.rules ?? []).length > 0 ? { vrules: (p.rules ?? []).map((r) => r.slice(0, 255)) } : {}),
    auth_type: d.spec.authPass !== undefined ? 1 : 0,
  };
}

/** `/tmp/keepalived.json`: `[{data, stats}, …]`, one per instance, on one line as keepalived writes it. */
export function formatJson(
  view: DumpView,
  stats: (d: DumpInstance) => InstanceStats = (d) => d.status.stats,
): string {
  return `${JSON.stringify(view.instances.map((d) => ({ data: jsonData(d), stats: stats(d) })))}\n`;
}
