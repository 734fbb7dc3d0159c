/**
 * The production probe port of the checker host: maps a probe request (virtual server, real server,
 * checker) to its configured checker and runs it — TCP_CHECK, DNS_CHECK and HTTP_GET/SSL_GET on sockets
 * (net.probe.ts) with keepalived's virtualhost precedence (Host: url, checker, real server, virtual
 * server; SNI: url, checker, virtual server), the SSL block's client context (its files read once,
 * at the first SSL_GET probe; a file that cannot be loaded fails every SSL_GET probe, said once, where
 * keepalived's checker process exits), MISC_CHECK through the one process runner, run as its resolved user after
 * keepalived's script security check (a refused script is never run: its checker fails, said once).
 * MISC_CHECK's timeout (misc_timeout, else the virtual server's delay_loop) is the runner's: SIGTERM,
 * then SIGKILL, reported as `timedOut`. No checker's failed attempt is logged here: the socket
 * probes' `reason` goes with the result to the checker machine, which logs it when keepalived does
 * (with log_all_failures, or after the retries); only what keepalived logs at once (a bind failure,
 * an HTTP Content-Length that differs) is logged by the port. Not pure: sockets and child processes.
 */
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import type { SecureContext } from "node:tls";
import type { ProbeResult } from "../../machines/checker.machine.ts";
import type { Checker, Config, RealServer, SslSettings, VirtualServer } from "../config/types.ts";
import type { ProcessRunner, RunnerTimers } from "../effects/process-runner.ts";
import type { ScriptEnv } from "../effects/script-check.ts";
import { checkCommand } from "../effects/script-security.ts";
import { dnsProbe, dstPair } from "./dns.probe.ts";
import { httpProbe, type NetProbeResult, nodeTls, tcpProbe } from "./net.probe.ts";
import { smtpProbe } from "./smtp.probe.ts";
import { miscTimeoutUs, rsName, rsPort, runnableCheckers, vsName } from "./spec.ts";

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

/** check_http.c http_request_thread: the Host header's virtualhost, or null (then ip:port). */
export const hostVirtualhost = (vs: VirtualServer, rs: RealServer, c: Checker, url: number): string | null =>
  c.urls[url]?.virtualhost ?? c.virtualhost ?? rs.virtualhost ?? vs.virtualhost ?? null;

/** check_ssl.c ssl_connect: the SNI name with enable_sni — the real server's virtualhost is not used. */
export const sniName = (vs: VirtualServer, c: Checker, url: number): string | null =>
  c.enableSni ? (c.urls[url]?.virtualhost ?? c.virtualhost ?? vs.virtualhost ?? null) : null;

/**
 * check_ssl.c build_ssl_ctx: the certificate chain, the key (with the password), the CA file. The CA
 * is loaded, as keepalived loads it, but not used to verify (keepalived sets no verify mode).
 * Returns the context or keepalived's lines for the file that could not be loaded.
 */
export function sslContext(ssl: SslSettings | null): SecureContext | { error: string[] } {
  if (ssl === null) return nodeTls().createSecureContext({});
  const read = (file: string | null, what: string): Buffer | undefined => {
    if (file === null) return undefined;
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(
        `SSL error : Cant load ${what} file... (${file}: ${(e as NodeJS.ErrnoException).code})`,
      );
    }
  };
  try {
    const cert = read(ssl.certificate, "certificate");
    const key = read(ssl.key, "key");
    const ca = read(ssl.ca, "CA");
    return nodeTls().createSecureContext({
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(ssl.password === null ? {} : { passphrase: ssl.password }),
      ...(ca === undefined ? {} : { ca }),
    });
  } catch (e) {
    const first = (e as Error).message.startsWith("SSL error")
      ? (e as Error).message
      : `SSL error : ${(e as Error).message}`;
    return {
      error: [
        first,
        "Error Initialize SSL, ctx Instance",
        `  SSL  keyfile:${ssl.key ?? "(null)"}`,
        `  SSL password:${ssl.password === null ? "(null)" : "(set)"}`,
        `  SSL   cafile:${ssl.ca ?? "(null)"}`,
        "SSL_GET checks fail until the SSL block is fixed (keepalived's checker process exits here)",
      ],
    };
  }
}

