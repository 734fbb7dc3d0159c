/**
 * `vigil replay JOURNAL [--json] [--verify] [--strict] [--force] [--report FILE.html]`: applies a journal (a plain journal
 * or any one segment) to a node and prints the timeline of inputs, transitions and emitted commands.
 * Reading always checks the journal (schema, seq, time, checksum chain, trailer): a corrupt, edited or
 * truncated segment exits 2 naming its physical line. `--verify` also compares every replayed output
 * with the recorded ones and every recorded timer with the node's pending timers (exit 1). A journal
 * from another machine version is refused (exit 2) unless `--force`. Journal contents are escaped for
 * the terminal in the text timeline; JSON lines keep their values (escape.ts). `--report` also
 * writes the replay as a self-contained HTML page (src/viz/report/: a lane per instance — states,
 * VIPs, priority — markers, the state chart, the event log). The runtime's
 * modules are imported when a journal is replayed, so loading the command (for --help) is cheap.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { NodeSpec } from "../runtime/spec.ts";
import { type ArgsSpec, defineCommand, flagOption, stringOption } from "./args.ts";
import { escapeText, jsonLine } from "./escape.ts";
import type { CommandSpec } from "./io.ts";

/** Exit status for a journal that cannot be read, is corrupt or edited, or cannot be replayed. */
export const EXIT_BAD_JOURNAL = 2;
/** Exit status when --verify finds a replayed output or a recorded timer that differs. */
export const EXIT_VERIFY_FAILED = 1;

const spec: ArgsSpec = {
  invocation: "vigil replay",
  synopsis: "JOURNAL [--json] [--verify] [--strict] [--force] [--report FILE.html]",
  summary:
    "replay a journal or one journal segment; print the timeline, --verify against recorded outputs and timers",
  options: {
    json: { type: "boolean", description: "one JSON object per event instead of text" },
    verify: {
      type: "boolean",
      description: "exit 1 if a replayed output differs or a recorded timer was not pending (or not yet due)",
    },
    strict: {
      type: "boolean",
      description: "also fail on a segment without trailer and on a plain (unchained) journal",
    },
    force: { type: "boolean", description: "replay a journal recorded with another machine version" },
    report: {
      type: "string",
      valueName: "FILE",
      description: "also write the replay as a self-contained HTML page (timeline, state chart, events)",
    },
  },
  positionals: { min: 1, max: 1, name: "JOURNAL" },
  notes: [
    "",
    "JOURNAL is a plain journal or one segment (NAME.000001.jsonl, …); a segment replays on its own from",
    "the checkpoint it starts with. Every line is checked: schema, seq consecutive, time non-decreasing,",
    "the checksum chain and the trailer; problems are named by physical line number.",
    "A last segment without trailer (the daemon crashed or is still running) is a warning, an error with --strict.",
    "",
    "exit status: 0 ok; 1 --verify found a different output or a recorded timer that was not pending",
    "or not yet due; 2 journal unreadable, corrupt, edited, truncated, from another machine version",
    "(without --force) or starting from a checkpoint that cannot be restored; 64 usage error",
  ],
};

