/**
 * Test data: one datagram per receive check that drops it (as real bytes, the `rx` input the transport
 * delivers to a priority-100 v2 instance VI_1, VRID 1, VIP 198.18.0.100, own address 198.18.0.1), each
 * with the instance set-up it needs, a valid advert for that set-up, and the counters keepalived 2.2.7
 * increments for it (vrrp.c `vrrp_check_packet`: one error counter before `advert_rcvd`, `advert_rcvd`
 * and maybe an error counter for the VIP-list and unicast peer checks after it, nothing for a v2
 * interval mismatch or a failure only SNMP counts, nothing for a datagram its socket never gets). Shared by master-rearm.rules.test.ts and
 * receive-counters.rules.test.ts. Pure.
 */
import {
  type AdvertFields,
  encodeAdvert,
  passwordAuthData,
  setAdvertChecksum,
} from "../../src/protocol/codec.ts";
import type { Input } from "../../src/runtime/input.ts";
import type { NodeSpec } from "../../src/runtime/spec.ts";
import type { InstanceStats } from "../../src/runtime/stats.ts";

export type Rx = Extract<Input, { kind: "rx" }>;
export type Extra = Partial<NodeSpec["instances"][number]>;

export const OWN = "198.18.0.1";
export const PEER = "198.18.0.2";
export const VIP = "198.18.0.100";

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const fields = (over: Partial<AdvertFields> = {}): AdvertFields => ({
  version: 2,
  vrid: 1,
  priority: 150,
  advertIntervalCs: 100,
  addresses: [VIP],
  ...over,
});
/** An advert's bytes with `patch` applied to them, the checksum made right again unless `keepSum`. */
export const bytes = (over: Partial<AdvertFields> = {}, patch?: (b: Uint8Array) => void, keepSum = false) => {
  const b = encodeAdvert(fields(over), 4);
  if (patch) {
    patch(b);
    if (!keepSum) setAdvertChecksum(b, 4);
  }
  return b;
};
/** Spoils the checksum. */
export const flipSum = (b: Uint8Array): void => {
  b[7] = (b[7] as number) ^ 0xff;
};
export const rx = (b: Uint8Array, over: Partial<Rx> = {}): Rx => ({
  kind: "rx",
  family: 4,
  src: PEER,
  dst: "224.0.0.18",
  ttl: 255,
  ifname: "eth0",
  hex: hex(b),
  ...over,
});

export const UNICAST: Extra = {
  unicastPeers: [PEER, "198.18.0.3"],
  checkUnicastSrc: true,
  peerTtl: [{ address: "198.18.0.3", minTtl: 250, maxTtl: 255 }],
};
export const PASS: Extra = { authPass: "secret" };

export interface DroppedCase {
  /** The check that drops it (validate.ts `RejectReason` kinds), or the v2 interval mismatch. */
  readonly kind: string;
  readonly extra?: Extra;
  readonly input: Rx;
  /** A valid advert for this instance's set-up. */
  readonly valid: Rx;
  /** What keepalived 2.2.7 counts for it (the counters not named stay 0). */
  readonly counts: Partial<InstanceStats>;
}

export const VALID = rx(bytes());
export const VALID_UNICAST = rx(bytes(), { dst: OWN });
export const VALID_PASS = rx(bytes({ authType: 1, authData: passwordAuthData("secret") }));

const setByte = (i: number, v: number) => (b: Uint8Array) => {
  b[i] = v;
};

