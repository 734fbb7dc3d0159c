/**
 * The LVS side of a simulated world: the real servers (one shared set, by address and port, each
 * `up`, `down` or `hang`), the checks port a simulated host gives its node (`CheckPorts`: probes
 * answered from the real servers' states on the node's clock, warmup draws from a seeded PRNG, IPVS
 * batches applied to the host's table) and that table, a model of the kernel's IPVS services and
 * destinations with the kernel's answers to keepalived's calls (an existing service or destination
 * is not added twice, a missing one is not deleted, an edit of a missing destination adds it:
 * ipvswrapper.c ipvs_talk). Notify scripts are not run (the node's `lvsNotify` outputs record
 * them). Not pure (timers on the node's clock), deterministic.
 */
import { isIP } from "node:net";
import {
  type CheckerSpec,
  machineTimesProbe,
  type ProbeResult,
  RAND_MAX,
  type VirtualServerSpec,
} from "../machines/checker.machine.ts";
import type { Config } from "../src/config/types.ts";
import { miscTimeoutUs, rsName, rsPort, runnableCheckers, vsName } from "../src/lvs/spec.ts";
import { canonicalAddress } from "../src/protocol/address.ts";
import type { CheckPorts, IpvsOp } from "../src/runtime/checkers.ts";
import type { Clock } from "../src/runtime/clock.ts";
import type { Prng } from "../src/runtime/prng.ts";

export type RealServerState = "up" | "down" | "hang";
export const REAL_SERVER_STATES: readonly RealServerState[] = ["up", "down", "hang"];

/** How long an answering real server (up, or down: refused / wrong status / exit 1) takes. */
export const PROBE_ANSWER_US = 1000;
/** The signal a hung MISC_CHECK script dies of (the process runner's SIGTERM at its timeout). */
export const MISC_TIMEOUT_SIGNAL = 15;

const canon = (address: string): string => canonicalAddress(address, isIP(address) === 6 ? 6 : 4) ?? address;

/** A real server's key: `[address]:port`, the address in canonical form. */
export const realServerKey = (address: string, port: number): string => `[${canon(address)}]:${port}`;

/** `198.18.0.11:80` or `[2001:db8::1]:80` as written in a scenario: its key, or what is wrong. */
export function parseRealServer(text: string): string | { error: string } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const address = m?.[1] ?? m?.[2] ?? "";
  const port = Number(m?.[3] ?? Number.NaN);
  if (m === null || isIP(address) === 0 || !(port >= 0 && port <= 65535))
    return { error: `'${text}': write a real server as ADDRESS:PORT (198.18.0.11:80, [2001:db8::1]:80)` };
  return realServerKey(address, port);
}

/**
 * A service or destination as keepalived names it (FMT_VS / FMT_RS: `[198.18.0.100]:tcp:80`,
 * `FWM 7`, `[G1]:0` for a virtual_server_group), the address in canonical form; or what is wrong.
 */
export function parseLvsName(text: string, what: string): string | { error: string } {
  const t = text.trim();
  const fwm = /^FWM (\d{1,10})$/.exec(t);
  if (fwm !== null) return `FWM ${Number(fwm[1])}`;
  const m = /^\[([^\]]+)\]:(?:(tcp|udp|sctp):)?(\d{1,5})$/.exec(t);
  const port = Number(m?.[3] ?? Number.NaN);
  if (m !== null && port <= 65535) {
    const ip = isIP(m[1] as string) !== 0;
    if (ip && m[2] !== undefined) return `[${canon(m[1] as string)}]:${m[2]}:${port}`;
    if (!ip && m[2] === undefined) return `[${m[1]}]:${port}`;
  }
  return {
    error: `${what} '${text}': give keepalived's name, e.g. [198.18.0.100]:tcp:80 (or FWM 7, or [GROUP]:0 for a virtual_server_group)`,
  };
}

/** The real servers of the simulated world: `up` until the scenario says otherwise. */
export class SimRealServers {
  readonly #states = new Map<string, RealServerState>();
  constructor(initial: Readonly<Record<string, RealServerState>> = {}) {
    for (const [key, state] of Object.entries(initial)) this.#states.set(key, state);
  }
  get(key: string): RealServerState {
    return this.#states.get(key) ?? "up";
  }
  set(key: string, state: RealServerState): void {
    this.#states.set(key, state);
  }
}

