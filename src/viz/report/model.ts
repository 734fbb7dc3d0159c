/**
 * The "run view": the one data model the HTML page (page.ts, client.ts) draws, whatever it shows —
 * a simulation result (from-simulation.ts), a replayed journal (from-replay.ts) or the live daemon
 * (live.ts, fed by `/status` and `/events`). Lanes (one per node and instance) carry state spans,
 * VIP ownership spans and priority points; markers are faults and operator actions; split-brain and
 * failover spans, verdicts, an event log and the state chart with per-lane transition counts
 * complete it. Also the lane builder the two offline builders share. Pure (types and data only).
 */
import type { Chart } from "../chart.ts";

export interface StateSpan {
  readonly fromUs: number;
  readonly toUs: number;
  readonly state: string;
}

export interface VipSpan {
  readonly fromUs: number;
  readonly toUs: number;
  readonly vip: string;
}

export interface PriorityPoint {
  readonly atUs: number;
  readonly priority: number;
}

export interface TransitionCount {
  readonly from: string;
  readonly to: string;
  readonly count: number;
}

export interface Lane {
  /** `node/instance` (`instance` alone for a single-node view). */
  readonly id: string;
  readonly node: string;
  readonly instance: string;
  readonly states: readonly StateSpan[];
  readonly vips: readonly VipSpan[];
  readonly priority: readonly PriorityPoint[];
  /** The state at the end of the view (the current state, live). */
  readonly state: string;
  /** State changes by (from, to), as they fired in this lane. */
  readonly transitions: readonly TransitionCount[];
  /** Label → value facts shown in the lanes table (priority, master address, counters…). */
  readonly facts: Readonly<Record<string, string>>;
}

export type MarkerKind =
  | "partition"
  | "heal"
  | "faults"
  | "crash"
  | "link"
  | "script"
  | "process"
  | "file"
  | "probe"
  | "op"
  | "admin"
  | "reload";

export interface Marker {
  readonly atUs: number;
  /** The node it concerns; "" for the whole network. */
  readonly node: string;
  readonly kind: MarkerKind;
  readonly text: string;
}

/** An interval of one VRRP group (`lan|vrid|family`): split brain or no master. */
export interface GroupSpan {
  readonly group: string;
  readonly fromUs: number;
  readonly toUs: number;
}

export interface ViewVerdict {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly atUs?: number;
}

export interface ViewEvent {
  readonly atUs: number;
  readonly node: string;
  /** `state`, `vip`, `priority`, a marker kind, or an input kind (live and replay). */
  readonly kind: string;
  readonly text: string;
}

/** The instance machine's top-level states and the transitions between them (from chart.ts). */
export interface StateChartModel {
  readonly states: readonly string[];
  readonly edges: readonly { readonly from: string; readonly to: string }[];
}

export interface RunView {
  readonly mode: "simulation" | "replay" | "live";
  readonly title: string;
  /** One-line facts under the title (verdict, duration, hash…). */
  readonly summary: readonly string[];
  readonly startUs: number;
  readonly endUs: number;
  readonly lanes: readonly Lane[];
  readonly markers: readonly Marker[];
  readonly splitBrain: readonly GroupSpan[];
  readonly failovers: readonly GroupSpan[];
  readonly verdicts: readonly ViewVerdict[];
  readonly events: readonly ViewEvent[];
  /** Events left out of `events` (a long journal), 0 when all are there. */
  readonly eventsOmitted: number;
  readonly chart: StateChartModel;
}

/** At most this many events go into a page (the rest are counted in `eventsOmitted`). */
export const MAX_VIEW_EVENTS = 20_000;

/**
 * The instance chart's top-level states (upper case, as state changes name them) and the distinct
 * transitions between them: each edge's ends are lifted to their top-level ancestor; self-loops and
 * the root's own transitions (from any state) are left out.
 */
