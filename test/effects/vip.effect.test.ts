/**
 * The VIP effect without root: keepalived's option mapping (`buildAddressRequest`), the bytes put on
 * the socket (`encodeAddressRequest`, walked attribute by attribute by hand), and the port and the
 * address watcher driven through fake route sockets (errno handling, idempotence, ENODEV, timeouts,
 * socket closing, event order).
 */
import { EventEmitter } from "node:events";
import netlink, { type NetlinkMessage, type RtNetlinkSocket } from "netlink";
import { describe, expect, it } from "vitest";
import { type AddressEvent, impossibleIfname, watchAddresses } from "../../src/effects/rtnetlink.ts";
import {
  type AddressRequest,
  buildAddressRequest,
  computedBroadcast,
  createNetlinkVipPort,
  encodeAddressRequest,
  scopeNumber,
} from "../../src/effects/vip.effect.ts";
import { EffectError, type VipAddress } from "../../src/runtime/ports.ts";
import { defaultVipAddress } from "../../src/runtime/spec.ts";

const { AttrStream, rt } = netlink;

/** A VIP on eth0 with keepalived's default options, then `o`. */
const v = (address: string, prefixLength: number, o: Partial<VipAddress> = {}): VipAddress => ({
  ...defaultVipAddress(`${address}/${prefixLength}`, "eth0"),
  ...o,
});

const built = (vip: VipAddress, op: "add" | "remove" = "add", index = 7): AddressRequest => {
  const r = buildAddressRequest(vip, op, index);
  if ("error" in r) throw new Error(r.error);
  return r;
};
const ip = (b: Uint8Array | null): string | null => (b === null ? null : [...b].join("."));

