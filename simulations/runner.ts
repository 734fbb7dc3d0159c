/**
 * Runs a loaded scenario: N hosts (sim-host.ts) sharing one VirtualClock and one simulated network
 * (transports/sim.transport.ts), the timeline's faults and operations applied at their times, the
 * oracles (invariants.ts) fed as the cluster runs, then the expectations judged. Everything random
 * — node start offsets within `startSpread`, link loss, delay jitter, duplication, reordering —
 * comes from one seeded PRNG, so the same scenario and seed give the same `SimResult` (and hash).
 * The LVS real servers are one shared set (lvs-sim.ts) the timeline makes fail, hang and recover;
 * each host's IPVS table changes are on the timeline and its tables are judged and reported.
 * Built so a swarm can drive it: scenario as data and a seed in, verdicts and a hash out. Not pure
 * (it runs nodes, may write journals), deterministic.
 */
import { join } from "node:path";
import { VirtualClock } from "../src/runtime/clock.ts";
import { FileJournal } from "../src/runtime/journal.ts";
import type { Output } from "../src/runtime/node.ts";
import { Prng } from "../src/runtime/prng.ts";
import { type LinkFaults, SimNetwork } from "../transports/sim.transport.ts";
import { type Metrics, Oracles } from "./invariants.ts";
import { ipvsProbes, SimRealServers } from "./lvs-sim.ts";
import { NodeClock } from "./node-clock.ts";
import { instanceInfos } from "./oracle-setup.ts";
import { finishResult } from "./result.ts";
import type { LoadedScenario } from "./scenario.load.ts";
import type { Action } from "./scenario.schema.ts";
import { type InboundFilter, type JournalFactory, SimHost } from "./sim-host.ts";

export interface RunOptions {
  /** Overrides the scenario's seed. */
  readonly seed?: number;
  /** Write every node's journal here (FileJournal): NODE.jsonl, NODE.run2.jsonl, … */
  readonly journalDir?: string;
  /**
   * Test-only: a deliberately broken host (simulations/swarm tests prove the oracles can fail). Given
   * the node and a received datagram, true drops it before the node sees it — e.g. a BACKUP deaf to
   * higher-priority adverts. The oracles still count the nodes as hearing each other.
   */
  readonly dropInbound?: InboundFilter;
}

export interface TimelineEntry {
  readonly atUs: number;
  /** The node it concerns ("" for the network). */
  readonly node: string;
  /** `priority`: an instance's effective priority changed (`VI_1 100 -> 80`; trackers, reload). */
  /** `ipvs`: the host's IPVS table changed (`[vs] + [rs] weight 1`, lvs-sim.ts). */
  readonly kind: "state" | "vip" | "fault" | "op" | "priority" | "ipvs";
  readonly text: string;
}

export interface Verdict {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** First failure time, for an invariant. */
  readonly atUs?: number;
}

export interface SimResult {
  readonly scenario: string;
  readonly file: string;
  readonly seed: number;
  readonly durationUs: number;
  readonly timeline: readonly TimelineEntry[];
  readonly metrics: Metrics;
  readonly invariants: readonly Verdict[];
  readonly expectations: readonly Verdict[];
  /** Per node: the output hash of each daemon incarnation. */
  readonly outputHashes: Readonly<Record<string, readonly string[]>>;
  /** With virtual servers configured: each node's IPVS table at the end (service → destination → weight). */
  readonly ipvs?: Readonly<Record<string, Record<string, Record<string, number>>>>;
  readonly ok: boolean;
  /** sha256 over everything above. */
  readonly hash: string;
}

/** `STATE` of every instance of every node at `atUs`, as the expectations see it. */
export type StateProbe = (atUs: number, node: string, instance: string) => string;

