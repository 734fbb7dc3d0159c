/**
 * The daemon's log line formats (`vigil run --log-format text|json`) and what a log line carries.
 * `text` is keepalived's console form (`keepalived -l`): the local time as C's `%c` in the C locale
 * (`%a %b %e %H:%M:%S %Y`), a colon, then the line — `Sun Nov 30 00:12:03 2026: (VI_1) Entering
 * MASTER STATE`. `json` is pino's record, one object per line (written by src/daemon/json-log.ts,
 * which loads pino only when json is chosen): `level` (pino's number), `time` (ISO 8601 UTC, the
 * time the daemon gives), `pid`, `hostname`, `detail`, `msg`. The level is what the line's origin
 * knows: keepalived's detail lines (printed only with `-D`) are debug, other lines info, unless the
 * caller marks a line as a warning or an error. Both formats are terminal-safe (src/cli/escape.ts):
 * names and addresses in log lines come from configuration files and the network. Pure: the time
 * is given.
 */
import type { LogSeverity } from "../../machines/events.ts";
import { escapeText, terminalSafeJson } from "../cli/escape.ts";
import type { LogPort } from "../runtime/ports.ts";

export type LogFormat = "text" | "json";

export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/**
 * The daemon's log sink, the node's log port (runtime/ports.ts): `detail` marks the lines keepalived
 * prints only with -D; `severity` is given only where the line's origin knows it is a warning or an
 * error.
 */
export type LogSink = LogPort["log"];

/** pino's level names, as the json format uses them. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** A line's level: its severity when given, else debug for a detail line and info otherwise. */
export const logLevel = (detail: boolean, severity?: LogSeverity): LogLevel =>
  severity ?? (detail ? "debug" : "info");

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;

const two = (n: number): string => String(n).padStart(2, "0");

/** C's `%c` in the C locale, local time: `Sun Nov  1 00:12:03 2026` (day padded with a space). */
export function consoleTime(at: Date): string {
  const day = String(at.getDate()).padStart(2, " ");
  const time = `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
  return `${DAYS[at.getDay()]} ${MONTHS[at.getMonth()]} ${day} ${time} ${at.getFullYear()}`;
}

/** One text log line, newline-terminated. A line's own newlines cannot split it. */
export function formatTextLine(at: Date, line: string): string {
  return `${consoleTime(at)}: ${escapeText(line)}\n`;
}

/** Lone surrogates (pino writes short strings without JSON.stringify, so they can stay raw). */
const LONE_SURROGATE = /\p{Cs}/gu;

/**
 * A serialised JSON record made terminal-safe with the same value: `terminalSafeJson` (DEL, C1,
 * format and separator characters as `\uXXXX`) and lone surrogates written as `\uXXXX` too. Such
 * characters only occur inside JSON strings, where the escape means the same character.
 */
export const terminalSafeRecord = (json: string): string =>
  terminalSafeJson(json).replace(
    LONE_SURROGATE,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
