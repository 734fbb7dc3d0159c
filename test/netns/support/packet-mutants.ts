/**
 * Seeded mutants of a valid VRRP advert for the packet differential (test/netns/packet-differential
 * .test.ts): each mutant is a valid advert for a target instance, then one to three changes drawn
 * from a seed — header fields (version, type, VRID, priority, count, interval, auth type and data,
 * the v3 reserved bits), the address list (an address dropped, added, replaced, repeated, reordered),
 * the length (cut or padded), a flipped byte, a wrong checksum, and the IPv4 envelope (TTL, source,
 * destination, IP options; an IPv6 datagram keeps its sender's source and always leaves with a right checksum,
 * see datagram-pipe.ts). The same seed gives the same changes for any target of the same kind, so one mutant
 * can be sent to keepalived's instance and to Vigil's, each with its own VRID and addresses.
 * Destinations are only the target's host and the VRRP group; IPv4 sources stay in 198.18.0.0/15
 * (or are 0.0.0.0). Pure.
 */
import {
  type AdvertFields,
  encodeAdvert,
  passwordAuthData,
  setAdvertChecksum,
  VRRP_MCAST_GROUP4,
  VRRP_MCAST_GROUP6,
} from "../../../src/protocol/codec.ts";
import { Prng } from "../../../src/runtime/prng.ts";

/** A receiving instance, as the sender sees it. */
export interface PacketTarget {
  readonly family: 4 | 6;
  readonly version: 2 | 3;
  readonly vrid: number;
  /** A VRID no instance on the LAN uses. */
  readonly unusedVrid: number;
  readonly vips: readonly string[];
  readonly intervalCs: number;
  readonly authPass?: string;
  /** The receiving host's address. */
  readonly host: string;
  /** Where a valid advert comes from: the sender's address (multicast) or a configured peer (unicast). */
  readonly source: string;
  /** Unicast instances: adverts go to `host`; multicast ones to 224.0.0.18 or ff02::12. */
  readonly unicast: boolean;
  /** Other addresses of the lab's /24 a source or an address may be: another peer, a stranger. */
  readonly others: readonly string[];
}

export interface PacketMutant {
  /** The changes, for a reader of a difference. */
  readonly label: string;
  readonly src: string;
  readonly dst: string;
  readonly ttl: number;
  readonly hex: string;
  /** IPv4 options in the header (hex), when any. */
  readonly ipOptions?: string;
}

/** Valid IPv4 options: four NOPs, Router Alert, NOPs + End of list, a Timestamp with room for one. */
const IP_OPTIONS = ["01010101", "94040000", "01010000", `440c0500${"00000000".repeat(2)}`];

/** A change of the byte at `at` (if the message reaches it). */
const setByte =
  (at: number, value: (old: number) => number) =>
  (b: Uint8Array): Uint8Array => {
    if (at < b.length) b[at] = value(b[at] ?? 0) & 0xff;
    return b;
  };

const pick = <T>(rng: Prng, xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)] as T;

/**
 * A valid advert for `target` at `priority`, with the interval field set to `intervalField` (v2:
 * seconds, 0–255; v3: centiseconds, 0–4095) when given: the edge cases sent before the drawn
 * mutants, and the priority-0 advert that hands an instance back to MASTER after a mutant took it.
 */
export function edgeAdvert(target: PacketTarget, priority: number, intervalField?: number): PacketMutant {
  const src = target.source;
  const dst = target.unicast ? target.host : target.family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6;
  const bytes = encodeAdvert(
    {
      version: target.version,
      vrid: target.vrid,
      priority,
      advertIntervalCs: target.intervalCs,
      addresses: target.vips,
      ...(target.authPass !== undefined && target.version === 2
        ? { authType: 1 as const, authData: passwordAuthData(target.authPass) }
        : {}),
    },
    target.family,
    target.version === 3 ? { src, dst } : undefined,
  );
  if (intervalField !== undefined) {
    if (target.version === 2) bytes[5] = intervalField;
    else {
      bytes[4] = ((bytes[4] ?? 0) & 0xf0) | (intervalField >> 8);
      bytes[5] = intervalField & 0xff;
    }
    setAdvertChecksum(bytes, target.family, target.version === 3 ? { src, dst } : undefined);
  }
  const interval = intervalField === undefined ? "" : `, interval field ${intervalField}`;
  return {
    label: `edge: priority ${priority}${interval}`,
    src,
    dst,
    ttl: 255,
    hex: Buffer.from(bytes).toString("hex"),
  };
}

