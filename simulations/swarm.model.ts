/**
 * The swarm's cases: what one seed of `vigil swarm` runs. A seed derives, VOPR style, its fault
 * parameters (loss, delay, jitter, duplication, reordering, and the rates of partitions, crashes,
 * link flaps, script flips and fault changes — each fault kind on or off per seed, so calm and
 * harsh seeds both occur) and a random cluster of 2–5 nodes from a family of keepalived
 * configurations: VRRP v2 or v3 per group, priorities (equal ones, one address owner at 255),
 * nopreempt, preempt_delay (not with nopreempt: keepalived resets it), vrrp_script trackers
 * (weighted or faulting), unicast peers, PASS authentication, and sync groups across two LANs.
 * Then a timeline: a safety phase with those faults, and at `healAtUs` a liveness phase where
 * everything is repaired (network healed and fault-free, links up, scripts passing, crashed nodes
 * restarted).
 *
 * Excluded from the family, because two MASTERs (or none) would then be legitimate: different
 * authentication, VRRP versions or v2 advert intervals within one group, two owners (255) in one
 * group, crashes that keep a dead daemon's VIPs (kill -9), resuming from a checkpoint (a known
 * finding, simulations/README.md), and sync groups whose groups rank the nodes differently (each
 * node the best in one group: keepalived's sync group waits for its slowest member, so two such
 * nodes can go MASTER and back together forever under the simulator's exact timing). Pure: a seed
 * in, plain data out.
 */
import { Prng } from "../src/runtime/prng.ts";

/** The fault parameters of a seed (printed first; all integers). */
export interface SwarmFaults {
  readonly lossPpm: number;
  readonly delayUs: number;
  readonly jitterUs: number;
  readonly duplicatePpm: number;
  readonly reorderPpm: number;
  readonly reorderWindowUs: number;
  /** Events per virtual hour in the safety phase. */
  readonly partitionsPerHour: number;
  readonly crashesPerHour: number;
  readonly flapsPerHour: number;
  readonly scriptFlipsPerHour: number;
  readonly faultChangesPerHour: number;
  /** Largest clock drift (ppm) and timer jitter of a node. */
  readonly driftPpm: number;
  readonly clockJitterUs: number;
}

export interface SwarmScript {
  readonly name: string;
  readonly intervalS: number;
  readonly rise: number;
  readonly fall: number;
}

export interface SwarmInstance {
  readonly name: string;
  /** Index into the case's `groups`. */
  readonly group: number;
  readonly priority: number;
  readonly nopreempt: boolean;
  readonly preemptDelayS: number;
  /** The node's script it tracks, with a weight (0: the instance goes to FAULT when it fails). */
  readonly track?: { readonly script: string; readonly weight: number };
}

export interface SwarmNode {
  readonly name: string;
  /** Host number on every LAN: address 198.18.LAN.host. */
  readonly host: number;
  readonly driftPpm: number;
  readonly jitterUs: number;
  readonly scripts: readonly SwarmScript[];
  readonly instances: readonly SwarmInstance[];
}

/** A (LAN, VRID) router: what every member shares. */
export interface SwarmGroup {
  readonly lan: number;
  readonly vrid: number;
  readonly version: 2 | 3;
  readonly advertIntervalCs: number;
  readonly unicast: boolean;
  readonly auth: boolean;
}

export type SwarmAction =
  | { readonly kind: "partition"; readonly groups: readonly (readonly string[])[] }
  | { readonly kind: "oneway"; readonly from: readonly string[]; readonly to: readonly string[] }
  | { readonly kind: "heal" }
  | { readonly kind: "crash"; readonly node: string }
  | { readonly kind: "restart"; readonly node: string }
  | { readonly kind: "shutdown"; readonly node: string }
  | { readonly kind: "link"; readonly node: string; readonly lan: number; readonly up: boolean }
  | { readonly kind: "script"; readonly node: string; readonly name: string; readonly ok: boolean }
  | { readonly kind: "faults"; readonly lan: number; readonly lossPpm: number; readonly delayUs: number };

export interface SwarmEvent {
  readonly atUs: number;
  readonly action: SwarmAction;
}

export interface SwarmCase {
  readonly seed: number;
  readonly durationUs: number;
  /** Start of the liveness phase: everything repaired at this time. */
  readonly healAtUs: number;
  readonly lans: number;
  readonly faults: SwarmFaults;
  readonly groups: readonly SwarmGroup[];
  readonly nodes: readonly SwarmNode[];
  /** Sync group over each node's instances (two LANs). */
  readonly syncGroup: boolean;
  /** The safety phase's faults (the liveness phase's repairs are added when rendering). */
  readonly timeline: readonly SwarmEvent[];
}

export const MINUTE_US = 60_000_000;
/** Default virtual time per seed, and the share of it that is the liveness phase. */
export const DEFAULT_DURATION_US = 10 * MINUTE_US;
export const LIVENESS_US = 2 * MINUTE_US;

