/**
 * The route effect's messages (src/effects/route.effect.ts), byte by byte against the layouts of
 * linux/rtnetlink.h and linux/fib_rules.h, and the port's outcome rules over a fake route socket:
 * every entry attempted in keepalived's order, an existing route done but an existing rule an error,
 * an absent entry removed. The real kernel: test/netns/routes.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  answerIsDone,
  createNetlinkRoutePort,
  deletedEntry,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_EXCL,
  parseDeletion,
  RTM_DELROUTE,
  RTM_DELRULE,
  RTM_NEWROUTE,
  RTM_NEWRULE,
  routeRequest,
  ruleRequest,
} from "../../src/effects/route.effect.ts";
import { EffectError } from "../../src/runtime/ports.ts";
import { routeOf, ruleOf } from "../support/routes.ts";

const route = routeOf;
const rule = ruleOf;

/** The attributes after the 12-byte header: [type, data] in order. */
const attrs = (payload: Uint8Array): Array<[number, number[]]> => {
  const b = Buffer.from(payload);
  const out: Array<[number, number[]]> = [];
  for (let at = 12; at < b.length; ) {
    const len = b.readUInt16LE(at);
    out.push([b.readUInt16LE(at + 2), [...b.subarray(at + 4, at + len)]]);
    at += (len + 3) & ~3;
  }
  return out;
};
const header = (payload: Uint8Array): number[] => [...payload.subarray(0, 8)];
const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];

describe("routeRequest", () => {
  it("adds with keepalived's header, attributes and flags", () => {
    const r = routeRequest(route({ metric: 7, src: "198.18.5.100" }), "add", 3);
    expect(r.type).toBe(RTM_NEWROUTE);
    expect(r.flags).toBe(NLM_F_CREATE);
    // family, dst_len, src_len, tos, table, protocol, scope universe, type unicast
    expect(header(r.payload)).toEqual([2, 24, 0, 0, 254, 18, 0, 1]);
    expect(attrs(r.payload)).toEqual([
      [1, [198, 19, 5, 0]],
      [7, [198, 18, 5, 100]],
      [5, [198, 18, 5, 254]],
      [4, u32(3)],
      [6, u32(7)],
    ]);
  });

  it("deletes with scope any and type any unless written, and no flags", () => {
    const r = routeRequest(route(), "remove", 3);
    expect(r.type).toBe(RTM_DELROUTE);
    expect(r.flags).toBe(0);
    expect(header(r.payload)).toEqual([2, 24, 0, 0, 254, 18, 255, 0]);
    const typed = routeRequest(
      route({ type: 6, typeGiven: true, via: null, dev: null }),
      "remove",
      undefined,
    );
    expect(header(typed.payload)).toEqual([2, 24, 0, 0, 254, 18, 255, 6]);
    expect(attrs(typed.payload)).toEqual([[1, [198, 19, 5, 0]]]);
  });

  it("puts a table above 255 in RTA_TABLE, keeps a written scope, sets onlink and the insertion mode", () => {
    const r = routeRequest(route({ table: 1000, scope: 253, onlink: true, mode: "add" }), "add", 2);
    expect(header(r.payload)).toEqual([2, 24, 0, 0, 0, 18, 253, 1]);
    expect(Buffer.from(r.payload).readUInt32LE(8)).toBe(4);
    expect(attrs(r.payload)[0]).toEqual([15, u32(1000)]);
    expect(r.flags).toBe(NLM_F_CREATE | NLM_F_EXCL);
    expect(routeRequest(route({ mode: "append" }), "add", 2).flags).toBe(NLM_F_CREATE | NLM_F_APPEND);
  });

  it("sends no RTA_DST for a default route and RTA_SRC for an IPv6 `from`", () => {
    const d = routeRequest(route({ dst: "0.0.0.0", dstLength: 0 }), "add", 2);
    expect(attrs(d.payload).map(([t]) => t)).toEqual([5, 4]);
    const v6 = routeRequest(
      route({
        family: 6,
        dst: "2001:db8:5::",
        dstLength: 64,
        from: { address: "2001:db8:1::", family: "ipv6", prefixLength: 48 },
        via: null,
      }),
      "add",
      2,
    );
    expect(header(v6.payload).slice(0, 3)).toEqual([10, 64, 48]);
    expect(attrs(v6.payload).map(([t]) => t)).toEqual([1, 2, 4]);
  });

  it("refuses an address of the wrong family with EINVAL", () => {
    expect(() => routeRequest(route({ via: "2001:db8::1" }), "add", 1)).toThrow(EffectError);
  });
});

