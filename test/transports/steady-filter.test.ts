/**
 * The doorbell's classic BPF program (transports/steady-filter.ts), run by a small interpreter of
 * the instructions it uses (the kernel's semantics: big-endian loads, a load past the end returns
 * 0 = drop): it drops exactly the datagrams that match an entry where it compares, and keeps every
 * other one — short, with IP options, another TTL, source, VRID, priority, checksum. The real kernel
 * runs it in test/netns/raw-transport-doorbell.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DOORBELL_KEEP,
  doorbellProgram,
  MAX_STEADY_ENTRIES,
  DOORBELL_OPCODES as OP,
  type SteadyAdvert,
  sameAdvert,
  steadyEntry,
} from "../../transports/steady-filter.ts";

/** Runs a program (sock_filter array bytes) over a packet as the kernel's classic BPF does. */
function run(program: Uint8Array, packet: Uint8Array): number {
  const v = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const p = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const mem = new Uint32Array(16);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < program.length / 8; pc++) {
    const code = v.getUint16(pc * 8, true);
    const jt = v.getUint8(pc * 8 + 2);
    const jf = v.getUint8(pc * 8 + 3);
    const k = v.getUint32(pc * 8 + 4, true);
    switch (code) {
      case OP.LD_W_LEN:
        a = packet.length;
        break;
      case OP.LD_W_ABS:
        if (k + 4 > packet.length) return 0;
        a = p.getUint32(k);
        break;
      case OP.LD_B_ABS:
        if (k + 1 > packet.length) return 0;
        a = p.getUint8(k);
        break;
      case OP.LD_MEM:
        a = mem[k] ?? 0;
        break;
      case OP.ST:
        mem[k] = a;
        break;
      case OP.TAX:
        x = a;
        break;
      case OP.TXA:
        a = x;
        break;
      case OP.JEQ_K:
        pc += a >>> 0 === k ? jt : jf;
        break;
      case OP.JGE_K:
        pc += a >>> 0 >= k ? jt : jf;
        break;
      case OP.RET_K:
        return k;
      default:
        throw new Error(`opcode ${code.toString(16)}`);
    }
  }
  throw new Error("fell off the program");
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const dotted = (b: Uint8Array, at: number): string => Array.from(b.subarray(at, at + 4)).join(".");

/** An IPv4 datagram (20-byte header unless `ihl` says more) carrying `vrrp`. */
function packet(vrrp: Uint8Array, src: Uint8Array, ttl = 255, ihl = 5): Uint8Array {
  const header = ihl * 4;
  const b = new Uint8Array(header + vrrp.length);
  b[0] = 0x40 | ihl;
  new DataView(b.buffer).setUint16(2, b.length);
  b[8] = ttl;
  b[9] = 112;
  b.set(src, 12);
  b.set([224, 0, 0, 18], 16);
  b.set(vrrp, header);
  return b;
}

const advertOf = (vrrp: Uint8Array, src: Uint8Array, ttl = 255): SteadyAdvert => ({
  ifname: "eth0",
  family: 4,
  src: dotted(src, 0),
  dst: "224.0.0.18",
  ttl,
  hex: hexOf(vrrp),
});

const vrrpArb = (vrid: number) =>
  fc.uint8Array({ minLength: 8, maxLength: 40 }).map((b) => {
    const m = Uint8Array.from(b);
    m[1] = vrid;
    return m;
  });
const srcArb = fc.uint8Array({ minLength: 4, maxLength: 4 });

