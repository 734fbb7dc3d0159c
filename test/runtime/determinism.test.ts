/**
 * Determinism and replay: the same inputs twice give byte-identical journals and output hashes; a
 * recorded run replays to the same outputs (`vigil replay --verify`), and a tampered journal fails.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { replayCommand } from "../../src/cli/replay.ts";
import { parseJournal } from "../../src/runtime/journal.ts";
import { replayJournal } from "../../src/runtime/replay.ts";
import { runCase } from "../conformance/runner.ts";
import { tempDirForTest } from "../support/temp.ts";

const caseDir = (name: string) => join(import.meta.dirname, "..", "conformance", "cases", name);
const run = (name: string) => runCase(caseDir(name), false).journal.text();

const cli = async (args: string[]) => {
  let out = "";
  let err = "";
  const code = await replayCommand.run(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
};

describe("determinism", () => {
  test.each(["10-preempt-delay", "27-sync-group-master-together", "30-script-rise-fall"])(
    "%s: two runs give byte-identical journals",
    (name) => {
      const a = run(name);
      const b = run(name);
      expect(a.length).toBeGreaterThan(1000);
      expect(a).toBe(b);
    },
  );
});

describe("replay", () => {
  test.each(["13-master-rx-lower-priority", "21-weight0-fault-from-master", "28-sync-group-fault-all"])(
    "%s: replay reproduces every output and the journal byte for byte",
    (name) => {
      const text = run(name);
      const parsed = parseJournal(text);
      if (!parsed.ok) throw new Error(parsed.error.message);
      const r = replayJournal(parsed.header, parsed.lines);
      expect(r.mismatches).toEqual([]);
      expect(r.journal.text()).toBe(text);
      expect(r.timeline.some((e) => e.input.kind === "timer")).toBe(true);
    },
  );

  test("vigil replay --verify: 0 on a recorded run, 1 on a tampered one, 2 on garbage", async () => {
    const dir = tempDirForTest("vigil-replay-");
    const good = join(dir, "good.jsonl");
    const text = run("02-takeover-priority-100");
    writeFileSync(good, text);
    const ok = await cli([good, "--verify"]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("instance:VI_1: BACKUP → MASTER");
    expect(ok.out).toContain("3.609375s");
    const bad = join(dir, "bad.jsonl");
    writeFileSync(
      bad,
      text.replace('"priority":100,"advertIntervalCs"', '"priority":101,"advertIntervalCs"'),
    );
    const ko = await cli([bad, "--verify"]);
    expect(ko.code).toBe(1);
    expect(ko.err).toContain("verify FAILED");
    const json = await cli([good, "--json"]);
    expect(JSON.parse(json.out.split("\n")[0] ?? "").seq).toBe(1);
    const junk = join(dir, "junk.jsonl");
    writeFileSync(junk, '{"t":"nope"}\n');
    expect((await cli([junk])).code).toBe(2);
    expect((await cli([])).code).toBe(64); // usage error (src/cli/replay.ts: EX_USAGE)
  });
});
