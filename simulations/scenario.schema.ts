/**
 * The scenario file format (YAML, decoded with effect's Schema): LANs with their default faults,
 * nodes (a keepalived.conf each, inline or by path, and which LAN each interface is on), a
 * timeline of faults and operations, and expectations. This module decodes the shapes and the
 * value grammars; names are checked against each other and against the configurations in
 * scenario.load.ts. Every problem carries its file:line:column. Pure. The format is documented
 * in simulations/README.md.
 */
import { Schema } from "effect";
import type { LinkFaults } from "../transports/sim.transport.ts";
import { decodeExpect, EXPECTS, type Expectation, type ExpectName } from "./expectations.ts";
import { parseRealServer, REAL_SERVER_STATES, type RealServerState } from "./lvs-sim.ts";
import {
  durationAt as duration,
  parsePercentPpm,
  ScenarioError,
  type ScenarioSource,
  type YamlPath,
} from "./scenario.source.ts";

const Str = Schema.String;
const Opt = Schema.optional;
const Time = Schema.Union([Schema.String, Schema.Number]);

const FaultFields = {
  loss: Opt(Time),
  duplicate: Opt(Time),
  reorder: Opt(Time),
  reorderWindow: Opt(Time),
  delay: Opt(Time),
  jitter: Opt(Time),
};
const LanRaw = Schema.NullOr(Schema.Struct(FaultFields));
const InterfaceRaw = Schema.Struct({ lan: Str, ipv4: Opt(Str), ipv6: Opt(Str) });
const NodeRaw = Schema.Struct({
  config: Str,
  interfaces: Schema.Record(Str, InterfaceRaw),
  /** `vrrp_track_process` name → processes running at start (default: its quorum). */
  processes: Opt(Schema.Record(Str, Schema.Int)),
  /** Start time (default 0, plus the seeded start spread). */
  start: Opt(Time),
  /** The node's own clock: drift in ppm (integer), and how late each timer may fire. */
  clock: Opt(Schema.Struct({ drift: Opt(Schema.Int), jitter: Opt(Time) })),
});
const ScenarioRaw = Schema.Struct({
  name: Opt(Str),
  description: Opt(Str),
  duration: Time,
  seed: Opt(Schema.Int),
  startSpread: Opt(Time),
  checkpointEvery: Opt(Time),
  /** LVS real servers' states at the start, `ADDRESS:PORT: up | down | hang` (default up). */
  realServers: Opt(Schema.NullOr(Schema.Record(Str, Schema.Literals(REAL_SERVER_STATES)))),
  lans: Schema.Record(Str, LanRaw),
  nodes: Schema.Record(Str, NodeRaw),
  timeline: Opt(Schema.NullOr(Schema.Array(Schema.Record(Str, Schema.Unknown)))),
  expect: Opt(Schema.NullOr(Schema.Array(Schema.Record(Str, Schema.Unknown)))),
});

const NodeRef = Schema.Struct({ node: Str });
const ACTIONS = {
  partition: Schema.Struct({
    groups: Opt(Schema.Array(Schema.Array(Str))),
    from: Opt(Schema.Array(Str)),
    to: Opt(Schema.Array(Str)),
    lan: Opt(Str),
  }),
  heal: Schema.NullOr(Schema.Struct({ lan: Opt(Str) })),
  link: Schema.Struct({ node: Str, interface: Str, state: Schema.Literals(["up", "down"]) }),
  crash: Schema.Struct({ node: Str, addresses: Opt(Schema.Literals(["lose", "keep"])) }),
  restart: Schema.Struct({ node: Str, resume: Opt(Schema.Literals(["fresh", "checkpoint"])) }),
  shutdown: NodeRef,
  script: Schema.Struct({
    node: Str,
    name: Str,
    result: Opt(Schema.Literals(["ok", "fail"])),
    exit: Opt(Schema.Int),
  }),
  process: Schema.Struct({ node: Str, name: Str, running: Schema.Int }),
  file: Schema.Struct({ node: Str, name: Str, value: Schema.Int }),
  reload: Schema.Struct({ node: Str, config: Str }),
  realServer: Schema.Struct({ address: Str, port: Schema.Int, state: Schema.Literals(REAL_SERVER_STATES) }),
  faults: Schema.Struct({
    lan: Opt(Str),
    from: Opt(Str),
    to: Opt(Str),
    both: Opt(Schema.Boolean),
    ...FaultFields,
  }),
} as const;
type ActionName = keyof typeof ACTIONS;
/** Actions whose value may be just a node name. */
const NODE_SHORTHAND: ReadonlySet<string> = new Set(["crash", "restart", "shutdown"]);

