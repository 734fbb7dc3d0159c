/**
 * The production probe port of the checker host: maps a probe request (virtual server, real server,
 * checker) to its configured checker and runs it — TCP_CHECK and HTTP_GET/SSL_GET on sockets
 * (net.probe.ts), MISC_CHECK through the one process runner, run as its resolved user after
 * keepalived's script security check (a refused script is never run: its checker fails, said once).
 * MISC_CHECK's timeout (misc_timeout, else the virtual server's delay_loop) is the runner's: SIGTERM,
 * then SIGKILL, reported as `timedOut`. Not pure: sockets and child processes.
 */
import { constants } from "node:os";
import type { ProbeResult } from "../../machines/checker.machine.ts";
import type { Checker, Config, RealServer, VirtualServer } from "../config/types.ts";
import type { ProcessRunner, RunnerTimers } from "../effects/process-runner.ts";
import type { ScriptEnv } from "../effects/script-check.ts";
import { checkCommand } from "../effects/script-security.ts";
import { httpProbe, type NetProbeResult, tcpProbe } from "./net.probe.ts";
import { miscTimeoutUs, rsName, rsPort, runnableCheckers } from "./spec.ts";

export interface ProbePortOptions {
  readonly config: Pick<Config, "global" | "virtualServers">;
  readonly runner: ProcessRunner;
  readonly scriptEnv: ScriptEnv;
  readonly timers?: RunnerTimers;
  readonly log: (line: string) => void;
}

/** A probe to run: the virtual server's index in `config.virtualServers`, the real server's, the checker's and the url's. */
export interface ProbeRequest {
  readonly vs: number;
  readonly rs: number;
  readonly checker: number;
  readonly url: number | null;
}

type Located = { vs: VirtualServer; rs: RealServer; checker: Checker };

export function createProbePort(
  opts: ProbePortOptions,
): (req: ProbeRequest, done: (r: ProbeResult) => void) => () => void {
  const refusedSaid = new Set<string>();
  const locate = (req: ProbeRequest): Located | undefined => {
    const vs = opts.config.virtualServers[req.vs];
    const rs = vs?.realServers[req.rs];
    const checker = rs === undefined ? undefined : runnableCheckers(rs)[req.checker];
    return vs === undefined || rs === undefined || checker === undefined ? undefined : { vs, rs, checker };
  };
  const net = (at: Located, req: ProbeRequest, done: (r: ProbeResult) => void): (() => void) => {
    const { vs, rs, checker } = at;
    const target = {
      host: checker.connectIp ?? rs.address,
      port: checker.connectPort ?? rsPort(vs, rs),
      bindTo: checker.bindTo,
      timeoutMs: Math.ceil(checker.connectTimeoutUs / 1000),
      label: rsName(vs, rs),
      ...(opts.timers === undefined ? {} : { timers: opts.timers }),
    };
    const report = (r: NetProbeResult): void => {
      if (r.detail !== undefined) opts.log(r.detail);
      done(r.timedOut ? { ok: false, timedOut: true } : { ok: r.ok });
    };
    if (checker.kind === "TCP_CHECK") return tcpProbe(target, report);
    const url = checker.urls[req.url ?? 0];
    return httpProbe(
      {
        ...target,
        tls: checker.kind === "SSL_GET",
        path: url?.path ?? "/",
        statusCodes: url?.statusCode ?? null,
        digest: url?.digest ?? null,
      },
      report,
    );
  };
  const misc = (at: Located, done: (r: ProbeResult) => void): (() => void) => {
    const cmd = at.checker.miscPath;
    const fail = (line: string): (() => void) => {
      if (!refusedSaid.has(line)) {
        refusedSaid.add(line);
        opts.log(line);
      }
      queueMicrotask(() => done({ ok: false, exitStatus: 127 }));
      return () => {};
    };
    if (cmd === null) return fail(`MISC_CHECK for ${rsName(at.vs, at.rs)} has no misc_path`);
    const checked = checkCommand(cmd, opts.config.global, opts.scriptEnv);
    if ("error" in checked) return fail(`${checked.error} - MISC_CHECK ${cmd.argv[0]} not run`);
    if (checked.refused !== null) return fail(checked.refused.message);
    let cancelled = false;
    let kill: (() => void) | undefined;
    opts.runner
      .start({
        argv: checked.argv,
        uid: checked.uid,
        gid: checked.gid,
        timeoutMs: Math.ceil(miscTimeoutUs(at.vs, at.checker) / 1000),
      })
      .then(
        (h) => {
          if (cancelled) return void h.kill("SIGKILL");
          kill = () => h.kill("SIGKILL");
          void h.exit.then((x) => {
            if (cancelled) return;
            if (x.status !== null) done({ ok: x.status === 0, exitStatus: x.status });
            else
              done({
                ok: false,
                timedOut: x.timedOut,
                signal: x.signal === null ? 0 : constants.signals[x.signal],
              });
          });
        },
        (e: Error) => {
          if (cancelled) return;
          opts.log(`Misc check ${cmd.argv[0]} could not be started: ${e.message}`);
          done({ ok: false, exitStatus: 127 });
        },
      );
    return () => {
      cancelled = true;
      kill?.();
    };
  };
  return (req, done) => {
    const at = locate(req);
    if (at === undefined) {
      queueMicrotask(() => done({ ok: false }));
      return () => {};
    }
    return at.checker.kind === "MISC_CHECK" ? misc(at, done) : net(at, req, done);
  };
}
