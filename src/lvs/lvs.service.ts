/**
 * The host side of a node's LVS health checkers (src/runtime/checkers.ts): from the configuration's
 * virtual servers it builds the `CheckPorts` a `Node` takes — the probe port (sockets and MISC_CHECK
 * scripts), the IPVS effect (ipvsadm batches, or recording without IPVS), real-server and quorum
 * notify scripts, and the warmup draws from a seeded PRNG. The checker machines themselves run inside
 * the node, so their starts, probe results and timers are journaled and replay. Virtual servers are
 * named as keepalived names them (FMT_VS); a reload replaces the known virtual servers with the new
 * configuration's once the node has applied it (the stops of removed and changed ones were then
 * already written with their own addresses), so repeated reloads keep nothing old. Notify scripts run through the one process runner as their resolved user after the
 * script security check; at stop (`omega`) they get keepalived's 1 s before SIGKILL. In a dry run the
 * IPVS lines and notify scripts are only logged. Not pure.
 */
import { RAND_MAX } from "../../machines/checker.machine.ts";
import type { Command, Config, VirtualServer } from "../config/types.ts";
import type { ProcessRunner } from "../effects/process-runner.ts";
import type { ScriptEnv } from "../effects/script-check.ts";
import { checkCommand } from "../effects/script-security.ts";
import type { Clock } from "../runtime/clock.ts";
import type { CheckPorts } from "../runtime/node.ts";
import { Prng } from "../runtime/prng.ts";
import { type CommandRunner, createIpvsPort, type IpvsPort } from "./ipvs.effect.ts";
import { createProbePort } from "./probe-port.ts";
import { unsupportedCheckers, vsName } from "./spec.ts";

export interface LvsOptions {
  readonly config: Pick<Config, "global" | "virtualServers">;
  readonly clock: Clock;
  readonly runner: ProcessRunner;
  readonly scriptEnv: ScriptEnv;
  readonly log: (line: string) => void;
  /**
   * The warmup draws (0..RAND_MAX per checker, keepalived's random()): from a PRNG with this seed
   * (default: the configuration's random_seed, else the pid and the time). The node journals them.
   */
  readonly seed?: number;
  /**
   * `vigil run --dry-run`: each IPVS line and notify script is given here instead of being run
   * (probes still run: they are checks, as vrrp_script probes are in a dry run).
   */
  readonly dryRun?: (line: string) => void;
  /** IPVS detection and ipvsadm (tests). */
  readonly procPath?: string;
  readonly ipvsRun?: CommandRunner;
}

export interface Lvs {
  /** What the node takes as `checks`. */
  readonly checks: CheckPorts;
  readonly ipvs: IpvsPort;
  /**
   * Makes a reloaded configuration's virtual servers known: call after the node's `reload` input (its
   * stops of removed and changed virtual servers are written with the old configuration) and before
   * `node.startCheckers()`.
   */
  reload(config: Pick<Config, "virtualServers">): void;
  /** Resolves when every IPVS batch so far is done (after the node's shutdown removed the services). */
  idle(): Promise<void>;
}

export function createLvs(opts: LvsOptions): Lvs {
  // The configuration's virtual servers, by index (the IPVS and probe ports read this same array); a
  // name maps to its index.
  const known: VirtualServer[] = [];
  const index = new Map<string, number>();
  const learn = (vss: readonly VirtualServer[]): void => {
    known.length = 0;
    index.clear();
    for (const vs of vss) {
      index.set(vsName(vs), known.length);
      known.push(vs);
    }
  };
  learn(opts.config.virtualServers);
  for (const line of unsupportedCheckers(opts.config.virtualServers)) opts.log(line);
  const ipvs = createIpvsPort({
    virtualServers: known,
    log: opts.log,
    ...(opts.procPath === undefined ? {} : { procPath: opts.procPath }),
    ...(opts.ipvsRun === undefined ? {} : { run: opts.ipvsRun }),
    ...(opts.dryRun === undefined ? {} : { dryRun: opts.dryRun }),
  });
  const probe = createProbePort({
    config: { global: opts.config.global, virtualServers: known },
    runner: opts.runner,
    scriptEnv: opts.scriptEnv,
    timers: opts.clock,
    log: opts.log,
  });
  const runScript = (cmd: Command, stopping: boolean, role: string): void => {
    if (opts.dryRun !== undefined) {
      opts.dryRun(`${role}: ${cmd.argv.join(" ")}`);
      return;
    }
    const checked = checkCommand(cmd, opts.config.global, opts.scriptEnv);
    if ("error" in checked) return void opts.log(`${checked.error} - not running ${cmd.argv[0]}`);
    if (checked.refused !== null) return void opts.log(checked.refused.message);
    opts.runner
      .start({
        argv: checked.argv,
        uid: checked.uid,
        gid: checked.gid,
        timeoutMs: stopping ? 1000 : null,
        killGraceMs: 0,
      })
      .catch((e: Error) => opts.log(`Unable to run notify script ${cmd.argv[0]}: ${e.message}`));
  };
  const prng = new Prng(opts.seed ?? opts.config.global.randomSeed ?? (process.pid ^ Date.now()) >>> 0);
  const checks: CheckPorts = {
    probe: (req, done) => {
      const vs = index.get(req.vs);
      if (vs === undefined) {
        queueMicrotask(() => done({ ok: false }));
        return () => {};
      }
      return probe({ vs, rs: req.rs, checker: req.checker, url: req.url }, done);
    },
    ipvs: (name, ops) => {
      const vs = index.get(name);
      if (vs !== undefined) ipvs.apply(vs, ops);
    },
    notify: (name, n) => {
      const v = known[index.get(name) ?? -1];
      const rs = n.rs === null ? undefined : v?.realServers[n.rs];
      const cmd =
        n.script === "quorumUp"
          ? v?.quorumUp
          : n.script === "quorumDown"
            ? v?.quorumDown
            : n.script === "notifyUp"
              ? rs?.notifyUp
              : rs?.notifyDown;
      const role = {
        quorumUp: "quorum_up",
        quorumDown: "quorum_down",
        notifyUp: "notify_up",
        notifyDown: "notify_down",
      }[n.script];
      if (cmd !== null && cmd !== undefined) runScript(cmd, n.stopping, role);
    },
    draws: (_vs, count) => Array.from({ length: count }, () => prng.int(0, RAND_MAX)),
  };
  return {
    checks,
    ipvs,
    reload: (config) => {
      for (const line of unsupportedCheckers(config.virtualServers)) opts.log(line);
      learn(config.virtualServers);
    },
    idle: () => ipvs.idle(),
  };
}
