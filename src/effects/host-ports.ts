/**
 * The production effect ports of one node, built from a validated `Config`: virtual addresses over
 * one kept rtnetlink socket (vip.effect.ts), virtual routes and rules over another (route.effect.ts), gratuitous ARP / unsolicited NA from an AF_PACKET socket
 * (arp.effect.ts), notify scripts and FIFOs through one process runner (notify.effect.ts), and log
 * lines handed to a sink. The runner is exposed so that vrrp_script probes share it. The host's
 * effect actors call these; every failure comes back to the node as a journaled `effect` input.
 * IPVS is not here: the LVS checkers' own port programs it (src/lvs/lvs.service.ts). Not pure: this
 * is the edge to the host.
 */
import type { LogSeverity } from "../../machines/events.ts";
import type { Config } from "../config/types.ts";
import type { Clock } from "../runtime/clock.ts";
import type { EffectPorts, LogPort } from "../runtime/ports.ts";
import { createArpPort } from "./arp.effect.ts";
import { createNotifyPort } from "./notify.effect.ts";
import { createProcessRunner, type ProcessRunner } from "./process-runner.ts";
import { createNetlinkRoutePort } from "./route.effect.ts";
import { nodeScriptEnv } from "./script-security.ts";
import { createNetlinkVipPort } from "./vip.effect.ts";

export interface HostPortsOptions {
  readonly config: Config;
  readonly clock: Clock;
  /** Where log lines go (keepalived's wording); `detail` marks lines keepalived logs only with -D. */
  readonly log: LogPort["log"];
}

export interface HostPorts extends EffectPorts {
  /** The one process runner (notify scripts here, vrrp_script probes too: one set of rules). */
  readonly runner: ProcessRunner;
  /** Opens what must exist before the first command (the notify FIFOs and their scripts). */
  open(): Promise<void>;
  /** Closes sockets and FIFOs and stops every script still running (by process group). */
  close(): void;
}

/**
 * A step's log lines written once the step is over (a microtask): the step's time-critical commands
 * (the advert, the VIP request) reach the kernel first, and a write to stderr — which wakes whatever
 * reads it, perhaps onto this CPU — comes after them. Lines keep their order; `flush` writes what
 * is pending at once (at close).
 */
export function logAfterTheStep(write: LogPort["log"]): {
  log: LogPort["log"];
  flush: () => void;
} {
  const pending: Array<readonly [string, boolean, LogSeverity | undefined]> = [];
  const flush = (): void => {
    for (const [line, detail, severity] of pending.splice(0)) {
      try {
        write(line, detail, severity);
      } catch {
        /* a sink that cannot write (stderr closed) has nowhere to say so */
      }
    }
  };
  return {
    log: (line, detail, severity) => {
      if (pending.push([line, detail, severity]) === 1) queueMicrotask(flush);
    },
    flush,
  };
}

export function createHostPorts(opts: HostPortsOptions): HostPorts {
  const log = logAfterTheStep(opts.log);
  const runner = createProcessRunner(opts.clock);
  const arp = createArpPort(opts.clock);
  const vip = createNetlinkVipPort();
  const route = createNetlinkRoutePort();
  const notify = createNotifyPort({
    config: opts.config,
    runner,
    env: nodeScriptEnv(),
    // through the same queue: its lines stay in order with the step's own
    log: (line, severity) => log.log(line, false, severity),
  });
  return {
    vip,
    route,
    arp,
    notify,
    log: { log: log.log },
    runner,
    open: () => notify.open(),
    close: () => {
      vip.close();
      route.close();
      arp.close();
      notify.close();
      runner.killAll();
      // last: what closing logged is written too
      log.flush();
    },
  };
}
