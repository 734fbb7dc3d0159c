/**
 * The LVS side of a Vigil node, in one call: from the configuration's virtual servers it builds the
 * checker machines' specs, the IPVS effect, the probe port and the notify runner, and starts a
 * checker host on the node's clock. This is the integration point for the Node: `startLvs` at start
 * (after the VRRP side), `stop()` at shutdown (removes every service, like keepalived without -I),
 * and `record` to journal each checker input as the node's `check` input kind. Real-server and
 * quorum notify scripts run through the one process runner as their resolved user after the script
 * security check; at stop with `omega` they get keepalived's 1 s before SIGKILL. Not pure.
 */
import { type LvsCommand, RAND_MAX } from "../../machines/checker.machine.ts";
import type { Command, Config } from "../config/types.ts";
import type { ProcessRunner } from "../effects/process-runner.ts";
import type { ScriptEnv } from "../effects/script-check.ts";
import { checkCommand } from "../effects/script-security.ts";
import type { Clock } from "../runtime/clock.ts";
import { Prng } from "../runtime/prng.ts";
import { CheckerHost, type CheckInput } from "./checker-host.ts";
import { type CommandRunner, createIpvsPort, type IpvsPort } from "./ipvs.effect.ts";
import { createProbePort } from "./probe-port.ts";
import { unsupportedCheckers, virtualServerSpec } from "./spec.ts";

export interface LvsOptions {
  readonly config: Pick<Config, "global" | "virtualServers">;
  readonly clock: Clock;
  readonly runner: ProcessRunner;
  readonly scriptEnv: ScriptEnv;
  readonly log: (line: string) => void;
  /**
   * The warmup draws (0..RAND_MAX per checker, keepalived's random()): from a PRNG with this seed
   * (default: the configuration's random_seed, else the pid and the time). START carries them, so a
   * journal replays them.
   */
  readonly seed?: number;
  /** The notify FIFO writer (`RS … UP` lines); default: dropped. */
  readonly fifo?: (line: string) => void;
  readonly record?: (input: CheckInput) => void;
  /** IPVS detection and ipvsadm (tests). */
  readonly procPath?: string;
  readonly ipvsRun?: CommandRunner;
}

export interface Lvs {
  readonly host: CheckerHost;
  readonly ipvs: IpvsPort;
  /** Removes every service (keepalived's clear_services) and waits for IPVS to be done. */
  stop(): Promise<void>;
  /**
   * A reload: LVS changes are not applied yet (keepalived diffs services and keeps unchanged real
   * servers' state); a changed set of virtual servers is said once per reload and the running
   * checkers go on with the old one. Returns whether the virtual servers changed.
   */
  reload(config: Pick<Config, "virtualServers">): boolean;
}

export function startLvs(opts: LvsOptions): Lvs {
  const vss = opts.config.virtualServers;
  for (const line of unsupportedCheckers(vss)) opts.log(line);
  const ipvs = createIpvsPort({
    virtualServers: vss,
    log: opts.log,
    ...(opts.procPath === undefined ? {} : { procPath: opts.procPath }),
    ...(opts.ipvsRun === undefined ? {} : { run: opts.ipvsRun }),
  });
  const probe = createProbePort({
    config: opts.config,
    runner: opts.runner,
    scriptEnv: opts.scriptEnv,
    timers: opts.clock,
    log: opts.log,
  });
  const runScript = (cmd: Command, stopping: boolean): void => {
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
  const notify = (vs: number, c: Extract<LvsCommand, { type: "lvsNotify" }>): void => {
    const v = vss[vs];
    const rs = c.rs === null ? undefined : v?.realServers[c.rs];
    const cmd =
      c.script === "quorumUp"
        ? v?.quorumUp
        : c.script === "quorumDown"
          ? v?.quorumDown
          : c.script === "notifyUp"
            ? rs?.notifyUp
            : rs?.notifyDown;
    if (cmd !== null && cmd !== undefined) runScript(cmd, c.stopping);
  };
  const host = new CheckerHost(
    vss.map(virtualServerSpec),
    opts.clock,
    {
      probe,
      ipvs: (vs, ops) => ipvs.apply(vs, ops),
      notify,
      fifo: opts.fifo ?? (() => {}),
      log: opts.log,
    },
    opts.record,
  );
  const prng = new Prng(opts.seed ?? opts.config.global.randomSeed ?? (process.pid ^ Date.now()) >>> 0);
  const draw = (): number => prng.int(0, RAND_MAX);
  host.start((vs) =>
    (vss[vs]?.realServers ?? []).flatMap((_, r) => host.specs[vs]?.realServers[r]?.checkers.map(draw) ?? []),
  );
  return {
    host,
    ipvs,
    stop: async () => {
      host.stop();
      await ipvs.idle();
    },
    reload: (config) => {
      const changed = JSON.stringify(config.virtualServers) !== JSON.stringify(vss);
      if (changed)
        opts.log(
          "LVS: virtual_server changes are not applied on reload yet - the health checkers and IPVS keep the configuration Vigil started with; restart Vigil to apply them",
        );
      return changed;
    },
  };
}
