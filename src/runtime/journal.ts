/**
 * The journal: the input queue written down, plus the outputs each input produced, as JSON lines.
 * Logically, line 1 is a versioned header (format, Vigil / machine / XState versions, config hash,
 * node spec); then for every applied input an `in` line (the schema-checked Event) followed, when the
 * input produced anything, by an `out` line with the emitted outputs. Replay feeds the `in` lines to
 * a fresh (or checkpoint-restored) node and compares the `out` lines.
 *
 * `MemoryJournal` keeps those logical lines as they are. On disk (`FileJournal`, segment-file.ts) a
 * journal is a series of segments, each a self-contained file: header (with `seg`), checkpoint line
 * (except the first segment of a run, which starts from a fresh node), compacted and checksum-chained
 * lines (segment-format.ts), and an `end` trailer. `readJournal` reads both: the plain logical form
 * and a chained segment, and names every problem by its physical line number (blank lines counted).
 * Not pure (MemoryJournal holds lines; XSTATE_VERSION is read from xstate's package.json at load).
 */

import { Schema } from "effect";
import xstatePackage from "xstate/package.json" with { type: "json" };
import { MACHINE_VERSION } from "../../machines/events.ts";
import { Event } from "./input.ts";
import { fnv1a } from "./prng.ts";
import { CHAIN_SEED, hashText, SEAL_CHARS, SegmentExpander } from "./segment-format.ts";
import { decodeNodeSpec } from "./spec-schema.ts";

export const JOURNAL_FORMAT = "vigil-journal";
/**
 * 2: `effect` inputs name their actor and command; `address` inputs. 3: rx facts (`ttlObserved`,
 * `ifindex`, `ipPayloadLength`); the header carries the machine and XState versions; segments;
 * timer events name the machines' own timers (`masterDown`, `advert`, `garpDelay`, `garpRefresh`,
 * `preemptDelay`) instead of XState's generated ids. 4: `reload` inputs (the new spec and config
 * hash); a checkpoint taken after a reload carries the spec in force. Version 3 journals still read
 * (they have neither). 5: LVS checkers — `check` inputs, checker timers (actor `vs:NAME`), their
 * outputs (`ipvs`, `lvsNotify`, `probe`, `cancelProbe`) and `virtualServers` in the spec; version 4
 * journals still read (they have none).
 */
export const JOURNAL_VERSION = 5;
/** XState's version, from its package.json (imported, so a bundled CLI carries it too). */
export const XSTATE_VERSION: string = xstatePackage.version;

export const JournalHeader = Schema.Struct({
  t: Schema.Literal("header"),
  format: Schema.Literal(JOURNAL_FORMAT),
  /** Versions 1 and 2 still read: no machine/XState versions, never segments; 3: no reloads. */
  version: Schema.Literals([1, 2, 3, 4, JOURNAL_VERSION]),
  vigil: Schema.String,
  machine: Schema.optional(Schema.Int),
  xstate: Schema.optional(Schema.String),
  configHash: Schema.String,
  /** Segment number (1, 2, …) of a chained on-disk segment; absent in a plain journal. */
  seg: Schema.optional(Schema.Int),
  /** The node spec the machines were built from, so replay needs only the journal (`readJournal` checks it). */
  spec: Schema.Unknown,
});
export type JournalHeader = typeof JournalHeader.Type;

/** A node checkpoint (src/runtime/checkpoint.ts) as a segment carries it; `state` is opaque here. */
export const CheckpointValue = Schema.Struct({
  format: Schema.Literal("vigil-checkpoint"),
  version: Schema.Int,
  seq: Schema.Int,
  atUs: Schema.Int,
  state: Schema.Unknown,
  /** After a reload: the spec and configuration hash in force (the header has the first ones). */
  spec: Schema.optional(Schema.Unknown),
  configHash: Schema.optional(Schema.String),
});
export type CheckpointValue = typeof CheckpointValue.Type;

