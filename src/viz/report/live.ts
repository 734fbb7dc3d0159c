/**
 * The live run view of a running daemon, for the dashboard (`GET /` of the status server): built
 * from `/status` documents (the instances, polled) and the `/events` stream (state changes, VIP
 * commands, adverts' priorities, tracker changes, admin commands, reloads), in the daemon's clock
 * (µs, as in the journal). Transition counts on the state charts are those seen since the page
 * opened; the lanes table shows the daemon's own totals. Pure (state in the returned closure only).
 *
 * `liveModel` is sent to the browser as its source text (page.ts): it must stay self-contained —
 * no imports used at run time, no reference to anything outside its body (types are erased).
 */
import type { EventSummary } from "../../daemon/status-model.ts";
import type { Lane, Marker, RunView, StateChartModel, StateSpan, ViewEvent, VipSpan } from "./model.ts";

/** The parts of a `/status` document the dashboard reads (status-model.ts `StatusDocument`). */
export interface LiveStatus {
  readonly daemon: { readonly version: string; readonly pid: number; readonly configFile: string };
  readonly instances: readonly {
    readonly name: string;
    readonly interface: string;
    readonly vrid: number;
    readonly state: string;
    readonly priority: { readonly effective: number; readonly base: number };
    readonly masterAddress: string | null;
    readonly masterPriority: number | null;
    readonly vips: readonly string[];
    readonly lastTransition: { readonly at: string; readonly atUs: number } | null;
    readonly transitions: number;
    readonly stats: {
      readonly advert_rcvd?: number;
      readonly advert_sent?: number;
      readonly become_master?: number;
      readonly release_master?: number;
    };
  }[];
}

/** One `/events` item, as the status server sends it. */
export type LiveEvent = EventSummary;

export interface LiveModel {
  /** Takes a `/status` document (the first one creates the lanes). */
  status(doc: LiveStatus): void;
  /** Takes one `/events` item. */
  apply(ev: LiveEvent): void;
  view(): RunView;
}

