/**
 * Adverts that may wait: the kernel filter of an IPv4 raw socket's doorbell (raw4.socket.ts).
 *
 * A BACKUP hears its master's advert every interval, and each one only restarts its down timer: the
 * node applies it, nothing changes, nothing is emitted. Such an advert need not be read the moment
 * it arrives, as long as it is applied, with its kernel arrival time, before anything else the node
 * applies and before a down timer fires (which the node and the clock see to). So an IPv4 socket in
 * doorbell mode is not watched itself: it queues every datagram, in order, and is read in full when
 * a second socket on the interface — the doorbell — has something, before other input, and at a bounded
 * period. The doorbell's classic BPF program keeps every datagram *except* the steady adverts the
 * node has named (`SteadyAdvert`): one entry per VRID, matching the source and the VRRP message's
 * first 8 bytes (type, VRID, priority, count, interval and the checksum over the whole message) of
 * a datagram with a 20-byte IPv4 header and TTL 255. What the doorbell keeps is thrown away once it has woken the
 * process: the datagrams themselves are read from the queue, so a filter that is stale or wrong for
 * a moment can only make a datagram wait (or wake the process for nothing), never lose or reorder one.
 * Pure: builds bytes.
 */

/** An advert the node applied that only restarted a down timer (a BACKUP's master, heard again). */
export interface SteadyAdvert {
  readonly ifname: string;
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  readonly ttl: number;
  /** The VRRP message as lowercase hex. */
  readonly hex: string;
}

/** One steady advert as the filter compares it (as the kernel loads them: big-endian words). */
export interface SteadyEntry {
  readonly vrid: number;
  readonly src: number;
  /** The VRRP message's bytes 0–3 (version and type, VRID, priority, count) and 4–7 (interval, checksum). */
  readonly word0: number;
  readonly word1: number;
  /** The advert it was made from (an entry named again with the same strings is unchanged: `sameAdvert`). */
  readonly advert: SteadyAdvert;
}

/** The VRRP message's first bytes the entry compares (the checksum among them covers the rest). */
const COMPARED_BYTES = 8;
const IPV4_HEADER = 20;
/** Bytes of a datagram the doorbell keeps (its content is never read). */
export const DOORBELL_KEEP = 64;
/** The kernel's limit on a classic BPF program (BPF_MAXINSNS). */
export const MAX_PROGRAM_INSTRUCTIONS = 4096;
/** Instructions per entry (see `doorbellProgram`) and around them. */
const ENTRY_INSTRUCTIONS = 7;
const FRAME_INSTRUCTIONS = 15;
/** Entries one program holds at most: every VRID (1–255) fits. */
export const MAX_STEADY_ENTRIES = Math.floor(
  (MAX_PROGRAM_INSTRUCTIONS - FRAME_INSTRUCTIONS) / ENTRY_INSTRUCTIONS,
);
/** The TTL every steady advert has (a multicast advert's; a unicast_ttl below it always rings). */
const STEADY_TTL = 255;

const ipv4Word = (address: string): number | undefined => {
  const parts = address.split(".");
  if (parts.length !== 4) return undefined;
  let w = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const b = Number(p);
    if (b > 255) return undefined;
    w = w * 256 + b;
  }
  return w;
};

const hexWord = (hex: string, byte: number): number => Number.parseInt(hex.slice(byte * 2, byte * 2 + 8), 16);

/**
 * The filter entry for an IPv4 steady advert, or undefined when it cannot be one (IPv6, a TTL other
 * than 255, malformed text).
 */
export function steadyEntry(a: SteadyAdvert): SteadyEntry | undefined {
  if (a.family !== 4 || a.ttl !== STEADY_TTL || a.hex.length < COMPARED_BYTES * 2 || a.hex.length % 2 !== 0)
    return undefined;
  if (!/^[0-9a-f]+$/.test(a.hex)) return undefined;
  const src = ipv4Word(a.src);
  if (src === undefined) return undefined;
  return {
    vrid: Number.parseInt(a.hex.slice(2, 4), 16),
    src,
    word0: hexWord(a.hex, 0),
    word1: hexWord(a.hex, 4),
    advert: a,
  };
}

/** Whether `a` is the advert `e` was made from (the hex texts of a raw socket are interned: one compare). */
export const sameAdvert = (e: SteadyEntry, a: SteadyAdvert): boolean =>
  e.advert.hex === a.hex && e.advert.src === a.src && e.advert.dst === a.dst && e.advert.ttl === a.ttl;

// Classic BPF opcodes (linux/filter.h).
const LD_W_ABS = 0x20;
const LD_B_ABS = 0x30;
const LD_W_LEN = 0x80;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const RET_K = 0x06;
const TAX = 0x07;
const TXA = 0x87;
const ST = 0x02;
const LD_MEM = 0x60;

