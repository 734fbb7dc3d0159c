/**
 * The on-disk line format of a journal segment, without any I/O: a `SegmentEncoder` turns the node's
 * logical journal lines (header, `in`, `out`) into physical lines, and `decodePhysical` checks and
 * expands them again. Pure (no `node:` imports, no clock; the encoder holds only its own state).
 *
 * Physical line = PAYLOAD SEP HASH, where HASH is 6 base64url characters of a 32-bit FNV-1a chain:
 * `h_i = fnv1a(h_{i-1}, PAYLOAD SEP)`, `h_0 = CHAIN_SEED`. SEP is `;` on the last line of a write
 * batch (so a crash can only leave a segment ending at a `;` line) and a space elsewhere. PAYLOAD is
 * either a JSON line (header, checkpoint, `in`, `out`, trailer) or a compact reference:
 *   `r<id>.<dt>`  the input of dictionary entry `id`, seq = previous seq + 1, atUs = previous + dt;
 *                 its `out` line, if any, follows in full;
 *   `R<id>.<dt>`  the same, and its outputs are those recorded after the previous use of `id`.
 * `id` and `dt` are base 36. Every full `rx`/`timer` input becomes dictionary entry
 * `n mod DICT_SIZE` (n = count of such lines in the segment), so writer and reader agree without
 * storing the dictionary. The chain is a checksum, not a MAC: it finds edits, reorders, duplicates and
 * cuts; someone who recomputes it can forge a segment.
 */

import { decimal, inLineOf } from "./input-text.ts";
import { FNV1A_PRIME, FNV1A_SEED } from "./prng.ts";

export const CHAIN_SEED = FNV1A_SEED;
export const DICT_SIZE = 4096;
/** SEP + HASH. */
export const SEAL_CHARS = 7;

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Every pair of base64url characters, by its 12 bits: a hash's text is three of them. */
const B64_PAIRS: readonly string[] = Array.from(
  { length: 4096 },
  (_, bits) => B64.charAt(bits >>> 6) + B64.charAt(bits & 63),
);
const pairOf = (h: number, shift: number): string => B64_PAIRS[(h >>> shift) & 4095] as string;

/** HASH: the 32-bit chain value as 6 base64url characters, most significant first (2 bits, then 6 each). */
export const hashText = (h: number): string => pairOf(h, 24) + pairOf(h, 12) + pairOf(h, 0);

const IN_HEAD = '{"t":"in","ev":{"seq":';
const OUT_HEAD = '{"t":"out","seq":';

/** seq, atUs and the input's JSON text of an `in` line written by `inLine`; undefined otherwise. */
export const splitInLine = (line: string): { seq: number; atUs: number; input: string } | undefined => {
  if (!line.startsWith(IN_HEAD)) return undefined;
  const a = line.indexOf(',"atUs":', IN_HEAD.length);
  const b = a < 0 ? -1 : line.indexOf(',"input":', a);
  if (b < 0 || !line.endsWith("}}")) return undefined;
  const seq = Number(line.slice(IN_HEAD.length, a));
  const atUs = Number(line.slice(a + 8, b));
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(atUs)) return undefined;
  return { seq, atUs, input: line.slice(b + 9, -2) };
};

/** seq and the outputs' JSON text of an `out` line; undefined otherwise. */
export const splitOutLine = (line: string): { seq: number; out: string } | undefined => {
  if (!line.startsWith(OUT_HEAD)) return undefined;
  const a = line.indexOf(',"out":', OUT_HEAD.length);
  if (a < 0 || !line.endsWith("}")) return undefined;
  const seq = Number(line.slice(OUT_HEAD.length, a));
  return Number.isSafeInteger(seq) ? { seq, out: line.slice(a + 7, -1) } : undefined;
};

export const outLineText = (seq: number, out: string): string => `${OUT_HEAD}${decimal(seq)},"out":${out}}`;

/** What every state change's outputs contain (a `state` output). */
export const STATE_CHANGE = '"type":"state"';

