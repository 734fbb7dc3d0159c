/**
 * Config ↔ runtime parity on a real host: one Vigil live node in lab namespace h1 (two links to h2:
 * the lab's eth0 and a veth pair eth1 made here), with tcpdump and a raw advertiser in h2. Seen on
 * the wire: `mcast_dst_ip 224.0.0.19` is where the adverts go; `unicast_ttl 10` is the TTL they carry;
 * `vigil_transport udp` sends UDP datagrams to port 5112. Received: `check_unicast_src` with
 * `min_ttl 200` ignores a non-peer at TTL 64 (the instance stays MASTER); an advert for VRID 61 at
 * priority 250 arriving on eth1, where no instance has VRID 61, is not delivered to eth0's VRID 61
 * instance (it stays MASTER). Addresses: 198.18.0.0/15 only.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess } from "../support/lab.ts";
import type { AdvertiserInstance } from "./support/raw-advertiser.ts";
import { startScript } from "./support/vigil.ts";

const suite =
  "netns: config keywords acted on by a live node (mcast_dst_ip, unicast_ttl, peers, routing, udp)";

describe.skipIf(skipUnlessLab(suite, { netns: true, tcpdump: true }))(suite, () => {
  let lab: Lab;
  let vigil: LabProcess;
  let wire: LabProcess;
  let udp: LabProcess;
  let sender: LabProcess | undefined;
  let h1Ip = "";
  let h2Ip = "";
  let net = "";

  const lines = (p: LabProcess): string[] => p.stdout.split("\n").filter((l) => l !== "");
  /** How often `name` entered `state` after it first became MASTER. */
  const enteredAfterMaster = (name: string, state: string): number => {
    const all = lines(vigil);
    const first = all.findIndex((l) => l.includes(`(${name}) Entering MASTER STATE`));
    return all.slice(first + 1).filter((l) => l.includes(`(${name}) Entering ${state} STATE`)).length;
  };

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}pa`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    net = `198.18.${lab.subnet}`;
    h1Ip = h1.ipv4;
    h2Ip = h2.ipv4;
    // a second link between h1 and h2 (removed with the namespaces)
    const net2 = `198.19.${lab.subnet}`;
    await lab.secondInterface(h1, "eth1", { peerNs: h2.ns, address: `${net2}.1/24` });
    await lab.nsRun(h2.ns, "ip", ["addr", "add", `${net2}.2/24`, "dev", "eth1"]);
    const dir = lab.tempDir();
    const conf = [
      "vrrp_instance VI_M {",
      "  interface eth0",
      "  virtual_router_id 61",
      "  priority 100",
      "  advert_int 1",
      "  mcast_dst_ip 224.0.0.19",
      `  virtual_ipaddress { ${net}.161/24 }`,
      "}",
      "vrrp_instance VI_T {",
      "  interface eth0",
      "  virtual_router_id 62",
      "  priority 100",
      "  advert_int 1",
      `  unicast_src_ip ${h1Ip}`,
      "  unicast_ttl 10",
      `  unicast_peer { ${h2Ip} }`,
      `  virtual_ipaddress { ${net}.162/24 }`,
      "}",
      "vrrp_instance VI_N {",
      "  interface eth0",
      "  virtual_router_id 63",
      "  priority 100",
      "  advert_int 1",
      `  unicast_src_ip ${h1Ip}`,
      "  check_unicast_src",
      `  unicast_peer { ${net}.250 min_ttl 200 }`,
      `  virtual_ipaddress { ${net}.163/24 }`,
      "}",
      "vrrp_instance VI_E {",
      "  interface eth1",
      "  virtual_router_id 64",
      "  priority 100",
      "  advert_int 1",
      `  virtual_ipaddress { ${net2}.164/24 }`,
      "}",
      "vrrp_instance VI_UDP {",
      "  interface eth0",
      "  virtual_router_id 65",
      "  priority 100",
      "  advert_int 1",
      "  vigil_transport udp",
      `  virtual_ipaddress { ${net}.165/24 }`,
      "}",
      "",
    ].join("\n");
    writeFileSync(join(dir, "keepalived.conf"), conf);
    wire = await lab.tcpdump(h2, ["-tt", "-v"]);
    udp = await lab.tcpdump(h2, ["-tt"], "udp port 5112");
    vigil = startScript(lab, h1.ns, "live-node.ts", [
      join(dir, "keepalived.conf"),
      join(dir, "journal.jsonl"),
    ]);
    await vigil.waitForOutput(/^ready$/m, 20_000);
    for (const name of ["VI_M", "VI_T", "VI_N", "VI_E", "VI_UDP"])
      await vigil.waitForOutput(new RegExp(`\\(${name}\\) Entering MASTER STATE`), 10_000);
    // h2: VRID 61 at priority 250 on eth1 (misrouted), VRID 63 unicast to h1 at TTL 64 from a non-peer
    const ads: AdvertiserInstance[] = [
      {
        vrid: 61,
        ifname: "eth1",
        family: 4,
        mode: "multicast",
        version: 2,
        priority: 250,
        advertIntervalCs: 100,
        addresses: [`${net}.161`],
        dst: "224.0.0.18",
      },
      {
        vrid: 63,
        ifname: "eth0",
        family: 4,
        mode: "unicast",
        version: 2,
        priority: 250,
        advertIntervalCs: 100,
        addresses: [`${net}.163`],
        dst: h1Ip,
        ttl: 64,
      },
    ];
    sender = startScript(lab, h2.ns, "raw-advertiser.ts", [JSON.stringify(ads)]);
    await sender.waitForOutput(/advertising/, 15_000);
    await new Promise((r) => setTimeout(r, 5000));
  }, 90_000);

  afterAll(async () => {
    await sender?.stop("SIGTERM", 3_000);
    await vigil?.stop("SIGTERM", 10_000);
    dumpForInspection("parity-vigil.log", vigil?.stdout ?? "");
    dumpForInspection("parity-wire.log", wire?.stdout ?? "");
    await lab?.destroy();
  }, 60_000);

  it("mcast_dst_ip 224.0.0.19: VI_M's adverts go to 224.0.0.19, none to 224.0.0.18", () => {
    const ours = lines(wire).filter((l) => l.includes(`${h1Ip} > `) && l.includes("vrid 61"));
    expect(ours.length).toBeGreaterThanOrEqual(3);
    expect(ours.every((l) => l.includes(`${h1Ip} > 224.0.0.19`))).toBe(true);
  });

  it("unicast_ttl 10: VI_T's unicast adverts to the peer carry TTL 10", () => {
    // tcpdump -v prints the IP header line (ttl) and then the VRRP line (vrid) of each packet
    const all = lines(wire);
    const ttls: number[] = [];
    for (let k = 0; k + 1 < all.length; k++)
      if (
        /ttl \d+/.test(all[k] ?? "") &&
        (all[k + 1] ?? "").includes(`${h1Ip} > ${h2Ip}`) &&
        (all[k + 1] ?? "").includes("vrid 62")
      )
        ttls.push(Number(/ttl (\d+)/.exec(all[k] ?? "")?.[1]));
    expect(ttls.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ttls)).toEqual(new Set([10]));
  });

  it("check_unicast_src + min_ttl 200: a non-peer at TTL 64 and priority 250 is ignored (VI_N stays MASTER)", () => {
    expect(lines(wire).some((l) => l.includes(`${h2Ip} > ${h1Ip}`) && l.includes("vrid 63"))).toBe(true);
    expect(enteredAfterMaster("VI_N", "BACKUP")).toBe(0);
    expect(lines(vigil).filter((l) => l.includes("(VI_N) Entering MASTER STATE")).length).toBe(1);
  });

  it("a VRID 61 advert on eth1, where no instance has VRID 61, does not reach eth0's VI_M", () => {
    expect(lines(wire).some((l) => l.includes("vrid 61") && !l.includes(`${h1Ip} >`))).toBe(false);
    expect(enteredAfterMaster("VI_M", "BACKUP")).toBe(0);
    expect(enteredAfterMaster("VI_E", "BACKUP")).toBe(0);
  });

  it("vigil_transport udp: VI_UDP's adverts leave as UDP datagrams to port 5112", () => {
    const got = lines(udp).filter((l) => l.includes(`${h1Ip}.`) && l.includes(".5112"));
    expect(got.length).toBeGreaterThanOrEqual(3);
  });
});