describe("buildAddressRequest: keepalived's option mapping", () => {
  it("a plain IPv4 VIP: IFA_LOCAL only, scope global, no flags", () => {
    const r = built(v("198.18.0.10", 24));
    expect(r).toMatchObject({
      family: 4,
      prefixLength: 24,
      scope: 0,
      index: 7,
      address: null,
      broadcast: null,
    });
    expect(ip(r.local)).toBe("198.18.0.10");
    expect(r.flags).toBe(0);
    expect(r.preferredLft).toBeNull();
    expect(r.label).toBeNull();
  });

  it("brd + sets the host bits, brd - clears them, only up to /30, never with a peer", () => {
    expect(ip(built(v("198.18.5.77", 24, { broadcast: "+" })).broadcast)).toBe("198.18.5.255");
    expect(ip(built(v("198.18.5.77", 24, { broadcast: "-" })).broadcast)).toBe("198.18.5.0");
    expect(ip(built(v("198.18.5.77", 20, { broadcast: "+" })).broadcast)).toBe("198.18.15.255");
    expect(ip(built(v("198.18.5.77", 30, { broadcast: "+" })).broadcast)).toBe("198.18.5.79");
    expect(ip(built(v("198.18.5.77", 0, { broadcast: "-" })).broadcast)).toBe("0.0.0.0");
    expect(built(v("198.18.5.77", 31, { broadcast: "+" })).broadcast).toBeNull();
    expect(built(v("198.18.5.77", 32, { broadcast: "-" })).broadcast).toBeNull();
    expect(ip(built(v("198.18.5.77", 24, { broadcast: "198.18.5.200" })).broadcast)).toBe("198.18.5.200");
    expect(built(v("198.18.5.77", 24, { broadcast: "+", peer: "198.18.5.1" })).broadcast).toBeNull();
    expect(built(v("198.18.5.77", 24, { broadcast: "+" }), "remove").broadcast).toBeNull();
    expect(ip(computedBroadcast(Uint8Array.of(198, 18, 1, 2), 23, true))).toBe("198.18.1.255");
  });

  it("a peer goes in IFA_ADDRESS and forces a full-length prefix; IPv4 deletes name the peer or the address", () => {
    const add = built(v("198.18.0.10", 24, { peer: "198.18.0.99" }));
    expect(add.prefixLength).toBe(32);
    expect(ip(add.address)).toBe("198.18.0.99");
    expect(ip(built(v("198.18.0.10", 32, { peer: "198.18.0.99" }), "remove").address)).toBe("198.18.0.99");
    expect(ip(built(v("198.18.0.10", 24), "remove").address)).toBe("198.18.0.10");
    expect(built(v("2001:db8::1", 64), "remove").address).toBeNull();
    const six = built(v("2001:db8::1", 64, { peer: "2001:db8::2" }));
    expect(six.prefixLength).toBe(128);
    expect(six.address?.length).toBe(16);
  });

  it("scope names and numbers; IPv6 never carries a scope or a label", () => {
    expect(["global", "site", "link", "host", "nowhere", "0", "17", "0x10"].map(scopeNumber)).toEqual([
      0, 200, 253, 254, 255, 0, 17, 16,
    ]);
    for (const bad of ["", "256", "planet", "-1", "1.5"]) expect(scopeNumber(bad)).toBeUndefined();
    expect(built(v("198.18.0.10", 32, { scope: "host" })).scope).toBe(254);
    expect(buildAddressRequest(v("198.18.0.10", 32, { scope: "planet" }), "add", 1)).toHaveProperty("error");
    const six = built(v("2001:db8::1", 64, { scope: "host", label: "eth0:x" }));
    expect(six.scope).toBe(0);
    expect(six.label).toBeNull();
    expect(built(v("198.18.0.10", 32, { label: "eth0:x" })).label).toBe("eth0:x");
    expect(built(v("198.18.0.10", 32, { label: "eth0:x" }), "remove").label).toBeNull();
  });

  it("flags: home, mngtmpaddr, noprefixroute, autojoin; NODAD on IPv6 unless -nodad; none on delete", () => {
    const all = { home: true, mngTmpAddr: true, noPrefixRoute: true, autoJoin: true };
    expect(built(v("198.18.0.10", 32, all)).flags).toBe(0x10 | 0x100 | 0x200 | 0x400);
    expect(built(v("2001:db8::1", 64)).flags).toBe(0x02);
    expect(built(v("2001:db8::1", 64, { noDad: true })).flags).toBe(0);
    expect(built(v("2001:db8::1", 64, all)).flags).toBe(0x02 | 0x10 | 0x100 | 0x200 | 0x400);
    expect(built(v("198.18.0.10", 32, { noDad: false })).flags).toBe(0);
    expect(built(v("2001:db8::1", 64, all), "remove").flags).toBe(0);
  });

  it("preferred_lft: IPv6 /128 defaults to 0 (deprecated), others to forever (no cacheinfo)", () => {
    expect(built(v("2001:db8::1", 128)).preferredLft).toBe(0);
    expect(built(v("2001:db8::1", 64)).preferredLft).toBeNull();
    expect(built(v("2001:db8::1", 64, { peer: "2001:db8::2" })).preferredLft).toBe(0);
    expect(built(v("2001:db8::1", 128, { preferredLft: "forever" })).preferredLft).toBeNull();
    expect(built(v("2001:db8::1", 64, { preferredLft: 3600 })).preferredLft).toBe(3600);
    expect(built(v("2001:db8::1", 64, { preferredLft: 0xffffffff })).preferredLft).toBeNull();
    expect(built(v("198.18.0.10", 32, { preferredLft: 30 })).preferredLft).toBeNull();
    expect(built(v("2001:db8::1", 128), "remove").preferredLft).toBeNull();
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN])
      expect(buildAddressRequest(v("2001:db8::1", 64, { preferredLft: bad }), "add", 1)).toHaveProperty(
        "error",
      );
  });

  it("refuses what is not an address of its family, bad prefixes, peers, broadcasts and labels", () => {
    const bad = [
      v("198.18.0.300", 32),
      v("2001:db8::1", 64, { family: 4 }),
      v("198.18.0.1", 33),
      v("198.18.0.1", -1),
      v("198.18.0.1", 1.5),
      v("2001:db8::1", 129),
      v("198.18.0.1", 32, { peer: "2001:db8::1" }),
      v("198.18.0.1", 24, { broadcast: "x" }),
      v("198.18.0.1", 24, { label: "" }),
      v("198.18.0.1", 24, { label: "a-label-far-too-long" }),
    ];
    for (const vip of bad) expect(buildAddressRequest(vip, "add", 1)).toHaveProperty("error");
  });

  it("interface names no interface can have are recognised", () => {
    for (const n of ["", ".", "..", "a/b", "a:b", "a b", "sixteen-chars-xx"])
      expect(impossibleIfname(n)).toBe(true);
    for (const n of ["eth0", "vx-1.100", "fifteen-chars-x"]) expect(impossibleIfname(n)).toBe(false);
  });
});