describe("the doorbell's filter program", () => {
  it("drops the steady adverts and keeps every datagram that differs where it compares", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 12 }),
        srcArb,
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 7 }),
        (vrids, src, flipByte, flipBit) => {
          const steady = vrids.map((vrid, i) => {
            const vrrp = new Uint8Array(12 + i);
            vrrp[0] = 0x31;
            vrrp[1] = vrid;
            vrrp[2] = 100 + i;
            for (let j = 3; j < vrrp.length; j++) vrrp[j] = (j * 7 + i) & 0xff;
            return vrrp;
          });
          const entries = steady.map((v) => steadyEntry(advertOf(v, src)));
          expect(entries.every((e) => e !== undefined)).toBe(true);
          const program = doorbellProgram(entries.flatMap((e) => (e === undefined ? [] : [e])));
          for (const v of steady) {
            expect(run(program, packet(v, src))).toBe(0);
            // one bit of the compared bytes changed: kept
            const changed = Uint8Array.from(v);
            changed[flipByte] = (changed[flipByte] ?? 0) ^ (1 << flipBit);
            const stillSteady = steady.some((s) => hexOf(s).slice(0, 16) === hexOf(changed).slice(0, 16));
            expect(run(program, packet(changed, src))).toBe(stillSteady ? 0 : DOORBELL_KEEP);
            // another source, another TTL, IP options, cut short: kept
            const other = Uint8Array.from(src);
            other[3] = (other[3] ?? 0) ^ 1;
            expect(run(program, packet(v, other))).toBe(DOORBELL_KEEP);
            expect(run(program, packet(v, src, 254))).toBe(DOORBELL_KEEP);
            expect(run(program, packet(v, src, 255, 6))).toBe(DOORBELL_KEEP);
            expect(run(program, packet(v, src).subarray(0, 27))).toBe(DOORBELL_KEEP);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps any datagram of a VRID no entry has, and every datagram when nothing is steady", () => {
    fc.assert(
      fc.property(vrrpArb(7), vrrpArb(8), srcArb, (steadyVrrp, other, src) => {
        const e = steadyEntry(advertOf(steadyVrrp, src));
        expect(e).toBeDefined();
        const program = doorbellProgram(e === undefined ? [] : [e]);
        expect(run(program, packet(other, src))).toBe(DOORBELL_KEEP);
        expect(run(doorbellProgram([]), packet(steadyVrrp, src))).toBe(DOORBELL_KEEP);
      }),
    );
  });

  it("holds an entry for every VRID within the kernel's program limit", () => {
    const src = Uint8Array.from([198, 18, 0, 1]);
    const entries = Array.from({ length: 255 }, (_, i) => {
      const vrrp = Uint8Array.from([0x31, i + 1, 100, 1, 0, 100, 0, i, 198, 18, 0, 9]);
      return steadyEntry(advertOf(vrrp, src));
    }).flatMap((e) => (e === undefined ? [] : [e]));
    expect(entries).toHaveLength(255);
    expect(MAX_STEADY_ENTRIES).toBeGreaterThanOrEqual(255);
    const program = doorbellProgram(entries);
    expect(program.length / 8).toBeLessThanOrEqual(4096);
    expect(
      run(program, packet(Uint8Array.from([0x31, 200, 100, 1, 0, 100, 0, 199, 198, 18, 0, 9]), src)),
    ).toBe(0);
    expect(() => doorbellProgram([...entries, ...entries.slice(0, 1)])).toThrow(/two steady entries/);
  });

  it("makes no entry for what it cannot compare: IPv6, another TTL, a short or malformed message", () => {
    const src = Uint8Array.from([198, 18, 0, 1]);
    const vrrp = Uint8Array.from([0x31, 1, 100, 1, 0, 100, 0, 0]);
    expect(steadyEntry({ ...advertOf(vrrp, src), family: 6 })).toBeUndefined();
    expect(steadyEntry(advertOf(vrrp, src, 64))).toBeUndefined();
    expect(steadyEntry({ ...advertOf(vrrp, src), hex: "3101" })).toBeUndefined();
    expect(steadyEntry({ ...advertOf(vrrp, src), hex: "zz01640100640000" })).toBeUndefined();
    expect(steadyEntry({ ...advertOf(vrrp, src), src: "198.18.0.256" })).toBeUndefined();
    const e = steadyEntry(advertOf(vrrp, src));
    expect(e?.vrid).toBe(1);
    if (e !== undefined) {
      expect(sameAdvert(e, advertOf(vrrp, src))).toBe(true);
      expect(sameAdvert(e, advertOf(Uint8Array.from([0x31, 1, 0, 1, 0, 100, 0, 0]), src))).toBe(false);
    }
  });
});