/** Every address:port a configuration's checkers probe (the real server's, or connect_ip/connect_port). */
export function probedServers(config: Config): string[] {
  const out: string[] = [];
  for (const vs of config.virtualServers)
    for (const rs of vs.realServers)
      for (const c of runnableCheckers(rs))
        out.push(
          c.kind === "MISC_CHECK"
            ? realServerKey(rs.address, rsPort(vs, rs))
            : realServerKey(c.connectIp ?? rs.address, c.connectPort ?? rsPort(vs, rs)),
        );
  return [...new Set(out)];
}

/** The destinations of each virtual server a configuration may put in IPVS (real and sorry servers). */
export function ipvsNames(config: Config): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const vs of config.virtualServers) {
    const dests = out.get(vsName(vs)) ?? new Set<string>();
    for (const rs of vs.realServers) dests.add(rsName(vs, rs));
    if (vs.sorryServer !== null) dests.add(rsName(vs, vs.sorryServer));
    out.set(vsName(vs), dests);
  }
  return out;
}

/** One host's IPVS table: service (FMT_VS) → destination (FMT_RS) → weight. */
export class IpvsTable {
  readonly #services = new Map<string, Map<string, number>>();

  /** Applies one batch of `vs`'s operations; returns the changes made, as timeline text. */
  apply(vs: string, spec: VirtualServerSpec | undefined, ops: readonly IpvsOp[]): string[] {
    const changes: string[] = [];
    const dest = (rs: number): string | undefined =>
      rs < 0 ? spec?.sorry?.name : spec?.realServers[rs]?.name;
    for (const op of ops) {
      const service = this.#services.get(vs);
      if (!("rs" in op)) {
        if (op.op === "addService" && service === undefined) {
          this.#services.set(vs, new Map());
          changes.push(`+ service ${vs}`);
        } else if (op.op === "delService" && service !== undefined) {
          this.#services.delete(vs);
          changes.push(
            `- service ${vs}${service.size > 0 ? ` (with ${[...service.keys()].join(", ")})` : ""}`,
          );
        }
        continue;
      }
      const name = dest(op.rs);
      if (service === undefined || name === undefined) continue; // ESRCH: no such service
      const had = service.get(name);
      if (op.op === "delDest") {
        if (had !== undefined) {
          service.delete(name);
          changes.push(`${vs} - ${name}`);
        }
      } else if (had === undefined) {
        service.set(name, op.weight);
        changes.push(`${vs} + ${name} weight ${op.weight}`);
      } else if (op.op === "editDest" && had !== op.weight) {
        service.set(name, op.weight);
        changes.push(`${vs} ${name} weight ${had} -> ${op.weight}`);
      }
    }
    return changes;
  }

