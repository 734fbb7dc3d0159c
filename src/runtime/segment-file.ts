/**
 * `FileJournal`: the journal on disk, as checksum-chained, compacted segments (segment-format.ts).
 * Not pure (files, an optional flush timer on the injected clock).
 *
 * Files. With `maxSegmentBytes` set, segments are `STEM.000001.jsonl`, `STEM.000002.jsonl`, … next to
 * `path` (`STEM` is `path` without `.jsonl`); a new run continues after the highest number found, a
 * segment over `maxSegmentBytes` makes `shouldRotate()` true, and the node then calls
 * `startSegment(checkpoint)`: the current segment gets its trailer and is closed, the next one opens
 * with the header and the checkpoint line, and the oldest segments beyond `maxSegments` are deleted.
 * Without `maxSegmentBytes`, the run is one segment written at exactly `path` (truncated first).
 *
 * Durability. Lines are written in batches with one `write`; a batch is written when it reaches
 * `flushLines` lines, when an `out` line holds a `state` output (then also `fdatasync`, in the background:
 * the batch is written before `append` returns, its sync never blocks the event loop, so effects never
 * wait for the disk — background-sync.ts), when its first
 * line has waited `flushDelayUs` on the injected clock (if one is given), at rotation and at close. A
 * process crash loses at most the lines of the unwritten batch: < `flushLines` lines and, with a
 * clock, < `flushDelayUs` of time — never a state change (a repeated input waits for the next line
 * to know whether its outputs repeat: one more line at most). The last line of every batch carries the `;`
 * separator, so a reader tells a crash (segment ends on a batch boundary) from a cut.
 *
 * Write failures (a full disk, a quota, an I/O error) never reach the node: VRRP goes on. The
 * journal becomes `degraded` (`{ sinceMs, reason, lostLines }`), reports it once through
 * `onProblem`, cuts the current segment back to its last complete batch and from then on counts
 * the lines it is given instead of keeping them. Every `retryDelayUs` (segmented journals only)
 * `shouldRotate()` turns true, so the node offers a checkpoint: the old segment gets its trailer
 * and the next one opens with the checkpoint line carrying a `gap` (when writing stopped and
 * resumed, why, how many lines were lost), which `vigil replay` reports. If that fails too, the
 * journal stays degraded and tries again later. The inputs between the last batch written and the
 * checkpoint are lost; the state they led to is in the checkpoint.
 */
import {
  closeSync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { type AsyncSync, BackgroundSync } from "./background-sync.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { isHeaderLine, type Journal, stampHeader } from "./journal.ts";
import {
  CHAIN_SEED,
  hashText,
  SegmentEncoder,
  STATE_CHANGE,
  seal,
  sealedBytesMax,
} from "./segment-format.ts";

export interface FileJournalOptions {
  /** Rotate once the current segment is over this many bytes; absent: one segment at `path`. */
  readonly maxSegmentBytes?: number;
  /** Segments kept on disk, the newest included (default 8). */
  readonly maxSegments?: number;
  /** Lines per write batch at most (default 256 with a clock; 1 without, as there is no time bound). */
  readonly flushLines?: number;
  /** With `clock`: a buffered line waits at most this long before it is written (default 100 ms). */
  readonly flushDelayUs?: number;
  readonly clock?: Clock;
  /** `fdatasync` after a state change (in the background), at rotation and at close (default true). */
  readonly sync?: boolean;
  /** The background `fdatasync` after a state change (tests inject one; default node:fs's). */
  readonly fdatasync?: AsyncSync;
  /** Told once when writing fails (the journal is degraded: severity "error") and once when it resumes. */
  readonly onProblem?: (line: string, severity?: "error") => void;
  /** While degraded: how long between attempts to resume with a new segment (default 5 s). */
  readonly retryDelayUs?: number;
}

/** Why the journal is not being written, since when (wall clock), and what was dropped so far. */
export interface JournalDegraded {
  readonly sinceMs: number;
  readonly reason: string;
  /** Journal lines given to the journal and not written since it became degraded. */
  readonly lostLines: number;
}

/** Recorded in the checkpoint line of the segment written after a write failure. */
export interface JournalGap {
  readonly fromMs: number;
  readonly toMs: number;
  readonly reason: string;
  readonly lostLines: number;
}

const DEFAULT_RETRY_DELAY_US = 5_000_000;
/**
 * A write batch up to this many bytes is sealed into one buffer the journal keeps (a steady batch of
 * 256 compact lines is about 6 KB); a larger one (a checkpoint line) gets a buffer of its own.
 */
const KEPT_BATCH_BYTES = 64 * 1024;

const reasonOf = (e: unknown): string => {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === "string" && !message.startsWith(code) ? `${code}: ${message}` : message;
};

const SEG_RE = /^(.*)\.(\d{6,})\.jsonl$/;
const stemOf = (path: string): string => (path.endsWith(".jsonl") ? path.slice(0, -6) : path);

/** The file of segment `seg` of the journal at `path`. */
export const segmentPath = (path: string, seg: number): string =>
  `${stemOf(path)}.${String(seg).padStart(6, "0")}.jsonl`;

/** Segment numbers present on disk for the journal at `path`, ascending. */
export const listSegments = (path: string): number[] => {
  const stem = basename(stemOf(path));
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    const m = SEG_RE.exec(n);
    if (m !== null && m[1] === stem) out.push(Number(m[2]));
  }
  return out.sort((a, b) => a - b);
};