export const replayCommand: CommandSpec = defineCommand(
  "replay",
  spec,
  async ({ values, positionals }, io) => {
    const err = (line: string): void => io.stderr(`${escapeText(line)}\n`);
    const path = positionals[0] ?? "";
    const report = stringOption(values, "report");
    const strict = flagOption(values, "strict");
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      err(`vigil replay: cannot read ${path}: ${(e as Error).message}`);
      return EXIT_BAD_JOURNAL;
    }
    // The runtime (xstate, effect) loads only when a journal is replayed, not for --help.
    const [
      { MACHINE_VERSION },
      { endsAtWriteBoundary, readJournal },
      replay,
      { parseSegmentPath, segmentPath },
    ] = await Promise.all([
      import("../../machines/events.ts"),
      import("../runtime/journal.ts"),
      import("../runtime/replay.ts"),
      import("../runtime/segment-file.ts"),
    ]);
    const { CheckpointError, formatTimeline, replayJournal } = replay;
    const parsed = readJournal(text);
    if (!parsed.ok) {
      err(`vigil replay: ${path}:${parsed.error.line}: invalid journal: ${parsed.error.message}`);
      return EXIT_BAD_JOURNAL;
    }
    const h = parsed.header;
    if (h.machine !== MACHINE_VERSION) {
      const what = `recorded with machine version ${h.machine ?? "(none)"}, this build has ${MACHINE_VERSION}`;
      if (!flagOption(values, "force")) {
        err(`vigil replay: ${path}: ${what}; it may replay differently: refused (--force to replay anyway)`);
        return EXIT_BAD_JOURNAL;
      }
      err(`vigil replay: ${path}: warning: ${what} (--force)`);
    }
    if (!parsed.chained) {
      const msg = `${path}: plain journal without checksum chain: edits cannot be detected`;
      if (strict) {
        err(`vigil replay: ${msg} (--strict)`);
        return EXIT_BAD_JOURNAL;
      }
    } else if (!parsed.closed) {
      const where = `${path}:${parsed.lastLine}`;
      const seg = parseSegmentPath(path);
      const later = seg !== undefined && existsSync(segmentPath(seg.path, seg.seg + 1));
      if (later || !endsAtWriteBoundary(text)) {
        const why = later ? "a later segment exists" : "it ends inside a write batch";
        err(
          `vigil replay: ${where}: invalid journal: segment not closed and ${why}: truncated after this line`,
        );
        return EXIT_BAD_JOURNAL;
      }
      const msg = `${where}: segment not closed (the daemon may have crashed or still be running)`;
      if (strict) {
        err(`vigil replay: ${msg}: refused (--strict)`);
        return EXIT_BAD_JOURNAL;
      }
      err(`vigil replay: warning: ${msg}`);
    }
    if (parsed.gap !== undefined) {
      // written after the journal could not be written for a while (full disk): say what is missing
      const g = parsed.gap;
      const at = (ms: number): string => new Date(ms).toISOString();
      err(
        `vigil replay: warning: ${path}: starts after a gap in the journal: not written from ${at(g.fromMs)} to ${at(g.toMs)} (${g.reason}), ${g.lostLines} line(s) lost; this segment starts from the checkpoint at seq ${parsed.checkpoint?.seq ?? 0}, the inputs of the gap are not in the journal`,
      );
    }
    let result: ReturnType<typeof replayJournal>;
    try {
      result = replayJournal(h, parsed.lines, { checkpoint: parsed.checkpoint, lineNos: parsed.lineNos });
    } catch (e) {
      const what = e instanceof CheckpointError ? "cannot restore its checkpoint" : "cannot replay";
      err(`vigil replay: ${path}: ${what}: ${(e as Error).message}`);
      return EXIT_BAD_JOURNAL;
    }
    if (flagOption(values, "json")) {
      for (const e of result.timeline) io.stdout(`${jsonLine(e)}\n`);
    } else {
      for (const l of formatTimeline(result.timeline)) io.stdout(`${escapeText(l)}\n`);
    }
    if (report !== undefined) {
      const { replayReportHtml } = await import("../viz/report/reports.ts");
      const differ = result.mismatches.length + result.timerFaults.length;
      const html = replayReportHtml({
        path,
        // after a reload the segment's checkpoint carries the spec in force
        spec: (parsed.checkpoint?.spec ?? h.spec) as NodeSpec,
        checkpoint: parsed.checkpoint,
        timeline: result.timeline,
        summary: [
          `output hash ${result.outputHash}`,
          differ === 0
            ? "replay matches the recorded outputs"
            : `${differ} event(s) differ from the recording`,
        ],
      });
      try {
        writeFileSync(report, html);
      } catch (e) {
        err(`vigil replay: cannot write ${report}: ${(e as Error).message}`);
        return EXIT_BAD_JOURNAL;
      }
    }
    if (flagOption(values, "verify")) {
      const { mismatches, timerFaults } = result;
      for (const t of timerFaults.slice(0, 10)) err(`${path}:${t.line}: #${t.seq} ${t.message}`);
      for (const m of mismatches.slice(0, 10)) {
        err(`${path}:${m.line}: mismatch at #${m.seq}:`);
        err(`  recorded: ${m.expected}`);
        err(`  replayed: ${m.actual}`);
      }
      if (mismatches.length > 0 || timerFaults.length > 0) {
        err(
          `vigil replay: verify FAILED: ${mismatches.length} event(s) differ, ${timerFaults.length} timer event(s) not explained by a pending timer`,
        );
        return EXIT_VERIFY_FAILED;
      }
      const kind = parsed.chained ? "checksum chain ok" : "no checksum chain";
      err(
        `vigil replay: verify ok: ${result.timeline.length} events, ${kind}, output hash ${result.outputHash}`,
      );
    }
    return 0;
  },
);
