/**
 * The real ARP port on a real host: from h1 it sends a burst of repeat 3 for two IPv4 VIPs, one NA
 * burst for an IPv6 VIP, a paced burst (intervalUs 100000) and a burst on a missing interface;
 * tcpdump -e -xx in h2 sees exactly the expected frames with every field checked by hand, the paced
 * ones at least ~100 ms apart, ENODEV for the missing interface, no descriptor left after close().
 * Then real keepalived 2.2.7 on h1 announces the same VIPs and its frames must be byte-identical.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess, waitFor } from "../support/lab.ts";
import { fromHex, onesComplement, startScript } from "./support/vigil.ts";

const suite = "netns: gratuitous ARP and unsolicited NA from the ARP port";

interface Frame {
  readonly atUs: number;
  readonly bytes: Uint8Array;
}

/** Frames from `tcpdump -e -xx -tt` output (a time-stamped line, then hex dump lines). */
function parseFrames(text: string): Frame[] {
  const frames: { atUs: number; hex: string }[] = [];
  for (const line of text.split("\n")) {
    const head = line.match(/^(\d+)\.(\d{6}) /);
    if (head !== null) frames.push({ atUs: Number(head[1]) * 1e6 + Number(head[2]), hex: "" });
    const dump = line.match(/^\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4}\s?)+)/);
    const last = frames[frames.length - 1];
    if (dump !== null && last !== undefined) last.hex += (dump[1] ?? "").replace(/\s+/g, "");
  }
  return frames.map((f) => ({ atUs: f.atUs, bytes: fromHex(f.hex) }));
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const ipv4Hex = (a: string): string => hexOf(Uint8Array.from(a.split(".").map(Number)));
const VIP6 = "2001:2::10";
const VIP6_HEX = "20010002000000000000000000000010";

/** Which VIP a frame announces ("arp:<ip hex>" / "na:<target hex>"), or undefined. */
function announces(f: Frame): string | undefined {
  const type = hexOf(f.bytes.subarray(12, 14));
  if (type === "0806") return `arp:${hexOf(f.bytes.subarray(38, 42))}`;
  if (type === "86dd" && f.bytes[20] === 58 && f.bytes[54] === 136)
    return `na:${hexOf(f.bytes.subarray(62, 78))}`;
  return undefined;
}