/** The edge cases: the interval field at 0 and at its largest, from a higher and a leaving master. */
export const edgeAdverts = (target: PacketTarget): PacketMutant[] => {
  const max = target.version === 2 ? 255 : 4095;
  return [
    edgeAdvert(target, 255, 0),
    edgeAdvert(target, 0, 0),
    edgeAdvert(target, 255, max),
    edgeAdvert(target, 255, 1),
  ];
};

/** The mutant drawn from `seed` for `target`. */
export function packetMutant(seed: number, target: PacketTarget): PacketMutant {
  const rng = new Prng(seed);
  const labels: string[] = [];
  let fields: AdvertFields = {
    version: target.version,
    vrid: target.vrid,
    priority: 100,
    advertIntervalCs: target.intervalCs,
    addresses: target.vips,
    ...(target.authPass !== undefined && target.version === 2
      ? { authType: 1 as const, authData: passwordAuthData(target.authPass) }
      : {}),
  };
  let src = target.source;
  const group = target.family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6;
  let dst = target.unicast ? target.host : group;
  let ttl = 255;
  let ipOptions: string | undefined;
  const byteOps: Array<(b: Uint8Array) => Uint8Array> = [];
  let checksum: "right" | "wrong" | "left" = "right";

  const ops = rng.int(1, 3);
  for (let k = 0; k < ops; k++) {
    const op = rng.int(0, 20);
    switch (op) {
      case 0:
      case 1: {
        const priority = pick(rng, [0, 1, 99, 100, 101, 199, 200, 254, 255]);
        fields = { ...fields, priority };
        labels.push(`priority ${priority}`);
        break;
      }
      case 2: {
        const v = pick(rng, [0, 1, 2, 3, 4, 15]);
        byteOps.push(setByte(0, (o) => (v << 4) | (o & 0x0f)));
        labels.push(`version ${v}`);
        break;
      }
      case 3: {
        const t = pick(rng, [0, 2, 3, 15]);
        byteOps.push(setByte(0, (o) => (o & 0xf0) | t));
        labels.push(`type ${t}`);
        break;
      }
      case 4: {
        const which = rng.int(0, 2);
        const vrid = [target.unusedVrid, 0, 255][which] as number;
        byteOps.push(setByte(1, () => vrid));
        labels.push(`vrid ${["unused", "0", "255"][which]}`);
        break;
      }
      case 5: {
        const n = fields.addresses.length;
        const c = pick(rng, [0, n - 1, n + 1, 255]);
        byteOps.push(setByte(3, () => c));
        labels.push(`count byte ${c & 0xff}`);
        break;
      }
      case 6: {
        const cut = rng.int(1, 12);
        // An IPv6 socket that has the kernel write the checksum sends nothing shorter than its 8 bytes.
        const least = target.family === 6 ? 8 : 0;
        byteOps.push((b) => b.slice(0, Math.max(least, b.length - cut)));
        labels.push(`cut ${cut}`);
        break;
      }
      case 7: {
        const pad = rng.int(1, 12);
        const fill = rng.int(0, 255);
        byteOps.push((b) => {
          const x = new Uint8Array(b.length + pad).fill(fill);
          x.set(b);
          return x;
        });
        labels.push(`pad ${pad} × ${fill}`);
        break;
      }
      case 8: {
        const a = [...fields.addresses];
        const how = rng.int(0, 4);
        const other = pick(rng, target.others);
        if (how === 0 && a.length > 0) a.splice(rng.int(0, a.length - 1), 1);
        else if (how === 1) a.splice(rng.int(0, a.length), 0, other);
        else if (how === 2 && a.length > 0) a[rng.int(0, a.length - 1)] = other;
        else if (how === 3 && a.length > 0) a.push(a[0] as string);
        else a.reverse();
        fields = { ...fields, addresses: a };
        labels.push(`addresses ${["drop", "add", "replace", "repeat", "reverse"][how]}`);
        break;
      }
      case 9: {
        if (fields.version === 2) {
          const s = pick(rng, [1, 2, 3, 255]);
          fields = { ...fields, advertIntervalCs: s * 100 };
          labels.push(`interval ${s} s`);
        } else {
          const cs = pick(rng, [1, 50, 99, 101, 200, 4095]);
          fields = { ...fields, advertIntervalCs: cs };
          labels.push(`interval ${cs} cs`);
        }
        break;
      }
      case 10: {
        const v = pick(rng, [0, 0xf0, 0xff]);
        byteOps.push(setByte(5, () => v));
        labels.push(`byte 5 = ${v}`);
        break;
      }
      case 11: {
        const v = pick(rng, [0, 1, 2, 3, 7, 0x10, 0xf0]);
        byteOps.push(setByte(4, () => v));
        labels.push(`byte 4 = ${v}`);
        break;
      }
      case 12: {
        const pass = pick(rng, ["wrong", "secre", "secret\0x", "SECRET", ""]);
        if (fields.version === 2) fields = { ...fields, authType: 1, authData: passwordAuthData(pass) };
        labels.push(`password ${JSON.stringify(pass)}`);
        break;
      }
      case 13: {
        const t = pick(rng, [0, 1, 2] as const);
        if (fields.version === 2)
          fields = {
            ...fields,
            authType: t,
            authData: t === 1 ? passwordAuthData(target.authPass ?? "secret") : new Uint8Array(8),
          };
        labels.push(`auth type ${t}`);
        break;
      }
      case 14: {
        const at = rng.int(0, 40);
        const mask = rng.int(1, 255);
        byteOps.push(setByte(at, (o) => o ^ mask));
        labels.push(`flip byte ${at} ^ ${mask}`);
        break;
      }
      case 15: {
        checksum = rng.chance(1, 2) ? "wrong" : "left";
        labels.push(`checksum ${checksum}`);
        break;
      }
      case 16: {
        ttl = pick(rng, [254, 128, 64, 1, 0]);
        labels.push(`ttl ${ttl}`);
        break;
      }
      case 20: {
        if (target.family === 4) {
          ipOptions = pick(rng, IP_OPTIONS);
          labels.push(`ip options ${ipOptions}`);
        }
        break;
      }
      case 17: {
        if (target.family === 6) {
          // An IPv6 source must be the sender's own (its socket cannot spoof one): the hop limit instead.
          ttl = pick(rng, [254, 64, 1]);
          labels.push(`hop limit ${ttl}`);
          break;
        }
        const which = rng.int(0, 3);
        src = [target.host, target.vips[0] ?? target.host, pick(rng, target.others), "0.0.0.0"][
          which
        ] as string;
        labels.push(`src ${["own", "vip", "other", "zero"][which]}`);
        break;
      }
      case 18: {
        dst = target.unicast ? group : target.host;
        labels.push(target.unicast ? "dst group" : "dst host");
        break;
      }
      case 19: {
        if (target.family === 6) {
          // keepalived has no VRRPv2 over IPv6: the version nibble only.
          byteOps.push(setByte(0, (o) => (2 << 4) | (o & 0x0f)));
          labels.push("version 2");
          break;
        }
        const v = fields.version === 2 ? 3 : 2;
        fields = {
          ...fields,
          version: v,
          advertIntervalCs:
            v === 2
              ? Math.max(100, Math.round(fields.advertIntervalCs / 100) * 100)
              : Math.min(4095, fields.advertIntervalCs),
          ...(v === 3 ? { authType: 0 as const, authData: new Uint8Array(8) } : {}),
        };
        labels.push(`as VRRPv${v}`);
        break;
      }
    }
  }
  const family = target.family;
  let bytes = encodeAdvert(fields, family, fields.version === 3 ? { src, dst } : undefined);
  for (const f of byteOps) bytes = f(bytes);
  const v = (bytes[0] ?? 0) >> 4;
  if (checksum === "right" && bytes.length >= 8) {
    // The checksum a sender of this version would write (v3: with the pseudo-header).
    if (v === 3) setAdvertChecksum(bytes, family, { src, dst });
    else setAdvertChecksum(bytes, family);
  } else if (checksum === "wrong" && bytes.length >= 8) bytes[7] = (bytes[7] ?? 0) ^ 0x33;
  return {
    label: labels.join(", "),
    src,
    dst,
    ttl,
    hex: Buffer.from(bytes).toString("hex"),
    ...(ipOptions === undefined ? {} : { ipOptions }),
  };
}
