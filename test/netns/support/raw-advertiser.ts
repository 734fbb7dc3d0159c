/**
 * Test helper run inside a lab namespace (as root): sends Vigil-encoded adverts through the raw
 * transport for each instance given as JSON in argv[2], at each instance's interval, `sendCount`
 * times (default: until killed), and keeps listening until SIGTERM;
 * prints one JSON line per datagram the transport delivers to an instance (what the raw receive
 * path saw: VRID, source, destination, TTL, length) and the shared sockets' counters on SIGTERM.
 */
import { encodeAdvert, passwordAuthData, type VrrpVersion } from "../../../src/protocol/codec.ts";
import { RealClock } from "../../../src/runtime/real-clock.ts";
import { interfaceAddress, type RawMode, RawTransportPool } from "../../../transports/raw.transport.ts";
import type { Family } from "../../../transports/transport.ts";

export interface AdvertiserInstance {
  readonly vrid: number;
  readonly ifname: string;
  readonly family: Family;
  readonly mode: RawMode;
  readonly version: VrrpVersion;
  readonly priority: number;
  readonly advertIntervalCs: number;
  readonly addresses: readonly string[];
  readonly dst: string;
  readonly authPass?: string;
  readonly ttl?: number;
  readonly sendCount?: number;
  /** Flip the checksum's low bits (to show receivers and `vigil sniff` reject it). */
  readonly corruptChecksum?: boolean;
}

const instances = JSON.parse(process.argv[2] ?? "[]") as AdvertiserInstance[];
const clock = new RealClock();
const pool = new RawTransportPool(clock);
const timers: NodeJS.Timeout[] = [];

for (const i of instances) {
  const transport = pool.open({ vrid: i.vrid, ifname: i.ifname, family: i.family, mode: i.mode });
  transport.inbound$.subscribe((d) =>
    console.log(
      JSON.stringify({
        rx: i.vrid,
        src: d.src,
        dst: d.dst,
        ttl: d.ttl,
        length: d.bytes.length,
        rxAtUs: d.rxAtUs,
      }),
    ),
  );
  const src = interfaceAddress(i.ifname, i.family);
  if (src === undefined) throw new Error(`no IPv${i.family} address on ${i.ifname}`);
  const bytes = encodeAdvert(
    {
      version: i.version,
      vrid: i.vrid,
      priority: i.priority,
      advertIntervalCs: i.advertIntervalCs,
      addresses: i.addresses,
      ...(i.authPass === undefined ? {} : { authType: 1 as const, authData: passwordAuthData(i.authPass) }),
    },
    i.family,
    { src, dst: i.dst },
  );
  if (i.corruptChecksum === true) bytes[7] = (bytes[7] ?? 0) ^ 0x5a;
  let sent = 0;
  const send = (): void => {
    if (i.sendCount !== undefined && sent >= i.sendCount) return;
    sent++;
    transport.send({
      bytes,
      family: i.family,
      dst: i.dst,
      ttl: i.ttl ?? 255,
      ifname: i.ifname,
      vrid: i.vrid,
    });
    if (sent === i.sendCount) console.log(JSON.stringify({ doneSending: i.vrid }));
  };
  send();
  timers.push(setInterval(send, i.advertIntervalCs * 10));
}
console.error("advertising");

process.on("SIGTERM", () => {
  for (const t of timers) clearInterval(t);
  const stats = instances.map((i) => ({ vrid: i.vrid, ...pool.stats(i.ifname, i.family, i.mode) }));
  console.log(JSON.stringify({ stats }));
  pool.close();
  process.exit(0);
});
