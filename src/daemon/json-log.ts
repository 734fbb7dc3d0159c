/**
 * `vigil run --log-format json`: the daemon's log lines as pino records, one JSON object per line —
 * pino's `level` (number: 20 debug, 30 info, 40 warn, 50 error; see `logLevel` in log-format.ts),
 * `time` (ISO 8601 UTC: the time the daemon passes with each line, through pino's `timestamp`
 * option, never pino's own clock), `pid`, `hostname`, then `detail` and `msg`. The line is pino's
 * message as given: no `%s`-style interpolation (pino formats only when extra arguments follow).
 *
 * pino writes each record synchronously, in the logging call, to the `write` function it is given
 * (the daemon's stderr: Node writes fd 2 synchronously on Linux for files, pipes, sockets and
 * terminals) — no transport, no worker thread, so nothing is buffered and a SIGTERM shutdown's last
 * lines are out before the process exits. Each record passes `terminalSafeRecord` on its way out
 * (C1 controls, format characters and lone surrogates as `\uXXXX`: same JSON value). Loaded only
 * when json is chosen (src/daemon/daemon.ts imports it lazily), so no other command loads pino. Not
 * pure: pino reads the pid and host name.
 */
import { pino } from "pino";
import type { LogSeverity } from "../../machines/events.ts";
import { logLevel, terminalSafeRecord } from "./log-format.ts";

/** Writes one line as a pino record stamped `at`. */
export type JsonLog = (at: Date, line: string, detail: boolean, severity?: LogSeverity) => void;

/** A json log writing each record, newline-terminated, to `write` (synchronously). */
export function jsonLog(write: (text: string) => void): JsonLog {
  // The time of the record being written: set just before each call into pino, read by `timestamp`.
  let at = new Date(0);
  const logger = pino(
    {
      level: "debug",
      timestamp: () => `,"time":${JSON.stringify(at.toISOString())}`,
    },
    { write: (record: string) => write(terminalSafeRecord(record)) },
  );
  return (time, line, detail, severity) => {
    at = time;
    logger[logLevel(detail, severity)]({ detail }, line);
  };
}
