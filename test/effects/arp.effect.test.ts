/**
 * The ARP port without a kernel: frames compared byte for byte with what keepalived 2.2.7 put on
 * the wire (tcpdump -e -xx in a lab namespace), and the port's rounds, pacing on the VirtualClock,
 * look-up at send time, errors and socket lifetime against a fake link.
 */
import { describe, expect, it } from "vitest";
import { createArpPort, type FrameLink, type FrameSocket } from "../../src/effects/arp.effect.ts";
import {
  announcementFrame,
  gratuitousArpFrame,
  parseMac,
  unsolicitedNaFrame,
} from "../../src/effects/frames.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { EffectError, errnoName } from "../../src/runtime/ports.ts";
import type { InterfaceLink } from "../../transports/libc.ffi.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString("hex");

/** Independent RFC 1071 sum over the NA's pseudo-header and ICMPv6 message: 0 when the checksum holds. */
function naChecksumResidue(frame: Uint8Array): number {
  const bytes = [...frame.subarray(22, 54), 0, 0, 0, 32, 0, 0, 0, 58, ...frame.subarray(54, 86)];
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// Captured from keepalived 2.2.7 (garp for 198.18.206.10/.11 from 5a:7f:08:1f:6d:e7; NA for 2001:2::10).
const KA_ARP_10 = hex(
  "ffffffffffff5a7f081f6de708060001 080006040001 5a7f081f6de7 c612ce0a ffffffffffff c612ce0a",
);
const KA_ARP_11 = hex(
  "ffffffffffff5a7f081f6de708060001 080006040001 5a7f081f6de7 c612ce0b ffffffffffff c612ce0b",
);
const KA_NA_1 = hex(
  "333300000001 5a7f081f6de7 86dd 6000 0000 0020 3aff 20010002000000000000000000000010 ff020000000000000000000000000001" +
    "8800 45f4 20000000 20010002000000000000000000000010 0201 5a7f081f6de7",
);
const KA_NA_2 = hex(
  "333300000001 d643f0565c39 86dd 6000 0000 0020 3aff 20010002000000000000000000000010 ff020000000000000000000000000001" +
    "8800 f3a5 20000000 20010002000000000000000000000010 0201 d643f0565c39",
);
const MAC1 = parseMac("5a:7f:08:1f:6d:e7") as Uint8Array;
const MAC2 = parseMac("d6:43:f0:56:5c:39") as Uint8Array;

describe("frames (keepalived byte vectors)", () => {
  it("builds keepalived's gratuitous ARP byte for byte, 42 bytes, no padding", () => {
    expect(toHex(gratuitousArpFrame(MAC1, "198.18.206.10"))).toBe(toHex(KA_ARP_10));
    expect(toHex(gratuitousArpFrame(MAC1, "198.18.206.11"))).toBe(toHex(KA_ARP_11));
    expect(toHex(announcementFrame(MAC1, "198.18.206.10", true))).toBe(toHex(KA_ARP_10));
  });

  it("builds keepalived's unsolicited NA byte for byte, checksum included", () => {
    expect(toHex(unsolicitedNaFrame(MAC1, "2001:2::10", false))).toBe(toHex(KA_NA_1));
    expect(toHex(unsolicitedNaFrame(MAC2, "2001:2:0:0::10", false))).toBe(toHex(KA_NA_2));
    expect(toHex(announcementFrame(MAC2, "2001:2::10", false))).toBe(toHex(KA_NA_2));
  });

  it("sets the router flag on request and keeps the checksum right", () => {
    const f = unsolicitedNaFrame(MAC1, "2001:2::10", true) as Uint8Array;
    expect(f[58]).toBe(0xa0);
    expect(naChecksumResidue(f)).toBe(0);
    expect(toHex(f.subarray(60))).toBe(toHex(KA_NA_1.subarray(60)));
  });

  it("has a valid checksum for arbitrary targets and MACs", () => {
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed >>> 8;
    };
    for (let n = 0; n < 300; n++) {
      const mac = Uint8Array.from({ length: 6 }, () => rnd() & 0xff);
      const words = Array.from({ length: 8 }, () => (rnd() & 0xffff).toString(16));
      const f = unsolicitedNaFrame(mac, words.join(":"), n % 2 === 0) as Uint8Array;
      expect(naChecksumResidue(f)).toBe(0);
      expect(toHex(f.subarray(80))).toBe(toHex(mac));
      expect(toHex(f.subarray(6, 12))).toBe(toHex(mac));
    }
  });

  it("refuses wrong families, non-addresses and bad MACs", () => {
    expect(gratuitousArpFrame(MAC1, "2001:2::10")).toBeUndefined();
    expect(unsolicitedNaFrame(MAC1, "198.18.0.1", false)).toBeUndefined();
    for (const bad of ["", "198.18.0.256", "198.18.0.1/24", "eth0", "2001:2::10::1"])
      expect(announcementFrame(MAC1, bad, false)).toBeUndefined();
    expect(() => gratuitousArpFrame(new Uint8Array(5), "198.18.0.1")).toThrow(RangeError);
    expect(parseMac("5a:7f:08:1f:6d")).toBeUndefined();
    expect(parseMac("5a:7f:08:1f:6d:zz")).toBeUndefined();
  });
});