export const InLine = Schema.Struct({ t: Schema.Literal("in"), ev: Event });
export const OutLine = Schema.Struct({
  t: Schema.Literal("out"),
  seq: Schema.Int,
  out: Schema.Array(Schema.Unknown),
});
/**
 * A gap before a segment: the journal could not be written (a full disk, an I/O error) from
 * `fromMs` to `toMs` (wall clock), `lostLines` lines were dropped; the checkpoint holds the state
 * reached meanwhile (segment-file.ts).
 */
export const JournalGapValue = Schema.Struct({
  fromMs: Schema.Number,
  toMs: Schema.Number,
  reason: Schema.String,
  lostLines: Schema.Int,
});
export type JournalGapValue = typeof JournalGapValue.Type;
export const CheckpointLine = Schema.Struct({
  t: Schema.Literal("checkpoint"),
  cp: CheckpointValue,
  gap: Schema.optional(JournalGapValue),
});
/** A segment's last line: how many lines precede it and the chain value after the last of them. */
export const TrailerLine = Schema.Struct({
  t: Schema.Literal("end"),
  lines: Schema.Int,
  chain: Schema.String,
});
export const JournalLine = Schema.Union([JournalHeader, InLine, OutLine]);
export type JournalLine = typeof JournalLine.Type;
const AnyLine = Schema.Union([JournalHeader, InLine, OutLine, CheckpointLine, TrailerLine]);
const decodeLine = Schema.decodeUnknownSync(AnyLine);

export interface Journal {
  /** Appends one logical line (already JSON text, without newline). */
  append(line: string): void;
  /**
   * Optional fast path: the `in` line of event (seq, atUs) whose input's JSON text is `input`
   * (exactly `append(inLineOf(seq, atUs, input))`, input.ts), for a journal that need not build it;
   * `hint` is the caller's memo of the segment dictionary's entry for `input` (segment-format.ts).
   */
  appendIn?(seq: number, atUs: number, input: string, hint?: { dict: number }): void;
  /**
   * Optional: `append(line)` of `line`, the `out` line of event `seq` (a safe integer) whose outputs'
   * JSON text is `outputs` (the line is `{"t":"out","seq":SEQ,"out":OUTPUTS}`). Without `line` the
   * journal builds it if it writes it in full (a repeat of an entry's outputs is written without it).
   */
  appendOut?(seq: number, outputs: string, line?: string): void;
  close(): void;
  /** True once the current segment is over its size bound (the node then calls `startSegment`). */
  shouldRotate?(): boolean;
  /** Closes the current segment and opens the next one, starting from `checkpoint`. */
  startSegment?(checkpoint: unknown): void;
}

/** The header line a fresh node writes (`stampHeader` completes it with the machine and XState versions). */
export const headerLine = (
  vigil: string | undefined,
  configHash: string | undefined,
  spec: unknown,
): string =>
  JSON.stringify({
    t: "header",
    format: JOURNAL_FORMAT,
    version: JOURNAL_VERSION,
    vigil: vigil ?? "0.0.0",
    configHash: configHash ?? "",
    spec,
  });

/**
 * The header line the node wrote, completed with the versions this build records (machine, XState)
 * and re-serialised in one key order; other lines unchanged.
 */
export const stampHeader = (line: string, seg?: number): string => {
  const h = JSON.parse(line) as Record<string, unknown>;
  return JSON.stringify({
    t: "header",
    format: JOURNAL_FORMAT,
    version: JOURNAL_VERSION,
    vigil: h.vigil ?? "0.0.0",
    machine: MACHINE_VERSION,
    xstate: XSTATE_VERSION,
    configHash: h.configHash ?? "",
    ...(seg === undefined ? {} : { seg }),
    spec: h.spec,
  });
};
export const isHeaderLine = (line: string): boolean => line.startsWith('{"t":"header"');

export class MemoryJournal implements Journal {
  readonly lines: string[] = [];
  append(line: string): void {
    this.lines.push(isHeaderLine(line) ? stampHeader(line) : line);
  }
  close(): void {}
  text(): string {
    return this.lines.map((l) => `${l}\n`).join("");
  }
}

export { FileJournal, type FileJournalOptions, segmentPath } from "./segment-file.ts";

