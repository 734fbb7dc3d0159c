/**
 * The raw IPv4 socket's doorbell mode (transports/steady-filter.ts, raw4.socket.ts), on the real
 * kernel: a receiver that names each priority-100 advert steady (as a node does for a BACKUP's
 * master, heard again) lets the next ones wait in the socket — read later, in batches, each still
 * with its own kernel arrival time — while the priority-0 advert that follows rings the doorbell
 * and is delivered at once, after every advert queued before it. Nothing is lost, duplicated or
 * reordered, and `readDeferred` delivers what waits before it returns. Adverts waiting on two
 * interfaces are handed on together, in the order they arrived across both.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { Lab } from "../support/lab.ts";
import { startScript } from "./support/vigil.ts";

const suite = "netns: steady adverts wait in the socket; a changed one rings the doorbell";
const COUNT = 60;
const GAP_MS = 40;
const RUN_S = 6;

type Rec = [priority: number, rxAtUs: number, deliveredAtUs: number, byReadDeferred: number];
interface Report {
  readonly records: readonly Rec[];
  readonly stats: { doorbells: number; wakeups: number; socketErrors: number; kernelTimes: number };
}

describe.skipIf(skipUnlessLab(suite, { netns: true }))(suite, () => {
  let lab: Lab;
  let report: Report | undefined;
  let sendOut = "";
  let twoIf: { records: Array<[number, number, number]> } | undefined;
  let twoIfSent = "";

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}db`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const receiver = startScript(lab, h2.ns, "raw-doorbell.ts", ["receive", "eth0", String(RUN_S)]);
    await receiver.waitForOutput(/ready/, 15_000);
    const sender = startScript(lab, h1.ns, "raw-doorbell.ts", [
      "send",
      "eth0",
      String(COUNT),
      String(GAP_MS),
    ]);
    await sender.waitExit(20_000);
    sendOut = sender.output;
    await receiver.waitExit(20_000);
    const line = receiver.stdout.split("\n").find((l) => l.startsWith('{"records"'));
    report = line === undefined ? undefined : (JSON.parse(line) as Report);
    // a second link between the two hosts: host 1's eth1 to `dbl1` in host 2
    const peer = `${lab.prefix.slice(0, 8)}x1`;
    await lab.secondInterface(h1, peer, { peerNs: h2.ns, address: `198.19.${lab.subnet}.1/24` });
    await lab.nsRun(h2.ns, "ip", ["addr", "add", `198.19.${lab.subnet}.2/24`, "dev", peer]);
    // a veth just set up drops what is sent on it for a moment (the first adverts were lost without this)
    await new Promise((r) => setTimeout(r, 1500));
    const r2 = startScript(lab, h2.ns, "raw-doorbell.ts", ["receive2", "eth0", peer, String(RUN_S)]);
    await r2.waitForOutput(/ready/, 15_000);
    const s2 = startScript(lab, h1.ns, "raw-doorbell.ts", [
      "send2",
      "eth0",
      "eth1",
      String(COUNT / 2),
      String(GAP_MS),
      `198.19.${lab.subnet}.1`,
    ]);
    await s2.waitExit(20_000);
    twoIfSent = s2.output;
    await r2.waitExit(20_000);
    const line2 = r2.stdout.split("\n").find((l) => l.startsWith('{"records"'));
    twoIf = line2 === undefined ? undefined : JSON.parse(line2);
  }, 90_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it("delivers every advert once, in the order sent", () => {
    expect(sendOut).toContain(`{"sent":${COUNT + 1}}`);
    const prios = (report?.records ?? []).map((r) => r[0]);
    expect(prios).toEqual([...Array.from({ length: COUNT }, () => 100), 0]);
    expect(report?.stats.socketErrors).toBe(0);
  });

  it("keeps each waiting advert's kernel arrival time", () => {
    const recs = report?.records ?? [];
    expect(report?.stats.kernelTimes).toBe(COUNT + 1);
    for (let i = 1; i < recs.length; i++) {
      const gap = (recs[i]?.[1] ?? 0) - (recs[i - 1]?.[1] ?? 0);
      // sent GAP_MS apart: arrival times that far apart, not the batch's read time
      expect(gap).toBeGreaterThan(((GAP_MS * 1000) / 2) | 0);
    }
  });

  it("lets steady adverts wait, and is woken by the doorbell, not by each advert", () => {
    const recs = report?.records ?? [];
    const steadyWaits = recs.slice(5, COUNT).map((r) => r[2] - r[1]);
    const sorted = [...steadyWaits].sort((x, y) => x - y);
    // read in batches: most waited more than two gaps (read as they came, each would wait ~0)
    expect(sorted[Math.floor(sorted.length / 2)]).toBeGreaterThan(2 * GAP_MS * 1000);
    expect(report?.stats.doorbells).toBeGreaterThanOrEqual(1);
    // the socket itself woke the process only before the doorbell took over
    expect(report?.stats.wakeups).toBeLessThanOrEqual(3);
  });

  it("delivers the changed advert at once, after those queued before it", () => {
    const last = report?.records.at(-1);
    expect(last?.[0]).toBe(0);
    expect((last?.[2] ?? 0) - (last?.[1] ?? 0)).toBeLessThan(50_000);
  });

  it("readDeferred delivers what waits before it returns", () => {
    expect((report?.records ?? []).filter((r) => r[3] === 1).length).toBeGreaterThan(0);
  });

  it("hands on what waits on two interfaces in the order it arrived across both", () => {
    expect(twoIfSent).toContain(`{"sent":${COUNT}}`);
    const recs = twoIf?.records ?? [];
    expect(recs).toHaveLength(COUNT);
    // the sender alternated the interfaces: so does the delivery (one queue read after the other would not)
    expect(recs.map((r) => r[0])).toEqual(Array.from({ length: COUNT }, (_, i) => (i % 2 === 0 ? 5 : 6)));
    for (let i = 1; i < recs.length; i++) expect(recs[i]?.[1] ?? 0).toBeGreaterThan(recs[i - 1]?.[1] ?? 0);
    // and it waited: most were read in batches, not as they came
    const waits = recs
      .slice(4)
      .map((r) => r[2] - r[1])
      .sort((x, y) => x - y);
    expect(waits[Math.floor(waits.length / 2)]).toBeGreaterThan(2 * GAP_MS * 1000);
  });
});
