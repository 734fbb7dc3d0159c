/**
 * The receive-side interner (transports/rx-intern.ts): over random streams of messages drawn from a
 * small pool (so they repeat), read at random offsets of a reused buffer that is overwritten after
 * each read, every result has exactly the bytes received and their lowercase hex (as Buffer's
 * `toString("hex")`), a repeated message gets the same objects back, and results stay intact when the
 * buffer is reused — also when every message has the same hash (collisions) and when the bound
 * forces it to start over.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fnvRange, hexOfRange, RX_INTERN_MAX, RxInterner } from "../../transports/rx-intern.ts";

const pool = fc.array(fc.uint8Array({ minLength: 0, maxLength: 48 }), { minLength: 1, maxLength: 6 });
const stream = pool.chain((msgs) =>
  fc.tuple(
    fc.constant(msgs),
    fc.array(fc.tuple(fc.nat({ max: msgs.length - 1 }), fc.nat({ max: 16 })), {
      minLength: 1,
      maxLength: 60,
    }),
  ),
);

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString("hex");

const check = (interner: RxInterner, msgs: Uint8Array[], picks: Array<[number, number]>): void => {
  const buf = Buffer.alloc(128);
  const seen: Array<{ want: Uint8Array; got: { bytes: Uint8Array; hex: string } }> = [];
  for (const [i, off] of picks) {
    const want = msgs[i] as Uint8Array;
    buf.fill(0x5a);
    buf.set(want, off);
    const got = interner.intern(buf, off, off + want.length);
    expect(Buffer.from(got.bytes).equals(Buffer.from(want))).toBe(true);
    expect(got.hex).toBe(hexOf(want));
    seen.push({ want, got });
    buf.fill(0xff); // the next read reuses the buffer
  }
  for (const { want, got } of seen) {
    expect(Buffer.from(got.bytes).equals(Buffer.from(want))).toBe(true);
    expect(got.hex).toBe(hexOf(want));
  }
};

describe("RxInterner", () => {
  it("gives each message's own bytes and hex, whatever repeats", () => {
    fc.assert(
      fc.property(stream, ([msgs, picks]) => check(new RxInterner(), msgs, picks)),
      { numRuns: 500 },
    );
  });

  it("stays exact when every message collides and when the bound clears it", () => {
    fc.assert(
      fc.property(stream, ([msgs, picks]) => {
        check(new RxInterner(RX_INTERN_MAX, () => 7), msgs, picks);
        check(new RxInterner(2), msgs, picks);
        check(new RxInterner(1, () => 1), msgs, picks);
      }),
      { numRuns: 300 },
    );
  });

  it("hands back the same objects for a repeated message (no copy, no new hex)", () => {
    const interner = new RxInterner();
    const buf = Buffer.from("0021960101ff0005c612001201020304", "hex");
    const a = interner.intern(buf, 2, 14);
    const b = interner.intern(Buffer.concat([Buffer.alloc(5), buf]), 7, 19);
    expect(b).toBe(a);
    expect(b.bytes).toBe(a.bytes);
    expect(interner.hits).toBe(1);
    expect(a.bytes.buffer).not.toBe(buf.buffer);
  });

  it("hex and hash helpers", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 8 }), (b, pad) => {
        const big = new Uint8Array(b.length + pad * 2);
        big.set(b, pad);
        expect(hexOfRange(big, pad, pad + b.length)).toBe(hexOf(b));
        expect(fnvRange(big, pad, pad + b.length)).toBe(fnvRange(b, 0, b.length));
        expect(Number.isSafeInteger(fnvRange(b, 0, b.length))).toBe(true);
      }),
    );
  });
});
