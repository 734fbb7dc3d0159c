/**
 * The mutable drafts the keyword handlers fill in while walking the tree, before defaults are
 * resolved and the semantic checks run (`resolve.ts`). A draft field that is `undefined` was not
 * written in the configuration; positions are kept where a later check needs to point at them.
 * Pure (types and constructors only).
 */
import type { Position } from "./diagnostics.ts";
import type { Token } from "./lexer.ts";
import type { RouteIn, RuleIn } from "./route-format.ts";
import type {
  Checker,
  Command,
  Garp,
  Notify,
  RealServer,
  SslSettings,
  TrackFile,
  TrackProcess,
  Transport,
  UnicastPeer,
  Vip,
  VirtualServer,
  VrrpScript,
  VsGroupEntry,
} from "./types.ts";

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export interface Located<T> {
  readonly value: T;
  readonly at: Position;
}

export type VipDraft = Mutable<Omit<Vip, "dev" | "address" | "peer">> & {
  address: string;
  peer: string | null;
  dev: string | null;
  at: Position;
  /** The address as written (`198.18.0.1`, `198.18.0.1/24`): keepalived's messages quote it. */
  written: string;
};

/** A line of a track_* block: the tracked name and the words after it, read by `resolveRefs`. */
export interface TrackRefDraft {
  readonly name: string;
  readonly args: readonly Token[];
  readonly at: Position;
}

export interface TrackDrafts {
  readonly interfaces: TrackRefDraft[];
  readonly scripts: TrackRefDraft[];
  readonly processes: TrackRefDraft[];
  readonly files: TrackRefDraft[];
}

export const emptyTrack = (): TrackDrafts => ({ interfaces: [], scripts: [], processes: [], files: [] });

export type NotifyDraft = { -readonly [K in keyof Notify]?: Command };

export interface InstanceDraft {
  readonly name: string;
  readonly at: Position;
  state?: Located<"MASTER" | "BACKUP">;
  interface?: Located<string>;
  vrid?: Located<number>;
  priority?: Located<number>;
  advertIntUs?: Located<number>;
  version?: Located<2 | 3>;
  nopreempt?: Located<boolean>;
  preemptDelayUs?: Located<number>;
  vipsAt?: Position;
  readonly vips: VipDraft[];
  readonly excludedVips: VipDraft[];
  /** `virtual_routes` / `virtual_rules` lines keepalived keeps and Vigil installs (keywords/routes.ts). */
  readonly routes: RouteIn[];
  readonly rules: RuleIn[];
  auth?: Located<{ type: "PASS" | "AH"; pass: string }>;
  authTypeAt?: Position;
  unicastSrcIp?: Located<string>;
  readonly unicastPeers: Array<Mutable<Omit<UnicastPeer, "address">> & { address: string; at: Position }>;
  unicastTtl?: number;
  unicastFaultNoPeer: boolean;
  /** A unicast keyword (unicast_peer, unicast_src_ip, check_unicast_src, …) was given. */
  unicastConfigured?: boolean;
  mcastSrcIp?: Located<string>;
  mcastDstIp?: Located<string>;
  checkUnicastSrc?: boolean;
  skipCheckAdvAddr?: boolean;
  readonly garp: Partial<Mutable<Garp>>;
  downTimerAdverts?: Located<number>;
  lowerPrioNoAdvert?: boolean;
  higherPrioSendAdvert?: boolean;
  dontTrackPrimary: boolean;
  readonly track: TrackDrafts;
  readonly notify: NotifyDraft;
  /** A bare `notify_deleted` was given (no script). */
  notifyDeletedFlag?: boolean;
  notifyPriorityChanges?: boolean;
  transport?: Transport;
  strict?: boolean;
  accept?: Located<boolean>;
  promoteSecondaries: boolean;
}

export const newInstance = (name: string, at: Position): InstanceDraft => ({
  name,
  at,
  vips: [],
  excludedVips: [],
  routes: [],
  rules: [],
  unicastPeers: [],
  unicastFaultNoPeer: false,
  garp: {},
  dontTrackPrimary: false,
  track: emptyTrack(),
  notify: {},
  promoteSecondaries: false,
});

export interface SyncGroupDraft {
  readonly name: string;
  readonly at: Position;
  readonly members: Located<string>[];
  readonly track: TrackDrafts;
  readonly notify: NotifyDraft;
  trackingWeight: boolean;
  notifyPriorityChanges: boolean;
}

export interface FifoDraft {
  path: string;
  user: string | null;
  group: string | null;
  script: Command | null;
}

