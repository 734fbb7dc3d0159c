/**
 * Pure parts of the raw transport and `vigil sniff`: IP header parsing as raw and packet sockets
 * deliver it, the unicast_peer source / TTL filter, and sniff's decoding and verdicts.
 */
import { describe, expect, it } from "vitest";
import { sniffLine, sniffRecord } from "../../src/cli/sniff.ts";
import { encodeAdvert, passwordAuthData } from "../../src/protocol/codec.ts";
import { encodeIpv4Packet } from "../../src/protocol/ipv4.ts";
import type { CapturedPacket } from "../../transports/capture.ts";
import { isParseFailure, parseIpv4, parseIpv6 } from "../../transports/ip-header.ts";
import { peerCheck, type RawInstanceSpec } from "../../transports/raw.transport.ts";
import type { Datagram } from "../../transports/transport.ts";

const SRC = "198.18.7.1";
const GROUP = "224.0.0.18";

const v2Packet = (ttl: number): Uint8Array =>
  encodeIpv4Packet(
    { ttl, id: 1, src: SRC, dst: GROUP },
    encodeAdvert(
      {
        version: 2,
        vrid: 51,
        priority: 100,
        advertIntervalCs: 100,
        addresses: ["198.18.7.100"],
        authType: 1,
        authData: passwordAuthData("pw"),
      },
      4,
    ),
  );

const captured = (bytes: Uint8Array): CapturedPacket => ({
  ip: parseIpv4(bytes),
  ifindex: 2,
  ifname: "eth0",
  outgoing: false,
  length: bytes.length,
});

describe("parseIpv4 / parseIpv6", () => {
  it("cuts the VRRP message out of an IPv4 packet and reads TTL, TOS, id, addresses", () => {
    const p = parseIpv4(v2Packet(255));
    if (isParseFailure(p)) throw new Error(p.detail);
    expect(p).toMatchObject({ family: 4, tos: 0xc0, id: 1, ttl: 255, protocol: 112, src: SRC, dst: GROUP });
    expect(p.payload.length).toBe(20);
  });

  it("reports truncation instead of throwing", () => {
    const whole = v2Packet(255);
    for (let n = 0; n < whole.length; n++) expect(isParseFailure(parseIpv4(whole.subarray(0, n)))).toBe(true);
    expect(isParseFailure(parseIpv6(new Uint8Array(39)))).toBe(true);
  });

  it("follows an IPv6 hop-by-hop header to the VRRP payload", () => {
    const vrrp = encodeAdvert(
      { version: 3, vrid: 9, priority: 100, advertIntervalCs: 100, addresses: ["2001:2::9"] },
      6,
      {
        src: "fe80::1",
        dst: "ff02::12",
      },
    );
    const b = new Uint8Array(40 + 8 + vrrp.length);
    b[0] = 0x60;
    b[4] = (8 + vrrp.length) >> 8;
    b[5] = (8 + vrrp.length) & 0xff;
    b[6] = 0; // hop-by-hop
    b[7] = 255;
    b.set([0xfe, 0x80], 8);
    b[23] = 1;
    b.set([0xff, 0x02], 24);
    b[39] = 0x12;
    b[40] = 112; // next header after hop-by-hop
    b.set(vrrp, 48);
    const p = parseIpv6(b);
    if (isParseFailure(p)) throw new Error(p.detail);
    expect(p).toMatchObject({ family: 6, ttl: 255, protocol: 112, src: "fe80::1", dst: "ff02::12" });
    expect([...p.payload]).toEqual([...vrrp]);
  });
});