interface Sent {
  readonly atUs: number;
  readonly ifname: string;
  readonly ifindex: number;
  readonly ethertype: number;
  readonly frame: Uint8Array;
}

/** A fake kernel: interfaces by name (undefined = missing), send failures by errno name. */
class FakeLink implements FrameLink {
  readonly sent: Sent[] = [];
  readonly interfaces = new Map<string, InterfaceLink>();
  sendError: string | undefined;
  forwarding = false;
  opened = 0;
  closed = 0;
  constructor(private readonly clock: VirtualClock) {}
  set(ifname: string, mac: Uint8Array, ifindex = 2, flags = 0x1043): void {
    this.interfaces.set(ifname, { ifindex, flags, hwType: 1, mac });
  }
  open(): FrameSocket {
    this.opened++;
    let current = "";
    return {
      lookup: (ifname) => {
        const i = this.interfaces.get(ifname);
        if (i === undefined) throw new EffectError("ENODEV", "No such device");
        current = ifname;
        return i;
      },
      send: (frame, ifindex, ethertype) => {
        if (this.sendError !== undefined) throw new EffectError(this.sendError, "send failed");
        this.sent.push({ atUs: this.clock.nowUs(), ifname: current, ifindex, ethertype, frame });
      },
      close: () => {
        this.closed++;
      },
    };
  }
  ipv6Forwarding = async (): Promise<boolean> => this.forwarding;
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Advances the clock in steps, letting the port's promises run between timers. */
async function drive(clock: VirtualClock, untilUs: number): Promise<void> {
  await flush();
  for (let due = clock.nextDueUs(); due !== undefined && due <= untilUs; due = clock.nextDueUs()) {
    clock.advanceTo(due);
    await flush();
  }
  clock.advanceTo(untilUs);
  await flush();
}

const setup = () => {
  const clock = new VirtualClock();
  const link = new FakeLink(clock);
  link.set("eth0", MAC1);
  const port = createArpPort(clock, { link });
  return { clock, link, port };
};

const targets = (sent: readonly Sent[]): string[] =>
  sent.map((s) =>
    s.ethertype === 0x0806 ? [...s.frame.subarray(38, 42)].join(".") : toHex(s.frame.subarray(62, 78)),
  );

describe("createArpPort", () => {
  it("sends repeat rounds over the addresses, in order, from the interface's MAC", async () => {
    const { link, port } = setup();
    await port.burst("eth0", ["198.18.206.10", "198.18.206.11"], 3, 0);
    expect(targets(link.sent)).toEqual(Array(3).fill(["198.18.206.10", "198.18.206.11"]).flat());
    expect(link.sent.map((s) => s.ethertype)).toEqual(Array(6).fill(0x0806));
    expect(toHex(link.sent[0]?.frame)).toBe(toHex(KA_ARP_10));
    expect(toHex(link.sent[1]?.frame)).toBe(toHex(KA_ARP_11));
    await port.burst("eth0", ["2001:2::10"], 1, 0);
    expect(toHex(link.sent[6]?.frame)).toBe(toHex(KA_NA_1));
    expect(link.sent[6]?.ethertype).toBe(0x86dd);
  });

  it("paces every packet intervalUs apart on the injected clock", async () => {
    const { clock, link, port } = setup();
    let done = false;
    const p = port.burst("eth0", ["198.18.0.10", "198.18.0.11"], 2, 100_000).then(() => {
      done = true;
    });
    await drive(clock, 99_999);
    expect(link.sent.map((s) => s.atUs)).toEqual([0]);
    await drive(clock, 300_000);
    await p;
    expect(done).toBe(true);
    expect(link.sent.map((s) => s.atUs)).toEqual([0, 100_000, 200_000, 300_000]);
    expect(targets(link.sent)).toEqual(["198.18.0.10", "198.18.0.11", "198.18.0.10", "198.18.0.11"]);
  });

  it("paces ARP and NA independently, and keeps pacing across bursts", async () => {
    const { clock, link, port } = setup();
    const p = port.burst("eth0", ["198.18.0.10", "2001:2::10"], 2, 50_000);
    await drive(clock, 1_000_000);
    await p;
    expect(link.sent.map((s) => [s.ethertype, s.atUs])).toEqual([
      [0x0806, 0],
      [0x86dd, 0],
      [0x0806, 50_000],
      [0x86dd, 50_000],
    ]);
    clock.advanceTo(1_010_000);
    const q = port.burst("eth0", ["198.18.0.10"], 1, 0);
    await q; // no interval: immediate
    const r = port.burst("eth0", ["198.18.0.11"], 1, 50_000);
    await drive(clock, 2_000_000);
    await r;
    expect(link.sent.slice(4).map((s) => s.atUs)).toEqual([1_010_000, 1_060_000]);
  });

  it("does not hold an NA burst behind a paced ARP burst on the same interface", async () => {
    const { clock, link, port } = setup();
    const slow = port.burst("eth0", ["198.18.0.10"], 3, 1_000_000);
    await flush();
    await port.burst("eth0", ["2001:2::10"], 2, 0);
    expect(link.sent.map((s) => [s.ethertype, s.atUs])).toEqual([
      [0x0806, 0],
      [0x86dd, 0],
      [0x86dd, 0],
    ]);
    const mixed = port.burst("eth0", ["198.18.0.11", "2001:2::11"], 1, 1_000_000);
    await drive(clock, 3_000_000);
    await Promise.all([slow, mixed]);
    // The mixed burst waited for the ARP burst (same family) and then for ARP pacing.
    expect(link.sent.slice(3).map((s) => [s.ethertype, s.atUs])).toEqual([
      [0x0806, 1_000_000],
      [0x0806, 2_000_000],
      [0x0806, 3_000_000],
      [0x86dd, 3_000_000],
    ]);
  });

  it("does not delay a burst on another interface", async () => {
    const { clock, link, port } = setup();
    link.set("eth1", MAC2, 3);
    const slow = port.burst("eth0", ["198.18.0.10"], 3, 1_000_000);
    await flush();
    await port.burst("eth1", ["198.18.1.10"], 2, 0);
    expect(link.sent.map((s) => [s.ifindex, s.atUs])).toEqual([
      [2, 0],
      [3, 0],
      [3, 0],
    ]);
    await drive(clock, 2_000_000);
    await slow;
    expect(link.sent.length).toBe(5);
  });

  it("looks up MAC and ifindex at every packet", async () => {
    const { clock, link, port } = setup();
    const p = port.burst("eth0", ["198.18.0.10"], 2, 10_000);
    await flush();
    link.set("eth0", MAC2, 9);
    await drive(clock, 10_000);
    await p;
    expect(
      link.sent.map((s) => [s.ifindex, toHex(s.frame.subarray(6, 12)), toHex(s.frame.subarray(22, 28))]),
    ).toEqual([
      [2, toHex(MAC1), toHex(MAC1)],
      [9, toHex(MAC2), toHex(MAC2)],
    ]);
  });

  it("rejects with ENODEV for a missing or vanished interface and holds no socket for it", async () => {
    const { clock, link, port } = setup();
    await expect(port.burst("nosuch0", ["198.18.0.10"], 1, 0)).rejects.toMatchObject({ code: "ENODEV" });
    expect(port.openSockets).toBe(1 - 1);
    const p = port.burst("eth0", ["198.18.0.10"], 3, 10_000);
    const outcome = p.then(
      () => "resolved",
      (e: unknown) => e,
    );
    await flush();
    link.interfaces.delete("eth0");
    await drive(clock, 100_000);
    const e = await outcome;
    expect(e).toBeInstanceOf(EffectError);
    expect((e as EffectError).code).toBe("ENODEV");
    expect((e as EffectError).message).toContain("eth0");
    expect(link.sent.length).toBe(1);
    expect(port.openSockets).toBe(0);
    expect(link.opened).toBe(link.closed);
  });

  it("keeps sending after a failed send and rejects with the first errno name", async () => {
    const { link, port } = setup();
    link.sendError = "ENETDOWN";
    const e = await port.burst("eth0", ["198.18.0.10", "198.18.0.11"], 2, 0).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "ENETDOWN" });
    expect((e as Error).message).toMatch(/4 of 4/);
    link.sendError = undefined;
    await port.burst("eth0", ["198.18.0.10"], 1, 0);
    expect(link.sent.length).toBe(1);
  });