/** One datagram per receive check that drops it, each routed to VI_1. */
export const DROPPED: readonly DroppedCase[] = [
  {
    kind: "packet-too-short (header only)",
    input: rx(bytes().slice(0, 8)),
    valid: VALID,
    counts: { packet_len_err: 1 },
  },
  {
    kind: "packet-too-short (cut address)",
    input: rx(bytes().slice(0, 14)),
    valid: VALID,
    counts: { packet_len_err: 1 },
  },
  {
    kind: "packet-length",
    input: rx(new Uint8Array([...bytes(), 0, 0, 0, 0])),
    valid: VALID,
    counts: { packet_len_err: 1 },
  },
  {
    kind: "ip-total-length",
    input: rx(bytes(), { ipPayloadLength: 24 }),
    valid: VALID,
    counts: { packet_len_err: 1 },
  },
  { kind: "ttl", input: rx(bytes(), { ttl: 64 }), valid: VALID, counts: { ip_ttl_err: 1 } },
  // keepalived expects a version-1 message without auth bytes (12 here): too long.
  {
    kind: "version (nibble 1)",
    input: rx(bytes({}, setByte(0, 0x11))),
    valid: VALID,
    counts: { packet_len_err: 1 },
  },
  {
    kind: "version (nibble 1, the length keepalived expects, TTL 64)",
    input: rx(bytes({}, setByte(0, 0x11)).slice(0, 12), { ttl: 64 }),
    valid: VALID,
    counts: { ip_ttl_err: 1 },
  },
  {
    kind: "version (nibble 1, the length keepalived expects)",
    input: rx(bytes({}, setByte(0, 0x11)).slice(0, 12)),
    valid: VALID,
    counts: {},
  },
  {
    kind: "version (v3 to a v2 instance)",
    input: rx(encodeAdvert(fields({ version: 3 }), 4, { src: PEER, dst: "224.0.0.18" })),
    valid: VALID,
    counts: {},
  },
  {
    kind: "auth-type-invalid",
    input: rx(bytes({}, setByte(4, 7))),
    valid: VALID,
    counts: { invalid_authtype: 1 },
  },
  {
    kind: "auth-type-mismatch",
    input: rx(bytes({ authType: 1, authData: passwordAuthData("secret") })),
    valid: VALID,
    counts: { authtype_mismatch: 1 },
  },
  {
    kind: "auth-failure",
    extra: PASS,
    input: rx(bytes({ authType: 1, authData: passwordAuthData("other") })),
    valid: VALID_PASS,
    counts: { auth_failure: 1 },
  },
  { kind: "type", input: rx(bytes({ type: 2 })), valid: VALID, counts: { invalid_type_rcvd: 1 } },
  {
    kind: "address-count",
    input: rx(bytes({ addresses: [VIP, "198.18.0.101"] })),
    valid: VALID,
    counts: { addr_list_err: 1 },
  },
  // chk_err is an SNMP-only counter
  { kind: "checksum", input: rx(bytes({}, flipSum, true)), valid: VALID, counts: {} },
  // keepalived's multicast socket is bound to its group: a unicast datagram never reaches it
  {
    kind: "destination-mode (unicast to a multicast instance)",
    input: rx(bytes(), { dst: OWN }),
    valid: VALID,
    counts: {},
  },
  {
    kind: "destination-mode (another multicast group)",
    input: rx(bytes(), { dst: "224.0.0.19" }),
    valid: VALID,
    counts: {},
  },
  // and a unicast instance's to its address: a multicast datagram never reaches it
  {
    kind: "destination-mode (multicast to a unicast instance)",
    extra: UNICAST,
    input: rx(bytes()),
    valid: VALID_UNICAST,
    counts: {},
  },
  {
    kind: "address-missing",
    input: rx(bytes({ addresses: ["198.18.0.200"] })),
    valid: VALID,
    counts: { advert_rcvd: 1, addr_list_err: 1 },
  },
  {
    kind: "unicast-source (not a peer)",
    extra: UNICAST,
    input: rx(bytes(), { src: "198.18.0.9", dst: OWN }),
    valid: VALID_UNICAST,
    counts: { advert_rcvd: 1 },
  },
  {
    kind: "ttl (outside the peer's min_ttl..max_ttl)",
    extra: UNICAST,
    input: rx(bytes(), { src: "198.18.0.3", dst: OWN, ttl: 64 }),
    valid: VALID_UNICAST,
    counts: { advert_rcvd: 1, ip_ttl_err: 1 },
  },
  {
    kind: "v2 interval mismatch",
    input: rx(bytes({ advertIntervalCs: 300 })),
    valid: VALID,
    counts: {},
  },
  {
    kind: "v2 interval mismatch from a source not a unicast peer",
    extra: UNICAST,
    input: rx(bytes({ advertIntervalCs: 300 }), { src: "198.18.0.9", dst: OWN }),
    valid: VALID_UNICAST,
    counts: {},
  },
];
