/**
 * The `NodeSpec` as an effect Schema, for specs that come from outside the process: a journal's
 * header, a segment's checkpoint after a reload, a `reload` input. A journal is a file anyone can
 * write, and a node built from a malformed spec would fail somewhere inside (a VIP that is not an
 * address reaching the advert encoder, a tracked name no tracker has). `decodeNodeSpec` checks the
 * shape (every field of spec.ts's interfaces, with the ranges the wire and the machines need) and
 * then what a node assumes between the parts: unique names, every tracked tracker and sync group
 * present, every address an address of its family. A spec built from a validated configuration
 * (config.adapter.ts) always passes (test/runtime/spec-schema.test.ts). Pure.
 */
import { isIPv4, isIPv6 } from "node:net";
import { Schema, SchemaIssue } from "effect";
import { Route, Rule } from "../config/types.ts";
import type { NodeSpec } from "./spec.ts";

const IntBetween = (minimum: number, maximum: number) =>
  Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum, maximum })));
/** A count or a duration in µs: a non-negative safe integer. */
const Count = IntBetween(0, Number.MAX_SAFE_INTEGER);
const Bool = Schema.Boolean;
const Str = Schema.String;
const Name = Schema.NonEmptyString;
const Ip = Str.pipe(
  Schema.check(
    Schema.makeFilter<string>((s) => isIPv4(s) || isIPv6(s) || "expected an IPv4 or IPv6 address"),
  ),
);
const opt = Schema.optionalKey;

const InstanceParams = Schema.Struct({
  name: Name,
  vrid: IntBetween(1, 255),
  version: Schema.Literals([2, 3]),
  family: Schema.Literals([4, 6]),
  ifname: Str,
  ownIp: Ip,
  basePriority: IntBetween(1, 255),
  wantMaster: Bool,
  nopreempt: Bool,
  preemptDelayUs: Count,
  /** v2: whole seconds up to 255; v3: 1..4095 (checked against the version below). */
  advertIntervalCs: IntBetween(1, 25_500),
  downTimerAdverts: IntBetween(1, 255),
  vips: Schema.Array(Str),
  garpMasterRepeat: Count,
  garpMasterDelayUs: Count,
  garpMasterRefreshUs: Count,
  garpMasterRefreshRepeat: opt(Count),
  garpLowerPrioRepeat: Count,
  garpLowerPrioDelayUs: opt(Count),
  lowerPrioNoAdvert: Bool,
  higherPrioSendAdvert: Bool,
  syncGroup: opt(Name),
  notifyPriorityChanges: opt(Bool),
  unicast: opt(Bool),
  routes: opt(Schema.Array(Str)),
  rules: opt(Schema.Array(Str)),
});

const VipAddress = Schema.Struct({
  address: Ip,
  prefixLength: IntBetween(0, 128),
  family: Schema.Literals([4, 6]),
  dev: Str,
  broadcast: Schema.NullOr(Str),
  scope: Str,
  label: Schema.NullOr(Str),
  peer: Schema.NullOr(Str),
  preferredLft: Schema.NullOr(Schema.Union([Schema.Literal("forever"), Count])),
  noPrefixRoute: Bool,
  noDad: Bool,
  home: Bool,
  mngTmpAddr: Bool,
  autoJoin: Bool,
  noTrack: Bool,
});

const InstanceSpec = Schema.Struct({
  params: InstanceParams,
  tracking: Schema.Array(Schema.Struct({ tracker: Name, weight: Schema.Int, reverse: Bool })),
  unicastPeers: Schema.Array(Ip),
  authPass: opt(Str),
  vips: opt(Schema.Array(VipAddress)),
  excludedVips: opt(Schema.Array(VipAddress)),
  garpIntervalUs: opt(Count),
  gnaIntervalUs: opt(Count),
  mcastGroup: opt(Ip),
  unicastTtl: opt(IntBetween(0, 255)),
  checkUnicastSrc: opt(Bool),
  peerTtl: opt(
    Schema.Array(Schema.Struct({ address: Ip, minTtl: IntBetween(0, 255), maxTtl: IntBetween(0, 255) })),
  ),
  skipCheckAdvAddr: opt(Bool),
  configFaults: opt(Schema.Array(Str)),
  notifyDeleted: opt(Bool),
  routes: opt(Schema.Array(Route)),
  rules: opt(Schema.Array(Rule)),
});

