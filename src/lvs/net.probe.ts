/**
 * The socket probes of the checkers: TCP_CHECK (a connect, closed at once) and HTTP_GET / SSL_GET
 * (keepalived's request `GET path HTTP/1.0` with `User-Agent: KeepAliveClient` and `Host: ip:port`,
 * the status code against `status_code` (default 200-299), and the MD5 of the body against
 * `digest`). Each probe reports once through `done` and closes its socket on every path: success,
 * refusal, error, garbage, a server that never answers or never closes (the probe's own deadline,
 * `timeoutMs`), and `cancel`. As in keepalived, HTTP's deadline applies to each step — the
 * connect, then each wait for data — so a slow page that keeps arriving passes. Headers are read up to 64 KiB; the body is hashed as it streams and
 * never kept. `detail` is keepalived's log_all_failures wording for the failure (`TCP connection
 * to [ip]:tcp:80 failed.`) with the reason. Not pure: sockets and timers.
 */
import { createHash } from "node:crypto";
import { isIP, type Socket, connect as tcpConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { RunnerTimers } from "../effects/process-runner.ts";

const processTimers: RunnerTimers = {
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface NetProbeResult {
  readonly ok: boolean;
  readonly timedOut?: boolean;
  /** Why it failed, for the log (undefined on success). */
  readonly detail?: string;
}

export interface NetTarget {
  readonly host: string;
  readonly port: number;
  /** bindto: the source address. */
  readonly bindTo: string | null;
  readonly timeoutMs: number;
  /** The deadline's timers (a Clock fits); default: the process timers. */
  readonly timers?: RunnerTimers;
  /** keepalived's FMT_CHK, for the detail lines. */
  readonly label: string;
}

export interface HttpTarget extends NetTarget {
  readonly tls: boolean;
  readonly path: string;
  /** `status_code` as parsed ("200-299 404"), null = 200-299. */
  readonly statusCodes: string | null;
  /** Lower-case or upper-case hex MD5 of the body, or null. */
  readonly digest: string | null;
}

const MAX_HEADER_BYTES = 64 * 1024;

/** Whether `code` is in a `status_code` list ("200-299 404"); null means 200-299. */
export function statusAccepted(code: number, statusCodes: string | null): boolean {
  for (const word of (statusCodes ?? "200-299").split(/\s+/)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(word);
    if (m === null) continue;
    const lo = Number(m[1]);
    const hi = Number(m[2] ?? m[1]);
    if (code >= lo && code <= hi) return true;
  }
  return false;
}

/** keepalived's request: HTTP/1.0, no Connection header; an IPv6 host in brackets. */
export const httpRequest = (path: string, host: string, port: number): string =>
  `GET ${path} HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: ${isIP(host) === 6 ? `[${host}]` : host}:${port}\r\n\r\n`;

/** Runs `start` with a one-shot `finish` that destroys the socket and clears the deadline. */
function guarded(
  target: NetTarget,
  done: (r: NetProbeResult) => void,
  start: (finish: (r: NetProbeResult) => void, rearm: () => void) => Socket,
  timeoutText: string,
): () => void {
  let finished = false;
  let socket: Socket | undefined;
  const timers = target.timers ?? processTimers;
  let timer: unknown;
  const finish = (r: NetProbeResult | null): void => {
    if (finished) return;
    finished = true;
    if (timer !== undefined) timers.clearTimeout(timer);
    socket?.destroy();
    if (r !== null) done(r);
  };
  if (isIP(target.host) === 0) {
    // Names are not resolved: keepalived's checkers take addresses only.
    queueMicrotask(() =>
      finish({ ok: false, detail: `${timeoutText} ${target.label}: '${target.host}' is not an IP address.` }),
    );
    return () => finish(null);
  }
  const expire = (): void =>
    finish({ ok: false, timedOut: true, detail: `${timeoutText} ${target.label} timeout.` });
  timer = timers.setTimeout(expire, target.timeoutMs);
  const rearm = (): void => {
    if (finished) return;
    timers.clearTimeout(timer);
    timer = timers.setTimeout(expire, target.timeoutMs);
  };
  try {
    socket = start(finish, rearm);
  } catch (e) {
    queueMicrotask(() =>
      finish({ ok: false, detail: `${timeoutText} ${target.label} failed: ${(e as Error).message}.` }),
    );
  }
  return () => finish(null);
}

const errText = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** TCP_CHECK: success once connected; the connection is closed at once. */
export function tcpProbe(target: NetTarget, done: (r: NetProbeResult) => void): () => void {
  return guarded(
    target,
    done,
    (finish) => {
      const s = tcpConnect({
        host: target.host,
        port: target.port,
        ...(target.bindTo === null ? {} : { localAddress: target.bindTo }),
      });
      s.once("connect", () => finish({ ok: true }));
      s.once("error", (e) =>
        finish({ ok: false, detail: `TCP connection to ${target.label} failed (${errText(e)}).` }),
      );
      return s;
    },
    "TCP connection to",
  );
}

/** HTTP_GET / SSL_GET for one url. */
export function httpProbe(target: HttpTarget, done: (r: NetProbeResult) => void): () => void {
  return guarded(
    target,
    done,
    (finish, rearm) => {
      const opts = {
        host: target.host,
        port: target.port,
        ...(target.bindTo === null ? {} : { localAddress: target.bindTo }),
      };
      // SSL_GET does not verify the server unless an SSL block names a CA (not supported yet).
      const s = target.tls ? tlsConnect({ ...opts, rejectUnauthorized: false }) : tcpConnect(opts);
      let header = Buffer.alloc(0);
      let status: number | undefined;
      let received = false;
      const md5 = createHash("md5");
      const fail = (why: string): void =>
        finish({ ok: false, detail: `${why} ${target.label} url(${target.path}).` });
      s.once(target.tls ? "secureConnect" : "connect", () => {
        rearm();
        s.write(httpRequest(target.path, target.host, target.port));
      });
      s.on("data", (chunk: Buffer) => {
        rearm();
        received = true;
        if (status !== undefined) return void md5.update(chunk);
        header = Buffer.concat([header, chunk]);
        const end = header.indexOf("\r\n\r\n");
        if (end < 0) {
          if (header.length > MAX_HEADER_BYTES) fail("HTTP header too long or garbage from");
          return;
        }
        const m = /^HTTP\/\d\.\d (\d{3})/.exec(header.subarray(0, end).toString("latin1"));
        if (m === null) return fail("Invalid HTTP status line from");
        status = Number(m[1]);
        md5.update(header.subarray(end + 4));
      });
      s.once("end", () => {
        if (!received) return fail("Read, no data received from");
        if (status === undefined) return fail("Invalid HTTP response from");
        if (!statusAccepted(status, target.statusCodes)) return fail(`HTTP status code error (${status}) to`);
        if (target.digest !== null && md5.digest("hex") !== target.digest.toLowerCase())
          return fail("MD5 digest error to");
        finish({ ok: true });
      });
      s.once("error", (e) => fail(`Read error (${errText(e)}) with server`));
      return s;
    },
    target.tls ? "SSL connection to" : "HTTP connection to",
  );
}
