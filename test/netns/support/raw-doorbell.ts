/**
 * Test helper run as root inside a lab namespace, for test/netns/raw-transport-doorbell.test.ts.
 * `send IFNAME COUNT GAP_MS`: sends COUNT identical VRRPv3 adverts (VRID 5, priority 100) GAP_MS
 * apart to 224.0.0.18, then one of priority 0, then prints `{"sent":N}`.
 * `receive IFNAME SECONDS`: opens the raw transport's shared IPv4 multicast socket and, as a node
 * would, names every priority-100 advert it delivers steady (`RawTransportPool.steady`) and a
 * priority-0 one unsteady; 1.5 s after `ready` it calls `readDeferred` once; after SECONDS it prints
 * `{"records":[[priority, kernel time, delivery time, delivered by readDeferred (0/1)], …], "stats"}`
 * (times on the transport's clock, µs) and exits. Not pure.
 */
import { encodeAdvert } from "../../../src/protocol/codec.ts";
import { RealClock } from "../../../src/runtime/real-clock.ts";
import { interfaceAddress, RawTransportPool } from "../../../transports/raw.transport.ts";

const [mode = "", ifname = "eth0", a = "0", b = "0"] = process.argv.slice(2);

if (mode === "send") {
  // through the raw transport's own socket (sent at the end of each callback)
  const pool = new RawTransportPool(new RealClock());
  const t = pool.openShared(ifname, 4, "multicast");
  const src = interfaceAddress(ifname, 4) ?? "";
  const send = (priority: number): void => {
    const bytes = encodeAdvert(
      { version: 3, vrid: 5, priority, advertIntervalCs: 100, addresses: ["198.18.3.5"] },
      4,
      { src, dst: "224.0.0.18" },
    );
    t.send({ bytes, family: 4, dst: "224.0.0.18", ttl: 255, ifname, vrid: 5 });
  };
  for (let i = 0; i < Number(a); i++) {
    send(100);
    await new Promise((r) => setTimeout(r, Number(b)));
  }
  send(0);
  await new Promise((r) => setTimeout(r, 50));
  const stats = pool.stats(ifname, 4, "multicast");
  pool.close();
  console.log(JSON.stringify({ sent: (stats?.sent ?? 0) - (stats?.sendErrors ?? 0) }));
} else {
  const clock = new RealClock();
  const pool = new RawTransportPool(clock);
  const t = pool.openShared(ifname, 4, "multicast", ["224.0.0.18"]);
  const records: Array<[number, number, number, number]> = [];
  let inReadDeferred = 0;
  t.inbound$.subscribe((d) => {
    const priority = d.bytes[2] ?? -1;
    records.push([priority, d.rxAtUs, clock.nowUs(), inReadDeferred]);
    const advert = { ifname, family: 4 as const, src: d.src, dst: d.dst, ttl: d.ttl, hex: d.hex ?? "" };
    if (priority === 100) pool.steady(advert);
    else pool.unsteady(ifname, 4, d.bytes[1] ?? 0);
  });
  console.log("ready");
  setTimeout(() => {
    inReadDeferred = 1;
    pool.readDeferred();
    inReadDeferred = 0;
  }, 1500);
  setTimeout(() => {
    console.log(JSON.stringify({ records, stats: pool.stats(ifname, 4, "multicast") }));
    t.close();
    pool.close();
  }, Number(a) * 1000);
}