describe("ruleRequest", () => {
  it("adds a table rule with CREATE | EXCL, its priority and protocol", () => {
    const r = ruleRequest(rule(), "add");
    expect(r.type).toBe(RTM_NEWRULE);
    expect(r.flags).toBe(NLM_F_CREATE | NLM_F_EXCL);
    // family, dst_len, src_len, tos, table, res1, res2, action FR_ACT_TO_TBL
    expect(header(r.payload)).toEqual([2, 0, 24, 0, 100, 0, 0, 1]);
    expect(attrs(r.payload)).toEqual([
      [2, [198, 19, 5, 0]],
      [6, u32(1000)],
      [21, [18]],
    ]);
  });

  it("carries not, fwmark and mask, interface names, goto and a big table", () => {
    const r = ruleRequest(
      rule({ invert: true, fwmark: 16, fwmask: 255, iif: "eth0", oif: "lo", table: 1000, protocol: null }),
      "remove",
    );
    expect(r.type).toBe(RTM_DELRULE);
    expect(r.flags).toBe(0);
    expect(header(r.payload)[4]).toBe(0);
    expect(Buffer.from(r.payload).readUInt32LE(8)).toBe(2);
    expect(attrs(r.payload)).toEqual([
      [15, u32(1000)],
      [2, [198, 19, 5, 0]],
      [6, u32(1000)],
      [10, u32(16)],
      [16, u32(255)],
      [3, [...Buffer.from("eth0\0")]],
      [17, [...Buffer.from("lo\0")]],
    ]);
    const g = ruleRequest(rule({ action: "goto", goto: 2000, table: 0, from: null }), "add");
    expect(header(g.payload)[7]).toBe(2);
    expect(attrs(g.payload)).toContainEqual([4, u32(2000)]);
    expect(header(ruleRequest(rule({ action: "unreachable" }), "add").payload)[7]).toBe(7);
  });

  it("leaves out a /0 prefix, which the kernel keeps as no address", () => {
    const r = ruleRequest(rule({ from: { address: "0.0.0.0", family: "ipv4", prefixLength: 0 } }), "add");
    expect(attrs(r.payload).map(([t]) => t)).toEqual([6, 21]);
  });
});

describe("answerIsDone", () => {
  it("is keepalived's: EEXIST done for a route only, ESRCH / ENOENT done on remove", () => {
    expect(answerIsDone("route", "add", "EEXIST")).toBe(true);
    expect(answerIsDone("rule", "add", "EEXIST")).toBe(false);
    expect(answerIsDone("route", "remove", "ESRCH")).toBe(true);
    expect(answerIsDone("rule", "remove", "ENOENT")).toBe(true);
    expect(answerIsDone("route", "add", "ENETUNREACH")).toBe(false);
  });
});

describe("createNetlinkRoutePort over a fake socket", () => {
  /** A route socket that answers each request with the next errno (0: ACK) and records the types. */
  const fake = (answers: number[]) => {
    const sent: number[] = [];
    const errorMessage = (errno: number) => {
      const data = Buffer.alloc(20);
      data.writeInt32LE(-errno, 0);
      return { type: 2, flags: 0, data };
    };
    const socket = {
      on: () => socket,
      close: () => {},
      request: async (type: number, payload: Uint8Array[]) => {
        sent.push(type);
        if (type === 18) {
          // RTM_GETLINK for eth0: an RTM_NEWLINK with index 3 and IFLA_IFNAME
          const name = Buffer.from("eth0\0");
          const attr = Buffer.alloc(4 + 8);
          attr.writeUInt16LE(4 + name.length, 0);
          attr.writeUInt16LE(3, 2);
          name.copy(attr, 4);
          const ifi = Buffer.alloc(16);
          ifi.writeInt32LE(3, 4);
          void payload;
          return [[{ type: 16, flags: 0, data: Buffer.concat([ifi, attr]) }]];
        }
        return [[errorMessage(answers.shift() ?? 0)]];
      },
    };
    return { sent, open: () => ({ socket, addMembership: () => {} }) as never };
  };

  it("adds routes then rules, every entry attempted, and rejects with the first failure", async () => {
    const f = fake([101, 17, 0]); // ENETUNREACH, then the rule's EEXIST, then ACK
    const port = createNetlinkRoutePort({ open: f.open });
    const done = port.add([route(), route({ dev: null, text: "r2" })], [rule()]);
    await expect(done).rejects.toMatchObject({ code: "ENETUNREACH" });
    expect(f.sent).toEqual([18, RTM_NEWROUTE, RTM_NEWROUTE, RTM_NEWRULE]);
  });

  it("removes rules then routes; absent entries are done", async () => {
    const f = fake([2, 3]); // ENOENT for the rule, ESRCH for the route
    const port = createNetlinkRoutePort({ open: f.open });
    await expect(port.remove([route({ dev: null })], [rule()])).resolves.toBeUndefined();
    expect(f.sent).toEqual([RTM_DELRULE, RTM_DELROUTE]);
  });
});

