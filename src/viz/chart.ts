/**
 * Chart extraction: turns an XState 5 machine definition into a plain `Chart` (nested states and
 * labelled transitions) that the renderers (mermaid.ts, dot.ts, svg.ts) draw. Nothing is written by
 * hand: the walk reads the machine's state nodes (`machine.root`, `.states`, `.initial`, `.entry`,
 * `.exit`, `.transitions`, `.always`, `.after`) and each transition's `guard`, `target`, `reenter`
 * and `actions`. Named effect actions (machines/named-actions.ts) show by their message type;
 * delayed raises (our named timers) show as "start timer ID → EVENT", and a transition taken on a
 * timer's event is labelled "after DELAY (what DELAY is)". `assign`s are
 * context bookkeeping and are left out. Anything that cannot be shown faithfully (an anonymous
 * guard with no `description`, a delay with no description, dynamic actions) is listed in
 * `warnings` so a test can insist there are none. Pure.
 */

/** One state of the chart; `id` is XState's state node id (`vrrp.master.garp.delay`). */
export interface ChartNode {
  readonly id: string;
  readonly key: string;
  readonly kind: "atomic" | "compound" | "parallel" | "final";
  /** The initial child's id (compound states only). */
  readonly initial?: string;
  readonly children: readonly ChartNode[];
  /** Entry and exit effects, labelled like transition effects. */
  readonly entry: readonly string[];
  readonly exit: readonly string[];
}

/** One transition; a targetless transition (effects only, no state change) has `target === source`. */
export interface ChartEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  /** The event type, `always` for eventless transitions, or `after DELAY` for XState `after`. */
  readonly trigger: string;
  /** For a timer's event (or `after`): "after DELAY (what it is)". */
  readonly timer?: string;
  readonly guard?: string;
  readonly effects: readonly string[];
  /** No target: the state is not left, only the effects happen. */
  readonly internal: boolean;
  /** A self-transition that exits and re-enters (restarting the state's timers). */
  readonly reenter: boolean;
}

export interface Chart {
  /** The machine's id (`vrrp`); root-level transitions have it as their source. */
  readonly id: string;
  readonly root: ChartNode;
  readonly edges: readonly ChartEdge[];
  /** What could not be shown faithfully; empty for a complete chart. */
  readonly warnings: readonly string[];
}

/** The slice of XState's StateNode API the walk reads (xstate 5). */
interface StateNodeLike {
  readonly id: string;
  readonly key: string;
  readonly type: "atomic" | "compound" | "parallel" | "final" | "history";
  readonly states: Readonly<Record<string, StateNodeLike>>;
  readonly initial?: { readonly target: readonly StateNodeLike[] };
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  readonly transitions: ReadonlyMap<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[];
  readonly after: readonly (TransitionLike & { readonly delay: unknown; readonly eventType: string })[];
}

interface TransitionLike {
  readonly eventType: string;
  readonly target?: readonly StateNodeLike[] | undefined;
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
  readonly reenter?: boolean;
  readonly description?: string;
}

/** What the walk needs of a machine: its root state node. */
export interface MachineLike {
  readonly root: unknown;
}

/** Short explanations of a machine's named delays, e.g. `{ masterDown: "3×advert + skew" }`. */
export type DelayDescriptions = Readonly<Record<string, string>>;

/** XState's prefix for its own delayed events (`xstate.after.<delay>.<state id>`). */
const AFTER_PREFIX = "xstate.after.";

