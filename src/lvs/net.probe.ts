/**
 * The socket probes of the checkers: TCP_CHECK (a connect, closed at once) and HTTP_GET / SSL_GET
 * with keepalived's request (check_http.c: `GET path HTTP/1.0|1.1`, `User-Agent: KeepAliveClient`,
 * `Connection: close` for http_protocol 1.0C and 1.1, `Host: virtualhost` or `Host: ip:port`), the
 * status code as keepalived extracts it (lib/html.c: three digits between spaces on the first line)
 * against `status_code` (default 200-299), and the MD5 of the body (at most Content-Length bytes)
 * against `digest`, then the url's `regex` (regexPasses). SSL_GET sends the server name when asked (enable_sni) and presents the SSL
 * block's client certificate; like keepalived, it never verifies the server's certificate.
 * Each probe reports once through `done` and closes its socket on every path: success, refusal,
 * error, a bind or TLS handshake failure, garbage, a server that never answers or never closes (the
 * probe's own deadline, `timeoutMs`), and `cancel`. As in keepalived, HTTP's deadline applies to
 * each step — the connect, then each wait for data — so a slow page that keeps arriving passes.
 * The header must end within keepalived's 4095-byte buffer; the body is hashed as it streams and
 * never kept. A failure's `reason` is keepalived's words for it (TCP_REASON, HTTP_REASON); nothing
 * is logged per attempt here. Not pure: sockets and timers.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { isIP, type Socket, connect as tcpConnect } from "node:net";
import type { SecureContext, TLSSocket } from "node:tls";
import { HTTP_REASON, TCP_REASON } from "../../machines/checker-tcp-http.ts";
import type { RunnerTimers } from "../effects/process-runner.ts";
import { canonicalAddress } from "../protocol/address.ts";
import { connectEnd } from "./errno-text.ts";

const requireBuiltin = createRequire(import.meta.url);
/**
 * node:tls, loaded by the first TLS check. An ESM import of it reads every export at once, so the
 * daemon would build Node's list of root certificates (0.2 MB, never used: checks do not verify)
 * whenever this module is loaded, LVS configured or not.
 */
export const nodeTls = (): typeof import("node:tls") =>
  requireBuiltin("node:tls") as typeof import("node:tls");

