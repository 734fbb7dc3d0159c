/**
 * Lab helper for bench/runtime-vs-keepalived.bench.ts, run as root inside the sender namespace:
 * sends VRRP v2 adverts (priority 150, advert_int 255 s, one VIP) for VRIDs 1..PER_IF on each given
 * interface, round-robin, at RATE adverts/s for SECONDS, then prints `{"sent":N,"errors":E}`.
 * argv: RATE SECONDS PER_IF IFNAME:VIPNET… (VIP of VRID v on that interface = VIPNET.v). Not pure.
 */
import raw, { type Socket } from "raw-socket";
import { encodeAdvert } from "../../src/protocol/codec.ts";
import { interfaceAddress } from "../../transports/raw.transport.ts";

const [rateText = "10000", secondsText = "5", perIfText = "250", ...ifs] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const perIf = Number(perIfText);
/** advert_int 255 s (the v2 maximum): the receivers stay BACKUP for the whole run without adverts. */
const ADVERT_INT_CS = 25_500;

interface Target {
  readonly socket: Socket;
  readonly bytes: Buffer;
}
const targets: Target[] = [];
for (const spec of ifs) {
  const [ifname = "", vipNet = ""] = spec.split(":");
  const src = interfaceAddress(ifname, 4) ?? "";
  const socket = raw.createSocket({ protocol: 112, addressFamily: raw.AddressFamily.IPv4 });
  const name = Buffer.from(`${ifname}\0`);
  socket.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
  socket.setOption(raw.SocketLevel.IPPROTO_IP, 33 /* IP_MULTICAST_TTL */, 255);
  for (let vrid = 1; vrid <= perIf; vrid++)
    targets.push({
      socket,
      bytes: Buffer.from(
        encodeAdvert(
          {
            version: 2,
            vrid,
            priority: 150,
            advertIntervalCs: ADVERT_INT_CS,
            addresses: [`${vipNet}.${vrid}`],
          },
          4,
          { src, dst: "224.0.0.18" },
        ),
      ),
    });
}

let sent = 0;
let errors = 0;
let next = 0;
const total = rate * seconds;
const t0 = performance.now();
const send = (t: Target): Promise<void> =>
  new Promise((resolve) =>
    t.socket.send(t.bytes, 0, t.bytes.length, "224.0.0.18", (e: Error | null) => {
      if (e === null) sent++;
      else errors++;
      resolve();
    }),
  );
while (next < total) {
  // Send what is due by now (paced at `rate`), 64 at a time.
  const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
  const batch: Promise<void>[] = [];
  while (next < due && batch.length < 64) batch.push(send(targets[next++ % targets.length] as Target));
  if (batch.length > 0) await Promise.all(batch);
  else await new Promise((r) => setTimeout(r, 1));
}
for (const t of targets) t.socket.close();
console.log(JSON.stringify({ sent, errors, seconds: (performance.now() - t0) / 1000 }));