/** Extracts the chart of `machine`, explaining its named delays with `delays`. */
export function extractChart(machine: MachineLike, delays: DelayDescriptions): Chart {
  const root = machine.root as StateNodeLike;
  const warnings: string[] = [];
  const warn = (w: string): void => {
    if (!warnings.includes(w)) warnings.push(w);
  };
  const delayText = (delay: unknown, where: string): string => {
    if (typeof delay === "number") return `after ${delay} ms`;
    if (typeof delay !== "string") {
      warn(`${where}: a delay given as a function cannot be named`);
      return "after (computed delay)";
    }
    const what = delays[delay];
    if (what === undefined) warn(`${where}: delay '${delay}' has no description`);
    return what === undefined ? `after ${delay}` : `after ${delay} (${what})`;
  };

  // Every timer: the event a delayed raise sends → its delay, so the transition on it shows the delay.
  const timerOf = new Map<string, string>();
  const nodes = allNodes(root);
  for (const n of nodes)
    for (const a of [...n.entry, ...n.exit, ...transitionsOf(n).flatMap((t) => t.actions)]) {
      const r = raiseOf(a);
      if (r?.delay !== undefined && r.event !== undefined) timerOf.set(r.event, delayText(r.delay, n.id));
    }

  const actionsText = (actions: readonly unknown[], where: string): string[] => {
    const out: string[] = [];
    for (const a of actions) {
      const text = actionText(a, where, warn, delayText);
      if (text !== undefined && !out.includes(text)) out.push(text);
    }
    return out;
  };

  const edges: ChartEdge[] = [];
  for (const n of nodes) {
    for (const t of transitionsOf(n)) {
      const where = `${n.id} on ${t.eventType}`;
      const after = n.after.find((a) => a.eventType === t.eventType);
      const isAlways = t.eventType === "" || (n.always?.includes(t) ?? false);
      const trigger = after
        ? `after ${typeof after.delay === "string" ? after.delay : String(after.delay)}`
        : isAlways
          ? "always"
          : t.eventType;
      const timer = after ? delayText(after.delay, where) : timerOf.get(t.eventType);
      const guard = guardText(t, where, warn);
      const effects = actionsText(t.actions, where);
      const targets = t.target ?? [];
      const base = { trigger, effects, ...(timer === undefined ? {} : { timer }) };
      const withGuard = guard === undefined ? base : { ...base, guard };
      if (targets.length === 0)
        edges.push({
          id: `e${edges.length}`,
          source: n.id,
          target: n.id,
          ...withGuard,
          internal: true,
          reenter: false,
        });
      for (const target of targets)
        edges.push({
          id: `e${edges.length}`,
          source: n.id,
          target: target.id,
          ...withGuard,
          internal: false,
          reenter: target.id === n.id && t.reenter === true,
        });
    }
  }

  const toNode = (n: StateNodeLike): ChartNode => {
    if (n.type === "history") warn(`${n.id}: history states are not drawn`);
    const children = Object.values(n.states)
      .filter((c) => c.type !== "history")
      .map(toNode);
    const initial = n.type === "compound" ? n.initial?.target[0]?.id : undefined;
    return {
      id: n.id,
      key: n.key,
      kind: n.type === "history" ? "atomic" : n.type,
      ...(initial === undefined ? {} : { initial }),
      children,
      entry: actionsText(n.entry, `${n.id} entry`),
      exit: actionsText(n.exit, `${n.id} exit`),
    };
  };
  return { id: root.id, root: toNode(root), edges, warnings };
}

/** Every state node, depth first in definition order (the root first). */
function allNodes(n: StateNodeLike): StateNodeLike[] {
  return [n, ...Object.values(n.states).flatMap(allNodes)];
}

/** A node's transitions in definition order: events, then `after`, then `always`. */
function transitionsOf(n: StateNodeLike): TransitionLike[] {
  const out: TransitionLike[] = [];
  for (const [eventType, ts] of n.transitions) if (!eventType.startsWith(AFTER_PREFIX)) out.push(...ts);
  for (const a of n.after) out.push(a);
  for (const t of n.always ?? []) out.push(t);
  return out;
}

interface RaiseLike {
  readonly event?: string;
  readonly delay?: unknown;
  readonly id?: string;
}

/** The event, delay and id of an `xstate.raise` action (undefined for other actions). */
function raiseOf(a: unknown): RaiseLike | undefined {
  if (typeof a !== "function" || (a as { type?: unknown }).type !== "xstate.raise") return undefined;
  const r = a as { event?: unknown; delay?: unknown; id?: unknown };
  const event =
    typeof r.event === "object" &&
    r.event !== null &&
    typeof (r.event as { type?: unknown }).type === "string"
      ? (r.event as { type: string }).type
      : undefined;
  return {
    ...(event === undefined ? {} : { event }),
    ...(r.delay === undefined ? {} : { delay: r.delay }),
    ...(typeof r.id === "string" ? { id: r.id } : {}),
  };
}

/** The label of one action, or undefined for context assignments. */
function actionText(
  a: unknown,
  where: string,
  warn: (w: string) => void,
  delayText: (delay: unknown, where: string) => string,
): string | undefined {
  if (typeof a === "string") return a;
  const type = (a as { type?: unknown } | null)?.type;
  if (typeof a === "object" && a !== null && typeof type === "string") return type;
  if (typeof a !== "function") return undefined;
  switch (type) {
    case "xstate.assign":
      return undefined;
    case "xstate.raise": {
      const r = raiseOf(a);
      if (r?.event === undefined) {
        warn(`${where}: a raise with a computed event`);
        return "raise (computed event)";
      }
      // XState's own timers for `after` transitions: the `after` edge shows them.
      if (r.event.startsWith(AFTER_PREFIX)) return undefined;
      if (r.delay === undefined) return `raise ${r.event}`;
      delayText(r.delay, where); // checks the delay is described; the timer's transition shows it
      const id = r.id ?? r.event;
      const delay = typeof r.delay === "string" && r.delay !== id ? ` (${r.delay})` : "";
      return `start timer ${id}${delay} → ${r.event}`;
    }
    case "xstate.cancel": {
      const id = (a as { sendId?: unknown }).sendId;
      if (typeof id === "string" && id.startsWith(AFTER_PREFIX)) return undefined;
      if (typeof id !== "string") warn(`${where}: a cancel with a computed id`);
      return `cancel timer ${typeof id === "string" ? id : "(computed)"}`;
    }
    case "xstate.enqueueActions":
      warn(`${where}: enqueueActions decides its actions at run time`);
      return "enqueueActions (decided at run time)";
    default:
      if (typeof type === "string") return type.startsWith("xstate.") ? type.slice("xstate.".length) : type;
      warn(`${where}: an inline action function has no name`);
      return (a as { name?: string }).name || "(inline action)";
  }
}

