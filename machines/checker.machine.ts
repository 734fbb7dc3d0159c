/**
 * The checker machine: one virtual server's health checkers, as keepalived 2.2.7's checker process
 * runs them (check_tcp.c tcp_epilog and check_http.c epilog/timeout_epilog in checker-tcp-http.ts,
 * check_dns.c dns_final and check_smtp.c smtp_final in checker-dns-smtp.ts, check_misc.c
 * misc_check_child_thread here — each failure line logged when keepalived logs it, every attempt's
 * with log_all_failures — and ipwrapper.c update_svr_checker_state), with the pool, quorum and IPVS
 * decisions of lvs-pool.ts. A step is `(spec, state, event) → (state', commands)`: timers leave as
 * `setTimer`/`cancelTimer` commands with our own ids (`check:R.C` starts a probe, `timeout:R.C` ends
 * one after connect_timeout), probes as `probe` commands whose results come back as `RESULT` events
 * (stale results, after a timeout or a stop, are ignored by their `seq`). The warmup draw comes in
 * with `START` from the host's seeded PRNG; times in with each event (`atUs`). Pure: no clock, no
 * randomness, no I/O; the input state is never mutated.
 */
import { dnsFinal, type FinalStep, smtpFinal } from "./checker-dns-smtp.ts";
import { httpFinal, tcpFinal } from "./checker-tcp-http.ts";
import {
  type CheckerSpec,
  type CheckerState,
  type LvsCommand,
  Pool,
  type PoolState,
  type RealServerState,
  type VirtualServerSpec,
} from "./lvs-pool.ts";

export type { CheckerSpec, LvsCommand, PoolState, RealServerSpec, VirtualServerSpec } from "./lvs-pool.ts";

/**
 * What a probe reports. MISC_CHECK: `exitStatus` or `signal` (with `timedOut` when we killed it).
 * The socket checkers: `reason`, the failure as keepalived's checker tells it (TCP_CHECK `timeout`,
 * HTTP_GET `Timeout WEB read`, DNS_CHECK `read timeout from socket`, SMTP_CHECK `Read timeout from
 * server [ip]:port`…): the machine logs it when keepalived does (`tcpAttemptLine`,
 * `httpAttemptLine`, `dnsFailureLine`, `smtpFailureLine`); `rescheduled` when the probe could not
 * run at all (keepalived's `… bind failed. Rescheduling.`): no verdict, the next run after delay_loop.
 */
export interface ProbeResult {
  readonly ok: boolean;
  readonly exitStatus?: number;
  readonly signal?: number;
  readonly timedOut?: boolean;
  readonly reason?: string;
  readonly rescheduled?: boolean;
}

export type CheckerEvent =
  /** `warmupDraws[i]`: 0..RAND_MAX for the i-th checker in configuration order (absent: 0). */
  | { readonly type: "START"; readonly atUs: number; readonly warmupDraws?: readonly number[] }
  | { readonly type: "TIMER"; readonly atUs: number; readonly id: string }
  | {
      readonly type: "RESULT";
      readonly atUs: number;
      readonly rs: number;
      readonly checker: number;
      readonly seq: number;
      readonly result: ProbeResult;
    }
  | { readonly type: "STOP"; readonly atUs: number };

export interface Step {
  readonly state: PoolState;
  readonly commands: readonly LvsCommand[];
}

/** glibc's RAND_MAX: keepalived scales the warmup by random() / RAND_MAX. */
export const RAND_MAX = 2_147_483_647;
/** scheduler.h BOOTSTRAP_DELAY: every checker starts 1 s after the checker process. */
export const BOOTSTRAP_DELAY_US = 1_000_000;

/**
 * Whether the machine times the probe out: TCP_CHECK and DNS_CHECK (one deadline for the whole
 * exchange). HTTP/SSL (a deadline per read), SMTP (per step) and MISC (misc_timeout) time themselves.
 */
export const machineTimesProbe = (kind: CheckerSpec["kind"]): boolean =>
  kind === "TCP_CHECK" || kind === "DNS_CHECK";
