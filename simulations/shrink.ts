/**
 * Shrinks a failing swarm case to a small one that fails the same way: the time span first (the
 * safety phase ends soon after the first failure), then delta debugging (Zeller's ddmin) over the
 * timeline's events, then whole nodes, groups and the sync group, then each fault parameter and
 * configuration feature set to its plain value (no loss, no delay, no drift, no trackers, no
 * nopreempt…). Every candidate is replayed deterministically with the runner; a candidate is kept
 * when its first failing verdict (by name) still fails. Not pure (runs simulations), deterministic.
 */
import type { RunOptions } from "./runner.ts";
import type { SwarmCase, SwarmEvent, SwarmNode } from "./swarm.model.ts";
import { runCase } from "./swarm.run.ts";

/** Whether a candidate still fails; how many runs the shrinking took. */
export interface ShrinkResult {
  readonly shrunk: SwarmCase;
  /** The verdict name the shrunk case still fails. */
  readonly failing: string;
  readonly runs: number;
}

/** Zeller's ddmin: a 1-minimal sublist of `items` for which `fails` holds (it holds for `items`). */
export function ddmin<T>(items: readonly T[], fails: (xs: readonly T[]) => boolean): T[] {
  let xs = [...items];
  let n = 2;
  while (xs.length >= 2) {
    const size = Math.ceil(xs.length / n);
    const chunks: T[][] = [];
    for (let i = 0; i < xs.length; i += size) chunks.push(xs.slice(i, i + size));
    let reduced = false;
    for (let i = 0; i < chunks.length && !reduced; i++) {
      const chunk = chunks[i] as T[];
      if (chunks.length > 2 && fails(chunk)) {
        xs = chunk;
        n = 2;
        reduced = true;
      }
    }
    for (let i = 0; i < chunks.length && !reduced; i++) {
      const complement = chunks.filter((_, j) => j !== i).flat();
      if (fails(complement)) {
        xs = complement;
        n = Math.max(n - 1, 2);
        reduced = true;
      }
    }
    if (!reduced) {
      if (n >= xs.length) break;
      n = Math.min(xs.length, n * 2);
    }
  }
  if (xs.length === 1 && fails([])) return [];
  return xs;
}

/** Drops whatever refers to something the case no longer has (nodes, LANs, scripts, late events). */
export function normalize(c: SwarmCase): SwarmCase {
  const names = new Set(c.nodes.map((n) => n.name));
  const scripts = new Set(c.nodes.flatMap((n) => n.scripts.map((s) => `${n.name}|${s.name}`)));
  const keepNames = (g: readonly string[]): string[] => g.filter((x) => names.has(x));
  const timeline: SwarmEvent[] = [];
  for (const e of c.timeline) {
    if (e.atUs >= c.healAtUs) continue;
    const a = e.action;
    switch (a.kind) {
      case "partition": {
        const groups = a.groups.map(keepNames).filter((g) => g.length > 0);
        if (groups.length >= 2) timeline.push({ atUs: e.atUs, action: { kind: "partition", groups } });
        break;
      }
      case "oneway": {
        const from = keepNames(a.from);
        const to = keepNames(a.to);
        if (from.length > 0 && to.length > 0) timeline.push({ atUs: e.atUs, action: { ...a, from, to } });
        break;
      }
      case "heal":
        timeline.push(e);
        break;
      case "faults":
        if (a.lan < c.lans) timeline.push(e);
        break;
      case "link":
        if (names.has(a.node) && a.lan < c.lans) timeline.push(e);
        break;
      case "script":
        if (scripts.has(`${a.node}|${a.name}`)) timeline.push(e);
        break;
      default:
        if (names.has(a.node)) timeline.push(e);
    }
  }
  const nodes = c.nodes.map((n) => ({
    ...n,
    instances: n.instances.map((i) =>
      i.track !== undefined && !n.scripts.some((s) => s.name === i.track?.script)
        ? { ...i, track: undefined }
        : i,
    ),
  }));
  return { ...c, nodes: nodes as SwarmNode[], timeline };
}

const mapNodes = (c: SwarmCase, f: (n: SwarmNode) => SwarmNode): SwarmCase => ({
  ...c,
  nodes: c.nodes.map(f),
});

