/**
 * A reload is a journaled input: `replay --verify` reproduces a run with one (and notices an edited
 * spec in it), a journal segment that starts after it replays alone from the spec its checkpoint
 * carries, and a version-3 journal (before reloads) still reads and replays.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { FileJournal, JOURNAL_VERSION, MemoryJournal, readJournal } from "../../src/runtime/journal.ts";
import { replayJournal } from "../../src/runtime/replay.ts";
import { listSegments } from "../../src/runtime/segment-file.ts";
import type { NodeSpec } from "../../src/runtime/spec.ts";
import { tempDirForTest } from "../support/temp.ts";
import { base, harness, inst, S, specOf } from "./reload-support.ts";

describe("the reload is journaled and replays", () => {
  const run = (journal: MemoryJournal | FileJournal) => {
    const h = harness(base(), journal);
    h.reload(
      specOf(
        inst("VI_1", 1, 50, ["198.18.1.1/32", "198.18.1.3/32"]),
        inst("VI_2", 2, 200, ["198.18.2.1/32"]),
        inst("VI_3", 3, 150, ["198.18.3.1/32"]),
      ),
    );
    h.peerUntil(30 * S);
    const states = ["VI_1", "VI_2", "VI_3"].map((n) => h.node.state(n));
    h.node.shutdown();
    return { ...h, states };
  };

  test("replay --verify of a journal with a reload reproduces every output", () => {
    const journal = new MemoryJournal();
    const h = run(journal);
    // VI_1 at 50 kept MASTER (no peer on VRID 1); VI_2 at 200 preempted the peer at 150; VI_3 started.
    expect(h.states).toEqual(["MASTER", "MASTER", "MASTER"]);
    const parsed = readJournal(journal.text());
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.lines.some((l) => l.t === "in" && l.ev.input.kind === "reload")).toBe(true);
    const r = replayJournal(parsed.header, parsed.lines);
    expect(r.mismatches).toEqual([]);
    expect(r.timerFaults).toEqual([]);
    expect(r.outputHash).toBe(h.node.outputHash());
  });

  test("the reload's spec is verified: an edited priority in it is a mismatch", () => {
    const journal = new MemoryJournal();
    run(journal);
    const text = journal
      .text()
      .split("\n")
      .map((l) => (l.includes('"kind":"reload"') ? l.replace('"basePriority":200', '"basePriority":201') : l))
      .join("\n");
    const parsed = readJournal(text);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(replayJournal(parsed.header, parsed.lines).mismatches.length).toBeGreaterThan(0);
  });

  test("a version-3 journal (before reloads existed) still reads and replays", () => {
    const journal = new MemoryJournal();
    const h = harness(base(), journal);
    h.peerUntil(15 * S);
    const [head = "", ...rest] = journal.lines;
    expect(head).toContain(`"version":${JOURNAL_VERSION}`);
    const parsed = readJournal(
      [head.replace(`"version":${JOURNAL_VERSION}`, '"version":3'), ...rest].join("\n"),
    );
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.header.version).toBe(3);
    const r = replayJournal(parsed.header, parsed.lines);
    expect(r.mismatches).toEqual([]);
    expect(r.outputHash).toBe(h.node.outputHash());
  });

  test("a segment that starts after the reload replays alone, from the spec in its checkpoint", () => {
    const dir = tempDirForTest("vigil-reload-");
    const path = join(dir, "journal.jsonl");
    const journal = new FileJournal(path, { maxSegmentBytes: 1500, sync: false });
    const h = run(journal);
    h.node.close();
    const segs = listSegments(path);
    expect(segs.length).toBeGreaterThan(2);
    const reloadSeq = h.outs.find((o) => o.kind === "reload")?.seq ?? 0;
    let replayed = 0;
    for (const seg of segs) {
      const text = readFileSync(join(dir, `journal.${String(seg).padStart(6, "0")}.jsonl`), "utf8");
      const parsed = readJournal(text);
      if (!parsed.ok) throw new Error(parsed.error.message);
      const r = replayJournal(parsed.header, parsed.lines, {
        checkpoint: parsed.checkpoint,
        lineNos: parsed.lineNos,
      });
      expect(r.mismatches, `segment ${seg}`).toEqual([]);
      expect(r.timerFaults, `segment ${seg}`).toEqual([]);
      if ((parsed.checkpoint?.seq ?? 0) > reloadSeq) {
        // The header still has the first spec; the checkpoint has the reloaded one.
        expect((parsed.header.spec as NodeSpec).instances).toHaveLength(2);
        expect((parsed.checkpoint?.spec as NodeSpec | undefined)?.instances).toHaveLength(3);
        replayed++;
      }
    }
    expect(replayed).toBeGreaterThan(0);
  });
});
