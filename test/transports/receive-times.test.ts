/**
 * Kernel receive times (transports/libc.ffi.ts): the SCM_TIMESTAMPNS control message is found among
 * others, and a stamp on CLOCK_REALTIME is carried onto the node's clock by the clocks' offset —
 * its age kept; a stamp older than MAX_RX_AGE_US, or without a fresh pair taken without preemption,
 * left to the read time.
 * On the wire: test/netns/raw-transport-burst.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  kernelStampUs,
  MAX_RX_AGE_US,
  PAIR_BRACKET_US,
  PAIR_EVERY_US,
  PAIR_STALE_US,
  PAIR_TRIES,
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
  const REAL = 1_796_158_182_000_000;
  const CLOCK = 50_000_000;
  /**
   * One true time `t` (µs): the node's clock reads CLOCK + t, the realtime clock REAL + t + drift (or
   * fails); reading the realtime clock takes `readUs`, or longer than the bracket allows for the next
   * `preempted` readings (a preemption in between). The transport's first pair is taken at once.
   */
  function rig(preempted = 0) {
    const state = { t: 0, drift: 0, fails: false, readUs: 4, reads: 0, preempted };
    const libc = {
      clockGettime: (_clock: number, ts: Uint8Array): number => {
        if (state.fails) return -1;
        state.reads++;
        const readUs = state.preempted > 0 ? PAIR_BRACKET_US + 1 : state.readUs;
        state.preempted = Math.max(0, state.preempted - 1);
        state.t += readUs / 2;
        const real = REAL + state.t + state.drift;
        const v = new DataView(ts.buffer, ts.byteOffset);
        v.setBigInt64(0, BigInt(Math.floor(real / 1e6)), true);
        v.setBigInt64(8, BigInt((real % 1e6) * 1000), true);
        state.t += readUs / 2;
        return 0;
      },
    };
    /** The kernel's stamp of a datagram that arrived `agoUs` before now. */
    const stamp = (agoUs: number) => REAL + state.t - agoUs + state.drift;
    const now = () => CLOCK + state.t;
    return { state, stamp, now, times: new ReceiveTimes(libc, { nowUs: now }) };
  }

  it("keeps a datagram's age: arrived 3.2 ms before the batch, 3.2 ms before the node's now", () => {
    const { stamp, now, times } = rig();
    times.begin();
    expect(times.toClockUs(stamp(3_200))).toBe(now() - 3_200);
    // Arrived during the batch, after its start: after it on the node's clock too.
    expect(times.toClockUs(stamp(-150))).toBe(now() + 150);
  });

  it("reads the realtime clock again only every PAIR_EVERY_US, and follows the clocks' drift", () => {
    const { state, stamp, now, times } = rig();
    expect(state.reads).toBe(1); // when the socket opened
    times.begin();
    expect(state.reads).toBe(1);
    state.t += PAIR_EVERY_US - 10;
    state.drift = 500; // the realtime clock slewed 500 µs ahead meanwhile
    times.begin();
    expect(state.reads).toBe(1); // not yet: the old pair converts, 500 µs off
    expect(times.toClockUs(stamp(2_000))).toBe(now() - 2_000 + 500);
    state.t += 20;
    times.begin();
    expect(state.reads).toBe(2);
    expect(times.toClockUs(stamp(2_000))).toBe(now() - 2_000);
  });

  it("takes no pair across a preemption (the stamps would all come out early by it): reads again", () => {
    // Preempted at the first reading only: the second is kept.
    const once = rig(1);
    once.times.begin();
    expect(once.state.reads).toBe(2);
    expect(once.times.toClockUs(once.stamp(100))).toBe(once.now() - 100);
    // Preempted at every reading the socket's opening and its first batch make: no pair, and the
    // read time is used; the next batch reads again.
    const { state, stamp, now, times } = rig(2 * PAIR_TRIES);
    times.begin();
    expect(state.reads).toBe(2 * PAIR_TRIES);
    expect(times.toClockUs(stamp(100))).toBeUndefined();
    times.begin();
    expect(times.toClockUs(stamp(100))).toBe(now() - 100);
  });

  it("leaves the time to the read when the stamp is too old to trust, absent, or the pair stale", () => {
    const { state, stamp, now, times } = rig();
    state.readUs = 0; // ages counted from the batch's start are ages from now
    times.begin();
    expect(times.toClockUs(stamp(MAX_RX_AGE_US))).toBe(now() - MAX_RX_AGE_US);
    expect(times.toClockUs(stamp(MAX_RX_AGE_US + 1))).toBeUndefined();
    expect(times.toClockUs(undefined)).toBeUndefined();
    // The realtime clock cannot be read any more: the last pair serves until it is stale.
    state.fails = true;
    state.t += PAIR_STALE_US;
    times.begin();
    expect(times.toClockUs(stamp(10))).toBe(now() - 10);
    state.t += 1;
    times.begin();
    expect(times.toClockUs(stamp(10))).toBeUndefined();
  });
});