const hasTimeoutTimer = (spec: CheckerSpec): boolean => machineTimesProbe(spec.kind);

export const checkTimerId = (rs: number, checker: number): string => `check:${rs}.${checker}`;
export const timeoutTimerId = (rs: number, checker: number): string => `timeout:${rs}.${checker}`;

/** The state before START: keepalived's check_data.c defaults (alpha checkers start failed). */
export function initialPoolState(spec: VirtualServerSpec): PoolState {
  return {
    phase: "idle",
    quorumUp: false,
    sorryAlive: false,
    sorrySet: false,
    seq: 0,
    rs: spec.realServers.map(
      (r): RealServerState => ({
        alive: false,
        set: false,
        effectiveWeight: r.weight,
        numFailed: r.checkers.filter((c) => c.alpha).length,
        checkers: r.checkers.map(
          (c): CheckerState => ({
            isUp: !c.alpha,
            hasRun: false,
            // "For non alpha mode, one failure is enough initially."
            retryIt: c.retry,
            urlIt: 0,
            failedUrl: false,
            curWeight: 0,
            lastExitCode: 0,
            probing: 0,
            startedAtUs: 0,
          }),
        ),
      }),
    ),
  };
}

/**
 * check_misc.c's retry words after a failure: `, will do N retries` (the scheduled run failed),
 * ` on retry K/N` (a retry failed, not the last), ` after N retries` (the last: retry_it is back to
 * 0), ` with retry disabled` (retry 0).
 */
export function miscRetryText(retry: number, retryIt: number): string {
  const retries = `${retry} ${retry === 1 ? "retry" : "retries"}`;
  if (retry === 0) return " with retry disabled";
  if (retryIt === 1) return `, will do ${retries}`;
  if (retryIt > 1) return ` on retry ${retryIt - 1}/${retry}`;
  return ` after ${retries}`;
}

class Run {
  constructor(
    readonly pool: Pool,
    readonly atUs: number,
  ) {}

  get out(): LvsCommand[] {
    return this.pool.out;
  }

  spec(r: number, c: number): CheckerSpec {
    return this.pool.rsSpec(r).checkers[c] as CheckerSpec;
  }

  ch(r: number, c: number): CheckerState {
    return this.pool.rsState(r).checkers[c] as CheckerState;
  }

  /** FMT_CHK. */
  name(r: number): string {
    return this.pool.rsSpec(r).name;
  }

  schedule(r: number, c: number, delayUs: number): void {
    this.out.push({ type: "setTimer", id: checkTimerId(r, c), delayUs: Math.max(0, delayUs) });
  }

  /** ipwrapper.c set_checker_state. */
  setCheckerState(r: number, c: number, up: boolean): void {
    const ch = this.ch(r, c);
    if (ch.isUp === up) return;
    ch.isUp = up;
    const rs = this.pool.rsState(r);
    if (!up) rs.numFailed++;
    else if (rs.numFailed > 0) rs.numFailed--;
  }

  /** ipwrapper.c update_svr_checker_state. */
  updateServerChecker(r: number, c: number, alive: boolean): void {
    const ch = this.ch(r, c);
    if (ch.isUp === alive) {
      if (!ch.hasRun) {
        if (this.spec(r, c).alpha || !alive) this.pool.rsNotifies(r, false);
        ch.hasRun = true;
      }
      return;
    }
    ch.hasRun = true;
    const failed = this.pool.rsState(r).numFailed;
    if (alive ? failed <= 1 : failed === 0) this.pool.performServerState(r, alive);
    this.setCheckerState(r, c, alive);
  }

