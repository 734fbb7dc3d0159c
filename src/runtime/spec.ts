/**
 * `NodeSpec`: everything a `Node` needs to build its machines, as plain JSON (it is stored in the
 * journal header, so a journal replays on its own). Derived from a validated `Config` by
 * `specFromConfig` (config.adapter.ts); tests may write one directly. Pure types and defaults.
 */
import type { VirtualServerSpec } from "../../machines/checker.machine.ts";
import type { InstanceParams } from "../../machines/events.ts";
import type { SyncGroupParams } from "../../machines/sync-group.machine.ts";
import type { TrackerParams } from "../../machines/tracker.machine.ts";
import type { Route, Rule } from "../config/types.ts";
import { canonicalAddress } from "../protocol/address.ts";
import type { VipAddress } from "./ports.ts";

export interface TrackBinding {
  readonly tracker: string;
  readonly weight: number;
  readonly reverse: boolean;
}

export interface InstanceSpec {
  readonly params: InstanceParams;
  readonly tracking: readonly TrackBinding[];
  /** unicast_peer addresses; empty = multicast to the VRRP group. */
  readonly unicastPeers: readonly string[];
  /** v2 PASS password (≤ 8 characters), if any. */
  readonly authPass?: string;
  /**
   * `virtual_ipaddress` entries with their options, in the order of `params.vips` (absent: built from
   * `params.vips` with default options on the instance interface, see `vipAddresses`).
   */
  readonly vips?: readonly VipAddress[];
  /** `virtual_ipaddress_excluded`: added, removed and GARPed together with the VIPs, never advertised. */
  readonly excludedVips?: readonly VipAddress[];
  /** `vrrp_garp_interval` (IPv4) and `vrrp_gna_interval` (IPv6): pause between packets of a burst. */
  readonly garpIntervalUs?: number;
  readonly gnaIntervalUs?: number;
  /** Multicast destination of adverts (`mcast_dst_ip`, else `vrrp_mcast_group4/6`); absent: 224.0.0.18 / ff02::12. */
  readonly mcastGroup?: string;
  /** `unicast_ttl`: TTL / hop limit of unicast adverts (absent: 255). */
  readonly unicastTtl?: number;
  /** `check_unicast_src` / `vrrp_check_unicast_src` (implied by a peer's min_ttl / max_ttl). */
  readonly checkUnicastSrc?: boolean;
  /** Per-peer `min_ttl` / `max_ttl`, checked with `checkUnicastSrc` (absent: 0 / 255). */
  readonly peerTtl?: readonly PeerTtl[];
  /** `skip_check_adv_addr`: a BACKUP skips the address checks for adverts from its current master. */
  readonly skipCheckAdvAddr?: boolean;
  /**
   * Why the configuration holds this instance in FAULT (keepalived's `num_config_faults`): a unicast
   * instance without peers under `unicast_fault_no_peer`, an interface without an address of the
   * instance's family. Each becomes a tracker that starts failed and is never probed.
   */
  readonly configFaults?: readonly string[];
  /** `notify_deleted` (a script): an instance removed by a reload is notified DELETED instead of FAULT. */
  readonly notifyDeleted?: boolean;
  /** `virtual_routes` / `virtual_rules`, in the order of `params.routes` / `params.rules` (absent: none). */
  readonly routes?: readonly Route[];
  readonly rules?: readonly Rule[];
}

export interface PeerTtl {
  readonly address: string;
  readonly minTtl: number;
  readonly maxTtl: number;
}

/** The name of the never-probed tracker that holds an instance in FAULT for a configuration reason. */
export const configFaultTracker = (instance: string): string => `!config-fault:${instance}`;

/** A VIP string (`198.18.0.10` or `2001:db8::1/64`) as a VipAddress with keepalived's default options. */
export const defaultVipAddress = (vip: string, dev: string): VipAddress => {
  const [address = vip, len] = vip.split("/");
  const family = address.includes(":") ? 6 : 4;
  return {
    address,
    prefixLength: len === undefined ? (family === 4 ? 32 : 128) : Number(len),
    family,
    dev,
    broadcast: null,
    scope: "global",
    label: null,
    peer: null,
    preferredLft: null,
    noPrefixRoute: false,
    noDad: false,
    home: false,
    mngTmpAddr: false,
    autoJoin: false,
    noTrack: false,
  };
};

/** The instance's VIPs then its excluded VIPs, with options. */
export const vipAddresses = (s: InstanceSpec): readonly VipAddress[] => [
  ...(s.vips ?? s.params.vips.map((v) => defaultVipAddress(v, s.params.ifname))),
  ...(s.excludedVips ?? []),
];