export type Action =
  | {
      readonly kind: "partition";
      readonly from: readonly string[][];
      readonly oneWay: boolean;
      readonly lan?: string;
    }
  | { readonly kind: "heal"; readonly lan?: string }
  | { readonly kind: "link"; readonly node: string; readonly ifname: string; readonly up: boolean }
  | { readonly kind: "crash"; readonly node: string; readonly keepAddresses: boolean }
  | { readonly kind: "restart"; readonly node: string; readonly resume: boolean }
  | { readonly kind: "shutdown"; readonly node: string }
  | { readonly kind: "script"; readonly node: string; readonly name: string; readonly exitStatus: number }
  | { readonly kind: "process"; readonly node: string; readonly name: string; readonly running: number }
  | { readonly kind: "file"; readonly node: string; readonly name: string; readonly value: number }
  /** SIGHUP with a new keepalived.conf (`config` as in nodes:); the loaded one is keyed by `configKey`. */
  | {
      readonly kind: "reload";
      readonly node: string;
      readonly config: { readonly inline: string } | { readonly path: string };
      readonly configKey: string;
    }
  /** An LVS real server (`[address]:port`, lvs-sim.ts) starts answering, failing or hanging. */
  | { readonly kind: "realServer"; readonly server: string; readonly state: RealServerState }
  | {
      readonly kind: "faults";
      readonly lan?: string;
      readonly from?: string;
      readonly to?: string;
      readonly both: boolean;
      readonly faults: LinkFaults;
    };

export interface TimedAction {
  readonly atUs: number;
  /** Where it is in the file (for messages and the timeline). */
  readonly path: YamlPath;
  readonly action: Action;
}

export interface NodeDecl {
  readonly name: string;
  /** The keepalived.conf: inline text, or a path relative to the scenario file. */
  readonly config: { readonly inline: string } | { readonly path: string };
  readonly interfaces: ReadonlyArray<{
    readonly ifname: string;
    readonly lan: string;
    readonly ipv4?: string;
    readonly ipv6?: string;
  }>;
  readonly processes: Readonly<Record<string, number>>;
  readonly startUs: number;
  readonly driftPpm: number;
  readonly jitterUs: number;
}

export interface ScenarioSpec {
  readonly name: string;
  readonly description: string;
  readonly durationUs: number;
  readonly seed: number;
  readonly startSpreadUs: number;
  readonly checkpointEveryUs: number;
  /** Real servers not `up` at the start, by `[address]:port`. */
  readonly realServers: Readonly<Record<string, RealServerState>>;
  readonly lans: ReadonlyArray<{ readonly name: string; readonly faults: LinkFaults }>;
  readonly nodes: readonly NodeDecl[];
  readonly timeline: readonly TimedAction[];
  readonly expectations: ReadonlyArray<{ readonly path: YamlPath; readonly expect: Expectation }>;
}

/** Default seeded spread of node start times (so the seed always matters). */
export const DEFAULT_START_SPREAD_US = 100_000;
export const DEFAULT_CHECKPOINT_EVERY_US = 10_000_000;

/** A keepalived.conf: several lines are the text itself, one line a path relative to the scenario. */
const configRef = (text: string): { inline: string } | { path: string } =>
  text.includes("\n") ? { inline: text } : { path: text.trim() };

/** Clock drift, parts per million: within ±10% (a clock further off is broken, not drifting). */
const clockDrift = (src: ScenarioSource, v: number | undefined, path: YamlPath): number => {
  if (v === undefined) return 0;
  if (Math.abs(v) > 100_000) throw src.error(path, `drift ${v} ppm: give an integer from -100000 to 100000`);
  return v;
};

const faultsOf = (src: ScenarioSource, raw: Record<string, unknown>, path: YamlPath): LinkFaults => {
  const f: Record<string, number> = {};
  const pct = (k: string, out: string): void => {
    const v = raw[k] as string | number | undefined;
    if (v === undefined) return;
    const ppm = parsePercentPpm(v);
    if (typeof ppm === "string") throw src.error([...path, k], ppm);
    f[out] = ppm;
  };
  const time = (k: string, out: string): void => {
    const v = raw[k] as string | number | undefined;
    if (v !== undefined) f[out] = duration(src, v, [...path, k]);
  };
  pct("loss", "lossPpm");
  pct("duplicate", "duplicatePpm");
  pct("reorder", "reorderPpm");
  time("reorderWindow", "reorderWindowUs");
  time("delay", "delayUs");
  time("jitter", "jitterUs");
  return f;
};

