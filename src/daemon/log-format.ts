/**
 * The daemon's log line formats (`vigil run --log-format text|json`). `text` is keepalived's
 * console form (`keepalived -l`): the local time as C's `%c` in the C locale
 * (`%a %b %e %H:%M:%S %Y`), a colon, then the line — `Sun Nov 30 00:12:03 2026: (VI_1) Entering
 * MASTER STATE`. `json` is one object per line: `{"time": ISO 8601 UTC, "msg": line, "detail":
 * bool}`. Both are terminal-safe (src/cli/escape.ts): names and addresses in log lines come from
 * configuration files and the network. Pure: the time is given.
 */
import { escapeText, terminalSafeJson } from "../cli/escape.ts";

export type LogFormat = "text" | "json";

export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;

const two = (n: number): string => String(n).padStart(2, "0");

/** C's `%c` in the C locale, local time: `Sun Nov  1 00:12:03 2026` (day padded with a space). */
export function consoleTime(at: Date): string {
  const day = String(at.getDate()).padStart(2, " ");
  const time = `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
  return `${DAYS[at.getDay()]} ${MONTHS[at.getMonth()]} ${day} ${time} ${at.getFullYear()}`;
}

/** One log line, newline-terminated, in `format`. A line's own newlines cannot split a record. */
export function formatLogLine(format: LogFormat, at: Date, line: string, detail: boolean): string {
  if (format === "json")
    return `${terminalSafeJson(JSON.stringify({ time: at.toISOString(), msg: line, detail }))}\n`;
  return `${consoleTime(at)}: ${escapeText(line)}\n`;
}
