/**
 * Interning of received VRRP messages, per socket: a master sends the same advert every interval, so
 * a socket sees the same few messages over and over. `RxInterner.intern` looks a message up straight
 * in the receive buffer (a 32-bit FNV-1a hash of its header bytes, then a byte-by-byte comparison
 * with the remembered one) and hands back the remembered copy and its lowercase hex text; only a message not
 * seen before is copied out of the buffer and hex-encoded. So the steady stream costs no allocation
 * per datagram, and every later lookup keyed by the hex (the journal's input texts, the codec's memo)
 * gets the same string object, whose hash V8 has already computed.
 * The bytes handed out are shared by every datagram with that content: read-only by contract (no
 * consumer writes into a received datagram). Collisions of the hash are harmless (the bytes are
 * compared; the newer message takes the slot). Memory is bounded (`maxEntries`, then it starts over).
 * Pure apart from the memo it holds (no I/O, no clock).
 */

/** One remembered message: its bytes (a private copy) and their lowercase hex text. */
export interface InternedBytes {
  readonly bytes: Uint8Array;
  readonly hex: string;
}

/** Messages remembered per socket before the interner starts over (a cache: any bound is correct). */
export const RX_INTERN_MAX = 4096;

const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Lowercase hex of `b[start, end)` (the same text as Buffer's `toString("hex")`). */
export const hexOfRange = (b: Uint8Array, start: number, end: number): string => {
  let s = "";
  for (let k = start; k < end; k++) s += HEX_PAIRS[b[k] as number];
  return s;
};

/** Bytes the hash reads: a VRRP header's first 8 — version and type, VRID, priority, counts, checksum. */
const HASHED_BYTES = 8;

/**
 * FNV-1a over the first `HASHED_BYTES` of `b[start, end)`, seeded with the length, folded to a small
 * non-negative integer. The VRRP checksum among them covers the whole message, so adverts that differ
 * anywhere almost always hash apart; the bytes are compared in full anyway.
 */
export const fnvRange = (b: Uint8Array, start: number, end: number): number => {
  let h = 0x811c9dc5 ^ (end - start);
  const stop = Math.min(end, start + HASHED_BYTES);
  for (let k = start; k < stop; k++) h = Math.imul(h ^ (b[k] as number), 0x01000193);
  return h >>> 2;
};

const sameBytes = (a: Uint8Array, b: Uint8Array, start: number, end: number): boolean => {
  if (a.length !== end - start) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[start + k]) return false;
  return true;
};

export class RxInterner {
  readonly #byHash = new Map<number, InternedBytes>();
  /** Messages answered from memory (tests and counters). */
  hits = 0;

  /** `hash` is injectable so tests can force collisions. */
  constructor(
    private readonly maxEntries: number = RX_INTERN_MAX,
    private readonly hash: (b: Uint8Array, start: number, end: number) => number = fnvRange,
  ) {}

  /** The remembered copy of `buf[start, end)` and its hex; remembers it first if it is new. */
  intern(buf: Uint8Array, start: number, end: number): InternedBytes {
    const h = this.hash(buf, start, end);
    const known = this.#byHash.get(h);
    if (known !== undefined && sameBytes(known.bytes, buf, start, end)) {
      this.hits++;
      return known;
    }
    // A copy (not `slice`: on a Buffer that is a view of the receive buffer, reused by the next read).
    const bytes = new Uint8Array(end - start);
    for (let k = start; k < end; k++) bytes[k - start] = buf[k] as number;
    const entry: InternedBytes = { bytes, hex: hexOfRange(bytes, 0, bytes.length) };
    if (known === undefined && this.#byHash.size >= this.maxEntries) this.#byHash.clear();
    this.#byHash.set(h, entry);
    return entry;
  }

  get size(): number {
    return this.#byHash.size;
  }
}