/**
 * The outputs an entry keeps to compact their repeat: not a state change's. A steady state repeats
 * none, and each one held (≈ 0.7 KB: the transition's logs, VIPs, GARPs, notifies) would stay until
 * its dictionary slot or the segment ends — 0.7 MB for 1,000 instances that took over once. A repeat
 * of them is written in full, as after any change of outputs.
 */
const remembered = (outputs: string): string | undefined =>
  outputs.includes(STATE_CHANGE) ? undefined : outputs;

/** Inputs worth a dictionary entry: the ones a steady state repeats. */
export const isRepeatable = (inputText: string): boolean =>
  inputText.startsWith('{"kind":"rx"') || inputText.startsWith('{"kind":"timer"');

interface Entry {
  text: string;
  lastOut: string | undefined;
  /** The encoder's `#byText` maps `text` to this entry (a hint naming it is good); the reader ignores it. */
  live: boolean;
}

/** `id` in base 36 for the dictionary's ids (made once per id: compact references repeat them). */
const ID36: readonly string[] = Array.from({ length: DICT_SIZE }, (_, id) => id.toString(36));
const id36 = (id: number): string => ID36[id] ?? id.toString(36);

/**
 * Logical lines in, physical payloads out (unsealed). An `in` line that repeats a dictionary input
 * is held until its `out` line (or the next line, or a flush) shows whether its outputs repeat too.
 */
export class SegmentEncoder {
  readonly #byText = new Map<string, number>();
  readonly #entries: Entry[] = [];
  #defined = 0;
  #lastSeq: number | undefined;
  #lastAtUs = 0;
  /** A compact `in` whose outputs are not known yet (`#pendingSlot` when set: one object, reused). */
  #pending: { id: number; dt: number; seq: number } | undefined;
  readonly #pendingSlot = { id: 0, dt: 0, seq: 0 };
  /** Entry of the last full `in` line (its `out` line sets the entry's lastOut). */
  #fullId: { id: number; seq: number } | undefined;

  /** Starts a segment: empties the dictionary; `seq`/`atUs` are the checkpoint's (or undefined). */
  reset(seq: number | undefined, atUs: number): void {
    this.#byText.clear();
    this.#entries.length = 0;
    this.#defined = 0;
    this.#lastSeq = seq;
    this.#lastAtUs = atUs;
    this.#pending = undefined;
    this.#fullId = undefined;
  }

  /** Payloads to write for one logical line (possibly none yet, possibly two). */
  encode(line: string, out: string[]): void {
    const o = line.startsWith(OUT_HEAD) ? splitOutLine(line) : undefined;
    if (o !== undefined) {
      this.encodeOut(o.seq, o.out, line, out);
      return;
    }
    const i = splitInLine(line);
    if (i === undefined) {
      this.drain(out);
      this.#fullId = undefined;
      out.push(line);
      return;
    }
    this.encodeIn(i.seq, i.atUs, i.input, out, line);
  }

