/**
 * The validated configuration: effect Schemas for every part of a keepalived.conf that Vigil
 * understands, and the TypeScript types derived from them. This is the contract between the
 * configuration front end and everything built from it (runtime nodes, simulations, dump).
 *
 * Conventions: every duration carries its unit in the name and is an integer (`…Us` microseconds,
 * `…Cs` centiseconds on the VRRP wire); absent optional values are `null` (never `undefined`) so
 * that `vigil dump --json` shows every field with its resolved default. Pure (schemas only).
 */
import { isIP } from "node:net";
import { Schema } from "effect";

const IntBetween = (minimum: number, maximum: number) =>
  Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum, maximum })));

/** Virtual router id, 1..255. */
export const Vrid = IntBetween(1, 255).pipe(Schema.brand("Vrid"));
export type Vrid = typeof Vrid.Type;

/** Configured (base) priority, 1..255; 255 is the address owner. */
export const Priority = IntBetween(1, 255).pipe(Schema.brand("Priority"));
export type Priority = typeof Priority.Type;

/** Advertisement interval in centiseconds: v2 100..25500 in whole seconds, v3 1..4095. */
export const AdvertIntervalCs = IntBetween(1, 25500).pipe(Schema.brand("AdvertIntervalCs"));
export type AdvertIntervalCs = typeof AdvertIntervalCs.Type;

/** A non-negative integer number of microseconds. */
export const DurationUs = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)));

export const Family = Schema.Literals(["ipv4", "ipv6"]);
export type Family = typeof Family.Type;

/** A textual IPv4 or IPv6 address (no prefix), in the form written in the configuration. */
export const IpAddress = Schema.String.pipe(
  Schema.check(Schema.makeFilter<string>((s) => isIP(s) !== 0 || "expected an IPv4 or IPv6 address")),
  Schema.brand("IpAddress"),
);
export type IpAddress = typeof IpAddress.Type;

/** An address with its family and prefix length (/32 or /128 when not written). */
export const IpPrefix = Schema.Struct({
  address: IpAddress,
  family: Family,
  prefixLength: IntBetween(0, 128),
});
export type IpPrefix = typeof IpPrefix.Type;

/** A command line as keepalived splits it (quotes and escapes resolved), with optional run-as user. */
export const Command = Schema.Struct({
  argv: Schema.Array(Schema.String),
  user: Schema.NullOr(Schema.String),
  group: Schema.NullOr(Schema.String),
});
export type Command = typeof Command.Type;

/** One `virtual_ipaddress` (or `_excluded`) entry with every option keepalived accepts. */
export const Vip = Schema.Struct({
  ...IpPrefix.fields,
  broadcast: Schema.NullOr(Schema.String), // IP, "+" or "-"
  dev: Schema.String, // resolved: the instance interface when not given
  scope: Schema.String,
  label: Schema.NullOr(Schema.String),
  peer: Schema.NullOr(IpAddress),
  useVmac: Schema.Boolean,
  home: Schema.Boolean,
  /** keepalived's `-nodad` was given: IPv6 DAD stays ON (without it the VIP is added with IFA_F_NODAD). */
  noDad: Schema.Boolean,
  mngTmpAddr: Schema.Boolean,
  noPrefixRoute: Schema.Boolean,
  autoJoin: Schema.Boolean,
  noTrack: Schema.Boolean,
  preferredLft: Schema.NullOr(Schema.Union([Schema.Literal("forever"), Schema.Int])),
  line: Schema.Int,
});
export type Vip = typeof Vip.Type;

/** A `static_ipaddress` line: a VIP's fields, and whether `dev` was left to `default_interface`. */
export const StaticAddress = Schema.Struct({ ...Vip.fields, devDefaulted: Schema.Boolean });

/**
 * One `virtual_routes` entry, resolved as keepalived 2.2.7's `alloc_route` leaves it (see
 * src/config/keywords/routes.ts). `text` is keepalived's own rendering (`format_iproute`: the data
 * dump, the JSON dump's `vroutes`) and names the route in commands and the journal. Addresses are
 * as written; `dst` is the network address of `dstLength` bits (`0.0.0.0` / `::` for default).
 * Options keepalived accepts but Vigil does not install (metrics, encap, nexthops…) drop the route
 * at configuration time with a warning, so every Route here is installed as described.
 */
