/**
 * The text of IPVS operations in ipvsadm's syntax, one line per operation, as `ipvsadm -R` reads
 * them (the same words as its command line): services `-A -t|-u|--sctp-service ADDR:PORT` or
 * `-f MARK [-6]` with `-s SCHED`, `-p TIMEOUT`, `-M NETMASK`; destinations `-a|-e|-d ... -r
 * ADDR[:PORT] -m|-g|-i -w WEIGHT`. IPv6 addresses are bracketed. `ipvsadm-restore` is not used: it
 * clears the whole table first (`ipvsadm -C`), which would remove services Vigil does not own.
 * Pure.
 */
import { isIP } from "node:net";
import type { LvsCommand } from "../../machines/checker.machine.ts";
import type { VirtualServer } from "../config/types.ts";
import { rsPort } from "./spec.ts";

export type IpvsOp = Extract<LvsCommand, { type: "ipvs" }>;

/** Options the configuration model may not carry yet (persistence_granularity). */
export interface ServiceExtras {
  readonly persistenceGranularity?: string;
}

const hostPort = (address: string, port: number): string =>
  `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;

/**
 * The service selector (`-t 198.18.0.100:80`, `-f 7 -6`), or undefined for a virtual server
 * Vigil cannot name to IPVS (a `group`: its entries are not in the configuration model).
 */
export function serviceSelector(vs: VirtualServer): string | undefined {
  const k = vs.key;
  if (k.kind === "group") return undefined;
  if (k.kind === "fwmark") {
    const v6 = vs.realServers.length > 0 && vs.realServers.every((r) => isIP(r.address) === 6);
    return `-f ${k.mark}${v6 ? " -6" : ""}`;
  }
  const flag = vs.protocol === "TCP" ? "-t" : vs.protocol === "UDP" ? "-u" : "--sctp-service";
  return `${flag} ${hostPort(k.address, k.port ?? 0)}`;
}

const METHOD_FLAG = { NAT: "-m", DR: "-g", TUN: "-i" } as const;

/** The destination (`-r 198.18.0.11:80`; a fwmark service's destinations take no port). */
function destination(vs: VirtualServer, rs: { address: string; port: number | null }): string {
  return vs.key.kind === "fwmark"
    ? `-r ${hostPort(rs.address, 0).replace(/:0$/, "")}`
    : `-r ${hostPort(rs.address, rsPort(vs, rs))}`;
}

/** One operation as an ipvsadm line; undefined when the virtual server cannot be named to IPVS. */
export function ipvsLine(vs: VirtualServer, op: IpvsOp, extras: ServiceExtras = {}): string | undefined {
  const svc = serviceSelector(vs);
  if (svc === undefined) return undefined;
  if (op.op === "addService") {
    const parts = [`-A ${svc} -s ${vs.scheduler}`];
    if (vs.persistenceTimeoutS !== null) parts.push(`-p ${vs.persistenceTimeoutS}`);
    if (extras.persistenceGranularity !== undefined) parts.push(`-M ${extras.persistenceGranularity}`);
    return parts.join(" ");
  }
  if (!("rs" in op)) return `-D ${svc}`;
  const target =
    op.rs < 0
      ? vs.sorryServer === null
        ? undefined
        : { address: vs.sorryServer.address, port: vs.sorryServer.port, method: vs.method }
      : vs.realServers[op.rs];
  if (target === undefined) return undefined;
  const dest = destination(vs, target);
  if (op.op === "delDest") return `-d ${svc} ${dest}`;
  return `${op.op === "addDest" ? "-a" : "-e"} ${svc} ${dest} ${METHOD_FLAG[target.method]} -w ${op.weight}`;
}