/** (type, payload) of each attribute after the 8-byte ifaddrmsg. */
function walk(bytes: Buffer): { head: number[]; attrs: [number, Buffer][] } {
  const attrs: [number, Buffer][] = [];
  for (let off = 8; off < bytes.length; ) {
    const len = bytes.readUInt16LE(off);
    attrs.push([bytes.readUInt16LE(off + 2), bytes.subarray(off + 4, off + len)]);
    off += (len + 3) & ~3;
  }
  return { head: [...bytes.subarray(0, 8)], attrs };
}

describe("encodeAddressRequest: the bytes", () => {
  it("IPv4 add with broadcast, label, flags and peer", () => {
    const r = built(
      v("198.18.0.10", 32, { label: "eth0:v", home: true, scope: "link", peer: "198.18.0.99" }),
      "add",
      3,
    );
    const { head, attrs } = walk(Buffer.concat(encodeAddressRequest(r)));
    expect(head).toEqual([2, 32, 0, 253, 3, 0, 0, 0]);
    const byType = new Map(attrs);
    expect([...(byType.get(2) ?? [])]).toEqual([198, 18, 0, 10]); // IFA_LOCAL
    expect([...(byType.get(1) ?? [])]).toEqual([198, 18, 0, 99]); // IFA_ADDRESS
    expect(byType.get(3)?.toString("latin1")).toBe("eth0:v\0"); // IFA_LABEL
    expect(byType.get(8)?.readUInt32LE(0)).toBe(0x10); // IFA_FLAGS
    expect(byType.get(8)?.length).toBe(4);
    expect(byType.has(4)).toBe(false);
    expect(byType.has(6)).toBe(false);
  });

  it("IPv6 add with cacheinfo (preferred N, valid forever) and NODAD; delete with IFA_LOCAL only", () => {
    const r = built(v("2001:db8::1", 128), "add", 9);
    const { head, attrs } = walk(Buffer.concat(encodeAddressRequest(r)));
    expect(head).toEqual([10, 128, 0, 0, 9, 0, 0, 0]);
    const byType = new Map(attrs);
    const ci = byType.get(6) as Buffer; // IFA_CACHEINFO
    expect([
      ci.length,
      ci.readUInt32LE(0),
      ci.readUInt32LE(4),
      ci.readUInt32LE(8),
      ci.readUInt32LE(12),
    ]).toEqual([16, 0, 0xffffffff, 0, 0]);
    expect(byType.get(8)?.readUInt32LE(0)).toBe(0x02);
    expect(byType.get(2)?.length).toBe(16);
    const del = walk(Buffer.concat(encodeAddressRequest(built(v("2001:db8::1", 128), "remove", 9))));
    expect(del.attrs.map(([t]) => t)).toEqual([2]);
  });

  it("IPv4 add without options: no IFA_FLAGS at all", () => {
    const { attrs } = walk(Buffer.concat(encodeAddressRequest(built(v("198.18.0.10", 24)))));
    expect(attrs.map(([t]) => t)).toEqual([2]);
  });
});

// ---- fake route sockets ----------------------------------------------------------------------

const errorReply = (errno: number, seq = 1): NetlinkMessage => {
  const data = Buffer.alloc(20);
  data.writeInt32LE(-errno, 0);
  return { type: 2, flags: 0, seq, port: 0, data };
};
const linkReply = (index: number, ifname: string, type = 16): NetlinkMessage => {
  const s = new AttrStream();
  rt.formatLinkMessage({ kind: "link", data: { index }, attrs: { ifname, mtu: 1500 } }, s);
  return { type, flags: 0, seq: 0, port: 0, data: Buffer.concat(s.bufs) };
};
const addrMessage = (type: number, index: number, bytes: number[], prefixlen: number): NetlinkMessage => {
  const s = new AttrStream();
  rt.formatAddressMessage(
    {
      kind: "address",
      data: { family: bytes.length === 4 ? 2 : 10, prefixlen, index },
      attrs: { address: Buffer.from(bytes) },
    },
    s,
  );
  return { type, flags: 0, seq: 0, port: 0, data: Buffer.concat(s.bufs) };
};

