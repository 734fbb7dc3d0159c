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
 * `flushLines` lines, when an `out` line holds a `state` output (then also `fdatasync`), when its first
 * line has waited `flushDelayUs` on the injected clock (if one is given), at rotation and at close. A
 * process crash loses at most the lines of the unwritten batch: < `flushLines` lines and, with a
 * clock, < `flushDelayUs` of time — never a state change (a repeated input waits for the next line
 * to know whether its outputs repeat: one more line at most). The last line of every batch carries the `;`
 * separator, so a reader tells a crash (segment ends on a batch boundary) from a cut.
 */
import { closeSync, fdatasyncSync, openSync, readdirSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Clock, TimerHandle } from "./clock.ts";
import { isHeaderLine, type Journal, stampHeader } from "./journal.ts";
import { CHAIN_SEED, hashText, SegmentEncoder, seal } from "./segment-format.ts";

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
  /** `fdatasync` after a state change, at rotation and at close (default true). */
  readonly sync?: boolean;
}

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
  readonly #parts: string[] = [];
  #fd: number | undefined;
  #seg: number;
  #chain = CHAIN_SEED;
  /** Physical lines written to the current segment. */
  #lines = 0;
  /** Bytes in the current segment, buffered lines included (UTF-16 units: ASCII in practice). */
  #bytes = 0;
  #header: string | undefined;
  #timer: TimerHandle | undefined;

  /** `opts` as a number: `flushLines` (older callers). */
  constructor(path: string, opts: number | FileJournalOptions = {}) {
    this.#path = path;
    this.#opts = typeof opts === "number" ? { flushLines: opts } : opts;
    this.#flushLines = Math.max(1, this.#opts.flushLines ?? (this.#opts.clock === undefined ? 1 : 256));
    const segmented = this.#opts.maxSegmentBytes !== undefined;
    this.#seg = segmented ? (listSegments(path).at(-1) ?? 0) + 1 : 1;
    this.#fd = openSync(this.#file(), "w");
    if (segmented) this.#prune();
  }

  /** The file being written. */
  get currentPath(): string {
    return this.#file();
  }

  #file(): string {
    return this.#opts.maxSegmentBytes === undefined ? this.#path : segmentPath(this.#path, this.#seg);
  }

  append(line: string): void {
    if (this.#fd === undefined) return;
    const buf = this.#buf;
    const before = buf.length;
    if (isHeaderLine(line)) {
      this.#header = line;
      this.#enc.drain(buf);
      buf.push(stampHeader(line, this.#seg));
    } else {
      this.#enc.encode(line, buf);
    }
    const c = line.charCodeAt(6);
    if (c === 111 /* {"t":"o… */ && line.includes('"type":"state"')) {
      this.#count(before);
      this.#flush(true);
    } else this.#added(before);
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
  appendIn(seq: number, atUs: number, input: string): void {
    if (this.#fd === undefined) return;
    const buf = this.#buf;
    const before = buf.length;
    this.#enc.encodeIn(seq, atUs, input, buf);
    this.#added(before);
  }

  shouldRotate(): boolean {
    const max = this.#opts.maxSegmentBytes;
    return max !== undefined && this.#bytes > max;
  }

  startSegment(checkpoint: unknown): void {
    if (this.#opts.maxSegmentBytes === undefined) throw new Error("journal rotation needs maxSegmentBytes");
    if (this.#header === undefined || this.#fd === undefined) return;
    this.#closeSegment();
    this.#seg++;
    this.#fd = openSync(this.#file(), "w");
    this.#chain = CHAIN_SEED;
    this.#lines = 0;
    this.#bytes = 0;
    const cp = checkpoint as { seq: number; atUs: number };
    this.#enc.reset(cp.seq, cp.atUs);
    this.#buf.push(stampHeader(this.#header, this.#seg), JSON.stringify({ t: "checkpoint", cp: checkpoint }));
    for (const p of this.#buf) this.#bytes += p.length + 8;
    this.#flush(true);
    this.#prune();
  }

  /** Writes the buffered batch now. */
  flush(): void {
    this.#enc.drain(this.#buf);
    this.#flush(false);
  }

  close(): void {
    if (this.#fd === undefined) return;
    this.#closeSegment();
  }

  #flush(sync: boolean): void {
    if (this.#timer !== undefined) {
      this.#timer.cancel();
      this.#timer = undefined;
    }
    const fd = this.#fd;
    if (fd === undefined) return;
    if (this.#buf.length > 0) {
      this.#chain = seal(this.#chain, this.#buf, this.#parts, true);
      this.#lines += this.#buf.length;
      this.#buf.length = 0;
      writeSync(fd, this.#parts.join(""));
      this.#parts.length = 0;
    }
    if (sync && this.#opts.sync !== false) fdatasyncSync(fd);
  }

  /** Flushes, writes the trailer, syncs and closes the current segment. */
  #closeSegment(): void {
    this.#enc.drain(this.#buf);
    this.#flush(false);
    this.#buf.push(JSON.stringify({ t: "end", lines: this.#lines, chain: hashText(this.#chain) }));
    this.#flush(true);
    closeSync(this.#fd as number);
    this.#fd = undefined;
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