export function stateChartModel(chart: Chart): StateChartModel {
  const top = new Map<string, string>();
  const walk = (id: string, nodes: Chart["root"]["children"]): void => {
    for (const n of nodes) {
      top.set(n.id, id === "" ? n.key.toUpperCase() : (top.get(id) as string));
      walk(n.id, n.children);
    }
  };
  walk("", chart.root.children);
  const states = chart.root.children.map((n) => n.key.toUpperCase());
  const seen = new Set<string>();
  const edges: { from: string; to: string }[] = [];
  for (const e of chart.edges) {
    const from = top.get(e.source);
    const to = top.get(e.target);
    if (from === undefined || to === undefined || from === to || seen.has(`${from}>${to}`)) continue;
    seen.add(`${from}>${to}`);
    edges.push({ from, to });
  }
  return { states, edges };
}

/** Builds one lane from observations in time order; `finish` closes its open spans at the view's end. */
export class LaneBuilder {
  readonly node: string;
  readonly instance: string;
  readonly facts: Record<string, string> = {};
  readonly #states: StateSpan[] = [];
  readonly #vips: VipSpan[] = [];
  readonly #priority: PriorityPoint[] = [];
  readonly #counts = new Map<string, number>();
  readonly #openVips = new Map<string, number>();
  #state: string | undefined;
  #sinceUs = 0;

  constructor(node: string, instance: string) {
    this.node = node;
    this.instance = instance;
  }

  get state(): string | undefined {
    return this.#state;
  }

  /** The lane is in `state` from `atUs`; `counted` adds a fired transition from the previous state. */
  enter(atUs: number, state: string, counted: boolean): void {
    const prev = this.#state;
    if (prev === state) return;
    if (prev !== undefined) {
      if (atUs > this.#sinceUs) this.#states.push({ fromUs: this.#sinceUs, toUs: atUs, state: prev });
      if (counted) this.#counts.set(`${prev}>${state}`, (this.#counts.get(`${prev}>${state}`) ?? 0) + 1);
    }
    this.#state = state;
    this.#sinceUs = atUs;
  }

  vip(atUs: number, vip: string, present: boolean): void {
    const since = this.#openVips.get(vip);
    if (present && since === undefined) this.#openVips.set(vip, atUs);
    else if (!present && since !== undefined) {
      this.#openVips.delete(vip);
      if (atUs > since) this.#vips.push({ fromUs: since, toUs: atUs, vip });
    }
  }

  /** Drops every VIP the lane holds (a crash that takes the addresses with it). */
  dropVips(atUs: number): void {
    for (const vip of [...this.#openVips.keys()]) this.vip(atUs, vip, false);
  }

  priority(atUs: number, priority: number): void {
    if (this.#priority.at(-1)?.priority !== priority) this.#priority.push({ atUs, priority });
  }

  finish(endUs: number): Lane {
    if (this.#state !== undefined && endUs > this.#sinceUs)
      this.#states.push({ fromUs: this.#sinceUs, toUs: endUs, state: this.#state });
    for (const [vip, since] of this.#openVips)
      if (endUs > since) this.#vips.push({ fromUs: since, toUs: endUs, vip });
    this.#vips.sort((a, b) => a.fromUs - b.fromUs || a.vip.localeCompare(b.vip));
    const transitions = [...this.#counts].map(([k, count]) => {
      const [from = "", to = ""] = k.split(">");
      return { from, to, count };
    });
    return {
      id: this.node === "" ? this.instance : `${this.node}/${this.instance}`,
      node: this.node,
      instance: this.instance,
      states: this.#states,
      vips: this.#vips,
      priority: this.#priority,
      state: this.#state ?? "UNKNOWN",
      transitions,
      facts: this.facts,
    };
  }
}

/** Keeps the last `MAX_VIEW_EVENTS` events (the latest matter most) and counts the rest. */
export function capEvents(events: readonly ViewEvent[]): { events: ViewEvent[]; eventsOmitted: number } {
  const omitted = Math.max(0, events.length - MAX_VIEW_EVENTS);
  return { events: events.slice(omitted), eventsOmitted: omitted };
}
