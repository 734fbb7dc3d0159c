/**
 * The effect ports a `Node` drives (DESIGN.md §2), as agreed with the real ports in src/effects/, and
 * the fakes: `RecordingPorts` records every call with the clock time (tests, simulations, conformance),
 * `nullPorts` does nothing (benchmarks, replay). Ports are only ever called by the host's effect actors
 * (effect-actors.ts), which catch every throw and rejection. A port that finished its work before
 * returning may return `SETTLED`: the actor then completes the command at once instead of one
 * microtask later, which keeps virtual-time runs exact. Not pure (the fake holds its record).
 */
import { getSystemErrorName } from "node:util";
import type { LogSeverity, NotifyState } from "../../machines/events.ts";
import type { Route, Rule } from "../config/types.ts";

/** One virtual_ipaddress / virtual_ipaddress_excluded entry with its options (config Vip minus line/useVmac). */
export interface VipAddress {
  readonly address: string;
  readonly prefixLength: number;
  readonly family: 4 | 6;
  readonly dev: string;
  /** An IP, "+" (compute) or "-" (none); IPv4 only. */
  readonly broadcast: string | null;
  /** "global" | "host" | "link" | "site" | "nowhere" | a number. */
  readonly scope: string;
  readonly label: string | null;
  readonly peer: string | null;
  readonly preferredLft: "forever" | number | null;
  readonly noPrefixRoute: boolean;
  readonly noDad: boolean;
  readonly home: boolean;
  readonly mngTmpAddr: boolean;
  readonly autoJoin: boolean;
  readonly noTrack: boolean;
}

/** A failed effect: `code` is an errno name ("EPERM", "ENODEV", …) or a Vigil code ("UNSAFE", "TIMEOUT", "INTERNAL"). */
export class EffectError extends Error {
  override readonly name = "EffectError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The errno name of a positive errno value ("ENODEV"), or "E<n>" when Node does not know it. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  try {
    const name = getSystemErrorName(-n); // "Unknown system error -N" when Node has no name
    return /^E[A-Z0-9]+$/.test(name) ? name : `E${n}`;
  } catch {
    return `E${n}`;
  }
}

export interface VipPort {
  /** Adds each address with its options; EEXIST is not an error. Rejects with EffectError naming the first failure. */
  add(addresses: readonly VipAddress[]): Promise<void>;
  /** Removes each address; EADDRNOTAVAIL is not an error. */
  remove(addresses: readonly VipAddress[]): Promise<void>;
}
/**
 * `virtual_routes` / `virtual_rules` (src/config/types.ts `Route`, `Rule`: what keepalived installs,
 * resolved). `add` installs the routes then the rules; `remove` removes the rules then the routes.
 * Each entry is attempted; rejects with an EffectError naming the first failure. On add an existing
 * route is not an error (keepalived's EEXIST) but an existing rule is; on remove an absent entry is not.
 */
export interface RoutePort {
  add(routes: readonly Route[], rules: readonly Rule[]): Promise<void>;
  remove(routes: readonly Route[], rules: readonly Rule[]): Promise<void>;
  /** The netlink port id the port sends from, when it has one: deletions it made are its own. */
  ownPort?(): number | undefined;
}
export interface ArpPort {
  /** One burst: `repeat` rounds of one GARP (IPv4) / unsolicited NA (IPv6) per address, `intervalUs` apart. */
  burst(ifname: string, addresses: readonly string[], repeat: number, intervalUs: number): Promise<void>;
}
export interface NotifyRequest {
  readonly scope: "INSTANCE" | "GROUP";
  readonly name: string;
  readonly state: NotifyState;
  readonly priority: number;
}
export interface NotifyPort {
  /** Starts notify_<state>, then the generic notify (when runsGenericNotify); resolves once spawned. */
  notify(n: NotifyRequest): Promise<void>;
  /** Writes one line (no trailing newline) to every configured FIFO; never blocks the event loop. */
  fifo(line: string): Promise<void>;
}
export interface LogPort {
  /** Synchronous, never throws (an actor still catches it if it does). */
  log(line: string, detail: boolean, severity?: LogSeverity): void;
}

export interface EffectPorts {
  readonly vip: VipPort;
  readonly route: RoutePort;
  readonly arp: ArpPort;
  readonly notify: NotifyPort;
  readonly log: LogPort;
}

/** Returned by a port whose work is already done: the actor completes the command synchronously. */
export const SETTLED: Promise<void> = Promise.resolve();

/** One recorded effect call. */
export interface EffectRecord {
  readonly atUs: number;
  readonly port: "vip" | "route" | "arp" | "notify" | "fifo" | "log";
  readonly what: Readonly<Record<string, unknown>>;
}

