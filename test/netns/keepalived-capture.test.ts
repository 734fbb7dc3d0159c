/**
 * Real keepalived 2.2.7 → `vigil sniff`: adverts sent by keepalived (v2 with PASS, v2 without auth,
 * v3 IPv4, v3 unicast, v3 IPv6, v3 at advert_int 0.05) are captured on the bridge port of the
 * keepalived host and decoded exactly — every field, the checksum verdict (re-checked here with an
 * independent one's-complement sum over the captured bytes) — and tcpdump, listening on the same
 * port, decodes the same VRIDs without complaint.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SniffRecord } from "../../src/cli/sniff.ts";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess, waitFor } from "../support/lab.ts";
import { fromHex, onesComplement, sniffRecords, startSniff } from "./support/vigil.ts";

const suite = "netns: keepalived adverts decoded by vigil sniff";

/** Address bytes from text, by hand (independent of the codec). */
function addrBytes(text: string): number[] {
  if (text.includes(".")) return text.split(".").map(Number);
  const [head = "", tail = ""] = text.split("::");
  const words = (s: string): number[] => (s === "" ? [] : s.split(":").map((w) => Number.parseInt(w, 16)));
  const h = words(head);
  const t = words(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

/** True when the captured message's checksum is right, computed without the codec. */
function checksumHolds(r: SniffRecord): boolean {
  const msg = fromHex(r.hex ?? "");
  if (r.version === 2) return onesComplement(msg) === 0;
  const len = msg.length;
  const pseudo =
    r.family === 4
      ? [...addrBytes(r.src ?? ""), ...addrBytes(r.dst ?? ""), 0, 112, len >> 8, len & 0xff]
      : [...addrBytes(r.src ?? ""), ...addrBytes(r.dst ?? ""), 0, 0, len >> 8, len & 0xff, 0, 0, 0, 112];
  return onesComplement(Uint8Array.from([...pseudo, ...msg])) === 0;
}

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true, tcpdump: true }))(suite, () => {
  let lab: Lab;
  let records: SniffRecord[] = [];
  let tcpdumpText = "";
  let sniffExit: number | null | undefined;
  let linkLocal1 = "";

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}kc`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    linkLocal1 = await lab.linkLocal(h1);
    const port1 = { ns: lab.bridgeNs, ifname: "h1" };
    const sniff: LabProcess = await startSniff(lab, lab.bridgeNs, ["-i", "h1"]);
    const tcpdump = await lab.tcpdump(port1, ["-v"]);
    const net = `198.18.${lab.subnet}`;
    const instance = (name: string, vrid: number, body: string): string =>
      `vrrp_instance ${name} {\n state MASTER\n interface eth0\n virtual_router_id ${vrid}\n priority 255\n${body}\n}\n`;
    const ka = lab.keepalived(
      h1,
      [
        instance(
          "V2PASS",
          21,
          ` version 2\n advert_int 1\n authentication {\n  auth_type PASS\n  auth_pass secretpw\n }\n virtual_ipaddress { ${net}.121/24 }`,
        ),
        instance(
          "V2NONE",
          22,
          ` version 2\n advert_int 1\n virtual_ipaddress {\n  ${net}.122/24\n  ${net}.222/24\n }`,
        ),
        instance("V3", 23, ` version 3\n advert_int 1\n virtual_ipaddress { ${net}.123/24 }`),
        instance(
          "V3UNI",
          24,
          ` version 3\n advert_int 1\n unicast_src_ip ${h1.ipv4}\n unicast_peer {\n  ${h2.ipv4}\n }\n virtual_ipaddress { ${net}.124/24 }`,
        ),
        instance("V3FAST", 25, ` version 3\n advert_int 0.05\n virtual_ipaddress { ${net}.125/24 }`),
        instance("V36", 26, ` version 3\n advert_int 1\n virtual_ipaddress { 2001:2::126/64 }`),
      ].join(""),
    );
    try {
      await ka.proc.waitForOutput(/\(V36\) Entering MASTER STATE/, 10_000);
      // At least two adverts of every VRID, then stop sniff with SIGINT (it must exit cleanly).
      await waitFor(
        () => `two adverts per VRID; got ${JSON.stringify(sniffRecords(sniff).map((r) => r.vrid))}`,
        () => {
          const got = sniffRecords(sniff);
          return [21, 22, 23, 24, 25, 26].every((v) => got.filter((r) => r.vrid === v).length >= 2)
            ? true
            : undefined;
        },
        10_000,
      );
      await sniff.stop("SIGINT");
      sniffExit = sniff.code;
      records = sniffRecords(sniff);
      await waitFor("tcpdump to print VRID 26", () => (/vrid 26/.test(tcpdump.stdout) ? true : undefined));
      tcpdumpText = tcpdump.stdout;
      dumpForInspection("capture-sniff.jsonl", sniff.stdout);
      dumpForInspection("capture-tcpdump.txt", tcpdumpText);
      dumpForInspection("capture-keepalived.log", ka.proc.output);
    } finally {
      await ka.proc.stop();
      await tcpdump.stop();
    }
  }, 45_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  const byVrid = (vrid: number): SniffRecord[] => records.filter((r) => r.vrid === vrid);

  it("stops cleanly on SIGINT", () => {
    expect(sniffExit).toBe(0);
  });

  it("decodes VRRPv2 with PASS auth exactly", () => {
    const h1 = lab.host(1);
    for (const r of byVrid(21))
      expect(r).toMatchObject({
        direction: "in",
        family: 4,
        src: h1.ipv4,
        dst: "224.0.0.18",
        ttl: 255,
        version: 2,
        type: 1,
        priority: 255,
        advertIntervalCs: 100,
        addresses: [`198.18.${lab.subnet}.121`],
        authType: 1,
        authTypeName: "PASS",
        authPassword: "secretpw",
        checksumOk: true,
        checksumVariant: "v2",
        length: 20,
        valid: true,
      });
    for (const r of byVrid(21)) expect(r.reason).toBeUndefined();
    expect(byVrid(21).every(checksumHolds)).toBe(true);
  });

  it("decodes VRRPv2 without auth (two addresses) exactly", () => {
    for (const r of byVrid(22))
      expect(r).toMatchObject({
        src: lab.host(1).ipv4,
        dst: "224.0.0.18",
        ttl: 255,
        version: 2,
        priority: 255,
        advertIntervalCs: 100,
        addresses: [`198.18.${lab.subnet}.122`, `198.18.${lab.subnet}.222`],
        authType: 0,
        authTypeName: "none",
        checksumOk: true,
        checksumVariant: "v2",
        length: 24,
        valid: true,
      });
    for (const r of byVrid(22)) expect(r.authPassword).toBeUndefined();
    expect(byVrid(22).every(checksumHolds)).toBe(true);
  });

  it("decodes VRRPv3 IPv4 multicast exactly", () => {
    for (const r of byVrid(23))
      expect(r).toMatchObject({
        src: lab.host(1).ipv4,
        dst: "224.0.0.18",
        ttl: 255,
        version: 3,
        priority: 255,
        advertIntervalCs: 100,
        addresses: [`198.18.${lab.subnet}.123`],
        authType: 0,
        checksumOk: true,
        checksumVariant: "v3-actual",
        length: 12,
        valid: true,
      });
    expect(byVrid(23).every(checksumHolds)).toBe(true);
  });

  it("decodes VRRPv3 unicast (checksum over the peer address) exactly", () => {
    for (const r of byVrid(24))
      expect(r).toMatchObject({
        src: lab.host(1).ipv4,
        dst: lab.host(2).ipv4,
        ttl: 255,
        version: 3,
        priority: 255,
        advertIntervalCs: 100,
        addresses: [`198.18.${lab.subnet}.124`],
        checksumOk: true,
        checksumVariant: "v3-actual",
        valid: true,
      });
    expect(byVrid(24).every(checksumHolds)).toBe(true);
  });

  it("decodes VRRPv3 at advert_int 0.05 (5 centiseconds) exactly", () => {
    expect(byVrid(25).length).toBeGreaterThanOrEqual(2);
    for (const r of byVrid(25))
      expect(r).toMatchObject({
        dst: "224.0.0.18",
        version: 3,
        advertIntervalCs: 5,
        addresses: [`198.18.${lab.subnet}.125`],
        checksumOk: true,
        valid: true,
      });
    expect(byVrid(25).every(checksumHolds)).toBe(true);
  });

  it("decodes VRRPv3 IPv6 exactly (link-local source, ff02::12, hop limit 255)", () => {
    for (const r of byVrid(26))
      expect(r).toMatchObject({
        family: 6,
        src: linkLocal1,
        dst: "ff02::12",
        ttl: 255,
        version: 3,
        priority: 255,
        advertIntervalCs: 100,
        addresses: ["2001:2::126"],
        checksumOk: true,
        checksumVariant: "v3-actual",
        length: 24,
        valid: true,
      });
    expect(byVrid(26).every(checksumHolds)).toBe(true);
  });

  it("sees nothing but these six VRIDs, all valid", () => {
    expect(new Set(records.map((r) => r.vrid))).toEqual(new Set([21, 22, 23, 24, 25, 26]));
    expect(records.filter((r) => !r.valid)).toEqual([]);
  });

  it("agrees with tcpdump -v, which reports no bad checksum", () => {
    expect(tcpdumpText).not.toMatch(/bad|wrong|malformed|truncated/i);
    expect(tcpdumpText).toMatch(
      /VRRPv2, Advertisement, vrid 21, prio 255, authtype simple, intvl 1s, length 20.*auth "secretpw"/,
    );
    expect(tcpdumpText).toMatch(
      /VRRPv2, Advertisement, vrid 22, prio 255, authtype none, intvl 1s, length 24/,
    );
    expect(tcpdumpText).toMatch(
      new RegExp(`${lab.host(1).ipv4} > ${lab.host(2).ipv4}: VRRPv3, Advertisement, vrid 24`),
    );
    expect(tcpdumpText).toMatch(/VRRPv3, Advertisement, vrid 25, prio 255, intvl 5cs/);
    expect(tcpdumpText).toMatch(/> ff02::12: .*VRRPv3, Advertisement, vrid 26, prio 255, intvl 100cs/);
  });
});
