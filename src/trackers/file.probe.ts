/**
 * The `track_file` probe: the file's value, re-read whenever inotify (through `fs.watch` on the
 * file's directory, so deletion and re-creation are seen) reports a change of that name; no polling.
 * Parsing is keepalived 2.2.7's process_track_file (trackers/track_file.c): the first 127 bytes,
 * `strtol(buf, NULL, 0)` (leading space, sign, 0x hex and 0 octal prefixes, stops at the first
 * non-digit; no digits → 0); an empty, missing or unreadable file is 0; a value outside
 * [INT32_MIN, INT32_MAX + 1] is logged `Invalid number N read from PATH - ignoring` and the previous
 * value kept. keepalived reads on IN_CLOSE_WRITE / IN_MOVED_TO and treats IN_DELETE / IN_MOVED_FROM
 * as 0; fs.watch reports IN_MODIFY instead of IN_CLOSE_WRITE, so events are gathered for
 * `settleMs` (on the injected clock) before the read, so that a truncate-then-write is read once,
 * whole. `init_file [VAL] [overwrite]` (`initTrackFile`) writes `VAL\n` at start as keepalived does
 * at config time. Not pure: reads and watches the file system.
 */
import { type FSWatcher, readFileSync, statSync, watch, writeFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { auditTime, Observable, Subject } from "rxjs";
import type { TrackFile } from "../config/types.ts";
import type { Clock } from "../runtime/clock.ts";
import type { ProbeInput, ProbeLog } from "./script.probe.ts";

const INT32_MIN = -2147483648;
const INT32_MAX_PLUS_1 = 2147483648;
const LONG_MAX = 9223372036854775807n;
const LONG_MIN = -9223372036854775808n;

/** C's strtol(s, NULL, 0) on a 64-bit long: the value, saturated at LONG_MIN/LONG_MAX (ERANGE). */
export function strtol0(text: string): { value: bigint; erange: boolean } {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX](?=[0-9a-fA-F])|0)?/.exec(text);
  if (m === null) return { value: 0n, erange: false };
  const neg = m[1] === "-";
  const prefix = m[2] ?? "";
  const base = prefix.length === 2 ? 16 : prefix === "0" ? 8 : 10;
  const rest = text.slice(m[0].length);
  const digits = (base === 16 ? /^[0-9a-fA-F]*/ : base === 8 ? /^[0-7]*/ : /^[0-9]*/).exec(
    rest,
  )?.[0] as string;
  let v = 0n;
  const b = BigInt(base);
  for (const ch of digits) v = v * b + BigInt(Number.parseInt(ch, 16));
  if (neg) v = -v;
  if (v > LONG_MAX) return { value: LONG_MAX, erange: true };
  if (v < LONG_MIN) return { value: LONG_MIN, erange: true };
  return { value: v, erange: false };
}

/** The value keepalived reads from a tracked file's content, or `invalid` (logged, ignored). */
export function parseTrackFileValue(content: Buffer): { value: number } | { invalid: string } {
  const head = content.subarray(0, 127);
  if (head.length === 0) return { value: 0 };
  // The buffer is a C string: it ends at the first NUL.
  const nul = head.indexOf(0);
  const text = head.subarray(0, nul === -1 ? head.length : nul).toString("latin1");
  const { value, erange } = strtol0(text);
  if (erange || value < BigInt(INT32_MIN) || value > BigInt(INT32_MAX_PLUS_1))
    return { invalid: value.toString() };
  return { value: Number(value) };
}

/** Reads the file now: its value, 0 when missing/unreadable, or `invalid`. */
export function readTrackFile(path: string): { value: number } | { invalid: string } {
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch {
    return { value: 0 };
  }
  return parseTrackFileValue(content);
}

/**
 * keepalived's track_file_end_handler for `init_file`: with `overwrite` the value is (re)written
 * unless the path exists and is not a regular file; without it the file is only created when
 * missing. Returns keepalived's error line, or null.
 */
export function initTrackFile(
  f: Pick<TrackFile, "name" | "path" | "initValue" | "initOverwrite">,
): string | null {
  if (f.initValue === null && !f.initOverwrite) return null;
  try {
    const st = statSync(f.path);
    if (!f.initOverwrite) return null;
    if (!st.isFile()) return `Cannot initialise track file ${f.name} - it is not a regular file`;
  } catch {
    // missing: created below
  }
  try {
    writeFileSync(f.path, `${f.initValue ?? 0}\n`);
    return null;
  } catch {
    return `Unable to initialise track file ${f.name}`;
  }
}

export interface FileProbeSpec {
  readonly name: string;
  readonly path: string;
}

/** How long change events are gathered before the file is read (see the module comment). */
export const FILE_SETTLE_MS = 20;

/**
 * The probe stream of one tracked file: its value at subscription, then its value after each change
 * (repeats are harmless: the tracker machine passes on changes only). If the directory cannot be
 * watched, logs keepalived's line and reports only the initial value.
 */
export function fileProbe$(
  spec: FileProbeSpec,
  deps: {
    readonly clock: Clock;
    readonly log: ProbeLog;
    readonly settleMs?: number;
    /** Called with each watcher opened and closed (tests assert none is left). */
    readonly onWatcher?: (open: boolean) => void;
  },
): Observable<ProbeInput> {
  return new Observable<ProbeInput>((subscriber) => {
    const report = (): void => {
      const r = readTrackFile(spec.path);
      if ("invalid" in r) {
        deps.log(`Invalid number ${r.invalid} read from ${spec.path} - ignoring`, false);
        return;
      }
      subscriber.next({ kind: "probe", tracker: spec.name, ok: true, value: r.value });
    };
    report();
    const changes = new Subject<void>();
    const sub = changes.pipe(auditTime(deps.settleMs ?? FILE_SETTLE_MS, deps.clock)).subscribe(report);
    const file = basename(spec.path);
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(dirname(spec.path), { persistent: false }, (_event, name) => {
        if (name === null || name === file) changes.next();
      });
      deps.onWatcher?.(true);
      watcher.on("error", (e) => {
        deps.log(`inotify read() returned error - ${e.message}`, false);
        watcher?.close();
      });
    } catch {
      deps.log(`Track file directory for ${spec.name} does not exist - removing`, false);
      watcher = undefined;
    }
    return () => {
      sub.unsubscribe();
      changes.complete();
      if (watcher !== undefined) {
        watcher.close();
        deps.onWatcher?.(false);
        watcher = undefined;
      }
    };
  });
}
