/**
 * Test helper run as root inside a lab namespace, for test/netns/raw-transport-burst.test.ts.
 * `send IFNAME COUNT NET [GAP_MS [FIRST]]`: sends COUNT v2 adverts (VRIDs FIRST.., default 1, one VIP
 * NET.VRID each) to 224.0.0.18, all at once or GAP_MS apart, then prints `{"sent":N}`.
 * `receive IFNAME BLOCK_MS`: opens the raw transport's shared IPv4 multicast socket, prints `ready`,
 * then blocks its event loop for BLOCK_MS (so a burst queues in the socket); 1 s later and 4 s later
 * it prints the socket's counters and the VRIDs delivered so far as JSON, then exits.
 * `receive IFNAME BLOCK_MS pending`: the same, but right after the block, before the event loop runs
 * again, calls the transport's `readPending` and prints `{"pending":[VRIDs delivered by it]}`. Not pure.
 */
import raw from "raw-socket";
import { encodeAdvert } from "../../../src/protocol/codec.ts";
import { RealClock } from "../../../src/runtime/real-clock.ts";
import { interfaceAddress, RawTransportPool } from "../../../transports/raw.transport.ts";

const [mode = "", ifname = "eth0", arg = "0", net = "198.18.0", gapText = "0", firstText = "1"] =
  process.argv.slice(2);

if (mode === "send") {
  const count = Number(arg);
  const src = interfaceAddress(ifname, 4) ?? "";
  const sock = raw.createSocket({ protocol: 112, addressFamily: raw.AddressFamily.IPv4 });
  const name = Buffer.from(`${ifname}\0`);
  sock.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
  sock.setOption(raw.SocketLevel.IPPROTO_IP, 33 /* IP_MULTICAST_TTL */, 255);
  const gapMs = Number(gapText);
  const first = Number(firstText);
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
} else {
  const blockMs = Number(arg);
  const pool = new RawTransportPool(new RealClock());
  const t = pool.openShared(ifname, 4, "multicast", ["224.0.0.18"]);
  const vrids: number[] = [];
  t.inbound$.subscribe((d) => vrids.push(d.bytes[1] ?? 0));
  console.log("ready");
  const until = Date.now() + blockMs;
  while (Date.now() < until) {
    // Busy: the event loop cannot read the socket, so the burst queues in the kernel.
  }
  if (process.argv[5] === "pending") {
    t.readPending?.();
    console.log(JSON.stringify({ pending: vrids.slice() }));
  }
  const report = () => console.log(JSON.stringify({ stats: pool.stats(ifname, 4, "multicast"), vrids }));
  setTimeout(report, 1000);
  setTimeout(() => {
    report();
    t.close();
    pool.close();
  }, 4000);
}