const pick = <T>(p: Prng, xs: readonly T[]): T => xs[p.int(0, xs.length - 1)] as T;
/** On with probability num/den, then a value; else 0. */
const maybe = (p: Prng, num: number, den: number, value: () => number): number =>
  p.chance(num, den) ? value() : 0;

export function deriveFaults(p: Prng): SwarmFaults {
  return {
    lossPpm: maybe(p, 1, 2, () => pick(p, [1_000, 10_000, 50_000, 200_000])),
    delayUs: maybe(p, 1, 2, () => p.int(0, 50_000)),
    jitterUs: maybe(p, 1, 2, () => p.int(0, 20_000)),
    duplicatePpm: maybe(p, 1, 3, () => p.int(0, 50_000)),
    reorderPpm: maybe(p, 1, 3, () => p.int(0, 100_000)),
    reorderWindowUs: p.int(0, 10_000),
    partitionsPerHour: maybe(p, 2, 3, () => p.int(5, 120)),
    crashesPerHour: maybe(p, 1, 2, () => p.int(5, 60)),
    flapsPerHour: maybe(p, 1, 2, () => p.int(5, 120)),
    scriptFlipsPerHour: maybe(p, 1, 2, () => p.int(5, 120)),
    faultChangesPerHour: maybe(p, 1, 3, () => p.int(5, 60)),
    driftPpm: maybe(p, 1, 3, () => p.int(0, 2_000)),
    clockJitterUs: maybe(p, 1, 3, () => p.int(0, 5_000)),
  };
}

/** The case of `seed`: its fault parameters, cluster and safety-phase timeline. */
export function generateCase(seed: number, durationUs: number = DEFAULT_DURATION_US): SwarmCase {
  const root = new Prng(seed >>> 0);
  const faults = deriveFaults(root.fork("faults"));
  const p = root.fork("cluster");
  const nodeCount = p.int(2, 5);
  const syncGroup = p.chance(1, 4);
  const lans = syncGroup ? 2 : 1;
  const groups: SwarmGroup[] = [];
  const groupCount = syncGroup ? 2 : p.int(1, 2);
  for (let g = 0; g < groupCount; g++) {
    const version = p.chance(1, 2) ? 2 : 3;
    groups.push({
      lan: syncGroup ? g : 0,
      vrid: p.int(1, 255),
      version,
      advertIntervalCs: version === 2 ? pick(p, [100, 100, 200]) : pick(p, [50, 100, 100]),
      unicast: p.chance(1, 3),
      auth: version === 2 && p.chance(1, 3),
    });
  }
  // Two groups on one LAN need two VRIDs.
  if (groups.length === 2 && !syncGroup && groups[0]?.vrid === groups[1]?.vrid)
    groups[1] = { ...(groups[1] as SwarmGroup), vrid: ((groups[0]?.vrid ?? 1) % 255) + 1 };
  const owners = groups.map(() => (syncGroup || !p.chance(1, 4) ? -1 : p.int(0, nodeCount - 1)));
  const nodes: SwarmNode[] = [];
  const basePriorities = [100, 100, 150, 200, 50, 254, 1];
  for (let n = 0; n < nodeCount; n++) {
    const name = `n${n + 1}`;
    const scripts: SwarmScript[] = p.chance(1, 2)
      ? [{ name: `chk_${name}`, intervalS: p.int(1, 2), rise: p.int(1, 3), fall: p.int(1, 3) }]
      : [];
    const instances: SwarmInstance[] = [];
    groups.forEach((_g, gi) => {
      const owner = owners[gi] === n;
      const tracked = !owner && scripts.length > 0 && p.chance(2, 3);
      const priority = owner ? 255 : p.chance(1, 2) ? pick(p, basePriorities) : p.int(1, 254);
      const nopreempt = !owner && p.chance(1, 4);
      const preemptDelayS = !owner && p.chance(1, 4) ? p.int(1, 10) : 0;
      const own: SwarmInstance = {
        name: `VI_${gi + 1}`,
        group: gi,
        priority,
        nopreempt,
        // keepalived resets preempt_delay under nopreempt (and reports it): not drawn together.
        preemptDelayS: nopreempt ? 0 : preemptDelayS,
        ...(tracked
          ? {
              track: {
                script: (scripts[0] as SwarmScript).name,
                weight: p.chance(1, 3) ? 0 : p.int(-100, 100) || -10,
              },
            }
          : {}),
      };
      // In a sync group a node ranks alike, and preempts alike, in every group (module header).
      const lead = syncGroup ? instances[0] : undefined;
      instances.push(
        lead === undefined
          ? own
          : { ...own, priority: lead.priority, nopreempt: lead.nopreempt, preemptDelayS: lead.preemptDelayS },
      );
    });
    nodes.push({
      name,
      host: n + 1,
      driftPpm: faults.driftPpm === 0 ? 0 : p.int(-faults.driftPpm, faults.driftPpm),
      jitterUs: faults.clockJitterUs === 0 ? 0 : p.int(0, faults.clockJitterUs),
      scripts,
      instances,
    });
  }
  const healAtUs = Math.max(durationUs - LIVENESS_US, Math.floor(durationUs / 2));
  const timeline = generateTimeline(root.fork("timeline"), faults, nodes, lans, healAtUs);
  return { seed, durationUs, healAtUs, lans, faults, groups, nodes, syncGroup, timeline };
}