const processTimers: RunnerTimers = {
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface NetProbeResult {
  readonly ok: boolean;
  readonly timedOut?: boolean;
  /**
   * Why it failed, as keepalived's checker tells it (TCP_REASON, HTTP_REASON, dns_final's and
   * smtp_final's messages): the checker machine logs it when keepalived does (with log_all_failures,
   * or after the retries), never the port.
   */
  readonly reason?: string;
  /** The probe could not run (keepalived's `… Rescheduling.`): no verdict. */
  readonly rescheduled?: boolean;
  /** Lines keepalived logs at once for this attempt (a bind failure), whatever the checker's state. */
  readonly lines?: readonly string[];
  /** HTTP: the body's length differs from Content-Length (keepalived logs it; the check is unaffected). */
  readonly lengthMismatch?: { readonly contentLength: string; readonly received: number };
}

export interface NetTarget {
  readonly host: string;
  readonly port: number;
  /** bindto: the source address. */
  readonly bindTo: string | null;
  /** bind_port: the source port, used with bindto only (keepalived binds only when bindto is set). */
  readonly bindPort?: number | null;
  readonly timeoutMs: number;
  /** The deadline's timers (a Clock fits); default: the process timers. */
  readonly timers?: RunnerTimers;
  /** keepalived's FMT_CHK, for the detail lines. */
  readonly label: string;
}

export type HttpProtocol = "1.0" | "1.0C" | "1.1";

export interface HttpTarget extends NetTarget {
  readonly tls: boolean;
  readonly path: string;
  /** `status_code` as parsed ("200-299 404"), null = 200-299. */
  readonly statusCodes: string | null;
  /** Lower-case or upper-case hex MD5 of the body, or null. */
  readonly digest: string | null;
  /** The Host header's virtualhost (url, checker, real server, virtual server), or null: ip:port. */
  readonly virtualhost?: string | null;
  readonly protocol?: HttpProtocol;
  /** SSL_GET: the SNI server name (enable_sni), or null for none. */
  readonly servername?: string | null;
  /** SSL_GET: the SSL block's context (client certificate, key, CA). */
  readonly secureContext?: SecureContext;
  /** The url's regex (keepalived built with REGEX), matched on the response from its first byte. */
  readonly regex?: HttpRegex | null;
}

export interface HttpRegex {
  readonly pattern: string;
  readonly flags: string;
  readonly noMatch: boolean;
  readonly minOffset: number;
  /** The last offset a match may start at, or null. */
  readonly maxOffset: number | null;
}

/** How much of a response a regex sees: keepalived streams; Vigil keeps this much of it. */
export const REGEX_MAX_BYTES = 4 * 1024 * 1024;

/**
 * check_http.c check_regex, on the response as one subject (header and body, as keepalived's first
 * buffer holds them): the first match at or after regex_min_offset counts if it starts by
 * regex_max_offset. The check passes when matching differs from regex_no_match.
 */
export function regexPasses(r: HttpRegex, response: Buffer): boolean {
  const subject = response.toString(r.flags.includes("u") ? "utf8" : "latin1");
  const re = new RegExp(r.pattern, `${r.flags}g`);
  re.lastIndex = r.minOffset;
  const m = re.exec(subject);
  const matched = m !== null && (r.maxOffset === null || m.index <= r.maxOffset);
  return matched !== r.noMatch;
}

/** keepalived's response buffer (MAX_BUFFER_LENGTH − 1): the header must end within it. */
export const MAX_HEADER_BYTES = 4095;
/** keepalived's request buffer (GET_BUFFER_LENGTH): a longer request is cut, as snprintf cuts it. */
const MAX_REQUEST_BYTES = 2047;

/** Whether `code` is in a `status_code` list ("200-299 404"); null means 200-299. */
export function statusAccepted(code: number, statusCodes: string | null): boolean {
  for (const word of (statusCodes ?? "200-299").split(/\s+/)) {
    const m = /^\+?(\d+)(?:-\+?(\d+))?$/.exec(word);
    if (m === null) continue;
    const lo = Number(m[1]);
    const hi = Number(m[2] ?? m[1]);
    if (code >= lo && code <= hi) return true;
  }
  return false;
}

/**
 * lib/html.c extract_status_code: the first word ends at a space (a CR first: no code), then three
 * digits and a space. Anything else is code 0, which no status_code accepts.
 */
export function extractStatusCode(header: string): number {
  const m = /^[^ \r]* (\d{3}) /.exec(header);
  return m === null ? 0 : Number(m[1]);
}

/**
 * lib/html.c extract_content_length: the first `Content-Length:` (case as written), strtoul's
 * number, then the end of the line; otherwise none. A negative value wraps as in C.
 */
export function extractContentLength(header: string): { value: number; text: string } | null {
  const at = header.indexOf("Content-Length:");
  if (at < 0) return null;
  const rest = header.slice(at + 15);
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(rest);
  const next = m === null ? rest[0] : rest[m[0].length];
  if (next !== undefined && next !== "\r" && next !== "\n") return null;
  if (m === null) return { value: 0, text: "0" };
  const max = (1n << 64n) - 1n;
  let v = BigInt(m[2] ?? "0");
  if (v >= max) return null; // strtoul saturates at ULONG_MAX = SIZE_MAX: no length
  if (m[1] === "-" && v !== 0n) v = max + 1n - v;
  return {
    value: v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v),
    text: String(v),
  };
}

/**
 * keepalived's request (check_http.c request_template): HTTP/1.1 for 1.1, `Connection: close` for
 * 1.0C and 1.1; `Host:` the virtualhost as written (no port) or the destination `ip:port` (an IPv6
 * address in brackets, in inet_ntop's form).
 */
export function httpRequest(
  path: string,
  host: string,
  port: number,
  virtualhost: string | null = null,
  protocol: HttpProtocol = "1.0",
): string {
  const family = isIP(host) === 6 ? 6 : 4;
  const ip = canonicalAddress(host, family) ?? host;
  const hostText = virtualhost ?? (family === 6 ? `[${ip}]:${port}` : `${ip}:${port}`);
  const connection = protocol === "1.0" ? "" : "Connection: close\r\n";
  const request = `GET ${path} HTTP/1.${protocol === "1.1" ? 1 : 0}\r\nUser-Agent: KeepAliveClient\r\n${connection}Host: ${hostText}\r\n\r\n`;
  const bytes = Buffer.from(request, "utf8");
  return bytes.length <= MAX_REQUEST_BYTES
    ? request
    : bytes.subarray(0, MAX_REQUEST_BYTES).toString("latin1");
}

/** A probe that could not run (keepalived's `… Rescheduling.`): no verdict, keepalived's lines. */
const rescheduled = (lines: readonly string[]): NetProbeResult => ({ ok: false, rescheduled: true, lines });

