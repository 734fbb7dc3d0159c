/**
 * Helpers for the LVS tests: machine specs with keepalived's defaults, a stepping driver that keeps
 * the state and the commands of each step, and a model of the kernel's IPVS table that refuses what
 * the kernel refuses (adding an existing service or destination, editing or deleting a missing one).
 */
import {
  type CheckerEvent,
  type CheckerSpec,
  initialPoolState,
  type LvsCommand,
  type PoolState,
  type RealServerSpec,
  stepPool,
  type VirtualServerSpec,
} from "../../machines/checker.machine.ts";

export const tcp = (over: Partial<CheckerSpec> = {}): CheckerSpec => ({
  kind: "TCP_CHECK",
  delayLoopUs: 6_000_000,
  connectTimeoutUs: 3_000_000,
  retry: 1,
  delayBeforeRetryUs: 1_000_000,
  warmupUs: 0,
  alpha: false,
  urls: [],
  miscPath: "",
  miscDynamic: false,
  ...over,
});

export const rs = (n: number, over: Partial<RealServerSpec> = {}): RealServerSpec => ({
  name: `[198.18.0.${10 + n}]:tcp:80`,
  weight: 1,
  inhibit: false,
  hasNotifyUp: false,
  hasNotifyDown: false,
  checkers: [tcp()],
  ...over,
});

export const VS = "[198.18.0.100]:tcp:80";
export const vs = (over: Partial<VirtualServerSpec> = {}): VirtualServerSpec => ({
  name: VS,
  quorum: 1,
  hysteresis: 0,
  hasQuorumUp: false,
  hasQuorumDown: false,
  omega: false,
  sorry: null,
  realServers: [rs(1), rs(2)],
  ...over,
});

/** Steps one machine, keeping the state; each call returns that step's commands. */
export class Driver {
  state: PoolState;
  nowUs = 0;
  constructor(readonly spec: VirtualServerSpec) {
    this.state = initialPoolState(spec);
  }
  step(e: CheckerEvent): readonly LvsCommand[] {
    this.nowUs = e.atUs;
    const r = stepPool(this.spec, this.state, e);
    this.state = r.state;
    return r.commands;
  }
  start(atUs = 0, warmupDraws: number[] = []): readonly LvsCommand[] {
    return this.step({ type: "START", atUs, warmupDraws });
  }
  timer(id: string, atUs: number): readonly LvsCommand[] {
    return this.step({ type: "TIMER", atUs, id });
  }
  /** The commands of the last launch made by `check`. */
  launched: readonly LvsCommand[] = [];
  /** Fires `check:R.C`, then answers the probe at once; returns the answer's commands. */
  check(r: number, ok: boolean, atUs: number, c = 0, extra: object = {}): readonly LvsCommand[] {
    this.launched = this.timer(`check:${r}.${c}`, atUs);
    const probe = this.launched.find((x) => x.type === "probe");
    if (probe === undefined || probe.type !== "probe") throw new Error(`no probe launched for ${r}.${c}`);
    return this.step({ type: "RESULT", atUs, rs: r, checker: c, seq: probe.seq, result: { ok, ...extra } });
  }
}

export const logs = (cs: readonly LvsCommand[]): string[] =>
  cs.flatMap((c) => (c.type === "log" ? [c.line] : []));
export const ipvs = (cs: readonly LvsCommand[]): string[] =>
  cs.flatMap((c) => (c.type !== "ipvs" ? [] : "rs" in c ? [`${c.op} ${c.rs} w${c.weight}`] : [`${c.op}`]));
export const notifies = (cs: readonly LvsCommand[]): string[] =>
  cs.flatMap((c) =>
    c.type === "lvsNotify"
      ? [`${c.script}${c.rs === null ? "" : ` ${c.rs}`}`]
      : c.type === "lvsFifo"
        ? [c.line]
        : [],
  );
export const timers = (cs: readonly LvsCommand[]): string[] =>
  cs.flatMap((c) => (c.type === "setTimer" ? [`${c.id}+${c.delayUs}`] : []));

/** The kernel's view: a service and its destinations with weights; invalid operations throw. */
export class IpvsTable {
  service = false;
  readonly dests = new Map<number, number>();
  apply(cs: readonly LvsCommand[]): void {
    for (const c of cs) {
      if (c.type !== "ipvs") continue;
      if (c.op === "addService") {
        if (this.service) throw new Error("EEXIST service");
        this.service = true;
      } else if (c.op === "delService") {
        if (!this.service) throw new Error("ESRCH service");
        this.service = false;
        this.dests.clear();
      } else if ("rs" in c) {
        if (!this.service) throw new Error(`ESRCH service for ${c.op} ${c.rs}`);
        const has = this.dests.has(c.rs);
        if (c.op === "addDest" && has) throw new Error(`EEXIST dest ${c.rs}`);
        if (c.op !== "addDest" && !has) throw new Error(`ENOENT dest ${c.rs} (${c.op})`);
        if (c.op === "delDest") this.dests.delete(c.rs);
        else this.dests.set(c.rs, c.weight);
      }
    }
  }
}