describe.skipIf(skipUnlessLab(suite, { netns: true, tcpdump: true, keepalived: true }))(suite, () => {
  let lab: Lab;
  let mac = "";
  let net = "";
  let vigilFrames: Frame[] = [];
  let kaFrames: Frame[] = [];
  let results: Record<string, unknown>[] = [];

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}ga`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    net = `198.18.${lab.subnet}`;
    mac = (await lab.nsRun(h1.ns, "cat", ["/sys/class/net/eth0/address"])).trim().replace(/:/g, "");
    const tcpdump: LabProcess = await lab.tcpdump(
      h2,
      ["-e", "-xx", "-tt"],
      "arp or (icmp6 and ip6[40] == 136)",
    );
    const ours = (): Frame[] =>
      parseFrames(tcpdump.stdout).filter((f) => hexOf(f.bytes.subarray(6, 12)) === mac);
    const plan = [
      { ifname: "eth0", addresses: [`${net}.10`, `${net}.11`], repeat: 3, intervalUs: 0 },
      { ifname: "eth0", addresses: [VIP6], repeat: 1, intervalUs: 0 },
      { ifname: "eth0", addresses: [`${net}.12`], repeat: 3, intervalUs: 100_000 },
      { ifname: "nosuch0", addresses: [`${net}.10`], repeat: 1, intervalUs: 0 },
    ];
    const sender = startScript(lab, h1.ns, "arp-burst.ts", [JSON.stringify(plan)]);
    await sender.waitExit(20_000);
    results = sender.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor("10 frames from h1", () => (ours().length >= 10 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300)); // anything extra would show up here
    vigilFrames = ours();
    const seen = tcpdump.stdout.length;
    const instance = (name: string, vrid: number, vips: string): string =>
      `vrrp_instance ${name} {\n state MASTER\n interface eth0\n virtual_router_id ${vrid}\n priority 255\n` +
      ` advert_int 1\n garp_master_repeat 1\n virtual_ipaddress {\n${vips}\n }\n}\n`;
    const ka = lab.keepalived(
      h1,
      "global_defs {\n vrrp_garp_master_delay 0\n}\n" +
        instance("V4", 51, ` ${net}.10/24\n ${net}.11/24`) +
        instance("V6", 52, ` ${VIP6}/64`),
    );
    const kaOurs = (): Frame[] =>
      parseFrames(tcpdump.stdout.slice(seen)).filter((f) => hexOf(f.bytes.subarray(6, 12)) === mac);
    await waitFor("keepalived's GARPs and NA", () => (kaOurs().length >= 3 ? true : undefined), 20_000);
    kaFrames = kaOurs();
    dumpForInspection("arp-effect.tcpdump.txt", tcpdump.stdout);
    await ka.proc.stop();
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it("reports every burst, ENODEV for the missing interface, and leaks no descriptor", () => {
    expect(results.slice(0, 3).map((r) => r.ok)).toEqual([true, true, true]);
    expect(results[3]).toMatchObject({ step: 3, ok: false, code: "ENODEV" });
    const fds = results[4] ?? {};
    expect(fds.openSockets).toBe(1);
    expect(fds.fdsAfter).toBe(fds.fdsBefore);
  });

  it("sends exactly the expected frames, in order", () => {
    const v4 = [`arp:${ipv4Hex(`${net}.10`)}`, `arp:${ipv4Hex(`${net}.11`)}`];
    expect(vigilFrames.map(announces)).toEqual([
      ...v4,
      ...v4,
      ...v4,
      `na:${VIP6_HEX}`,
      ...Array(3).fill(`arp:${ipv4Hex(`${net}.12`)}`),
    ]);
  });

  it("frames every gratuitous ARP as keepalived: broadcast request who-has VIP tell VIP", () => {
    for (const f of vigilFrames.filter((x) => announces(x)?.startsWith("arp:"))) {
      const b = f.bytes;
      expect(b.length).toBe(42);
      expect(hexOf(b.subarray(0, 6))).toBe("ffffffffffff");
      expect(hexOf(b.subarray(6, 12))).toBe(mac);
      expect(hexOf(b.subarray(12, 22))).toBe("08060001080006040001"); // ARP, Ethernet/IPv4, 6/4, request
      expect(hexOf(b.subarray(22, 28))).toBe(mac); // sender hardware address
      expect(hexOf(b.subarray(28, 32))).toBe(hexOf(b.subarray(38, 42))); // sender = target = VIP
      expect(hexOf(b.subarray(32, 38))).toBe("ffffffffffff"); // target hardware address
    }
  });

  it("frames the NA: ff02::1, hop limit 255, override flag, target and link-layer option, checksum", () => {
    const na = vigilFrames.find((x) => announces(x)?.startsWith("na:"));
    const b = na?.bytes ?? new Uint8Array(0);
    expect(b.length).toBe(86);
    expect(hexOf(b.subarray(0, 6))).toBe("333300000001");
    expect(hexOf(b.subarray(12, 14))).toBe("86dd");
    expect(b[21]).toBe(255);
    expect(hexOf(b.subarray(22, 38))).toBe(VIP6_HEX); // source: the VIP, as keepalived
    expect(hexOf(b.subarray(38, 54))).toBe("ff020000000000000000000000000001");
    expect(b[54]).toBe(136);
    expect(b[58]).toBe(0x20); // override, not router (forwarding is off)
    expect(hexOf(b.subarray(62, 78))).toBe(VIP6_HEX);
    expect(hexOf(b.subarray(78, 86))).toBe(`0201${mac}`);
    const pseudo = Uint8Array.from([...b.subarray(22, 54), 0, 0, 0, 32, 0, 0, 0, 58]);
    expect(onesComplement(Uint8Array.from([...pseudo, ...b.subarray(54)]))).toBe(0);
  });

  it("paces the intervalUs burst at least ~100 ms between packets", () => {
    const paced = vigilFrames.slice(7).map((f) => f.atUs);
    expect(paced.length).toBe(3);
    for (let i = 1; i < paced.length; i++)
      expect((paced[i] ?? 0) - (paced[i - 1] ?? 0)).toBeGreaterThanOrEqual(90_000);
  });

  it("sends byte for byte what keepalived 2.2.7 sends for the same VIPs", () => {
    const byVip = (frames: Frame[]): Map<string, Set<string>> => {
      const m = new Map<string, Set<string>>();
      for (const f of frames) {
        const k = announces(f);
        if (k !== undefined) m.set(k, (m.get(k) ?? new Set()).add(hexOf(f.bytes)));
      }
      return m;
    };
    const ka = byVip(kaFrames);
    const ours = byVip(vigilFrames);
    for (const key of [`arp:${ipv4Hex(`${net}.10`)}`, `arp:${ipv4Hex(`${net}.11`)}`, `na:${VIP6_HEX}`]) {
      expect(ka.get(key)?.size, `keepalived frames for ${key}`).toBe(1);
      expect([...(ours.get(key) ?? [])]).toEqual([...(ka.get(key) ?? [])]);
    }
  });
});
