/**
 * Test helper run as root inside a lab namespace, for test/netns/raw-transport-doorbell.test.ts.
 * `send IFNAME COUNT GAP_MS`: sends COUNT identical VRRPv3 adverts (VRID 5, priority 100) GAP_MS
 * apart to 224.0.0.18, then one of priority 0, then prints `{"sent":N}`.
 * `receive IFNAME SECONDS`: opens the raw transport's shared IPv4 multicast socket and, as a node
 * would, names every priority-100 advert it delivers steady (`RawTransportPool.steady`) and a
 * priority-0 one unsteady; 1.2 s after the first advert (the sender mid-stream, whenever its process got
 * going) it calls `readDeferred` once; after SECONDS it prints
 * `{"records":[[priority, kernel time, delivery time, delivered by readDeferred (0/1)], …], "stats"}`
 * (times on the transport's clock, µs) and exits.
 * `send2 IF0 IF1 COUNT GAP_MS [SRC1]`: COUNT rounds, GAP_MS apart, each one advert on IF0 (VRID 5) and,
 * GAP_MS / 2 later, one on IF1 (VRID 6, from SRC1 if given), all steady; then prints `{"sent":N}`.
 * `receive2 IF0 IF1 SECONDS`: both interfaces' sockets from one pool, every advert named steady;
 * prints `{"records":[[VRID, kernel time, delivery time], …]}` after SECONDS. Not pure.
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
} else if (mode === "send2") {
  const [if0 = "eth0", if1 = "eth1", countText = "0", gapText = "0", src1 = ""] = process.argv.slice(3);
  const pool = new RawTransportPool(new RealClock());
  const ts = [pool.openShared(if0, 4, "multicast"), pool.openShared(if1, 4, "multicast")];
  const send = (k: 0 | 1): void => {
    const ifname = k === 0 ? if0 : if1;
    const vrid = 5 + k;
    const src = k === 1 && src1 !== "" ? src1 : (interfaceAddress(ifname, 4) ?? "");
    const bytes = encodeAdvert(
      { version: 3, vrid, priority: 100, advertIntervalCs: 100, addresses: [`198.18.3.${vrid}`] },
      4,
      { src, dst: "224.0.0.18" },
    );
    ts[k]?.send({ bytes, family: 4, dst: "224.0.0.18", ttl: 255, ifname, vrid });
  };
  const gap = Number(gapText);
  for (let i = 0; i < Number(countText); i++) {
    send(0);
    await new Promise((r) => setTimeout(r, gap / 2));
    send(1);
    await new Promise((r) => setTimeout(r, gap / 2));
  }
  await new Promise((r) => setTimeout(r, 50));
  const sent = [if0, if1].reduce((n, i) => n + (pool.stats(i, 4, "multicast")?.sent ?? 0), 0);
  pool.close();
  console.log(JSON.stringify({ sent }));
} else if (mode === "receive2") {
  const [if0 = "eth0", if1 = "eth1", secondsText = "0"] = process.argv.slice(3);
  const clock = new RealClock();
  const pool = new RawTransportPool(clock);
  const records: Array<[number, number, number]> = [];
  for (const ifname of [if0, if1])
    pool.openShared(ifname, 4, "multicast", ["224.0.0.18"]).inbound$.subscribe((d) => {
      records.push([d.bytes[1] ?? 0, d.rxAtUs, clock.nowUs()]);
      pool.steady({ ifname, family: 4, src: d.src, dst: d.dst, ttl: d.ttl, hex: d.hex ?? "" });
    });
  console.log("ready");
  setTimeout(() => {
    console.log(JSON.stringify({ records }));
    pool.close();
  }, Number(secondsText) * 1000);
} else {
  const clock = new RealClock();
  const pool = new RawTransportPool(clock);
  const t = pool.openShared(ifname, 4, "multicast", ["224.0.0.18"]);
  const records: Array<[number, number, number, number]> = [];
  let inReadDeferred = 0;
  let readScheduled = false;
  t.inbound$.subscribe((d) => {
    const priority = d.bytes[2] ?? -1;
    records.push([priority, d.rxAtUs, clock.nowUs(), inReadDeferred]);
    // timed from the first advert, not from `ready`: a loaded machine may start the sender late
    if (!readScheduled) {
      readScheduled = true;
      setTimeout(() => {
        inReadDeferred = 1;
        pool.readDeferred();
        inReadDeferred = 0;
      }, 1200);
    }
    const advert = { ifname, family: 4 as const, src: d.src, dst: d.dst, ttl: d.ttl, hex: d.hex ?? "" };
    if (priority === 100) pool.steady(advert);
    else pool.unsteady(ifname, 4, d.bytes[1] ?? 0);
  });
  console.log("ready");
  setTimeout(() => {
    console.log(JSON.stringify({ records, stats: pool.stats(ifname, 4, "multicast") }));
    t.close();
    pool.close();
  }, Number(a) * 1000);
}
