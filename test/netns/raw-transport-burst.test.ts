/**
 * The raw IPv4 transport reads adaptively: a burst of 100 adverts that queued in the kernel while the
 * receiver's event loop was busy is delivered whole, in order, in a few wake-ups of the receive loop
 * (up to 64 datagrams each) instead of one event-loop callback per datagram; and adverts arriving one
 * at a time (20 ms apart) are read one per wake-up, not each followed by a read that finds the socket
 * empty (the cost of always draining: only one wake-up in 8 probes for a backlog); every read goes
 * through libc's recvfrom on the socket's own descriptor, not raw-socket's `recv`.
 * docs/benchmarks.md, "Daemons side by side". And the
 * transport's `readPending` (what the daemon calls before a down timer fires) delivers such a burst
 * whole before it returns, with no event-loop turn.
 */
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
  };
  readonly vrids: readonly number[];
}
const SPACED = 20;

describe.skipIf(skipUnlessLab(suite, { netns: true }))(suite, () => {
  let lab: Lab;
  let report: Report | undefined;
  let final: Report | undefined;
  let sendOut = "";
  let spacedOut = "";
  let pending: readonly number[] | undefined;

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}bu`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const receiver = startScript(lab, h2.ns, "raw-burst.ts", ["receive", "eth0", "3000"]);
    await receiver.waitForOutput(/ready/, 15_000);
    const sender = startScript(lab, h1.ns, "raw-burst.ts", [
      "send",
      "eth0",
      String(COUNT),
      `198.18.${lab.subnet}`,
    ]);
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
    const second = startScript(lab, h2.ns, "raw-burst.ts", ["receive", "eth0", "3000", "pending"]);
    await second.waitForOutput(/ready/, 15_000);
    const burst = startScript(lab, h1.ns, "raw-burst.ts", [
      "send",
      "eth0",
      String(COUNT),
      `198.18.${lab.subnet}`,
    ]);
    await burst.waitExit(15_000);
    await second.waitExit(20_000);
    const line = second.stdout.split("\n").find((l) => l.startsWith('{"pending"'));
    pending = line === undefined ? undefined : (JSON.parse(line) as { pending: number[] }).pending;
  }, 60_000);

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
    // Read with libc's recvfrom on raw-socket's descriptor (found by rawSocketFd), not raw-socket's recv.
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
    // The read that ends the drain mode left over from the burst, and one probe for a backlog per
    // 8 single-read wake-ups (raw4.socket.ts PROBE_EVERY): at most 1 + 3 (always draining: 20).
    expect(empty).toBeLessThanOrEqual(4);
  });

  it("readPending delivers the whole queued burst before it returns", () => {
    expect(pending).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
  });
});