  /** The host went down: the kernel's table is gone. Returns the services removed. */
  clear(): string[] {
    const gone = [...this.#services.keys()].map((s) => `- service ${s} (host down)`);
    this.#services.clear();
    return gone;
  }

  hasService(service: string): boolean {
    return this.#services.has(service);
  }

  /** A destination's weight, or undefined when it is not in the table. */
  weight(service: string, dest: string): number | undefined {
    return this.#services.get(service)?.get(dest);
  }

  /** The table, sorted (for results and reports). */
  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const s of [...this.#services.keys()].sort()) {
      const dests = this.#services.get(s) as Map<string, number>;
      out[s] = Object.fromEntries([...dests.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return out;
  }
}

export interface SimChecksDeps {
  /** The node's own clock: answers come after delays in its local time. */
  readonly clock: Clock;
  readonly servers: SimRealServers;
  /** This host's warmup draws. */
  readonly prng: Prng;
  /** The virtual servers of the spec in force (the node's). */
  readonly specs: () => readonly VirtualServerSpec[];
  /** The configuration in force (connect_ip, connect_port, misc_timeout). */
  readonly config: () => Config;
  readonly ipvs: (vs: string, spec: VirtualServerSpec | undefined, ops: readonly IpvsOp[]) => void;
}

/**
 * Whether the real probe port times a probe out itself (HTTP_GET, SSL_GET, SMTP_CHECK: a timeout
 * per step; MISC_CHECK: the process runner) rather than the checker machine's connect_timeout timer
 * (TCP_CHECK, DNS_CHECK: machines/checker.machine.ts `machineTimesProbe`).
 */
export const selfTimed = (kind: CheckerSpec["kind"]): boolean => !machineTimesProbe(kind);

const RS_NAME = /^\[(.+)\]:[a-z]+:(\d+)$/;

/**
 * The checks port of a simulated host. A probe goes to the real server its checker targets (its
 * connect_ip/connect_port, else the real server; MISC_CHECK: the real server) and answers as the
 * real probe port would: `up` ok after PROBE_ANSWER_US; `down` a failure then (MISC: exit 1);
 * `hang` never for TCP_CHECK/DNS_CHECK (the machine's connect_timeout timer ends it), a time-out
 * after connect_timeout for HTTP_GET/SSL_GET/SMTP_CHECK and after misc_timeout (else delay_loop)
 * for MISC_CHECK.
 */
export function simChecksPort(d: SimChecksDeps): CheckPorts {
  const locate = (vsNameText: string, r: number, c: number) => {
    const spec = d.specs().find((s) => s.name === vsNameText);
    const rsSpec = spec?.realServers[r];
    const checker = rsSpec?.checkers[c];
    if (rsSpec === undefined || checker === undefined) return undefined;
    const vs = d.config().virtualServers.find((v) => vsName(v) === vsNameText);
    const rs = vs?.realServers[r];
    const conf = vs !== undefined && rs !== undefined && rsName(vs, rs) === rsSpec.name ? rs : undefined;
    const c2 = conf === undefined ? undefined : runnableCheckers(conf)[c];
    const m = RS_NAME.exec(rsSpec.name);
    const own = realServerKey(m?.[1] ?? "", Number(m?.[2] ?? 0));
    const target =
      c2 === undefined || checker.kind === "MISC_CHECK" || (c2.connectIp === null && c2.connectPort === null)
        ? own
        : realServerKey(c2.connectIp ?? conf?.address ?? "", c2.connectPort ?? Number(m?.[2] ?? 0));
    const miscUs = vs !== undefined && c2 !== undefined ? miscTimeoutUs(vs, c2) : checker.delayLoopUs;
    return { checker, target, miscUs };
  };
  return {
    probe(req, done) {
      const at = locate(req.vs, req.rs, req.checker);
      const answer = (delayUs: number, r: ProbeResult): (() => void) => {
        const t = d.clock.setTimerUs(() => done(r), delayUs);
        return () => t.cancel();
      };
      if (at === undefined) return answer(PROBE_ANSWER_US, { ok: false });
      const misc = at.checker.kind === "MISC_CHECK";
      switch (d.servers.get(at.target)) {
        case "up":
          return answer(PROBE_ANSWER_US, misc ? { ok: true, exitStatus: 0 } : { ok: true });
        case "down":
          return answer(PROBE_ANSWER_US, misc ? { ok: false, exitStatus: 1 } : { ok: false });
        case "hang":
          if (misc) return answer(at.miscUs, { ok: false, timedOut: true, signal: MISC_TIMEOUT_SIGNAL });
          // TCP_CHECK, DNS_CHECK: the machine's own connect_timeout timer ends the probe.
          if (!selfTimed(at.checker.kind)) return () => {};
          return answer(at.checker.connectTimeoutUs, { ok: false, timedOut: true });
      }
    },
    ipvs(vs, ops) {
      d.ipvs(
        vs,
        d.specs().find((s) => s.name === vs),
        ops,
      );
    },
    notify() {},
    draws(_vs, count) {
      return Array.from({ length: count }, () => d.prng.int(0, RAND_MAX));
    },
  };
}

/** What a host's IPVS table held at a time an `ipvs` expectation asked about. */
export interface IpvsSeen {
  readonly service: boolean;
  /** The destination's weight (undefined: not in the table, or none asked about). */
  readonly weight: number | undefined;
}
export type IpvsProbe = (atUs: number, node: string, service: string, realServer?: string) => IpvsSeen;

/**
 * Looks at the IPVS tables when the `ipvs` expectations ask (`at(atUs, f)` runs `f` then) and
 * answers for the judge afterwards.
 */
export function ipvsProbes(
  asks: ReadonlyArray<{ atUs: number; node: string; service: string; realServer?: string }>,
  at: (atUs: number, f: () => void) => void,
  table: (node: string) => IpvsTable,
): IpvsProbe {
  const seen = new Map<string, IpvsSeen>();
  const key = (atUs: number, node: string, service: string, rs?: string): string =>
    `${atUs}|${node}|${service}|${rs ?? ""}`;
  for (const e of asks)
    at(e.atUs, () => {
      const t = table(e.node);
      const weight = e.realServer === undefined ? undefined : t.weight(e.service, e.realServer);
      seen.set(key(e.atUs, e.node, e.service, e.realServer), { service: t.hasService(e.service), weight });
    });
  return (atUs, node, service, rs) =>
    seen.get(key(atUs, node, service, rs)) ?? { service: false, weight: undefined };
}