type Answer = NetlinkMessage[] | "hang" | Error;
class FakeSocket extends EventEmitter {
  closed = 0;
  readonly sent: { type: number; payload: Buffer }[] = [];
  readonly groups: string[] = [];
  constructor(private readonly answer: (type: number, payload: Buffer) => Answer | Promise<Answer>) {
    super();
  }
  readonly socket = Object.assign(this, {
    request: async (type: number, data: Uint8Array[], opts: { timeout?: number }) => {
      const payload = Buffer.concat(data);
      this.sent.push({ type, payload });
      const a = await this.answer(type, payload);
      if (a instanceof Error) throw a;
      if (a === "hang") throw new Error(`Timeout has been reached (${opts.timeout})`);
      return [a, { port: 0, groups: 0 }];
    },
    close: () => {
      this.closed++;
    },
  });
  addMembership(g: string): void {
    this.groups.push(g);
  }
}
const asRt = (f: FakeSocket): RtNetlinkSocket => f as unknown as RtNetlinkSocket;

/** A kernel with `links` and a per-address errno for NEWADDR/DELADDR. */
const kernel =
  (links: Record<string, number>, errnoFor: (type: number, last: number) => number = () => 0) =>
  (type: number, payload: Buffer): Answer => {
    if (type === 18) {
      const name = rt.parseLinkMessage(payload).attrs.ifname ?? "";
      const index = links[name];
      return index === undefined ? [errorReply(19)] : [linkReply(index, name)];
    }
    const msg = rt.parseAddressMessage(payload);
    // The kernel answers ENODEV for an index no interface has (any more).
    if (!Object.values(links).includes(msg.data.index ?? -1)) return [errorReply(19)];
    const local = msg.attrs.local as Buffer;
    return [errorReply(errnoFor(type, local[local.length - 1] ?? 0))];
  };