/**
 * Runs `start` with a one-shot `finish` that destroys the socket and clears the deadline (then
 * `onDeadline` says how the probe ended). `atOnce()` tells, once the socket has failed, whether
 * connect() (or bind()) failed in the call itself: Node makes that call on the next tick after
 * `connect` for an address, and destroys the socket in it when the call fails, before any I/O.
 */
function guarded(
  target: NetTarget,
  done: (r: NetProbeResult) => void,
  start: (finish: (r: NetProbeResult) => void, rearm: () => void, atOnce: () => boolean) => Socket,
  onDeadline: () => NetProbeResult,
  what: string,
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
  const notIp = [target.host, target.bindTo].find((a) => a !== null && isIP(a) === 0);
  if (notIp !== undefined) {
    // Names are not resolved: keepalived's checkers take addresses only.
    queueMicrotask(() => finish(rescheduled([`${what} ${target.label}: '${notIp}' is not an IP address.`])));
    return () => finish(null);
  }
  const expire = (): void => finish(onDeadline());
  timer = timers.setTimeout(expire, target.timeoutMs);
  const rearm = (): void => {
    if (finished) return;
    timers.clearTimeout(timer);
    timer = timers.setTimeout(expire, target.timeoutMs);
  };
  let failedAtOnce = false;
  try {
    socket = start(finish, rearm, () => failedAtOnce);
    const s = socket;
    process.nextTick(() => {
      failedAtOnce = s.destroyed && !finished;
    });
  } catch (e) {
    queueMicrotask(() => finish(rescheduled([`${what} ${target.label} failed: ${(e as Error).message}.`])));
  }
  return () => finish(null);
}

/** The connect options: keepalived binds the socket only when bindto is set (then with bind_port). */
const socketOptions = (t: NetTarget) => ({
  host: t.host,
  port: t.port,
  ...(t.bindTo === null ? {} : { localAddress: t.bindTo }),
  ...(t.bindTo === null || t.bindPort == null ? {} : { localPort: t.bindPort }),
});

/**
 * TCP_CHECK: success once connected; the connection is closed at once. A failure's `reason` is
 * TCP_REASON's (`timeout`, `failed`, `unreachable`); a bind failure or another error of connect()
 * itself is no verdict, with keepalived's lines (check_tcp.c tcp_connect_thread).
 */
export function tcpProbe(target: NetTarget, done: (r: NetProbeResult) => void): () => void {
  const timeout: NetProbeResult = { ok: false, timedOut: true, reason: TCP_REASON.timeout };
  return guarded(
    target,
    done,
    (finish, _rearm, atOnce) => {
      const s = tcpConnect(socketOptions(target));
      s.once("connect", () => finish({ ok: true }));
      s.once("error", (e: NodeJS.ErrnoException) => {
        const end = connectEnd(e, atOnce());
        const again = "TCP socket bind failed. Rescheduling.";
        if (end.kind === "bind") return finish(rescheduled([`Checker bind failed: ${end.text}`, again]));
        if (end.kind === "error") return finish(rescheduled([again]));
        if (end.kind === "timeout") return finish(timeout);
        finish({
          ok: false,
          reason: end.kind === "unreachable" ? TCP_REASON.unreachable : TCP_REASON.failed,
        });
      });
      return s;
    },
    () => timeout,
    "TCP connection to",
  );
}

/**
 * HTTP_GET / SSL_GET for one url. A failure's `reason` is timeout_epilog's message for the step it
 * failed at (HTTP_REASON): the connect, the TLS handshake, the request, the first read (`Timeout WEB
 * read`; over TLS 1.3 the server's session tickets come first, so keepalived is already reading:
 * `Timeout SSL read`), the later reads, the end of the response (no header: `Read, no data received
 * from `; over TLS, a close without a header is `SSL read error from`), the status, the digest, the
 * regex. A bind failure or another error of connect() itself is no verdict, with keepalived's lines
 * (check_http.c http_connect_thread).
 */
