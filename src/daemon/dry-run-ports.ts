/**
 * The effect ports of `vigil run --dry-run`: every command a node would carry out on the host
 * (add / remove a virtual address, a virtual route or rule (in keepalived's own rendering), a GARP / NA burst, each notify script the configuration has
 * for a transition, each configured FIFO's line, an IPVS command) is logged as one `[dry-run] …`
 * line instead, and nothing is touched: no address, no
 * frame, no script, no FIFO. Built on the pattern of `RecordingPorts` (src/runtime/ports.ts):
 * every call completes at once (`SETTLED`). vrrp_script probes still run on the runner they are
 * given (they are checks, not effects), and adverts still go out on the wire. The formatting
 * helpers are pure; the ports only call the `log` sink they are given.
 */
import type { Config } from "../config/types.ts";
import type { HostPorts } from "../effects/host-ports.ts";
import { notifyRuns } from "../effects/notify.effect.ts";
import type { ProcessRunner } from "../effects/process-runner.ts";
import { type LogPort, SETTLED, type VipAddress } from "../runtime/ports.ts";

/** One address as an `ip addr` argument list: `198.18.0.10/24 dev eth0 label eth0:vip`. */
export function formatVip(a: VipAddress): string {
  const parts = [`${a.address}/${a.prefixLength}`, "dev", a.dev];
  if (a.broadcast !== null && a.broadcast !== "-") parts.push("brd", a.broadcast);
  if (a.peer !== null) parts.push("peer", a.peer);
  if (a.scope !== "global") parts.push("scope", a.scope);
  if (a.label !== null) parts.push("label", a.label);
  if (a.preferredLft !== null) parts.push("preferred_lft", String(a.preferredLft));
  if (a.noPrefixRoute) parts.push("noprefixroute");
  if (a.noDad) parts.push("nodad");
  if (a.home) parts.push("home");
  if (a.mngTmpAddr) parts.push("mngtmpaddr");
  if (a.autoJoin) parts.push("autojoin");
  return parts.join(" ");
}

export interface DryRunOptions {
  /** Which notify scripts and FIFOs the configuration has (only those are logged). */
  readonly config: Pick<Config, "instances" | "syncGroups" | "global">;
  /** Where the `[dry-run] …` lines go (the daemon's log), and the node's own log lines. */
  readonly log: LogPort["log"];
  /** The runner vrrp_script probes use (the production one); no notify script is ever started. */
  readonly runner: ProcessRunner;
  /** Called by `close()` (the production ports' own close: it stops the probes' processes). */
  readonly close?: () => void;
}

/** Logging ports in place of the host's: one `[dry-run]` line per command, nothing executed. */
export function dryRunPorts(opts: DryRunOptions): HostPorts {
  const say = (line: string): Promise<void> => {
    opts.log(`[dry-run] ${line}`, false);
    return SETTLED;
  };
  return {
    vip: {
      add: (addresses) => {
        for (const a of addresses) void say(`add ${formatVip(a)}`);
        return SETTLED;
      },
      remove: (addresses) => {
        for (const a of addresses) void say(`del ${formatVip(a)}`);
        return SETTLED;
      },
    },
    route: {
      add: (routes, rules) => {
        for (const r of routes) void say(`add route ${r.text}`);
        for (const r of rules) void say(`add rule ${r.text}`);
        return SETTLED;
      },
      remove: (routes, rules) => {
        for (const r of rules) void say(`del rule ${r.text}`);
        for (const r of routes) void say(`del route ${r.text}`);
        return SETTLED;
      },
    },
    arp: {
      burst: (ifname, addresses, repeat, intervalUs) =>
        say(
          `${addresses.some((a) => a.includes(":")) ? "GARP/NA" : "GARP"} on ${ifname} for ${addresses.join(", ")} (${repeat} round(s), ${intervalUs} us apart)`,
        ),
    },
    notify: {
      notify: (n) => {
        for (const r of notifyRuns(opts.config, n))
          void say(`${r.role}: ${[...r.command.argv, ...r.appended].join(" ")}`);
        return SETTLED;
      },
      fifo: (line) => {
        const { notifyFifo, vrrpNotifyFifo } = opts.config.global;
        for (const f of [notifyFifo, vrrpNotifyFifo]) if (f !== null) void say(`fifo ${f.path}: ${line}`);
        return SETTLED;
      },
    },
    log: { log: opts.log },
    runner: opts.runner,
    open: () => SETTLED,
    close: () => opts.close?.(),
  };
}
