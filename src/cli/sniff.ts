/**
 * `vigil sniff [-i IFACE] [--count N] [--json]` — the operator's tcpdump for VRRP. Prints every VRRP
 * packet seen on an interface (default: all), decoded with Vigil's own codec: time, interface and
 * direction, source, destination, TTL / hop limit, version, VRID, priority, advert interval,
 * addresses, auth type and password, checksum verdict, and the validation failure if any.
 *
 * Capture is passive (an AF_PACKET socket, see transports/capture.ts), so it sees multicast and
 * unicast adverts addressed to other hosts, in both directions, without joining a group — what is
 * really on the wire, like tcpdump. "Validation" here is what every receiver would reject whatever
 * its configuration: the codec's structural decode (lengths, version, address count) and then
 * keepalived's receive checks against expectations taken from the packet itself — TTL 255 for
 * multicast, valid auth type, type 1, IPv4 total length, checksum. Config-dependent checks
 * (VRID, password, VIP list, peers) belong to the instance. Needs CAP_NET_RAW. The capture
 * module (rxjs, koffi) is imported when the command runs, not when it is loaded.
 */
import type { Subscription } from "rxjs";
import type { CapturedPacket } from "../../transports/capture.ts";
import { isParseFailure } from "../../transports/ip-header.ts";
import { isMulticastAddress } from "../protocol/address.ts";
import {
  type DecodedAdvert,
  decodeAdvert,
  prepareExpectations,
  type RejectReason,
  type RxMeta,
  validateAdvert,
} from "../protocol/codec.ts";
import {
  type ArgsSpec,
  defineCommand,
  EX_USAGE,
  flagOption,
  type OptionValues,
  parseIntegerArg,
  stringOption,
  usageError,
} from "./args.ts";
import { escapeLatin1, escapeText, jsonLine } from "./escape.ts";
import type { CommandSpec, Io } from "./io.ts";

const spec: ArgsSpec = {
  invocation: "vigil sniff",
  synopsis: "[-i IFACE] [--count N] [--json]",
  summary: "print every VRRP packet seen on an interface, decoded",
  options: {
    interface: { type: "string", short: "i", valueName: "IFACE", description: "interface (default: all)" },
    count: { type: "string", short: "c", valueName: "N", description: "stop after N packets" },
    json: { type: "boolean", description: "one JSON object per line" },
  },
  notes: [
    "",
    "exit status: 0 done (count reached, SIGINT or SIGTERM), 64 usage error,",
    "             69 capture failed, 77 not permitted (needs CAP_NET_RAW)",
  ],
};

/** The password bytes of a PASS advert (up to the first NUL), one character per byte (latin1). */
const passwordText = (authData: Uint8Array | undefined): string | undefined => {
  if (authData === undefined) return undefined;
  const end = authData.indexOf(0);
  return Buffer.from(authData.subarray(0, end < 0 ? authData.length : end)).toString("latin1");
};

const AUTH_NAMES: Readonly<Record<number, string>> = { 0: "none", 1: "PASS", 2: "AH" };

/** One sniffed packet, as printed with --json. */
export interface SniffRecord {
  readonly time: string;
  readonly ifname: string;
  readonly direction: "in" | "out";
  readonly family?: 4 | 6;
  readonly src?: string;
  readonly dst?: string;
  readonly ttl?: number;
  readonly version?: number;
  readonly type?: number;
  readonly vrid?: number;
  readonly priority?: number;
  readonly advertIntervalCs?: number;
  readonly addresses?: readonly string[];
  readonly authType?: number;
  readonly authTypeName?: string;
  /** The PASS password up to the first NUL, one character per byte (latin1: exact wire bytes). */
  readonly authPassword?: string;
  readonly checksum?: number;
  readonly checksumOk?: boolean;
  readonly checksumVariant?: string;
  readonly expectedChecksum?: number;
  readonly length: number;
  /** The VRRP message as hex (IP header removed), for independent checks. */
  readonly hex?: string;
  /** True when nothing is wrong with the packet for any receiver. */
  readonly valid: boolean;
  /** Why not (codec reject reason, or an IP-level problem). */
  readonly reason?: RejectReason | { readonly kind: "ip"; readonly detail: string };
}

/** The checks any receiver applies, with expectations read from the advert itself. */
function configFreeVerdict(advert: DecodedAdvert, meta: RxMeta): RejectReason | undefined {
  const authType =
    advert.authType === 0 || advert.authType === 1 || advert.authType === 2 ? advert.authType : 0;
  const unicast = !isMulticastAddress(meta.dst);
  const exp = prepareExpectations({
    family: advert.family,
    version: advert.version,
    vrid: advert.vrid,
    authType,
    ...(advert.authData === undefined ? {} : { authData: advert.authData }),
    advertIntervalCs: advert.advertIntervalCs,
    vips: advert.addresses,
    ...(unicast ? { unicastPeers: [meta.dst] } : {}),
  });
  const r = validateAdvert(advert, meta, exp);
  return r.ok ? undefined : r.reason;
}

