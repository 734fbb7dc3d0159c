/**
 * The Linux capabilities `vigil run` needs for a configuration, checked once before the node
 * starts so that a daemon without them stops with one clear line (exit 77, EX_NOPERM) instead of
 * running as a MASTER that cannot advertise or hold its VIPs:
 *
 * - CAP_NET_RAW for the raw transport (IP protocol 112 sockets) of any instance that uses it, and
 *   for gratuitous ARP / unsolicited NA (AF_PACKET and ICMPv6 raw sockets) when VIPs are managed;
 * - CAP_NET_ADMIN to add and remove VIPs (rtnetlink).
 *
 * The UDP transport (`vigil_transport udp`) needs neither for its adverts, and `--dry-run`
 * touches no VIP, so an unprivileged user can run a UDP-only configuration in a dry run.
 * `requiredCapabilities` and `missingCapabilities` are pure; `effectiveCapabilities` reads
 * /proc/self/status (the host).
 */
import { readFileSync } from "node:fs";
import type { Config } from "../config/types.ts";

/** sysexits.h EX_NOPERM: the daemon lacks a permission it needs. */
export const EX_NOPERM = 77;

/** Bit numbers in the capability sets (linux/capability.h). */
const CAP_BITS = { CAP_NET_ADMIN: 12n, CAP_NET_RAW: 13n } as const;
export type NetCapability = keyof typeof CAP_BITS;

export interface CapabilityNeed {
  readonly capability: NetCapability;
  /** What it is needed for, for the log line. */
  readonly reason: string;
}

/** What the configuration needs; `dryRun` leaves VIPs (and their ARP) alone. */
export function requiredCapabilities(config: Config, dryRun: boolean): CapabilityNeed[] {
  const needs: CapabilityNeed[] = [];
  const raw = config.instances.filter((i) => i.transport.kind === "raw").map((i) => i.name);
  if (raw.length > 0)
    needs.push({ capability: "CAP_NET_RAW", reason: `VRRP adverts on raw sockets (${raw.join(", ")})` });
  const withVips = config.instances
    .filter((i) => i.vips.length + i.excludedVips.length > 0)
    .map((i) => i.name);
  if (!dryRun && withVips.length > 0) {
    needs.push({ capability: "CAP_NET_ADMIN", reason: `adding and removing VIPs (${withVips.join(", ")})` });
    if (raw.length === 0)
      needs.push({
        capability: "CAP_NET_RAW",
        reason: `gratuitous ARP / NA for VIPs (${withVips.join(", ")})`,
      });
  }
  return needs;
}

/** The needs not covered by the effective capability set `capEff`. */
export const missingCapabilities = (needs: readonly CapabilityNeed[], capEff: bigint): CapabilityNeed[] =>
  needs.filter((n) => (capEff & (1n << CAP_BITS[n.capability])) === 0n);

/** The process's effective capabilities (`CapEff` in /proc/self/status); undefined if unreadable. */
export function effectiveCapabilities(statusText?: string): bigint | undefined {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/status", "utf8");
    } catch {
      return undefined;
    }
  }
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(text);
  return m?.[1] === undefined ? undefined : BigInt(`0x${m[1]}`);
}

/** The one line logged when capabilities are missing (names, reasons and the fix). */
export function missingCapabilitiesLine(missing: readonly CapabilityNeed[]): string {
  const names = [...new Set(missing.map((m) => m.capability))];
  const reasons = missing.map((m) => `${m.capability} for ${m.reason}`).join("; ");
  return `missing capabilities ${names.join(", ")} (${reasons}) - not starting; run as root, or grant them (systemd: AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN, see contrib/vigil.service)`;
}
