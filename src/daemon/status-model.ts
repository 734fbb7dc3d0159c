/**
 * What the status server, the metrics and the signal dumps show, derived from a running `Node`
 * without changing it. `StatusModel` observes every applied event (the Node's `onApplied`): it keeps
 * each instance's last state transition (wall time, daemon time, from / to) and transition count,
 * and fans a compact summary of each event out to subscribers (the `/events` stream) — the summary
 * is built only while someone listens. `statusDocument` reads the node's public views each time it
 * is called (`node.spec` for the instance list, so instances added or removed by a reload appear at
 * once; `state`, `priority`, `stats`; and the machines' contexts from `checkpoint()`, which is
 * read-only, for the master's address and priority). Not pure (the model holds what it observed);
 * `statusDocument` and `summarizeEvent` are pure functions of their arguments.
 */
import type { Event } from "../runtime/input.ts";
import type { Node, Output } from "../runtime/node.ts";
import { describeOutput } from "../runtime/output-text.ts";
import type { InstanceSpec } from "../runtime/spec.ts";
import { type InstanceStats, newStats } from "../runtime/stats.ts";

/** The parts of a `Node` the status views read (a reload keeps the same Node object). */
export type NodeView = Pick<Node, "spec" | "state" | "priority" | "stats" | "checkpoint" | "checkerState"> &
  Partial<Pick<Node, "readDeferred">>;

export interface Transition {
  /** Wall-clock time of the transition, ISO 8601. */
  readonly at: string;
  /** Wall-clock time in ms since the epoch (keepalived's `last_transition`, in ms). */
  readonly atMs: number;
  /** The daemon clock's time of the event that caused it (µs, as in the journal). */
  readonly atUs: number;
  readonly from: string;
  readonly to: string;
}

/** One applied event as the `/events` stream sends it. */
export interface EventSummary {
  readonly seq: number;
  readonly atUs: number;
  readonly input: { readonly kind: string; readonly text: string };
  readonly outputs: readonly string[];
}

export interface DaemonInfo {
  readonly version: string;
  readonly pid: number;
  readonly configFile: string;
  /** ISO 8601. */
  readonly startTime: string;
  /** `degraded`: journal lines are not being written (since when, why, how many lost, when known). */
  readonly journal: {
    readonly path: string;
    readonly degraded: boolean;
    readonly since?: string;
    readonly reason?: string;
    readonly lostLines?: number;
  };
}

export interface InstanceStatus {
  readonly name: string;
  readonly interface: string;
  readonly vrid: number;
  readonly family: "IPv4" | "IPv6";
  readonly version: number;
  readonly state: string;
  readonly priority: { readonly effective: number; readonly base: number };
  /** Own address when MASTER; the accepted master's source when BACKUP; otherwise null. */
  readonly masterAddress: string | null;
  /** Priority of the last accepted advert (own when MASTER); null when none. */
  readonly masterPriority: number | null;
  readonly sourceAddress: string;
  readonly syncGroup: string | null;
  readonly vips: readonly string[];
  readonly lastTransition: Transition | null;
  readonly transitions: number;
  readonly stats: InstanceStats;
}

export interface SyncGroupStatus {
  readonly name: string;
  readonly state: string;
  readonly members: readonly string[];
}

/** An LVS virtual server as its checkers see it (IPVS itself may be absent: the commands are then only recorded). */
export interface VirtualServerStatus {
  /** keepalived's FMT_VS (`[198.18.0.100]:tcp:80`). */
  readonly name: string;
  /** `idle` before its checkers start, `running`, `stopped` after shutdown. */
  readonly phase: string;
  readonly quorumUp: boolean;
  readonly sorryServer: { readonly name: string; readonly active: boolean } | null;
  readonly realServers: readonly {
    readonly name: string;
    readonly alive: boolean;
    /** In the IPVS table (alive, or inhibited at weight 0). */
    readonly inIpvs: boolean;
    readonly weight: number;
    readonly checkers: readonly { readonly kind: string; readonly up: boolean }[];
  }[];
}

export interface StatusDocument {
  readonly daemon: DaemonInfo;
  readonly instances: readonly InstanceStatus[];
  readonly syncGroups: readonly SyncGroupStatus[];
  readonly virtualServers: readonly VirtualServerStatus[];
}