/** For a segment file's path: the journal path and segment number; undefined for other names. */
export const parseSegmentPath = (file: string): { path: string; seg: number } | undefined => {
  const m = SEG_RE.exec(basename(file));
  return m === null ? undefined : { path: join(dirname(file), `${m[1]}.jsonl`), seg: Number(m[2]) };
};

export class FileJournal implements Journal {
  readonly #path: string;
  readonly #opts: FileJournalOptions;
  readonly #flushLines: number;
  readonly #enc = new SegmentEncoder();
  readonly #buf: string[] = [];
  /** A batch's sealed bytes: reused for batches up to `KEPT_BATCH_BYTES` (a larger one gets its own). */
  #out: Buffer | undefined;
  readonly #end = { at: 0 };
  #fd: number | undefined;
  #seg: number;
  #chain = CHAIN_SEED;
  /** Physical lines written to the current segment. */
  #lines = 0;
  /** Bytes in the current segment, buffered lines included (UTF-16 units: ASCII in practice). */
  #bytes = 0;
  /**
   * The node's header line, deflated, for each new segment's head (segmented journals only). It
   * holds the whole configuration: 0.9 MB of text at 1,000 instances, 10-20 times less deflated.
   */
  #header: Buffer | undefined;
  #timer: TimerHandle | undefined;
  /** Bytes of the current segment on disk, up to the end of the last complete batch. */
  #offset = 0;
  #degraded: { readonly sinceMs: number; readonly reason: string } | undefined;
  #lost = 0;
  #retryAtUs = 0;
  /** A failed background sync of the segment still open degrades the journal like a failed write. */
  readonly #bgSync: BackgroundSync;

  /** `opts` as a number: `flushLines` (older callers). */
  constructor(path: string, opts: number | FileJournalOptions = {}) {
    this.#path = path;
    this.#opts = typeof opts === "number" ? { flushLines: opts } : opts;
    this.#flushLines = Math.max(1, this.#opts.flushLines ?? (this.#opts.clock === undefined ? 1 : 256));
    this.#bgSync = new BackgroundSync(this.#opts.fdatasync);
    const segmented = this.#opts.maxSegmentBytes !== undefined;
    this.#seg = segmented ? (listSegments(path).at(-1) ?? 0) + 1 : 1;
    try {
      this.#fd = openSync(this.#file(), "w");
    } catch (e) {
      // no room even for the file (inodes, quota, read-only): degraded from the start, never fatal
      this.#degrade(reasonOf(e), 0);
    }
    if (segmented) this.#prune();
  }

  /** The file being written. */
  get currentPath(): string {
    return this.#file();
  }

  /** False while the journal is written; otherwise why not, since when and what was lost. */
  get degraded(): false | JournalDegraded {
    const d = this.#degraded;
    return d === undefined ? false : { sinceMs: d.sinceMs, reason: d.reason, lostLines: this.#lost };
  }

  #file(): string {
    return this.#opts.maxSegmentBytes === undefined ? this.#path : segmentPath(this.#path, this.#seg);
  }