/** Events of a Poisson process of `perHour` over [0, endUs): their times, in order. */
function arrivals(p: Prng, perHour: number, endUs: number): number[] {
  const out: number[] = [];
  if (perHour <= 0) return out;
  const meanUs = 3_600_000_000 / perHour;
  let t = 0;
  for (;;) {
    // Exponential gap from a uniform draw in (0, 1]: the PRNG gives integers only.
    const u = (p.int(1, 1_000_000) / 1_000_000) as number;
    t += Math.max(1_000, Math.round(-Math.log(u) * meanUs));
    if (t >= endUs) return out;
    out.push(t);
  }
}

function generateTimeline(
  p: Prng,
  f: SwarmFaults,
  nodes: readonly SwarmNode[],
  lans: number,
  endUs: number,
): SwarmEvent[] {
  const ev: SwarmEvent[] = [];
  const names = nodes.map((n) => n.name);
  const later = (atUs: number, maxUs: number): number => Math.min(endUs - 1, atUs + p.int(1_000_000, maxUs));
  for (const at of arrivals(p, f.partitionsPerHour, endUs)) {
    const shuffled = names.map((n) => ({ n, k: p.nextU32() }));
    shuffled.sort((a, b) => a.k - b.k);
    const cut = p.int(1, names.length - 1);
    const a = shuffled.slice(0, cut).map((x) => x.n);
    const b = shuffled.slice(cut).map((x) => x.n);
    ev.push({
      atUs: at,
      action: p.chance(1, 4) ? { kind: "oneway", from: a, to: b } : { kind: "partition", groups: [a, b] },
    });
    if (p.chance(3, 4)) ev.push({ atUs: later(at, 60_000_000), action: { kind: "heal" } });
  }
  for (const at of arrivals(p, f.crashesPerHour, endUs)) {
    const node = pick(p, names);
    ev.push({ atUs: at, action: p.chance(1, 4) ? { kind: "shutdown", node } : { kind: "crash", node } });
    if (p.chance(4, 5)) ev.push({ atUs: later(at, 30_000_000), action: { kind: "restart", node } });
  }
  for (const at of arrivals(p, f.flapsPerHour, endUs)) {
    const node = pick(p, names);
    const lan = p.int(0, lans - 1);
    ev.push({ atUs: at, action: { kind: "link", node, lan, up: false } });
    ev.push({ atUs: later(at, 20_000_000), action: { kind: "link", node, lan, up: true } });
  }
  const scripted = nodes.filter((n) => n.scripts.length > 0);
  if (scripted.length > 0)
    for (const at of arrivals(p, f.scriptFlipsPerHour, endUs)) {
      const n = pick(p, scripted);
      const name = (n.scripts[0] as SwarmScript).name;
      ev.push({ atUs: at, action: { kind: "script", node: n.name, name, ok: false } });
      ev.push({ atUs: later(at, 30_000_000), action: { kind: "script", node: n.name, name, ok: true } });
    }
  for (const at of arrivals(p, f.faultChangesPerHour, endUs))
    ev.push({
      atUs: at,
      action: {
        kind: "faults",
        lan: p.int(0, lans - 1),
        lossPpm: pick(p, [0, 0, 10_000, 100_000, 500_000, 1_000_000]),
        delayUs: p.int(0, 50_000),
      },
    });
  // Stable order: by time, then generation order (already deterministic).
  return ev
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.atUs - b.e.atUs || a.i - b.i)
    .map((x) => x.e);
}

/** One line per seed, printed before its run (VOPR style): the seed's parameters. */
export function describeCase(c: SwarmCase): string {
  const f = c.faults;
  const pct = (ppm: number): string => `${ppm / 10_000}%`;
  const ms = (us: number): string => `${us / 1000}ms`;
  const versions = c.groups.map((g) => `v${g.version}${g.unicast ? "u" : ""}${g.auth ? "a" : ""}`).join(",");
  return [
    `seed ${c.seed}:`,
    `nodes=${c.nodes.length}`,
    `lans=${c.lans}`,
    `groups=${versions}${c.syncGroup ? "+sync" : ""}`,
    `loss=${pct(f.lossPpm)}`,
    `delay=${ms(f.delayUs)}`,
    `jitter=${ms(f.jitterUs)}`,
    `dup=${pct(f.duplicatePpm)}`,
    `reorder=${pct(f.reorderPpm)}`,
    `partitions/h=${f.partitionsPerHour}`,
    `crashes/h=${f.crashesPerHour}`,
    `flaps/h=${f.flapsPerHour}`,
    `script-flips/h=${f.scriptFlipsPerHour}`,
    `fault-changes/h=${f.faultChangesPerHour}`,
    `drift=±${f.driftPpm}ppm`,
    `clock-jitter=${ms(f.clockJitterUs)}`,
    `events=${c.timeline.length}`,
  ].join(" ");
}
