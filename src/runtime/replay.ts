/**
 * Replay: applies a journal's recorded inputs to a node built from the spec in the journal header
 * (fresh, or restored from the segment's checkpoint with `Node.restore`), timers driven by the
 * journal, not the clock, and compares every output with the outputs recorded in the journal. It
 * also checks time: each recorded timer event must match a pending timer of that actor and id whose
 * due time is not after the event's time. Returns the timeline (state changes and commands per event)
 * and the first differences, each with the journal's physical line number. Effect actors do not run
 * in replay: the recorded `effect` inputs (outcomes of the original run's ports) are applied instead.
 * Not pure (runs a Node), deterministic.
 */
import { VirtualClock } from "./clock.ts";
import type { Event } from "./input.ts";
import type { CheckpointValue, JournalHeader, JournalLine } from "./journal.ts";
import { MemoryJournal } from "./journal.ts";
import { Node, type NodeOptions, type Output } from "./node.ts";
import { describeOutput } from "./output-text.ts";
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
  /** Physical line of the event's `in` line (0 when unknown). */
  readonly line: number;
  readonly expected: string;
  readonly actual: string;
}

/** A recorded timer event that no pending timer explains. */
export interface TimerFault {
  readonly seq: number;
  readonly line: number;
  readonly message: string;
}

export interface ReplayResult {
  readonly timeline: readonly TimelineEntry[];
  readonly mismatches: readonly Mismatch[];
  readonly timerFaults: readonly TimerFault[];
  readonly outputHash: string;
  /** The journal the replay wrote; identical to the input when the run reproduces. */
  readonly journal: MemoryJournal;
}

export interface ReplayFrom {
  /** The checkpoint the segment starts from (absent: a fresh node). */
  readonly checkpoint?: CheckpointValue | undefined;
  /** Physical line number of each entry of `lines`. */
  readonly lineNos?: readonly number[];
}

type Restore = (spec: NodeSpec, cp: CheckpointValue, opts: NodeOptions) => Node;

/** A segment that starts from a checkpoint this build cannot restore. */
export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
}

export const replayJournal = (
  header: JournalHeader,
  lines: readonly JournalLine[],
  from: ReplayFrom = {},
): ReplayResult => {
  const clock = new VirtualClock();
  const journal = new MemoryJournal();
  const opts: NodeOptions = {
    clock,
    ports: nullPorts(),
    journal,
    timerSource: "journal",
    configHash: header.configHash,
    vigilVersion: header.vigil,
  };
  const spec = header.spec as NodeSpec;
  const cp = from.checkpoint;
  let node: Node;
  if (cp === undefined) node = new Node(spec, opts);
  else {
    const restore = (Node as unknown as { restore?: Restore }).restore;
    if (restore === undefined)
      throw new CheckpointError("this build cannot restore a node from a checkpoint");
    clock.advanceTo(cp.atUs);
    try {
      node = restore.call(Node, spec, cp, opts);
    } catch (e) {
      throw new CheckpointError(
        `checkpoint (version ${cp.version}) cannot be restored: ${(e as Error).message}`,
      );
    }
  }
  const recorded = new Map<number, string>();
  const inLineNo = new Map<number, number>();
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k] as JournalLine;
    if (l.t === "out") recorded.set(l.seq, JSON.stringify(l.out));
    else if (l.t === "in") inLineNo.set(l.ev.seq, from.lineNos?.[k] ?? 0);
  }
  const timeline: TimelineEntry[] = [];
  const mismatches: Mismatch[] = [];
  const timerFaults: TimerFault[] = [];
  for (const l of lines) {
    if (l.t !== "in") continue;
    const line = inLineNo.get(l.ev.seq) ?? 0;
    clock.advanceTo(Math.max(clock.nowUs(), l.ev.atUs));
    const i = l.ev.input;
    if (i.kind === "timer") {
      const t = node.pendingTimer(i.actor, i.id);
      const at = `timer ${i.id} of ${i.actor} at ${l.ev.atUs} µs`;
      if (t === undefined)
        timerFaults.push({ seq: l.ev.seq, line, message: `${at}: no such timer was pending` });
      else if (t.dueUs > l.ev.atUs)
        timerFaults.push({ seq: l.ev.seq, line, message: `${at}: fired before its due time ${t.dueUs} µs` });
    }
    const outputs = node.applyRecorded(l.ev);
    timeline.push({ seq: l.ev.seq, atUs: l.ev.atUs, input: l.ev.input, outputs });
    const actual = outputs.length > 0 ? JSON.stringify(outputs) : undefined;
    const expected = recorded.get(l.ev.seq);
    if (actual !== expected)
      mismatches.push({
        seq: l.ev.seq,
        line,
        expected: expected ?? "(nothing)",
        actual: actual ?? "(nothing)",
      });
  }
  return { timeline, mismatches, timerFaults, outputHash: node.outputHash(), journal };
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
                  : i.kind === "route"
                    ? `${i.entry} ${i.text} deleted`
                    : i.kind === "reload"
                      ? `reload (configuration ${i.configHash.slice(0, 12)})`
                      : i.kind === "check"
                        ? i.event.type === "START"
                          ? `check ${i.vs} start`
                          : `check ${i.vs} rs${i.event.rs} checker ${i.event.checker} #${i.event.seq} ${i.event.ok ? "ok" : "failed"}`
                        : `effect ${i.actor} #${i.cmd} ${i.op}${i.instance === undefined ? "" : ` ${i.instance}`} ${i.ok ? "ok" : `failed ${i.code ?? ""} ${i.detail}`}`;
    out.push(`${fmtUs(e.atUs)} #${e.seq} ${what}`);
    for (const o of e.outputs) out.push(`    ${formatOutput(o)}`);
  }
  return out;
};

/** An output as `vigil replay` prints it: state changes and GARPs in its own wording, the rest as the status server does. */
export const formatOutput = (o: Output): string => {
  switch (o.type) {
    case "state":
      return `${o.actor}: ${o.from} → ${o.to}`;
    case "garp":
      return `garp ${o.instance} ×${o.repeat} (${o.reason}) ${o.vips.join(" ")}`;
    default:
      return describeOutput(o);
  }
};