  it("sends nothing on an IFF_NOARP interface, as keepalived", async () => {
    const { link, port } = setup();
    link.set("eth0", MAC1, 2, 0x1043 | 0x80);
    await port.burst("eth0", ["198.18.0.10", "2001:2::10"], 5, 0);
    expect(link.sent).toEqual([]);
  });

  it("sets the NA router flag when the interface forwards IPv6", async () => {
    const { link, port } = setup();
    link.forwarding = true;
    await port.burst("eth0", ["2001:2::10"], 1, 0);
    expect(link.sent[0]?.frame[58]).toBe(0xa0);
    expect(naChecksumResidue(link.sent[0]?.frame as Uint8Array)).toBe(0);
  });

  it("refuses bad input before sending anything", async () => {
    const { link, port } = setup();
    for (const [addresses, repeat, interval] of [
      [["198.18.0.10", "not-an-ip"], 1, 0],
      [["198.18.0.10/24"], 1, 0],
      [["198.18.0.10"], -1, 0],
      [["198.18.0.10"], 1.5, 0],
      [["198.18.0.10"], 1, Number.NaN],
      [["198.18.0.10"], 1, -5],
    ] as const)
      await expect(port.burst("eth0", addresses, repeat, interval)).rejects.toMatchObject({ code: "EINVAL" });
    await port.burst("eth0", ["198.18.0.10"], 0, 0);
    await port.burst("eth0", [], 5, 0);
    expect(link.sent).toEqual([]);
    expect(link.opened).toBe(0);
  });

