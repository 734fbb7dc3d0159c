/**
 * The host's effect actors (DESIGN.md §1): one per effect kind and interface — advert send per
 * interface, VIPs per interface, GARP / NA per interface, notify + FIFO, log. The Node's step
 * loop only hands commands to them; each actor runs its commands in the order emitted, one at a time,
 * and reports every outcome through the Node's one input queue as an `effect` input (`report`).
 * Actors never wait on each other, so a hung notify script or netlink call delays only the later
 * commands of its own mailbox, and not for ever: a command unanswered after `timeoutUs` (on the
 * injected clock) is reported as failed with code TIMEOUT and the mailbox moves on (a late answer is
 * ignored). Every throw and rejection is caught here, never inside a machine step.
 *
 * One ordering between actors, keepalived's: a GARP / NA burst on an interface starts only once the VIP
 * commands posted before it on that interface have their outcome (done, failed or timed out) — keepalived
 * adds the address, then announces it; two independent mailboxes could put the GARP on the wire before
 * the address exists. A GARP with no VIP command pending on its interface goes at once. Likewise the
 * virtual routes and rules (one `route` actor) are added once every VIP command posted before them
 * has its outcome: a route may name a VIP as its source.
 *
 * Journal volume: every failure is reported; completions are reported for VIP, route, GARP/NA,
 * notify and FIFO commands, not for adverts (one per second per instance) nor log lines.
 *
 * Adverts: `Transport.send` is a synchronous call, so the advert actor's mailbox is never busy and
 * each advert is handed to the transport at once, inside the step that emitted it (the raw IPv4
 * transport sends it when the event-loop callback ends, or sooner: transports/raw4.send.ts); a throw
 * becomes a reported failure. Each destination of an advert is one command of the actor.
 *
 * In replay (`live: false`) commands are counted but never run and nothing is reported: the recorded
 * `effect` inputs are applied instead. Not pure: this is where the host touches its ports.
 */
import type { LogSeverity } from "../../machines/events.ts";
import type { Outbound, Transport } from "../../transports/transport.ts";
import type { Route, Rule } from "../config/types.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import type { EffectInput } from "./input.ts";
import { type EffectPorts, type NotifyRequest, SETTLED, type VipAddress } from "./ports.ts";

/** How long an actor waits for a port before reporting TIMEOUT and running its next command. */
export const EFFECT_TIMEOUT_US = 10_000_000;

export interface EffectHost {
  readonly clock: Clock;
  readonly ports: EffectPorts;
  readonly transport: Transport | undefined;
  /** false in replay: commands are counted, never run, nothing is reported. */
  readonly live: boolean;
  readonly timeoutUs?: number;
  /** Feeds an outcome into the Node's input queue. */
  report(outcome: EffectInput): void;
}

interface Job {
  readonly op: string;
  readonly instance: string | undefined;
  readonly target: string | undefined;
  /** Report a completion too (failures are always reported). */
  readonly journalOk: boolean;
  readonly extraUs: number;
  readonly run: () => Promise<void> | void;
  /** Called once when the command has its outcome (done, failed or timed out). */
  readonly settled?: () => void;
}

const codeOf = (e: unknown): string => {
  const c = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof c === "string" && c !== "" ? c : "INTERNAL";
};
const detailOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
/** A thrown or rejected value as an error, even `undefined` (which would otherwise read as success). */
const failure = (e: unknown): unknown => e ?? new Error(`port failed with ${String(e)}`);

/** One mailbox: a FIFO of commands, one running at a time. */
class Mailbox {
  #count = 0;
  readonly #queue: Array<Job & { readonly cmd: number }> = [];
  #busy = false;
  /** The running command's TIMEOUT timer. */
  #timer: TimerHandle | undefined;
  constructor(
    readonly id: string,
    private readonly actors: EffectActors,
  ) {}

  get idle(): boolean {
    return !this.#busy && this.#queue.length === 0;
  }
  /** Commands given so far (the `cmd` of the last one); part of a checkpoint. */
  get count(): number {
    return this.#count;
  }
  set count(n: number) {
    this.#count = n;
  }

