/**
 * Derives a `NodeSpec` from a validated `Config`: instance parameters (centiseconds, µs, keepalived
 * defaults already resolved by the config front end), tracker bindings (scripts, interfaces, the
 * instance's own interface unless `dont_track_primary`, a sync group's own trackers with weight 0
 * unless `sync_group_tracking_weight`; trackers the host removed — refused scripts, missing
 * interfaces — are dropped from every instance as keepalived does), sync groups and the trackers that something tracks — scripts,
 * `vrrp_track_process` (quorum, quorum_max) and `track_file` (init_file value), and each instance's
 * VIPs and excluded VIPs with their options and its GARP / NA pacing — and what the wire needs:
 * the multicast destination (`mcast_dst_ip` or the global group), `unicast_ttl`, `check_unicast_src`
 * with each peer's TTL range and `skip_check_adv_addr`. The own address is `unicast_src_ip` /
 * `mcast_src_ip`, else the interface's primary IPv4 / link-local IPv6 address as the caller reports it
 * (never `0.0.0.0`): an interface without one, or `unicast_fault_no_peer` without peers, is a
 * configuration fault that holds the instance in FAULT as keepalived does (`configFaults`). Pure.
 */

import { createHash } from "node:crypto";
import type { TrackerParams } from "../../machines/tracker.machine.ts";
import type { Config, TrackRef, Vip } from "../config/types.ts";
import { virtualServerSpec } from "../lvs/spec.ts";
import { VIGIL_VERSION } from "../version.ts";
import { Node, type NodeOptions } from "./node.ts";
import type { VipAddress } from "./ports.ts";
import { configFaultTracker, type InstanceSpec, type NodeSpec, type TrackBinding } from "./spec.ts";

export interface AdapterOptions {
  /** The advert source address of an instance without unicast_src_ip / mcast_src_ip (the interface's primary). */
  readonly primaryAddress?: (ifname: string, family: 4 | 6) => string | undefined;
  /**
   * Trackers removed from every instance and sync group, as keepalived removes them: scripts
   * refused by script security or not found (`disabledScripts` in src/trackers/probes.ts), tracked
   * interfaces that do not exist at start without `dynamic_interfaces`.
   */
  readonly removedTrackers?: ReadonlySet<string>;
  /**
   * Whether the node runs the LVS health checkers of the configuration's virtual servers (the daemon,
   * outside a dry run). Default false: a node without a checks port would start probes nobody runs.
   */
  readonly lvs?: boolean;
}

/** A configured VIP as the VIP port takes it (the parser already resolved `dev`). */
const vipAddress = (v: Vip): VipAddress => ({
  address: v.address,
  prefixLength: v.prefixLength,
  family: v.family === "ipv4" ? 4 : 6,
  dev: v.dev,
  broadcast: v.broadcast,
  scope: v.scope,
  label: v.label,
  peer: v.peer,
  preferredLft: v.preferredLft,
  noPrefixRoute: v.noPrefixRoute,
  noDad: v.noDad,
  home: v.home,
  mngTmpAddr: v.mngTmpAddr,
  autoJoin: v.autoJoin,
  noTrack: v.noTrack,
});

const bind = (r: TrackRef, forceZero: boolean): TrackBinding => ({
  tracker: r.name,
  weight: forceZero ? 0 : r.weight,
  reverse: r.reverse,
});

