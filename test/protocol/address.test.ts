import { isIPv4, isIPv6 } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalAddress,
  formatIpv6,
  ipv4WordSum,
  ipv6WordSum,
  isMulticastAddress,
  parseIpv4Into,
  parseIpv6Into,
} from "../../src/protocol/address.ts";

const wordSum = (b: Uint8Array): number => {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += ((b[i] as number) << 8) | (b[i + 1] as number);
  return s;
};

/** Text that is often almost an address. */
const v6ish = fc.oneof(
  fc.ipV6(),
  fc.ipV6().map((a) => a.toUpperCase()),
  fc.ipV6().map((a) => `${a}%eth0`),
  fc.stringMatching(/^[0-9a-fA-F:.]{0,24}$/),
  fc.constantFrom(
    "",
    "::",
    ":::",
    "1::",
    ":1::",
    "1:",
    "1::2:",
    "1.2.3.4::",
    "::ffff:1.2.3.4",
    "1::2::3",
    "::1.2.3",
  ),
);

describe("address text", () => {
  it("IPv6 canonical text (RFC 5952)", () => {
    expect(canonicalAddress("FE80:0000:0:0::0001", 6)).toBe("fe80::1");
    expect(canonicalAddress("2001:db8:0:0:1:0:0:1", 6)).toBe("2001:db8::1:0:0:1");
    expect(canonicalAddress("1:0:2:3:4:5:6:7", 6)).toBe("1:0:2:3:4:5:6:7");
    expect(canonicalAddress("::", 6)).toBe("::");
    expect(canonicalAddress("1::", 6)).toBe("1::");
    expect(canonicalAddress("::ffff:198.18.0.1", 6)).toBe("::ffff:c612:1");
    expect(canonicalAddress("1.2.3.4::", 6)).toBeUndefined();
    expect(canonicalAddress("198.18.0.01", 4)).toBe("198.18.0.1");
    expect(canonicalAddress("198.18.0.256", 4)).toBeUndefined();
  });

  it("parse/format round trip for any IPv6 address", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const out = new Uint8Array(16);
        expect(parseIpv6Into(formatIpv6(b, 0), out, 0)).toBe(true);
        expect([...out]).toEqual([...b]);
      }),
      { numRuns: 2000 },
    );
  });

  it("ipv6WordSum agrees with parseIpv6Into on validity and value", () => {
    fc.assert(
      fc.property(v6ish, (text) => {
        const b = new Uint8Array(16);
        const ok = parseIpv6Into(text, b, 0);
        expect(ipv6WordSum(text)).toBe(ok ? wordSum(b) : -1);
        // Node's own validator as an independent oracle (leading-zero IPv4 tails aside).
        if (!/(^|[.:])0\d/.test(text)) expect(ok).toBe(isIPv6(text));
      }),
      { numRuns: 5000 },
    );
  });

  it("ipv4WordSum agrees with parseIpv4Into", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.stringMatching(/^[0-9.]{0,16}$/)), (text) => {
        const b = new Uint8Array(4);
        const ok = parseIpv4Into(text, b, 0);
        expect(ipv4WordSum(text)).toBe(ok ? wordSum(b) : -1);
        if (!/(^|\.)0\d/.test(text)) expect(ok).toBe(isIPv4(text));
      }),
      { numRuns: 5000 },
    );
  });

  it("multicast ranges", () => {
    expect(isMulticastAddress("224.0.0.18")).toBe(true);
    expect(isMulticastAddress("239.255.255.255")).toBe(true);
    expect(isMulticastAddress("240.0.0.1")).toBe(false);
    expect(isMulticastAddress("198.18.0.1")).toBe(false);
    expect(isMulticastAddress("ff02::12")).toBe(true);
    expect(isMulticastAddress("fe80::1")).toBe(false);
  });
});
