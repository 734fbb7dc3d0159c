/**
 * `vigil replay JOURNAL [--json] [--verify]`: applies a journal to fresh machines and prints the
 * timeline of inputs, transitions and emitted commands; `--verify` exits 1 if any output differs from
 * the outputs recorded in the journal. User errors print a diagnostic and return 2.
 */
import { readFileSync } from "node:fs";
import { parseJournal } from "../runtime/journal.ts";
import { formatTimeline, replayJournal } from "../runtime/replay.ts";
import type { CommandSpec } from "./io.ts";

export const replayCommand: CommandSpec = {
  name: "replay",
  summary: "replay a journal into fresh machines; print the timeline, --verify against recorded outputs",
  usage: "vigil replay JOURNAL [--json] [--verify]",
  run: async (args, io) => {
    const json = args.includes("--json");
    const verify = args.includes("--verify");
    const unknown = args.filter((a) => a.startsWith("-") && a !== "--json" && a !== "--verify");
    const files = args.filter((a) => !a.startsWith("-"));
    if (unknown.length > 0 || files.length !== 1) {
      io.stderr(`usage: ${replayCommand.usage}\n`);
      return 2;
    }
    const path = files[0] as string;
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      io.stderr(`vigil replay: cannot read ${path}: ${(e as Error).message}\n`);
      return 2;
    }
    const parsed = parseJournal(text);
    if (!parsed.ok) {
      io.stderr(`vigil replay: ${path}:${parsed.error.line}: invalid journal: ${parsed.error.message}\n`);
      return 2;
    }
    let result: ReturnType<typeof replayJournal>;
    try {
      result = replayJournal(parsed.header, parsed.lines);
    } catch (e) {
      io.stderr(`vigil replay: ${path}: cannot replay: ${(e as Error).message}\n`);
      return 2;
    }
    if (json) {
      for (const e of result.timeline) io.stdout(`${JSON.stringify(e)}\n`);
    } else {
      for (const l of formatTimeline(result.timeline)) io.stdout(`${l}\n`);
    }
    if (verify) {
      if (result.mismatches.length > 0) {
        for (const m of result.mismatches.slice(0, 10))
          io.stderr(`mismatch at #${m.seq}:\n  recorded: ${m.expected}\n  replayed: ${m.actual}\n`);
        io.stderr(`vigil replay: verify FAILED: ${result.mismatches.length} event(s) differ\n`);
        return 1;
      }
      io.stderr(
        `vigil replay: verify ok: ${result.timeline.length} events, output hash ${result.outputHash}\n`,
      );
    }
    return 0;
  },
};
