/**
 * TCP_CHECK's and HTTP_GET / SSL_GET's last step after a probe, as keepalived 2.2.7's check_tcp.c
 * (tcp_check_thread, tcp_epilog) and check_http.c (timeout_epilog, epilog, http_handle_response):
 * the retries, the checker going down or up with its state-change line, and — only with
 * `log_all_failures` (the checker's or the global `checker_log_all_failures`) — a line for each
 * failed attempt, made from the probe's journaled `reason`, for the checker machine
 * (checker.machine.ts). A probe that could not run (`rescheduled`: keepalived's `… socket bind
 * failed. Rescheduling.`) decides nothing: the next run after delay_loop. Pure.
 */

import type { ProbeResult } from "./checker.machine.ts";
import type { FinalStep } from "./checker-dns-smtp.ts";

/**
 * TCP_CHECK's reasons: how the connection failed, as check_tcp.c tells them apart. `timeout` and
 * `failed` (socket_state: ETIMEDOUT or the deadline, any other error) are logged as `TCP connection
 * to FMT_CHK timeout.|failed.`; `unreachable` is a connect() that failed at once (ENETUNREACH…:
 * tcp_connect_thread goes straight to tcp_epilog, without a line).
 */
export const TCP_REASON = { timeout: "timeout", failed: "failed", unreachable: "unreachable" } as const;

/**
 * HTTP_GET / SSL_GET's reasons: timeout_epilog's messages, each logged as `<reason> server FMT_CHK.`
 * (check_http.c, check_ssl.c; `noData` ends with a space, so keepalived's line has two).
 */
export const HTTP_REASON = {
  connectTimeout: "Timeout connecting",
  connectFailed: "Connection failed",
  unreachable: "HTTP_CHECK - network unreachable",
  handshake: "SSL handshake/communication error connecting to",
  sendFailed: "Cannot send get request to",
  responseTimeout: "Timeout WEB read",
  readTimeout: "Timeout HTTP read",
  sslReadTimeout: "Timeout SSL read",
  readError: "Read error with",
  sslReadError: "SSL read error from",
  noData: "Read, no data received from ",
  status: "HTTP status code error to",
  digest: "MD5 digest error to",
  regex: "Regex match failed",
} as const;

/** tcp_check_thread's line for a failed attempt, or null (a connect() that failed at once). */
export function tcpAttemptLine(rsName: string, res: ProbeResult): string | null {
  const reason = res.reason ?? (res.timedOut === true ? TCP_REASON.timeout : TCP_REASON.failed);
  if (reason === TCP_REASON.unreachable) return null;
  return `TCP connection to ${rsName} ${reason === TCP_REASON.timeout ? "timeout" : "failed"}.`;
}

/** timeout_epilog's line. Without a reason (a simulated server): the connect's timeout or failure. */
export const httpAttemptLine = (rsName: string, res: ProbeResult): string =>
  `${res.reason ?? (res.timedOut === true ? HTTP_REASON.connectTimeout : HTTP_REASON.connectFailed)} server ${rsName}.`;

const logsAll = (step: FinalStep): boolean => step.spec.logAllFailures === true;

/**
 * check_tcp.c tcp_check_thread then tcp_epilog: a failed attempt while the checker is up is logged
 * with log_all_failures; a failure is retried while `retry_it < retry`, then the checker goes down
 * (`TCP_CHECK on service … failed[ after N retries].`); a success while down or not yet run brings it
 * up (`TCP connection to … success.`).
 */
export function tcpFinal(step: FinalStep, res: ProbeResult): void {
  const { ch, spec } = step;
  if (res.rescheduled === true) return void step.schedule(spec.delayLoopUs);
  const success = res.ok;
  if (!success && ch.isUp && logsAll(step)) {
    const line = tcpAttemptLine(step.name, res);
    if (line !== null) step.log(line);
  }
  let delayUs: number;
  if (success || ch.retryIt >= spec.retry) {
    delayUs = spec.delayLoopUs;
    ch.retryIt = 0;
    if (success && (!ch.isUp || !ch.hasRun)) {
      step.log(`TCP connection to ${step.name} success.`);
      step.update(true);
    } else if (!success && (ch.isUp || !ch.hasRun)) {
      step.log(
        spec.retry > 0 && ch.hasRun
          ? `TCP_CHECK on service ${step.name} failed after ${spec.retry} retries.`
          : `TCP_CHECK on service ${step.name} failed.`,
      );
      step.update(false);
    }
  } else {
    delayUs = spec.delayBeforeRetryUs;
    ch.retryIt++;
  }
  ch.hasRun = true;
  step.schedule(delayUs);
}

/** check_http.c epilog: `method` is REGISTER_CHECKER_NEW / _RETRY / _FAILED. */
function httpEpilog(step: FinalStep, method: "new" | "retry" | "failed"): void {
  const { ch, spec } = step;
  const urlCount = Math.max(1, spec.urls.length);
  let done = false;
  if (method === "new") {
    if (ch.urlIt >= urlCount - 1) done = true;
    else ch.urlIt++;
    ch.retryIt = 0;
  } else if (method === "retry") ch.retryIt++;
  if (method === "new" && done && !ch.failedUrl) {
    if (!ch.isUp || !ch.hasRun) {
      step.log(`Remote Web server ${step.name} succeed on service.`);
      step.update(true);
      ch.hasRun = true;
    }
    ch.urlIt = 0;
    ch.retryIt = 0;
  } else if (method === "retry" && ch.retryIt > spec.retry) {
    if (ch.isUp || !ch.hasRun) {
      step.log(
        ch.hasRun && spec.retry > 0
          ? `HTTP_CHECK on service ${step.name} failed after ${ch.retryIt - 1} retries.`
          : `HTTP_CHECK on service ${step.name} failed.`,
      );
      step.update(false);
    }
    ch.failedUrl = true;
  } else if (method === "new" && ch.failedUrl) {
    ch.failedUrl = false;
    ch.urlIt = 0;
    ch.retryIt = 0;
  }
  let delayUs: number;
  if (method === "new") {
    delayUs = spec.delayLoopUs;
    if (!ch.hasRun) ch.retryIt = spec.retry;
  } else if (ch.failedUrl) delayUs = Math.max(spec.delayBeforeRetryUs, spec.delayLoopUs);
  else delayUs = spec.delayBeforeRetryUs;
  step.schedule(delayUs);
}

/**
 * http_handle_response's success, and timeout_epilog's failure: while the checker is up or has not
 * run, the attempt's line with log_all_failures, then a retry (epilog RETRY); while down, no line and
 * no retry (epilog FAILED).
 */
export function httpFinal(step: FinalStep, res: ProbeResult): void {
  const { ch, spec } = step;
  if (res.rescheduled === true) return void step.schedule(spec.delayLoopUs);
  if (res.ok) {
    const url = spec.urls[ch.urlIt];
    if (!ch.isUp)
      step.log(
        `${url?.hasRegex === true ? "Regex match" : url?.hasDigest ? "MD5 digest" : "HTTP status code"} success to ${step.name} url(${url?.path ?? "/"})`,
      );
    httpEpilog(step, "new");
  } else if (ch.isUp || !ch.hasRun) {
    if (logsAll(step)) step.log(httpAttemptLine(step.name, res));
    ch.hasRun = true;
    httpEpilog(step, "retry");
  } else httpEpilog(step, "failed");
}
