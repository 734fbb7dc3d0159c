/**
 * `vigil replay JOURNAL [--json] [--verify]`: applies a journal to fresh machines and prints the
 * timeline of inputs, transitions and emitted commands; `--verify` exits 1 if any output differs from
 * the outputs recorded in the journal. A journal that cannot be read, parsed or replayed exits 2;
 * usage errors exit 64 like every command. Journal contents (names, log lines) are escaped for the
 * terminal in the text timeline; JSON lines keep their values (escape.ts).
 */
import { readFileSync } from "node:fs";
import { parseJournal } from "../runtime/journal.ts";
import { formatTimeline, replayJournal } from "../runtime/replay.ts";
import { type ArgsSpec, defineCommand, flagOption } from "./args.ts";
import { escapeText, jsonLine } from "./escape.ts";
import type { CommandSpec } from "./io.ts";

/** Exit status for a journal that cannot be read, parsed or replayed. */
export const EXIT_BAD_JOURNAL = 2;

const spec: ArgsSpec = {
  invocation: "vigil replay",
  synopsis: "JOURNAL [--json] [--verify]",
  summary: "replay a journal into fresh machines; print the timeline, --verify against recorded outputs",
  options: {
    json: { type: "boolean", description: "one JSON object per event instead of text" },
    verify: { type: "boolean", description: "exit 1 if a replayed output differs from the journal" },
  },
  positionals: { min: 1, max: 1, name: "JOURNAL" },
  notes: [
    "",
    "exit status: 0 ok, 1 --verify found differences, 2 journal unreadable or invalid, 64 usage error",
  ],
};

export const replayCommand: CommandSpec = defineCommand(
  "replay",
  spec,
  async ({ values, positionals }, io) => {
    const err = (line: string): void => io.stderr(`${escapeText(line)}\n`);
    const path = positionals[0] ?? "";
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      err(`vigil replay: cannot read ${path}: ${(e as Error).message}`);
      return EXIT_BAD_JOURNAL;
    }
    const parsed = parseJournal(text);
    if (!parsed.ok) {
      err(`vigil replay: ${path}:${parsed.error.line}: invalid journal: ${parsed.error.message}`);
      return EXIT_BAD_JOURNAL;
    }
    let result: ReturnType<typeof replayJournal>;
    try {
      result = replayJournal(parsed.header, parsed.lines);
    } catch (e) {
      err(`vigil replay: ${path}: cannot replay: ${(e as Error).message}`);
      return EXIT_BAD_JOURNAL;
    }
    if (flagOption(values, "json")) {
      for (const e of result.timeline) io.stdout(`${jsonLine(e)}\n`);
    } else {
      for (const l of formatTimeline(result.timeline)) io.stdout(`${escapeText(l)}\n`);
    }
    if (flagOption(values, "verify")) {
      if (result.mismatches.length > 0) {
        for (const m of result.mismatches.slice(0, 10)) {
          err(`mismatch at #${m.seq}:`);
          err(`  recorded: ${m.expected}`);
          err(`  replayed: ${m.actual}`);
        }
        err(`vigil replay: verify FAILED: ${result.mismatches.length} event(s) differ`);
        return 1;
      }
      err(`vigil replay: verify ok: ${result.timeline.length} events, output hash ${result.outputHash}`);
    }
    return 0;
  },
);
