import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { Prng } from "../../src/runtime/prng.ts";
import { type LinkFaults, SimNetwork } from "../../transports/sim.transport.ts";
import type { Datagram, Outbound, Transport } from "../../transports/transport.ts";

const GROUP = "224.0.0.18";

interface Lab {
  clock: VirtualClock;
  net: SimNetwork;
  t: Record<string, Transport>;
  got: Record<string, Datagram[]>;
}

/** Nodes a, b, c on segment "lan" (198.18.0.1..3, fe80::1..3), d alone on segment "other". */
const lab = (seed = 1): Lab => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, new Prng(seed), { record: true });
  const t: Record<string, Transport> = {};
  const got: Record<string, Datagram[]> = {};
  ["a", "b", "c", "d"].forEach((name, i) => {
    net.attach(name, {
      ifname: "eth0",
      segment: name === "d" ? "other" : "lan",
      ipv4: `198.18.0.${i + 1}`,
      ipv6: `fe80::${i + 1}`,
    });
    const tr = net.transport(name);
    t[name] = tr;
    got[name] = [];
    tr.inbound$.subscribe((d) => got[name]?.push(d));
  });
  return { clock, net, t, got };
};

const msg = (n: number, dst = GROUP, ttl = 255): Outbound => ({
  bytes: Uint8Array.of(0x31, 1, n & 0xff, 0, (n >> 8) & 0xff, n & 0xff, 0, 0),
  family: 4,
  dst,
  ttl,
  ifname: "eth0",
  vrid: 1,
});

const seqOf = (d: Datagram): number => ((d.bytes[4] as number) << 8) | (d.bytes[5] as number);

describe("SimNetwork delivery", () => {
  it("multicast reaches every other node on the segment, not self, not other segments", () => {
    const { clock, t, got } = lab();
    t.a?.send(msg(1, GROUP, 255));
    expect(got.b).toEqual([]); // nothing before the clock moves, even with zero delay
    clock.advanceBy(0);
    expect(got.a).toEqual([]);
    expect(got.d).toEqual([]);
    for (const n of ["b", "c"]) {
      expect(got[n]).toHaveLength(1);
      expect(got[n]?.[0]).toMatchObject({
        src: "198.18.0.1",
        dst: GROUP,
        ttl: 255,
        family: 4,
        ifname: "eth0",
      });
    }
  });

  it("unicast reaches only the addressed node, TTL carried; unknown address is dropped", () => {
    const { clock, net, t, got } = lab();
    t.a?.send(msg(1, "198.18.0.3", 7));
    t.a?.send(msg(2, "198.18.0.4", 7)); // d is on another segment: no route
    clock.advanceBy(10);
    expect(got.b).toEqual([]);
    expect(got.c?.map((d) => d.ttl)).toEqual([7]);
    expect(got.d).toEqual([]);
    expect(net.records.filter((r) => r.kind === "dropped")).toMatchObject([{ reason: "no-route", seq: 1 }]);
  });

  it("IPv6 multicast uses the link-local source", () => {
    const { clock, t, got } = lab();
    t.b?.send({ ...msg(1, "ff02::12"), family: 6 });
    clock.advanceBy(0);
    expect(got.a?.[0]).toMatchObject({ src: "fe80::2", dst: "ff02::12", family: 6 });
  });

  it("delays are exact and rxAtUs comes from the clock", () => {
    const { clock, net, t, got } = lab();
    net.setLinkFaults("a", "b", { delayUs: 1500 });
    net.setLinkFaults("a", "c", { delayUs: 250 });
    clock.advanceTo(1000);
    t.a?.send(msg(1));
    clock.advanceTo(1249);
    expect(got.c).toHaveLength(0);
    clock.advanceTo(1250);
    expect(got.c?.[0]?.rxAtUs).toBe(1250);
    clock.advanceTo(2499);
    expect(got.b).toHaveLength(0);
    clock.advanceTo(10_000);
    expect(got.b?.[0]?.rxAtUs).toBe(2500);
  });

  it("segment defaults apply and per-link settings override them", () => {
    const { clock, net, t, got } = lab();
    net.setSegmentFaults("lan", { delayUs: 100 });
    net.setLinkFaults("a", "c", { delayUs: 900 });
    t.a?.send(msg(1));
    clock.advanceBy(10_000);
    expect(got.b?.[0]?.rxAtUs).toBe(100);
    expect(got.c?.[0]?.rxAtUs).toBe(900);
  });

  it("the receiver gets its own copy of the bytes", () => {
    const { clock, t, got } = lab();
    const out = msg(5);
    t.a?.send(out);
    out.bytes[2] = 99;
    clock.advanceBy(0);
    expect(got.b?.[0]?.bytes[2]).toBe(5);
    expect(got.b?.[0]?.bytes).not.toBe(got.c?.[0]?.bytes);
  });
});