export const Route = Schema.Struct({
  text: Schema.String,
  family: Schema.Literals([4, 6]),
  /** rtm_type: 1 unicast (default), 2 local, 3 broadcast, 4 anycast, 5 multicast, 6 blackhole, 7 unreachable, 8 prohibit, 9 throw, 10 nat, 11 xresolve. */
  type: IntBetween(0, 255),
  /** A type was written (sent on delete too; otherwise the delete matches any type). */
  typeGiven: Schema.Boolean,
  dst: IpAddress,
  dstLength: IntBetween(0, 128),
  /** `from` (IPv6 only): the source prefix (RTA_SRC). */
  from: Schema.NullOr(IpPrefix),
  /** `src`: the preferred source (RTA_PREFSRC). */
  src: Schema.NullOr(IpAddress),
  /** `via` / `gw`: the gateway, of the route's family. */
  via: Schema.NullOr(IpAddress),
  /** `dev` / `oif`; null: the kernel picks it from the gateway (keepalived never defaults it). */
  dev: Schema.NullOr(Schema.String),
  /** Routing table id (254 = main). */
  table: IntBetween(0, 0xffffffff),
  /** rtm_protocol: 18 (RTPROT_KEEPALIVED) unless `no_track` with an explicit `protocol`. */
  protocol: IntBetween(0, 255),
  /** `scope` as given; null: universe on add, any (RT_SCOPE_NOWHERE) on delete. */
  scope: Schema.NullOr(IntBetween(0, 255)),
  /** `metric` / `priority` / `preference` (RTA_PRIORITY); null: not sent. */
  metric: Schema.NullOr(IntBetween(0, 0xffffffff)),
  tos: IntBetween(0, 255),
  onlink: Schema.Boolean,
  /** `add` (NLM_F_EXCL), `append` (NLM_F_APPEND) or `prepend` (the default: neither). */
  mode: Schema.Literals(["add", "prepend", "append"]),
  noTrack: Schema.Boolean,
  line: Schema.Int,
});
export type Route = typeof Route.Type;

/**
 * One `virtual_rules` entry, resolved as keepalived 2.2.7's `alloc_rule` leaves it: exactly one
 * action; a preference always (keepalived numbers rules without one from 16384 down, per family).
 * `text` is keepalived's `format_iprule`. Options Vigil does not install drop the rule with a warning.
 */
export const Rule = Schema.Struct({
  text: Schema.String,
  family: Schema.Literals([4, 6]),
  /** `not` (FIB_RULE_INVERT). */
  invert: Schema.Boolean,
  from: Schema.NullOr(IpPrefix),
  to: Schema.NullOr(IpPrefix),
  priority: IntBetween(0, 0xffffffff),
  tos: IntBetween(0, 255),
  fwmark: Schema.NullOr(IntBetween(0, 0xffffffff)),
  /** The fwmark mask when written (FRA_FWMASK); null: none sent. */
  fwmask: Schema.NullOr(IntBetween(0, 0xffffffff)),
  /** `iif` / `dev` (FRA_IIFNAME) and `oif` (FRA_OIFNAME). */
  iif: Schema.NullOr(Schema.String),
  oif: Schema.NullOr(Schema.String),
  /** FRA_PROTOCOL: 18 unless `no_track`; null: not sent (no_track without `protocol`). */
  protocol: Schema.NullOr(IntBetween(0, 255)),
  action: Schema.Literals(["table", "goto", "nop", "blackhole", "unreachable", "prohibit"]),
  /** The table of a `table` / `lookup` action (0 otherwise). */
  table: IntBetween(0, 0xffffffff),
  /** The target preference of a `goto` action (0 otherwise). */
  goto: IntBetween(0, 0xffffffff),
  noTrack: Schema.Boolean,
  line: Schema.Int,
});
export type Rule = typeof Rule.Type;

/** How an instance sends and receives adverts. `udp` is a Vigil extension (`vigil_transport udp`). */
export const Transport = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("raw") }),
  Schema.Struct({ kind: Schema.Literal("udp"), port: IntBetween(1, 65535) }),
]);
export type Transport = typeof Transport.Type;
export const DEFAULT_UDP_PORT = 5112;

