/**
 * From LVS drafts to the configuration's virtual servers, in keepalived 2.2.7's order
 * (check_daemon.c: link_vsg_to_vs, then validate_check_config): each `virtual_server group NAME`
 * gets its group's entries and its number among the virtual servers naming that group (`[NAME]:N`),
 * or is dropped as keepalived drops it (group not configured, families that do not match); then the
 * defaults keepalived reports (protocol, one-packet scheduling, zero ports, forwarding method,
 * scheduler, quorum, hysteresis); then the settings real servers and checkers inherit (alpha,
 * inhibit_on_failure, forwarding method, delay_loop, connect_timeout, retry, delay_before_retry,
 * warmup, and `log_all_failures` with the global `checker_log_all_failures`). Pure.
 */
import type { Diagnostics } from "./diagnostics.ts";
import type { ConfigDraft, VirtualServerDraft } from "./draft.ts";
import { groupFamilies } from "./keywords/lvs-group.ts";
import type { ConfigInput } from "./types.ts";

type VirtualServerIn = ConfigInput["virtualServers"][number];

/** keepalived's FMT_VS: `[NAME]:N` for a group, `FWM N`, else `[addr]:proto:port`. */
function fmtVs(v: VirtualServerDraft, proto: string): string {
  const k = v.key;
  if (k.kind === "group") return `[${k.name}]:${k.member}`;
  if (k.kind === "fwmark") return `FWM ${k.mark}`;
  return `[${k.address}]:${proto}:${k.port ?? 0}`;
}

/** link_vsg_to_vs: the virtual servers kept, groups attached and numbered. */
function linkGroups(diags: Diagnostics, draft: ConfigDraft): VirtualServerDraft[] {
  const kept: VirtualServerDraft[] = [];
  for (const v of draft.virtualServers) {
    const k = v.key;
    if (k.kind !== "group") {
      kept.push(v);
      continue;
    }
    const g = draft.virtualServerGroups.find((x) => x.name === k.name && !x.removed);
    const drop = (message: string): void => diags.warn(v.at, "semantic", message);
    if (g === undefined) {
      drop(
        `Virtual server group ${k.name} specified but not configured - ignoring virtual server [${k.name}]:0`,
      );
      continue;
    }
    const f = groupFamilies(g.entries);
    const name = `[${k.name}]:0`;
    if (f.v4 && f.v6 && v.family !== null) {
      drop(
        `${k.name}: virtual server group with IPv4 & IPv6 doesn't match virtual server ${name} - ignoring`,
      );
      continue;
    }
    if ((f.v4 && v.family === "ipv6") || (f.v6 && v.family === "ipv4")) {
      drop(`${k.name}: address family doesn't match virtual server ${name} - ignoring`);
      continue;
    }
    if (f.v4 !== f.v6) v.family ??= f.v4 ? "ipv4" : "ipv6";
    else if (v.family === null && f.fwmarkNoFamily)
      diags.warn(
        v.at,
        "semantic",
        `${k.name}: Virtual server ${name} address family cannot be determined, defaulting to IPv4`,
      );
    k.entries = [...g.entries];
    kept.push(v);
  }
  const members = new Map<string, number>();
  for (const v of kept)
    if (v.key.kind === "group") {
      const n = members.get(v.key.name) ?? 0;
      v.key.member = n;
      members.set(v.key.name, n + 1);
    }
  return kept;
}