describe("SimNetwork partitions", () => {
  it("symmetric partition cuts both ways, heal restores", () => {
    const { clock, net, t, got } = lab();
    net.partition(["a"], ["b", "c"]);
    t.a?.send(msg(1));
    t.b?.send(msg(2));
    clock.advanceBy(10);
    expect(got.b).toEqual([]);
    expect(got.a).toEqual([]);
    expect(got.c?.map((d) => d.bytes[2])).toEqual([2]); // b and c still talk
    net.heal();
    t.a?.send(msg(3));
    clock.advanceBy(10);
    expect(got.b?.map((d) => d.bytes[2])).toEqual([3]);
  });

  it("one-way partition: a cannot reach b, b still reaches a", () => {
    const { clock, net, t, got } = lab();
    net.partition(["a"], ["b"], true);
    t.a?.send(msg(1));
    t.b?.send(msg(2));
    clock.advanceBy(10);
    expect(got.b).toEqual([]);
    expect(got.a?.map((d) => d.bytes[2])).toEqual([2]);
    expect(got.c?.map((d) => d.bytes[2])).toEqual([1, 2]);
  });

  it("a partition scheduled with at() also drops what is in flight", () => {
    const { clock, net, t, got } = lab();
    net.setLinkFaultsBoth("a", "b", { delayUs: 1000 });
    t.a?.send(msg(1));
    net.at(500, () => net.partition(["a"], ["b"]));
    net.at(2000, () => net.heal());
    clock.advanceTo(1500);
    t.a?.send(msg(2));
    clock.advanceTo(2000);
    t.a?.send(msg(3));
    clock.advanceTo(5000);
    expect(got.b?.map((d) => [d.bytes[2], d.rxAtUs])).toEqual([[3, 3000]]);
    expect(net.records.filter((r) => r.kind === "dropped" && r.to === "b").map((r) => r.seq)).toEqual([0, 1]);
  });

  it("a closed node receives nothing and sends nothing", () => {
    const { clock, t, got } = lab();
    t.b?.close();
    t.a?.send(msg(1));
    t.b?.send(msg(2));
    clock.advanceBy(10);
    expect(got.b).toEqual([]);
    expect(got.c?.map((d) => d.bytes[2])).toEqual([1]);
  });
});

