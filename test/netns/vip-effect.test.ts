/**
 * The VIP effect on a real kernel, in a lab namespace: real keepalived 2.2.7 adds a set of VIP lines
 * covering every option (IPv4 and IPv6), `ip -d addr` is recorded, keepalived is stopped; then the
 * netlink VIP port adds the same lines and `ip -d addr` must be identical. Then: adding again is a
 * no-op, removing twice is not an error, a missing or vanished interface is an ENODEV EffectError
 * (never a throw), the address watcher sees an `ip addr del` made by someone else, and neither the
 * port nor the watcher leaks a descriptor. The sockets are opened inside the lab namespace by
 * switching this thread's namespace around their creation (setns), so the port runs in-process.
 */
import { execFileSync } from "node:child_process";
import { closeSync, openSync, readdirSync } from "node:fs";
import koffi from "koffi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AddressEvent, openRtnl, watchAddresses } from "../../src/effects/rtnetlink.ts";
import { createNetlinkVipPort } from "../../src/effects/vip.effect.ts";
import { EffectError, type VipAddress } from "../../src/runtime/ports.ts";
import { defaultVipAddress } from "../../src/runtime/spec.ts";
import { skipUnlessLab } from "../support/env.ts";
import { Lab, type LabHost, waitFor } from "../support/lab.ts";

const suite = "netns: VIPs over rtnetlink, as keepalived sets them";
const CLONE_NEWNET = 0x40000000;

/** Runs `fn` with this thread in network namespace `ns`, then switches back. */
function inNetns<T>(ns: string, fn: () => T): T {
  const setns = koffi.load("libc.so.6").func("int setns(int, int)") as (fd: number, type: number) => number;
  const self = openSync("/proc/thread-self/ns/net", "r");
  const target = openSync(`/run/netns/${ns}`, "r");
  try {
    if (setns(target, CLONE_NEWNET) !== 0) throw new Error(`setns into ${ns} failed`);
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (setns(self, CLONE_NEWNET) !== 0) throw new Error("setns back failed");
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  } finally {
    closeSync(self);
    closeSync(target);
  }
}

const fdCount = (): number => readdirSync("/proc/self/fd").length;

/** A VIP on eth0 with keepalived's default options, then `o`. */
const v = (address: string, prefixLength: number, o: Partial<VipAddress> = {}): VipAddress => ({
  ...defaultVipAddress(`${address}/${prefixLength}`, "eth0"),
  ...o,
});

/** `ip -d addr show` with finite lifetimes that count down made comparable. */
/**
 * Remaining lifetimes, and `tentative` (an IPv6 address without nodad is in duplicate address
 * detection for about a second: whether a capture still sees it is timing, not what was set).
 */