/** validate_check_config, the part about the service itself. */
function validate(diags: Diagnostics, v: VirtualServerDraft): void {
  const k = v.key;
  const warn = (message: string): void => diags.warn(v.at, "semantic", message);
  const addressEntries = k.kind === "group" ? k.entries.filter((e) => e.kind === "range") : [];
  const byAddress = k.kind === "address" || addressEntries.length > 0;
  const fwmarkOnly = k.kind === "fwmark" || (k.kind === "group" && addressEntries.length === 0);
  if (byAddress) {
    if (!v.written.protocol) {
      warn(`Virtual server ${fmtVs(v, "none")}: no protocol set - defaulting to UDP`);
      v.protocol = "UDP";
    }
    if (v.onePacket && v.protocol !== "UDP") {
      warn(
        `Virtual server ${fmtVs(v, v.protocol.toLowerCase())}: one packet scheduling requires UDP - resetting`,
      );
      v.onePacket = false;
    }
    const zeroPort =
      k.kind === "address"
        ? (k.port ?? 0) === 0
        : addressEntries.some((e) => e.kind === "range" && e.port === 0);
    if (v.persistenceTimeoutS === null && zeroPort) {
      warn(
        `Virtual server ${fmtVs(v, v.protocol.toLowerCase())}: zero port only valid for persistent services - setting`,
      );
      v.persistenceTimeoutS = 360;
    }
  }
  if (fwmarkOnly && v.written.protocol)
    warn(
      `Warning: Virtual server ${fmtVs(v, v.protocol.toLowerCase())}: protocol specified for fwmark - protocol will be ignored`,
    );
  const proto = v.protocol.toLowerCase();
  if (!v.written.scheduler)
    warn(`Virtual server ${fmtVs(v, proto)}: no scheduler set, setting default 'wlc'`);
  if (!v.written.method && (v.realServers.some((r) => r.method === null) || v.sorryServer !== null))
    warn(`Virtual server ${fmtVs(v, proto)}: no forwarding method set, setting default NAT`);
  // A quorum the real servers can never reach is lowered to their total weight, and the
  // hysteresis is kept below the quorum (an unsigned subtraction in keepalived).
  const weightSum = v.realServers.reduce((sum, r) => sum + (r.weight ?? v.defaultWeight), 0);
  if (v.quorum > weightSum) {
    warn(
      `Warning - quorum ${v.quorum} for ${fmtVs(v, proto)} exceeds total weight of real servers ${weightSum}, reducing quorum to ${weightSum}`,
    );
    v.quorum = weightSum;
  }
  if (v.hysteresis >= v.quorum) {
    const lowered = (v.quorum - 1) >>> 0;
    warn(
      `Virtual server ${fmtVs(v, proto)}: hysteresis ${v.hysteresis} >= quorum ${v.quorum}; setting hysteresis to ${lowered}`,
    );
    v.hysteresis = lowered;
  }
  checkPorts(v, (line, m) => diags.warn({ ...v.at, line, column: 1 }, "semantic", m));
  if (k.kind === "group" && v.persistenceGranularity !== null)
    warn(
      `Virtual server ${fmtVs(v, proto)}: persistence_granularity is not applied to virtual_server_group entries (keepalived 2.2.7 programs each with a full netmask) - ignoring`,
    );
}

/**
 * Real servers not using NAT are reached on the service's port (the end of validate_check_config):
 * a fwmark virtual server's lose theirs, an address's are reset to its port, a group's are warned
 * about.
 */
function checkPorts(v: VirtualServerDraft, warnAt: (line: number, m: string) => void): void {
  const k = v.key;
  const proto = k.kind === "fwmark" ? "none" : v.protocol.toLowerCase();
  for (const r of v.realServers) {
    if ((r.method ?? v.method) === "NAT" || r.port === null || r.port === 0) continue;
    const rsName = `[${r.address}]:${proto}:${r.port}`;
    const warn = (m: string): void => warnAt(r.line, m);
    if (k.kind === "fwmark") {
      warn(
        `WARNING - fwmark virtual server ${fmtVs(v, proto)}, real server ${rsName} has port specified - clearing`,
      );
      r.port = null;
    } else if (k.kind === "address") {
      if (r.port !== (k.port ?? 0)) {
        warn(
          `WARNING - virtual server ${fmtVs(v, proto)} and real server ${rsName} ports don't match - resetting`,
        );
        r.port = k.port;
      }
    } else {
      if (k.entries.some((e) => e.kind === "fwmark"))
        warn(
          `WARNING - fwmark virtual server ${fmtVs(v, proto)}, real server ${rsName} has port specified - port will be ignored`,
        );
      for (const e of k.entries)
        if (e.kind === "range" && e.port !== r.port)
          warn(
            `virtual server ${fmtVs(v, proto)}:[${e.first === e.last ? e.first : `${e.first}-${e.last}`},${e.port}] and real server ${rsName} ports don't match`,
          );
    }
  }
  // The sorry server, as keepalived checks it after the real servers. It forwards as the virtual
  // server does (Vigil does not act on sorry_server_lvs_method).
  const sorry = v.sorryServer;
  if (sorry === null || v.method === "NAT") return;
  const warn = (m: string): void => warnAt(v.at.line, m);
  const port = sorry.port ?? 0;
  if (k.kind === "fwmark") {
    if (port !== 0) {
      warn(`WARNING - virtual server ${fmtVs(v, proto)}, sorry server has port specified - clearing`);
      v.sorryServer = { ...sorry, port: null };
    }
  } else if (k.kind === "address") {
    if (port === 0) v.sorryServer = { ...sorry, port: k.port };
    else if (port !== (k.port ?? 0)) {
      warn(`WARNING - virtual server ${fmtVs(v, proto)} and sorry server ports don't match - resetting`);
      v.sorryServer = { ...sorry, port: k.port };
    }
  } else if (port !== 0) {
    if (k.entries.some((e) => e.kind === "fwmark"))
      warn(
        `WARNING - fwmark virtual server ${fmtVs(v, proto)}, sorry server has port specified - port will be ignored`,
      );
    for (const e of k.entries)
      if (e.kind === "range" && e.port !== port)
        warn(
          `WARNING - virtual server ${fmtVs(v, proto)}, sorry server has port specified - port will be ignored`,
        );
  }
}

