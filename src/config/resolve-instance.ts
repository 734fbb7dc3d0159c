/**
 * Resolution of one `vrrp_instance` draft: keepalived 2.2.7's defaults (from the globals), the
 * derived family, version, state and priority, tracker weights, and the per-instance semantic
 * checks (VRID set, VIP families, v2/v3 advert intervals, nopreempt and preempt_delay conflicts,
 * unicast address families, authentication, vrrp_strict rules), with keepalived's message texts.
 * Used by `resolve.ts`. Pure.
 */
import type { Diagnostics, Position } from "./diagnostics.ts";
import type { InstanceDraft, NotifyDraft, TrackRefDraft, VipDraft } from "./draft.ts";
import type { ConfigInput } from "./types.ts";
import { familyOf, readInt } from "./values.ts";

/** Brands are applied by the Schema decode in `load.ts`; here values are the encoded (plain) shape. */
export type GlobalIn = ConfigInput["global"];
export type InstanceIn = {
  -readonly [K in keyof ConfigInput["instances"][number]]: ConfigInput["instances"][number][K];
};
type VipIn = InstanceIn["vips"][number];
export type TrackRefIn = InstanceIn["trackScripts"][number];
export type Notify = InstanceIn["notify"];

export const notifyOf = (n: NotifyDraft): Notify => ({
  master: n.master ?? null,
  backup: n.backup ?? null,
  fault: n.fault ?? null,
  stop: n.stop ?? null,
  deleted: n.deleted ?? null,
  masterRxLowerPri: n.masterRxLowerPri ?? null,
  generic: n.generic ?? null,
});

export interface TrackerDefaults {
  readonly scripts: ReadonlyMap<string, { weight: number; reverse: boolean }>;
  readonly processes: ReadonlyMap<string, { weight: number; reverse: boolean }>;
  readonly files: ReadonlyMap<string, { weight: number; reverse: boolean }>;
}

export type TrackKind = "interface" | "script" | "process" | "file";

/**
 * keepalived 2.2.7's words for a track line's options (vrrp_track.c `alloc_track_if`,
 * `alloc_track_script`, `alloc_track_process`; track_file.c `vrrp_alloc_track_file`), which differ by
 * kind. `badWeight` also says what the weight becomes; `clamp254`: ±254 becomes ±253 with a warning
 * (the others take ±254); `dropOnBadOption`: an unknown word after the weight drops the line
 * (track_file) rather than being ignored.
 */
const TRACK_WORDS: Readonly<
  Record<
    TrackKind,
    {
      readonly unknown: (owner: string, name: string, word: string) => string;
      readonly noun: string;
      readonly badWeight: (owner: string, name: string, text: string) => string;
      readonly badWeightIsZero: boolean;
      readonly clamp254: boolean;
      readonly noreverse: boolean;
      readonly unknownAfterWeight: (owner: string, name: string, word: string) => string;
      readonly dropOnBadOption: boolean;
    }
  >
> = {
  interface: {
    unknown: (o, n, w) => `(${o}) unknown track_interface ${n} option ${w} - ignoring`,
    noun: "track_interface",
    badWeight: (o, n, t) => `(${o}) weight ${t} for ${n} must be between [-253..253] inclusive. Ignoring...`,
    badWeightIsZero: true,
    clamp254: true,
    noreverse: false,
    // "interace": keepalived's own spelling of this message, kept so logs match.
    unknownAfterWeight: (o, n, w) => `(${o}) unknown track_interace ${n} weight option ${w} - ignoring`,
    dropOnBadOption: false,
  },
  script: {
    unknown: (o, _n, w) => `(${o}) unknown track script option ${w} - ignoring`,
    noun: "track script",
    badWeight: (o, n) =>
      `(${o}) track script ${n}: weight must be between [-253..253] inclusive, ignoring...`,
    badWeightIsZero: false,
    clamp254: true,
    noreverse: true,
    unknownAfterWeight: (o, n, w) => `(${o}) unknown track_script ${n} weight option ${w} - ignoring`,
    dropOnBadOption: false,
  },
  process: {
    unknown: (o, _n, w) => `(${o}) unknown track process option ${w} - ignoring`,
    noun: "track process",
    badWeight: (o, n) => `(${o}) weight for track process ${n} must be in [-254..254] inclusive. Ignoring...`,
    badWeightIsZero: false,
    clamp254: false,
    noreverse: true,
    unknownAfterWeight: (o, n, w) => `(${o}) unknown track_process ${n} weight option ${w} - ignoring`,
    dropOnBadOption: false,
  },
  file: {
    unknown: (o, _n, w) => `(${o}) unknown track file option ${w} - ignoring`,
    noun: "track file",
    badWeight: (o, n) => `(${o}) weight for track file ${n} must be in [-254..254] inclusive. Ignoring...`,
    badWeightIsZero: false,
    clamp254: false,
    noreverse: true,
    unknownAfterWeight: (o, n, w) => `(${o}) unknown track file ${n} weight option ${w} - ignoring`,
    dropOnBadOption: true,
  },
};