  /**
   * The payloads for `line`, the `out` line of event `seq` (a safe integer) whose outputs' JSON text is
   * `outputs` (`outLineText(seq, outputs)`): the same as `encode(line)`, without splitting the line;
   * without `line`, the line is built only if it is written in full. A repeated step's outputs come as
   * the same string object (node.ts), so comparing them with the entry's last ones is a pointer
   * comparison.
   */
  encodeOut(seq: number, outputs: string, line: string | undefined, out: string[]): void {
    const p = this.#pending;
    if (p !== undefined && p.seq === seq) {
      this.#pending = undefined;
      const e = this.#entries[p.id] as Entry;
      const ref = `${id36(p.id)}.${p.dt.toString(36)}`;
      // (a repeat's outputs are the ones kept: only a change is looked at)
      if (e.lastOut === outputs) out.push(`R${ref}`);
      else {
        out.push(`r${ref}`, line ?? outLineText(seq, outputs));
        e.lastOut = remembered(outputs);
      }
      return;
    }
    this.drain(out);
    const f = this.#fullId;
    if (f !== undefined && f.seq === seq) (this.#entries[f.id] as Entry).lastOut = remembered(outputs);
    this.#fullId = undefined;
    out.push(line ?? outLineText(seq, outputs));
  }

  /**
   * The payloads for the `in` line of event (seq, atUs) whose input's JSON text is `input` — the same
   * as `encode(inLineOf(seq, atUs, input))`, without writing and re-splitting the line (`line`: that
   * text when the caller has it). `hint`: the caller's memo of the dictionary entry it last saw for
   * this text (node.ts keeps one per distinct datagram, `RxMemo.dict`); it is checked and updated,
   * and changes nothing written.
   */
  encodeIn(
    seq: number,
    atUs: number,
    input: string,
    out: string[],
    line?: string,
    hint?: { dict: number },
  ): void {
    this.drain(out);
    this.#fullId = undefined;
    const expectedSeq = this.#lastSeq === undefined ? seq : this.#lastSeq + 1;
    // The caller's hint, if it names this text's live entry, saves the lookup (the same answer).
    const h = hint === undefined ? -1 : hint.dict;
    const e = h >= 0 ? this.#entries[h] : undefined;
    const id = e?.live === true && e.text === input ? h : this.#byText.get(input);
    if (id !== undefined && seq === expectedSeq && atUs >= this.#lastAtUs) {
      const p = this.#pendingSlot;
      p.id = id;
      p.dt = atUs - this.#lastAtUs;
      p.seq = seq;
      this.#pending = p;
    } else {
      out.push(line ?? inLineOf(seq, atUs, input));
      if (isRepeatable(input)) {
        const slot = this.#defined++ % DICT_SIZE;
        const old = this.#entries[slot];
        if (old !== undefined) {
          const cur = this.#byText.get(old.text);
          if (cur !== undefined) (this.#entries[cur] as Entry).live = false;
          this.#byText.delete(old.text);
        }
        if (id !== undefined) (this.#entries[id] as Entry).live = false;
        this.#entries[slot] = { text: input, lastOut: undefined, live: true };
        this.#byText.set(input, slot);
        if (hint !== undefined) hint.dict = slot;
        this.#fullId = { id: slot, seq };
      }
    }
    this.#lastSeq = seq;
    this.#lastAtUs = atUs;
  }

  /** Writes a held compact `in` line (it produced no outputs). */
  drain(out: string[]): void {
    const p = this.#pending;
    if (p === undefined) return;
    this.#pending = undefined;
    (this.#entries[p.id] as Entry).lastOut = undefined;
    out.push(`r${id36(p.id)}.${p.dt.toString(36)}`);
  }
}

/** The most bytes `seal` writes for `payloads`: 3 per UTF-16 code unit, and SEP, HASH and a newline per line. */
export const sealedBytesMax = (payloads: readonly string[]): number => {
  let n = 0;
  for (let k = 0; k < payloads.length; k++) n += (payloads[k] as string).length * 3 + SEAL_CHARS + 1;
  return n;
};

/** HASH's characters as bytes. */
const B64_BYTES = Uint8Array.from(B64, (c) => c.charCodeAt(0));

/**
 * Writes the sealed physical lines of `payloads` into `out` from byte `at` — each PAYLOAD SEP HASH and
 * a newline, in UTF-8; the last one ends a write batch if `endBatch` — and returns the chain value
 * after them; `end.at` is set to the offset after the last byte. `out` must have room for
 * `sealedBytesMax(payloads)` bytes. One pass over each payload hashes (FNV-1a over its UTF-16 code
 * units, as `fnv1a`) and encodes it (a lone surrogate as U+FFFD, as node:buffer does); no string is
 * made.
 */
export const seal = (
  chain: number,
  payloads: readonly string[],
  endBatch: boolean,
  out: Uint8Array,
  at: number,
  end: { at: number },
): number => {
  let h = chain >>> 0;
  let o = at;
  const n = payloads.length;
  for (let k = 0; k < n; k++) {
    const text = payloads[k] as string;
    const len = text.length;
    for (let i = 0; i < len; i++) {
      let c = text.charCodeAt(i);
      h = Math.imul(h ^ c, FNV1A_PRIME) >>> 0;
      if (c < 0x80) {
        out[o++] = c;
        continue;
      }
      if (c < 0x800) {
        out[o++] = 0xc0 | (c >>> 6);
        out[o++] = 0x80 | (c & 63);
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = c <= 0xdbff && i + 1 < len ? text.charCodeAt(i + 1) : 0;
        if (d >= 0xdc00 && d <= 0xdfff) {
          h = Math.imul(h ^ d, FNV1A_PRIME) >>> 0;
          i++;
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          out[o++] = 0xf0 | (cp >>> 18);
          out[o++] = 0x80 | ((cp >>> 12) & 63);
          out[o++] = 0x80 | ((cp >>> 6) & 63);
          out[o++] = 0x80 | (cp & 63);
          continue;
        }
        c = 0xfffd;
      }
      out[o++] = 0xe0 | (c >>> 12);
      out[o++] = 0x80 | ((c >>> 6) & 63);
      out[o++] = 0x80 | (c & 63);
    }
    const sep = endBatch && k === n - 1 ? 0x3b : 0x20; // ";" or " "
    h = Math.imul(h ^ sep, FNV1A_PRIME) >>> 0;
    out[o++] = sep;
    for (let shift = 30; shift >= 0; shift -= 6) out[o++] = B64_BYTES[(h >>> shift) & 63] as number;
    out[o++] = 0x0a;
  }
  end.at = o;
  return h;
};

/** Reader side of the dictionary: expands compact references back into logical lines. */
export class SegmentExpander {
  readonly #entries: Entry[] = [];
  #defined = 0;
  #lastSeq = 0;
  #lastAtUs = 0;
  /** Entry whose outputs the next `out` line records. */
  #outFor: { id: number; seq: number } | undefined;

  reset(seq: number, atUs: number): void {
    this.#entries.length = 0;
    this.#defined = 0;
    this.#lastSeq = seq;
    this.#lastAtUs = atUs;
    this.#outFor = undefined;
  }

  /**
   * The logical lines for one payload, or an error message. Compact references are expanded to
   * the exact text `inLine` wrote.
   */
  expand(payload: string): { lines: string[] } | { error: string } {
    const c = payload.charCodeAt(0);
    if (c === 114 /* r */ || c === 82 /* R */) {
      const m = /^[rR]([0-9a-z]{1,8})\.([0-9a-z]{1,12})$/.exec(payload);
      if (m === null) return { error: "malformed compact reference" };
      const id = Number.parseInt(m[1] as string, 36);
      const dt = Number.parseInt(m[2] as string, 36);
      const e = this.#entries[id];
      if (e === undefined || !Number.isSafeInteger(dt))
        return { error: `reference to dictionary entry ${m[1]} that this segment never defined` };
      const seq = this.#lastSeq + 1;
      const atUs = this.#lastAtUs + dt;
      this.#lastSeq = seq;
      this.#lastAtUs = atUs;
      const inText = inLineOf(seq, atUs, e.text);
      if (c === 82) {
        if (e.lastOut === undefined) return { error: `repeat of outputs entry ${m[1]} never had` };
        this.#outFor = undefined;
        return { lines: [inText, outLineText(seq, e.lastOut)] };
      }
      e.lastOut = undefined;
      this.#outFor = { id, seq };
      return { lines: [inText] };
    }
    const o = splitOutLine(payload);
    if (o !== undefined) {
      const f = this.#outFor;
      if (f !== undefined && f.seq === o.seq) (this.#entries[f.id] as Entry).lastOut = o.out;
      this.#outFor = undefined;
      return { lines: [payload] };
    }
    this.#outFor = undefined;
    const i = splitInLine(payload);
    if (i !== undefined) {
      if (isRepeatable(i.input)) {
        const slot = this.#defined++ % DICT_SIZE;
        this.#entries[slot] = { text: i.input, lastOut: undefined, live: false };
        this.#outFor = { id: slot, seq: i.seq };
      }
      this.#lastSeq = i.seq;
      this.#lastAtUs = i.atUs;
    }
    return { lines: [payload] };
  }
}