describe("SimNetwork faults and determinism", () => {
  const run = (seed: number, faults: LinkFaults, count = 2000) => {
    const l = lab(seed);
    l.net.setSegmentFaults("lan", faults);
    for (let i = 0; i < count; i++) l.clock.setTimerUs(() => l.t.a?.send(msg(i)), i * 1000);
    l.clock.advanceTo(count * 1000 + 1_000_000);
    return l;
  };
  const faults: LinkFaults = {
    delayUs: 300,
    jitterUs: 200,
    lossPpm: 100_000,
    duplicatePpm: 50_000,
    reorderPpm: 100_000,
    reorderWindowUs: 5000,
  };

  it("same seed, identical delivery log; another seed, a different one", () => {
    const a = JSON.stringify(run(42, faults).net.records);
    const b = JSON.stringify(run(42, faults).net.records);
    const c = JSON.stringify(run(43, faults).net.records);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it("loss, duplication and reordering rates stay within bounds", () => {
    const { net, got } = run(7, faults, 10_000);
    const toB = net.records.filter((r) => r.to === "b");
    const lost = toB.filter((r) => r.kind === "dropped" && r.reason === "loss").length;
    const dups = toB.filter((r) => r.kind === "delivered" && r.copy === 1).length;
    // 10 % loss of 10,000: binomial sd ≈ 30, bounds at > 6 sd.
    expect(lost).toBeGreaterThan(800);
    expect(lost).toBeLessThan(1200);
    // 5 % duplication of the ≈ 9,000 survivors: ≈ 450, sd ≈ 21.
    expect(dups).toBeGreaterThan(320);
    expect(dups).toBeLessThan(580);
    const seqs = (got.b ?? []).map(seqOf);
    let inversions = 0;
    for (let i = 1; i < seqs.length; i++) if ((seqs[i] as number) < (seqs[i - 1] as number)) inversions++;
    expect(inversions).toBeGreaterThan(50);
    const delays = net.records.flatMap((r) => (r.kind === "delivered" ? [r.atUs - r.sentAtUs] : []));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(300);
    expect(Math.max(...delays)).toBeLessThanOrEqual(300 + 200 + 5000);
  });

  it("no faults: no loss, no duplicates, order kept", () => {
    const { got } = run(7, { delayUs: 100 }, 500);
    expect(got.c).toHaveLength(500);
    expect((got.c ?? []).map(seqOf)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });
});

describe("SimNetwork interfaces, per-segment partitions and restarts", () => {
  /** a and b share two segments: eth0 on "front", eth1 on "back". */
  const twoLans = () => {
    const clock = new VirtualClock();
    const net = new SimNetwork(clock, new Prng(1), { record: true });
    const got: Record<string, Datagram[]> = { a: [], b: [] };
    const t: Record<string, Transport> = {};
    for (const [name, i] of [
      ["a", 1],
      ["b", 2],
    ] as const) {
      net.attach(name, { ifname: "eth0", segment: "front", ipv4: `198.18.0.${i}` });
      net.attach(name, { ifname: "eth1", segment: "back", ipv4: `198.18.1.${i}` });
      t[name] = net.transport(name);
      t[name]?.inbound$.subscribe((d) => got[name]?.push(d));
    }
    return { clock, net, got, t };
  };
  const on = (ifname: string, n: number): Outbound => ({ ...msg(n), ifname });

  it("a down interface sends and receives nothing; up again, it does", () => {
    const { clock, net, got, t } = twoLans();
    net.setInterfaceUp("a", "eth1", false);
    t.a?.send(on("eth1", 1));
    t.b?.send(on("eth1", 2));
    t.a?.send(on("eth0", 3));
    clock.advanceBy(0);
    expect(got.b?.map(seqOf)).toEqual([3]);
    expect(got.a).toEqual([]);
    // Both are recorded as link-down: a's at its own down interface, b's at a's.
    expect(net.records.filter((r) => r.kind === "dropped").map((r) => [r.from, r.reason])).toEqual([
      ["a", "link-down"],
      ["b", "link-down"],
    ]);
    expect(net.passes("a", "b", "back")).toBe(false);
    expect(net.passes("a", "b", "front")).toBe(true);
    net.setInterfaceUp("a", "eth1", true);
    t.b?.send(on("eth1", 4));
    clock.advanceBy(0);
    expect(got.a?.map(seqOf)).toEqual([4]);
    expect(() => net.setInterfaceUp("a", "eth9", false)).toThrow(RangeError);
  });

  it("a partition on one segment leaves the other; heal of that segment only", () => {
    const { clock, net, got, t } = twoLans();
    net.partition(["a"], ["b"], false, "back");
    expect([
      net.passes("a", "b", "back"),
      net.passes("b", "a", "back"),
      net.passes("a", "b", "front"),
    ]).toEqual([false, false, true]);
    t.a?.send(on("eth1", 1));
    t.a?.send(on("eth0", 2));
    clock.advanceBy(0);
    expect(got.b?.map(seqOf)).toEqual([2]);
    net.partition(["a"], ["b"]);
    net.heal("back");
    expect(net.passes("a", "b", "back")).toBe(false); // the all-segment cut stays
    net.heal();
    expect(net.passes("a", "b", "back")).toBe(true);
  });

  it("a closed node's transport opens again (a restart), and old in-flight copies are not delivered to it", () => {
    const { clock, net, got, t } = twoLans();
    t.a?.send(on("eth0", 1));
    t.b?.close();
    const again: Datagram[] = [];
    net.transport("b").inbound$.subscribe((d) => again.push(d));
    clock.advanceBy(0);
    expect(again).toEqual([]);
    expect(got.b).toEqual([]);
    t.a?.send(on("eth0", 2));
    clock.advanceBy(0);
    expect(again.map(seqOf)).toEqual([2]);
    expect(net.passes("a", "b", "front")).toBe(true);
  });
});
