/**
 * The capabilities `vigil run` asks for before it starts (src/daemon/privileges.ts): CAP_NET_RAW
 * for raw-socket adverts and for gratuitous ARP when VIPs are managed, CAP_NET_ADMIN for VIPs,
 * nothing for a UDP-only dry run; what is missing from an effective set; CapEff parsing. Pure
 * (configurations from an in-memory file system); the real check as a non-root user is
 * test/netns/capabilities.test.ts.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import {
  effectiveCapabilities,
  missingCapabilities,
  missingCapabilitiesLine,
  requiredCapabilities,
} from "../../src/daemon/privileges.ts";
import { memFs } from "../config/memfs.ts";

const configOf = (instances: readonly string[]): Config => {
  const text = instances
    .map(
      (body, i) => `vrrp_instance VI_${i + 1} {\n interface eth0\n virtual_router_id ${i + 1}\n${body}\n}\n`,
    )
    .join("");
  const { config, diagnostics } = loadConfig("/k.conf", { fs: memFs({ "/k.conf": text }), configId: "x" });
  if (config === undefined) throw new Error(JSON.stringify(diagnostics));
  return config;
};
const names = (c: Config, dryRun: boolean): string[] =>
  requiredCapabilities(c, dryRun).map((n) => n.capability);
const VIP = " virtual_ipaddress { 198.18.0.10/24 }";
const ADMIN = 1n << 12n;
const RAW = 1n << 13n;

describe("requiredCapabilities", () => {
  it("raw transport with VIPs: NET_RAW for adverts and NET_ADMIN for VIPs", () => {
    expect(names(configOf([VIP]), false)).toEqual(["CAP_NET_RAW", "CAP_NET_ADMIN"]);
  });
  it("raw transport under --dry-run: NET_RAW only (adverts are still sent)", () => {
    expect(names(configOf([VIP]), true)).toEqual(["CAP_NET_RAW"]);
  });
  it("UDP transport with VIPs: NET_ADMIN for VIPs and NET_RAW for gratuitous ARP", () => {
    const need = requiredCapabilities(configOf([`${VIP}\n vigil_transport udp`]), false);
    expect(need.map((n) => n.capability)).toEqual(["CAP_NET_ADMIN", "CAP_NET_RAW"]);
    expect(need[1]?.reason).toMatch(/gratuitous ARP/);
  });
  it("UDP transport under --dry-run, or without VIPs: nothing", () => {
    expect(names(configOf([`${VIP}\n vigil_transport udp`]), true)).toEqual([]);
    expect(names(configOf([" vigil_transport udp"]), false)).toEqual([]);
  });
  it("a mix names the raw instances only for the raw sockets", () => {
    const need = requiredCapabilities(configOf([`${VIP}\n vigil_transport udp`, VIP]), false);
    expect(need[0]).toEqual({ capability: "CAP_NET_RAW", reason: "VRRP adverts on raw sockets (VI_2)" });
    expect(need.map((n) => n.capability)).toEqual(["CAP_NET_RAW", "CAP_NET_ADMIN"]);
  });
});

describe("missingCapabilities and the log line", () => {
  const need = requiredCapabilities(configOf([VIP]), false);
  it("nothing is missing with both bits (or a full root set)", () => {
    expect(missingCapabilities(need, ADMIN | RAW)).toEqual([]);
    expect(missingCapabilities(need, 0x1ffffffffffn)).toEqual([]);
  });
  it("each missing bit is named, once, with its reason", () => {
    expect(missingCapabilities(need, ADMIN).map((n) => n.capability)).toEqual(["CAP_NET_RAW"]);
    expect(missingCapabilities(need, RAW).map((n) => n.capability)).toEqual(["CAP_NET_ADMIN"]);
    const line = missingCapabilitiesLine(missingCapabilities(need, 0n));
    expect(line).toMatch(/^missing capabilities CAP_NET_RAW, CAP_NET_ADMIN \(/);
    expect(line).toContain("not starting");
    expect(line.includes("\n")).toBe(false);
  });
});

describe("effectiveCapabilities", () => {
  it("reads CapEff from a status text", () => {
    expect(effectiveCapabilities("Name:\tnode\nCapInh:\t0\nCapEff:\t0000000000003000\nCapBnd:\t1\n")).toBe(
      ADMIN | RAW,
    );
    expect(effectiveCapabilities("Name:\tnode\n")).toBeUndefined();
  });
  it("reads this process's own set", () => {
    expect(typeof effectiveCapabilities()).toBe("bigint");
  });
});