/**
 * The weight and direction of one track line, read as keepalived reads it: the tracker's own
 * weight and `reverse` (none for an interface: 0, not reversed) unless `weight W` follows the name;
 * after W, `reverse` (or `noreverse`, not for interfaces) sets the direction and other words are
 * reported; anything after that is not read. Undefined when keepalived drops the line.
 */
function trackOptions(
  diags: Diagnostics,
  owner: string,
  kind: TrackKind,
  r: TrackRefDraft,
  def: { weight: number; reverse: boolean } | undefined,
): { weight: number; reverse: boolean } | undefined {
  const words = TRACK_WORDS[kind];
  let weight = def?.weight ?? 0;
  let reverse = def?.reverse ?? false;
  const [first, w, option] = r.args;
  if (first === undefined) return { weight, reverse };
  if (first.text !== "weight") {
    diags.warn(
      first,
      "unknown-keyword",
      words.unknown(owner, r.name, first.text),
      "expected: weight W [reverse]",
    );
    return undefined;
  }
  if (w === undefined) {
    diags.error(
      first,
      "value",
      `(${owner}) weight without value specified for ${words.noun} ${r.name} - ignoring`,
    );
    return undefined;
  }
  const n = readInt({ diags }, w, -254, 254, true);
  if (n === undefined) {
    diags.error(w, "range", words.badWeight(owner, r.name, w.text));
    if (words.badWeightIsZero) weight = 0;
  } else if (words.clamp254 && Math.abs(n) === 254) {
    diags.warn(w, "range", `(${owner}) weight for ${r.name} cannot be +/-254. Setting to +/-253`);
    weight = n < 0 ? -253 : 253;
  } else weight = n;
  if (option === undefined) return { weight, reverse };
  if (option.text === "reverse") reverse = true;
  else if (option.text === "noreverse" && words.noreverse) reverse = false;
  else {
    diags.warn(option, "unknown-keyword", words.unknownAfterWeight(owner, r.name, option.text));
    if (words.dropOnBadOption) return undefined;
  }
  return { weight, reverse };
}

/**
 * An instance's or sync group's track lines of one kind, in order: a name not defined (scripts,
 * processes, files: `defs`) or already tracked is reported and skipped, then its options are read
 * (`trackOptions`), all with keepalived's texts.
 */
export function resolveRefs(
  diags: Diagnostics,
  owner: string,
  kind: TrackKind,
  refs: readonly TrackRefDraft[],
  defs: ReadonlyMap<string, { weight: number; reverse: boolean }> | undefined,
): TrackRefIn[] {
  const out: TrackRefIn[] = [];
  for (const r of refs) {
    if (out.some((o) => o.name === r.name)) {
      diags.warn(r.at, "semantic", `(${owner}) duplicate track_${kind} ${r.name} - ignoring`);
      continue;
    }
    const def = defs?.get(r.name);
    if (defs !== undefined && def === undefined) {
      diags.error(
        r.at,
        "semantic",
        `(${owner}) track ${kind} ${r.name} not found, ignoring...`,
        `define it with a top-level block`,
      );
      continue;
    }
    const options = trackOptions(diags, owner, kind, r, def);
    if (options !== undefined) out.push({ name: r.name, weight: options.weight, reverse: options.reverse });
  }
  return out;
}

/** Field by field (a rest/spread copy here is a slow megamorphic clone at 10,000 instances). */
export const vipOf = (v: VipDraft, dev: string): VipIn => ({
  address: v.address,
  family: v.family,
  prefixLength: v.prefixLength,
  broadcast: v.broadcast,
  dev: v.dev ?? dev,
  scope: v.scope,
  label: v.label,
  peer: v.peer,
  useVmac: v.useVmac,
  home: v.home,
  noDad: v.noDad,
  mngTmpAddr: v.mngTmpAddr,
  noPrefixRoute: v.noPrefixRoute,
  autoJoin: v.autoJoin,
  noTrack: v.noTrack,
  preferredLft: v.preferredLft,
  line: v.line,
});