/** Recording fake of every effect port; `now` supplies the time stamp. Every call completes at once. */
export class RecordingPorts implements EffectPorts {
  readonly records: EffectRecord[] = [];
  constructor(private readonly now: () => number) {}
  #rec(port: EffectRecord["port"], what: Record<string, unknown>): Promise<void> {
    this.records.push({ atUs: this.now(), port, what });
    return SETTLED;
  }
  readonly vip: VipPort = {
    add: (addresses) => this.#rec("vip", { op: "add", addresses: addresses.map((a) => ({ ...a })) }),
    remove: (addresses) => this.#rec("vip", { op: "remove", addresses: addresses.map((a) => ({ ...a })) }),
  };
  readonly route: RoutePort = {
    add: (routes, rules) =>
      this.#rec("route", { op: "add", routes: routes.map((r) => r.text), rules: rules.map((r) => r.text) }),
    remove: (routes, rules) =>
      this.#rec("route", {
        op: "remove",
        routes: routes.map((r) => r.text),
        rules: rules.map((r) => r.text),
      }),
  };
  readonly arp: ArpPort = {
    burst: (ifname, addresses, repeat, intervalUs) =>
      this.#rec("arp", { ifname, addresses: [...addresses], repeat, intervalUs }),
  };
  readonly notify: NotifyPort = {
    notify: (n) =>
      this.#rec("notify", { scope: n.scope, name: n.name, state: n.state, priority: n.priority }),
    fifo: (line) => this.#rec("fifo", { line }),
  };
  readonly log: LogPort = {
    log: (line, detail, severity) => {
      this.#rec("log", severity === undefined ? { line, detail } : { line, detail, severity });
    },
  };
}

/** Ports that do nothing and complete at once (benchmarks, replay). */
export const nullPorts = (): EffectPorts => ({
  vip: { add: () => SETTLED, remove: () => SETTLED },
  route: { add: () => SETTLED, remove: () => SETTLED },
  arp: { burst: () => SETTLED },
  notify: { notify: () => SETTLED, fifo: () => SETTLED },
  log: { log: () => {} },
});

/** The port calls a fault can be attached to, one command kind at a time. */
export type PortCall =
  | "vip.add"
  | "vip.remove"
  | "route.add"
  | "route.remove"
  | "arp.burst"
  | "notify"
  | "fifo"
  | "log";
/** How a faulty call behaves: throw synchronously, reject, or never settle. */
export type FaultMode = "throw" | "reject" | "hang";

/**
 * Test fake: `RecordingPorts` (every call is still recorded) whose selected calls fail — they throw
 * or reject with `EffectError(code)`, or return a promise that never settles. `pending` counts the
 * calls left hanging.
 */
export class FaultyPorts implements EffectPorts {
  readonly recording: RecordingPorts;
  pending = 0;
  constructor(
    now: () => number,
    readonly faults: Partial<Record<PortCall, FaultMode>>,
    readonly code = "EPERM",
  ) {
    this.recording = new RecordingPorts(now);
  }
  get records(): readonly EffectRecord[] {
    return this.recording.records;
  }
  #wrap(call: PortCall, done: Promise<void>): Promise<void> {
    const mode = this.faults[call];
    if (mode === undefined) return done;
    const err = new EffectError(this.code, `${call} failed (test fault)`);
    if (mode === "throw") throw err;
    if (mode === "reject") return Promise.reject(err);
    this.pending++;
    return new Promise<void>(() => {});
  }
  readonly vip: VipPort = {
    add: (a) => this.#wrap("vip.add", this.recording.vip.add(a)),
    remove: (a) => this.#wrap("vip.remove", this.recording.vip.remove(a)),
  };
  readonly route: RoutePort = {
    add: (r, u) => this.#wrap("route.add", this.recording.route.add(r, u)),
    remove: (r, u) => this.#wrap("route.remove", this.recording.route.remove(r, u)),
  };
  readonly arp: ArpPort = {
    burst: (i, a, r, iv) => this.#wrap("arp.burst", this.recording.arp.burst(i, a, r, iv)),
  };
  readonly notify: NotifyPort = {
    notify: (n) => this.#wrap("notify", this.recording.notify.notify(n)),
    fifo: (l) => this.#wrap("fifo", this.recording.notify.fifo(l)),
  };
  readonly log: LogPort = {
    log: (line, detail, severity) => {
      this.recording.log.log(line, detail, severity);
      if (this.faults.log !== undefined) throw new EffectError(this.code, "log failed (test fault)");
    },
  };
}