describe("createNetlinkVipPort over a fake socket", () => {
  const vips = [v("198.18.0.1", 32), v("198.18.0.2", 32), v("2001:db8::3", 128)];

  it("EEXIST on add and EADDRNOTAVAIL on remove are not errors; one socket kept until close()", async () => {
    const socks: FakeSocket[] = [];
    const port = createNetlinkVipPort({
      open: () => {
        const f = new FakeSocket(kernel({ eth0: 2 }, (t) => (t === 20 ? 17 : 99)));
        socks.push(f);
        return asRt(f);
      },
    });
    await expect(port.add(vips)).resolves.toBeUndefined();
    await expect(port.remove(vips)).resolves.toBeUndefined();
    expect(socks).toHaveLength(1);
    expect(socks[0]?.groups).toEqual(["LINK"]);
    // eth0's index is asked once, then cached
    expect(socks[0]?.sent.map((s) => s.type)).toEqual([18, 20, 20, 20, 21, 21, 21]);
    await expect(port.add([])).resolves.toBeUndefined();
    expect(socks[0]?.closed).toBe(0);
    port.close();
    expect(socks[0]?.closed).toBe(1);
    await expect(port.add(vips.slice(0, 1))).resolves.toBeUndefined();
    expect(socks).toHaveLength(2);
    expect(socks[1]?.sent.map((s) => s.type)).toEqual([18, 20]);
  });

  it("with the index cached, every RTM_NEWADDR of a command is on the socket before add() returns", async () => {
    const f = new FakeSocket(kernel({ eth0: 2 }));
    const port = createNetlinkVipPort({ open: () => asRt(f) });
    await port.add(vips.slice(0, 1));
    const before = f.sent.length;
    const pending = port.add(vips);
    // no GETLINK round trip, no event-loop turn: the kernel has the requests now
    expect(f.sent.slice(before).map((s) => s.type)).toEqual([20, 20, 20]);
    expect(f.sent.slice(before).map((s) => rt.parseAddressMessage(s.payload).data.index)).toEqual([2, 2, 2]);
    await expect(pending).resolves.toBeUndefined();
  });

  it("link notifications drop a cached index: deleted, renamed, name taken by another link; a change in place keeps it", async () => {
    const links: Record<string, number> = { eth0: 2, eth1: 3 };
    const f = new FakeSocket(kernel(links));
    const port = createNetlinkVipPort({ open: () => asRt(f) });
    const types = async (vip: VipAddress): Promise<number[]> => {
      const at = f.sent.length;
      await expect(port.add([vip])).resolves.toBeUndefined();
      return f.sent.slice(at).map((s) => s.type);
    };
    const a = v("198.18.0.1", 32);
    expect(await types(a)).toEqual([18, 20]);
    f.emit("message", [linkReply(2, "eth0", 16)]); // flags or MTU changed: same name, same index
    f.emit("message", [linkReply(3, "eth1", 17)]); // another interface: eth0's entry stays
    expect(await types(a)).toEqual([20]);
    f.emit("message", [linkReply(2, "eth0", 17)]); // deleted
    expect(await types(a)).toEqual([18, 20]);
    f.emit("message", [linkReply(2, "wan0", 16)]); // renamed
    expect(await types(a)).toEqual([18, 20]);
    links.eth0 = 7;
    f.emit("message", [linkReply(7, "eth0", 16)]); // a new link took the name
    expect(await types(a)).toEqual([18, 20]);
    expect(rt.parseAddressMessage(f.sent.at(-1)?.payload as Buffer).data.index).toBe(7);
    f.emit("message", [{ type: 16, flags: 0, seq: 0, port: 0, data: Buffer.alloc(3) }]); // unreadable
    expect(await types(a)).toEqual([18, 20]);
  });

  it("an index the kernel no longer has (ENODEV) is looked up again and the address sent once more", async () => {
    const links: Record<string, number> = { eth0: 2 };
    const f = new FakeSocket(kernel(links));
    const port = createNetlinkVipPort({ open: () => asRt(f) });
    await port.add(vips.slice(0, 2));
    delete links.eth0;
    links.eth0 = 9; // replaced without a notification read yet
    const at = f.sent.length;
    await expect(port.add(vips.slice(0, 2))).resolves.toBeUndefined();
    const sent = f.sent.slice(at);
    expect(sent.map((s) => s.type)).toEqual([20, 20, 18, 18, 20, 20]);
    const locals = sent
      .filter((s) => s.type === 20)
      .map((s) => [...(rt.parseAddressMessage(s.payload).attrs.local ?? [])].join("."));
    expect(locals).toEqual(["198.18.0.1", "198.18.0.2", "198.18.0.1", "198.18.0.2"]);
    expect(
      sent.filter((s) => s.type === 20).map((s) => rt.parseAddressMessage(s.payload).data.index),
    ).toEqual([2, 2, 9, 9]);
    // gone for good: add fails with ENODEV, remove is done
    delete links.eth0;
    await expect(port.add(vips.slice(0, 1))).rejects.toMatchObject({ code: "ENODEV" });
    await expect(port.remove(vips.slice(0, 1))).resolves.toBeUndefined();
  });

  it("a socket error drops the socket and every cached index; the next command opens a new socket", async () => {
    const socks: FakeSocket[] = [];
    const port = createNetlinkVipPort({
      open: () => {
        const f = new FakeSocket(kernel({ eth0: 2 }));
        socks.push(f);
        return asRt(f);
      },
    });
    await port.add(vips.slice(0, 1));
    socks[0]?.emit("error", Object.assign(new Error("recv: ENOBUFS"), { code: "ENOBUFS" }));
    expect(socks[0]?.closed).toBe(1);
    await expect(port.add(vips.slice(0, 1))).resolves.toBeUndefined();
    expect(socks).toHaveLength(2);
    expect(socks[1]?.sent.map((s) => s.type)).toEqual([18, 20]);
  });

  it("other errnos reject with an EffectError for the first failure, after trying every address", async () => {
    const f = new FakeSocket(kernel({ eth0: 2 }, (_t, last) => (last === 2 ? 1 : last === 3 ? 22 : 0)));
    const port = createNetlinkVipPort({ open: () => asRt(f) });
    const err = await port.add(vips).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EffectError);
    expect(err).toMatchObject({ code: "EPERM" });
    expect((err as Error).message).toContain("198.18.0.2/32 dev eth0");
    expect(f.sent.filter((s) => s.type === 20)).toHaveLength(3);
    await expect(port.remove(vips)).rejects.toMatchObject({ code: "EPERM" });
  });

  it("a missing interface is ENODEV on add, nothing to do on remove", async () => {
    const f = new FakeSocket(kernel({ eth0: 2 }));
    const port = createNetlinkVipPort({ open: () => asRt(f) });
    await expect(port.add([v("198.18.0.1", 32, { dev: "gone0" })])).rejects.toMatchObject({ code: "ENODEV" });
    await expect(port.add([v("198.18.0.1", 32, { dev: "a/b" })])).rejects.toMatchObject({ code: "ENODEV" });
    await expect(port.remove([v("198.18.0.1", 32, { dev: "gone0" })])).resolves.toBeUndefined();
    expect(f.sent.filter((s) => s.type !== 18)).toHaveLength(0);
  });

  it("a request with no answer is TIMEOUT; a socket that cannot open or throws is an EffectError, never a throw", async () => {
    const hang = new FakeSocket(() => "hang");
    await expect(createNetlinkVipPort({ open: () => asRt(hang) }).add(vips)).rejects.toMatchObject({
      code: "TIMEOUT",
    });
    expect(hang.closed).toBe(1); // a socket that timed out is not kept
    const noOpen = createNetlinkVipPort({
      open: () => {
        throw Object.assign(new Error("socket: EMFILE"), { code: "EMFILE" });
      },
    });
    const p = noOpen.add(vips);
    await expect(p).rejects.toBeInstanceOf(EffectError);
    await expect(p).rejects.toMatchObject({ code: "EMFILE" });
    const garbage = new FakeSocket(() => [{ type: 16, flags: 0, seq: 1, port: 0, data: Buffer.alloc(2) }]);
    const garbagePort = createNetlinkVipPort({ open: () => asRt(garbage) });
    await expect(garbagePort.add(vips)).rejects.toBeInstanceOf(EffectError);
    garbagePort.close();
    expect(garbage.closed).toBe(1);
  });
});