/** Decodes one captured packet into a record. Pure apart from the given time text. */
export function sniffRecord(p: CapturedPacket, time: string): SniffRecord {
  const base = { time, ifname: p.ifname, direction: p.outgoing ? ("out" as const) : ("in" as const) };
  if (isParseFailure(p.ip)) {
    return { ...base, length: p.length, valid: false, reason: { kind: "ip", detail: p.ip.detail } };
  }
  const ip = p.ip;
  const meta: RxMeta = { family: ip.family, src: ip.src, dst: ip.dst, ttl: ip.ttl };
  const hex = Array.from(ip.payload, (b) => b.toString(16).padStart(2, "0")).join("");
  const where = { family: ip.family, src: ip.src, dst: ip.dst, ttl: ip.ttl, hex };
  const decoded = decodeAdvert(ip.payload, meta);
  if (!decoded.ok)
    return { ...base, ...where, length: ip.payload.length, valid: false, reason: decoded.reason };
  const a = decoded.advert;
  const reason = configFreeVerdict(a, meta);
  const password = a.authType === 1 ? passwordText(a.authData) : undefined;
  return {
    ...base,
    ...where,
    version: a.version,
    type: a.type,
    vrid: a.vrid,
    priority: a.priority,
    advertIntervalCs: a.advertIntervalCs,
    addresses: a.addresses,
    authType: a.authType,
    authTypeName: AUTH_NAMES[a.authType] ?? `unknown(${a.authType})`,
    ...(password === undefined ? {} : { authPassword: password }),
    checksum: a.checksum,
    checksumOk: a.checksumOk,
    checksumVariant: a.checksumVariant,
    expectedChecksum: a.expectedChecksum,
    length: a.length,
    valid: reason === undefined,
    ...(reason === undefined ? {} : { reason }),
  };
}

const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, "0")}`;

const reasonText = (r: NonNullable<SniffRecord["reason"]>): string =>
  r.kind === "ip"
    ? `ip: ${r.detail}`
    : `${r.kind} ${JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => k !== "kind")))}`;

/** The one-line text form of a record, terminal-safe: the password as tcpdump prints bytes. */
export function sniffLine(r: SniffRecord): string {
  return escapeText(rawSniffLine(r));
}

function rawSniffLine(r: SniffRecord): string {
  const head = `${r.time.slice(11, 23)} ${r.ifname} ${r.direction}`;
  if (r.src === undefined) return `${head} INVALID ${r.reason === undefined ? "" : reasonText(r.reason)}`;
  const route = `${r.src} > ${r.dst} ttl ${r.ttl}`;
  if (r.version === undefined)
    return `${head} ${route} VRRP length ${r.length} INVALID ${r.reason === undefined ? "" : reasonText(r.reason)}`;
  const interval =
    r.version === 2 ? `intvl ${(r.advertIntervalCs ?? 0) / 100}s` : `intvl ${r.advertIntervalCs}cs`;
  const auth =
    r.version === 2 && r.family === 4
      ? ` auth ${r.authTypeName}${r.authPassword === undefined ? "" : ` "${escapeLatin1(r.authPassword)}"`}`
      : "";
  const sum = r.checksumOk
    ? `cksum ${hex4(r.checksum ?? 0)} ok (${r.checksumVariant})`
    : `cksum ${hex4(r.checksum ?? 0)} BAD (expected ${hex4(r.expectedChecksum ?? 0)})`;
  const verdict = r.valid || r.reason === undefined ? "" : ` INVALID ${reasonText(r.reason)}`;
  return `${head} ${route} VRRPv${r.version} type ${r.type} vrid ${r.vrid} prio ${r.priority} ${interval}${auth} addrs [${(r.addresses ?? []).join(", ")}] ${sum}${verdict}`;
}

async function sniff(values: OptionValues, io: Io): Promise<number> {
  const countText = stringOption(values, "count");
  const count =
    countText === undefined ? undefined : parseIntegerArg("--count", countText, 1, Number.MAX_SAFE_INTEGER);
  if (typeof count === "string") {
    io.stderr(usageError(spec, count));
    return EX_USAGE;
  }
  const iface = stringOption(values, "interface");
  if (iface === "") {
    io.stderr(usageError(spec, "--interface needs an interface name"));
    return EX_USAGE;
  }
  const parsed = { ifname: iface === "any" ? undefined : iface, count, json: flagOption(values, "json") };
  // The capture (rxjs, koffi) loads only when it runs: `vigil sniff --help` does not need it.
  const { captureVrrp } = await import("../../transports/capture.ts");
  return new Promise<number>((resolve) => {
    let seen = 0;
    let sub: Subscription | undefined;
    const finish = (code: number): void => {
      process.off("SIGINT", onSigint);
      process.off("SIGTERM", onSigint);
      sub?.unsubscribe();
      resolve(code);
    };
    const onSigint = (): void => finish(0);
    process.on("SIGINT", onSigint);
    process.on("SIGTERM", onSigint);
    sub = captureVrrp(parsed.ifname).subscribe({
      next: (p) => {
        const record = sniffRecord(p, new Date().toISOString());
        io.stdout(`${parsed.json ? jsonLine(record) : sniffLine(record)}\n`);
        seen++;
        if (parsed.count !== undefined && seen >= parsed.count) finish(0);
      },
      error: (e: unknown) => {
        io.stderr(`${escapeText(`vigil sniff: ${e instanceof Error ? e.message : String(e)}`)}\n`);
        finish(e instanceof Error && /EPERM|Operation not permitted/.test(e.message) ? 77 : 69);
      },
    });
    if (!sub.closed)
      io.stderr(
        `${escapeText(`vigil sniff: listening on ${parsed.ifname ?? "all interfaces"} for VRRP (IP protocol 112)`)}\n`,
      );
  });
}

export const sniffCommand: CommandSpec = defineCommand("sniff", spec, ({ values }, io) => sniff(values, io));
