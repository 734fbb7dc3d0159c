import { describe, expect, it } from "vitest";
import { decodeIpv4Header, encodeIpv4Packet, nextIpId } from "../../src/protocol/ipv4.ts";

describe("IPv4 header", () => {
  it("builds what keepalived sends: TOS 0xc0, TTL, id, DF clear, proto 112, checksum", () => {
    const payload = new Uint8Array(20);
    const pkt = encodeIpv4Packet({ ttl: 255, id: 1, src: "198.18.0.1", dst: "224.0.0.18" }, payload);
    // Header checksum worked by hand: 4500+0028... words 0x45c0 0x0028 0x0001 0x0000 0xff70 0x0000
    // 0xc612 0x0001 0xe000 0x0012 sum = 0x3d 0x... -> folded and complemented below.
    const words = [0x45c0, 0x0028, 0x0001, 0x0000, 0xff70, 0x0000, 0xc612, 0x0001, 0xe000, 0x0012];
    let sum = words.reduce((a, b) => a + b, 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const check = ~sum & 0xffff;
    expect([...pkt.slice(0, 20)]).toEqual([
      0x45,
      0xc0,
      0x00,
      0x28,
      0x00,
      0x01,
      0x00,
      0x00,
      0xff,
      0x70,
      check >> 8,
      check & 0xff,
      198,
      18,
      0,
      1,
      224,
      0,
      0,
      18,
    ]);
    const d = decodeIpv4Header(pkt);
    expect(d).toMatchObject({
      ok: true,
      header: {
        headerLength: 20,
        tos: 0xc0,
        totalLength: 40,
        id: 1,
        dontFragment: false,
        ttl: 255,
        protocol: 112,
        checksumOk: true,
        src: "198.18.0.1",
        dst: "224.0.0.18",
      },
    });
    expect(d.ok && d.payload.length).toBe(20);
  });
  it("rejects short, non-IPv4 and bad IHL input without throwing", () => {
    expect(decodeIpv4Header(new Uint8Array(10))).toEqual({ ok: false, reason: "truncated" });
    expect(decodeIpv4Header(new Uint8Array(20).fill(0x60))).toEqual({ ok: false, reason: "not-ipv4" });
    expect(decodeIpv4Header(new Uint8Array(20).fill(0x41))).toEqual({
      ok: false,
      reason: "bad-header-length",
    });
    const long = new Uint8Array(20);
    long[0] = 0x4f;
    expect(decodeIpv4Header(long)).toEqual({ ok: false, reason: "truncated" });
  });
  it("IP id skips 0 on wrap", () => {
    expect(nextIpId(1)).toBe(2);
    expect(nextIpId(0xffff)).toBe(1);
  });
});