export const specFromConfig = (config: Config, opts: AdapterOptions = {}): NodeSpec => {
  const trackers = new Map<string, TrackerParams>();
  const link = (name: string) =>
    trackers.set(name, { name, kind: "link", rise: 1, fall: 1, initFail: false });
  const instances: InstanceSpec[] = config.instances.map((i) => {
    const family = i.family === "ipv4" ? 4 : 6;
    const ifname = i.interface ?? config.global.defaultInterface;
    const group = config.syncGroups.find((g) => g.name === i.syncGroup || g.members.includes(i.name));
    const removed = opts.removedTrackers;
    const tracking: TrackBinding[] = [];
    const kept = (r: TrackRef): boolean => removed === undefined || !removed.has(r.name);
    // the instance's own trackers as the resolver left them (resolve.ts: a sync group member's
    // weighted interfaces and files are already at 0 or gone, its tracked processes keep theirs)
    for (const r of [...i.trackScripts, ...i.trackProcesses, ...i.trackFiles].filter(kept))
      tracking.push(bind(r, false));
    for (const r of i.trackInterfaces.filter(kept)) {
      link(r.name);
      tracking.push(bind(r, false));
    }
    if (group) {
      for (const r of [...group.trackScripts, ...group.trackProcesses, ...group.trackFiles].filter(kept))
        tracking.push(bind(r, !group.trackingWeight));
      for (const r of group.trackInterfaces.filter(kept)) {
        link(r.name);
        tracking.push(bind(r, !group.trackingWeight));
      }
    }
    if (!i.dontTrackPrimary && i.interface !== null) {
      link(i.interface);
      tracking.push({ tracker: i.interface, weight: 0, reverse: false });
    }
    // keepalived tracks the interface of each tracked virtual route (its `dev`) and rule (`iif`,
    // `oif`) with weight 0: the instance goes to FAULT while one is down (vrrp_complete_instance).
    const routeDevs = [
      ...i.routes.flatMap((r) => (r.noTrack || r.dev === null ? [] : [r.dev])),
      ...i.rules.flatMap((r) => (r.noTrack ? [] : [r.iif, r.oif].filter((d) => d !== null))),
    ];
    for (const dev of routeDevs) {
      if (tracking.some((t) => t.tracker === dev) || removed?.has(dev) === true) continue;
      link(dev);
      tracking.push({ tracker: dev, weight: 0, reverse: false });
    }
    const unicast = i.unicastPeers.length > 0;
    const configured = i.unicastSrcIp ?? i.mcastSrcIp;
    const primary = configured ?? opts.primaryAddress?.(ifname, family);
    const configFaults: string[] = [];
    if (!unicast && i.unicastFaultNoPeer)
      configFaults.push(`(${i.name}) Cannot use unicast without any peers - going to fault state`);
    if (primary === undefined)
      configFaults.push(
        `(${i.name}) interface ${ifname} has no ${family === 4 ? "IPv4" : "IPv6 link-local"} address to send from - going to fault state`,
      );
    if (configFaults.length > 0) {
      const name = configFaultTracker(i.name);
      trackers.set(name, { name, kind: "script", rise: 1, fall: 1, initFail: true });
      tracking.push({ tracker: name, weight: 0, reverse: false });
    }
    // Never 0.0.0.0: an instance without an address stays in FAULT and sends nothing.
    const ownIp = primary ?? (family === 4 ? "0.0.0.0" : "::");
    return {
      params: {
        name: i.name,
        vrid: i.vrid,
        version: i.version,
        family,
        ifname,
        ownIp,
        basePriority: i.basePriority,
        wantMaster: i.wantState === "MASTER",
        nopreempt: i.nopreempt,
        preemptDelayUs: i.preemptDelayUs,
        advertIntervalCs: i.advertIntervalCs,
        downTimerAdverts: i.downTimerAdverts,
        vips: i.vips.map((v) => `${v.address}/${v.prefixLength}`),
        garpMasterRepeat: i.garp.masterRepeat,
        garpMasterDelayUs: i.garp.masterDelayUs,
        garpMasterRefreshUs: i.garp.masterRefreshUs,
        garpMasterRefreshRepeat: i.garp.masterRefreshRepeat,
        garpLowerPrioRepeat: i.garp.lowerPrioRepeat,
        garpLowerPrioDelayUs: i.garp.lowerPrioDelayUs,
        lowerPrioNoAdvert: i.lowerPrioNoAdvert,
        higherPrioSendAdvert: i.higherPrioSendAdvert,
        ...(group ? { syncGroup: group.name } : {}),
        notifyPriorityChanges: i.notifyPriorityChanges,
        unicast,
        ...(i.routes.length > 0 ? { routes: i.routes.map((r) => r.text) } : {}),
        ...(i.rules.length > 0 ? { rules: i.rules.map((r) => r.text) } : {}),
      },
      tracking,
      unicastPeers: i.unicastPeers.map((p) => p.address),
      ...(i.auth.type === "PASS" ? { authPass: i.auth.pass } : {}),
      vips: i.vips.map(vipAddress),
      excludedVips: i.excludedVips.map(vipAddress),
      garpIntervalUs: i.garp.intervalUs,
      gnaIntervalUs: i.garp.gnaIntervalUs,
      ...(unicast ? {} : { mcastGroup: i.mcastGroup }),
      ...(unicast ? { unicastTtl: i.unicastTtl } : {}),
      ...(unicast && i.checkUnicastSrc
        ? {
            checkUnicastSrc: true,
            peerTtl: i.unicastPeers.map((p) => ({
              address: p.address,
              minTtl: p.minTtl ?? 0,
              maxTtl: p.maxTtl ?? 255,
            })),
          }
        : {}),
      ...(i.skipCheckAdvAddr ? { skipCheckAdvAddr: true } : {}),
      ...(configFaults.length > 0 ? { configFaults } : {}),
      ...(i.notify.deleted === null ? {} : { notifyDeleted: true }),
      ...(i.routes.length > 0 ? { routes: i.routes } : {}),
      ...(i.rules.length > 0 ? { rules: i.rules } : {}),
    };
  });
  for (const s of config.scripts) {
    if (instances.some((i) => i.tracking.some((t) => t.tracker === s.name)))
      trackers.set(s.name, {
        name: s.name,
        kind: "script",
        rise: s.rise,
        fall: s.fall,
        initFail: s.initFail,
      });
  }
  const tracked = (name: string): boolean =>
    instances.some((i) => i.tracking.some((t) => t.tracker === name));
  for (const p of config.processes) {
    if (tracked(p.name))
      trackers.set(p.name, {
        name: p.name,
        kind: "process",
        rise: 1,
        fall: 1,
        initFail: false,
        quorum: p.quorum,
        ...(p.quorumMax === null ? {} : { quorumMax: p.quorumMax }),
      });
  }
  for (const f of config.files) {
    if (tracked(f.name))
      trackers.set(f.name, {
        name: f.name,
        kind: "file",
        rise: 1,
        fall: 1,
        initFail: false,
        initValue: f.initValue ?? 0,
      });
  }
  return {
    ...(config.staticAddresses.length > 0 ? { staticAddresses: config.staticAddresses.map(vipAddress) } : {}),
    ...(config.staticRoutes.length > 0 ? { staticRoutes: config.staticRoutes } : {}),
    ...(config.staticRules.length > 0 ? { staticRules: config.staticRules } : {}),
    instances,
    groups: config.syncGroups.map((g) => ({ name: g.name, members: [...g.members] })),
    trackers: [...trackers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    ...(opts.lvs === true && config.virtualServers.length > 0
      ? { virtualServers: config.virtualServers.map(virtualServerSpec) }
      : {}),
  };
};

/** sha256 of the configuration's JSON (as decoded), recorded in the journal header. */
export const configHash = (config: Config): string =>
  createHash("sha256").update(JSON.stringify(config)).digest("hex");

/** A `Node` for a validated configuration: spec derived here, config hash and Vigil version in the journal. */
export const nodeFromConfig = (
  config: Config,
  options: Omit<NodeOptions, "configHash" | "vigilVersion">,
  adapter: AdapterOptions = {},
): Node =>
  new Node(specFromConfig(config, adapter), {
    ...options,
    configHash: configHash(config),
    vigilVersion: VIGIL_VERSION,
  });
