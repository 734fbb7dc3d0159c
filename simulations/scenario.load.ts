/**
 * Loads a scenario file: reads it, decodes it (scenario.schema.ts), loads every node's
 * keepalived.conf with the daemon's own front end (src/config/load.ts; inline text or a path
 * relative to the scenario) and checks that every name refers to something: LANs, nodes,
 * interfaces, instances, vrrp_script / vrrp_track_process / track_file names, invariants, LVS real
 * servers (some checker probes them) and IPVS services and destinations (configured). Every
 * problem is a `ScenarioError` naming file:line:column — in the scenario, or in the keepalived.conf
 * for a configuration error (an inline configuration's lines are those of the scenario file). Not
 * pure: reads files.
 */
import { readFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { dirname, join, resolve } from "node:path";
import type { Diagnostic } from "../src/config/diagnostics.ts";
import { type ConfigFs, loadConfig, nodeConfigFs } from "../src/config/load.ts";
import type { Config } from "../src/config/types.ts";
import { INVARIANTS } from "./invariants.ts";
import { ipvsNames, parseRealServer, probedServers } from "./lvs-sim.ts";
import { decodeScenario, type ScenarioSpec } from "./scenario.schema.ts";
import { ScenarioError, type ScenarioProblem, ScenarioSource, type YamlPath } from "./scenario.source.ts";

export interface LoadedScenario {
  readonly file: string;
  readonly spec: ScenarioSpec;
  /** Each node's validated configuration. */
  readonly configs: ReadonlyMap<string, Config>;
  /** The configuration of each `reload` action, by its `configKey`. */
  readonly reloads: ReadonlyMap<string, Config>;
}

/** Parses and checks a scenario given as text (`file` names it in messages and anchors relative paths). */
export function loadScenarioText(file: string, text: string): LoadedScenario {
  const src = ScenarioSource.parse(file, text);
  const spec = decodeScenario(src);
  const configs = new Map<string, Config>();
  const problems: ScenarioProblem[] = [];
  for (const n of spec.nodes) {
    const path: YamlPath = ["nodes", n.name, "config"];
    const r = loadNodeConfig(src, file, n.name, n.config, path);
    if ("problems" in r) problems.push(...r.problems);
    else configs.set(n.name, r.config);
  }
  const reloads = new Map<string, Config>();
  for (const t of spec.timeline) {
    if (t.action.kind !== "reload") continue;
    const path: YamlPath = [...t.path, "reload", "config"];
    const r = loadNodeConfig(src, file, t.action.node, t.action.config, path);
    if ("problems" in r) problems.push(...r.problems);
    else reloads.set(t.action.configKey, r.config);
  }
  if (problems.length > 0) throw new ScenarioError(problems);
  checkNames(src, spec, configs);
  checkLvsNames(src, spec, configs, reloads);
  return { file, spec, configs, reloads };
}

/** Reads and checks a scenario file. Throws ScenarioError (never another error for bad input). */
export function loadScenario(file: string): LoadedScenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new ScenarioError([
      {
        file,
        line: 0,
        column: 0,
        message: `cannot read the scenario: ${typeof code === "string" ? code : String(e)}`,
      },
    ]);
  }
  return loadScenarioText(file, text);
}

function loadNodeConfig(
  src: ScenarioSource,
  file: string,
  node: string,
  config: { readonly inline: string } | { readonly path: string },
  path: YamlPath,
): { config: Config } | { problems: ScenarioProblem[] } {
  const dir = dirname(resolve(file));
  let confPath: string;
  let fs: ConfigFs = nodeConfigFs;
  let toScenario: ((d: Diagnostic) => ScenarioProblem) | undefined;
  if ("inline" in config) {
    confPath = join(dir, `${node}.inline.conf`);
    const inline = config.inline;
    fs = {
      readFile: (p) => (p === confPath ? inline : nodeConfigFs.readFile(p)),
      listDir: nodeConfigFs.listDir,
    };
    const start = src.blockStart(path);
    toScenario = (d) => ({
      file,
      line: d.line > 0 ? start.line + d.line - 1 : start.line,
      column: d.column > 0 ? d.column + start.indent : 0,
      message: `${node}'s keepalived.conf: ${d.message}${d.hint === undefined ? "" : ` (hint: ${d.hint})`}`,
    });
  } else confPath = resolve(dir, config.path);
  const result = loadConfig(confPath, { configId: node, fs });
  if (result.config !== undefined) return { config: result.config };
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  const problems = errors.map((d) =>
    toScenario !== undefined && d.file === confPath
      ? toScenario(d)
      : {
          file: d.file,
          line: d.line,
          column: d.column,
          message: `${d.message}${d.hint === undefined ? "" : ` (hint: ${d.hint})`} [${node}'s keepalived.conf, ${src.at(path, "").file}:${src.at(path, "").line}]`,
        },
  );
  if (problems.length === 0) problems.push(src.at(path, `${node}'s keepalived.conf could not be loaded`));
  return { problems };
}

