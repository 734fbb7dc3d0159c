/**
 * The text of IPVS operations in ipvsadm's syntax, one line per IPVS call, as `ipvsadm -R` reads
 * them (the same words as its command line): services `-A -t|-u|--sctp-service ADDR:PORT` or
 * `-f MARK [-6]` with `-s SCHED`, `-p TIMEOUT`, `-M NETMASK`, `--pe ENGINE`, `-o`, `-b FLAGS`;
 * destinations `-a|-e|-d ... -r ADDR[:PORT] -m|-g|-i -w WEIGHT`. IPv6 addresses are bracketed.
 *
 * A `virtual_server group` is one IPVS service per group entry, every address of a range expanded,
 * address entries first and fwmark entries after, each operation applied to all of them, as
 * keepalived 2.2.7's ipvs_group_cmd does: a destination takes the entry's port unless it is NAT
 * (then its own port, 0 when it has none), a fwmark entry's family is its own, else the virtual
 * server's, else IPv4, and the persistence netmask is not applied to group entries.
 *
 * `ipvsadm-restore` is not used: it clears the whole table first (`ipvsadm -C`), which would remove
 * services Vigil does not own. Pure.
 */
import { isIP } from "node:net";
import type { LvsCommand } from "../../machines/checker.machine.ts";
import { rangeAddresses } from "../config/keywords/lvs-group.ts";
import type { VirtualServer } from "../config/types.ts";
import { rsPort } from "./spec.ts";

export type IpvsOp = Extract<LvsCommand, { type: "ipvs" }>;

const bracket = (address: string): string => (isIP(address) === 6 ? `[${address}]` : address);
const hostPort = (address: string, port: number): string => `${bracket(address)}:${port}`;

/** One IPVS service of a virtual server: its selector, port (0 for fwmark) and whether it is fwmark. */
interface Service {
  readonly selector: string;
  readonly port: number;
  readonly fwmark: boolean;
}

const protoFlag = (vs: VirtualServer): string =>
  vs.protocol === "TCP" ? "-t" : vs.protocol === "UDP" ? "-u" : "--sctp-service";

/** Every IPVS service the virtual server stands for, in keepalived's order. */
export function services(vs: VirtualServer): Service[] {
  const k = vs.key;
  if (k.kind === "address") {
    const port = k.port ?? 0;
    return [{ selector: `${protoFlag(vs)} ${hostPort(k.address, port)}`, port, fwmark: false }];
  }
  const fwmark = (mark: number, family: "ipv4" | "ipv6" | null): Service => ({
    selector: `-f ${mark}${(family ?? vs.family) === "ipv6" ? " -6" : ""}`,
    port: 0,
    fwmark: true,
  });
  if (k.kind === "fwmark") return [fwmark(k.mark, null)];
  const out: Service[] = [];
  for (const e of k.entries)
    if (e.kind === "range")
      for (const a of rangeAddresses(e))
        out.push({ selector: `${protoFlag(vs)} ${hostPort(a, e.port)}`, port: e.port, fwmark: false });
  for (const e of k.entries) if (e.kind === "fwmark") out.push(fwmark(e.mark, e.family));
  return out;
}

/** The service selectors (`-t 198.18.0.100:80`, `-f 7 -6`), one per IPVS service. */
export const serviceSelectors = (vs: VirtualServer): string[] => services(vs).map((s) => s.selector);

const METHOD_FLAG = { NAT: "-m", DR: "-g", TUN: "-i" } as const;

/**
 * The destination on one service: NAT keeps the real server's port (a group's unported real server
 * keeps 0, as keepalived sends it); DR and TUN take the service's; fwmark services DR/TUN take none.
 */
function destination(
  vs: VirtualServer,
  svc: Service,
  rs: { address: string; port: number | null },
  method: string,
): string {
  const port = method === "NAT" ? (vs.key.kind === "group" ? (rs.port ?? 0) : rsPort(vs, rs)) : svc.port;
  // ipvsadm reads `[v6]` only as `[v6]:port`; an address without port is written bare.
  return svc.fwmark && port === 0 ? `-r ${rs.address}` : `-r ${hostPort(rs.address, port)}`;
}

/** The options of `-A` (ipvs_set_srule). */
function serviceOptions(vs: VirtualServer): string {
  const parts = [`-s ${vs.scheduler}`];
  if (vs.persistenceTimeoutS !== null) {
    parts.push(`-p ${vs.persistenceTimeoutS}`);
    if (vs.persistenceGranularity !== null && vs.key.kind !== "group")
      parts.push(`-M ${vs.persistenceGranularity}`);
    if (vs.persistenceEngine !== null) parts.push(`--pe ${vs.persistenceEngine}`);
  }
  if (vs.onePacket) parts.push("-o");
  if (vs.schedulerFlags.length > 0) parts.push(`-b ${vs.schedulerFlags.join(",")}`);
  return parts.join(" ");
}

/** `-x` / `-y` when set; ipvsadm takes at most INT_MAX (keepalived's netlink up to UINT_MAX). */
const thresholds = (rs: { upperThreshold: number; lowerThreshold: number }): string => {
  const cap = (v: number): number => Math.min(v, 2_147_483_647);
  return `${rs.upperThreshold ? ` -x ${cap(rs.upperThreshold)}` : ""}${rs.lowerThreshold ? ` -y ${cap(rs.lowerThreshold)}` : ""}`;
};

/** One operation as ipvsadm lines, one per IPVS service; none for an unknown real server. */
export function ipvsLines(vs: VirtualServer, op: IpvsOp): string[] {
  const svcs = services(vs);
  if (op.op === "addService") return svcs.map((s) => `-A ${s.selector} ${serviceOptions(vs)}`);
  if (!("rs" in op)) return svcs.map((s) => `-D ${s.selector}`);
  const target =
    op.rs < 0
      ? vs.sorryServer === null
        ? undefined
        : { ...vs.sorryServer, method: vs.method, upperThreshold: 0, lowerThreshold: 0 }
      : vs.realServers[op.rs];
  if (target === undefined) return [];
  return svcs.map((s) => {
    const dest = destination(vs, s, target, target.method);
    if (op.op === "delDest") return `-d ${s.selector} ${dest}`;
    return `${op.op === "addDest" ? "-a" : "-e"} ${s.selector} ${dest} ${METHOD_FLAG[target.method]} -w ${op.weight}${thresholds(target)}`;
  });
}

/** The lines of one operation as one text (several lines for a group); undefined when there are none. */
export function ipvsLine(vs: VirtualServer, op: IpvsOp): string | undefined {
  const lines = ipvsLines(vs, op);
  return lines.length === 0 ? undefined : lines.join("\n");
}