export const Auth = Schema.Union([
  Schema.Struct({ type: Schema.Literal("none") }),
  Schema.Struct({ type: Schema.Literals(["PASS", "AH"]), pass: Schema.String }),
]);
export type Auth = typeof Auth.Type;

/** A tracker reference from an instance or sync group, with its effective weight. */
export const TrackRef = Schema.Struct({
  name: Schema.String,
  /** ±254 on a track line; a script tracked by name carries its own weight, which may be any int. */
  weight: IntBetween(-2_147_483_648, 2_147_483_647),
  reverse: Schema.Boolean,
});
export type TrackRef = typeof TrackRef.Type;

export const UnicastPeer = Schema.Struct({
  address: IpAddress,
  minTtl: Schema.NullOr(IntBetween(0, 255)),
  maxTtl: Schema.NullOr(IntBetween(0, 255)),
});
export type UnicastPeer = typeof UnicastPeer.Type;

export const Notify = Schema.Struct({
  master: Schema.NullOr(Command),
  backup: Schema.NullOr(Command),
  fault: Schema.NullOr(Command),
  stop: Schema.NullOr(Command),
  deleted: Schema.NullOr(Command),
  masterRxLowerPri: Schema.NullOr(Command),
  /** Generic `notify`: gets `INSTANCE|GROUP name STATE priority` appended. */
  generic: Schema.NullOr(Command),
});
export type Notify = typeof Notify.Type;

export const Garp = Schema.Struct({
  masterDelayUs: DurationUs,
  masterRepeat: Schema.Int,
  masterRefreshUs: DurationUs,
  masterRefreshRepeat: Schema.Int,
  lowerPrioDelayUs: DurationUs,
  lowerPrioRepeat: Schema.Int,
  intervalUs: DurationUs,
  gnaIntervalUs: DurationUs,
  minGarp: Schema.Boolean,
});
export type Garp = typeof Garp.Type;

export const VrrpInstance = Schema.Struct({
  name: Schema.String,
  line: Schema.Int,
  interface: Schema.NullOr(Schema.String),
  vrid: Vrid,
  family: Family,
  version: Schema.Literals([2, 3]),
  basePriority: Priority,
  /** `state` as configured, or derived (MASTER iff priority 255). Only meaningful with 255. */
  wantState: Schema.Literals(["MASTER", "BACKUP"]),
  advertIntervalCs: AdvertIntervalCs,
  nopreempt: Schema.Boolean,
  preemptDelayUs: DurationUs,
  vips: Schema.Array(Vip),
  excludedVips: Schema.Array(Vip),
  /** `virtual_routes` / `virtual_rules`: installed after the VIPs on becoming MASTER, removed before them. */
  routes: Schema.Array(Route),
  rules: Schema.Array(Rule),
  auth: Auth,
  unicastSrcIp: Schema.NullOr(IpAddress),
  unicastPeers: Schema.Array(UnicastPeer),
  unicastTtl: IntBetween(0, 255),
  unicastFaultNoPeer: Schema.Boolean,
  mcastSrcIp: Schema.NullOr(IpAddress),
  /** Advert destination in multicast mode: `mcast_dst_ip` or the global group of the family. */
  mcastGroup: IpAddress,
  checkUnicastSrc: Schema.Boolean,
  skipCheckAdvAddr: Schema.Boolean,
  garp: Garp,
  downTimerAdverts: IntBetween(1, 100),
  lowerPrioNoAdvert: Schema.Boolean,
  higherPrioSendAdvert: Schema.Boolean,
  dontTrackPrimary: Schema.Boolean,
  trackInterfaces: Schema.Array(TrackRef),
  trackScripts: Schema.Array(TrackRef),
  trackProcesses: Schema.Array(TrackRef),
  trackFiles: Schema.Array(TrackRef),
  notify: Notify,
  notifyPriorityChanges: Schema.Boolean,
  syncGroup: Schema.NullOr(Schema.String),
  transport: Transport,
  strict: Schema.Boolean,
  accept: Schema.Boolean,
  promoteSecondaries: Schema.Boolean,
});
export type VrrpInstance = typeof VrrpInstance.Type;