export interface NodeSpec {
  readonly instances: readonly InstanceSpec[];
  readonly groups: readonly SyncGroupParams[];
  /** Script/process/file trackers and, with kind "link", interfaces (named by the interface). */
  readonly trackers: readonly TrackerParams[];
  /** LVS virtual servers, as their checker machines need them (checkers.ts); absent: none. */
  readonly virtualServers?: readonly VirtualServerSpec[];
  /**
   * `static_ipaddress`, `static_routes`, `static_rules`: added when the node starts, before its
   * instances, and removed at shutdown after them, by `addVips` / `addRoutes` and `removeRoutes` /
   * `removeVips` commands naming no instance (""); an address is named by `staticAddressName`. Absent: none.
   */
  readonly staticAddresses?: readonly VipAddress[];
  readonly staticRoutes?: readonly Route[];
  readonly staticRules?: readonly Rule[];
}

/** Instance parameters with keepalived's defaults, for tests and examples. */
export const instanceDefaults = (
  over: Partial<InstanceParams> & Pick<InstanceParams, "name" | "vrid" | "ownIp">,
): InstanceParams => ({
  version: 2,
  family: 4,
  ifname: "eth0",
  basePriority: 100,
  wantMaster: false,
  nopreempt: false,
  preemptDelayUs: 0,
  advertIntervalCs: 100,
  downTimerAdverts: 3,
  vips: [],
  garpMasterRepeat: 5,
  garpMasterDelayUs: 5_000_000,
  garpMasterRefreshUs: 0,
  garpLowerPrioRepeat: 5,
  garpLowerPrioDelayUs: 5_000_000,
  lowerPrioNoAdvert: false,
  higherPrioSendAdvert: false,
  ...over,
});

/** A static address's name in `addVips` / `removeVips` commands naming no instance (""). */
export const staticAddressName = (v: VipAddress): string => `${v.address}/${v.prefixLength}`;

/** The names of the static addresses, if any. */
export const staticAddressNames = (spec: NodeSpec): readonly string[] | undefined => {
  const names = (spec.staticAddresses ?? []).map(staticAddressName);
  return names.length > 0 ? names : undefined;
};

/** The names of the static routes and rules (`addRoutes` / `removeRoutes` with instance ""), if any. */
export const staticNames = (
  spec: NodeSpec,
): { readonly routes: readonly string[]; readonly rules: readonly string[] } | undefined => {
  const routes = (spec.staticRoutes ?? []).map((r) => r.text);
  const rules = (spec.staticRules ?? []).map((r) => r.text);
  return routes.length > 0 || rules.length > 0 ? { routes, rules } : undefined;
};

/**
 * An address as keepalived's `format_ipaddress` writes it (`198.18.0.10/24 dev eth0 scope global
 * set`): the address as inet_ntop writes it, its prefix length unless full (`ipaddresstos`), the
 * broadcast as computed (`+`: the last address of the prefix, `-`: its first; an IPv4 prefix of 30 or
 * shorter), and, for IPv6, the preferred lifetime keepalived defaults to (0 for a /128: deprecated).
 */
export function formatVip(v: VipAddress, set: boolean): string {
  const full = v.family === 4 ? 32 : 128;
  const address = canonicalAddress(v.address, v.family) ?? v.address;
  const parts = [v.prefixLength === full ? address : `${address}/${v.prefixLength}`];
  const brd = v.family === 4 ? broadcastText(address, v.prefixLength, v.broadcast) : undefined;
  if (brd !== undefined) parts.push(`brd ${brd}`);
  parts.push(`dev ${v.dev}`, `scope ${v.scope}`);
  if (v.label !== null) parts.push(`label ${v.label}`);
  if (v.peer !== null) parts.push(`peer ${canonicalAddress(v.peer, v.family) ?? v.peer}/${v.prefixLength}`);
  if (v.home) parts.push("home");
  if (v.noDad) parts.push("-nodad");
  if (v.mngTmpAddr) parts.push("mngtmpaddr");
  if (v.noPrefixRoute) parts.push("noprefixroute");
  if (v.autoJoin) parts.push("autojoin");
  if (v.noTrack) parts.push("no_track");
  if (v.family === 6) {
    const lft = v.preferredLft ?? (v.prefixLength === 128 ? 0 : "forever");
    parts.push(lft === 0 ? "deprecated" : `preferred_lft ${lft}`);
  }
  if (set) parts.push("set");
  return parts.join(" ");
}

/** The IPv4 broadcast `format_ipaddress` shows: `+` / `-` computed, an address as inet_ntop writes it, none for 0.0.0.0. */
const broadcastText = (address: string, prefixLength: number, brd: string | null): string | undefined => {
  if (brd === null) return undefined;
  if (brd !== "+" && brd !== "-") return canonicalAddress(brd, 4) ?? brd;
  if (prefixLength > 30) return undefined;
  const a = address.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  const host = 2 ** (32 - prefixLength) - 1;
  const n = brd === "+" ? a - (a % (host + 1)) + host : a - (a % (host + 1));
  return n === 0 ? undefined : [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join(".");
};