/** The checkers' defaults when neither they nor their real server set one (check_*.c). */
const defaultRetry = (kind: string): number => (kind === "DNS_CHECK" ? 3 : kind === "MISC_CHECK" ? 0 : 1);
const defaultDelayBeforeRetryUs = (kind: string, delayLoopUs: number): number =>
  kind === "HTTP_GET" || kind === "SSL_GET" ? 3_000_000 : kind === "DNS_CHECK" ? delayLoopUs : 1_000_000;

/** The configuration's virtual servers, linked, validated and with inherited settings resolved. */
export function resolveVirtualServers(diags: Diagnostics, draft: ConfigDraft): VirtualServerIn[] {
  const linked = linkGroups(diags, draft).filter((v) => {
    if (v.realServers.length > 0) return true;
    diags.error(
      v.at,
      "semantic",
      `Virtual server ${fmtVs(v, v.protocol.toLowerCase())} has no real servers - ignoring`,
    );
    return false;
  });
  return linked.map((v) => {
    validate(diags, v);
    const { at: _at, written: _w, defaultWeight: _dw, ...rest } = v;
    return {
      ...rest,
      realServers: v.realServers.map((r) => {
        const rs = {
          ...r,
          method: r.method ?? v.method,
          inhibitOnFailure: r.inhibitOnFailure ?? v.inhibitOnFailure,
          alpha: r.alpha ?? v.alpha,
          delayLoopUs: r.delayLoopUs ?? v.delayLoopUs,
          connectTimeoutUs: r.connectTimeoutUs ?? v.connectTimeoutUs,
          retry: r.retry ?? v.retry,
          delayBeforeRetryUs: r.delayBeforeRetryUs ?? v.delayBeforeRetryUs,
          warmupUs: r.warmupUs ?? v.warmupUs,
          weight: r.weight ?? v.defaultWeight,
        };
        return {
          ...rs,
          checkers: r.checkers.map((c) => {
            const delayLoopUs = c.delayLoopUs ?? rs.delayLoopUs;
            return {
              ...c,
              alpha: c.alpha ?? rs.alpha,
              logAllFailures: c.logAllFailures || draft.global.checkerLogAllFailures === true,
              delayLoopUs,
              connectTimeoutUs: c.connectTimeoutUs ?? rs.connectTimeoutUs,
              retry: c.retry ?? rs.retry ?? defaultRetry(c.kind),
              delayBeforeRetryUs:
                c.delayBeforeRetryUs ??
                rs.delayBeforeRetryUs ??
                defaultDelayBeforeRetryUs(c.kind, delayLoopUs),
              warmupUs: c.warmupUs ?? rs.warmupUs ?? delayLoopUs,
            };
          }),
        };
      }),
    };
  });
}
