/**
 * Test helper run as root inside a lab namespace, for test/netns/raw-transport-burst.test.ts.
 * `send IFNAME COUNT NET [GAP_MS [FIRST [TRIGGER]]]`: sends COUNT v2 adverts (VRIDs FIRST.., default
 * 1, one VIP NET.VRID each) to 224.0.0.18, all at once or GAP_MS apart, then prints `{"sent":N}`.
 * With TRIGGER (a file path), it first prints `armed` and waits for that file to exist.
 * `send6 IFNAME COUNT [TRIGGER]`: sends COUNT v3 IPv6 adverts (VRIDs 1..) to ff02::12 through the raw
 * transport's own IPv6 socket, all at once, then prints `{"sent":N}`; TRIGGER as above.
 * `receive IFNAME BLOCK_MS`: opens the raw transport's shared IPv4 multicast socket, prints `ready`,
 * then blocks its event loop for BLOCK_MS (so a burst queues in the socket); 1 s later and 4 s later
 * it prints the socket's counters, the VRIDs delivered so far, their receive times and the block's
 * start and end (on the transport's clock) as JSON, then exits. `receive6 IFNAME BLOCK_MS`: the
 * same on the IPv6 socket.
 * `receive IFNAME BLOCK_MS pending`: the same, but right after the block, before the event loop runs
 * again, calls the transport's `readPending` and prints `{"pending":[VRIDs delivered by it], …}`.
 * A fifth argument (after `pending` or `-`) is a TRIGGER file the receiver creates as its block
 * begins, for an armed sender. Not pure.
 */
import { existsSync, writeFileSync } from "node:fs";
import raw from "raw-socket";
import { encodeAdvert } from "../../../src/protocol/codec.ts";
import { RealClock } from "../../../src/runtime/real-clock.ts";
import { interfaceAddress, RawTransportPool } from "../../../transports/raw.transport.ts";

const [
  mode = "",
  ifname = "eth0",
  arg = "0",
  net = "198.18.0",
  gapText = "0",
  firstText = "1",
  trigger = "",
] = process.argv.slice(2);

/** With a trigger file: `armed`, then wait (polling each millisecond) until it exists. */
async function awaitTrigger(path: string): Promise<void> {
  if (path === "") return;
  console.log("armed");
  while (!existsSync(path)) await new Promise((r) => setTimeout(r, 1));
}

if (mode === "send") {
  const count = Number(arg);
  const src = interfaceAddress(ifname, 4) ?? "";
  const sock = raw.createSocket({ protocol: 112, addressFamily: raw.AddressFamily.IPv4 });
  const name = Buffer.from(`${ifname}\0`);
  sock.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
  sock.setOption(raw.SocketLevel.IPPROTO_IP, 33 /* IP_MULTICAST_TTL */, 255);
  const gapMs = Number(gapText);
  const first = Number(firstText);
  await awaitTrigger(trigger);
  let sent = 0;
  const send = (vrid: number): Promise<void> => {
    const bytes = encodeAdvert(
      { version: 2, vrid, priority: 100, advertIntervalCs: 100, addresses: [`${net}.${vrid}`] },
      4,
      { src, dst: "224.0.0.18" },
    );
    return new Promise<void>((resolve) =>
      sock.send(bytes, 0, bytes.length, "224.0.0.18", (e) => {
        if (e === null) sent++;
        else console.error(`send: ${e.message}`);
        resolve();
      }),
    );
  };
  if (gapMs === 0) await Promise.all(Array.from({ length: count }, (_, i) => send(first + i)));
  else
    for (let i = 0; i < count; i++) {
      await send(first + i);
      await new Promise((r) => setTimeout(r, gapMs));
    }
  sock.close();
  console.log(JSON.stringify({ sent }));
} else if (mode === "send6") {
  const count = Number(arg);
  const pool = new RawTransportPool(new RealClock());
  const t = pool.openShared(ifname, 6, "multicast");
  const src = interfaceAddress(ifname, 6) ?? "";
  await awaitTrigger(process.argv[5] ?? ""); // send6 IFNAME COUNT [TRIGGER]
  for (let vrid = 1; vrid <= count; vrid++) {
    const bytes = encodeAdvert(
      { version: 3, vrid, priority: 100, advertIntervalCs: 100, addresses: [`2001:db8::${vrid}`] },
      6,
      { src, dst: "ff02::12" },
    );
    t.send({ bytes, family: 6, dst: "ff02::12", ttl: 255, ifname, vrid });
  }
  const errors = pool.stats(ifname, 6, "multicast")?.sendErrors ?? 0;
  pool.close();
  console.log(JSON.stringify({ sent: count - errors }));
} else {
  const blockMs = Number(arg);
  const family = mode === "receive6" ? 6 : 4;
  const clock = new RealClock();
  const pool = new RawTransportPool(clock);
  const t = pool.openShared(ifname, family, "multicast", [family === 4 ? "224.0.0.18" : "ff02::12"]);
  const vrids: number[] = [];
  const times: number[] = [];
  t.inbound$.subscribe((d) => {
    vrids.push(d.bytes[1] ?? 0);
    times.push(d.rxAtUs);
  });
  console.log("ready");
  const blockStartUs = clock.nowUs();
  const receiverTrigger = process.argv[6] ?? "";
  if (receiverTrigger !== "") writeFileSync(receiverTrigger, "");
  const until = Date.now() + blockMs;
  while (Date.now() < until) {
    // Busy: the event loop cannot read the socket, so the burst queues in the kernel.
  }
  const blockEndUs = clock.nowUs();
  if (process.argv[5] === "pending") {
    t.readPending?.();
    console.log(JSON.stringify({ pending: vrids.slice(), times: times.slice(), blockStartUs, blockEndUs }));
  }
  const report = () =>
    console.log(
      JSON.stringify({
        stats: pool.stats(ifname, family, "multicast"),
        vrids,
        times,
        blockStartUs,
        blockEndUs,
      }),
    );
  setTimeout(report, 1000);
  setTimeout(() => {
    report();
    t.close();
    pool.close();
  }, 4000);
}
