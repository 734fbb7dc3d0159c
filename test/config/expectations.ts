/**
 * Fixture expectations written inside the fixtures themselves, as comment lines (at the end of
 * the file, so they do not move the lines they talk about):
 *
 *     # expect: error 8 (VI_1): VRID '300' not valid - must be between 1 & 255
 *     # expect: warning inc.d/x.inc:3 Unknown keyword 'foo'
 *
 * The line may be `N` (the fixture itself) or `FILE:N` (FILE is the base name of an included
 * file; 0 means the file as a whole). Also the normalisation of real diagnostics to the same form.
 */
import { basename } from "node:path";
import type { Diagnostic } from "../../src/config/diagnostics.ts";

export interface Expected {
  readonly severity: "error" | "warning";
  readonly where: string;
  readonly message: string;
}

export function readExpectations(text: string): Expected[] {
  const out: Expected[] = [];
  for (const line of text.split("\n")) {
    const m = /^[#!]\s*expect:\s*(error|warning)\s+(\S+)\s+(.*)$/.exec(line.trim());
    if (m !== null)
      out.push({
        severity: m[1] as "error" | "warning",
        where: m[2] as string,
        message: (m[3] as string).trim(),
      });
  }
  return out;
}

/** A diagnostic in the expectation form, relative to the fixture `mainFile`. */
export const asExpected = (d: Diagnostic, mainFile: string): Expected => ({
  severity: d.severity,
  where: d.file === mainFile ? String(d.line) : `${basename(d.file)}:${d.line}`,
  message: d.message,
});

export const render = (e: Expected): string => `${e.severity} ${e.where} ${e.message}`;
