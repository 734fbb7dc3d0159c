/**
 * DNS_CHECK's and SMTP_CHECK's last step after a probe, as keepalived 2.2.7's check_dns.c dns_final
 * and check_smtp.c smtp_final: when a failure is retried, when the checker goes down or up, and when
 * the failure line is logged — with the probe's `reason`, in keepalived's words; every attempt's with
 * log_all_failures — for the checker machine (checker.machine.ts). Pure.
 */
import type { ProbeResult } from "./checker.machine.ts";
import type { CheckerSpec, CheckerState } from "./lvs-pool.ts";

/** One checker as the final step sees it (the machine's Run provides it). */
export interface FinalStep {
  readonly ch: CheckerState;
  readonly spec: CheckerSpec;
  /** FMT_CHK: the real server's name. */
  readonly name: string;
  log(line: string): void;
  /** The checker's next run after `delayUs`. */
  schedule(delayUs: number): void;
  /** ipwrapper.c update_svr_checker_state. */
  update(alive: boolean): void;
}

/** A real server's FMT_RS (`[ip]:tcp:80`) as `[ip]:80`, SMTP_CHECK's FMT_SMTP_RS of an unset connect_ip/port. */
export const smtpServer = (rsName: string): string => rsName.replace(/^(\[[^\]]*\]):[a-z]+:(\d+)$/, "$1:$2");

/**
 * DNS_CHECK's failure line (check_dns.c dns_final via dns_log_message): `DNS_CHECK (FMT_CHK) reason`,
 * with ` after N retries` once the checker has run. Without a reason from the probe (a machine
 * timeout, a simulated server): the read timeout's message, else the failed connection's.
 */
export const dnsFailureLine = (rsName: string, res: ProbeResult, afterRetries: number | null): string =>
  `DNS_CHECK (${rsName}) ${res.reason ?? (res.timedOut === true ? "read timeout from socket" : "connection error.")}${afterRetries === null ? "" : ` after ${afterRetries} retries`}`;

/**
 * SMTP_CHECK's failure line (check_smtp.c smtp_final): `SMTP_CHECK reason`. Without a reason from the
 * probe (a simulated server): the connect timeout's or the failed connection's message.
 */
export const smtpFailureLine = (rsName: string, res: ProbeResult): string =>
  `SMTP_CHECK ${res.reason ?? `${res.timedOut === true ? "Connection timeout to" : "Could not connect to"} server ${smtpServer(rsName)}`}`;

/**
 * check_dns.c dns_final. A failure while the checker is up (or has not run) is retried while
 * `retry_it < retry`, silently (logged without the suffix with log_all_failures); the last one logs `DNS_CHECK (…) reason` (` after N retries` once it
 * has run) and takes the checker down. A failure while down: no line, no retry, delay_loop. No
 * success line. A probe that could not run (`rescheduled`) tries again after delay_loop, counting
 * nothing (dns_connect_thread's `Rescheduling.`).
 */
export function dnsFinal(step: FinalStep, res: ProbeResult): void {
  const { ch, spec } = step;
  if (res.rescheduled === true) return void step.schedule(spec.delayLoopUs);
  if (!res.ok) {
    if (ch.isUp || !ch.hasRun) {
      const last = ch.retryIt >= spec.retry;
      if (last || spec.logAllFailures === true)
        step.log(dnsFailureLine(step.name, res, ch.hasRun && last ? spec.retry : null));
      if (ch.retryIt < spec.retry) {
        ch.retryIt++;
        ch.hasRun = true;
        step.schedule(spec.delayBeforeRetryUs);
        return;
      }
      step.update(false);
    }
  } else if (!ch.isUp || !ch.hasRun) step.update(true);
  ch.retryIt = 0;
  step.schedule(spec.delayLoopUs);
}

/**
 * check_smtp.c smtp_final: a failure logs `SMTP_CHECK reason` only while the checker is up (or has
 * not run) and its retries are spent (`retry_it >= retry`) or log_all_failures is set; it is retried while `++retry_it <=
 * retry` (also while down, silently); then the real server goes down and the next run comes after
 * delay_loop from smtp_start_check_thread, which resets retry_it — so does the first run, at START
 * (keepalived's "one failure is enough initially" does not hold for SMTP_CHECK). A probe that could
 * not run (`rescheduled`): the next run after delay_loop, from the start thread too.
 */
export function smtpFinal(step: FinalStep, res: ProbeResult): void {
  const { ch, spec } = step;
  if (res.rescheduled === true) {
    ch.retryIt = 0;
    return void step.schedule(spec.delayLoopUs);
  }
  if (!res.ok) {
    if ((ch.isUp || !ch.hasRun) && (ch.retryIt >= spec.retry || spec.logAllFailures === true))
      step.log(smtpFailureLine(step.name, res));
    if (++ch.retryIt <= spec.retry) {
      step.schedule(spec.delayBeforeRetryUs);
      return;
    }
    if (ch.isUp || !ch.hasRun) step.update(false);
    ch.retryIt = 0;
    step.schedule(spec.delayLoopUs);
    return;
  }
  ch.retryIt = 0;
  if (!ch.isUp || !ch.hasRun) {
    step.log(`Remote SMTP server ${step.name} succeed on service.`);
    step.update(true);
  }
  ch.hasRun = true;
  step.schedule(spec.delayLoopUs);
}
