/**
 * The effect ports a `Node` drives (DESIGN.md §2) and a recording fake that implements all of them.
 * Production implementations live in src/effects/ (Step 4); the fake records every call with the
 * clock time so tests and conformance cases can compare them. Not pure (the fake holds its record).
 */
import type { Command } from "../../machines/events.ts";

export interface VipPort {
  add(instance: string, ifname: string, vips: readonly string[]): void;
  remove(instance: string, ifname: string, vips: readonly string[]): void;
}
export interface ArpPort {
  /** One GARP (IPv4) / unsolicited NA (IPv6) burst: `repeat` rounds over `vips`. */
  burst(instance: string, ifname: string, vips: readonly string[], repeat: number): void;
}
export interface NotifyPort {
  /**
   * Runs notify_<state> (notify_master_rx_lower_pri for MASTER_RX_LOWER_PRI), then the generic notify
   * script when `runsGenericNotify(state)` (machines/events.ts).
   */
  script(n: Extract<Command, { type: "notify" }>): void;
  /** Writes one line to notify_fifo / vrrp_notify_fifo. */
  fifo(line: string): void;
}
export interface IpvsPort {
  apply(command: readonly string[]): void;
}
export interface LogPort {
  log(line: string, detail: boolean): void;
}

export interface EffectPorts {
  readonly vip: VipPort;
  readonly arp: ArpPort;
  readonly notify: NotifyPort;
  readonly ipvs: IpvsPort;
  readonly log: LogPort;
}

/** One recorded effect call. */
export interface EffectRecord {
  readonly atUs: number;
  readonly port: "vip" | "arp" | "notify" | "fifo" | "ipvs" | "log";
  readonly what: Readonly<Record<string, unknown>>;
}

/** Recording fake of every effect port; `now` supplies the time stamp. */
export class RecordingPorts implements EffectPorts {
  readonly records: EffectRecord[] = [];
  constructor(private readonly now: () => number) {}
  #rec(port: EffectRecord["port"], what: Record<string, unknown>): void {
    this.records.push({ atUs: this.now(), port, what });
  }
  readonly vip: VipPort = {
    add: (instance, ifname, vips) => this.#rec("vip", { op: "add", instance, ifname, vips: [...vips] }),
    remove: (instance, ifname, vips) => this.#rec("vip", { op: "remove", instance, ifname, vips: [...vips] }),
  };
  readonly arp: ArpPort = {
    burst: (instance, ifname, vips, repeat) =>
      this.#rec("arp", { instance, ifname, vips: [...vips], repeat }),
  };
  readonly notify: NotifyPort = {
    script: (n) =>
      this.#rec("notify", { scope: n.scope, name: n.name, state: n.state, priority: n.priority }),
    fifo: (line) => this.#rec("fifo", { line }),
  };
  readonly ipvs: IpvsPort = { apply: (command) => this.#rec("ipvs", { command: [...command] }) };
  readonly log: LogPort = { log: (line, detail) => this.#rec("log", { line, detail }) };
}

/** Ports that do nothing (benchmarks). */
export const nullPorts = (): EffectPorts => ({
  vip: { add: () => {}, remove: () => {} },
  arp: { burst: () => {} },
  notify: { script: () => {}, fifo: () => {} },
  ipvs: { apply: () => {} },
  log: { log: () => {} },
});