export type JournalDiagnostic = {
  readonly kind: "journal-invalid";
  /** Physical line number, 1-based, blank lines counted. */
  readonly line: number;
  readonly message: string;
};

export interface ReadJournal {
  readonly ok: true;
  readonly header: JournalHeader;
  /** The checkpoint the segment starts from (absent: a fresh node). */
  readonly checkpoint: CheckpointValue | undefined;
  /** The segment starts after a gap in the journal (its checkpoint line says so). */
  readonly gap: JournalGapValue | undefined;
  /** Logical lines: the header, then `in`/`out` lines with compact references expanded. */
  readonly lines: JournalLine[];
  /** Physical line number of each entry of `lines`. */
  readonly lineNos: number[];
  /** A checksum-chained segment (false: a plain journal, where edits cannot be detected). */
  readonly chained: boolean;
  /** A chained segment that ends with its trailer. */
  readonly closed: boolean;
  /** Last physical line number. */
  readonly lastLine: number;
}
export type ReadResult = ReadJournal | { readonly ok: false; readonly error: JournalDiagnostic };

const fail = (line: number, message: string): { ok: false; error: JournalDiagnostic } => ({
  ok: false,
  error: { kind: "journal-invalid", line, message },
});

/**
 * Reads a journal (plain or one chained segment). Checks: schema of every line, every node spec it
 * carries (header, checkpoint, reload input: spec-schema.ts), header first, checkpoint only right
 * after it, seq consecutive, atUs non-decreasing, each `out` right after its `in`; for a segment also
 * the checksum chain, compact references and the trailer. Never throws.
 */
export const readJournal = (text: string): ReadResult => {
  try {
    return readUnsafe(text);
  } catch (e) {
    return fail(0, `unreadable journal: ${String(e).split("\n")[0]}`);
  }
};

/** Same as `readJournal` (kept for callers of the older name). */
export const parseJournal = readJournal;

const firstLineIsPlain = (row: string): boolean => {
  if (!isHeaderLine(row)) return false;
  try {
    JSON.parse(row);
    return true;
  } catch {
    return false;
  }
};