/** keepalived's `DEFAULT_MTU`, used when an interface's MTU is not known. */
export const DEFAULT_MTU = 1500;

/** The MTU of an interface on this host, or undefined when unknown (a host fact, injected). */
export type MtuOf = (ifname: string) => number | undefined;

/**
 * How many addresses keepalived puts in one advert (vrrp_complete_instance): what fits in the
 * interface MTU after the Ethernet, IP and VRRP headers (and, for VRRPv2, the 8 auth bytes and an
 * AH header when used), at most 255 (the count field is 8 bits).
 */
export function maxAdvertAddresses(
  family: "ipv4" | "ipv6",
  version: 2 | 3,
  ah: boolean,
  mtu?: number,
): number {
  const ETHER = 14;
  const VRRP_HEADER = 8;
  const AUTH = 8;
  const AH_HEADER = 24;
  const header =
    family === "ipv4"
      ? ETHER + 20 + VRRP_HEADER + (version === 2 ? AUTH + (ah ? AH_HEADER : 0) : 0)
      : ETHER + 40 + VRRP_HEADER;
  const fit = Math.floor(((mtu ?? DEFAULT_MTU) - header) / (family === "ipv4" ? 4 : 16));
  return Math.max(0, Math.min(255, fit));
}

/**
 * The instance's address family, as keepalived sets it: from the first address written among the
 * VIPs, unicast_src_ip, unicast peers and mcast_dst_ip (later ones of the other family are then
 * reported and ignored). Addresses in different files keep that order of precedence. IPv4 when
 * there is none.
 */
function instanceFamily(d: InstanceDraft): "ipv4" | "ipv6" {
  const candidates: Array<{ family: "ipv4" | "ipv6" | undefined; at: Position }> = [
    ...(d.vips[0] === undefined ? [] : [{ family: d.vips[0].family, at: d.vips[0].at }]),
    ...(d.unicastSrcIp === undefined
      ? []
      : [{ family: familyOf(d.unicastSrcIp.value), at: d.unicastSrcIp.at }]),
    ...(d.unicastPeers[0] === undefined
      ? []
      : [{ family: familyOf(d.unicastPeers[0].address), at: d.unicastPeers[0].at }]),
    ...(d.mcastDstIp === undefined ? [] : [{ family: familyOf(d.mcastDstIp.value), at: d.mcastDstIp.at }]),
  ];
  let first: { family: "ipv4" | "ipv6"; at: Position } | undefined;
  for (const c of candidates) {
    if (c.family === undefined) continue;
    const earlier =
      first === undefined ||
      (c.at.file === first.at.file &&
        (c.at.line < first.at.line || (c.at.line === first.at.line && c.at.column < first.at.column)));
    if (earlier) first = { family: c.family, at: c.at };
  }
  return first?.family ?? "ipv4";
}