const TrackerParams = Schema.Struct({
  name: Name,
  kind: Schema.Literals(["script", "link", "process", "file"]),
  rise: Count,
  fall: Count,
  initFail: Bool,
  quorum: opt(Count),
  quorumMax: opt(Count),
  initValue: opt(Schema.Int),
});

const CheckerSpec = Schema.Struct({
  kind: Schema.Literals(["TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK"]),
  delayLoopUs: Count,
  connectTimeoutUs: Count,
  retry: Count,
  delayBeforeRetryUs: Count,
  warmupUs: Count,
  alpha: Bool,
  logAllFailures: opt(Bool),
  urls: Schema.Array(Schema.Struct({ path: Str, hasDigest: Bool, hasRegex: opt(Bool) })),
  miscPath: Str,
  miscDynamic: Bool,
});

const VirtualServerSpec = Schema.Struct({
  name: Name,
  quorum: Schema.Int,
  hysteresis: Schema.Int,
  hasQuorumUp: Bool,
  hasQuorumDown: Bool,
  omega: Bool,
  sorry: Schema.NullOr(Schema.Struct({ name: Name, weight: Schema.Int })),
  realServers: Schema.Array(
    Schema.Struct({
      name: Name,
      weight: Schema.Int,
      inhibit: Bool,
      hasNotifyUp: Bool,
      hasNotifyDown: Bool,
      checkers: Schema.Array(CheckerSpec),
    }),
  ),
});

export const NodeSpecSchema = Schema.Struct({
  instances: Schema.Array(InstanceSpec),
  groups: Schema.Array(Schema.Struct({ name: Name, members: Schema.Array(Name) })),
  trackers: Schema.Array(TrackerParams),
  virtualServers: opt(Schema.Array(VirtualServerSpec)),
  staticAddresses: opt(Schema.Array(VipAddress)),
  staticRoutes: opt(Schema.Array(Route)),
  staticRules: opt(Schema.Array(Rule)),
});

// The schema and spec.ts's interfaces describe the same values: each is assignable to the other.
type Decoded = typeof NodeSpecSchema.Type;
const sameShape: [Decoded] extends [NodeSpec] ? ([NodeSpec] extends [Decoded] ? true : false) : false = true;
void sameShape;

const familyOf = (ip: string): 4 | 6 | 0 => (isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : 0);

/** A VIP as `params.vips` carries it: `ADDRESS` or `ADDRESS/LEN` of the instance's family. */
const vipProblem = (vip: string, family: 4 | 6): string | undefined => {
  const [address = "", len, extra] = vip.split("/");
  if (extra !== undefined || familyOf(address) !== family) return `not an IPv${family} address`;
  if (len !== undefined && !(/^\d{1,3}$/.test(len) && Number(len) <= (family === 4 ? 32 : 128)))
    return "bad prefix length";
  return undefined;
};

/** An address (a VIP, a static address) whose address, peer and prefix length are of its family. */
const addressFits = (v: {
  readonly address: string;
  readonly peer: string | null;
  readonly prefixLength: number;
  readonly family: 4 | 6;
}): boolean =>
  familyOf(v.address) === v.family &&
  (v.peer === null || familyOf(v.peer) === v.family) &&
  v.prefixLength <= (v.family === 4 ? 32 : 128);

/** The first route or rule (an instance's, or the static ones) with an address not of its family. */
const entryProblem = (routes: Decoded["staticRoutes"], rules: Decoded["staticRules"]): string | undefined => {
  for (const r of routes ?? []) {
    const bad = [r.dst, r.from?.address, r.src, r.via].find((a) => a != null && familyOf(a) !== r.family);
    if (bad !== undefined || r.dstLength > (r.family === 4 ? 32 : 128))
      return `route ${JSON.stringify(r.text)} does not match family ${r.family}`;
  }
  for (const r of rules ?? []) {
    const bad = [r.from, r.to].find(
      (a) => a != null && (familyOf(a.address) !== r.family || a.prefixLength > (r.family === 4 ? 32 : 128)),
    );
    if (bad !== undefined) return `rule ${JSON.stringify(r.text)} does not match family ${r.family}`;
  }
  return undefined;
};