describe("deletions by someone else (parseDeletion, deletedEntry)", () => {
  /** The kernel's RTM_DELROUTE / RTM_DELRULE notification has the layout of the request. */
  const note = (r: { type: number; payload: Uint8Array }, port = 0, type = r.type) => ({
    type: type === RTM_NEWROUTE ? RTM_DELROUTE : type === RTM_NEWRULE ? RTM_DELRULE : type,
    port,
    data: Buffer.from(r.payload),
  });
  const names = new Map([[3, "eth0"]]);

  it("reads a deleted route: table, prefix, destination, metric, interface, protocol, sender", () => {
    const d = parseDeletion(note(routeRequest(route({ metric: 7, table: 1000 }), "add", 3), 42), names);
    expect(d).toEqual({
      kind: "route",
      port: 42,
      family: 4,
      table: 1000,
      dstLength: 24,
      dst: "198.19.5.0",
      tos: 0,
      protocol: 18,
      metric: 7,
      oif: "eth0",
    });
    expect(parseDeletion({ type: RTM_NEWROUTE, port: 0, data: Buffer.alloc(12) }, names)).toBeUndefined();
  });

  it("names the tracked route it removed, by keepalived's key; never a no_track one or another protocol", () => {
    const tracked = route();
    const other = route({ text: "other", dst: "198.19.6.0" });
    const d = parseDeletion(note(routeRequest(tracked, "add", 3)), names);
    if (d === undefined) throw new Error("not parsed");
    expect(deletedEntry(d, [other, tracked], [])).toBe(tracked.text);
    expect(deletedEntry(d, [route({ noTrack: true })], [])).toBeUndefined();
    expect(deletedEntry(d, [route({ metric: 5 })], [])).toBeUndefined();
    expect(deletedEntry(d, [route({ dev: "eth1" })], [])).toBeUndefined();
    expect(deletedEntry({ ...d, protocol: 4 }, [tracked], [])).toBeUndefined();
    // an IPv6 route without a metric is the kernel's 1024
    const v6 = route({ family: 6, dst: "2001:db8:5::", dstLength: 64, via: null });
    const d6 = parseDeletion(note(routeRequest(v6, "add", 3)), names);
    if (d6 === undefined) throw new Error("not parsed");
    expect(deletedEntry({ ...d6, metric: 1024 } as typeof d6, [v6], [])).toBe(v6.text);
  });

  it("a static route matches by table, family, prefix, TOS and destination only (route_is_ours)", () => {
    const d = parseDeletion(note(routeRequest(route(), "add", 3)), names);
    if (d === undefined) throw new Error("not parsed");
    for (const other of [{ metric: 5 }, { dev: "eth1" }])
      expect(deletedEntry(d, [route(other)], [], true)).toBe(route().text);
    expect(deletedEntry(d, [route({ table: 101 })], [], true)).toBeUndefined();
    expect(deletedEntry(d, [route({ dst: "198.19.6.0" })], [], true)).toBeUndefined();
    expect(deletedEntry(d, [route({ noTrack: true })], [], true)).toBeUndefined();
  });

  it("names the tracked rule by every field it was installed with", () => {
    const r = rule({ fwmark: 16, iif: "eth0" });
    const d = parseDeletion(note(ruleRequest(r, "add"), 9), names);
    expect(d).toMatchObject({ kind: "rule", port: 9, priority: 1000, table: 100, fwmark: 16, iif: "eth0" });
    if (d === undefined) throw new Error("not parsed");
    // the kernel reports the mask it applied
    expect(deletedEntry({ ...d, fwmask: 0xffffffff } as typeof d, [], [r])).toBe(r.text);
    expect(deletedEntry(d, [], [rule({ fwmark: 16, iif: "eth0", priority: 1001 })])).toBeUndefined();
    expect(deletedEntry(d, [], [rule({ fwmark: 16, iif: "eth0", noTrack: true })])).toBeUndefined();
    expect(deletedEntry({ ...d, protocol: 3 } as typeof d, [], [r])).toBeUndefined();
  });
});