export const VrrpScript = Schema.Struct({
  name: Schema.String,
  line: Schema.Int,
  command: Command,
  intervalUs: DurationUs,
  timeoutUs: DurationUs,
  /** ±253 when valid; keepalived keeps any 32-bit `(int)strtol` of a bad one (trackers.ts readWeight). */
  weight: IntBetween(-2_147_483_648, 2_147_483_647),
  reverse: Schema.Boolean,
  rise: Schema.Int,
  fall: Schema.Int,
  initFail: Schema.Boolean,
});
export type VrrpScript = typeof VrrpScript.Type;

export const TrackProcess = Schema.Struct({
  name: Schema.String,
  line: Schema.Int,
  process: Schema.String,
  args: Schema.NullOr(Schema.String),
  paramMatch: Schema.Literals(["exact", "initial", "partial"]),
  fullCommand: Schema.Boolean,
  weight: IntBetween(-254, 254),
  reverse: Schema.Boolean,
  quorum: Schema.Int,
  quorumMax: Schema.NullOr(Schema.Int),
  delayUs: DurationUs,
  forkDelayUs: DurationUs,
  terminateDelayUs: DurationUs,
});
export type TrackProcess = typeof TrackProcess.Type;

export const TrackFile = Schema.Struct({
  name: Schema.String,
  line: Schema.Int,
  path: Schema.String,
  weight: IntBetween(-254, 254),
  reverse: Schema.Boolean,
  initValue: Schema.NullOr(Schema.Int),
  initOverwrite: Schema.Boolean,
});
export type TrackFile = typeof TrackFile.Type;

export const InterfaceDelays = Schema.Struct({
  interface: Schema.String,
  downDelayUs: DurationUs,
  upDelayUs: DurationUs,
});

export const SyncGroup = Schema.Struct({
  name: Schema.String,
  line: Schema.Int,
  members: Schema.Array(Schema.String),
  trackInterfaces: Schema.Array(TrackRef),
  trackScripts: Schema.Array(TrackRef),
  trackProcesses: Schema.Array(TrackRef),
  trackFiles: Schema.Array(TrackRef),
  notify: Notify,
  trackingWeight: Schema.Boolean,
  notifyPriorityChanges: Schema.Boolean,
});
export type SyncGroup = typeof SyncGroup.Type;

export const Checker = Schema.Struct({
  kind: Schema.Literals(["TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK"]),
  line: Schema.Int,
  connectIp: Schema.NullOr(IpAddress),
  connectPort: Schema.NullOr(Schema.Int),
  bindTo: Schema.NullOr(IpAddress),
  /** bind_port: the source port (with or without bindto). */
  bindPort: Schema.NullOr(IntBetween(1, 65535)),
  connectTimeoutUs: DurationUs,
  retry: Schema.Int,
  delayBeforeRetryUs: DurationUs,
  delayLoopUs: DurationUs,
  warmupUs: Schema.NullOr(DurationUs),
  /** `alpha`: the checker's, else its real server's (resolved). */
  alpha: Schema.Boolean,
  /**
   * `log_all_failures`, or the global `checker_log_all_failures` (resolved: keepalived logs every
   * failed attempt when either is set).
   */
  logAllFailures: Schema.Boolean,
  urls: Schema.Array(
    Schema.Struct({
      path: Schema.String,
      digest: Schema.NullOr(Schema.String),
      statusCode: Schema.NullOr(Schema.String),
      /** The url's own `virtualhost` (first in keepalived's precedence). */
      virtualhost: Schema.NullOr(Schema.String),
      /** `regex` with its options, matched on the response (keepalived built with REGEX). */
      regex: Schema.NullOr(
        Schema.Struct({
          pattern: Schema.String,
          /** The JavaScript flags of the regex_options Vigil can honour (i, m, s, u). */
          flags: Schema.String,
          noMatch: Schema.Boolean,
          minOffset: Schema.Int,
          /** regex_max_offset as written (the last offset a match may start at), or null. */
          maxOffset: Schema.NullOr(Schema.Int),
        }),
      ),
    }),
  ),
  /** HTTP_GET / SSL_GET: the checker's `virtualhost`. */
  virtualhost: Schema.NullOr(Schema.String),
  /** `http_protocol`: 1.0 (no Connection header), 1.0C and 1.1 (both with `Connection: close`). */
  httpProtocol: Schema.Literals(["1.0", "1.0C", "1.1"]),
  /** SSL_GET `enable_sni`: the virtualhost as TLS server name. */
  enableSni: Schema.Boolean,
  miscPath: Schema.NullOr(Command),
  miscTimeoutUs: Schema.NullOr(DurationUs),
  miscDynamic: Schema.Boolean,
  heloName: Schema.NullOr(Schema.String),
  dnsType: Schema.NullOr(Schema.String),
  dnsName: Schema.NullOr(Schema.String),
});
export type Checker = typeof Checker.Type;