  launch(r: number, c: number): void {
    const ch = this.ch(r, c);
    const spec = this.spec(r, c);
    if (ch.probing !== 0) return;
    this.pool.st.seq++;
    ch.probing = this.pool.st.seq;
    ch.startedAtUs = this.atUs;
    const http = spec.kind === "HTTP_GET" || spec.kind === "SSL_GET";
    this.out.push({ type: "probe", rs: r, checker: c, seq: ch.probing, url: http ? ch.urlIt : null });
    // The connect's timeout is the machine's; HTTP/SSL (a timeout per read, keepalived's
    // thread_add_read) and MISC (misc_timeout) probes time themselves out and report it.
    if (hasTimeoutTimer(spec))
      this.out.push({ type: "setTimer", id: timeoutTimerId(r, c), delayUs: spec.connectTimeoutUs });
  }

  /** check_misc.c misc_check_child_thread after the script ended. */
  miscResult(r: number, c: number, res: ProbeResult): void {
    const ch = this.ch(r, c);
    const spec = this.spec(r, c);
    const rs = this.pool.rsState(r);
    // A run that could not start decides nothing, as for the socket checkers: the next after delay_loop.
    if (res.rescheduled === true)
      return void this.schedule(r, c, Math.max(1, ch.startedAtUs + spec.delayLoopUs - this.atUs));
    const status = res.exitStatus;
    let kind: "succeeded" | "failed" | "timed out" | null = null;
    let reason: string | null = null;
    let messageOnly = false;
    const success =
      status !== undefined && (status === 0 || (spec.miscDynamic && status >= 2 && status <= 255));
    if (success) {
      if (status !== ch.lastExitCode) {
        let weight = rs.effectiveWeight - ch.curWeight;
        ch.curWeight = status !== 0 ? status - 2 - this.pool.rsSpec(r).weight : 0;
        weight += ch.curWeight;
        this.pool.updateWeight(r, weight);
        ch.lastExitCode = status;
      }
      if (!ch.isUp || !ch.hasRun) kind = "succeeded";
      ch.retryIt = 0;
    } else if (ch.isUp || !ch.hasRun) {
      if (status !== undefined) {
        kind = "failed";
        reason = `exited with status ${status}`;
      } else if (res.timedOut) kind = "timed out";
      else {
        kind = "failed";
        reason = `due to signal ${res.signal ?? 0}`;
      }
      if (ch.retryIt < spec.retry) {
        ch.retryIt++;
        // A failure that will be retried: its line with log_all_failures (message_only), else silence.
        if (spec.logAllFailures === true) messageOnly = true;
        else kind = null;
      } else {
        ch.retryIt = 0;
        if (status !== undefined) {
          rs.effectiveWeight -= ch.curWeight;
          ch.curWeight = 0;
          ch.lastExitCode = status;
        }
      }
    }
    if (kind !== null) {
      const message = kind === "succeeded" ? "" : miscRetryText(spec.retry, ch.retryIt);
      this.pool.log(
        `Misc check for [${this.name(r)} VS ${this.pool.spec.name}] by [${spec.miscPath}] ${kind}${message}${reason === null ? "" : ` (${reason})`}.`,
      );
      if (!messageOnly) {
        this.updateServerChecker(r, c, kind === "succeeded");
        if (kind !== "succeeded") ch.curWeight = 0;
      }
    }
    // The next run counts from the start of this one (last_ran), at least 1 µs ahead.
    const intervalUs = ch.retryIt > 0 ? spec.delayBeforeRetryUs : spec.delayLoopUs;
    this.schedule(r, c, Math.max(1, ch.startedAtUs + intervalUs - this.atUs));
  }

  /** What the final steps (checker-tcp-http.ts, checker-dns-smtp.ts) work on: checker `c` of real server `r`. */
  final(r: number, c: number): FinalStep {
    return {
      ch: this.ch(r, c),
      spec: this.spec(r, c),
      name: this.name(r),
      log: (line) => this.pool.log(line),
      schedule: (delayUs) => this.schedule(r, c, delayUs),
      update: (alive) => this.updateServerChecker(r, c, alive),
    };
  }