/** Every name in the scenario must refer to something declared (or configured). */
function checkNames(src: ScenarioSource, spec: ScenarioSpec, configs: ReadonlyMap<string, Config>): void {
  const problems: ScenarioProblem[] = [];
  const bad = (path: YamlPath, message: string): void => {
    problems.push(src.at(path, message));
  };
  const lans = new Set(spec.lans.map((l) => l.name));
  const nodes = new Map(spec.nodes.map((n) => [n.name, n]));
  const list = (xs: Iterable<string>): string => [...xs].join(", ") || "(none)";
  const lan = (name: string, path: YamlPath): void => {
    if (!lans.has(name)) bad(path, `unknown LAN '${name}' (lans: ${list(lans)})`);
  };
  const node = (name: string, path: YamlPath): boolean => {
    if (nodes.has(name)) return true;
    bad(path, `unknown node '${name}' (nodes: ${list(nodes.keys())})`);
    return false;
  };
  // Names end up in keys (`a>b` links, `lan|vrid|v4` groups) and on the terminal: plain words only.
  const word = (name: string, path: YamlPath, what: string): void => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/.test(name))
      problems.push(
        src.atKey(
          path,
          `${what} name '${name}': use letters, digits and _ . : @ - (at most 64, not starting with a sign)`,
        ),
      );
  };
  for (const l of spec.lans) word(l.name, ["lans", l.name], "LAN");
  for (const n of spec.nodes) {
    word(n.name, ["nodes", n.name], "node");
    for (const i of n.interfaces) {
      const at: YamlPath = ["nodes", n.name, "interfaces", i.ifname];
      word(i.ifname, at, "interface");
      if (i.ipv4 !== undefined && !isIPv4(i.ipv4)) bad([...at, "ipv4"], `not an IPv4 address: '${i.ipv4}'`);
      if (i.ipv6 !== undefined && !isIPv6(i.ipv6)) bad([...at, "ipv6"], `not an IPv6 address: '${i.ipv6}'`);
    }
  }
  for (const n of spec.nodes) {
    const ifnames = new Set(n.interfaces.map((i) => i.ifname));
    for (const i of n.interfaces) lan(i.lan, ["nodes", n.name, "interfaces", i.ifname, "lan"]);
    const config = configs.get(n.name);
    for (const inst of config?.instances ?? []) {
      const ifname = inst.interface ?? config?.global.defaultInterface ?? "";
      if (!ifnames.has(ifname))
        bad(
          ["nodes", n.name, "interfaces"],
          `${n.name}: vrrp_instance ${inst.name} uses interface ${ifname}, which is not under interfaces: (${list(ifnames)})`,
        );
    }
    for (const p of Object.keys(n.processes))
      if (!config?.processes.some((x) => x.name === p))
        bad(["nodes", n.name, "processes", p], `${n.name}'s keepalived.conf has no vrrp_track_process ${p}`);
  }
  const tracker = (
    kind: "script" | "process" | "file",
    nodeName: string,
    name: string,
    path: YamlPath,
  ): void => {
    const c = configs.get(nodeName);
    const names =
      kind === "script"
        ? c?.scripts.map((s) => s.name)
        : kind === "process"
          ? c?.processes.map((p) => p.name)
          : c?.files.map((f) => f.name);
    const word = kind === "script" ? "vrrp_script" : kind === "process" ? "vrrp_track_process" : "track_file";
    if (!(names ?? []).includes(name))
      bad(
        [...path, "name"],
        `${nodeName}'s keepalived.conf has no ${word} ${name} (it has: ${list(names ?? [])})`,
      );
  };
  for (const t of spec.timeline) {
    const a = t.action;
    const key = [...t.path, a.kind];
    switch (a.kind) {
      case "partition":
        if (a.lan !== undefined) lan(a.lan, [...key, "lan"]);
        a.from.forEach((g, gi) => {
          g.forEach((n, ni) => {
            node(n, [...key, ...(a.oneWay ? [gi === 0 ? "from" : "to", ni] : ["groups", gi, ni])]);
          });
        });
        break;
      case "heal":
        if (a.lan !== undefined) lan(a.lan, [...key, "lan"]);
        break;
      case "link":
        if (
          node(a.node, [...key, "node"]) &&
          !nodes.get(a.node)?.interfaces.some((i) => i.ifname === a.ifname)
        )
          bad([...key, "interface"], `node ${a.node} has no interface ${a.ifname}`);
        break;
      case "crash":
      case "restart":
      case "shutdown":
        node(a.node, key);
        break;
      case "reload":
        node(a.node, [...key, "node"]);
        break;
      case "script":
      case "process":
      case "file":
        if (node(a.node, [...key, "node"])) tracker(a.kind, a.node, a.name, key);
        break;
      case "faults":
        if (a.lan !== undefined) lan(a.lan, [...key, "lan"]);
        if (a.from !== undefined) node(a.from, [...key, "from"]);
        if (a.to !== undefined) node(a.to, [...key, "to"]);
        break;
    }
  }
  for (const { path, expect: e } of spec.expectations) {
    const key = path;
    if (e.kind === "state" || e.kind === "transitions") {
      if (!node(e.node, key)) continue;
      const instances = configs.get(e.node)?.instances.map((i) => i.name) ?? [];
      if (e.instance !== undefined && !instances.includes(e.instance))
        bad(key, `node ${e.node} has no vrrp_instance ${e.instance} (it has: ${list(instances)})`);
      if (e.instance === undefined && instances.length !== 1)
        bad(key, `node ${e.node} has ${instances.length} vrrp_instances: name one with instance:`);
      if (e.kind === "state" && e.atUs > spec.durationUs) bad(key, "at: after the end of the run (duration)");
    }
    if (e.kind === "vip") {
      node(e.node, key);
      if (e.atUs > spec.durationUs) bad(key, "at: after the end of the run (duration)");
    }
    if (e.kind === "violates" && !(INVARIANTS as readonly string[]).includes(e.invariant))
      bad(key, `unknown invariant '${e.invariant}' (invariants: ${INVARIANTS.join(", ")})`);
  }
  if (problems.length > 0) throw new ScenarioError(problems);
}

