/**
 * The raw IPv4 transport reads with recvmmsg: a burst of 100 adverts that queued in the kernel while
 * the receiver's event loop was busy is delivered whole, in order, in a few wake-ups of the receive
 * loop (up to 64 datagrams each) instead of one event-loop callback per datagram; and adverts arriving
 * one at a time (20 ms apart) are read one per wake-up, with no read that finds the socket empty (a
 * call that returns fewer datagrams than it asked for has emptied it); every read goes through libc on
 * the socket's own descriptor, not raw-socket's `recv`.
 * docs/benchmarks.md, "Daemons side by side". And the
 * transport's `readPending` (what the daemon calls before a down timer fires) delivers such a burst
 * whole before it returns, with no event-loop turn.
 * Each datagram of a burst that waited in the socket keeps the time it arrived (the kernel's
 * SO_TIMESTAMPNS, carried onto the transport's clock: transports/libc.ffi.ts `ReceiveTimes`), not
 * the time the busy receiver got round to reading it — IPv4 and IPv6.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { Lab } from "../support/lab.ts";
import { startScript } from "./support/vigil.ts";

const suite = "netns: the raw transport reads a queued burst in batches";
const COUNT = 100;

interface Report {
  readonly stats: {
    received: number;
    wakeups: number;
    emptyReads: number;
    socketErrors: number;
    directReads: number;
    kernelTimes: number;
  };
  readonly vrids: readonly number[];
  /** Each delivered datagram's receive time and the receiver's busy block, on its clock (µs). */
  readonly times: readonly number[];
  readonly blockStartUs: number;
  readonly blockEndUs: number;
}
interface Pending {
  readonly pending: readonly number[];
  readonly times: readonly number[];
  readonly blockStartUs: number;
  readonly blockEndUs: number;
}

/** The receive times of a burst that arrived during the block: inside it, in order, none at its end. */
function expectTimedInBlock(
  times: readonly number[] | undefined,
  r: { blockStartUs: number; blockEndUs: number },
) {
  expect(times?.length).toBe(COUNT);
  const list = times ?? [];
  for (const [i, t] of list.entries()) {
    expect(t).toBeGreaterThan(r.blockStartUs);
    // Read after the block: its read time would be ≥ blockEndUs. The burst left the sender within
    // its run, well before the 3 s block ended (the sender prints once its sends completed).
    expect(t).toBeLessThan(r.blockEndUs);
    if (i > 0) expect(t).toBeGreaterThanOrEqual(list[i - 1] ?? 0);
  }
}
const SPACED = 20;
const TIMED_BLOCK_MS = 600;