const normalise = (s: string): string =>
  s.replace(/_lft [1-9]\d*sec/g, "_lft Nsec").replace(/ tentative\b/g, "");

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true }))(suite, () => {
  let lab: Lab;
  let h: LabHost;
  let net = "";
  let s = 0;
  const open = () => inNetns(h.ns, openRtnl);
  const ipAddr = (args: readonly string[] = []) =>
    lab.nsRun(h.ns, "ip", ["-d", "addr", "show", "dev", "eth0", ...args]);

  /** [keepalived line, the same VIP for the port] for every option. */
  const lines = (): [string, VipAddress][] => [
    [`${net}.10/24 brd + label eth0:one`, v(`${net}.10`, 24, { broadcast: "+", label: "eth0:one" })],
    [`${net}.11/24 brd -`, v(`${net}.11`, 24, { broadcast: "-" })],
    // (a secondary must share its primary's scope, so the scoped ones get subnets of their own)
    [
      `198.19.${s}.33/27 brd 198.19.${s}.60 scope link`,
      v(`198.19.${s}.33`, 27, { broadcast: `198.19.${s}.60`, scope: "link" }),
    ],
    [
      `${net}.13 dev eth0 scope host home noprefixroute`,
      v(`${net}.13`, 32, { scope: "host", home: true, noPrefixRoute: true }),
    ],
    [`${net}.14 peer ${net}.99`, v(`${net}.14`, 32, { peer: `${net}.99` })],
    [
      `198.19.${s}.1/28 brd + mngtmpaddr no_track`,
      v(`198.19.${s}.1`, 28, { broadcast: "+", mngTmpAddr: true, noTrack: true }),
    ],
    [`${net}.16/31 brd +`, v(`${net}.16`, 31, { broadcast: "+" })],
    [`2001:db8:${s}::10/64`, v(`2001:db8:${s}::10`, 64)],
    [`2001:db8:${s}::11`, v(`2001:db8:${s}::11`, 128)],
    [`2001:db8:${s}::12/64 preferred_lft 0`, v(`2001:db8:${s}::12`, 64, { preferredLft: 0 })],
    [
      `2001:db8:${s}::13/64 -nodad mngtmpaddr noprefixroute`,
      v(`2001:db8:${s}::13`, 64, { noDad: true, mngTmpAddr: true, noPrefixRoute: true }),
    ],
    [
      `2001:db8:${s}::14 preferred_lft forever home`,
      v(`2001:db8:${s}::14`, 128, { preferredLft: "forever", home: true }),
    ],
    [`2001:db8:${s}::15/64 preferred_lft 3600`, v(`2001:db8:${s}::15`, 64, { preferredLft: 3600 })],
    [`2001:db8:${s}::16 peer 2001:db8:${s}::99`, v(`2001:db8:${s}::16`, 128, { peer: `2001:db8:${s}::99` })],
  ];

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}vp`, hosts: 1 });
    h = lab.host(1);
    s = lab.subnet;
    net = `198.18.${s}`;
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it("adds every VIP option exactly as keepalived does, idempotently, and removes them twice", async () => {
    const all = lines();
    const before = await ipAddr();
    const ipv4 = all.filter(([, v]) => v.family === 4).map(([l]) => l);
    const ipv6 = all.filter(([, v]) => v.family === 6).map(([l]) => l);
    const config = `vrrp_instance VI {\n state MASTER\n interface eth0\n virtual_router_id 51\n priority 255\n advert_int 1\n virtual_ipaddress {\n  ${ipv4.join("\n  ")}\n }\n virtual_ipaddress_excluded {\n  ${ipv6.join("\n  ")}\n }\n}\n`;
    const ka = lab.keepalived(h, config);
    const wanted = all.map(([, v]) =>
      v.peer === null
        ? `${v.address}/${v.prefixLength}`
        : `${v.address} peer ${v.peer}/${v.family === 4 ? 32 : 128}`,
    );
    let seen = "";
    const byKeepalived = await waitFor(
      () => `keepalived's VIPs (${seen}\n${ka.proc.output.slice(-1500)})`,
      async () => {
        const out = await ipAddr();
        seen = out;
        return wanted.every((w) => out.includes(` ${w} `)) ? out : undefined;
      },
      20_000,
    );
    await ka.proc.stop("SIGTERM", 10_000);
    // keepalived 2.2.7 removes every VIP but the IPv4 one with a peer (its RTM_DELADDR carries the
    // address itself as IFA_ADDRESS, which the kernel compares with the peer); the port removes it.
    const peerVip = all.find(([, v]) => v.family === 4 && v.peer !== null)?.[1] as VipAddress;
    const peerLine = `inet ${peerVip.address} peer ${peerVip.peer}/32 `;
    let leftOver = "";
    await waitFor(
      () => `keepalived's removal to settle (${leftOver})`,
      async () => {
        leftOver = await ipAddr();
        const others = leftOver.replace(new RegExp(`\\n *${peerLine}[^\\n]*\\n[^\\n]*`), "");
        return normalise(others) === normalise(before) ? true : undefined;
      },
    );
    expect(leftOver).toContain(peerLine);
    const port = createNetlinkVipPort({ open });
    await port.remove([peerVip]);
    expect(normalise(await ipAddr())).toBe(normalise(before));

    const vips = all.map(([, v]) => v);
    await port.add(vips);
    const byPort = await ipAddr();
    expect(normalise(byPort)).toBe(normalise(byKeepalived));
    await port.add(vips); // EEXIST is not an error
    expect(normalise(await ipAddr())).toBe(normalise(byKeepalived));

    await port.remove(vips);
    expect(normalise(await ipAddr())).toBe(normalise(before));
    await port.remove(vips); // EADDRNOTAVAIL is not an error
    expect(normalise(await ipAddr())).toBe(normalise(before));
  });

  it("reports a missing or vanished interface as an ENODEV EffectError and still does the rest", async () => {
    const port = createNetlinkVipPort({ open });
    const ok = v(`${net}.40`, 32);
    const missing = v(`${net}.41`, 32, { dev: "nosuch0" });
    const err = await port.add([missing, ok]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EffectError);
    expect((err as EffectError).code).toBe("ENODEV");
    expect((err as EffectError).message).toContain("nosuch0");
    expect(await ipAddr()).toContain(` ${net}.40/32 `);
    await port.remove([missing, ok]); // absent interface: nothing to remove

    await lab.nsRun(h.ns, "ip", ["link", "add", "vx0", "type", "veth", "peer", "name", "vx1"]);
    await lab.nsRun(h.ns, "ip", ["link", "set", "vx0", "up"]);
    const onVx = v(`${net}.42`, 32, { dev: "vx0" });
    await port.add([onVx]);
    await lab.nsRun(h.ns, "ip", ["link", "del", "vx0"]);
    await expect(port.add([onVx])).rejects.toMatchObject({ code: "ENODEV" });
    await expect(port.remove([onVx])).resolves.toBeUndefined();
    // The same name again, under a new index: the port's cached index is not used for it.
    await lab.nsRun(h.ns, "ip", ["link", "add", "vx0", "type", "veth", "peer", "name", "vx1"]);
    await port.add([onVx]);
    expect(await lab.nsRun(h.ns, "ip", ["-o", "addr", "show", "dev", "vx0"])).toContain(` ${net}.42/32 `);
    await lab.nsRun(h.ns, "ip", ["link", "del", "vx0"]);
    const weird = v(`${net}.43`, 32, { dev: "a/b:c with space and far too long" });
    await expect(port.add([weird])).rejects.toMatchObject({ code: "ENODEV" });
  });

  it("rejects what the kernel refuses with its errno name (autojoin on a unicast address) without stopping", async () => {
    const port = createNetlinkVipPort({ open });
    const refused = v(`${net}.50`, 32, { autoJoin: true });
    const fine = v(`2001:db8:${s}::50`, 128);
    const err = await port.add([refused, fine]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EffectError);
    expect((err as EffectError).code).toBe("EINVAL");
    const out = await ipAddr();
    expect(out).not.toContain(` ${net}.50/32 `);
    expect(out).toContain(` 2001:db8:${s}::50/128 `);
    await port.remove([refused, fine]);
  });

  it("watches addresses removed by someone else, and leaks no descriptor", async () => {
    const port = createNetlinkVipPort({ open });
    const vip = v(`${net}.60`, 24, { label: "eth0:w" });
    // warm up (koffi, lazy module state) before counting descriptors
    await port.remove([vip]);
    const fdsBefore = fdCount();
    const events: AddressEvent[] = [];
    const watch = watchAddresses({ open });
    const sub = watch.subscribe({ next: (e) => events.push(e) });
    await port.add([vip]);
    await waitFor("the add event", () => events.find((e) => e.address === vip.address && e.present));
    await lab.nsRun(h.ns, "ip", ["addr", "del", `${net}.60/24`, "dev", "eth0"]);
    const gone = await waitFor("the delete event", () =>
      events.find((e) => e.address === vip.address && !e.present),
    );
    expect(gone).toEqual({
      ifname: "eth0",
      ifindex: expect.any(Number),
      address: `${net}.60`,
      prefixLength: 24,
      family: 4,
      present: false,
    });
    await lab.nsRun(h.ns, "ip", ["addr", "add", `2001:db8:${s}::60/128`, "dev", "eth0"]);
    await lab.nsRun(h.ns, "ip", ["addr", "del", `2001:db8:${s}::60/128`, "dev", "eth0"]);
    await waitFor("the IPv6 delete event", () =>
      events.find((e) => e.address === `2001:db8:${s}::60` && e.family === 6 && !e.present),
    );
    // readPending: a deletion made while the event loop is blocked is delivered by the call itself
    // (the daemon's read before a down timer fires), before the package's own reader could run.
    await port.add([vip]);
    await waitFor(
      "the add event again",
      () => events.filter((e) => e.address === vip.address).length >= 3 || undefined,
    );
    execFileSync("ip", ["netns", "exec", h.ns, "ip", "addr", "del", `${net}.60/24`, "dev", "eth0"]);
    const before = events.length;
    watch.readPending();
    expect(events.slice(before)).toEqual([expect.objectContaining({ address: `${net}.60`, present: false })]);
    watch.readPending(); // nothing more waiting: nothing delivered
    expect(events.length).toBe(before + 1);
    sub.unsubscribe();
    watch.readPending(); // unsubscribed: a no-op
    for (let i = 0; i < 20; i++) await port.add([]).then(() => port.remove([vip]));
    await waitFor(`fd count back to ${fdsBefore}`, () => (fdCount() === fdsBefore ? true : undefined), 3_000);
  });
});
