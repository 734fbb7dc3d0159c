/**
 * Runs one checker machine per virtual server on the one injected clock: it turns the machines'
 * `setTimer`/`cancelTimer` into clock timers, `probe`/`cancelProbe` into probe-port calls, IPVS
 * operations into one batch per step for the IPVS port, and notify/FIFO/log commands into the
 * notify and log ports. Every input (START, TIMER, RESULT, STOP) passes through `input`, and an
 * optional `record` hook sees each one first, so a Node can journal them as its `check` input kind
 * and replay the same decisions. Not pure: it owns timers and the machines' current states. No
 * module-level state.
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
import type { Clock, TimerHandle } from "../runtime/clock.ts";

/** A probe to run: the virtual server's index, the real server's and the machine's checker index. */
export interface ProbeRequest {
  readonly vs: number;
  readonly rs: number;
  readonly checker: number;
  readonly url: number | null;
}

export interface LvsHostPorts {
  /** Starts a probe and reports its one result; the returned function aborts it (no report after). */
  probe(req: ProbeRequest, done: (result: ProbeResult) => void): () => void;
  /** The IPVS operations of one machine step, in order. */
  ipvs(vs: number, ops: readonly Extract<LvsCommand, { type: "ipvs" }>[]): void;
  notify(vs: number, cmd: Extract<LvsCommand, { type: "lvsNotify" }>): void;
  fifo(line: string): void;
  log(line: string): void;
}

/** A host input: the virtual server it is for and the machine event. */
export interface CheckInput {
  readonly vs: number;
  readonly event: CheckerEvent;
}

export class CheckerHost {
  readonly #states: PoolState[];
  readonly #timers = new Map<string, TimerHandle>();
  readonly #probes = new Map<string, () => void>();
  /** Inputs that arrived while a step was being performed (a port that answers synchronously). */
  readonly #queue: CheckInput[] = [];
  #busy = false;

  constructor(
    readonly specs: readonly VirtualServerSpec[],
    private readonly clock: Clock,
    private readonly ports: LvsHostPorts,
    private readonly record?: (input: CheckInput) => void,
  ) {
    this.#states = specs.map(initialPoolState);
  }

  state(vs: number): PoolState | undefined {
    return this.#states[vs];
  }

  /** Probes in flight (for leak checks). */
  get probesInFlight(): number {
    return this.#probes.size;
  }

  get timersPending(): number {
    return this.#timers.size;
  }

  /** START every machine; `draws(i)`: the warmup draws (0..RAND_MAX) of virtual server i. */
  start(draws: (vs: number) => readonly number[] = () => []): void {
    this.specs.forEach((_, vs) => {
      this.input({ vs, event: { type: "START", atUs: this.clock.nowUs(), warmupDraws: draws(vs) } });
    });
  }

  stop(): void {
    this.specs.forEach((_, vs) => {
      this.input({ vs, event: { type: "STOP", atUs: this.clock.nowUs() } });
    });
  }

  /** Applies one input (live or replayed); one that arrives during a step waits for its end. */
  input(input: CheckInput): void {
    this.#queue.push(input);
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        const spec = this.specs[next.vs];
        const state = this.#states[next.vs];
        if (spec === undefined || state === undefined) continue;
        this.record?.(next);
        const step = stepPool(spec, state, next.event);
        this.#states[next.vs] = step.state;
        this.#perform(next.vs, step.commands);
      }
    } finally {
      this.#busy = false;
    }
  }

  #perform(vs: number, commands: readonly LvsCommand[]): void {
    const ipvs: Extract<LvsCommand, { type: "ipvs" }>[] = [];
    const flush = (): void => {
      if (ipvs.length === 0) return;
      const batch = ipvs.splice(0);
      this.#safe(() => this.ports.ipvs(vs, batch));
    };
    for (const c of commands) {
      if (c.type === "ipvs") {
        ipvs.push(c);
        continue;
      }
      flush();
      switch (c.type) {
        case "setTimer": {
          const key = `${vs}/${c.id}`;
          this.#timers.get(key)?.cancel();
          this.#timers.set(
            key,
            this.clock.setTimerUs(() => {
              this.#timers.delete(key);
              this.input({ vs, event: { type: "TIMER", atUs: this.clock.nowUs(), id: c.id } });
            }, c.delayUs),
          );
          break;
        }
        case "cancelTimer": {
          const key = `${vs}/${c.id}`;
          this.#timers.get(key)?.cancel();
          this.#timers.delete(key);
          break;
        }
        case "probe": {
          const key = `${vs}/${c.rs}.${c.checker}`;
          let settled = false;
          const report = (result: ProbeResult): void => {
            if (settled) return;
            settled = true;
            this.#probes.delete(key);
            this.input({
              vs,
              event: {
                type: "RESULT",
                atUs: this.clock.nowUs(),
                rs: c.rs,
                checker: c.checker,
                seq: c.seq,
                result,
              },
            });
          };
          let cancel: () => void = () => {};
          try {
            cancel = this.ports.probe({ vs, rs: c.rs, checker: c.checker, url: c.url }, report);
          } catch (e) {
            // A port never throws into a step: a probe that cannot start is a failed check.
            this.#safe(() =>
              this.ports.log(`Checker probe could not start: ${e instanceof Error ? e.message : String(e)}`),
            );
            report({ ok: false });
          }
          if (!settled)
            this.#probes.set(key, () => {
              settled = true;
              this.#safe(cancel);
            });
          break;
        }
        case "cancelProbe": {
          const key = `${vs}/${c.rs}.${c.checker}`;
          this.#probes.get(key)?.();
          this.#probes.delete(key);
          break;
        }
        case "lvsNotify":
          this.#safe(() => this.ports.notify(vs, c));
          break;
        case "lvsFifo":
          this.#safe(() => this.ports.fifo(c.line));
          break;
        case "log":
          this.#safe(() => this.ports.log(c.line));
          break;
      }
    }
    flush();
  }

  /** Runs a port call; a throw is logged (if the log port still works), never passed on. */
  #safe(f: () => void): void {
    try {
      f();
    } catch (e) {
      try {
        this.ports.log(`LVS effect failed: ${e instanceof Error ? e.message : String(e)}`);
      } catch {
        // the log port itself failed: nothing more to do
      }
    }
  }
}