/**
 * What the checker machine gets from a socket probe (journaled): the verdict, a timeout, and the
 * failure's `reason` (the machine logs it when keepalived does) or `rescheduled` (no verdict).
 */
export const probeOutcome = (r: NetProbeResult): ProbeResult => ({
  ok: r.ok,
  ...(r.timedOut === true ? { ok: false, timedOut: true } : {}),
  ...(r.ok || r.reason === undefined ? {} : { reason: r.reason }),
  ...(r.ok || r.rescheduled !== true ? {} : { rescheduled: true }),
});

export function createProbePort(
  opts: ProbePortOptions,
): (req: ProbeRequest, done: (r: ProbeResult) => void) => () => void {
  const refusedSaid = new Set<string>();
  let tls: SecureContext | { error: string[] } | undefined;
  /** Per url, the last Content-Length difference logged (keepalived's url->len_mismatch). */
  const lengthSaid = new Map<string, number>();
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
      bindPort: checker.bindPort,
      timeoutMs: Math.ceil(checker.connectTimeoutUs / 1000),
      label: rsName(vs, rs),
      ...(opts.timers === undefined ? {} : { timers: opts.timers }),
    };
    const report = (r: NetProbeResult): void => {
      for (const line of r.lines ?? []) opts.log(line);
      done(probeOutcome(r));
    };
    if (checker.kind === "TCP_CHECK") return tcpProbe(target, report);
    if (checker.kind === "DNS_CHECK")
      return dnsProbe({ ...target, type: checker.dnsType, name: checker.dnsName }, report);
    // SMTP_CHECK times each step itself (the machine arms no timeout for it: hasTimeoutTimer).
    if (checker.kind === "SMTP_CHECK")
      return smtpProbe(
        {
          ...target,
          helo: checker.heloName,
          realServer: dstPair({ host: rs.address, port: rsPort(vs, rs) }),
        },
        report,
      );
    const u = req.url ?? 0;
    const url = checker.urls[u];
    const isTls = checker.kind === "SSL_GET";
    if (isTls) {
      tls ??= sslContext(opts.config.global.ssl ?? null);
      if ("error" in tls) {
        if (!refusedSaid.has("ssl")) {
          refusedSaid.add("ssl");
          for (const line of tls.error) opts.log(line);
        }
        queueMicrotask(() => done({ ok: false }));
        return () => {};
      }
    }
    const urlKey = `${req.vs}.${req.rs}.${req.checker}.${u}`;
    const vhost = hostVirtualhost(vs, rs, checker, u);
    return httpProbe(
      {
        ...target,
        tls: isTls,
        path: url?.path ?? "/",
        statusCodes: url?.statusCode ?? null,
        digest: url?.digest ?? null,
        regex: url?.regex ?? null,
        virtualhost: vhost,
        protocol: checker.httpProtocol,
        servername: isTls ? sniName(vs, checker, u) : null,
        ...(isTls && tls !== undefined && !("error" in tls) ? { secureContext: tls } : {}),
      },
      (r) => {
        const m = r.lengthMismatch;
        const diff = m === undefined ? 0 : Number(m.contentLength) - m.received;
        if (m !== undefined && lengthSaid.get(urlKey) !== diff)
          opts.log(
            `http_check for RS ${rsName(vs, rs)} VS ${vsName(vs)} url ${url?.virtualhost ?? ""}${url?.path ?? "/"}: content_length (${m.contentLength}) does not match received bytes (${m.received})`,
          );
        if (r.ok || m !== undefined) lengthSaid.set(urlKey, diff);
        report(r);
      },
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