export function httpProbe(target: HttpTarget, done: (r: NetProbeResult) => void): () => void {
  let connected = false;
  let secured = !target.tls;
  let received = false;
  let tlsVersion: string | null = null;
  const failure = (reason: string, timedOut = false): NetProbeResult => ({
    ok: false,
    ...(timedOut ? { timedOut: true } : {}),
    reason,
  });
  const onDeadline = (): NetProbeResult => {
    if (!connected || !secured) return failure(HTTP_REASON.connectTimeout, true);
    if (received) return failure(target.tls ? HTTP_REASON.sslReadTimeout : HTTP_REASON.readTimeout, true);
    return failure(
      target.tls && tlsVersion === "TLSv1.3" ? HTTP_REASON.sslReadTimeout : HTTP_REASON.responseTimeout,
      true,
    );
  };
  return guarded(
    target,
    done,
    (finish, rearm, atOnce) => {
      const opts = socketOptions(target);
      // keepalived never verifies the server's certificate (check_ssl.c sets no verify mode).
      const s = target.tls
        ? nodeTls().connect({
            ...opts,
            rejectUnauthorized: false,
            ...(target.secureContext === undefined ? {} : { secureContext: target.secureContext }),
            ...(target.servername == null ? {} : { servername: target.servername }),
          })
        : tcpConnect(opts);
      let header = Buffer.alloc(0);
      let status: number | undefined;
      let contentLength: { value: number; text: string } | null = null;
      let bodyBytes = 0;
      const md5 = createHash("md5");
      const regex = target.regex ?? null;
      const kept: Buffer[] = [];
      let keptBytes = 0;
      const fail = (reason: string): void => finish(failure(reason));
      const body = (chunk: Buffer): void => {
        const room = contentLength === null ? chunk.length : Math.max(0, contentLength.value - bodyBytes);
        if (target.digest !== null && room > 0) md5.update(chunk.subarray(0, Math.min(room, chunk.length)));
        bodyBytes += chunk.length;
      };
      /** http_handle_response, on the response read so far. */
      const respond = (): void => {
        if (status === undefined) return void fail(HTTP_REASON.noData);
        if (status < 100 || status > 599 || !statusAccepted(status, target.statusCodes))
          return void fail(HTTP_REASON.status);
        const mismatch =
          contentLength !== null && contentLength.text !== String(bodyBytes)
            ? { lengthMismatch: { contentLength: contentLength.text, received: bodyBytes } }
            : {};
        const why =
          target.digest !== null && md5.digest("hex") !== target.digest.toLowerCase()
            ? HTTP_REASON.digest
            : regex !== null && !regexPasses(regex, Buffer.concat(kept))
              ? HTTP_REASON.regex
              : undefined;
        if (why !== undefined) return void finish({ ...failure(why), ...mismatch });
        finish({ ok: true, ...mismatch });
      };
      s.once("connect", () => {
        connected = true;
        rearm();
      });
      s.once(target.tls ? "secureConnect" : "connect", () => {
        connected = true;
        secured = true;
        if (target.tls) tlsVersion = (s as TLSSocket).getProtocol();
        rearm();
        s.write(
          httpRequest(target.path, target.host, target.port, target.virtualhost ?? null, target.protocol),
        );
      });
      s.on("data", (chunk: Buffer) => {
        rearm();
        received = true;
        if (regex !== null && keptBytes < REGEX_MAX_BYTES) {
          kept.push(chunk.subarray(0, REGEX_MAX_BYTES - keptBytes));
          keptBytes += Math.min(chunk.length, REGEX_MAX_BYTES - keptBytes);
        }
        if (status !== undefined) return body(chunk);
        header = Buffer.concat([header, chunk]);
        const end = header.indexOf("\r\n\r\n");
        if (end < 0 || end + 4 > MAX_HEADER_BYTES) {
          // keepalived's full buffer reads 0 bytes, its end of stream: no header, no data.
          if (header.length >= MAX_HEADER_BYTES) fail(HTTP_REASON.noData);
          return;
        }
        const text = header.subarray(0, end + 2).toString("latin1");
        status = extractStatusCode(text);
        contentLength = extractContentLength(text);
        body(header.subarray(end + 4));
      });
      // Over TLS, a close without a header is check_ssl.c's `SSL read error from` (close_notify).
      s.once("end", () => (target.tls && status === undefined ? fail(HTTP_REASON.sslReadError) : respond()));
      s.once("error", (e: NodeJS.ErrnoException) => {
        if (!connected) {
          const end = connectEnd(e, atOnce());
          const again = "WEB socket bind failed. Rescheduling";
          if (end.kind === "bind") return finish(rescheduled([`Checker bind failed: ${end.text}`, again]));
          if (end.kind === "error") return finish(rescheduled([again]));
          if (end.kind === "unreachable") return fail(HTTP_REASON.unreachable);
          return fail(end.kind === "timeout" ? HTTP_REASON.connectTimeout : HTTP_REASON.connectFailed);
        }
        if (!secured) return fail(HTTP_REASON.handshake);
        if (e.syscall === "write" && !received) return fail(HTTP_REASON.sendFailed);
        // A TLS read that fails is an end without close_notify: the response as read so far.
        if (target.tls) return respond();
        fail(HTTP_REASON.readError);
      });
      return s;
    },
    onDeadline,
    target.tls ? "SSL connection to" : "HTTP connection to",
  );
}
