/**
 * The journal: the input queue written down, plus the outputs each input produced, as JSON lines.
 * Line 1 is a versioned header (format, Vigil version, config hash); then for every applied input an
 * `in` line (the schema-checked Event) followed, when the input produced anything, by an `out` line
 * with the emitted outputs. Replay feeds the `in` lines to fresh machines and compares `out` lines.
 * In-memory and file implementations; decoding is schema-checked. Not pure (holds lines / a file).
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { Schema } from "effect";
import { Event } from "./input.ts";

export const JOURNAL_FORMAT = "vigil-journal";
/** 2: `effect` inputs name their actor and command (`{actor, cmd, op, ok, code?}`); `address` inputs. */
export const JOURNAL_VERSION = 2;

export const JournalHeader = Schema.Struct({
  t: Schema.Literal("header"),
  format: Schema.Literal(JOURNAL_FORMAT),
  /** Version 1 journals still read: they never held `effect` inputs. */
  version: Schema.Literals([1, JOURNAL_VERSION]),
  vigil: Schema.String,
  configHash: Schema.String,
  /** The node spec the machines were built from, so replay needs only the journal. */
  spec: Schema.Unknown,
});
export type JournalHeader = typeof JournalHeader.Type;

export const InLine = Schema.Struct({ t: Schema.Literal("in"), ev: Event });
export const OutLine = Schema.Struct({
  t: Schema.Literal("out"),
  seq: Schema.Int,
  out: Schema.Array(Schema.Unknown),
});
export const JournalLine = Schema.Union([JournalHeader, InLine, OutLine]);
export type JournalLine = typeof JournalLine.Type;
const decodeLine = Schema.decodeUnknownSync(JournalLine);

export interface Journal {
  /** Appends one line (already JSON text, without newline). */
  append(line: string): void;
  close(): void;
}

export class MemoryJournal implements Journal {
  readonly lines: string[] = [];
  append(line: string): void {
    this.lines.push(line);
  }
  close(): void {}
  text(): string {
    return this.lines.map((l) => `${l}\n`).join("");
  }
}

/** Appends to a file; `bufferLines` lines are written at once (flushed on close). */
export class FileJournal implements Journal {
  readonly #fd: number;
  #buf: string[] = [];
  constructor(
    path: string,
    private readonly bufferLines = 1,
  ) {
    this.#fd = openSync(path, "a");
  }
  append(line: string): void {
    this.#buf.push(`${line}\n`);
    if (this.#buf.length >= this.bufferLines) this.flush();
  }
  flush(): void {
    if (this.#buf.length === 0) return;
    writeSync(this.#fd, this.#buf.join(""));
    this.#buf = [];
  }
  close(): void {
    this.flush();
    closeSync(this.#fd);
  }
}

export type JournalDiagnostic = {
  readonly kind: "journal-invalid";
  readonly line: number;
  readonly message: string;
};

/** Parses journal text; every line is schema-checked. */
export const parseJournal = (
  text: string,
): { ok: true; header: JournalHeader; lines: JournalLine[] } | { ok: false; error: JournalDiagnostic } => {
  const rows = text.split("\n").filter((l) => l.trim() !== "");
  const lines: JournalLine[] = [];
  for (let i = 0; i < rows.length; i++) {
    try {
      lines.push(decodeLine(JSON.parse(rows[i] as string)));
    } catch (e) {
      return {
        ok: false,
        error: { kind: "journal-invalid", line: i + 1, message: String(e).split("\n")[0] ?? "" },
      };
    }
  }
  const header = lines[0];
  if (header === undefined || header.t !== "header")
    return { ok: false, error: { kind: "journal-invalid", line: 1, message: "missing header line" } };
  return { ok: true, header, lines };
};

export const readJournalFile = (path: string) => parseJournal(readFileSync(path, "utf8"));