  append(line: string): void {
    if (isHeaderLine(line) && this.#opts.maxSegmentBytes !== undefined) this.#header = deflateRawSync(line);
    if (this.#degraded !== undefined) {
      this.#lost++;
      return;
    }
    if (this.#fd === undefined) return;
    const buf = this.#buf;
    const before = buf.length;
    if (isHeaderLine(line)) {
      this.#enc.drain(buf);
      buf.push(stampHeader(line, this.#seg));
    } else {
      this.#enc.encode(line, buf);
    }
    const c = line.charCodeAt(6);
    if (c === 111 /* {"t":"o… */ && line.includes(STATE_CHANGE)) this.#stateWritten(before);
    else this.#added(before);
  }

  /**
   * `append(line)` of `line`, the `out` line of event `seq` (a safe integer) whose outputs' JSON text
   * is `outputs` — without re-splitting the line (the node's hot path).
   */
  appendOut(seq: number, outputs: string, line?: string): void {
    if (this.#degraded !== undefined) {
      this.#lost++;
      return;
    }
    if (this.#fd === undefined) return;
    const before = this.#buf.length;
    this.#enc.encodeOut(seq, outputs, line, this.#buf);
    if (outputs.includes(STATE_CHANGE)) this.#stateWritten(before);
    else this.#added(before);
  }

  /** A state change was written: the batch goes out now, and the segment is synced in the background. */
  #stateWritten(before: number): void {
    this.#count(before);
    this.#flush(false);
    if (this.#fd !== undefined && this.#degraded === undefined && this.#opts.sync !== false) {
      // The segment still open when the sync fails (not a later one that reused the fd number).
      const seg = this.#seg;
      this.#bgSync.request(this.#fd, (e) => {
        if (seg === this.#seg && this.#fd !== undefined && this.#degraded === undefined)
          this.#degrade(reasonOf(e), 0);
      });
    }
  }

  /** Counts the payloads from `before` on and starts a batch's write (size) or its time bound. */
  #added(before: number): void {
    const buf = this.#buf;
    this.#count(before);
    if (buf.length >= this.#flushLines) this.#flush(false);
    else if (buf.length > 0 && this.#timer === undefined && this.#opts.clock !== undefined)
      this.#timer = this.#opts.clock.setTimerUs(this.#onFlushTimer, this.#opts.flushDelayUs ?? 100_000);
  }

  #count(before: number): void {
    const buf = this.#buf;
    for (let k = before; k < buf.length; k++) this.#bytes += (buf[k] as string).length + 8;
  }

  readonly #onFlushTimer = (): void => {
    this.#timer = undefined;
    this.#enc.drain(this.#buf);
    this.#flush(false);
  };

  /** `append(inLineOf(seq, atUs, input))`, without writing the line out first (the hot path). */
  appendIn(seq: number, atUs: number, input: string, hint?: { dict: number }): void {
    if (this.#degraded !== undefined) {
      this.#lost++;
      return;
    }
    if (this.#fd === undefined) return;
    const buf = this.#buf;
    const before = buf.length;
    this.#enc.encodeIn(seq, atUs, input, buf, undefined, hint);
    this.#added(before);
  }

  shouldRotate(): boolean {
    const max = this.#opts.maxSegmentBytes;
    if (max === undefined) return false;
    if (this.#degraded !== undefined) return this.#nowUs() >= this.#retryAtUs;
    return this.#bytes > max;
  }

  /**
   * Closes the current segment and opens the next one from `checkpoint`; while degraded, this is
   * the attempt to resume (the new segment's checkpoint line then records the gap).
   */
  startSegment(checkpoint: unknown): void {
    if (this.#opts.maxSegmentBytes === undefined) throw new Error("journal rotation needs maxSegmentBytes");
    if (this.#header === undefined || (this.#fd === undefined && this.#degraded === undefined)) return;
    if (this.#fd !== undefined && !this.#closeSegment()) {
      this.#stayDegraded("");
      return;
    }
    // closing may have degraded the journal (its last batch failed): the gap then starts there
    const was = this.#degraded;
    const seg = this.#seg + 1;
    const file = segmentPath(this.#path, seg);
    try {
      this.#fd = openSync(file, "w");
    } catch (e) {
      this.#stayDegraded(reasonOf(e));
      return;
    }
    this.#seg = seg;
    this.#chain = CHAIN_SEED;
    this.#lines = 0;
    this.#bytes = 0;
    this.#offset = 0;
    this.#buf.length = 0;
    const cp = checkpoint as { seq: number; atUs: number };
    this.#enc.reset(cp.seq, cp.atUs);
    const gap: JournalGap | undefined =
      was === undefined
        ? undefined
        : { fromMs: was.sinceMs, toMs: Date.now(), reason: was.reason, lostLines: this.#lost };
    this.#buf.push(
      stampHeader(inflateRawSync(this.#header).toString(), this.#seg),
      JSON.stringify(
        gap === undefined ? { t: "checkpoint", cp: checkpoint } : { t: "checkpoint", cp: checkpoint, gap },
      ),
    );
    for (const p of this.#buf) this.#bytes += p.length + 8;
    const failed = this.#writeBatch(true);
    if (failed !== undefined) {
      // not even the new segment's head fits: remove it and try again later
      try {
        closeSync(this.#fd);
        unlinkSync(file);
      } catch {
        // best effort
      }
      this.#fd = undefined;
      this.#seg = seg - 1;
      this.#stayDegraded(failed);
      return;
    }
    if (gap !== undefined) {
      this.#degraded = undefined;
      this.#lost = 0;
      this.#opts.onProblem?.(
        `journal: writing again (segment ${file}) after ${gap.lostLines} line(s) lost since ${new Date(gap.fromMs).toISOString()} (${gap.reason}); the gap is recorded in its checkpoint line`,
      );
    }
    this.#prune();
  }

  /** Writes the buffered batch now. */
  flush(): void {
    this.#enc.drain(this.#buf);
    this.#flush(false);
  }

  close(): void {
    if (this.#fd === undefined) return;
    if (!this.#closeSegment()) {
      try {
        closeSync(this.#fd);
      } catch {
        // closing is best effort once writing failed
      }
      this.#fd = undefined;
    }
  }

  #nowUs(): number {
    return this.#opts.clock?.nowUs() ?? Date.now() * 1000;
  }

  #flush(sync: boolean): void {
    if (this.#timer !== undefined) {
      this.#timer.cancel();
      this.#timer = undefined;
    }
    if (this.#degraded !== undefined) {
      this.#lost += this.#buf.length;
      this.#buf.length = 0;
      return;
    }
    if (this.#fd === undefined) return;
    const n = this.#buf.length;
    const failed = this.#writeBatch(sync);
    if (failed !== undefined) this.#degrade(failed, n);
  }

  /**
   * Seals and writes the buffered lines as one batch (then `fdatasync` if `sync`). On failure the
   * segment is cut back to its last complete batch, the chain and line count are restored, the
   * lines are dropped, and the reason is returned.
   */
  #writeBatch(sync: boolean): string | undefined {
    const fd = this.#fd as number;
    const chain = this.#chain;
    const lines = this.#lines;
    try {
      if (this.#buf.length > 0) {
        const max = sealedBytesMax(this.#buf);
        let data = this.#out;
        if (max > KEPT_BATCH_BYTES) data = Buffer.allocUnsafeSlow(max);
        else if (data === undefined) {
          data = Buffer.allocUnsafeSlow(KEPT_BATCH_BYTES);
          this.#out = data;
        }
        this.#chain = seal(this.#chain, this.#buf, true, data, 0, this.#end);
        const length = this.#end.at;
        this.#lines += this.#buf.length;
        this.#buf.length = 0;
        for (let at = 0; at < length; ) {
          // positional: after a failed batch is cut off, the next write goes where the cut is
          const n = writeSync(fd, data, at, length - at, this.#offset + at);
          if (n <= 0) throw new Error("short write");
          at += n;
        }
        this.#offset += length;
      }
      if (sync && this.#opts.sync !== false) fdatasyncSync(fd);
      return undefined;
    } catch (e) {
      this.#buf.length = 0;
      this.#chain = chain;
      this.#lines = lines;
      try {
        ftruncateSync(fd, this.#offset);
      } catch {
        // the reader then reports a cut segment
      }
      return reasonOf(e);
    }
  }

  /** Becomes degraded (logged once); `dropped` lines of the failed batch count as lost. */
  #degrade(reason: string, dropped: number): void {
    this.#degraded = { sinceMs: Date.now(), reason };
    this.#lost = dropped;
    this.#retryAtUs = this.#nowUs() + (this.#opts.retryDelayUs ?? DEFAULT_RETRY_DELAY_US);
    const resume =
      this.#opts.maxSegmentBytes === undefined
        ? "the journal stays off until restart"
        : "a new segment is tried every few seconds";
    this.#opts.onProblem?.(
      `journal: cannot write ${this.#file()}: ${reason} - VRRP goes on without a journal; lines are counted, not kept; ${resume}`,
      "error",
    );
  }

  /** A rotation or resume attempt failed: degraded (logged if new), the next try later. */
  #stayDegraded(reason: string): void {
    if (this.#degraded === undefined) this.#degrade(reason, 0);
    else this.#retryAtUs = this.#nowUs() + (this.#opts.retryDelayUs ?? DEFAULT_RETRY_DELAY_US);
  }

  /**
   * Flushes (unless degraded), writes the trailer, syncs and closes the current segment. False
   * (the segment left open, cut back to its last batch, and the journal degraded) if it fails.
   */
  #closeSegment(): boolean {
    if (this.#degraded === undefined) {
      this.#enc.drain(this.#buf);
      this.#flush(false);
    }
    this.#buf.length = 0;
    this.#buf.push(JSON.stringify({ t: "end", lines: this.#lines, chain: hashText(this.#chain) }));
    const failed = this.#writeBatch(true);
    if (failed !== undefined) {
      if (this.#degraded === undefined) this.#degrade(failed, 0);
      return false;
    }
    closeSync(this.#fd as number);
    this.#fd = undefined;
    return true;
  }

  #prune(): void {
    const keep = Math.max(1, this.#opts.maxSegments ?? 8);
    const segs = listSegments(this.#path);
    for (const s of segs.slice(0, Math.max(0, segs.length - keep))) {
      try {
        unlinkSync(segmentPath(this.#path, s));
      } catch {
        // already gone: retention is best effort
      }
    }
  }
}