describe.skipIf(skipUnlessLab(suite, { netns: true }))(suite, () => {
  let lab: Lab;
  let report: Report | undefined;
  let final: Report | undefined;
  let sendOut = "";
  let spacedOut = "";
  let pending: Pending | undefined;
  let timedPending: Pending | undefined;
  let timedSendOut = "";
  let v6: Report | undefined;
  let v6SendOut = "";

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}bu`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    // Each burst's sender is armed first and sends as the receiver's 3 s block begins (a trigger
    // file): a sender started after the receiver could arrive after the block on a loaded machine.
    const dir = lab.tempDir();
    const first = join(dir, "go-first");
    const sender = startScript(lab, h1.ns, "raw-burst.ts", [
      "send",
      "eth0",
      String(COUNT),
      `198.18.${lab.subnet}`,
      "0",
      "1",
      first,
    ]);
    await sender.waitForOutput(/armed/, 15_000);
    const receiver = startScript(lab, h2.ns, "raw-burst.ts", ["receive", "eth0", "3000", "-", first]);
    await receiver.waitForOutput(/ready/, 15_000);
    await sender.waitExit(15_000);
    sendOut = sender.output;
    await receiver.waitForOutput(/^\{/m, 15_000);
    const spaced = startScript(lab, h1.ns, "raw-burst.ts", [
      "send",
      "eth0",
      String(SPACED),
      `198.18.${lab.subnet}`,
      "20",
      "101",
    ]);
    await spaced.waitExit(15_000);
    spacedOut = spaced.output;
    await receiver.waitExit(20_000);
    const lines = receiver.stdout.split("\n").filter((l) => l.startsWith("{"));
    [report, final] = lines.map((l) => JSON.parse(l) as Report);
    const again = join(dir, "go-pending");
    const burst = startScript(lab, h1.ns, "raw-burst.ts", [
      "send",
      "eth0",
      String(COUNT),
      `198.18.${lab.subnet}`,
      "0",
      "1",
      again,
    ]);
    await burst.waitForOutput(/armed/, 15_000);
    const second = startScript(lab, h2.ns, "raw-burst.ts", ["receive", "eth0", "3000", "pending", again]);
    await burst.waitExit(15_000);
    await second.waitExit(20_000);
    const line = second.stdout.split("\n").find((l) => l.startsWith('{"pending"'));
    pending = line === undefined ? undefined : (JSON.parse(line) as Pending);
    // Receive times: an armed sender sends the burst as the receiver's block begins (a trigger
    // file), so the datagrams wait in the socket for most of a 600 ms block — less than the age a
    // kernel time is trusted at (1 s, libc.ffi.ts MAX_RX_AGE_US).
    const timed = async (family: 4 | 6): Promise<{ sendOut: string; receiverOut: string }> => {
      const trigger = join(dir, `go${family}`);
      const sender = startScript(
        lab,
        h1.ns,
        "raw-burst.ts",
        family === 4
          ? ["send", "eth0", String(COUNT), `198.18.${lab.subnet}`, "0", "1", trigger]
          : ["send6", "eth0", String(COUNT), trigger],
      );
      await sender.waitForOutput(/armed/, 15_000);
      const receiver = startScript(lab, h2.ns, "raw-burst.ts", [
        family === 4 ? "receive" : "receive6",
        "eth0",
        String(TIMED_BLOCK_MS),
        family === 4 ? "pending" : "-",
        trigger,
      ]);
      await sender.waitExit(15_000);
      await receiver.waitExit(20_000);
      return { sendOut: sender.output, receiverOut: receiver.stdout };
    };
    const t4 = await timed(4);
    timedSendOut = t4.sendOut;
    const line4 = t4.receiverOut.split("\n").find((l) => l.startsWith('{"pending"'));
    timedPending = line4 === undefined ? undefined : (JSON.parse(line4) as Pending);
    const t6 = await timed(6);
    v6SendOut = t6.sendOut;
    const line6 = t6.receiverOut.split("\n").find((l) => l.startsWith('{"stats"'));
    v6 = line6 === undefined ? undefined : (JSON.parse(line6) as Report);
  }, 90_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it("sent the burst while the receiver was busy, then the spaced adverts", () => {
    expect(sendOut).toContain(`{"sent":${COUNT}}`);
    expect(spacedOut).toContain(`{"sent":${SPACED}}`);
  });

  it("delivers every datagram in order, in batches", () => {
    expect(report?.vrids).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    expect(report?.stats.received).toBe(COUNT);
    expect(report?.stats.socketErrors).toBe(0);
    // Read with libc's recvmmsg on raw-socket's descriptor (found by rawSocketFd), not raw-socket's recv.
    expect(report?.stats.directReads).toBe(COUNT);
    // ceil(100 / 64) = 2 wake-ups for the queued burst; a little slack for a burst split in flight.
    expect(report?.stats.wakeups).toBeGreaterThanOrEqual(2);
    expect(report?.stats.wakeups).toBeLessThanOrEqual(6);
  });

  it("are read one per wake-up, without a read finding the socket empty per datagram", () => {
    expect(final?.vrids.slice(COUNT)).toEqual(Array.from({ length: SPACED }, (_, i) => 101 + i));
    const wakeups = (final?.stats.wakeups ?? 0) - (report?.stats.wakeups ?? 0);
    const empty = (final?.stats.emptyReads ?? 0) - (report?.stats.emptyReads ?? 0);
    expect(wakeups).toBe(SPACED);
    // Each wake-up's one call found its datagram and returned short of the vector: the socket was
    // known empty without another call (a read until EAGAIN per wake-up: 20).
    expect(empty).toBe(0);
  });

  it("readPending delivers the whole queued burst before it returns", () => {
    expect(pending?.pending).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
  });

  it("times each queued datagram by its arrival, not by the read after the busy block", () => {
    expect(timedSendOut).toContain(`{"sent":${COUNT}}`);
    expect(timedPending?.pending).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    if (timedPending !== undefined) expectTimedInBlock(timedPending.times, timedPending);
    // The first burst, sent as the 3 s block began, waited in the socket longer than a kernel time
    // is trusted (1 s): its datagrams carry their read's time, at or after the block's end — unless
    // the sender was that late, when a datagram carries the kernel's (inside the block).
    const firstBurst = (report?.times ?? []).slice(0, COUNT);
    expect(firstBurst).toHaveLength(COUNT);
    const kernelTimed = firstBurst.filter((t) => t < (report?.blockEndUs ?? 0)).length;
    expect(report?.stats.kernelTimes).toBe(kernelTimed);
    for (const t of firstBurst) expect(t).toBeGreaterThan(report?.blockStartUs ?? 0);
    // The spaced adverts, read as they came, carry the kernel's time.
    expect((final?.stats.kernelTimes ?? 0) - (report?.stats.kernelTimes ?? 0)).toBe(SPACED);
  });

  it("times IPv6 datagrams by their arrival too", () => {
    expect(v6SendOut).toContain(`{"sent":${COUNT}}`);
    expect(v6?.vrids).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    expect(v6?.stats.kernelTimes).toBe(COUNT);
    if (v6 !== undefined) expectTimedInBlock(v6.times, v6);
  });
});