/** What a node assumes between the parts of a spec that has the right shape; the first problem found. */
const consistency = (spec: Decoded): string | undefined => {
  const duplicate = (what: string, names: readonly string[]): string | undefined => {
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) return `${what} ${JSON.stringify(n)} is defined twice`;
      seen.add(n);
    }
    return undefined;
  };
  const instances = new Map(spec.instances.map((i) => [i.params.name, i]));
  const trackers = new Set(spec.trackers.map((t) => t.name));
  const groups = new Map(spec.groups.map((g) => [g.name, g]));
  const dup =
    duplicate("instance", [...spec.instances.map((i) => i.params.name)]) ??
    duplicate("tracker", [...spec.trackers.map((t) => t.name)]) ??
    duplicate("sync group", [...spec.groups.map((g) => g.name)]) ??
    duplicate("virtual server", [...(spec.virtualServers ?? []).map((v) => v.name)]);
  if (dup !== undefined) return dup;
  for (const [n, inst] of spec.instances.entries()) {
    const at = `instances[${n}] (${inst.params.name})`;
    const p = inst.params;
    if (p.family === 6 && p.version !== 3) return `${at}: IPv6 needs VRRP version 3`;
    if (p.version === 3 ? p.advertIntervalCs > 4095 : p.advertIntervalCs % 100 !== 0)
      return `${at}: advertIntervalCs ${p.advertIntervalCs} cannot be sent in a VRRPv${p.version} advert`;
    if (familyOf(p.ownIp) !== p.family) return `${at}: ownIp ${p.ownIp} is not an IPv${p.family} address`;
    for (const v of p.vips) {
      const problem = vipProblem(v, p.family);
      if (problem !== undefined) return `${at}: VIP ${JSON.stringify(v)}: ${problem}`;
    }
    for (const v of [...(inst.vips ?? []), ...(inst.excludedVips ?? [])])
      if (!addressFits(v))
        return `${at}: VIP ${v.address}/${v.prefixLength} does not match family ${v.family}`;
    // Each route and rule the machine names has its entry, and each entry's addresses their family.
    for (const [what, names, all] of [
      ["route", p.routes ?? [], inst.routes ?? []],
      ["rule", p.rules ?? [], inst.rules ?? []],
    ] as const)
      for (const name of names)
        if (!all.some((x) => x.text === name)) return `${at}: ${what} ${JSON.stringify(name)} has no entry`;
    const entry = entryProblem(inst.routes, inst.rules);
    if (entry !== undefined) return `${at}: ${entry}`;
    for (const peer of inst.unicastPeers)
      if (familyOf(peer) !== p.family) return `${at}: unicast peer ${peer} is not an IPv${p.family} address`;
    if (inst.mcastGroup !== undefined && familyOf(inst.mcastGroup) !== p.family)
      return `${at}: mcastGroup ${inst.mcastGroup} is not an IPv${p.family} address`;
    for (const t of inst.tracking)
      if (!trackers.has(t.tracker)) return `${at}: tracks ${JSON.stringify(t.tracker)}, which no tracker is`;
    if (p.syncGroup !== undefined && !groups.get(p.syncGroup)?.members.includes(p.name))
      return `${at}: sync group ${JSON.stringify(p.syncGroup)} does not list it`;
  }
  for (const v of spec.staticAddresses ?? [])
    if (!addressFits(v))
      return `static address ${v.address}/${v.prefixLength} does not match family ${v.family}`;
  const statics = entryProblem(spec.staticRoutes, spec.staticRules);
  if (statics !== undefined) return `static ${statics}`;
  for (const g of spec.groups)
    for (const m of g.members)
      if (instances.get(m)?.params.syncGroup !== g.name)
        return `sync group ${JSON.stringify(g.name)}: member ${JSON.stringify(m)} is not an instance of the group`;
  return undefined;
};

export type SpecDecode =
  | { readonly ok: true; readonly spec: NodeSpec }
  | { readonly ok: false; readonly message: string };

const decode = Schema.decodeUnknownResult(NodeSpecSchema);
const formatter = SchemaIssue.makeFormatterStandardSchemaV1();

/** Checks an untrusted `NodeSpec` (shape, ranges, the references between its parts). Never throws. */
export const decodeNodeSpec = (x: unknown): SpecDecode => {
  const r = decode(x, { errors: "first" });
  if (r._tag === "Failure") {
    const issue = formatter(r.failure.issue).issues[0];
    const path = (issue?.path ?? [])
      .map((k) => (typeof k === "number" ? `[${k}]` : `.${String(k)}`))
      .join("");
    return { ok: false, message: `spec${path}: ${issue?.message ?? "invalid"}` };
  }
  const problem = consistency(r.success);
  // The value itself, not the decoded copy: what was journaled is what the node gets (extra keys and all).
  return problem === undefined
    ? { ok: true, spec: x as NodeSpec }
    : { ok: false, message: `spec: ${problem}` };
};