describe("peerCheck (unicast_peer source and TTL filter)", () => {
  const d = (src: string, ttl: number): Datagram => ({
    bytes: new Uint8Array(0),
    family: 4,
    src,
    dst: SRC,
    ttl,
    ifname: "eth0",
    rxAtUs: 0,
  });
  const base: RawInstanceSpec = { vrid: 1, ifname: "eth0", family: 4, mode: "unicast" };

  it("accepts anything without check_unicast_src or a TTL range, and in multicast mode", () => {
    expect(peerCheck({ ...base, peers: [{ address: "198.18.7.2" }] }, d("198.18.7.9", 3))).toBeUndefined();
    expect(
      peerCheck({ ...base, mode: "multicast", peers: [{ address: "198.18.7.2", minTtl: 250 }] }, d("x", 1)),
    ).toBeUndefined();
  });

  it("rejects non-peers with check_unicast_src and TTLs outside a peer's range", () => {
    const spec: RawInstanceSpec = { ...base, checkUnicastSrc: true, peers: [{ address: "198.18.7.2" }] };
    expect(peerCheck(spec, d("198.18.7.9", 255))).toBe("srcRejected");
    expect(peerCheck(spec, d("198.18.7.2", 1))).toBeUndefined();
    const ranged: RawInstanceSpec = { ...base, peers: [{ address: "198.18.7.2", minTtl: 250, maxTtl: 255 }] };
    expect(peerCheck(ranged, d("198.18.7.2", 64))).toBe("ttlRejected");
    expect(peerCheck(ranged, d("198.18.7.2", 254))).toBeUndefined();
    expect(peerCheck(ranged, d("198.18.7.3", 254))).toBe("srcRejected");
  });
});

describe("sniffRecord / sniffLine", () => {
  it("decodes a good v2 PASS advert completely", () => {
    const r = sniffRecord(captured(v2Packet(255)), "2026-01-01T00:00:00.000Z");
    expect(r).toMatchObject({
      src: SRC,
      dst: GROUP,
      ttl: 255,
      version: 2,
      vrid: 51,
      priority: 100,
      advertIntervalCs: 100,
      addresses: ["198.18.7.100"],
      authTypeName: "PASS",
      authPassword: "pw",
      checksumOk: true,
      checksumVariant: "v2",
      valid: true,
    });
    expect(r.reason).toBeUndefined();
    expect(sniffLine(r)).toBe(
      `00:00:00.000 eth0 in ${SRC} > ${GROUP} ttl 255 VRRPv2 type 1 vrid 51 prio 100 intvl 1s auth PASS "pw" addrs [198.18.7.100] cksum 0x${r.checksum?.toString(16).padStart(4, "0")} ok (v2)`,
    );
  });

  it("flags a multicast advert whose TTL is not 255", () => {
    const r = sniffRecord(captured(v2Packet(64)), "2026-01-01T00:00:00.000Z");
    expect(r).toMatchObject({ valid: false, checksumOk: true, reason: { kind: "ttl", ttl: 64 } });
    expect(sniffLine(r)).toMatch(/INVALID ttl/);
  });

  it("flags a bad checksum and gives the expected one", () => {
    const bytes = v2Packet(255);
    bytes[27] = (bytes[27] ?? 0) ^ 0xff;
    const r = sniffRecord(captured(bytes), "2026-01-01T00:00:00.000Z");
    expect(r).toMatchObject({
      valid: false,
      checksumOk: false,
      checksumVariant: "bad",
      reason: { kind: "checksum" },
    });
    expect(sniffLine(r)).toMatch(/cksum 0x[0-9a-f]{4} BAD \(expected 0x[0-9a-f]{4}\)/);
  });

  it("reports a structurally broken message with the codec's reason, and a cut IP packet", () => {
    const bytes = v2Packet(255);
    bytes[20 + 3] = 9; // address count that does not fit the length
    expect(sniffRecord(captured(bytes), "t").reason?.kind).toMatch(/packet-/);
    const cut = sniffRecord(captured(v2Packet(255).subarray(0, 30)), "2026-01-01T00:00:00.000Z");
    expect(cut).toMatchObject({ valid: false, reason: { kind: "ip" } });
    expect(sniffLine(cut)).toMatch(/INVALID ip: IPv4 total length 40, 30 bytes received/);
  });
});