export const LvsMethod = Schema.Literals(["NAT", "DR", "TUN"]);

/**
 * One line of a `virtual_server_group`: addresses `first`..`last` (one address: equal; keepalived
 * steps IPv4 through all 32 bits and IPv6 through the last 16) with a port (0: none), or a fwmark
 * with an optional family (`inet` / `inet6`).
 */
export const VsGroupEntry = Schema.Union([
  Schema.Struct({
    kind: Schema.Literal("range"),
    first: IpAddress,
    last: IpAddress,
    port: Schema.Int,
    line: Schema.Int,
  }),
  Schema.Struct({
    kind: Schema.Literal("fwmark"),
    mark: Schema.Int,
    family: Schema.NullOr(Family),
    line: Schema.Int,
  }),
]);
export type VsGroupEntry = typeof VsGroupEntry.Type;

export const RealServer = Schema.Struct({
  address: IpAddress,
  port: Schema.NullOr(Schema.Int),
  line: Schema.Int,
  weight: Schema.Int,
  method: LvsMethod,
  inhibitOnFailure: Schema.Boolean,
  notifyUp: Schema.NullOr(Command),
  notifyDown: Schema.NullOr(Command),
  /**
   * Timing the real server's checkers inherit (keepalived's check_data.c): written in the real
   * server, else the virtual server's; null where keepalived falls back to the checker's default.
   */
  delayLoopUs: DurationUs,
  connectTimeoutUs: DurationUs,
  retry: Schema.NullOr(Schema.Int),
  delayBeforeRetryUs: Schema.NullOr(DurationUs),
  warmupUs: Schema.NullOr(DurationUs),
  /** `alpha` (checkers start failed): the real server's, else the virtual server's. */
  alpha: Schema.Boolean,
  /** `uthreshold` / `lthreshold`: IPVS connection thresholds (`-x` / `-y`), 0 = none. */
  upperThreshold: Schema.Int,
  lowerThreshold: Schema.Int,
  /** HTTP_GET's Host header (not SNI) when neither the url nor the checker sets one. */
  virtualhost: Schema.NullOr(Schema.String),
  checkers: Schema.Array(Checker),
});
export type RealServer = typeof RealServer.Type;

export const VirtualServer = Schema.Struct({
  /** `IP PORT`, `fwmark N` or `group NAME`, as written. */
  key: Schema.Union([
    Schema.Struct({ kind: Schema.Literal("address"), address: IpAddress, port: Schema.NullOr(Schema.Int) }),
    Schema.Struct({ kind: Schema.Literal("fwmark"), mark: Schema.Int }),
    Schema.Struct({
      kind: Schema.Literal("group"),
      name: Schema.String,
      /** This virtual server's number among those naming the group (keepalived's `[NAME]:N`). */
      member: Schema.Int,
      /** The group's entries, resolved from its `virtual_server_group` block. */
      entries: Schema.Array(VsGroupEntry),
    }),
  ]),
  /** keepalived's vs->af: ip_family, else the real/sorry servers', else the group's; null: unknown. */
  family: Schema.NullOr(Family),
  line: Schema.Int,
  protocol: Schema.Literals(["TCP", "UDP", "SCTP"]),
  scheduler: Schema.String,
  method: LvsMethod,
  persistenceTimeoutS: Schema.NullOr(Schema.Int),
  /** `-M`: an IPv4 netmask (dotted quad) or an IPv6 prefix length, as ipvsadm reads it. */
  persistenceGranularity: Schema.NullOr(Schema.String),
  /** `--pe` (persistence_engine, e.g. sip). */
  persistenceEngine: Schema.NullOr(Schema.String),
  /** `ops`: one-packet scheduling (`-o`). */
  onePacket: Schema.Boolean,
  /** Scheduler flags (`-b`), as IPVS's flag bits (sh-/mh-fallback = flag-1, sh-/mh-port = flag-2). */
  schedulerFlags: Schema.Array(Schema.Literals(["flag-1", "flag-2", "flag-3"])),
  delayLoopUs: DurationUs,
  connectTimeoutUs: DurationUs,
  retry: Schema.NullOr(Schema.Int),
  delayBeforeRetryUs: Schema.NullOr(DurationUs),
  warmupUs: Schema.NullOr(DurationUs),
  quorum: Schema.Int,
  hysteresis: Schema.Int,
  quorumUp: Schema.NullOr(Command),
  quorumDown: Schema.NullOr(Command),
  sorryServer: Schema.NullOr(Schema.Struct({ address: IpAddress, port: Schema.NullOr(Schema.Int) })),
  inhibitOnFailure: Schema.Boolean,
  alpha: Schema.Boolean,
  omega: Schema.Boolean,
  /** HTTP_GET / SSL_GET's last-resort virtualhost (Host header and SNI). */
  virtualhost: Schema.NullOr(Schema.String),
  realServers: Schema.Array(RealServer),
});
export type VirtualServer = typeof VirtualServer.Type;

