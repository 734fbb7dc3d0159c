/**
 * Configuration diagnostics: a typed union of errors and warnings, each with the file, line and
 * column it refers to, printed in keepalived's form `(FILE: Line N) message` so that operators'
 * greps keep working, followed by the column and a hint. Also the small collector the front end
 * passes around instead of throwing. Pure.
 */

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
  | "extension";

interface DiagnosticBase extends Position {
  readonly kind: DiagnosticKind;
  readonly message: string;
  readonly hint?: string;
}

export interface ErrorDiagnostic extends DiagnosticBase {
  readonly severity: "error";
}
export interface WarningDiagnostic extends DiagnosticBase {
  readonly severity: "warning";
}
export type Diagnostic = ErrorDiagnostic | WarningDiagnostic;

/** Collects diagnostics in order; the front end never throws for bad input. */
export class Diagnostics {
  readonly list: Diagnostic[] = [];

  error(at: Position, kind: DiagnosticKind, message: string, hint?: string): void {
    this.list.push(make("error", at, kind, message, hint));
  }

  warn(at: Position, kind: DiagnosticKind, message: string, hint?: string): void {
    this.list.push(make("warning", at, kind, message, hint));
  }

  get hasErrors(): boolean {
    return this.list.some((d) => d.severity === "error");
  }
}

const make = (
  severity: "error" | "warning",
  at: Position,
  kind: DiagnosticKind,
  message: string,
  hint: string | undefined,
): Diagnostic => {
  const base = { severity, file: at.file, line: at.line, column: at.column, kind, message };
  return (hint === undefined ? base : { ...base, hint }) as Diagnostic;
};

/**
 * One line per diagnostic: `(FILE: Line N) message [error, column C; hint: …]`.
 * The part before ` [` is exactly what keepalived prints.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `(${d.file}: Line ${d.line})` : `(${d.file})`;
  const col = d.column > 0 ? `, column ${d.column}` : "";
  const hint = d.hint === undefined ? "" : `; hint: ${d.hint}`;
  return `${where} ${d.message} [${d.severity}${col}${hint}]`;
}

/** Sorted by file order of appearance is kept; this sorts stably by severity only when asked. */
export const countBySeverity = (ds: readonly Diagnostic[]): { errors: number; warnings: number } => ({
  errors: ds.filter((d) => d.severity === "error").length,
  warnings: ds.filter((d) => d.severity === "warning").length,
});