const oneKey = (
  src: ScenarioSource,
  entry: Record<string, unknown>,
  path: YamlPath,
  known: readonly string[],
  what: string,
): string => {
  const keys = Object.keys(entry).filter((k) => k !== "at");
  if (keys.length !== 1)
    throw src.error(
      path,
      keys.length === 0
        ? `${what} without an action: expected one of ${known.join(", ")}`
        : `one action per ${what}, found ${keys.join(", ")}`,
    );
  const key = keys[0] as string;
  if (!known.includes(key))
    throw src.error([...path, key], `unknown ${what} '${key}': expected one of ${known.join(", ")}`);
  return key;
};

const decodeAction = (src: ScenarioSource, name: ActionName, value: unknown, path: YamlPath): Action => {
  const v = NODE_SHORTHAND.has(name) && typeof value === "string" ? { node: value } : value;
  if (name === "partition" && Array.isArray(value)) {
    const groups = src.decode(Schema.Array(Schema.Array(Str)), value, path);
    return { kind: "partition", from: groups.map((g) => [...g]), oneWay: false };
  }
  switch (name) {
    case "partition": {
      const p = src.decode(ACTIONS.partition, v, path);
      const lan = p.lan === undefined ? {} : { lan: p.lan };
      if (p.groups !== undefined && p.from === undefined && p.to === undefined)
        return { kind: "partition", from: p.groups.map((g) => [...g]), oneWay: false, ...lan };
      if (p.groups === undefined && p.from !== undefined && p.to !== undefined)
        return { kind: "partition", from: [[...p.from], [...p.to]], oneWay: true, ...lan };
      throw src.error(
        path,
        "partition: give either groups: [[a], [b, c]] (symmetric) or from: [a] and to: [b] (one-way)",
      );
    }
    case "heal": {
      const h = src.decode(ACTIONS.heal, v, path);
      return h?.lan === undefined ? { kind: "heal" } : { kind: "heal", lan: h.lan };
    }
    case "link": {
      const l = src.decode(ACTIONS.link, v, path);
      return { kind: "link", node: l.node, ifname: l.interface, up: l.state === "up" };
    }
    case "crash": {
      const c = src.decode(ACTIONS.crash, v, path);
      return { kind: "crash", node: c.node, keepAddresses: c.addresses === "keep" };
    }
    case "restart": {
      const r = src.decode(ACTIONS.restart, v, path);
      return { kind: "restart", node: r.node, resume: r.resume === "checkpoint" };
    }
    case "shutdown":
      return { kind: "shutdown", node: src.decode(ACTIONS.shutdown, v, path).node };
    case "script": {
      const s = src.decode(ACTIONS.script, v, path);
      if ((s.result === undefined) === (s.exit === undefined))
        throw src.error(path, "script: give either result: ok | fail or exit: N");
      const exitStatus = s.exit ?? (s.result === "ok" ? 0 : 1);
      return { kind: "script", node: s.node, name: s.name, exitStatus };
    }
    case "process": {
      const p = src.decode(ACTIONS.process, v, path);
      if (p.running < 0) throw src.error([...path, "running"], "running: a count of processes, 0 or more");
      return { kind: "process", node: p.node, name: p.name, running: p.running };
    }
    case "file": {
      const f = src.decode(ACTIONS.file, v, path);
      return { kind: "file", node: f.node, name: f.name, value: f.value };
    }
    case "reload": {
      const r = src.decode(ACTIONS.reload, v, path);
      return { kind: "reload", node: r.node, config: configRef(r.config), configKey: path.join(".") };
    }
    case "realServer": {
      const r = src.decode(ACTIONS.realServer, v, path);
      const server = parseRealServer(`[${r.address}]:${r.port}`);
      if (typeof server !== "string")
        throw src.error(
          [...path, Number.isInteger(r.port) && r.port >= 0 && r.port <= 65535 ? "address" : "port"],
          `realServer: '${r.address}' port ${r.port}: give an IP address and a port from 0 to 65535`,
        );
      return { kind: "realServer", server, state: r.state };
    }
    case "faults": {
      const f = src.decode(ACTIONS.faults, v, path);
      if ((f.from === undefined) !== (f.to === undefined))
        throw src.error(path, "faults: give both from and to (a link), or neither (a LAN)");
      if ((f.lan === undefined) === (f.from === undefined))
        throw src.error(path, "faults: give lan: NAME (every link on it) or from/to (one link)");
      return {
        kind: "faults",
        ...(f.lan === undefined ? {} : { lan: f.lan }),
        ...(f.from === undefined ? {} : { from: f.from }),
        ...(f.to === undefined ? {} : { to: f.to }),
        both: f.both ?? true,
        faults: faultsOf(src, f as Record<string, unknown>, path),
      };
    }
  }
};