  /** The actors are closed: the running command's answer no longer matters, nor its timeout. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  post(job: Job): void {
    const cmd = ++this.#count;
    if (!this.actors.live) return;
    this.#queue.push({ ...job, cmd });
    this.#pump();
  }

  #pump(): void {
    while (!this.#busy && !this.actors.closed) {
      const job = this.#queue.shift();
      if (job === undefined) return;
      this.#start(job);
    }
  }

  #start(job: Job & { readonly cmd: number }): void {
    let p: Promise<void> | void;
    try {
      p = job.run();
    } catch (e) {
      job.settled?.();
      this.actors.outcome(this.id, job, job.cmd, failure(e));
      return;
    }
    if (p === undefined || p === SETTLED || typeof (p as { then?: unknown }).then !== "function") {
      job.settled?.();
      this.actors.outcome(this.id, job, job.cmd, undefined);
      return;
    }
    this.#busy = true;
    let done = false;
    const finish = (error: unknown): void => {
      if (done) return;
      done = true;
      timer.cancel();
      if (this.#timer === timer) this.#timer = undefined;
      this.#busy = false;
      job.settled?.();
      this.actors.outcome(this.id, job, job.cmd, error);
      this.#pump();
      this.actors.checkIdle();
    };
    const timer = this.actors.clock.setTimerUs(
      () => finish({ code: "TIMEOUT", message: "no answer from the port" }),
      this.actors.timeoutUs + job.extraUs,
    );
    this.#timer = timer;
    try {
      p.then(
        () => finish(undefined),
        (e: unknown) => finish(failure(e)),
      );
    } catch (e) {
      finish(failure(e));
    }
  }
}

export class EffectActors {
  readonly #host: EffectHost;
  readonly #mailboxes = new Map<string, Mailbox>();
  /** Adverts given per interface (actor `advert:IFNAME`), keyed by the interface name: no id text per advert. */
  readonly #advertCount = new Map<string, { n: number }>();
  readonly #idleWaiters: Array<() => void> = [];
  /** Per interface: settles when the last VIP command posted on it has its outcome (absent: none pending). */
  readonly #vipSettled = new Map<string, Promise<void>>();
  /** Resolvers of VIP commands without an outcome yet: `close` releases them (queued ones never run). */
  readonly #unsettled = new Set<() => void>();
  closed = false;

  constructor(host: EffectHost) {
    this.#host = host;
  }
  get live(): boolean {
    return this.#host.live;
  }
  get clock(): Clock {
    return this.#host.clock;
  }
  get timeoutUs(): number {
    return this.#host.timeoutUs ?? EFFECT_TIMEOUT_US;
  }

  /** Every actor's command counter (actor id → commands given so far), for a checkpoint. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, b] of this.#mailboxes) out[id] = b.count;
    for (const [ifname, c] of this.#advertCount) out[`advert:${ifname}`] = c.n;
    return out;
  }

  /** Sets the command counters from a checkpoint, so `cmd` numbers continue where they were. */
  restoreCounters(counters: Readonly<Record<string, number>>): void {
    for (const [id, n] of Object.entries(counters)) {
      if (id.startsWith("advert:")) this.#advertCount.set(id.slice("advert:".length), { n });
      else this.#box(id).count = n;
    }
  }