const readUnsafe = (text: string): ReadResult => {
  const rows = text.split("\n");
  const complete = rows[rows.length - 1] === "";
  if (complete) rows.pop();
  const chained = rows.length > 0 && !firstLineIsPlain(rows[0] as string);
  if (chained && !complete)
    return fail(
      rows.length,
      "incomplete last line: the segment was cut inside a line (truncated or torn write)",
    );
  const lines: JournalLine[] = [];
  const lineNos: number[] = [];
  let header: JournalHeader | undefined;
  let checkpoint: CheckpointValue | undefined;
  let gap: JournalGapValue | undefined;
  let lastSeq = 0;
  let lastAtUs = 0;
  /** seq of the `in` line an `out` line may follow, or undefined. */
  let outAllowed: number | undefined;
  let chain = CHAIN_SEED;
  let closed = false;
  const expander = new SegmentExpander();

  const logical = (t: string, n: number): JournalDiagnostic | undefined => {
    let v: typeof AnyLine.Type;
    try {
      v = decodeLine(JSON.parse(t));
    } catch (e) {
      return { kind: "journal-invalid", line: n, message: String(e).split("\n")[0] ?? "" };
    }
    const bad = (message: string): JournalDiagnostic => ({ kind: "journal-invalid", line: n, message });
    /** A spec the journal carries (header, checkpoint, reload input) must be one a node can be built from. */
    const badSpec = (spec: unknown): JournalDiagnostic | undefined => {
      const d = decodeNodeSpec(spec);
      return d.ok ? undefined : bad(d.message);
    };
    switch (v.t) {
      case "header":
        if (header !== undefined) return bad("a second header line");
        {
          const b = badSpec(v.spec);
          if (b !== undefined) return b;
        }
        if (chained !== (v.seg !== undefined))
          return bad(
            chained
              ? "segment header without a segment number"
              : "plain journal header with a segment number",
          );
        header = v;
        lines.push(v);
        lineNos.push(n);
        return undefined;
      case "checkpoint":
        if (!chained || lines.length !== 1 || checkpoint !== undefined)
          return bad("a checkpoint line is only valid right after a segment header");
        if (v.cp.spec !== undefined) {
          const b = badSpec(v.cp.spec);
          if (b !== undefined) return b;
        }
        checkpoint = v.cp;
        gap = v.gap;
        lastSeq = v.cp.seq;
        lastAtUs = v.cp.atUs;
        expander.reset(lastSeq, lastAtUs);
        return undefined;
      case "end":
        return bad("unexpected trailer");
      case "in": {
        if (header === undefined) return bad("missing header line");
        const { seq, atUs } = v.ev;
        if (seq !== lastSeq + 1)
          return bad(
            seq <= lastSeq
              ? `seq ${seq} after seq ${lastSeq}: duplicated or reordered input`
              : `seq ${seq} after seq ${lastSeq}: input(s) missing`,
          );
        if (atUs < lastAtUs) return bad(`time goes backwards: atUs ${atUs} after ${lastAtUs}`);
        if (v.ev.input.kind === "reload") {
          const b = badSpec(v.ev.input.spec);
          if (b !== undefined) return b;
        }
        lastSeq = seq;
        lastAtUs = atUs;
        outAllowed = seq;
        lines.push(v);
        lineNos.push(n);
        return undefined;
      }
      case "out":
        if (header === undefined) return bad("missing header line");
        if (outAllowed !== v.seq)
          return bad(`out line for seq ${v.seq} does not follow the in line of seq ${v.seq}`);
        outAllowed = undefined;
        lines.push(v);
        lineNos.push(n);
        return undefined;
    }
  };

  for (let k = 0; k < rows.length; k++) {
    const row = rows[k] as string;
    const n = k + 1;
    if (!chained) {
      if (row.trim() === "") continue;
      const d = logical(row, n);
      if (d !== undefined) return { ok: false, error: d };
      if (header === undefined) return fail(n, "missing header line");
      continue;
    }
    if (closed) return fail(n, "line after the segment trailer");
    if (row.length <= SEAL_CHARS)
      return fail(n, row === "" ? "blank line in a segment" : "line without a checksum");
    const sep = row.charCodeAt(row.length - SEAL_CHARS);
    if (sep !== 32 && sep !== 59) return fail(n, "line without a checksum");
    const next = fnv1a(chain, row.slice(0, -6));
    if (hashText(next) !== row.slice(-6))
      return fail(
        n,
        "checksum mismatch: this line was edited, or a line before it was inserted, removed or reordered",
      );
    const payload = row.slice(0, -SEAL_CHARS);
    if (payload.startsWith('{"t":"end"')) {
      let v: typeof TrailerLine.Type;
      try {
        v = Schema.decodeUnknownSync(TrailerLine)(JSON.parse(payload));
      } catch {
        return fail(n, "malformed trailer");
      }
      if (v.lines !== n - 1 || v.chain !== hashText(chain))
        return fail(
          n,
          `trailer says ${v.lines} lines, chain ${v.chain}; the segment has ${n - 1}, chain ${hashText(chain)}`,
        );
      closed = true;
      chain = next;
      continue;
    }
    chain = next;
    if (n === 1) {
      const d = logical(payload, n);
      if (d !== undefined) return { ok: false, error: d };
      expander.reset(0, 0);
      continue;
    }
    const x = expander.expand(payload);
    if ("error" in x) return fail(n, x.error);
    for (const t of x.lines) {
      const d = logical(t, n);
      if (d !== undefined) return { ok: false, error: d };
    }
  }
  if (header === undefined) return fail(1, "missing header line");
  return { ok: true, header, checkpoint, gap, lines, lineNos, chained, closed, lastLine: rows.length };
};

/**
 * Whether an unclosed segment ends where a crash could have left it: after the last line of a
 * write batch (`;` separator). Otherwise it was cut between lines of one write: truncated.
 */
export const endsAtWriteBoundary = (text: string): boolean => {
  const t = text.endsWith("\n") ? text.slice(0, -1) : text;
  return t.length >= SEAL_CHARS && t.charCodeAt(t.length - SEAL_CHARS) === 59;
};
