/**
 * Kernel receive times (transports/libc.ffi.ts): the SCM_TIMESTAMPNS control message is found among
 * others, and a stamp on CLOCK_REALTIME is carried onto the node's clock by one pair of readings —
 * its age kept, a stamp older than MAX_RX_AGE_US (or a failed realtime read) left to the read time.
 * On the wire: test/netns/raw-transport-burst.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  kernelStampUs,
  MAX_RX_AGE_US,
  ReceiveTimes,
  SO_TIMESTAMPNS,
  SOL_SOCKET,
} from "../../transports/libc.ffi.ts";

/** One `cmsghdr` (LP64) with `data`, padded to 8 bytes. */
function cmsg(level: number, type: number, data: Uint8Array, len = 16 + data.length): Uint8Array {
  const out = new Uint8Array((16 + data.length + 7) & ~7);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, BigInt(len), true);
  v.setInt32(8, level, true);
  v.setInt32(12, type, true);
  out.set(data, 16);
  return out;
}
function timespec(sec: number, nsec: number): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setBigInt64(0, BigInt(sec), true);
  v.setBigInt64(8, BigInt(nsec), true);
  return out;
}
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

describe("kernelStampUs", () => {
  const SEC = 1_796_158_182; // 2026-12-01

  it("reads SCM_TIMESTAMPNS as µs of CLOCK_REALTIME, after another control message", () => {
    const hop = cmsg(41, 52, Uint8Array.of(255, 0, 0, 0));
    const stamp = cmsg(SOL_SOCKET, SO_TIMESTAMPNS, timespec(SEC, 109_776_999));
    const b = concat(hop, stamp);
    expect(kernelStampUs(view(b), b.length)).toBe(SEC * 1e6 + 109_776);
    expect(kernelStampUs(view(stamp), stamp.length)).toBe(SEC * 1e6 + 109_776);
  });

  it("finds none where there is none, or where the lengths do not hold", () => {
    const hop = cmsg(41, 52, Uint8Array.of(255, 0, 0, 0));
    expect(kernelStampUs(view(hop), hop.length)).toBeUndefined();
    const stamp = cmsg(SOL_SOCKET, SO_TIMESTAMPNS, timespec(SEC, 0));
    expect(kernelStampUs(view(stamp), 0)).toBeUndefined();
    // Cut short by the kernel (MSG_CTRUNC): the header claims more than was written.
    expect(kernelStampUs(view(stamp), 24)).toBeUndefined();
    // A cmsg_len shorter than a header ends the walk instead of looping on it.
    const bad = cmsg(SOL_SOCKET, SO_TIMESTAMPNS, timespec(SEC, 0), 8);
    expect(kernelStampUs(view(bad), bad.length)).toBeUndefined();
    // Too short for a timespec: not taken as one.
    const short = cmsg(SOL_SOCKET, SO_TIMESTAMPNS, new Uint8Array(8));
    expect(kernelStampUs(view(short), short.length)).toBeUndefined();
  });
});

describe("ReceiveTimes", () => {
  /** A realtime clock at `realUs` (µs), or failing, and a node clock at `clockUs`. */
  function rig(realUs: number, clockUs: number, fails = false) {
    const state = { realUs, clockUs, fails };
    const libc = {
      clockGettime: (_clock: number, ts: Uint8Array): number => {
        if (state.fails) return -1;
        const v = new DataView(ts.buffer, ts.byteOffset);
        v.setBigInt64(0, BigInt(Math.floor(state.realUs / 1e6)), true);
        v.setBigInt64(8, BigInt((state.realUs % 1e6) * 1000 + 999), true);
        return 0;
      },
    };
    return { state, times: new ReceiveTimes(libc, { nowUs: () => state.clockUs }) };
  }
  const REAL = 1_796_158_182_000_000;

  it("keeps a datagram's age: arrived 3.2 ms before the pair, 3.2 ms before the node's now", () => {
    const { times } = rig(REAL, 50_000_000);
    times.pair();
    expect(times.toClockUs(REAL - 3_200)).toBe(50_000_000 - 3_200);
    // Arrived during the batch, after the pair: after it on the node's clock too.
    expect(times.toClockUs(REAL + 150)).toBe(50_000_150);
  });

  it("uses the pair of the batch it was read in", () => {
    const { state, times } = rig(REAL, 1_000);
    times.pair();
    state.realUs += 1_000_000;
    state.clockUs += 999_500; // the two clocks drift apart by 500 µs over the second
    times.pair();
    expect(times.toClockUs(REAL + 990_000)).toBe(1_000 + 999_500 - 10_000);
  });

  it("leaves the time to the read when the stamp is older than it trusts, absent, or the realtime read failed", () => {
    const { state, times } = rig(REAL, 7_000_000);
    times.pair();
    expect(times.toClockUs(REAL - MAX_RX_AGE_US)).toBe(7_000_000 - MAX_RX_AGE_US);
    expect(times.toClockUs(REAL - MAX_RX_AGE_US - 1)).toBeUndefined();
    expect(times.toClockUs(undefined)).toBeUndefined();
    state.fails = true;
    times.pair();
    expect(times.toClockUs(REAL)).toBeUndefined();
  });

  it("has no pair before the first read batch", () => {
    const { times } = rig(REAL, 0);
    expect(times.toClockUs(REAL)).toBeUndefined();
  });
});