export const FifoSpec = Schema.Struct({
  path: Schema.String,
  user: Schema.NullOr(Schema.String),
  group: Schema.NullOr(Schema.String),
  script: Schema.NullOr(Command),
});

/** keepalived's `SSL { password ca certificate key }`: SSL_GET's client context. */
export const SslSettings = Schema.Struct({
  password: Schema.NullOr(Schema.String),
  ca: Schema.NullOr(Schema.String),
  certificate: Schema.NullOr(Schema.String),
  key: Schema.NullOr(Schema.String),
});
export type SslSettings = typeof SslSettings.Type;

export const GlobalDefs = Schema.Struct({
  routerId: Schema.NullOr(Schema.String),
  scriptUser: Schema.NullOr(Schema.String),
  scriptGroup: Schema.NullOr(Schema.String),
  enableScriptSecurity: Schema.Boolean,
  mcastGroup4: IpAddress,
  mcastGroup6: IpAddress,
  defaultInterface: Schema.String,
  garp: Garp,
  downTimerAdverts: IntBetween(1, 100),
  lowerPrioNoAdvert: Schema.Boolean,
  higherPrioSendAdvert: Schema.Boolean,
  version: Schema.Literals([2, 3]),
  checkUnicastSrc: Schema.Boolean,
  skipCheckAdvAddr: Schema.Boolean,
  strict: Schema.Boolean,
  notifyPriorityChanges: Schema.Boolean,
  notifyFifo: Schema.NullOr(FifoSpec),
  vrrpNotifyFifo: Schema.NullOr(FifoSpec),
  startupDelayUs: DurationUs,
  dynamicInterfaces: Schema.Boolean,
  logUnknownVrids: Schema.Boolean,
  randomSeed: Schema.NullOr(Schema.Int),
  startupScript: Schema.NullOr(Command),
  shutdownScript: Schema.NullOr(Command),
  /** Vigil extension `vigil_transport`; the default for instances that do not set one. */
  transport: Transport,
  /** The root `SSL` block of SSL_GET (file names and the key's password), null when absent. */
  ssl: Schema.NullOr(SslSettings),
});
export type GlobalDefs = typeof GlobalDefs.Type;

export const Config = Schema.Struct({
  /** The main file as given, and the config id used for `@id` lines. */
  source: Schema.String,
  configId: Schema.String,
  global: GlobalDefs,
  instances: Schema.Array(VrrpInstance),
  syncGroups: Schema.Array(SyncGroup),
  scripts: Schema.Array(VrrpScript),
  processes: Schema.Array(TrackProcess),
  files: Schema.Array(TrackFile),
  interfaceDelays: Schema.Array(InterfaceDelays),
  virtualServers: Schema.Array(VirtualServer),
  /**
   * `static_ipaddress`, `static_routes`, `static_rules`: installed at start (before any instance) and
   * removed at exit, whatever the VRRP state. A static address without `dev` is on `default_interface`.
   */
  staticAddresses: Schema.Array(StaticAddress),
  staticRoutes: Schema.Array(Route),
  staticRules: Schema.Array(Rule),
});
export type Config = typeof Config.Type;
/** The same shape before decoding: plain numbers and strings, no brands. */
export type ConfigInput = typeof Config.Encoded;
