/**
 * The LVS health checkers as a part of a `Node` (node-parts.ts): one checker machine state per
 * virtual server of the spec (machines/checker.machine.ts `stepPool`), addressed by the actor id
 * `vs:NAME` (keepalived's FMT_VS name). Their timers live in the node's one timer table under that
 * actor id, so a checker's delay_loop or connect_timeout fires as a journaled `timer` input and replay
 * checks it like any other; probe results and the start of the checkers (with their warmup draws) are
 * journaled `check` inputs. What a step decides is returned as commands for the node to interpret:
 * timers, probes, IPVS batches, notify scripts, FIFO and log lines. The states are part of the node's
 * decision state (checkpoints) and a reload carries the state of every virtual server whose spec did
 * not change. Not pure: holds the current states (the steps themselves are pure).
 */
import {
  type CheckerEvent,
  type ProbeResult,
  initialPoolState,
  type LvsCommand,
  type PoolState,
  stepPool,
  type VirtualServerSpec,
} from "../../machines/checker.machine.ts";
import type { NodeState } from "./checkpoint.ts";

/** The timer-table actor id of a virtual server's checkers. */
export const checkerActorId = (vsName: string): string => `vs:${vsName}`;
export const isCheckerActor = (actor: string): boolean => actor.startsWith("vs:");

/** A checker machine's IPVS operation. */
export type IpvsOp = Extract<LvsCommand, { type: "ipvs" }>;

/**
 * What a checker step hands to the host and records as an output (replay compares them): IPVS
 * operations of one step (one batch), a notify script, a probe to start or cancel. Timers go to the
 * timer table; log and FIFO lines become the node's ordinary `log` and `fifo` commands.
 */
export type LvsOutput =
  | { readonly type: "ipvs"; readonly vs: string; readonly ops: readonly IpvsOp[] }
  | {
      readonly type: "lvsNotify";
      readonly vs: string;
      readonly script: "notifyUp" | "notifyDown" | "quorumUp" | "quorumDown";
      readonly rs: number | null;
      readonly stopping: boolean;
    }
  | {
      readonly type: "probe";
      readonly vs: string;
      readonly rs: number;
      readonly checker: number;
      readonly seq: number;
      readonly url: number | null;
    }
  | { readonly type: "cancelProbe"; readonly vs: string; readonly rs: number; readonly checker: number };

/** A probe's outcome with only the facts it has (no `undefined` members: the journal text is exact). */
export const probeResult = (r: {
  readonly ok: boolean;
  readonly exitStatus?: number | undefined;
  readonly signal?: number | undefined;
  readonly timedOut?: boolean | undefined;
}): ProbeResult => ({
  ok: r.ok,
  ...(r.exitStatus === undefined ? {} : { exitStatus: r.exitStatus }),
  ...(r.signal === undefined ? {} : { signal: r.signal }),
  ...(r.timedOut === undefined ? {} : { timedOut: r.timedOut }),
});

export const LVS_OUTPUT_TYPES: ReadonlySet<string> = new Set(["ipvs", "lvsNotify", "probe", "cancelProbe"]);

export class Checkers {
  readonly #specs = new Map<string, VirtualServerSpec>();
  readonly #states = new Map<string, PoolState>();

  constructor(specs: readonly VirtualServerSpec[]) {
    for (const s of specs) {
      if (this.#specs.has(s.name)) continue; // keepalived refuses a duplicate virtual server at parse time
      this.#specs.set(s.name, s);
      this.#states.set(s.name, initialPoolState(s));
    }
  }

  /** The virtual servers' names, in configuration order. */
  get names(): readonly string[] {
    return [...this.#specs.keys()];
  }

  spec(vs: string): VirtualServerSpec | undefined {
    return this.#specs.get(vs);
  }

  state(vs: string): PoolState | undefined {
    return this.#states.get(vs);
  }

  /** How many warmup draws START takes: one per checker, in configuration order. */
  drawsFor(vs: string): number {
    return (this.#specs.get(vs)?.realServers ?? []).reduce((n, r) => n + r.checkers.length, 0);
  }

  /** Steps virtual server `vs` (unknown: nothing happens) and returns its commands. */
  step(vs: string, event: CheckerEvent): readonly LvsCommand[] {
    const spec = this.#specs.get(vs);
    const state = this.#states.get(vs);
    if (spec === undefined || state === undefined) return [];
    const s = stepPool(spec, state, event);
    this.#states.set(vs, s.state);
    return s.commands;
  }

  save(): Record<string, PoolState> {
    return Object.fromEntries(this.#states);
  }

  /** Puts saved states back; `partial` (a reload): only those whose spec is unchanged, others stay fresh. */
  restore(saved: NonNullable<NodeState["checkers"]>, partial = false): void {
    for (const [vs, st] of Object.entries(saved)) {
      if (!this.#states.has(vs)) {
        if (partial) continue;
        throw new Error(`checkpoint has checkers of an unknown virtual server ${vs}`);
      }
      // Decoded by the checkpoint schema; a step never mutates its input state (stepPool clones it).
      this.#states.set(vs, st as PoolState);
    }
  }

  /**
   * A reload's carry-over: the saved state of each virtual server whose spec is the same in `next`
   * (keepalived keeps an unchanged service and its real servers' states), and the names of the old
   * ones that must stop first (removed, or changed: they restart with the new spec).
   */
  carryTo(next: readonly VirtualServerSpec[]): { keep: Record<string, PoolState>; stop: string[] } {
    const keep: Record<string, PoolState> = {};
    const stop: string[] = [];
    const nextByName = new Map(next.map((s) => [s.name, s]));
    for (const [name, spec] of this.#specs) {
      const n = nextByName.get(name);
      const state = this.#states.get(name);
      if (state === undefined) continue;
      if (n !== undefined && JSON.stringify(n) === JSON.stringify(spec)) keep[name] = state;
      else if (state.phase === "running") stop.push(name);
    }
    return { keep, stop };
  }
}
