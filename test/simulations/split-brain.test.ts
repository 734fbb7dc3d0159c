/**
 * The split-brain scenario (simulations/split-brain.scenario.ts): exact takeover times on the
 * virtual clock, the seed as the only source of variation, and every node's journal replaying to
 * the same outputs.
 */
import { describe, expect, test } from "vitest";
import { runSplitBrain } from "../../simulations/split-brain.scenario.ts";
import { parseJournal } from "../../src/runtime/journal.ts";
import { replayJournal } from "../../src/runtime/replay.ts";

describe("split-brain scenario", () => {
  test("partition, heal and shutdown happen at keepalived's times", () => {
    const r = runSplitBrain({ seed: 1 });
    expect(r.timeline).toEqual([
      "0 lb1 INIT -> BACKUP",
      "0 lb2 INIT -> BACKUP",
      // lb1 (150): 3 s + (256 - 150) / 256 s
      "3414062 lb1 BACKUP -> MASTER",
      "10000000 -- partition lb1 | lb2",
      // lb2 (100): lb1's last advert before the partition (9,414,062 µs) + 3,609,375 µs
      "13023437 lb2 BACKUP -> MASTER",
      "20000000 -- heal",
      // lb2's next advert reaches lb1, which answers at once with priority 150; lb2 yields
      "20023437 lb2 MASTER -> BACKUP",
      "30000000 -- shutdown lb1",
      "30000000 lb1 MASTER -> STOP",
      // priority-0 advert: skew only, (256 - 100) / 256 s
      "30609375 lb2 BACKUP -> MASTER",
    ]);
    expect(r.dualMasterUs).toBe(7_000_000);
    expect(r.noMasterUs).toBe(609_375);
  });

  test("the same seed reproduces the run byte for byte; journals replay to the same outputs", () => {
    const a = runSplitBrain({ seed: 7, lossPpm: 300_000 });
    const b = runSplitBrain({ seed: 7, lossPpm: 300_000 });
    expect(b.hash).toBe(a.hash);
    expect(b.journals).toEqual(a.journals);
    for (const [name, text] of Object.entries(a.journals)) {
      const parsed = parseJournal(text);
      if (!parsed.ok) throw new Error(`${name}: ${JSON.stringify(parsed)}`);
      const replay = replayJournal(parsed.header, parsed.lines);
      expect(replay.mismatches, name).toEqual([]);
      expect(replay.outputHash, name).toBe(a.outputHashes[name]);
    }
  });

  test("loss changes the run only through the seed", () => {
    const hashes = new Set([1, 2, 3, 4].map((seed) => runSplitBrain({ seed, lossPpm: 500_000 }).hash));
    expect(hashes.size).toBeGreaterThan(1);
    const lossless = new Set([1, 2].map((seed) => runSplitBrain({ seed }).hash));
    expect(lossless.size).toBe(1);
  });
});