export interface StatusModelOptions {
  /** Wall clock in ms since the epoch (default `Date.now`; tests pass the virtual clock's). */
  readonly wallMs?: () => number;
}

export class StatusModel {
  readonly #wallMs: () => number;
  readonly #last = new Map<string, Transition>();
  readonly #count = new Map<string, number>();
  readonly #listeners = new Set<(e: EventSummary) => void>();

  constructor(opts: StatusModelOptions = {}) {
    this.#wallMs = opts.wallMs ?? Date.now;
  }

  /** The Node's `onApplied`: cheap unless a state changed or someone listens. */
  readonly observe = (ev: Event, outputs: readonly Output[]): void => {
    for (const o of outputs) {
      if (o.type !== "state" || !o.actor.startsWith("instance:") || o.from === o.to) continue;
      const name = o.actor.slice("instance:".length);
      const atMs = this.#wallMs();
      this.#last.set(name, { at: new Date(atMs).toISOString(), atMs, atUs: ev.atUs, from: o.from, to: o.to });
      this.#count.set(name, (this.#count.get(name) ?? 0) + 1);
    }
    if (this.#listeners.size === 0) return;
    const summary = summarizeEvent(ev, outputs);
    for (const l of [...this.#listeners]) {
      // A status listener never breaks the node's event loop: it is dropped instead.
      try {
        l(summary);
      } catch {
        this.#listeners.delete(l);
      }
    }
  };

  lastTransition(name: string): Transition | undefined {
    return this.#last.get(name);
  }
  /** State changes of the instance since the daemon started (a reload keeps them). */
  transitions(name: string): number {
    return this.#count.get(name) ?? 0;
  }
  /** Calls `listener` with every applied event from now on; returns the unsubscribe function. */
  subscribe(listener: (e: EventSummary) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
  get listeners(): number {
    return this.#listeners.size;
  }
}

/** What the machines know that the node's views do not expose (read from a checkpoint). */
export interface InstanceContextView {
  readonly masterIp: string;
  readonly masterPriority: number;
  readonly masterAdverIntervalCs: number;
  readonly basePriority: number;
  readonly wantMaster: boolean;
}

/** Every instance's machine context fields the views need, by instance name (defensive reads). */
export function instanceContexts(node: NodeView): ReadonlyMap<string, InstanceContextView> {
  const out = new Map<string, InstanceContextView>();
  // The checkpoint's state is opaque by type: read it as plain JSON, defensively.
  type Saved = { actors?: Record<string, { context?: Record<string, unknown> } | undefined> };
  const actors = (node.checkpoint().state as Saved | undefined)?.actors ?? {};
  for (const s of node.spec.instances) {
    const c = actors[`instance:${s.params.name}`]?.context ?? {};
    const num = (k: string, d: number): number => (typeof c[k] === "number" ? (c[k] as number) : d);
    out.set(s.params.name, {
      masterIp: typeof c.masterIp === "string" ? c.masterIp : "",
      masterPriority: num("masterPriority", 0),
      masterAdverIntervalCs: num("masterAdverIntervalCs", s.params.advertIntervalCs),
      basePriority: num("basePriority", s.params.basePriority),
      wantMaster: c.wantMaster === true,
    });
  }
  return out;
}

/** One instance's status from the node's views and the model. */
export function instanceStatus(
  node: NodeView,
  model: StatusModel,
  s: InstanceSpec,
  ctx: InstanceContextView | undefined,
): InstanceStatus {
  const name = s.params.name;
  const state = node.state(name);
  const effective = node.priority(name);
  const master = state === "MASTER";
  const backupOf = state === "BACKUP" && ctx !== undefined && ctx.masterIp !== "" ? ctx : undefined;
  return {
    name,
    interface: s.params.ifname,
    vrid: s.params.vrid,
    family: s.params.family === 4 ? "IPv4" : "IPv6",
    version: s.params.version,
    state,
    priority: { effective, base: ctx?.basePriority ?? s.params.basePriority },
    masterAddress: master ? s.params.ownIp : (backupOf?.masterIp ?? null),
    masterPriority: master ? effective : (backupOf?.masterPriority ?? null),
    sourceAddress: s.params.ownIp,
    syncGroup: s.params.syncGroup ?? null,
    vips: [...s.params.vips],
    lastTransition: model.lastTransition(name) ?? null,
    transitions: model.transitions(name),
    stats: { ...(node.stats(name) ?? newStats()) },
  };
}

/** The whole `/status` document, read now. */
export function statusDocument(node: NodeView, model: StatusModel, daemon: DaemonInfo): StatusDocument {
  const contexts = instanceContexts(node);
  return {
    daemon,
    instances: node.spec.instances.map((s) => instanceStatus(node, model, s, contexts.get(s.params.name))),
    syncGroups: node.spec.groups.map((g) => ({
      name: g.name,
      state: node.state(`group:${g.name}`),
      members: [...g.members],
    })),
    virtualServers: (node.spec.virtualServers ?? []).flatMap((v): VirtualServerStatus[] => {
      const st = node.checkerState(v.name);
      if (st === undefined) return [];
      return [
        {
          name: v.name,
          phase: st.phase,
          quorumUp: st.quorumUp,
          sorryServer: v.sorry === null ? null : { name: v.sorry.name, active: st.sorrySet },
          realServers: v.realServers.map((r, i) => ({
            name: r.name,
            alive: st.rs[i]?.alive ?? false,
            inIpvs: st.rs[i]?.set ?? false,
            // In IPVS: its weight there (0 while inhibit_on_failure holds a failed one); else the weight it would get.
            weight:
              st.rs[i]?.set === true && st.rs[i]?.alive !== true
                ? 0
                : Math.max(0, st.rs[i]?.effectiveWeight ?? r.weight),
            checkers: r.checkers.map((c, k) => ({ kind: c.kind, up: st.rs[i]?.checkers[k]?.isUp ?? false })),
          })),
        },
      ];
    }),
  };
}

// ---- event summaries (the /events stream) ---------------------------------------------------

const hexByte = (hex: string, i: number): number | undefined => {
  const v = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return Number.isNaN(v) ? undefined : v;
};

/** One line saying what an input was. Pure. */
export function describeInput(input: Event["input"]): string {
  switch (input.kind) {
    case "rx": {
      const vrid = hexByte(input.hex, 1);
      const prio = hexByte(input.hex, 2);
      return `VRRP from ${input.src} to ${input.dst} on ${input.ifname} vrid ${vrid ?? "?"} priority ${prio ?? "?"} (${input.hex.length / 2} bytes)`;
    }
    case "timer":
      return `${input.actor} ${input.id}`;
    case "probe": {
      const what =
        input.value !== undefined
          ? `value ${input.value}`
          : input.running !== undefined
            ? `running ${input.running}`
            : input.ok
              ? "ok"
              : `failed${input.exitStatus === undefined ? "" : ` (exit ${input.exitStatus})`}${input.timedOut === true ? " (timed out)" : ""}`;
      return `${input.tracker} ${what}`;
    }
    case "link":
      return `${input.ifname} ${input.up ? "up" : "down"}`;
    case "admin":
      return input.command;
    case "effect":
      return `${input.actor} #${input.cmd} ${input.op}${input.instance === undefined ? "" : ` (${input.instance})`} ${input.ok ? "ok" : `failed${input.code === undefined ? "" : ` ${input.code}`}`}`;
    case "address":
      return `${input.address}/${input.prefixLength} ${input.present ? "added to" : "removed from"} ${input.ifname}`;
    case "route":
      return `${input.entry} ${input.text} deleted`;
    case "check": {
      const e = input.event;
      return e.type === "START"
        ? `${input.vs} checkers start`
        : `${input.vs} real server ${e.rs} checker ${e.checker} ${e.ok ? "ok" : `failed${e.exitStatus === undefined ? "" : ` (exit ${e.exitStatus})`}${e.timedOut === true ? " (timed out)" : ""}`}`;
    }
    default:
      // `reload` and any later kind: the kind says it (a reload's spec is too large for a line).
      return "configHash" in input && typeof input.configHash === "string"
        ? `configuration ${input.configHash.slice(0, 12)}`
        : input.kind;
  }
}

export const summarizeEvent = (ev: Event, outputs: readonly Output[]): EventSummary => ({
  seq: ev.seq,
  atUs: ev.atUs,
  input: { kind: ev.input.kind, text: describeInput(ev.input) },
  outputs: outputs.map(describeOutput),
});