  it("reuses one socket per interface, closes them all, and cancels waiting bursts", async () => {
    const { clock, link, port } = setup();
    link.set("eth1", MAC2, 3);
    await port.burst("eth0", ["198.18.0.10"], 2, 0);
    await port.burst("eth0", ["198.18.0.11"], 2, 0);
    await port.burst("eth1", ["198.18.1.10"], 1, 0);
    expect(link.opened).toBe(2);
    expect(port.openSockets).toBe(2);
    const waiting = port.burst("eth0", ["198.18.0.10"], 3, 1_000_000).catch((e: unknown) => e);
    await flush();
    expect(clock.pending).toBe(1);
    port.close();
    expect(await waiting).toMatchObject({ code: "ECANCELED" });
    expect(clock.pending).toBe(0);
    expect(link.closed).toBe(2);
    expect(port.openSockets).toBe(0);
    await expect(port.burst("eth0", ["198.18.0.10"], 1, 0)).rejects.toMatchObject({ code: "ECANCELED" });
    port.close();
    expect(link.closed).toBe(2);
  });

  it("takes keepalived's largest repeat count: rounds sent as they go, the loop yielded, close stops it", async () => {
    const { link, port } = setup();
    // 2^32 - 1 rounds (garp_master_repeat's maximum): materialised, this would not fit in memory.
    const burst = port
      .burst("eth0", ["198.18.0.10", "198.18.0.11"], 4_294_967_295, 0)
      .catch((e: unknown) => e);
    await flush();
    const afterOneTurn = link.sent.length;
    await flush();
    await flush();
    expect(afterOneTurn).toBeGreaterThan(0);
    expect(link.sent.length).toBeGreaterThan(afterOneTurn);
    expect(link.sent.length).toBeLessThan(10_000);
    port.close();
    expect(await burst).toMatchObject({ code: "ECANCELED" });
    const stopped = link.sent.length;
    await flush();
    expect(link.sent.length).toBe(stopped);
    expect(targets(link.sent.slice(0, 4))).toEqual([
      "198.18.0.10",
      "198.18.0.11",
      "198.18.0.10",
      "198.18.0.11",
    ]);
  });

  it("names errnos", () => {
    expect(errnoName(19)).toBe("ENODEV");
    expect(errnoName(1)).toBe("EPERM");
    expect(errnoName(100)).toBe("ENETDOWN");
    expect(errnoName(99999)).toBe("E99999");
  });
});