/** Decodes a parsed scenario file into its spec (names not yet cross-checked). Throws ScenarioError. */
export function decodeScenario(src: ScenarioSource): ScenarioSpec {
  if (typeof src.value !== "object" || src.value === null || Array.isArray(src.value))
    throw src.error([], "a scenario is a YAML mapping with duration, lans, nodes, timeline and expect");
  const raw = src.decode(ScenarioRaw, src.value, []);
  const durationUs = duration(src, raw.duration, ["duration"]);
  if (durationUs === 0) throw src.error(["duration"], "duration must be more than 0");
  const lans = Object.entries(raw.lans).map(([name, l]) => ({
    name,
    faults: l === null ? {} : faultsOf(src, l as Record<string, unknown>, ["lans", name]),
  }));
  const nodes: NodeDecl[] = Object.entries(raw.nodes).map(([name, n]) => ({
    name,
    config: configRef(n.config),
    interfaces: Object.entries(n.interfaces).map(([ifname, i]) => ({
      ifname,
      lan: i.lan,
      ...(i.ipv4 === undefined ? {} : { ipv4: i.ipv4 }),
      ...(i.ipv6 === undefined ? {} : { ipv6: i.ipv6 }),
    })),
    processes: n.processes ?? {},
    startUs: n.start === undefined ? 0 : duration(src, n.start, ["nodes", name, "start"]),
    driftPpm: clockDrift(src, n.clock?.drift, ["nodes", name, "clock", "drift"]),
    jitterUs:
      n.clock?.jitter === undefined ? 0 : duration(src, n.clock.jitter, ["nodes", name, "clock", "jitter"]),
  }));
  const timeline: TimedAction[] = (raw.timeline ?? []).map((entry, k) => {
    const path: YamlPath = ["timeline", k];
    if (entry.at === undefined) throw src.error(path, "timeline entry without at: (a time such as 10s)");
    const atUs = duration(src, entry.at as string | number, [...path, "at"]);
    if (atUs > durationUs)
      throw src.error([...path, "at"], `at ${String(entry.at)} is after the end of the run (duration)`);
    const name = oneKey(src, entry, path, Object.keys(ACTIONS), "timeline entry") as ActionName;
    return { atUs, path, action: decodeAction(src, name, entry[name], [...path, name]) };
  });
  const expectations = (raw.expect ?? []).map((entry, k) => {
    const path: YamlPath = ["expect", k];
    const name = oneKey(src, entry, path, Object.keys(EXPECTS), "expectation") as ExpectName;
    return { path, expect: decodeExpect(src, name, entry[name], [...path, name]) };
  });
  const realServers: Record<string, RealServerState> = {};
  for (const [text, state] of Object.entries(raw.realServers ?? {})) {
    const key = parseRealServer(text);
    if (typeof key !== "string") throw new ScenarioError([src.atKey(["realServers", text], key.error)]);
    realServers[key] = state;
  }
  const seed = raw.seed ?? 1;
  if (seed < 0 || seed > 0xffff_ffff) throw src.error(["seed"], "seed: an integer from 0 to 4294967295");
  return {
    name: raw.name ?? "",
    description: raw.description ?? "",
    durationUs,
    seed,
    startSpreadUs:
      raw.startSpread === undefined
        ? DEFAULT_START_SPREAD_US
        : duration(src, raw.startSpread, ["startSpread"]),
    checkpointEveryUs:
      raw.checkpointEvery === undefined
        ? DEFAULT_CHECKPOINT_EVERY_US
        : Math.max(1, duration(src, raw.checkpointEvery, ["checkpointEvery"])),
    realServers,
    lans,
    nodes,
    timeline: timeline
      .map((t, i) => ({ t, i }))
      .sort((a, b) => a.t.atUs - b.t.atUs || a.i - b.i)
      .map((x) => x.t),
    expectations,
  };
}

export { ScenarioError };