export interface GlobalDraft {
  routerId?: string;
  scriptUser?: string;
  scriptGroup?: string;
  enableScriptSecurity: boolean;
  mcastGroup4?: string;
  mcastGroup6?: string;
  defaultInterface?: string;
  readonly garp: Partial<Mutable<Garp>>;
  downTimerAdverts?: number;
  lowerPrioNoAdvert?: boolean;
  higherPrioSendAdvert?: boolean;
  version?: 2 | 3;
  checkUnicastSrc: boolean;
  skipCheckAdvAddr: boolean;
  strict: boolean;
  notifyPriorityChanges: boolean;
  notifyFifo?: FifoDraft;
  vrrpNotifyFifo?: FifoDraft;
  /** `lvs_notify_fifo` / `lvs_notify_fifo_script`: read and checked only (the checkers write no FIFO). */
  lvsNotifyFifo?: FifoDraft;
  startupDelayUs: number;
  dynamicInterfaces: boolean;
  logUnknownVrids: boolean;
  randomSeed?: number;
  startupScript?: Command;
  shutdownScript?: Command;
  transport?: Transport;
  /** `checker_log_all_failures`: every checker logs every failure (resolved into each checker). */
  checkerLogAllFailures?: boolean;
  /** The root `SSL` block (SSL_GET's client context). */
  ssl?: Mutable<SslSettings>;
  /** Where the first global script (FIFO, startup, shutdown) was given. */
  scriptAt?: Position;
}

export type ScriptDraft = Mutable<VrrpScript> & { timeoutSet: boolean; at: Position; hasScript: boolean };
export type ProcessDraft = Mutable<TrackProcess> & { at: Position };
export type FileDraft = Mutable<TrackFile> & { at: Position };

export type CheckerDraft = Mutable<
  Omit<Checker, "delayLoopUs" | "connectTimeoutUs" | "retry" | "delayBeforeRetryUs" | "urls" | "alpha">
> & {
  alpha: boolean | null;
  urls: Array<Checker["urls"][number]>;
  delayLoopUs: number | null;
  connectTimeoutUs: number | null;
  retry: number | null;
  delayBeforeRetryUs: number | null;
};
/** Real-server timing and alpha as written (null: inherited from the virtual server). */
type RsInherited =
  | "delayLoopUs"
  | "connectTimeoutUs"
  | "retry"
  | "delayBeforeRetryUs"
  | "warmupUs"
  | "alpha"
  | "weight";
export type RealServerDraft = Mutable<
  Omit<RealServer, "checkers" | "method" | "inhibitOnFailure" | RsInherited>
> & {
  method: RealServer["method"] | null;
  inhibitOnFailure: boolean | null;
  delayLoopUs: number | null;
  connectTimeoutUs: number | null;
  retry: number | null;
  delayBeforeRetryUs: number | null;
  warmupUs: number | null;
  alpha: boolean | null;
  /** null: the virtual server's `weight` (check_data.c: an unset effective weight takes it). */
  weight: number | null;
  checkers: CheckerDraft[];
};
/** `virtual_server group NAME`: the entries and the member number come from the resolved groups. */
type VsKeyDraft =
  | Exclude<VirtualServer["key"], { kind: "group" }>
  | { kind: "group"; name: string; member: number; entries: VsGroupEntry[] };
export type VirtualServerDraft = Mutable<Omit<VirtualServer, "realServers" | "key" | "schedulerFlags">> & {
  key: VsKeyDraft;
  schedulerFlags: Array<VirtualServer["schedulerFlags"][number]>;
  realServers: RealServerDraft[];
  /** `weight` in the virtual server: the weight of its real servers that set none (default 1). */
  defaultWeight: number;
  at: Position;
  /** Whether these were written (keepalived reports the defaults it applies after linking groups). */
  written: { protocol: boolean; method: boolean; scheduler: boolean };
};
/** A `virtual_server_group` block; `removed`: keepalived dropped it (no entries, mixed families). */
export interface VsGroupDraft {
  readonly name: string;
  readonly at: Position;
  readonly entries: VsGroupEntry[];
  removed: boolean;
}

export interface ConfigDraft {
  readonly global: GlobalDraft;
  readonly instances: InstanceDraft[];
  /** The same instances by name (duplicate names are rejected). */
  readonly instanceByName: Map<string, InstanceDraft>;
  readonly syncGroups: SyncGroupDraft[];
  readonly scripts: ScriptDraft[];
  readonly processes: ProcessDraft[];
  readonly files: FileDraft[];
  readonly interfaceDelays: Array<{ interface: string; downDelayUs: number; upDelayUs: number }>;
  readonly virtualServers: VirtualServerDraft[];
  readonly virtualServerGroups: VsGroupDraft[];
  /** `static_ipaddress` (keywords/instance.ts `readVip`), `static_routes` / `static_rules` (keywords/routes.ts). */
  readonly staticAddresses: VipDraft[];
  readonly staticRoutes: RouteIn[];
  readonly staticRules: RuleIn[];
}

export const newConfigDraft = (): ConfigDraft => ({
  global: {
    enableScriptSecurity: false,
    garp: {},
    checkUnicastSrc: false,
    skipCheckAdvAddr: false,
    strict: false,
    notifyPriorityChanges: false,
    startupDelayUs: 0,
    dynamicInterfaces: false,
    logUnknownVrids: false,
  },
  instances: [],
  instanceByName: new Map(),
  syncGroups: [],
  scripts: [],
  processes: [],
  files: [],
  interfaceDelays: [],
  virtualServers: [],
  virtualServerGroups: [],
  staticAddresses: [],
  staticRoutes: [],
  staticRules: [],
});