/**
 * The doorbell's program (an array of `struct sock_filter`, host byte order), for a raw IPv4
 * socket, whose filter sees the datagram from its IPv4 header on: 0 (drop) for a datagram that is
 * one of `entries` as far as they compare — a 20-byte IPv4 header, TTL 255, the entry's source and
 * the VRRP message's first 8 bytes, whose checksum covers the rest (and, in VRRPv3, the addresses) —
 * and `DOORBELL_KEEP` for every other one. Two adverts that differ only where the entry does not look
 * are alike to it; the one that is not steady then waits like a steady one (it is read and applied
 * all the same). Throws for more than `MAX_STEADY_ENTRIES` entries or two of one VRID.
 *
 * ```
 *   ld len; jge #28 → 3; ret KEEP         at least an IPv4 header and a VRRP header
 *   ldb [0]; jeq #0x45 → 6; ret KEEP      version 4, a 20-byte header
 *   ldb [8]; jeq #255 → 9; ret KEEP       TTL 255
 *   ld [12]; tax                          X = source
 *   ld [24]; st M[0]                      M[0] = the VRRP message's second word
 *   ld [20]                               A = its first word (VRID among it)
 * per entry:
 *   jeq #word0, 0, next                   (A stays the first word until an entry matches)
 *   txa; jeq #src, 0, F
 *   ld M[0]; jeq #word1, 0, F
 *   ret 0
 * F: ret KEEP
 *   ret KEEP                              no entry for this datagram
 * ```
 * The packet is loaded from in the frame only: the kernel turns each packet load into several
 * instructions of its own, and charges the program (twice while a new one replaces it) against
 * `net.core.optmem_max`, which a program with three loads per entry exceeded at 255 entries.
 */
export function doorbellProgram(entries: readonly SteadyEntry[]): Uint8Array {
  if (entries.length > MAX_STEADY_ENTRIES) throw new Error(`more than ${MAX_STEADY_ENTRIES} steady entries`);
  const seen = new Set<number>();
  const code: Array<[number, number, number, number]> = [];
  const op = (c: number, k: number, jt = 0, jf = 0): void => {
    code.push([c, jt, jf, k >>> 0]);
  };
  op(LD_W_LEN, 0);
  op(JGE_K, IPV4_HEADER + COMPARED_BYTES, 1, 0);
  op(RET_K, DOORBELL_KEEP);
  op(LD_B_ABS, 0);
  op(JEQ_K, 0x45, 1, 0);
  op(RET_K, DOORBELL_KEEP);
  op(LD_B_ABS, 8);
  op(JEQ_K, STEADY_TTL, 1, 0);
  op(RET_K, DOORBELL_KEEP);
  op(LD_W_ABS, 12);
  op(TAX, 0);
  op(LD_W_ABS, IPV4_HEADER + 4);
  op(ST, 0);
  op(LD_W_ABS, IPV4_HEADER);
  for (const e of entries) {
    if (seen.has(e.vrid)) throw new Error(`two steady entries for VRID ${e.vrid}`);
    seen.add(e.vrid);
    const start = code.length;
    op(JEQ_K, e.word0, 0, ENTRY_INSTRUCTIONS - 1);
    op(TXA, 0);
    op(JEQ_K, e.src, 0, 3);
    op(LD_MEM, 0);
    op(JEQ_K, e.word1, 0, 1);
    op(RET_K, 0);
    op(RET_K, DOORBELL_KEEP);
    if (code.length - start !== ENTRY_INSTRUCTIONS) throw new Error("doorbell entry size");
  }
  op(RET_K, DOORBELL_KEEP);
  if (code.length !== FRAME_INSTRUCTIONS + entries.length * ENTRY_INSTRUCTIONS)
    throw new Error("doorbell program size");
  const bytes = new Uint8Array(code.length * 8);
  const v = new DataView(bytes.buffer);
  code.forEach(([c, jt, jf, k], i) => {
    v.setUint16(i * 8, c, true);
    v.setUint8(i * 8 + 2, jt);
    v.setUint8(i * 8 + 3, jf);
    v.setUint32(i * 8 + 4, k, true);
  });
  return bytes;
}

/** Opcodes `doorbellProgram` uses, for a reader of its bytes (tests interpret them). */
export const DOORBELL_OPCODES = {
  LD_W_ABS,
  LD_B_ABS,
  LD_W_LEN,
  LD_MEM,
  ST,
  TAX,
  TXA,
  JEQ_K,
  JGE_K,
  RET_K,
} as const;
