/**
 * From the resolved configuration to what the checker machine and the IPVS effect need: keepalived's
 * names for services (FMT_VS `[198.18.0.100]:tcp:80`, `FWM 7`; FMT_RS `[198.18.0.2]:tcp:80`), the
 * real servers' ports (none written: the virtual server's), the sorry server, and each checker's
 * timing with keepalived's defaults (warmup = delay_loop; MISC_CHECK's timeout = the virtual server's
 * delay_loop). Also which checkers Vigil can run: TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, DNS_CHECK
 * and SMTP_CHECK (`unsupportedCheckers` names any other). Pure.
 */
import { isIP } from "node:net";
import type { VirtualServerSpec } from "../../machines/checker.machine.ts";
import type { CheckerSpec } from "../../machines/lvs-pool.ts";
import type { Checker, RealServer, VirtualServer } from "../config/types.ts";
import { canonicalAddress } from "../protocol/address.ts";

export const RUNNABLE_CHECKERS: ReadonlySet<Checker["kind"]> = new Set([
  "TCP_CHECK",
  "HTTP_GET",
  "SSL_GET",
  "MISC_CHECK",
  "DNS_CHECK",
  "SMTP_CHECK",
]);

const canon = (address: string): string => canonicalAddress(address, isIP(address) === 6 ? 6 : 4) ?? address;

/** inet_sockaddrtotrio: `[addr]:proto:port`. */
export const trio = (address: string, protocol: VirtualServer["protocol"], port: number | null): string =>
  `[${canon(address)}]:${protocol.toLowerCase()}:${port ?? 0}`;

/** format_vs. A group is shown with its name and this virtual server's number among its users. */
export function vsName(vs: VirtualServer): string {
  const k = vs.key;
  if (k.kind === "fwmark") return `FWM ${k.mark}`;
  if (k.kind === "group") return `[${k.name}]:${k.member}`;
  return trio(k.address, vs.protocol, k.port);
}

/** The virtual server's port (0 for fwmark and groups). */
export const vsPort = (vs: VirtualServer): number => (vs.key.kind === "address" ? (vs.key.port ?? 0) : 0);

/** A real server's port: as written, else the virtual server's (check_data.c). */
export const rsPort = (vs: VirtualServer, rs: { port: number | null }): number => rs.port ?? vsPort(vs);

export const rsName = (vs: VirtualServer, rs: { address: string; port: number | null }): string =>
  trio(rs.address, vs.protocol, rsPort(vs, rs));

/** The checkers Vigil runs for a real server, with their indexes in the configuration. */
export const runnableCheckers = (rs: RealServer): Checker[] =>
  rs.checkers.filter((c) => RUNNABLE_CHECKERS.has(c.kind));

/** One line per checker Vigil does not run (said once, at start). */
export function unsupportedCheckers(vss: readonly VirtualServer[]): string[] {
  const lines: string[] = [];
  for (const vs of vss)
    for (const rs of vs.realServers)
      for (const c of rs.checkers)
        if (!RUNNABLE_CHECKERS.has(c.kind))
          lines.push(
            `${c.kind} for service ${rsName(vs, rs)} of VS ${vsName(vs)} is not run by Vigil (line ${c.line}); the real server is treated as having no such checker`,
          );
  return lines;
}

/** A checker's timing and alpha, as resolved from the checker, its real server and the virtual server. */
function checkerSpec(c: Checker): CheckerSpec {
  return {
    kind: c.kind,
    delayLoopUs: c.delayLoopUs,
    connectTimeoutUs: c.connectTimeoutUs,
    retry: c.retry,
    delayBeforeRetryUs: c.delayBeforeRetryUs,
    warmupUs: c.warmupUs ?? c.delayLoopUs,
    alpha: c.alpha,
    ...(c.logAllFailures ? { logAllFailures: true } : {}),
    urls: c.urls.map((u) => ({
      path: u.path,
      hasDigest: u.digest !== null,
      ...(u.regex === null ? {} : { hasRegex: true }),
    })),
    miscPath: c.miscPath?.argv[0] ?? "",
    miscDynamic: c.miscDynamic,
  };
}

/** MISC_CHECK's timeout: misc_timeout, else the virtual server's delay_loop (check_misc.c). */
export const miscTimeoutUs = (vs: VirtualServer, c: Checker): number => c.miscTimeoutUs ?? vs.delayLoopUs;

export function virtualServerSpec(vs: VirtualServer): VirtualServerSpec {
  return {
    name: vsName(vs),
    quorum: vs.quorum,
    hysteresis: vs.hysteresis,
    hasQuorumUp: vs.quorumUp !== null,
    hasQuorumDown: vs.quorumDown !== null,
    omega: vs.omega,
    sorry: vs.sorryServer === null ? null : { name: rsName(vs, vs.sorryServer), weight: 1 },
    realServers: vs.realServers.map((rs) => ({
      name: rsName(vs, rs),
      weight: rs.weight,
      inhibit: rs.inhibitOnFailure,
      hasNotifyUp: rs.notifyUp !== null,
      hasNotifyDown: rs.notifyDown !== null,
      checkers: runnableCheckers(rs).map(checkerSpec),
    })),
  };
}
