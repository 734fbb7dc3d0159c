/**
 * Checkpoint / restore (issue 9 item 3): a node restored from a checkpoint taken at a random cut point
 * of a random run continues exactly as the uninterrupted run — the same journal lines (`in` and `out`,
 * seq and times), the same output hash from that point, the same effect-port calls, the same pending
 * timers at the same due times, and the same final checkpoint. Random small specs (1–3 instances,
 * v2/v3, preempt delay, GARP delay/refresh, script/file/link trackers, sync groups) and random event
 * sequences (adverts of random priorities, clock advances firing timers, probe results, file values,
 * link changes, failed effect outcomes, VIP deletions, shutdown). Also the bad inputs of `restore`.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { type Checkpoint, CheckpointError } from "../../src/runtime/checkpoint.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { MemoryJournal } from "../../src/runtime/journal.ts";
import { Node } from "../../src/runtime/node.ts";
import { RecordingPorts } from "../../src/runtime/ports.ts";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";
import { make, play, runArb, S, type Step, VIP } from "../support/node-runs.ts";

const sha = (lines: readonly string[]): string => {
  const h = createHash("sha256");
  for (const l of lines) h.update(l);
  return h.digest("hex");
};

describe("checkpoint and restore", () => {
  test("a restored node continues byte-identically to the uninterrupted run", () => {
    fc.assert(
      fc.property(runArb, ({ spec, steps, cut }) => {
        const all: Step[] = [{ input: { kind: "admin", command: "start" } }, ...steps];
        const at = cut + 1;
        const a = make(spec, new VirtualClock());
        play(a, all.slice(0, at));
        const linesAtCut = a.journal.lines.length;
        const recordsAtCut = a.ports.records.length;
        const sentAtCut = a.sent.length;
        // Through JSON, as a journal segment holds it.
        const cp = JSON.parse(JSON.stringify(a.node.checkpoint()));
        const timersAtCut = a.node.timers();
        play(a, all.slice(at));

        const b = make(spec, new VirtualClock(cp.atUs), cp);
        expect(b.node.timers()).toEqual(timersAtCut);
        expect(b.node.seq).toBe(cp.seq);
        play(b, all.slice(at));

        expect(b.journal.lines).toEqual(a.journal.lines.slice(linesAtCut));
        const outs = a.journal.lines.slice(linesAtCut).filter((l) => l.startsWith('{"t":"out"'));
        expect(b.node.outputHash()).toBe(sha(outs));
        expect(b.ports.records).toEqual(a.ports.records.slice(recordsAtCut));
        expect(b.sent).toEqual(a.sent.slice(sentAtCut));
        expect(b.node.timers()).toEqual(a.node.timers());
        expect(b.node.checkpoint()).toEqual(a.node.checkpoint());
      }),
      { numRuns: 300 },
    );
  });

  test("pending timers of a restored node fire at their original times, also with ties", () => {
    // Two instances whose GARP-delay and advert timers are due at the same instants.
    const spec: NodeSpec = {
      instances: [1, 2].map((i) => ({
        params: instanceDefaults({
          name: `VI_${i}`,
          vrid: i,
          ownIp: "198.18.0.1",
          vips: [VIP(i)],
          basePriority: 255,
          wantMaster: true,
          garpMasterDelayUs: 1 * S,
        }),
        tracking: [],
        unicastPeers: [],
      })),
      groups: [],
      trackers: [],
    };
    const a = make(spec, new VirtualClock());
    a.node.start();
    a.clock.advanceTo(500_000);
    const cp = a.node.checkpoint();
    expect(a.node.timers().map((t) => t.key)).toEqual([
      "instance:VI_1 advert",
      "instance:VI_1 garpDelay",
      "instance:VI_2 advert",
      "instance:VI_2 garpDelay",
    ]);
    const n = a.journal.lines.length;
    a.clock.advanceTo(5 * S);
    const b = make(spec, new VirtualClock(cp.atUs), cp);
    b.clock.advanceTo(5 * S);
    expect(b.journal.lines).toEqual(a.journal.lines.slice(n));
    const timerLines = b.journal.lines.filter((l) => l.includes('"kind":"timer"'));
    expect(timerLines.length).toBeGreaterThan(8);
    expect(timerLines[0]).toContain('"atUs":1000000');
  });
});

describe("restore refuses a checkpoint it cannot continue from", () => {
  const spec: NodeSpec = {
    instances: [
      {
        params: instanceDefaults({ name: "VI_1", vrid: 1, ownIp: "198.18.0.1" }),
        tracking: [],
        unicastPeers: [],
      },
    ],
    groups: [],
    trackers: [],
  };
  const good = () => {
    const r = make(spec, new VirtualClock());
    r.node.start();
    return JSON.parse(JSON.stringify(r.node.checkpoint()));
  };
  const restore = (cp: unknown) => () => make(spec, new VirtualClock(), cp);

  test("not a checkpoint, another version, a damaged state", () => {
    expect(restore({ format: "something" })).toThrow(CheckpointError);
    expect(restore({ ...good(), version: 99 })).toThrow(/checkpoint version 99 is not supported/);
    expect(
      restore({ ...good(), state: { ...good().state, timers: { armSeq: 1, timers: [{ actor: 1 }] } } }),
    ).toThrow(/checkpoint state is invalid/);
  });
  test("a checkpoint of another spec", () => {
    const [first] = spec.instances;
    if (first === undefined) throw new Error("no instance");
    const other: NodeSpec = { ...spec, instances: [{ ...first, params: { ...first.params, name: "VI_X" } }] };
    const r = make(other, new VirtualClock());
    r.node.start();
    const cp = JSON.parse(JSON.stringify(r.node.checkpoint()));
    expect(restore(cp)).toThrow(/actors the spec does not: instance:VI_X/);
  });
  test("a timer for an actor that does not exist", () => {
    const cp = good();
    cp.state.timers.timers.push({
      actor: "instance:NOPE",
      id: "advert",
      event: { type: "ADVERT_TIMER" },
      dueUs: 1,
      armSeq: 99,
    });
    expect(restore(cp)).toThrow(/timer for unknown actor instance:NOPE/);
  });
});

describe("the event loop's rotation hook", () => {
  test("startSegment gets the state before the event, ahead of its `in` line, and replays from there", () => {
    const spec: NodeSpec = {
      instances: [
        {
          params: instanceDefaults({ name: "VI_1", vrid: 1, ownIp: "198.18.0.1", vips: [VIP(0)] }),
          tracking: [],
          unicastPeers: [],
        },
      ],
      groups: [],
      trackers: [],
    };
    const lines: string[] = [];
    const segments: Array<{ at: number; cp: Checkpoint }> = [];
    const journal = {
      append: (l: string) => lines.push(l),
      close: () => {},
      shouldRotate: () => lines.filter((l) => l.startsWith('{"t":"in"')).length === 3,
      startSegment: (cp: unknown) => segments.push({ at: lines.length, cp: cp as Checkpoint }),
    };
    const clock = new VirtualClock();
    const node = new Node(spec, { clock, ports: new RecordingPorts(() => clock.nowUs()), journal });
    node.start();
    clock.advanceTo(20 * S);
    expect(segments.length).toBe(1);
    const [seg] = segments;
    if (seg === undefined) throw new Error("no segment");
    expect(seg.cp.seq).toBe(3);
    expect(lines[seg.at]).toMatch(/^\{"t":"in","ev":\{"seq":4,/);
    // Replaying the rest from the checkpoint alone gives the same out lines.
    const rc = new VirtualClock(seg.cp.atUs);
    const replay = new MemoryJournal();
    const r = Node.restore(spec, JSON.parse(JSON.stringify(seg.cp)), {
      clock: rc,
      ports: new RecordingPorts(() => rc.nowUs()),
      journal: replay,
      timerSource: "journal",
    });
    for (const l of lines.slice(seg.at)) {
      const parsed = JSON.parse(l);
      if (parsed.t !== "in") continue;
      rc.advanceTo(parsed.ev.atUs);
      r.applyRecorded(parsed.ev);
    }
    expect(replay.lines).toEqual(lines.slice(seg.at));
  });
});