describe("watchAddresses over fake sockets", () => {
  it("names interfaces from the link dump, keeps kernel order across it, and closes both sockets", async () => {
    let release: (a: Answer) => void = () => {};
    const dump = new Promise<Answer>((r) => {
      release = r;
    });
    const events = new FakeSocket(() => []);
    const lookup = new FakeSocket(() => dump);
    const opened = [events, lookup];
    const got: AddressEvent[] = [];
    const sub = watchAddresses({ open: () => asRt(opened.shift() as FakeSocket) }).subscribe((e) =>
      got.push(e),
    );
    expect(events.groups).toEqual(["LINK", "IPV4_IFADDR", "IPV6_IFADDR"]);
    events.emit("message", [addrMessage(20, 2, [198, 18, 0, 7], 24)]);
    expect(got).toEqual([]);
    release([linkReply(2, "eth0"), linkReply(3, "eth1")]);
    await new Promise((r) => setTimeout(r, 0));
    expect(lookup.closed).toBe(1);
    events.emit("message", [
      linkReply(4, "vx0"),
      addrMessage(21, 4, [0x20, 1, 0xd, 0xb8, ...Array(11).fill(0), 5], 128),
    ]);
    expect(got).toEqual([
      { ifname: "eth0", ifindex: 2, address: "198.18.0.7", prefixLength: 24, family: 4, present: true },
      { ifname: "vx0", ifindex: 4, address: "2001:db8::5", prefixLength: 128, family: 6, present: false },
    ]);
    sub.unsubscribe();
    expect(events.closed).toBe(1);
  });

  it("a socket error ends the stream with an EffectError", async () => {
    const events = new FakeSocket(() => []);
    const lookup = new FakeSocket(() => [linkReply(2, "eth0")]);
    const opened = [events, lookup];
    let failure: unknown;
    watchAddresses({ open: () => asRt(opened.shift() as FakeSocket) }).subscribe({
      error: (e) => (failure = e),
    });
    events.emit("error", Object.assign(new Error("recv: ENOBUFS"), { code: "ENOBUFS" }));
    expect(failure).toBeInstanceOf(EffectError);
    expect(failure).toMatchObject({ code: "ENOBUFS" });
    await new Promise((r) => setTimeout(r, 0));
    expect(events.closed).toBe(1);
    expect(lookup.closed).toBe(1);
  });
});