export function resolveInstance(
  diags: Diagnostics,
  d: InstanceDraft,
  g: GlobalIn,
  trackers: TrackerDefaults,
  globalVersionExplicit = false,
  interfaceMtu: MtuOf = () => undefined,
): InstanceIn | undefined {
  const mtuOf = (ifname: string | null): number | undefined =>
    ifname === null ? undefined : interfaceMtu(ifname);
  const name = d.name;
  if (d.vrid === undefined) {
    diags.fatal(d.at, "semantic", `(${name}) the virtual router id must be set`);
    return undefined;
  }
  const strict = d.strict ?? g.strict;
  const family = instanceFamily(d);
  const vips = d.vips.filter((v) => {
    if (v.family === family) return true;
    diags.error(
      v.at,
      "semantic",
      `(${name}): address family must match VRRP instance [${v.written}] - ignoring`,
      "put the other family in its own vrrp_instance",
    );
    return false;
  });
  let version: 2 | 3 = d.version?.value ?? (g.version as 2 | 3);
  if (family === "ipv6" && version === 2) {
    const at = d.version?.at ?? (globalVersionExplicit ? (d.vips[0]?.at ?? d.at) : undefined);
    if (at !== undefined) diags.warn(at, "semantic", `(${name}) IPv6 requires VRRPv3 - using version 3`);
    version = 3;
  }
  // keepalived's daemon does not start on a VRRPv3 or strict instance without a VIP
  if (vips.length === 0) {
    const required = strict || version === 3;
    (required ? diags.fatal : diags.warn).call(
      diags,
      d.vipsAt ?? d.at,
      "semantic",
      `(${name}) No VIP specified; at least one is ${required ? "required" : "sensible"}`,
    );
  }
  // advertisement interval
  let advUs = d.advertIntUs?.value ?? 1_000_000;
  const advAt = d.advertIntUs?.at ?? d.at;
  if (version === 2) {
    if (advUs % 1_000_000 !== 0) {
      diags.warn(
        advAt,
        "semantic",
        `(${name}) VRRPv2 advertisement interval ${(advUs / 1e6).toFixed(6)}s must be an integer. rounding`,
        "VRRPv2 adverts carry whole seconds",
      );
      advUs = Math.max(1_000_000, Math.round(advUs / 1_000_000) * 1_000_000);
    }
  } else {
    if (advUs > 40_950_000) {
      diags.error(
        advAt,
        "range",
        `(${name}) VRRPv3 advertisement interval ${(advUs / 1e6).toFixed(2)}s is out of range. Must be less than 40.96s. Setting to 40.95s`,
      );
      advUs = 40_950_000;
    } else if (advUs % 10_000 !== 0) {
      diags.warn(
        advAt,
        "semantic",
        `(${name}) VRRPv3 advertisement interval ${(advUs / 1e6).toFixed(6)}s is not a multiple of 10ms. rounding`,
      );
      advUs = Math.max(10_000, Math.round(advUs / 10_000) * 10_000);
    }
  }
  // priority, state, preemption
  const explicitMaster = d.state?.value === "MASTER";
  const basePriority = d.priority?.value ?? (explicitMaster ? 255 : 100);
  let wantState = d.state?.value ?? (basePriority === 255 ? "MASTER" : "BACKUP");
  let nopreempt = d.nopreempt?.value ?? false;
  let preemptDelayUs = d.preemptDelayUs?.value ?? 0;
  // An explicit state that disagrees with ownership: keepalived reports it and takes the state
  // ownership gives (a state left out is derived from it without a word).
  if (strict && d.state !== undefined && explicitMaster !== (basePriority === 255)) {
    diags.error(
      d.state.at,
      "semantic",
      `(${name}) State MASTER must match being address owner`,
      "vrrp_strict: state MASTER if and only if priority 255",
    );
    wantState = basePriority === 255 ? "MASTER" : "BACKUP";
  }
  // vrrp.c vrrp_complete_instance, in its order: an owner cannot be nopreempt; an initial MASTER
  // clears nopreempt and preempt_delay; then preempt_delay goes with strict mode or nopreempt.
  if (nopreempt && basePriority === 255) {
    diags.warn(
      d.nopreempt?.at ?? d.at,
      "semantic",
      `(${name}) nopreempt is incompatible with priority 255. resetting nopreempt`,
    );
    nopreempt = false;
  }
  if (wantState === "MASTER") {
    if (nopreempt) {
      diags.warn(
        d.nopreempt?.at ?? d.at,
        "semantic",
        `(${name}) Warning - nopreempt will not work with initial state MASTER - clearing`,
        "nopreempt needs state BACKUP on every node",
      );
      nopreempt = false;
    }
    if (preemptDelayUs > 0) {
      diags.warn(
        d.preemptDelayUs?.at ?? d.at,
        "semantic",
        `(${name}) Warning - preempt delay will not work with initial state MASTER - clearing`,
      );
      preemptDelayUs = 0;
    }
  }
  if (preemptDelayUs > 0) {
    const at = d.preemptDelayUs?.at ?? d.at;
    if (strict)
      diags.error(at, "semantic", `(${name}) preempt_delay is incompatible with strict mode - resetting`);
    if (nopreempt)
      diags.error(at, "semantic", `(${name}) preempt_delay is incompatible with nopreempt mode - resetting`);
    if (strict || nopreempt) preemptDelayUs = 0;
  }
  // interface and addresses
  const iface = d.interface?.value ?? null;
  // keepalived 2.2.7 checks for an interface before it looks at unicast peers (chk_min_cfg), so
  // every instance needs one, unicast or not
  if (iface === null) diags.fatal(d.at, "semantic", `(${name}) Unknown interface!`, "set 'interface IF'");
  // vrrp_srcip_handler: a source address of the other family is reported and not used
  const srcIp = (src: { value: string; at: Position } | undefined): string | null => {
    if (src === undefined) return null;
    if (familyOf(src.value) === family) return src.value;
    diags.error(
      src.at,
      "semantic",
      `Configuration error: VRRP instance[${name}] and src address[${src.value}] MUST be of the same family !!! Skipping...`,
    );
    return null;
  };
  const unicastSrcIp = srcIp(d.unicastSrcIp);
  const mcastSrcIp = srcIp(d.mcastSrcIp);
  const peers = d.unicastPeers.filter((p) => {
    if (familyOf(p.address) === family) return true;
    diags.error(
      p.at,
      "semantic",
      `Configuration error: VRRP instance[${name}] and unicast peer address[${p.address}] MUST be of the same family !!! Skipping...`,
    );
    return false;
  });
  // unicast keywords without peers (vrrp_end_handler, vrrp_complete_instance)
  let unicastTtl = d.unicastTtl ?? 255;
  if (peers.length === 0 && d.unicastTtl !== undefined) {
    diags.warn(d.at, "semantic", `(${name}): Cannot use unicast_ttl without unicast peers - resetting`);
    unicastTtl = 255;
  }
  const unicastConfigured =
    d.unicastConfigured === true || d.unicastSrcIp !== undefined || d.checkUnicastSrc !== undefined;
  if (peers.length === 0 && unicastConfigured && !d.unicastFaultNoPeer)
    diags.warn(
      d.at,
      "semantic",
      `(${name}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.`,
    );
  // auth
  let auth: InstanceIn["auth"] = { type: "none" };
  if (d.auth !== undefined) {
    if (strict)
      diags.error(d.auth.at, "semantic", `(${name}) Strict mode does not support authentication. Ignoring.`);
    else if (version === 3)
      diags.warn(
        d.auth.at,
        "semantic",
        `(${name}) VRRP version 3 does not support authentication. Ignoring.`,
      );
    else if (d.auth.value.pass === "")
      diags.warn(d.auth.at, "semantic", `(${name}) Authentication specified but no password given. Ignoring`);
    else if (d.auth.value.type === "AH" && family === "ipv6")
      diags.error(d.auth.at, "semantic", `(${name}) Cannot use AH authentication with IPv6. ignoring`);
    else auth = d.auth.value;
  }
  if (auth.type === "AH" && wantState === "MASTER" && basePriority !== 255) {
    diags.warn(
      d.state?.at ?? d.at,
      "semantic",
      `(${name}) Initial state master is incompatible with AH authentication - clearing`,
      "an AH master needs a received advert's sequence number first",
    );
    wantState = "BACKUP";
  }
  // addresses beyond what one advert can carry become excluded VIPs (vrrp_complete_instance)
  const maxVips = maxAdvertAddresses(family, version, auth.type === "AH", mtuOf(iface));
  const excessVips = vips.length > maxVips ? vips.splice(maxVips) : [];
  if (excessVips.length > 0)
    diags.warn(
      excessVips[0]?.at ?? d.at,
      "semantic",
      `(${name}) Number of VIPs (${maxVips + excessVips.length}) exceeds maximum/space available in packet (max ${maxVips} addresses) - excess moved to eVIPs`,
      `one advert on ${iface ?? "the interface"} (MTU ${mtuOf(iface) ?? `${DEFAULT_MTU}, assumed`}) holds at most ${maxVips}`,
    );
  // GARP: instance values over global ones. The lower-priority burst, unless set here, takes the
  // global value (itself the global master burst's unless set), 0 in strict mode; set here under
  // strict mode it is reset to 0 (vrrp_complete_instance).
  const garp = { ...g.garp, ...d.garp };
  if (d.garp.lowerPrioDelayUs === undefined) garp.lowerPrioDelayUs = strict ? 0 : g.garp.lowerPrioDelayUs;
  else if (strict && garp.lowerPrioDelayUs !== 0) {
    diags.error(d.at, "semantic", `(${name}) Strict mode requires no repeat garp delay. resetting`);
    garp.lowerPrioDelayUs = 0;
  }
  if (d.garp.lowerPrioRepeat === undefined) garp.lowerPrioRepeat = strict ? 0 : g.garp.lowerPrioRepeat;
  else if (strict && garp.lowerPrioRepeat !== 0) {
    diags.error(d.at, "semantic", `(${name}) Strict mode requires no repeat garps. resetting`);
    garp.lowerPrioRepeat = 0;
  }
  // strict mode
  let downTimerAdverts = d.downTimerAdverts?.value ?? g.downTimerAdverts;
  let lowerPrioNoAdvert = d.lowerPrioNoAdvert ?? (strict || g.lowerPrioNoAdvert);
  let higherPrioSendAdvert = d.higherPrioSendAdvert ?? g.higherPrioSendAdvert;
  if (strict) {
    if (peers.length > 0)
      diags.warn(
        peers[0]?.at ?? d.at,
        "semantic",
        `(${name}) vrrp_strict does not allow unicast peers on an interface that supports multicast`,
      );
    // the instance's value, or the global one it started with (alloc_vrrp)
    if (downTimerAdverts !== 3) {
      diags.error(
        d.downTimerAdverts?.at ?? d.at,
        "semantic",
        `(${name}) down_timer_adverts is incompatible with strict mode - resetting`,
      );
      downTimerAdverts = 3;
    }
    if (!lowerPrioNoAdvert) {
      diags.error(d.at, "semantic", `(${name}) Strict mode requires no lower priority advert. resetting`);
      lowerPrioNoAdvert = true;
    }
    if (higherPrioSendAdvert) {
      diags.error(
        d.at,
        "semantic",
        `(${name}) strict mode requires higher_prio_send_advert to be clear. resetting`,
      );
      higherPrioSendAdvert = false;
    }
    const firstV6 = vips.find((v) => v.family === "ipv6");
    if (firstV6 !== undefined && !/^fe[89ab]/i.test(firstV6.address))
      diags.error(firstV6.at, "semantic", `(${name}) the first IPv6 VIP address must be link local`);
  }
  // trackers
  const track = {
    // vrrp.c vrrp_complete_instance: the instance's own interface is not tracked again.
    trackInterfaces: resolveRefs(diags, name, "interface", d.track.interfaces, undefined).filter((r) => {
      if (r.name !== iface) return true;
      const at = d.track.interfaces.find((x) => x.name === r.name)?.at ?? d.at;
      diags.error(at, "semantic", `(${name}) Ignoring track_interface ${r.name} since own interface`);
      return false;
    }),
    trackScripts: resolveRefs(diags, name, "script", d.track.scripts, trackers.scripts),
    trackProcesses: resolveRefs(diags, name, "process", d.track.processes, trackers.processes),
    trackFiles: resolveRefs(diags, name, "file", d.track.files, trackers.files),
  };
  const mcastGroup = d.mcastDstIp?.value ?? (family === "ipv4" ? g.mcastGroup4 : g.mcastGroup6);
  return {
    name,
    line: d.at.line,
    interface: iface,
    vrid: d.vrid.value,
    family,
    version,
    basePriority,
    wantState,
    advertIntervalCs: advUs / 10_000,
    nopreempt,
    preemptDelayUs,
    vips: vips.map((v) => vipOf(v, iface ?? g.defaultInterface)),
    excludedVips: [...d.excludedVips, ...excessVips].map((v) => vipOf(v, iface ?? g.defaultInterface)),
    routes: [...d.routes],
    rules: [...d.rules],
    auth,
    unicastSrcIp,
    unicastPeers: peers.map((p) => ({ address: p.address, minTtl: p.minTtl, maxTtl: p.maxTtl })),
    unicastTtl,
    unicastFaultNoPeer: d.unicastFaultNoPeer,
    mcastSrcIp,
    mcastGroup,
    checkUnicastSrc:
      d.checkUnicastSrc ?? (g.checkUnicastSrc || peers.some((p) => p.minTtl !== null || p.maxTtl !== null)),
    skipCheckAdvAddr: d.skipCheckAdvAddr ?? g.skipCheckAdvAddr,
    garp,
    downTimerAdverts,
    lowerPrioNoAdvert,
    higherPrioSendAdvert,
    dontTrackPrimary: d.dontTrackPrimary,
    ...track,
    notify: notifyOf(d.notify),
    notifyPriorityChanges: d.notifyPriorityChanges ?? g.notifyPriorityChanges,
    syncGroup: null,
    transport: d.transport ?? g.transport,
    strict,
    accept: d.accept?.value ?? (strict ? basePriority === 255 : true),
    promoteSecondaries: d.promoteSecondaries,
  };
}
