/**
 * The raw IPv4 transport sends the adverts of one event-loop callback together at its end, with
 * libc's sendto on raw-socket's own descriptor (transports/raw4.send.ts), not through raw-socket's
 * queue (a writability poll and one event-loop turn per datagram), in the order they were sent
 * across sockets — and the bytes on the wire are exactly those of the old path: the
 * IPv4 packet Vigil builds (TOS 0xc0, TTL, per-VRID IP id, DF clear, source) around the VRRP message.
 * 40 adverts in one turn (v2 and v3, multicast to two groups and unicast, TTL 255 / 10 / 1, 1–20
 * VIPs, with and without an explicit source), captured leaving h1 with tcpdump.
 * docs/benchmarks.md, "Scale".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { Lab } from "../support/lab.ts";
import { startScript } from "./support/vigil.ts";

const suite = "netns: the raw IPv4 transport sends at once, with the old path's bytes";

interface Stats {
  readonly sent: number;
  readonly sendErrors: number;
  readonly directSends: number;
}
interface Report {
  readonly expected: readonly string[];
  readonly multicast: Stats;
  readonly unicast: Stats;
}

/** The IP packets in `tcpdump -x` output (hex lines after each packet's summary line), in order. */
function capturedHex(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s+0x[0-9a-f]{4}:\s+((?:[0-9a-f]{2,4}\s?)+)/.exec(line);
    if (m === null) {
      if (/^\d/.test(line)) out.push("");
      continue;
    }
    out[out.length - 1] += (m[1] ?? "").replace(/\s+/g, "");
  }
  return out;
}

describe.skipIf(skipUnlessLab(suite, { netns: true, tcpdump: true }))(suite, () => {
  let lab: Lab;
  let report: Report | undefined;
  let wire: string[] = [];

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}sd`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const cap = await lab.tcpdump(h1, ["-Q", "out", "-x"], "ip proto 112");
    const sender = startScript(lab, h1.ns, "raw-send.ts", [h1.ifname, h2.ipv4, `198.18.${lab.subnet}`]);
    await sender.waitExit(20_000);
    report = JSON.parse(sender.stdout.split("\n").find((l) => l.startsWith("{")) ?? "null") as Report;
    await new Promise((r) => setTimeout(r, 500));
    await cap.stop("SIGINT");
    wire = capturedHex(cap.stdout);
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  // The destination address in an IPv4 packet's hex (bytes 16–19): which socket sent it.
  const isMulticast = (hex: string) => Number.parseInt(hex.slice(32, 34), 16) >= 224;

  it("puts every advert on the wire, byte for byte as the old path built it, in each socket's order", () => {
    const expected = report?.expected ?? [];
    expect(expected).toHaveLength(40);
    for (const multicast of [true, false])
      expect(wire.filter((h) => isMulticast(h) === multicast)).toEqual(
        expected.filter((h) => isMulticast(h) === multicast),
      );
    expect(wire).toHaveLength(40);
  });

  it("sends every one with sendto: none queued in raw-socket, no errors, in send order", () => {
    // raw-socket's queues sent one datagram per socket per loop turn, interleaving the two sockets.
    expect(wire).toEqual(report?.expected);
    const m = report?.multicast;
    const u = report?.unicast;
    expect((m?.sent ?? 0) + (u?.sent ?? 0)).toBe(40);
    expect(m?.directSends).toBe(m?.sent);
    expect(u?.directSends).toBe(u?.sent);
    expect(m?.sendErrors).toBe(0);
    expect(u?.sendErrors).toBe(0);
  });
});