  /** Stops every actor: queued commands are dropped, late outcomes ignored. */
  close(): void {
    this.closed = true;
    for (const settle of this.#unsettled) settle();
    this.#unsettled.clear();
    for (const b of this.#mailboxes.values()) b.stop();
    this.checkIdle();
  }

  /** Resolves once every mailbox is empty and idle (or the actors are closed). */
  whenIdle(): Promise<void> {
    if (this.#allIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Called by a mailbox after a command finished: wakes `whenIdle` waiters when nothing is left. */
  checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#allIdle()) return;
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  #allIdle(): boolean {
    if (this.closed) return true;
    for (const b of this.#mailboxes.values()) if (!b.idle) return false;
    return true;
  }

  #box(id: string): Mailbox {
    let b = this.#mailboxes.get(id);
    if (b === undefined) {
      b = new Mailbox(id, this);
      this.#mailboxes.set(id, b);
    }
    return b;
  }

  /** Called by a mailbox when a command ended: `error` undefined = completed. */
  outcome(actor: string, job: Job, cmd: number, error: unknown): void {
    if (this.closed) return;
    const ok = error === undefined;
    if (ok && !job.journalOk) return;
    this.#host.report({
      kind: "effect",
      actor,
      cmd,
      op: job.op,
      ...(job.instance === undefined ? {} : { instance: job.instance }),
      ...(job.target === undefined ? {} : { target: job.target }),
      ok,
      ...(ok ? {} : { code: codeOf(error) }),
      detail: ok ? "" : detailOf(error),
    });
  }

  /** One advert to one destination, sent at once (see the module note). */
  advert(instance: string, out: Outbound): void {
    let count = this.#advertCount.get(out.ifname);
    if (count === undefined) {
      count = { n: 0 };
      this.#advertCount.set(out.ifname, count);
    }
    const cmd = ++count.n;
    const t = this.#host.transport;
    if (!this.#host.live || t === undefined || this.closed) return;
    try {
      t.send(out);
    } catch (e) {
      this.outcome(
        `advert:${out.ifname}`,
        { op: "sendAdvert", instance, target: out.dst, journalOk: false, extraUs: 0, run: () => {} },
        cmd,
        failure(e),
      );
    }
  }

  /** Adds or removes addresses, one command per interface (`dev`), in their order. */
  vips(op: "addVips" | "removeVips", instance: string, addresses: readonly VipAddress[]): void {
    for (const [dev, list] of groupBy(addresses, (a) => a.dev)) {
      const port = this.#host.ports.vip;
      let settle: (() => void) | undefined;
      const settled = this.#host.live
        ? new Promise<void>((resolve) => {
            settle = resolve;
          })
        : undefined;
      if (settled !== undefined && settle !== undefined) {
        this.#vipSettled.set(dev, settled);
        this.#unsettled.add(settle);
      }
      this.#box(`vip:${dev}`).post({
        op,
        instance,
        target: dev,
        journalOk: true,
        extraUs: 0,
        run: () => (op === "addVips" ? port.add(list) : port.remove(list)),
        settled: () => {
          if (this.#vipSettled.get(dev) === settled) this.#vipSettled.delete(dev);
          if (settle !== undefined) this.#unsettled.delete(settle);
          settle?.();
        },
      });
    }
  }

  /** Adds (routes, then rules) or removes (rules, then routes) an instance's virtual routes and rules. */
  routes(
    op: "addRoutes" | "removeRoutes",
    instance: string,
    routes: readonly Route[],
    rules: readonly Rule[],
  ): void {
    const port = this.#host.ports.route;
    const after = op === "addRoutes" ? [...this.#vipSettled.values()] : [];
    const run = (): Promise<void> =>
      op === "addRoutes" ? port.add(routes, rules) : port.remove(routes, rules);
    this.#box("route").post({
      op,
      instance,
      target: undefined,
      journalOk: true,
      extraUs: after.length === 0 ? 0 : this.timeoutUs,
      run: () =>
        after.length === 0 ? run() : Promise.all(after).then(() => (this.closed ? undefined : run())),
    });
  }

  /** One GARP / NA burst per interface and family, paced by `intervalUs(family)`. */
  garp(
    instance: string,
    addresses: ReadonlyArray<{ readonly address: string; readonly dev: string; readonly family: 4 | 6 }>,
    repeat: number,
    intervalUs: (family: 4 | 6) => number,
  ): void {
    for (const [key, list] of groupBy(addresses, (a) => `${a.dev} ${a.family}`)) {
      const [dev = ""] = key.split(" ");
      const interval = intervalUs(list[0]?.family ?? 4);
      const ips = list.map((a) => a.address);
      const port = this.#host.ports.arp;
      // After the outcome of the VIP commands already posted on this interface (see the module note).
      const after = this.#vipSettled.get(dev);
      this.#box(`arp:${dev}`).post({
        op: "garp",
        instance,
        target: dev,
        journalOk: true,
        extraUs: repeat * ips.length * interval + (after === undefined ? 0 : this.timeoutUs),
        run: () =>
          after === undefined
            ? port.burst(dev, ips, repeat, interval)
            : after.then(() => (this.closed ? undefined : port.burst(dev, ips, repeat, interval))),
      });
    }
  }

  notify(n: NotifyRequest): void {
    const port = this.#host.ports.notify;
    this.#box("notify").post({
      op: "notify",
      instance: n.scope === "INSTANCE" ? n.name : undefined,
      target: `${n.scope} ${n.name} ${n.state}`,
      journalOk: true,
      extraUs: 0,
      run: () => port.notify(n),
    });
  }

  fifo(line: string): void {
    const port = this.#host.ports.notify;
    this.#box("notify").post({
      op: "fifo",
      instance: undefined,
      target: undefined,
      journalOk: true,
      extraUs: 0,
      run: () => port.fifo(line),
    });
  }

  log(line: string, detail: boolean, severity?: LogSeverity): void {
    const port = this.#host.ports.log;
    this.#box("log").post({
      op: "log",
      instance: undefined,
      target: undefined,
      journalOk: false,
      extraUs: 0,
      run: () => {
        port.log(line, detail, severity);
      },
    });
  }
}

const groupBy = <T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> => {
  const m = new Map<string, T[]>();
  for (const i of items) {
    const k = key(i);
    const l = m.get(k);
    if (l === undefined) m.set(k, [i]);
    else l.push(i);
  }
  return m;
};
