/**
 * The LVS health checkers as a part of a `Node` (node-parts.ts): one checker machine state per
 * virtual server of the spec (machines/checker.machine.ts `stepPool`), addressed by the actor id
 * `vs:NAME` (keepalived's FMT_VS name). Their timers live in the node's one timer table under that
 * actor id, so a checker's delay_loop or connect_timeout fires as a journaled `timer` input and replay
 * checks it like any other; probe results and the start of the checkers (with their warmup draws) are
 * journaled `check` inputs. What a step decides is returned as commands for the node to interpret:
 * timers, probes, IPVS batches, notify scripts, FIFO and log lines. The states are part of the node's
 * decision state (checkpoints) and a reload carries the state of every virtual server whose spec did
 * not change. `runChecks` interprets one step for the node; `ProbeTable` holds the probes in flight.
 * Not pure: holds the current states and probe handles (the steps themselves are pure).
 */
import {
  type CheckerEvent,
  initialPoolState,
  type LvsCommand,
  type PoolState,
  type ProbeResult,
  stepPool,
  type VirtualServerSpec,
} from "../../machines/checker.machine.ts";
import type { Message } from "../../machines/events.ts";
import type { NodeState } from "./checkpoint.ts";
import type { CheckInput } from "./input.ts";
import type { TimerTable } from "./timer-table.ts";

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
  readonly reason?: string | undefined;
  readonly rescheduled?: boolean | undefined;
}): ProbeResult => ({
  ok: r.ok,
  ...(r.exitStatus === undefined ? {} : { exitStatus: r.exitStatus }),
  ...(r.signal === undefined ? {} : { signal: r.signal }),
  ...(r.timedOut === undefined ? {} : { timedOut: r.timedOut }),
  ...(r.reason === undefined ? {} : { reason: r.reason }),
  ...(r.rescheduled === undefined ? {} : { rescheduled: r.rescheduled }),
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

/** The host side of the LVS checkers (src/lvs/lvs.service.ts in the daemon); called only when live. */
export interface CheckPorts {
  /** Starts a probe and reports its one result with `done`; the returned function aborts it (no report after). */
  probe(
    req: { readonly vs: string; readonly rs: number; readonly checker: number; readonly url: number | null },
    done: (result: ProbeResult) => void,
  ): () => void;
  /** One step's IPVS operations for virtual server `vs`, in order. */
  ipvs(vs: string, ops: readonly IpvsOp[]): void;
  notify(vs: string, n: Extract<LvsOutput, { type: "lvsNotify" }>): void;
  /** The warmup draws (0..RAND_MAX, one per checker) for starting virtual server `vs`. */
  draws(vs: string, count: number): readonly number[];
}

/** What interpreting a checker step needs from its node. */
export interface CheckHost {
  /** The node's timer table (a reload replaces it). */
  timers(): TimerTable;
  /** The live ports, or undefined (replay: results come from the journal; or no ports given). */
  readonly ports: CheckPorts | undefined;
  readonly probes: ProbeTable;
  /** Records an LVS output of the current event. */
  output(o: LvsOutput): void;
  /** A log or FIFO line, as the node's own commands. */
  emit(m: Extract<Message, { type: "log" | "fifo" }>): void;
  /** A probe's result, as a new input of the node's queue. */
  input(i: CheckInput): void;
}

/** The LVS probes in flight (`vs/rs.checker` → abort); the node's, kept across reloads. */
export class ProbeTable {
  readonly #aborts = new Map<string, () => void>();
  get size(): number {
    return this.#aborts.size;
  }
  has(key: string): boolean {
    return this.#aborts.has(key);
  }
  set(key: string, abort: () => void): void {
    this.#aborts.set(key, abort);
  }
  /** Aborts one probe (no result will come); false when none was in flight. */
  abort(key: string): void {
    this.#aborts.get(key)?.();
    this.#aborts.delete(key);
  }
  delete(key: string): void {
    this.#aborts.delete(key);
  }
  abortAll(): void {
    for (const abort of this.#aborts.values()) abort();
    this.#aborts.clear();
  }
}

/** A checks-port call; a throw is logged, never passed into the step. */
const safely = (h: CheckHost, f: () => void): void => {
  try {
    f();
  } catch (e) {
    h.emit({ type: "log", line: `LVS effect failed: ${e instanceof Error ? e.message : String(e)}` });
  }
};

/**
 * Interprets one checker step of virtual server `vs`: timers into the timer table, the step's IPVS
 * operations as one batch, probes started (and aborted) on the live port, notify scripts, and log and
 * FIFO lines as the node's own commands; every LVS output is recorded for the journal.
 */
export function runChecks(h: CheckHost, vs: string, commands: readonly LvsCommand[]): void {
  const actor = checkerActorId(vs);
  let ipvs: IpvsOp[] = [];
  const flush = (): void => {
    if (ipvs.length === 0) return;
    const ops = ipvs;
    ipvs = [];
    h.output({ type: "ipvs", vs, ops });
    safely(h, () => h.ports?.ipvs(vs, ops));
  };
  for (const c of commands) {
    if (c.type === "ipvs") {
      ipvs.push(c);
      continue;
    }
    flush();
    switch (c.type) {
      case "setTimer":
        h.timers().schedule(actor, c.id, { type: "TIMER" }, c.delayUs);
        break;
      case "cancelTimer":
        h.timers().cancel(actor, c.id);
        break;
      case "probe":
        h.output({ ...c, vs });
        if (h.ports !== undefined) startProbe(h, h.ports, vs, c);
        break;
      case "cancelProbe":
        h.output({ type: "cancelProbe", vs, rs: c.rs, checker: c.checker });
        h.probes.abort(`${vs}/${c.rs}.${c.checker}`);
        break;
      case "lvsNotify": {
        const n: LvsOutput = { ...c, vs };
        h.output(n);
        safely(h, () => h.ports?.notify(vs, n));
        break;
      }
      case "lvsFifo":
        h.emit({ type: "fifo", line: c.line });
        break;
      case "log":
        h.emit({ type: "log", line: c.line });
        break;
    }
  }
  flush();
}

/**
 * A node restored from a checkpoint: the probes that were in flight when it was taken belong to the
 * process that ran them, so each is started again under its recorded seq (its result is then
 * accepted, or ignored if the machine has moved on) and can be aborted by a later `cancelProbe`.
 */
export function resumeProbes(h: CheckHost, checkers: Checkers): void {
  const ports = h.ports;
  if (ports === undefined) return;
  for (const vs of checkers.names) {
    const spec = checkers.spec(vs);
    checkers.state(vs)?.rs.forEach((rs, r) => {
      rs.checkers.forEach((ch, c) => {
        if (ch.probing === 0 || h.probes.has(`${vs}/${r}.${c}`)) return;
        const kind = spec?.realServers[r]?.checkers[c]?.kind;
        const url = kind === "HTTP_GET" || kind === "SSL_GET" ? ch.urlIt : null;
        startProbe(h, ports, vs, { rs: r, checker: c, seq: ch.probing, url });
      });
    });
  }
}

/** Starts one probe; its result comes back as a `check` input (never inside the launching step). */
function startProbe(
  h: CheckHost,
  ports: CheckPorts,
  vs: string,
  c: { rs: number; checker: number; seq: number; url: number | null },
): void {
  const key = `${vs}/${c.rs}.${c.checker}`;
  let settled = false;
  const report = (r: ProbeResult): void => {
    if (settled) return;
    settled = true;
    h.probes.delete(key);
    const event = { type: "RESULT", rs: c.rs, checker: c.checker, seq: c.seq, ...probeResult(r) } as const;
    h.input({ kind: "check", vs, event });
  };
  let abort: () => void = () => {};
  try {
    abort = ports.probe({ vs, rs: c.rs, checker: c.checker, url: c.url }, report);
  } catch (e) {
    // A port never throws into a step: a probe that cannot start is a failed check.
    h.emit({
      type: "log",
      line: `Checker probe could not start: ${e instanceof Error ? e.message : String(e)}`,
    });
    report({ ok: false });
  }
  if (!settled)
    h.probes.set(key, () => {
      settled = true;
      safely(h, abort);
    });
}
