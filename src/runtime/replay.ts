/**
 * Replay: applies a journal's recorded inputs to fresh machines (a Node built from the spec in the
 * journal header, timers driven by the journal, not the clock) and compares every output with the
 * outputs recorded in the journal. Returns the timeline (state changes and commands per event) and
 * the first differences. Effect actors do not run in replay: the recorded `effect` inputs (outcomes
 * of the original run's ports) are applied instead. Not pure (runs a Node), deterministic.
 */
import { VirtualClock } from "./clock.ts";
import type { Event } from "./input.ts";
import type { JournalHeader, JournalLine } from "./journal.ts";
import { MemoryJournal } from "./journal.ts";
import { Node, type Output } from "./node.ts";
import { nullPorts } from "./ports.ts";
import type { NodeSpec } from "./spec.ts";

export interface TimelineEntry {
  readonly seq: number;
  readonly atUs: number;
  readonly input: Event["input"];
  readonly outputs: readonly Output[];
}

export interface Mismatch {
  readonly seq: number;
  readonly expected: string;
  readonly actual: string;
}

export interface ReplayResult {
  readonly timeline: readonly TimelineEntry[];
  readonly mismatches: readonly Mismatch[];
  readonly outputHash: string;
  /** The journal the replay wrote; identical to the input when the run reproduces. */
  readonly journal: MemoryJournal;
}

export const replayJournal = (header: JournalHeader, lines: readonly JournalLine[]): ReplayResult => {
  const clock = new VirtualClock();
  const journal = new MemoryJournal();
  const node = new Node(header.spec as NodeSpec, {
    clock,
    ports: nullPorts(),
    journal,
    timerSource: "journal",
    configHash: header.configHash,
    vigilVersion: header.vigil,
  });
  const recorded = new Map<number, string>();
  for (const l of lines) if (l.t === "out") recorded.set(l.seq, JSON.stringify(l.out));
  const timeline: TimelineEntry[] = [];
  const mismatches: Mismatch[] = [];
  for (const l of lines) {
    if (l.t !== "in") continue;
    clock.advanceTo(l.ev.atUs);
    const outputs = node.applyRecorded(l.ev);
    timeline.push({ seq: l.ev.seq, atUs: l.ev.atUs, input: l.ev.input, outputs });
    const actual = outputs.length > 0 ? JSON.stringify(outputs) : undefined;
    const expected = recorded.get(l.ev.seq);
    if (actual !== expected)
      mismatches.push({ seq: l.ev.seq, expected: expected ?? "(nothing)", actual: actual ?? "(nothing)" });
  }
  return { timeline, mismatches, outputHash: node.outputHash(), journal };
};

const fmtUs = (us: number): string => `${(us / 1e6).toFixed(6)}s`;

/** One line per input and per output, for `vigil replay`. */
export const formatTimeline = (timeline: readonly TimelineEntry[]): string[] => {
  const out: string[] = [];
  for (const e of timeline) {
    const i = e.input;
    const what =
      i.kind === "rx"
        ? `rx ${i.src} → ${i.dst} ttl ${i.ttl} ${i.ifname} (${i.hex.length / 2} bytes)`
        : i.kind === "timer"
          ? `timer ${i.actor} ${i.id}`
          : i.kind === "probe"
            ? `probe ${i.tracker} ${i.ok ? "ok" : "failed"}`
            : i.kind === "link"
              ? `link ${i.ifname} ${i.up ? "up" : "down"}`
              : i.kind === "admin"
                ? `admin ${i.command}`
                : i.kind === "address"
                  ? `address ${i.address}/${i.prefixLength} ${i.present ? "added to" : "removed from"} ${i.ifname}`
                  : `effect ${i.actor} #${i.cmd} ${i.op}${i.instance === undefined ? "" : ` ${i.instance}`} ${i.ok ? "ok" : `failed ${i.code ?? ""} ${i.detail}`}`;
    out.push(`${fmtUs(e.atUs)} #${e.seq} ${what}`);
    for (const o of e.outputs) out.push(`    ${formatOutput(o)}`);
  }
  return out;
};

export const formatOutput = (o: Output): string => {
  switch (o.type) {
    case "state":
      return `${o.actor}: ${o.from} → ${o.to}`;
    case "log":
      return `log ${o.line}`;
    case "sendAdvert":
      return `advert ${o.instance} priority ${o.priority}`;
    case "addVips":
    case "removeVips":
      return `${o.type} ${o.instance} ${o.vips.join(" ")}`;
    case "garp":
      return `garp ${o.instance} ×${o.repeat} (${o.reason}) ${o.vips.join(" ")}`;
    case "notify":
      return `notify ${o.scope} ${o.name} ${o.state} ${o.priority}`;
    case "fifo":
      return `fifo ${o.line}`;
    default:
      return JSON.stringify(o);
  }
};
