/**
 * Vigil → real keepalived 2.2.7: adverts encoded by Vigil's codec and sent through the raw
 * transport (v2 PASS, v3 IPv4, v3 unicast, v3 IPv6) make a keepalived MASTER at priority 100 yield
 * to priority 200 — its log shows it acting on the advert — and tcpdump -v decodes them with the
 * IP header keepalived itself would send (TOS 0xc0, TTL 255, IP id 1, 2, … per instance, DF
 * clear) without complaint. When Vigil stops, keepalived takes over again and its adverts reach
 * Vigil's raw receive path with TTL 255 and the right destination.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SniffRecord } from "../../src/cli/sniff.ts";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess, waitFor } from "../support/lab.ts";
import type { AdvertiserInstance } from "./support/raw-advertiser.ts";
import { sniffRecords, startScript, startSniff } from "./support/vigil.ts";

const suite = "netns: keepalived accepts adverts sent by Vigil's raw transport";

interface RxLine {
  readonly rx: number;
  readonly src: string;
  readonly dst: string;
  readonly ttl: number;
  readonly length: number;
}

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true, tcpdump: true }))(suite, () => {
  let lab: Lab;
  let kaLog = "";
  let tcpdumpText = "";
  let rx: RxLine[] = [];
  let ll2 = "";
  let sniffed: SniffRecord[] = [];

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}ka`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    ll2 = await lab.linkLocal(h2);
    const net = `198.18.${lab.subnet}`;
    const instance = (name: string, vrid: number, body: string): string =>
      `vrrp_instance ${name} {\n state BACKUP\n interface eth0\n virtual_router_id ${vrid}\n priority 100\n${body}\n}\n`;
    const ka = lab.keepalived(
      h1,
      [
        instance(
          "KA2",
          31,
          ` version 2\n advert_int 1\n authentication {\n  auth_type PASS\n  auth_pass vigilpw\n }\n virtual_ipaddress {\n  ${net}.131/24\n }`,
        ),
        instance("KA3", 32, ` version 3\n advert_int 0.1\n virtual_ipaddress {\n  ${net}.132/24\n }`),
        instance(
          "KA3U",
          33,
          ` version 3\n advert_int 0.1\n unicast_src_ip ${h1.ipv4}\n unicast_peer {\n  ${h2.ipv4}\n }\n virtual_ipaddress {\n  ${net}.133/24\n }`,
        ),
        instance("KA6", 34, ` version 3\n advert_int 0.1\n virtual_ipaddress {\n  2001:2::134/64\n }`),
      ].join(""),
    );
    let sender: LabProcess | undefined;
    let sniff: LabProcess | undefined;
    const tcpdump = await lab.tcpdump(h1, ["-v"]);
    try {
      for (const name of ["KA2", "KA3", "KA3U", "KA6"])
        await ka.proc.waitForOutput(new RegExp(`\\(${name}\\) Entering MASTER STATE`), 8_000);
      const common = { ifname: "eth0", priority: 200 } as const;
      const instances: AdvertiserInstance[] = [
        {
          ...common,
          vrid: 31,
          family: 4,
          mode: "multicast",
          version: 2,
          advertIntervalCs: 100,
          addresses: [`${net}.131`],
          dst: "224.0.0.18",
          authPass: "vigilpw",
          sendCount: 2,
        },
        {
          ...common,
          vrid: 32,
          family: 4,
          mode: "multicast",
          version: 3,
          advertIntervalCs: 10,
          addresses: [`${net}.132`],
          dst: "224.0.0.18",
          sendCount: 10,
        },
        {
          ...common,
          vrid: 33,
          family: 4,
          mode: "unicast",
          version: 3,
          advertIntervalCs: 10,
          addresses: [`${net}.133`],
          dst: h1.ipv4,
          sendCount: 10,
        },
        {
          ...common,
          vrid: 34,
          family: 6,
          mode: "multicast",
          version: 3,
          advertIntervalCs: 10,
          addresses: ["2001:2::134"],
          dst: "ff02::12",
          sendCount: 10,
        },
        // Not configured in keepalived (unknown VRIDs are ignored): bad on purpose, for vigil sniff.
        {
          ...common,
          vrid: 35,
          family: 4,
          mode: "multicast",
          version: 3,
          advertIntervalCs: 10,
          addresses: [`${net}.135`],
          dst: "224.0.0.18",
          sendCount: 3,
          ttl: 64,
        },
        {
          ...common,
          vrid: 36,
          family: 4,
          mode: "multicast",
          version: 3,
          advertIntervalCs: 10,
          addresses: [`${net}.136`],
          dst: "224.0.0.18",
          sendCount: 3,
          corruptChecksum: true,
        },
      ];
      sniff = await startSniff(lab, lab.bridgeNs, ["-i", "h2"]);
      sender = startScript(lab, h2.ns, "raw-advertiser.ts", [JSON.stringify(instances)]);
      await sender.waitForOutput(/advertising/, 15_000);
      for (const name of ["KA2", "KA3", "KA3U", "KA6"])
        await ka.proc.waitForOutput(new RegExp(`\\(${name}\\) Entering BACKUP STATE`), 8_000);
      // Vigil stops sending; keepalived takes over again and Vigil receives its adverts.
      await waitFor(
        "keepalived adverts received by the raw transport for every VRID",
        () => {
          rx = (sender?.stdout ?? "")
            .split("\n")
            .filter((l) => l.startsWith('{"rx"'))
            .map((l) => JSON.parse(l) as RxLine);
          return [31, 32, 33, 34].every((v) => rx.some((r) => r.rx === v)) ? true : undefined;
        },
        10_000,
      );
      await sniff.stop("SIGINT");
      sniffed = sniffRecords(sniff);
      kaLog = ka.proc.output;
      tcpdumpText = tcpdump.stdout;
      dumpForInspection("accepts-keepalived.log", kaLog);
      dumpForInspection("accepts-tcpdump.txt", tcpdumpText);
      dumpForInspection("accepts-vigil.txt", sender.output);
    } finally {
      await sender?.stop();
      await sniff?.stop();
      await ka.proc.stop();
      await tcpdump.stop();
    }
  }, 50_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it("keepalived yields to Vigil's v2 PASS advert at priority 200", () => {
    const src = lab.host(2).ipv4;
    expect(kaLog).toContain(`(KA2) Master received advert from ${src} with higher priority 200, ours 100`);
    expect(kaLog).toMatch(/\(KA2\) Entering BACKUP STATE/);
  });

  it("keepalived yields to Vigil's v3 IPv4 multicast and unicast adverts", () => {
    const src = lab.host(2).ipv4;
    expect(kaLog).toContain(`(KA3) Master received advert from ${src} with higher priority 200, ours 100`);
    expect(kaLog).toContain(`(KA3U) Master received advert from ${src} with higher priority 200, ours 100`);
  });

  it("keepalived yields to Vigil's v3 IPv6 advert", () => {
    expect(kaLog).toContain(`(KA6) Master received advert from ${ll2} with higher priority 200, ours 100`);
  });

  it("keepalived logs no receive error about Vigil's packets", () => {
    expect(kaLog).not.toMatch(/checksum|bad|invalid|mismatch|not present|TTL|authentication/i);
  });

  it("tcpdump -v decodes Vigil's packets with keepalived's IP header and no complaint", () => {
    const h2 = lab.host(2).ipv4;
    const net = `198.18.${lab.subnet}`;
    // tcpdump verifies VRRP checksums (v3 with the pseudo-header): it flags the corrupted VRID 36 …
    const lines = tcpdumpText.split("\n");
    const bad = lines.filter((l) => /vrid 36/.test(l));
    expect(bad.length).toBeGreaterThan(0);
    for (const l of bad) expect(l).toMatch(/bad vrrp cksum/);
    // … and nothing else.
    const rest = lines.filter((l) => !/vrid 36/.test(l)).join("\n");
    expect(rest).not.toMatch(/bad|wrong|malformed|truncated|\[\|vrrp\]/i);
    expect(tcpdumpText).toContain(
      `IP (tos 0xc0, ttl 255, id 1, offset 0, flags [none], proto VRRP (112), length 40)\n    ${h2} > 224.0.0.18: VRRPv2, Advertisement, vrid 31, prio 200, authtype simple, intvl 1s, length 20, addrs: ${net}.131 auth "vigilpw"`,
    );
    expect(tcpdumpText).toContain(
      `IP (tos 0xc0, ttl 255, id 2, offset 0, flags [none], proto VRRP (112), length 40)\n    ${h2} > 224.0.0.18: VRRPv2, Advertisement, vrid 31, prio 200`,
    );
    expect(tcpdumpText).toContain(
      `IP (tos 0xc0, ttl 255, id 1, offset 0, flags [none], proto VRRP (112), length 32)\n    ${h2} > 224.0.0.18: VRRPv3, Advertisement, vrid 32, prio 200, intvl 10cs, length 12, addrs: ${net}.132`,
    );
    expect(tcpdumpText).toContain(
      `${h2} > ${lab.host(1).ipv4}: VRRPv3, Advertisement, vrid 33, prio 200, intvl 10cs, length 12, addrs: ${net}.133`,
    );
    expect(tcpdumpText).toMatch(
      new RegExp(
        `IP6 \\(class 0xc0, flowlabel 0x[0-9a-f]+, hlim 255, next-header VRRP \\(112\\) payload length: 24\\) ${ll2} > ff02::12: VRRPv3, Advertisement, vrid 34, prio 200, intvl 10cs, length 24, addrs: 2001:2::134`,
      ),
    );
  });

  it("vigil sniff on the sender's bridge port finds Vigil's good adverts valid and flags the bad ones", () => {
    const of = (vrid: number): SniffRecord[] =>
      sniffed.filter((r) => r.vrid === vrid && r.src !== lab.host(1).ipv4);
    for (const vrid of [31, 32, 33]) {
      expect(of(vrid).length).toBeGreaterThan(0);
      for (const r of of(vrid))
        expect(r).toMatchObject({ src: lab.host(2).ipv4, priority: 200, checksumOk: true, valid: true });
    }
    expect(of(34).filter((r) => r.src === ll2 && r.valid && r.checksumOk).length).toBeGreaterThan(0);
    expect(of(35).length).toBe(3);
    for (const r of of(35))
      expect(r).toMatchObject({ ttl: 64, checksumOk: true, valid: false, reason: { kind: "ttl", ttl: 64 } });
    expect(of(36).length).toBe(3);
    for (const r of of(36))
      expect(r).toMatchObject({ ttl: 255, checksumOk: false, valid: false, reason: { kind: "checksum" } });
  });

  it("Vigil's raw receive path sees keepalived's adverts with TTL 255 and their destination", async () => {
    const h1 = lab.host(1);
    const ll1 = await lab.linkLocal(h1).catch(() => "");
    const expectDst: Record<number, string> = {
      31: "224.0.0.18",
      32: "224.0.0.18",
      33: lab.host(2).ipv4,
      34: "ff02::12",
    };
    for (const r of rx) {
      expect(r.ttl).toBe(255);
      expect(r.dst).toBe(expectDst[r.rx]);
      expect(r.src).toBe(r.rx === 34 ? ll1 : h1.ipv4);
      expect(r.length).toBe(r.rx === 31 ? 20 : r.rx === 34 ? 24 : 12);
    }
  });
});