/**
 * A guard's text: a named guard's name; XState's `and` / `or` / `not` helpers spelt out
 * (`a and not b`); `stateIn(…)`; undefined for an anonymous inline function.
 */
function guardName(g: unknown): string | undefined {
  if (typeof g === "string") return g;
  if (typeof g === "object" && g !== null && typeof (g as { type?: unknown }).type === "string")
    return (g as { type: string }).type;
  if (typeof g !== "function") return undefined;
  const f = g as { name: string; guards?: unknown; stateValue?: unknown; check?: unknown };
  if (f.check !== undefined && Array.isArray(f.guards) && ["and", "or", "not"].includes(f.name)) {
    const parts = f.guards.map((x) => {
      const text = guardName(x) ?? "(inline guard)";
      return /\s/.test(text) ? `(${text})` : text;
    });
    return f.name === "not" ? `not ${parts[0] ?? ""}` : parts.join(` ${f.name} `);
  }
  if (f.check !== undefined && f.name === "stateIn" && f.stateValue !== undefined)
    return `in ${typeof f.stateValue === "string" ? f.stateValue : JSON.stringify(f.stateValue)}`;
  return f.name !== "" && f.name !== "guard" ? f.name : undefined;
}

/** The guard's text; an anonymous inline guard is shown by the transition's `description`. */
function guardText(t: TransitionLike, where: string, warn: (w: string) => void): string | undefined {
  const g = t.guard;
  if (g === undefined) return undefined;
  const name = guardName(g);
  if (name !== undefined && !name.includes("(inline guard)")) return name;
  if (t.description !== undefined) return t.description;
  warn(`${where}: an inline guard with no description`);
  return name ?? "(inline guard)";
}

/** An edge's label as lines: trigger and guard, the timer's delay, then `/ effects`. */
export function edgeLines(e: ChartEdge): string[] {
  const head = `${e.trigger}${e.guard === undefined ? "" : ` [${e.guard}]`}${e.reenter ? " (re-enter)" : ""}`;
  return [
    head,
    ...(e.timer === undefined ? [] : [e.timer]),
    ...(e.effects.length === 0 ? [] : [`/ ${e.effects.join(", ")}`]),
  ];
}

/** A state's entry and exit effects as lines (`entry / …`, `exit / …`). */
export function stateLines(n: ChartNode): string[] {
  return [
    ...(n.entry.length === 0 ? [] : [`entry / ${n.entry.join(", ")}`]),
    ...(n.exit.length === 0 ? [] : [`exit / ${n.exit.join(", ")}`]),
  ];
}

/** Every state of the chart below the root, depth first in definition order. */
export function chartStates(root: ChartNode): ChartNode[] {
  return root.children.flatMap((c) => [c, ...chartStates(c)]);
}

/** Each state's parent id (states carry XState ids, which need not be paths). */
export function parentsOf(chart: Chart): ReadonlyMap<string, string> {
  const parents = new Map<string, string>();
  const walk = (n: ChartNode): void => {
    for (const c of n.children) {
      parents.set(c.id, n.id);
      walk(c);
    }
  };
  walk(chart.root);
  return parents;
}

/**
 * The state whose block an edge belongs in: the deepest state that strictly contains both ends
 * (the root for edges between top-level states and for the root's own transitions).
 */
export function edgeScope(chart: Chart, e: ChartEdge, parents: ReadonlyMap<string, string>): string {
  const up = (id: string): string[] => {
    const out: string[] = [];
    for (let p = parents.get(id); p !== undefined; p = parents.get(p)) out.push(p);
    return out.length === 0 ? [chart.id] : out;
  };
  const b = new Set(up(e.target));
  return up(e.source).find((id) => b.has(id)) ?? chart.id;
}

/** Breaks long lines after ", " so no line is longer than `maxChars` where it can be avoided. */
export function wrapLines(lines: readonly string[], maxChars: number): string[] {
  const out: string[] = [];
  for (const line of lines) {
    let current = "";
    for (const part of line.split(/(?<=, )/)) {
      if (current !== "" && current.length + part.length > maxChars) {
        out.push(current.trimEnd());
        current = `  ${part}`;
      } else current += part;
    }
    out.push(current);
  }
  return out;
}