/**
 * The LVS names: a real server the scenario sets must be probed by some checker of some node's
 * configuration (or a reload's), and an `ipvs` expectation must name a virtual server of that
 * node's configurations and one of its real or sorry servers.
 */
function checkLvsNames(
  src: ScenarioSource,
  spec: ScenarioSpec,
  configs: ReadonlyMap<string, Config>,
  reloads: ReadonlyMap<string, Config>,
): void {
  const problems: ScenarioProblem[] = [];
  const nodeConfigs = (node: string): Config[] => [
    ...(configs.has(node) ? [configs.get(node) as Config] : []),
    ...spec.timeline.flatMap((t) =>
      t.action.kind === "reload" && t.action.node === node ? [reloads.get(t.action.configKey) as Config] : [],
    ),
  ];
  const all = [...configs.values(), ...reloads.values()];
  const probed = new Set(all.flatMap(probedServers));
  const known = (): string => [...probed].join(", ") || "(none: no virtual_server has a checker Vigil runs)";
  const raw = (src.value as { realServers?: Record<string, unknown> | null }).realServers ?? {};
  for (const text of Object.keys(raw)) {
    const key = parseRealServer(text);
    if (typeof key === "string" && !probed.has(key))
      problems.push(
        src.atKey(["realServers", text], `no checker probes real server ${key} (probed: ${known()})`),
      );
  }
  for (const t of spec.timeline)
    if (t.action.kind === "realServer" && !probed.has(t.action.server))
      problems.push(
        src.at(
          [...t.path, "realServer"],
          `no checker probes real server ${t.action.server} (probed: ${known()})`,
        ),
      );
  for (const { path, expect: e } of spec.expectations) {
    if (e.kind !== "ipvs") continue;
    if (!configs.has(e.node)) {
      problems.push(src.at([...path, "ipvs", "node"], `unknown node '${e.node}'`));
      continue;
    }
    if (e.atUs > spec.durationUs)
      problems.push(src.at([...path, "ipvs", "at"], "at: after the end of the run (duration)"));
    const names = new Map<string, Set<string>>();
    for (const c of nodeConfigs(e.node))
      for (const [vs, dests] of ipvsNames(c)) names.set(vs, new Set([...(names.get(vs) ?? []), ...dests]));
    const dests = names.get(e.service);
    if (dests === undefined)
      problems.push(
        src.at(
          [...path, "ipvs", "service"],
          `${e.node}'s keepalived.conf has no virtual_server ${e.service} (it has: ${[...names.keys()].join(", ") || "(none)"})`,
        ),
      );
    else if (e.realServer !== undefined && !dests.has(e.realServer))
      problems.push(
        src.at(
          [...path, "ipvs", "realServer"],
          `virtual_server ${e.service} of ${e.node} has no real or sorry server ${e.realServer} (it has: ${[...dests].join(", ")})`,
        ),
      );
  }
  if (problems.length > 0) throw new ScenarioError(problems);
}
