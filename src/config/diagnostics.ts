/**
 * Configuration diagnostics: a typed union of errors and warnings, each with the file, line and
 * column it refers to, printed in keepalived's form `(FILE: Line N) message` so that operators'
 * greps keep working, followed by the column and a hint. Also the small collector the front end
 * passes around instead of throwing. Pure.
 *
 * Errors carry `fatal`: whether keepalived 2.2.7's daemon refuses to run the file (its VRRP process
 * exits with "permanent error CONFIG": a missing parameter after a keyword, an instance without a
 * VRID or an interface, no VIP where one is required, a VRID used twice) or only reports the error
 * and carries on with the keyword ignored or a default (the great majority). `vigil check` exits 1
 * on any error, as `keepalived -t` does; `vigil run` refuses to start only on a fatal one. The
 * classification is made where each diagnostic is created (`fatal()` versus `error()`).
 */

import { displayBytes } from "./bytes.ts";

/** Where a token came from. Line and column are 1-based; 0 means "the file as a whole". */
export interface Position {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * What kind of problem this is. `unsupported` = parsed but not acted on by Vigil yet;
 * `extension` = a Vigil-only keyword (keepalived would warn about it).
 */
export type DiagnosticKind =
  | "io"
  | "syntax"
  | "unknown-keyword"
  | "value"
  | "range"
  | "semantic"
  | "unsupported"
  | "extension"
  /** "… and N more": diagnostics past the output caps, counted but not kept. */
  | "summary";

interface DiagnosticBase extends Position {
  readonly kind: DiagnosticKind;
  readonly message: string;
  readonly hint?: string;
}

export interface ErrorDiagnostic extends DiagnosticBase {
  readonly severity: "error";
  /** True when keepalived's daemon would not start on this error; false when it carries on. */
  readonly fatal: boolean;
}
export interface WarningDiagnostic extends DiagnosticBase {
  readonly severity: "warning";
}
export type Diagnostic = ErrorDiagnostic | WarningDiagnostic;

/** Identical (severity, message) pairs kept before the rest are summarised in one line. */
export const MAX_IDENTICAL_DIAGNOSTICS = 20;
/** Diagnostics kept in all; past this (or `MAX_DIAGNOSTIC_CHARS`) the rest are summarised. */
export const MAX_DIAGNOSTICS = 2000;
/** Characters of message and hint kept in all, so the output of `vigil check` stays bounded. */
export const MAX_DIAGNOSTIC_CHARS = 400_000;
/** One message or hint is cut to this many characters (it may quote a whole line). */
export const MAX_MESSAGE_CHARS = 300;

/** Groups of "… and N more like this" lines at most. */
const MAX_SUMMARIES = 100;

interface Summary {
  readonly first: Diagnostic;
  count: number;
}

/**
 * Collects diagnostics in order; the front end never throws for bad input. Bounded: past
 * `MAX_IDENTICAL_DIAGNOSTICS` copies of one (severity, message), or past the overall caps, further
 * diagnostics are counted and shown as one "… and N more like this" line each.
 */
export class Diagnostics {
  /**
   * @param daemon The file is read as keepalived's daemon reads it (`vigil run`), not as
   * `keepalived -t` does (`vigil check`, `vigil dump`): the numbers keepalived reads with
   * `ignore_error` are then reported with its `WARNING - ` prefix, and a valid leading number is
   * used (values.ts `readInt`).
   */
  constructor(readonly daemon = false) {}

  private readonly kept: Diagnostic[] = [];
  private readonly seen = new Map<string, number>();
  private readonly summaries = new Map<string, Summary>();
  private chars = 0;
  private errorSeen = false;
  private fatalSeen = false;

  /** An error keepalived reports and carries on after (the keyword ignored or a default used). */
  error(at: Position, kind: DiagnosticKind, message: string, hint?: string): void {
    this.add(make("error", at, kind, message, hint, false));
  }

  /** An error keepalived's daemon stops on (its VRRP process exits with a configuration error). */
  fatal(at: Position, kind: DiagnosticKind, message: string, hint?: string): void {
    this.add(make("error", at, kind, message, hint, true));
  }

