/**
 * The run view of a replayed journal (src/runtime/replay.ts timeline): one node, a lane per
 * instance of the journal's spec (and any instance a reload added), states from the segment's
 * checkpoint (what each instance was in when the segment began) and the replayed state
 * changes, VIP ownership from the add/remove commands, priority from the base priority, the adverts
 * the node sent and its instance notifications (which carry the priority of the moment), markers for the inputs an operator or the host caused (link, tracker results
 * that changed a tracker, admin commands, reloads, addresses removed under the daemon). Adverts
 * received and timers are not in the event log (they are most of a journal) unless they changed
 * something. Pure.
 */
import type { Event } from "../../runtime/input.ts";
import type { CheckpointValue } from "../../runtime/journal.ts";
import { topState } from "../../runtime/machine-driver.ts";
import type { Output } from "../../runtime/node.ts";
import { describeOutput } from "../../runtime/output-text.ts";
import type { TimelineEntry } from "../../runtime/replay.ts";
import type { NodeSpec } from "../../runtime/spec.ts";
import type { Chart } from "../chart.ts";
import {
  capEvents,
  LaneBuilder,
  type Marker,
  type RunView,
  stateChartModel,
  type ViewEvent,
} from "./model.ts";

export interface ReplayViewInput {
  /** The journal's file name (for the title). */
  readonly path: string;
  readonly spec: NodeSpec;
  readonly timeline: readonly TimelineEntry[];
  /** Facts for the summary (verify result, output hash…). */
  readonly summary?: readonly string[];
  /** The checkpoint a segment starts from: the states (and VIPs) held at its start. */
  readonly checkpoint?: CheckpointValue | undefined;
}

/** Each instance's top-level state in a checkpoint, by instance name (read defensively). */
export function checkpointStates(cp: CheckpointValue | undefined): Map<string, string> {
  const out = new Map<string, string>();
  type Saved = { actors?: Record<string, { value?: unknown } | null | undefined> };
  const actors = (cp?.state as Saved | undefined)?.actors ?? {};
  for (const [id, a] of Object.entries(actors)) {
    const value = a?.value;
    if (
      id.startsWith("instance:") &&
      (typeof value === "string" || (typeof value === "object" && value !== null))
    )
      out.set(id.slice("instance:".length), topState(value));
  }
  return out;
}

const inputMarker = (atUs: number, i: Event["input"]): Marker | undefined => {
  switch (i.kind) {
    case "link":
      return { atUs, node: "", kind: "link", text: `link ${i.ifname} ${i.up ? "up" : "down"}` };
    case "admin":
      return { atUs, node: "", kind: "admin", text: `admin ${i.command}` };
    case "reload":
      return { atUs, node: "", kind: "reload", text: `reload (configuration ${i.configHash.slice(0, 12)})` };
    case "address":
      return i.present
        ? undefined
        : {
            atUs,
            node: "",
            kind: "op",
            text: `address ${i.address}/${i.prefixLength} removed from ${i.ifname}`,
          };
    case "route":
      return { atUs, node: "", kind: "op", text: `${i.entry} ${i.text} deleted` };
    default:
      return undefined;
  }
};

const outputEvent = (atUs: number, o: Output): ViewEvent | undefined => {
  switch (o.type) {
    case "state": {
      // instances' changes are "state" (as in the other views); trackers' and groups' by their kind
      const colon = o.actor.indexOf(":");
      const kind = colon < 0 ? o.actor : o.actor.slice(0, colon);
      const name = o.actor.slice(colon + 1);
      return kind === "instance"
        ? { atUs, node: "", kind: "state", text: `${name} ${o.from} -> ${o.to}` }
        : { atUs, node: "", kind, text: `${o.actor} ${o.from} -> ${o.to}` };
    }
    case "addVips":
    case "removeVips":
      return {
        atUs,
        node: "",
        kind: "vip",
        // instance "": the static addresses (no lane of their own)
        text: `${o.instance === "" ? "static" : o.instance} ${o.type === "addVips" ? "+" : "-"} ${o.vips.join(" ")}`,
      };
    case "notify":
      return { atUs, node: "", kind: "notify", text: `notify ${o.scope} ${o.name} ${o.state} ${o.priority}` };
    case "ipvs":
    case "lvsNotify":
      // LVS checkers (src/runtime/checkers.ts): what reached IPVS, and their notify scripts.
      return { atUs, node: "", kind: o.type === "ipvs" ? "ipvs" : "notify", text: describeOutput(o) };
    default:
      return undefined;
  }
};

export function replayView(input: ReplayViewInput, chart: Chart): RunView {
  const lanes = new Map<string, LaneBuilder>();
  const lane = (name: string): LaneBuilder => {
    let l = lanes.get(name);
    if (l === undefined) {
      l = new LaneBuilder("", name);
      lanes.set(name, l);
    }
    return l;
  };
  const t = input.timeline;
  const startUs = input.checkpoint?.atUs ?? t[0]?.atUs ?? 0;
  const endUs = t.at(-1)?.atUs ?? startUs;
  const initial = checkpointStates(input.checkpoint);
  for (const s of input.spec.instances) {
    const l = lane(s.params.name);
    const state = initial.get(s.params.name);
    if (state !== undefined) {
      l.enter(startUs, state, false);
      if (state === "MASTER") for (const v of s.params.vips) l.vip(startUs, v, true);
    }
    l.priority(startUs, s.params.basePriority);
    l.facts["base priority"] = String(s.params.basePriority);
    l.facts.interface = s.params.ifname;
    l.facts.vrid = String(s.params.vrid);
  }
  const markers: Marker[] = [];
  const events: ViewEvent[] = [];
  for (const e of t) {
    const marker = inputMarker(e.atUs, e.input);
    if (marker !== undefined) {
      markers.push(marker);
      events.push({ atUs: e.atUs, node: "", kind: marker.kind, text: marker.text });
    }
    for (const o of e.outputs) {
      const ev = outputEvent(e.atUs, o);
      if (ev !== undefined) events.push(ev);
      if (o.type === "state" && o.actor.startsWith("instance:")) {
        const l = lane(o.actor.slice("instance:".length));
        l.enter(e.atUs, o.from, false); // no-op unless the lane did not know (the first change)
        l.enter(e.atUs, o.to, true);
      } else if ((o.type === "addVips" || o.type === "removeVips") && o.instance !== "") {
        for (const v of o.vips) lane(o.instance).vip(e.atUs, v, o.type === "addVips");
      } else if (o.type === "sendAdvert") lane(o.instance).priority(e.atUs, o.priority);
      else if (o.type === "notify" && o.scope === "INSTANCE") lane(o.name).priority(e.atUs, o.priority);
      else if (o.type === "trackerChanged")
        markers.push({
          atUs: e.atUs,
          node: "",
          kind: "probe",
          text: `tracker ${o.tracker} ${o.ok ? "ok" : "failed"}`,
        });
    }
  }
  const built = [...lanes.values()].map((l) => l.finish(endUs));
  const changes = built.reduce((n, l) => n + l.transitions.reduce((k, c) => k + c.count, 0), 0);
  return {
    mode: "replay",
    title: `vigil replay: ${input.path}`,
    summary: [`${t.length} event(s), ${changes} state change(s)`, ...(input.summary ?? [])],
    startUs,
    endUs,
    lanes: built,
    markers,
    splitBrain: [],
    failovers: [],
    verdicts: [],
    ...capEvents(events),
    chart: stateChartModel(chart),
  };
}
