/**
 * Test helper run as root inside a lab namespace (the attacker): floods the VRRP multicast group
 * with bogus adverts for `durationMs` at up to `ratePerS` packets per second, built with full IP
 * headers (IP_HDRINCL) so the TTL can be wrong. argv: one JSON object
 * `{ ifname, src, v2: {vrid, pass, vip}, v3: {vrid, vip}, ratePerS, durationMs }`.
 *
 * The mix, in rotation: for the v2 instance (PASS auth) a wrong password, TTL 64, a bad checksum,
 * a truncated advert (6 bytes), an advert for a VRID nobody runs; for the v3 instance a bad
 * checksum, TTL 64, a truncated advert. Every bogus advert carries priority 254, so one accepted
 * by mistake would make the target give up MASTER. Paced in 1 ms slices against the wall clock;
 * sends go straight to the socket (raw-socket's own queue sends one per poll, far below the rate).
 * Prints one JSON line: packets sent per kind, send errors, the achieved rate. Not pure.
 */
import raw from "raw-socket";
import { encodeAdvert, passwordAuthData } from "../../../src/protocol/codec.ts";
import { IP_HDRINCL, vrrpIpPacket } from "./ip-packet.ts";

interface Plan {
  readonly ifname: string;
  readonly src: string;
  readonly v2: { readonly vrid: number; readonly pass: string; readonly vip: string };
  readonly v3: { readonly vrid: number; readonly vip: string };
  readonly ratePerS: number;
  readonly durationMs: number;
}

const plan = JSON.parse(process.argv[2] ?? "{}") as Plan;
const GROUP = "224.0.0.18";
/** The packet to the VRRP group from the plan's source. */
const ipPacket = (payload: Uint8Array, ttl: number): Buffer => vrrpIpPacket(payload, plan.src, GROUP, ttl);

const v2 = (vrid: number, pass: string): Uint8Array =>
  encodeAdvert(
    {
      version: 2,
      vrid,
      priority: 254,
      advertIntervalCs: 100,
      addresses: [plan.v2.vip],
      authType: 1,
      authData: passwordAuthData(pass),
    },
    4,
  );
const v3 = (): Uint8Array =>
  encodeAdvert(
    { version: 3, vrid: plan.v3.vrid, priority: 254, advertIntervalCs: 10, addresses: [plan.v3.vip] },
    4,
    {
      src: plan.src,
      dst: GROUP,
    },
  );
const badChecksum = (p: Uint8Array): Uint8Array => {
  const c = Uint8Array.from(p);
  c[6] = (c[6] ?? 0) ^ 0x5a;
  return c;
};

const good2 = v2(plan.v2.vrid, plan.v2.pass);
const kinds: Array<{ readonly kind: string; readonly packet: Buffer }> = [
  { kind: "v2-bad-auth", packet: ipPacket(v2(plan.v2.vrid, "wrongpw"), 255) },
  { kind: "v2-ttl-64", packet: ipPacket(good2, 64) },
  { kind: "v2-bad-checksum", packet: ipPacket(badChecksum(good2), 255) },
  { kind: "v2-truncated", packet: ipPacket(good2.subarray(0, 6), 255) },
  { kind: "v2-wrong-vrid", packet: ipPacket(v2(plan.v2.vrid + 100, plan.v2.pass), 255) },
  { kind: "v3-bad-checksum", packet: ipPacket(badChecksum(v3()), 255) },
  { kind: "v3-ttl-64", packet: ipPacket(v3(), 64) },
  { kind: "v3-truncated", packet: ipPacket(v3().subarray(0, 6), 255) },
];

const socket = raw.createSocket({ protocol: 112, addressFamily: raw.AddressFamily.IPv4 });
const name = Buffer.from(`${plan.ifname}\0`);
socket.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
socket.setOption(raw.SocketLevel.IPPROTO_IP, IP_HDRINCL, 1);
/** The native handle: a synchronous sendto per call (see the module comment). */
const wrap = (socket as unknown as { wrap: { send: (...a: unknown[]) => void } }).wrap;

const sent = new Map<string, number>(kinds.map((k) => [k.kind, 0]));
let total = 0;
let errors = 0;
let firstError = "";
const startMs = performance.now();
const endMs = startMs + plan.durationMs;
const onSent = (): void => {};

const slice = (): void => {
  const now = performance.now();
  if (now >= endMs) {
    finish(now);
    return;
  }
  const due = Math.floor(((now - startMs) / 1000) * plan.ratePerS);
  while (total < due) {
    const k = kinds[total % kinds.length] as (typeof kinds)[number];
    try {
      wrap.send(k.packet, 0, k.packet.length, GROUP, onSent);
      sent.set(k.kind, (sent.get(k.kind) ?? 0) + 1);
    } catch (e) {
      errors++;
      firstError ||= (e as Error).message;
    }
    total++;
    if ((total & 1023) === 0 && performance.now() >= endMs) break;
  }
  setTimeout(slice, 1);
};

const finish = (now: number): void => {
  const seconds = (now - startMs) / 1000;
  console.log(
    JSON.stringify({
      flood: true,
      total,
      errors,
      firstError,
      seconds,
      ratePerS: Math.round((total - errors) / seconds),
      sent: Object.fromEntries(sent),
    }),
  );
  socket.close();
};

console.log(JSON.stringify({ ready: true, kinds: kinds.map((k) => k.kind) }));
slice();