  warn(at: Position, kind: DiagnosticKind, message: string, hint?: string): void {
    this.add(make("warning", at, kind, message, hint, false));
  }

  /** True once any error was reported, kept or summarised. */
  get hasErrors(): boolean {
    return this.errorSeen;
  }

  /** True once any fatal error was reported, kept or summarised. */
  get hasFatal(): boolean {
    return this.fatalSeen;
  }

  /** The kept diagnostics, then one summary per group that went over a cap. */
  get list(): Diagnostic[] {
    const summaries = [...this.summaries.values()].map(
      ({ first, count }): Diagnostic =>
        first.kind === "summary"
          ? { ...first, message: `… and ${count.toLocaleString("en-US")} more diagnostics` }
          : { ...first, message: `… and ${count.toLocaleString("en-US")} more like this: ${first.message}` },
    );
    return [...this.kept, ...summaries];
  }

  private add(d: Diagnostic): void {
    if (d.severity === "error") this.errorSeen = true;
    if (isFatal(d)) this.fatalSeen = true;
    const key = `${d.severity}\u0000${isFatal(d) ? "fatal\u0000" : ""}${d.message}`;
    const n = (this.seen.get(key) ?? 0) + 1;
    const size = d.message.length + (d.hint?.length ?? 0);
    const full = this.kept.length >= MAX_DIAGNOSTICS || this.chars + size > MAX_DIAGNOSTIC_CHARS;
    if (n <= MAX_IDENTICAL_DIAGNOSTICS && !full) {
      this.seen.set(key, n);
      this.chars += size;
      this.kept.push(d);
      return;
    }
    // A repeat gets a group of its own (while there are few groups); the rest one per severity.
    const own =
      n > MAX_IDENTICAL_DIAGNOSTICS && (this.summaries.has(key) || this.summaries.size < MAX_SUMMARIES);
    const group = own ? key : `${d.severity}\u0000${isFatal(d) ? "fatal" : ""}`;
    const summary = this.summaries.get(group);
    if (summary !== undefined) summary.count++;
    else this.summaries.set(group, { first: own ? d : { ...d, kind: "summary" }, count: 1 });
  }
}

const cut = (text: string): string =>
  text.length <= MAX_MESSAGE_CHARS
    ? text
    : `${text.slice(0, MAX_MESSAGE_CHARS)}… (${text.length} characters)`;

const make = (
  severity: "error" | "warning",
  at: Position,
  kind: DiagnosticKind,
  message: string,
  hint: string | undefined,
  fatal: boolean,
): Diagnostic => {
  const base = { severity, file: at.file, line: at.line, column: at.column, kind, message: cut(message) };
  const withHint = hint === undefined ? base : { ...base, hint: cut(hint) };
  return (severity === "error" ? { ...withHint, fatal } : withHint) as Diagnostic;
};

/** True for an error keepalived's daemon would not start on. */
export const isFatal = (d: Diagnostic): boolean => d.severity === "error" && d.fatal;

/**
 * One line per diagnostic: `(FILE: Line N) message [error, column C; hint: …]`.
 * The part before ` [` is what keepalived prints, with non-printable bytes escaped (`\x1b`).
 */
export function formatDiagnostic(d: Diagnostic): string {
  const file = displayBytes(d.file);
  const where = d.line > 0 ? `(${file}: Line ${d.line})` : `(${file})`;
  const col = d.column > 0 ? `, column ${d.column}` : "";
  const hint = d.hint === undefined ? "" : `; hint: ${displayBytes(d.hint)}`;
  return `${where} ${displayBytes(d.message)} [${d.severity}${col}${hint}]`;
}

/** Sorted by file order of appearance is kept; this sorts stably by severity only when asked. */
export const countBySeverity = (
  ds: readonly Diagnostic[],
): { errors: number; fatal: number; warnings: number } => ({
  errors: ds.filter((d) => d.severity === "error").length,
  fatal: ds.filter(isFatal).length,
  warnings: ds.filter((d) => d.severity === "warning").length,
});