/** Runs the scenario to its end. Throws only for bugs (a bad scenario fails in loadScenario). */
export function runScenario(loaded: LoadedScenario, options: RunOptions = {}): SimResult {
  const { spec } = loaded;
  const seed = options.seed ?? spec.seed;
  const clock = new VirtualClock();
  const prng = new Prng(seed);
  const net = new SimNetwork(clock, prng.fork("network"));
  const startPrng = prng.fork("start");
  const servers = new SimRealServers(spec.realServers);
  const timeline: TimelineEntry[] = [];
  const note = (node: string, kind: TimelineEntry["kind"], text: string): void => {
    timeline.push({ atUs: clock.nowUs(), node, kind, text });
  };

  // ---- network ------------------------------------------------------------------------------
  const lanFaults = new Map<string, LinkFaults>();
  const linkFaults = new Map<string, LinkFaults>();
  const lanMembers = new Map<string, string[]>();
  for (const l of spec.lans) {
    lanFaults.set(l.name, l.faults);
    net.setSegmentFaults(l.name, l.faults);
    lanMembers.set(l.name, []);
  }
  for (const n of spec.nodes)
    for (const i of n.interfaces) {
      net.attach(n.name, {
        ifname: i.ifname,
        segment: i.lan,
        ...(i.ipv4 ? { ipv4: i.ipv4 } : {}),
        ...(i.ipv6 ? { ipv6: i.ipv6 } : {}),
      });
      const m = lanMembers.get(i.lan) as string[];
      if (!m.includes(n.name)) m.push(n.name);
    }
  const lossPpm = (lan: string, from: string, to: string): number =>
    linkFaults.get(`${from}>${to}`)?.lossPpm ?? lanFaults.get(lan)?.lossPpm ?? 0;

  // ---- hosts and oracles ----------------------------------------------------------------------
  const journals: JournalFactory = (node, incarnation, resumed) => {
    if (options.journalDir === undefined) return undefined;
    const path = join(
      options.journalDir,
      incarnation === 1 ? `${node}.jsonl` : `${node}.run${incarnation}.jsonl`,
    );
    return new FileJournal(path, {
      flushLines: 256,
      sync: false,
      ...(resumed ? { maxSegmentBytes: 2 ** 40, maxSegments: 2 } : {}),
    });
  };
  const hosts = new Map<string, SimHost>();
  let oracles: Oracles | undefined;
  // Effective priority last seen per `node|instance` (before the first sight: its base priority then).
  const priorities = new Map<string, number>();
  const notePriorities = (host: SimHost): void => {
    const node = host.node;
    if (node === undefined) return;
    for (const s of node.spec.instances) {
      const name = s.params.name;
      const key = `${host.name}|${name}`;
      const seen = priorities.get(key);
      const before = seen ?? s.params.basePriority;
      const now = node.priority(name);
      if (now !== seen) priorities.set(key, now);
      if (now !== before) note(host.name, "priority", `${name} ${before} -> ${now}`);
    }
  };
  const observer = {
    applied: (host: SimHost, _seq: number, outputs: readonly Output[], journaled: ReadonlySet<string>) => {
      const o = oracles as Oracles;
      const now = clock.nowUs();
      for (const out of outputs) {
        if (out.type === "state") {
          if (!out.actor.startsWith("instance:")) continue;
          const inst = out.actor.slice("instance:".length);
          note(host.name, "state", `${inst} ${out.from} -> ${out.to}`);
          o.transition(
            now,
            host.name,
            inst,
            out.from,
            out.to,
            journaled.has(`${out.actor} ${out.from} ${out.to}`),
          );
        } else if (out.type === "sendAdvert") o.advert(now, host.name, out.instance);
      }
      notePriorities(host);
    },
    ipvsChanged: (host: SimHost, changes: readonly string[]) => {
      for (const c of changes) note(host.name, "ipvs", c);
    },
    addressesChanged: (host: SimHost, added: readonly string[], removed: readonly string[]) => {
      for (const a of added) note(host.name, "vip", `+ ${a}`);
      for (const a of removed) note(host.name, "vip", `- ${a}`);
      (oracles as Oracles).addresses(clock.nowUs(), host.name, [...host.addresses]);
    },
    settled: (host: SimHost) => (oracles as Oracles).checkAddresses(clock.nowUs(), host.name),
  };
  for (const n of spec.nodes) {
    const config = loaded.configs.get(n.name);
    if (config === undefined) throw new Error(`no configuration for ${n.name}`);
    const own =
      n.driftPpm === 0 && n.jitterUs === 0
        ? clock
        : new NodeClock(clock, {
            driftPpm: n.driftPpm,
            jitterUs: n.jitterUs,
            prng: prng.fork(`clock:${n.name}`),
          });
    hosts.set(
      n.name,
      new SimHost(n, config, {
        clock: own,
        net,
        observer,
        journals,
        servers,
        lvsPrng: prng.fork(`lvs:${n.name}`),
        ...(options.dropInbound === undefined ? {} : { dropInbound: options.dropInbound }),
      }),
    );
  }
  oracles = new Oracles(instanceInfos(loaded, hosts));
  const o = oracles;

  /** Re-derives which pairs hear each other: on `node`'s LANs only (its start), or on every LAN. */
  const connectivity = (node?: string): void => {
    o.tick(clock.nowUs());
    for (const [lan, members] of lanMembers)
      if (node === undefined || members.includes(node))
        for (let x = 0; x < members.length; x++)
          for (let y = x + 1; y < members.length; y++) {
            const a = members[x] as string;
            const b = members[y] as string;
            const ok =
              net.passes(a, b, lan) &&
              net.passes(b, a, lan) &&
              lossPpm(lan, a, b) === 0 &&
              lossPpm(lan, b, a) === 0;
            o.connectivity(clock.nowUs(), lan, a, b, ok);
          }
  };

  // ---- schedule -------------------------------------------------------------------------------
  for (const n of spec.nodes) {
    const atUs = n.startUs + (spec.startSpreadUs > 0 ? startPrng.int(0, spec.startSpreadUs) : 0);
    net.at(atUs, () => {
      const host = hosts.get(n.name) as SimHost;
      note(n.name, "op", "start");
      o.alive(clock.nowUs(), n.name, true);
      host.start(false);
      connectivity(n.name);
    });
  }
  for (const t of spec.timeline) net.at(t.atUs, () => apply(t.action));
  // Only nodes that may resume from a checkpoint take them (a checkpoint costs a whole state copy).
  const resuming = new Set(
    spec.timeline.flatMap((t) => (t.action.kind === "restart" && t.action.resume ? [t.action.node] : [])),
  );
  const checkpoints = (): void => {
    for (const name of resuming) hosts.get(name)?.checkpoint();
    clock.setTimerUs(checkpoints, spec.checkpointEveryUs);
  };
  if (resuming.size > 0) clock.setTimerUs(checkpoints, spec.checkpointEveryUs);

  const states = new Map<string, string>();
  const stateAt: StateProbe = (atUs, node, instance) =>
    states.get(`${atUs}|${node}|${instance}`) ?? "UNKNOWN";
  const held = new Map<string, readonly string[]>();
  const addressesAt = (atUs: number, node: string): readonly string[] => held.get(`${atUs}|${node}`) ?? [];
  const ipvsAt = ipvsProbes(
    spec.expectations.flatMap(({ expect: e }) => (e.kind === "ipvs" ? [e] : [])),
    (atUs, f) => net.at(atUs, f),
    (node) => (hosts.get(node) as SimHost).ipvs,
  );
  for (const { expect: e } of spec.expectations) {
    if (e.kind === "vip")
      net.at(e.atUs, () => {
        held.set(`${e.atUs}|${e.node}`, [...(hosts.get(e.node) as SimHost).addresses].sort());
      });
    if (e.kind === "state")
      net.at(e.atUs, () => {
        const host = hosts.get(e.node) as SimHost;
        const inst = e.instance ?? host.spec.instances[0]?.params.name ?? "";
        states.set(`${e.atUs}|${e.node}|${inst}`, host.alive ? (host.node?.state(inst) ?? "DOWN") : "DOWN");
      });
  }

  function apply(a: Action): void {
    const host = "node" in a ? (hosts.get(a.node) as SimHost) : undefined;
    const now = (): number => clock.nowUs();
    switch (a.kind) {
      case "partition":
        note(
          "",
          "fault",
          `partition ${a.from.map((g) => g.join(" ")).join(a.oneWay ? " -> " : " | ")}${a.lan ? ` on ${a.lan}` : ""}`,
        );
        if (a.oneWay) net.partition(a.from[0] ?? [], a.from[1] ?? [], true, a.lan);
        else
          for (let x = 0; x < a.from.length; x++)
            for (let y = x + 1; y < a.from.length; y++)
              net.partition(a.from[x] ?? [], a.from[y] ?? [], false, a.lan);
        break;
      case "heal":
        note("", "fault", `heal${a.lan ? ` ${a.lan}` : ""}`);
        net.heal(a.lan);
        break;
      case "link":
        note(a.node, "fault", `link ${a.ifname} ${a.up ? "up" : "down"}`);
        host?.setLink(a.ifname, a.up);
        break;
      case "crash":
        note(
          a.node,
          "fault",
          host?.alive ? `crash${a.keepAddresses ? " (addresses stay)" : ""}` : "crash: not running",
        );
        if (host?.alive) {
          host.crash(a.keepAddresses);
          o.alive(now(), a.node, false);
          o.checkAddresses(now(), a.node);
        }
        break;
      case "shutdown":
        note(a.node, "op", host?.alive ? "shutdown" : "shutdown: not running");
        if (host?.alive) {
          host.shutdown();
          o.alive(now(), a.node, false);
          o.checkAddresses(now(), a.node);
        }
        break;
      case "restart": {
        const resume = a.resume && host?.lastCheckpoint !== undefined;
        note(
          a.node,
          "op",
          host?.alive
            ? "restart: already running"
            : `restart${a.resume ? (resume ? " from checkpoint" : " (no checkpoint: fresh)") : ""}`,
        );
        if (host !== undefined && !host.alive) {
          o.alive(now(), a.node, true);
          host.start(resume, (node) => {
            for (const s of node.spec.instances) {
              const state = node.state(s.params.name);
              note(a.node, "state", `${s.params.name} restored as ${state}`);
              o.restored(now(), a.node, s.params.name, state);
            }
          });
        }
        break;
      }
      case "script":
        note(
          a.node,
          "fault",
          `script ${a.name} ${a.exitStatus === 0 ? "ok" : `fails (exit ${a.exitStatus})`}`,
        );
        host?.setScript(a.name, a.exitStatus);
        break;
      case "process":
        note(a.node, "fault", `process ${a.name}: ${a.running} running`);
        host?.setProcess(a.name, a.running);
        break;
      case "file":
        note(a.node, "fault", `file ${a.name} = ${a.value}`);
        host?.setFile(a.name, a.value);
        break;
      case "reload": {
        const config = loaded.reloads.get(a.configKey);
        note(
          a.node,
          "op",
          host?.alive ? "reload" : "reload: not running (the new configuration is used at the next start)",
        );
        if (host !== undefined && config !== undefined) host.reload(config);
        break;
      }
      case "realServer":
        note("", "fault", `realServer ${a.server} ${a.state}`);
        servers.set(a.server, a.state);
        break;
      case "faults": {
        const f = a.faults;
        const what =
          Object.entries(f)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ") || "none";
        if (a.lan !== undefined) {
          note("", "fault", `faults on ${a.lan}: ${what}`);
          lanFaults.set(a.lan, f);
          net.setSegmentFaults(a.lan, f);
        } else if (a.from !== undefined && a.to !== undefined) {
          note("", "fault", `faults ${a.from} ${a.both ? "<->" : "->"} ${a.to}: ${what}`);
          linkFaults.set(`${a.from}>${a.to}`, f);
          if (a.both) linkFaults.set(`${a.to}>${a.from}`, f);
          if (a.both) net.setLinkFaultsBoth(a.from, a.to, f);
          else net.setLinkFaults(a.from, a.to, f);
        }
        break;
      }
    }
    connectivity();
  }

  clock.advanceTo(spec.durationUs);
  o.finish(spec.durationUs);
  const outputHashes: Record<string, string[]> = {};
  const ipvs: Record<string, Record<string, Record<string, number>>> = {};
  for (const h of hosts.values()) {
    if (h.alive) h.crash(true);
    outputHashes[h.name] = [...h.outputHashes];
    ipvs[h.name] = h.ipvs.snapshot();
  }
  const lvs = [...loaded.configs.values(), ...loaded.reloads.values()].some(
    (c) => c.virtualServers.length > 0,
  );
  return finishResult(
    loaded,
    seed,
    timeline,
    o,
    { stateAt, addressesAt, ipvsAt },
    outputHashes,
    lvs ? ipvs : undefined,
  );
}
