import { execFileSync } from "node:child_process";
import dgram from "node:dgram";
import { firstValueFrom, take, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { decodeAdvert, encodeAdvert, prepareExpectations, validateAdvert } from "../../src/protocol/codec.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import type { Datagram } from "../../transports/transport.ts";
import { openUdpTransport, type UdpTransport } from "../../transports/udp.transport.ts";

const PORT = 20000 + (process.pid % 20000);
const open: UdpTransport[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.close();
});

const make = async (localAddress: string, clock: VirtualClock, group?: string): Promise<UdpTransport> => {
  const t = await openUdpTransport({
    clock,
    family: 4,
    ifname: "lo",
    localAddress,
    port: PORT,
    ...(group !== undefined ? { group, multicastLoopback: true } : {}),
  });
  open.push(t);
  return t;
};

const withTimeout = <T>(p: Promise<T>, ms = 2000): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error("timed out")), ms))]);

const fields = {
  version: 3,
  vrid: 7,
  priority: 120,
  advertIntervalCs: 100,
  addresses: ["198.18.0.100"],
} as const;

describe("UDP transport over loopback", () => {
  it("carries a unicast advert between two transports, stamped by the injected clock", async () => {
    const clock = new VirtualClock();
    clock.advanceTo(12_345);
    const a = await make("127.0.0.1", clock);
    const b = await make("127.0.0.2", clock);
    const got = firstValueFrom(b.inbound$);
    const bytes = encodeAdvert(fields, 4, { src: "127.0.0.1", dst: "127.0.0.2" });
    a.send({ bytes, family: 4, dst: "127.0.0.2", ttl: 255, ifname: "lo", vrid: 7 });
    const d: Datagram = await withTimeout(got);
    expect(d).toMatchObject({
      src: "127.0.0.1",
      dst: "127.0.0.2",
      ttl: 255,
      ttlObserved: false,
      rxAtUs: 12_345,
    });
    expect([...d.bytes]).toEqual([...bytes]);
    const r = decodeAdvert(d.bytes, d);
    expect(r).toMatchObject({ ok: true, advert: { vrid: 7, priority: 120, checksumVariant: "v3-actual" } });
    if (!r.ok) return;
    const exp = prepareExpectations({
      family: 4,
      version: 3,
      vrid: 7,
      advertIntervalCs: 100,
      vips: ["198.18.0.100"],
      unicastPeers: ["127.0.0.1"],
      checkUnicastSrc: true,
    });
    expect(validateAdvert(r.advert, d, exp)).toEqual({ ok: true });
    expect(a.stats.sent).toBe(1);
    expect(b.stats.received).toBe(1);
  });

  it("multicast reaches the other member with dst = the group, and not the sender itself", async () => {
    const clock = new VirtualClock();
    const a = await make("127.0.0.1", clock, "224.0.0.18");
    const b = await make("127.0.0.2", clock, "224.0.0.18");
    const selfSeen: Datagram[] = [];
    a.inbound$.subscribe((d) => selfSeen.push(d));
    const got = firstValueFrom(b.inbound$.pipe(take(2), toArray()));
    const m = encodeAdvert(fields, 4, { src: "127.0.0.1", dst: "224.0.0.18" });
    const u = encodeAdvert({ ...fields, priority: 1 }, 4, { src: "127.0.0.1", dst: "127.0.0.2" });
    a.send({ bytes: m, family: 4, dst: "224.0.0.18", ttl: 255, ifname: "lo", vrid: 7 });
    a.send({ bytes: u, family: 4, dst: "127.0.0.2", ttl: 255, ifname: "lo", vrid: 7 });
    const ds = await withTimeout(got);
    const byDst = Object.fromEntries(ds.map((d) => [d.dst, d]));
    expect(Object.keys(byDst).sort()).toEqual(["127.0.0.2", "224.0.0.18"]);
    for (const d of ds)
      expect(decodeAdvert(d.bytes, d)).toMatchObject({ advert: { checksumVariant: "v3-actual" } });
    await new Promise((r) => setTimeout(r, 50));
    expect(selfSeen).toEqual([]);
  });

  it("readPending delivers what waits in both sockets before it returns (the event loop never ran)", async () => {
    const clock = new VirtualClock();
    const b = await make("127.0.0.2", clock, "224.0.0.18");
    const seen: Datagram[] = [];
    b.inbound$.subscribe((d) => seen.push(d));
    b.readPending(); // nothing waiting: nothing delivered
    expect(seen).toEqual([]);
    // A sender in another process while this one's event loop is blocked: its datagrams wait unread.
    const send = (dst: string, priority: number): string =>
      `s.send(Buffer.from("${Buffer.from(encodeAdvert({ ...fields, priority }, 4, { src: "127.0.0.1", dst })).toString("hex")}", "hex"), ${PORT}, "${dst}", r);`;
    execFileSync(process.execPath, [
      "-e",
      `const s = require("node:dgram").createSocket("udp4"); let n = 0; const r = () => { if (++n === 2) s.close(); };
       s.bind(${PORT + 1}, "127.0.0.1", () => { s.setMulticastLoopback(true); ${send("224.0.0.18", 10)} ${send("127.0.0.2", 20)} });`,
    ]);
    b.readPending();
    expect(seen.map((d) => [d.src, d.dst, d.bytes[2]]).sort()).toEqual([
      ["127.0.0.1", "127.0.0.2", 20],
      ["127.0.0.1", "224.0.0.18", 10],
    ]);
    expect(b.stats.received).toBe(2);
    // The event loop's own reader finds them gone: nothing twice.
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.length).toBe(2);
  });

  it("counts oversized datagrams instead of delivering them", async () => {
    const clock = new VirtualClock();
    const b = await make("127.0.0.2", clock);
    const seen: Datagram[] = [];
    b.inbound$.subscribe((d) => seen.push(d));
    const raw = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => raw.send(new Uint8Array(9000), PORT, "127.0.0.2", () => resolve()));
    raw.close();
    for (let i = 0; i < 50 && b.stats.oversized === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(b.stats.oversized).toBe(1);
    expect(seen).toEqual([]);
  });

  it("close completes inbound$ and further sends are ignored", async () => {
    const clock = new VirtualClock();
    const a = await make("127.0.0.1", clock);
    let completed = false;
    a.inbound$.subscribe({ complete: () => (completed = true) });
    a.close();
    a.send({ bytes: new Uint8Array(8), family: 4, dst: "127.0.0.2", ttl: 255, ifname: "lo", vrid: 1 });
    expect(completed).toBe(true);
    expect(a.stats.sent).toBe(0);
  });

  it("fails to open on an address this host does not have", async () => {
    await expect(
      openUdpTransport({
        clock: new VirtualClock(),
        family: 4,
        ifname: "lo",
        localAddress: "198.18.255.254",
        port: PORT,
      }),
    ).rejects.toThrow();
  });
});