export function liveModel(chart: StateChartModel, maxEvents: number): LiveModel {
  interface LiveLane {
    readonly name: string;
    state: string;
    sinceUs: number | undefined;
    readonly spans: StateSpan[];
    readonly vipSince: Map<string, number>;
    readonly vipSpans: VipSpan[];
    readonly priority: { atUs: number; priority: number }[];
    readonly counts: Map<string, number>;
    facts: Record<string, string>;
    /** A `/status` document has described it (its VIPs and state are known). */
    described: boolean;
  }
  const lanes = new Map<string, LiveLane>();
  const markers: Marker[] = [];
  const events: ViewEvent[] = [];
  let startUs: number | undefined;
  let nowUs = 0;
  let title = "vigil dashboard";
  let omitted = 0;

  const see = (atUs: number): void => {
    if (startUs === undefined || atUs < startUs) startUs = atUs;
    if (atUs > nowUs) nowUs = atUs;
  };
  const lane = (name: string, state: string, sinceUs: number | undefined): LiveLane => {
    let l = lanes.get(name);
    if (l === undefined) {
      l = {
        name,
        state,
        sinceUs,
        spans: [],
        vipSince: new Map(),
        vipSpans: [],
        priority: [],
        counts: new Map(),
        facts: {},
        described: false,
      };
      lanes.set(name, l);
    }
    return l;
  };
  const enter = (l: LiveLane, atUs: number, state: string, counted: boolean): void => {
    if (l.state === state) return;
    const from = l.sinceUs ?? startUs ?? atUs;
    if (atUs > from) l.spans.push({ fromUs: from, toUs: atUs, state: l.state });
    if (counted) l.counts.set(`${l.state}>${state}`, (l.counts.get(`${l.state}>${state}`) ?? 0) + 1);
    l.state = state;
    l.sinceUs = atUs;
  };
  const vip = (l: LiveLane, atUs: number, address: string, present: boolean): void => {
    const since = l.vipSince.get(address);
    if (present && since === undefined) l.vipSince.set(address, atUs);
    else if (!present && since !== undefined) {
      l.vipSince.delete(address);
      if (atUs > since) l.vipSpans.push({ fromUs: since, toUs: atUs, vip: address });
    }
  };
  const priority = (l: LiveLane, atUs: number, p: number): void => {
    if (l.priority[l.priority.length - 1]?.priority !== p) l.priority.push({ atUs, priority: p });
  };
  const log = (e: ViewEvent): void => {
    events.push(e);
    if (events.length > maxEvents) {
      omitted += events.length - maxEvents;
      events.splice(0, events.length - maxEvents);
    }
  };

  const status = (doc: LiveStatus): void => {
    title = `vigil dashboard: ${doc.daemon.configFile} (pid ${doc.daemon.pid}, vigil ${doc.daemon.version})`;
    for (const i of doc.instances) {
      const since = i.lastTransition?.atUs;
      if (since !== undefined) see(since);
      const l = lane(i.name, i.state, since);
      if (!l.described) {
        // the first document about a lane the stream may have created first (from an advert)
        l.described = true;
        if (l.state === "UNKNOWN") {
          l.state = i.state;
          l.sinceUs = since ?? l.sinceUs;
        }
        if (i.state === "MASTER")
          for (const v of i.vips) if (!l.vipSince.has(v)) vip(l, since ?? startUs ?? 0, v, true);
      }
      // a state change the stream did not show (the page opened later, or events were dropped)
      if (l.state !== i.state) enter(l, Math.max(nowUs, since ?? 0), i.state, false);
      priority(l, nowUs, i.priority.effective);
      l.facts = {
        priority: `${i.priority.effective} (base ${i.priority.base})`,
        master: i.masterAddress === null ? "-" : `${i.masterAddress} (priority ${i.masterPriority ?? "?"})`,
        interface: `${i.interface} vrid ${i.vrid}`,
        transitions: String(i.transitions),
        "last transition": i.lastTransition === null ? "-" : i.lastTransition.at,
        "adverts rcvd/sent": `${i.stats.advert_rcvd ?? 0}/${i.stats.advert_sent ?? 0}`,
        "became master": String(i.stats.become_master ?? 0),
        "released master": String(i.stats.release_master ?? 0),
      };
    }
  };

  const apply = (ev: LiveEvent): void => {
    see(ev.atUs);
    const at = ev.atUs;
    const kind = ev.input.kind;
    if (kind === "link" || kind === "admin" || kind === "reload") {
      markers.push({ atUs: at, node: "", kind, text: `${kind} ${ev.input.text}` });
      log({ atUs: at, node: "", kind, text: ev.input.text });
    }
    for (const o of ev.outputs) {
      const words = o.split(" ");
      const [what = "", name = ""] = words;
      if (what.startsWith("instance:") && words.length === 4 && words[2] === "->") {
        const l = lane(what.slice("instance:".length), name, at);
        enter(l, at, name, false); // the change's "from" is what the machine was in
        enter(l, at, words[3] as string, true);
        log({ atUs: at, node: "", kind: "state", text: `${l.name} ${name} -> ${words[3]}` });
      } else if (what === "addVips" || what === "removeVips") {
        // instance "" (two spaces in the line): the static addresses, with no lane of their own
        if (name !== "") {
          const l = lane(name, "UNKNOWN", at);
          for (const v of words.slice(2)) vip(l, at, v, what === "addVips");
        }
        log({
          atUs: at,
          node: "",
          kind: "vip",
          text: `${name === "" ? "static" : name} ${what === "addVips" ? "+" : "-"} ${words.slice(2).join(" ")}`,
        });
      } else if (what === "advert" && words[2] === "priority") {
        priority(lane(name, "UNKNOWN", at), at, Number(words[3]));
      } else if (what === "trackerChanged") {
        markers.push({ atUs: at, node: "", kind: "probe", text: `tracker ${name} ${words[2] ?? ""}` });
        log({ atUs: at, node: "", kind: "probe", text: `tracker ${name} ${words[2] ?? ""}` });
      } else if (what === "log") log({ atUs: at, node: "", kind: "log", text: o.slice(4) });
    }
  };

  const view = (): RunView => {
    const start = startUs ?? 0;
    const end = Math.max(nowUs, start);
    const built: Lane[] = [...lanes.values()].map((l) => {
      const since = l.sinceUs ?? start;
      const spans = end > since ? [...l.spans, { fromUs: since, toUs: end, state: l.state }] : [...l.spans];
      const vips = [...l.vipSpans];
      for (const [address, from] of l.vipSince)
        if (end > from) vips.push({ fromUs: from, toUs: end, vip: address });
      return {
        id: l.name,
        node: "",
        instance: l.name,
        states: spans,
        vips,
        priority: [...l.priority],
        state: l.state,
        transitions: [...l.counts].map(([k, count]) => {
          const [from = "", to = ""] = k.split(">");
          return { from, to, count };
        }),
        facts: l.facts,
      };
    });
    return {
      mode: "live",
      title,
      summary: [`${built.length} instance(s)`, `daemon clock ${nowUs} µs`],
      startUs: start,
      endUs: end,
      lanes: built,
      markers: [...markers],
      splitBrain: [],
      failovers: [],
      verdicts: [],
      events: [...events],
      eventsOmitted: omitted,
      chart,
    };
  };
  return { status, apply, view };
}
