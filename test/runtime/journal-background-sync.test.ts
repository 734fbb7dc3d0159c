/**
 * A state change's journal batch is written before `append` returns, but its `fdatasync` runs in the
 * background (never blocking the event loop, so effects never wait for the disk); syncs requested
 * while one is in flight coalesce into one more; a failed background sync degrades the journal as a
 * failed write does. The asynchronous sync is injected and completed by the test: no real time.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { FileJournal } from "../../src/runtime/journal.ts";
import { tempDirForTest } from "../support/temp.ts";

const header = JSON.stringify({
  t: "header",
  vigil: "test",
  configHash: "c0ffee",
  spec: { instances: [], groups: [], trackers: [] },
});
const stateOut = (seq: number, to: string) =>
  JSON.stringify({ t: "out", seq, out: [{ type: "state", actor: "instance:VI_1", from: "BACKUP", to }] });

/** An injected async fdatasync: records each request and completes it only when told. */
const scriptedSync = () => {
  const pending: Array<{ fd: number; done: (e: Error | null) => void }> = [];
  return {
    pending,
    sync: (fd: number, done: (e: Error | null) => void) => {
      pending.push({ fd, done });
    },
  };
};

describe("journal durability off the event loop", () => {
  test("a state change is on disk when append returns; its fdatasync is asked for, not awaited", () => {
    const path = join(tempDirForTest("vigil-bgsync-"), "j.jsonl");
    const s = scriptedSync();
    const j = new FileJournal(path, { clock: new VirtualClock(), fdatasync: s.sync });
    j.append(header);
    j.append(stateOut(1, "MASTER"));
    // written (page cache) before append returned ...
    expect(readFileSync(path, "utf8")).toContain('"to":"MASTER"');
    // ... and exactly one background sync requested, still in flight: append did not wait for it
    expect(s.pending).toHaveLength(1);
    // more state changes while it runs coalesce into ONE further sync, started when it completes
    j.append(stateOut(2, "BACKUP"));
    j.append(stateOut(3, "MASTER"));
    expect(s.pending).toHaveLength(1);
    s.pending.shift()?.done(null);
    expect(s.pending).toHaveLength(1);
    s.pending.shift()?.done(null);
    expect(s.pending).toHaveLength(0);
    expect(j.degraded).toBe(false);
    j.close();
  });

  test("a failed background sync degrades the journal (reported once), VRRP goes on", () => {
    const path = join(tempDirForTest("vigil-bgsync-"), "j.jsonl");
    const s = scriptedSync();
    const problems: string[] = [];
    const j = new FileJournal(path, {
      clock: new VirtualClock(),
      fdatasync: s.sync,
      onProblem: (l) => problems.push(l),
    });
    j.append(header);
    j.append(stateOut(1, "MASTER"));
    s.pending.shift()?.done(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    expect(j.degraded).not.toBe(false);
    expect(problems).toHaveLength(1);
    j.append(stateOut(2, "BACKUP"));
    expect(s.pending).toHaveLength(0);
    j.close();
  });

  test("a failed sync of a segment already rotated away does not degrade the next one", () => {
    const path = join(tempDirForTest("vigil-bgsync-"), "j.jsonl");
    const s = scriptedSync();
    const j = new FileJournal(path, {
      clock: new VirtualClock(),
      fdatasync: s.sync,
      maxSegmentBytes: 1_000_000,
    });
    j.append(header);
    j.append(stateOut(1, "MASTER"));
    j.startSegment({ seq: 1, atUs: 0, state: { n: 1 } });
    // the old segment's fd is closed (its number may be the new segment's): EBADF is not the new file's
    s.pending
      .shift()
      ?.done(Object.assign(new Error("EBADF: bad file descriptor, fdatasync"), { code: "EBADF" }));
    expect(j.degraded).toBe(false);
    j.append(stateOut(2, "BACKUP"));
    expect(s.pending).toHaveLength(1);
    j.close();
  });

  test("sync: false asks for no sync at all", () => {
    const path = join(tempDirForTest("vigil-bgsync-"), "j.jsonl");
    const s = scriptedSync();
    const j = new FileJournal(path, { clock: new VirtualClock(), fdatasync: s.sync, sync: false });
    j.append(header);
    j.append(stateOut(1, "MASTER"));
    expect(s.pending).toHaveLength(0);
    j.close();
  });
});