  result(r: number, c: number, res: ProbeResult): void {
    const kind = this.spec(r, c).kind;
    if (kind === "MISC_CHECK") this.miscResult(r, c, res);
    else if (kind === "HTTP_GET" || kind === "SSL_GET") httpFinal(this.final(r, c), res);
    else if (kind === "SMTP_CHECK") smtpFinal(this.final(r, c), res);
    else if (kind === "DNS_CHECK") dnsFinal(this.final(r, c), res);
    else tcpFinal(this.final(r, c), res);
  }
}

const parseTimer = (id: string): { kind: string; r: number; c: number } | undefined => {
  const m = /^(check|timeout):(\d+)\.(\d+)$/.exec(id);
  return m === null ? undefined : { kind: m[1] as string, r: Number(m[2]), c: Number(m[3]) };
};

/** One step of the machine. Unknown timers, unknown checkers and stale results change nothing. */
export function stepPool(spec: VirtualServerSpec, state: PoolState, event: CheckerEvent): Step {
  const st = structuredClone(state);
  const out: LvsCommand[] = [];
  const run = new Run(new Pool(spec, st, out), event.atUs);
  const valid = (r: number, c: number): boolean =>
    st.rs[r]?.checkers[c] !== undefined && spec.realServers[r]?.checkers[c] !== undefined;
  switch (event.type) {
    case "START": {
      if (st.phase !== "idle") return { state, commands: [] };
      st.phase = "running";
      run.pool.start();
      let i = 0;
      spec.realServers.forEach((rs, r) => {
        rs.checkers.forEach((ch, c) => {
          out.push({
            type: "log",
            line: `Activating healthchecker for service ${rs.name} for VS ${spec.name}`,
          });
          // SMTP_CHECK's first run is smtp_start_check_thread, which resets retry_it.
          if (ch.kind === "SMTP_CHECK") run.ch(r, c).retryIt = 0;
          const draw = Math.min(Math.max(Math.trunc(event.warmupDraws?.[i++] ?? 0), 0), RAND_MAX);
          // keepalived's unsigned 64-bit `warmup * random() / RAND_MAX`, exact (doubles would round).
          const warmupUs = Number((BigInt(ch.warmupUs) * BigInt(draw)) / BigInt(RAND_MAX));
          run.schedule(r, c, BOOTSTRAP_DELAY_US + warmupUs);
        });
      });
      break;
    }
    case "TIMER": {
      const t = parseTimer(event.id);
      if (st.phase !== "running" || t === undefined || !valid(t.r, t.c)) return { state, commands: [] };
      const ch = run.ch(t.r, t.c);
      if (t.kind === "check") run.launch(t.r, t.c);
      else if (ch.probing !== 0) {
        out.push({ type: "cancelProbe", rs: t.r, checker: t.c, seq: ch.probing });
        ch.probing = 0;
        run.result(t.r, t.c, { ok: false, timedOut: true });
      } else return { state, commands: [] };
      break;
    }
    case "RESULT": {
      if (st.phase !== "running" || !valid(event.rs, event.checker)) return { state, commands: [] };
      const ch = run.ch(event.rs, event.checker);
      if (ch.probing === 0 || ch.probing !== event.seq) return { state, commands: [] };
      ch.probing = 0;
      if (hasTimeoutTimer(run.spec(event.rs, event.checker)))
        out.push({ type: "cancelTimer", id: timeoutTimerId(event.rs, event.checker) });
      run.result(event.rs, event.checker, event.result);
      break;
    }
    case "STOP": {
      if (st.phase !== "running") {
        st.phase = "stopped";
        return { state: st, commands: [] };
      }
      st.phase = "stopped";
      st.rs.forEach((rs, r) => {
        rs.checkers.forEach((ch, c) => {
          out.push({ type: "cancelTimer", id: checkTimerId(r, c) });
          if (ch.probing !== 0) {
            if (hasTimeoutTimer(run.spec(r, c))) out.push({ type: "cancelTimer", id: timeoutTimerId(r, c) });
            out.push({ type: "cancelProbe", rs: r, checker: c, seq: ch.probing });
            ch.probing = 0;
          }
        });
      });
      run.pool.stop();
      break;
    }
  }
  return { state: st, commands: out };
}
