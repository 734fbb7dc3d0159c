/**
 * The parts of a node that hold its decision state, and how they become one `NodeState` value and
 * back (checkpoint.ts): machine snapshots (actor-registry.ts), the timer table (timer-table.ts),
 * tracker values (tracking.ts), per-instance stats, the effect actors' command counters and the LVS
 * checkers' states (checkers.ts). The
 * fixpoint memo is a cache and stays out. Not pure (reads and writes the parts).
 */
import type { ActorRegistry } from "./actor-registry.ts";
import type { Checkers } from "./checkers.ts";
import type { NodeState } from "./checkpoint.ts";
import type { EffectActors } from "./effect-actors.ts";
import type { InstanceStats } from "./stats.ts";
import type { TimerTable } from "./timer-table.ts";
import type { Tracking } from "./tracking.ts";

export interface StateParts {
  readonly actors: ActorRegistry;
  readonly timers: TimerTable;
  readonly tracking: Tracking;
  readonly stats: ReadonlyMap<string, InstanceStats>;
  readonly effects: EffectActors;
  readonly checkers: Checkers;
  readonly lifecycle: { shutDown: boolean };
}

export const saveState = (p: StateParts): NodeState => {
  const stats: Record<string, InstanceStats> = {};
  for (const [name, s] of p.stats) stats[name] = { ...s };
  return {
    actors: p.actors.save() as NodeState["actors"],
    timers: p.timers.save(),
    tracking: p.tracking.save(),
    stats: stats as unknown as NodeState["stats"],
    effects: p.effects.counters(),
    ...(p.checkers.names.length === 0 ? {} : { checkers: p.checkers.save() }),
    ...(p.lifecycle.shutDown ? { shutDown: true } : {}),
  };
};

/** Puts a decoded state into freshly built parts (same spec); throws when it does not fit them. */
export const restoreState = (p: StateParts, state: NodeState): void => {
  p.actors.restore(state.actors);
  p.tracking.restore(state.tracking);
  for (const [name, saved] of Object.entries(state.stats)) {
    const stats = p.stats.get(name);
    if (stats === undefined) throw new Error(`checkpoint has stats of an unknown instance ${name}`);
    Object.assign(stats, saved);
  }
  p.effects.restoreCounters(state.effects);
  p.checkers.restore(state.checkers ?? {});
  p.timers.restore(state.timers);
  p.lifecycle.shutDown = state.shutDown === true;
};