/** Simplifications tried one by one (each kept when the case still fails). */
const SIMPLIFY: ReadonlyArray<readonly [string, (c: SwarmCase) => SwarmCase]> = [
  ["no loss", (c) => ({ ...c, faults: { ...c.faults, lossPpm: 0 } })],
  ["no delay", (c) => ({ ...c, faults: { ...c.faults, delayUs: 0 } })],
  ["no jitter", (c) => ({ ...c, faults: { ...c.faults, jitterUs: 0 } })],
  ["no duplicates", (c) => ({ ...c, faults: { ...c.faults, duplicatePpm: 0 } })],
  ["no reordering", (c) => ({ ...c, faults: { ...c.faults, reorderPpm: 0, reorderWindowUs: 0 } })],
  ["no clock drift", (c) => mapNodes(c, (n) => ({ ...n, driftPpm: 0 }))],
  ["no clock jitter", (c) => mapNodes(c, (n) => ({ ...n, jitterUs: 0 }))],
  ["no scripts", (c) => mapNodes(c, (n) => ({ ...n, scripts: [] }))],
  [
    "no nopreempt",
    (c) => mapNodes(c, (n) => ({ ...n, instances: n.instances.map((i) => ({ ...i, nopreempt: false })) })),
  ],
  [
    "no preempt_delay",
    (c) => mapNodes(c, (n) => ({ ...n, instances: n.instances.map((i) => ({ ...i, preemptDelayS: 0 })) })),
  ],
  ["no unicast", (c) => ({ ...c, groups: c.groups.map((g) => ({ ...g, unicast: false })) })],
  ["no authentication", (c) => ({ ...c, groups: c.groups.map((g) => ({ ...g, auth: false })) })],
  ["no sync group", (c) => ({ ...c, syncGroup: false })],
];

/** Candidates with one group less (instances renumbered; a single LAN when one group is left). */
function withoutGroup(c: SwarmCase, gi: number): SwarmCase {
  const groups = c.groups.filter((_, j) => j !== gi);
  const lans = new Set(groups.map((g) => g.lan));
  const lanMap = new Map([...lans].sort().map((l, k) => [l, k]));
  return normalize({
    ...c,
    lans: lans.size,
    syncGroup: c.syncGroup && groups.length > 1,
    groups: groups.map((g) => ({ ...g, lan: lanMap.get(g.lan) ?? 0 })),
    nodes: c.nodes.map((n) => ({
      ...n,
      instances: n.instances
        .filter((i) => i.group !== gi)
        .map((i) => ({ ...i, group: i.group > gi ? i.group - 1 : i.group })),
    })),
    timeline: c.timeline.flatMap((e) =>
      e.action.kind === "link" || e.action.kind === "faults"
        ? lanMap.has(e.action.lan)
          ? [{ ...e, action: { ...e.action, lan: lanMap.get(e.action.lan) ?? 0 } }]
          : []
        : [e],
    ),
  });
}

/** Shrinks `c`, which fails (its first failing verdict is the one kept failing). */
export function shrinkCase(c: SwarmCase, options: RunOptions = {}, maxRuns = 400): ShrinkResult {
  let runs = 0;
  let target = "";
  const firstFailure = (x: SwarmCase): { name: string; atUs: number } | undefined => {
    runs++;
    const r = runCase(x, options);
    const bad = [...r.invariants, ...r.expectations].filter((v) => !v.ok);
    if (bad.length === 0) return undefined;
    const v = bad.find((b) => b.name === target) ?? bad[0];
    return { name: v?.name ?? "", atUs: (v as { atUs?: number }).atUs ?? x.durationUs };
  };
  const start = firstFailure(c);
  if (start === undefined) throw new Error(`seed ${c.seed}: the case to shrink does not fail`);
  target = start.name;
  const fails = (x: SwarmCase): boolean => {
    if (runs >= maxRuns) return false;
    const f = firstFailure(x);
    return f !== undefined && f.name === target;
  };
  let best = normalize(c);
  // 1. Time: end the safety phase soon after the first failure, then a shorter liveness phase.
  if (start.atUs < best.healAtUs) {
    const healAtUs = Math.ceil((start.atUs + 10_000_000) / 1_000_000) * 1_000_000;
    const cand = normalize({ ...best, healAtUs, durationUs: healAtUs + (best.durationUs - best.healAtUs) });
    if (fails(cand)) best = cand;
  }
  for (const livenessUs of [30_000_000, 60_000_000]) {
    if (best.durationUs - best.healAtUs <= livenessUs) break;
    const cand = { ...best, durationUs: best.healAtUs + livenessUs };
    if (fails(cand)) {
      best = cand;
      break;
    }
  }
  // 2. Events (ddmin), 3. nodes, groups, 4. simplifications; again while something changes.
  for (let round = 0; round < 3; round++) {
    const before = JSON.stringify(best);
    const base = best;
    best = {
      ...base,
      timeline: ddmin(base.timeline, (xs) => fails(normalize({ ...base, timeline: [...xs] }))),
    };
    for (let i = best.nodes.length - 1; i >= 0 && best.nodes.length > 1; i--) {
      const cand = normalize({ ...best, nodes: best.nodes.filter((_, j) => j !== i) });
      if (fails(cand)) best = cand;
    }
    for (let gi = best.groups.length - 1; gi >= 0 && best.groups.length > 1; gi--) {
      const cand = withoutGroup(best, gi);
      if (fails(cand)) best = cand;
    }
    for (const [, f] of SIMPLIFY) {
      const cand = normalize(f(best));
      if (JSON.stringify(cand) !== JSON.stringify(best) && fails(cand)) best = cand;
    }
    if (JSON.stringify(best) === before) break;
  }
  return { shrunk: best, failing: target, runs };
}
