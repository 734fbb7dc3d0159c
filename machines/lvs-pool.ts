/**
 * The pool side of keepalived's checker process (check/ipwrapper.c, ipvswrapper.c ipvs_cmd): which
 * real servers are alive and set in IPVS, their effective weights, the virtual server's quorum with
 * hysteresis, the sorry server, inhibit_on_failure (weight 0 instead of removal), and the notify
 * scripts and FIFO lines that go with each change. The checker machine (checker.machine.ts) calls
 * these when a checker changes state. Decisions leave as data (`LvsCommand`); nothing is performed
 * here. Works on a mutable draft of the state that the caller cloned. Pure.
 */

/** One checker of a real server, as the machine needs it (resolved from the configuration). */
export interface CheckerSpec {
  readonly kind: "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK" | "SMTP_CHECK" | "DNS_CHECK";
  readonly delayLoopUs: number;
  /** connect_timeout (TCP/HTTP/SSL/SMTP/DNS); MISC_CHECK's timeout is run by the process runner. */
  readonly connectTimeoutUs: number;
  readonly retry: number;
  readonly delayBeforeRetryUs: number;
  /** The random initial delay's upper bound (keepalived: warmup, default delay_loop). */
  readonly warmupUs: number;
  readonly alpha: boolean;
  /** `log_all_failures` (or the global `checker_log_all_failures`): a line for every failed attempt. */
  readonly logAllFailures?: boolean;
  /** HTTP_GET/SSL_GET urls: the path and whether a digest or a regex is checked (the success log names it). */
  readonly urls: readonly {
    readonly path: string;
    readonly hasDigest: boolean;
    readonly hasRegex?: boolean;
  }[];
  /** MISC_CHECK: the script's argv[0] for the log lines, and misc_dynamic. */
  readonly miscPath: string;
  readonly miscDynamic: boolean;
}

export interface RealServerSpec {
  /** keepalived's FMT_RS: `[198.18.0.2]:tcp:80`. */
  readonly name: string;
  readonly weight: number;
  readonly inhibit: boolean;
  readonly hasNotifyUp: boolean;
  readonly hasNotifyDown: boolean;
  readonly checkers: readonly CheckerSpec[];
}

export interface VirtualServerSpec {
  /** keepalived's FMT_VS: `[198.18.0.100]:tcp:80`, `FWM 7`, `[G1]:0`. */
  readonly name: string;
  readonly quorum: number;
  readonly hysteresis: number;
  readonly hasQuorumUp: boolean;
  readonly hasQuorumDown: boolean;
  readonly omega: boolean;
  /** The sorry server's FMT_RS and weight, or null. */
  readonly sorry: { readonly name: string; readonly weight: number } | null;
  readonly realServers: readonly RealServerSpec[];
}

/** `rs`: a real server's index, or -1 for the sorry server. */
export type LvsCommand =
  | { readonly type: "ipvs"; readonly op: "addService" | "delService" }
  | {
      readonly type: "ipvs";
      readonly op: "addDest" | "editDest" | "delDest";
      readonly rs: number;
      readonly weight: number;
    }
  | {
      readonly type: "lvsNotify";
      readonly script: "notifyUp" | "notifyDown" | "quorumUp" | "quorumDown";
      readonly rs: number | null;
      /** At stop keepalived runs it with a 1 s kill timer (system_call_script). */
      readonly stopping: boolean;
    }
  /** The notify FIFO line without its newline: `RS [ip]:tcp:80 [vip]:tcp:80 UP`, `VS [vip]:tcp:80 DOWN`. */
  | { readonly type: "lvsFifo"; readonly line: string }
  | { readonly type: "log"; readonly line: string }
  | { readonly type: "setTimer"; readonly id: string; readonly delayUs: number }
  | { readonly type: "cancelTimer"; readonly id: string }
  /** Run checker `checker` of real server `rs` (url index for HTTP/SSL); report with `seq`. */
  | {
      readonly type: "probe";
      readonly rs: number;
      readonly checker: number;
      readonly seq: number;
      readonly url: number | null;
    }
  | { readonly type: "cancelProbe"; readonly rs: number; readonly checker: number; readonly seq: number };

export interface CheckerState {
  isUp: boolean;
  hasRun: boolean;
  retryIt: number;
  /** HTTP/SSL: the url being checked, and whether a url failed (keepalived's failed_url). */
  urlIt: number;
  failedUrl: boolean;
  /** MISC_CHECK dynamic weight offset and the last exit code. */
  curWeight: number;
  lastExitCode: number;
  /** The probe in flight (its seq), or 0; and when it started (MISC reschedules from the start). */
  probing: number;
  startedAtUs: number;
}

export interface RealServerState {
  alive: boolean;
  set: boolean;
  effectiveWeight: number;
  numFailed: number;
  checkers: CheckerState[];
}

export interface PoolState {
  phase: "idle" | "running" | "stopped";
  quorumUp: boolean;
  sorryAlive: boolean;
  sorrySet: boolean;
  seq: number;
  rs: RealServerState[];
}

/** keepalived's IPVS_WEIGHT_LIMIT is INT_MAX; real_weight clamps below at 0. */
export const realWeight = (w: number): number => (w < 0 ? 0 : Math.min(w, 2_147_483_647));

export class Pool {
  constructor(
    readonly spec: VirtualServerSpec,
    readonly st: PoolState,
    readonly out: LvsCommand[],
  ) {}

  log(line: string): void {
    this.out.push({ type: "log", line });
  }

  rsSpec(r: number): RealServerSpec {
    return this.spec.realServers[r] as RealServerSpec;
  }

  rsState(r: number): RealServerState {
    return this.st.rs[r] as RealServerState;
  }

  /** ipvswrapper.c ipvs_cmd for a destination: inhibit turns a delete into weight 0 and a re-add into an edit. */
  destCmd(op: "add" | "del" | "edit", r: number, forceRemove = false): void {
    if (r < 0) {
      const sorry = this.spec.sorry;
      if (sorry === null) return;
      if (op === "add") this.st.sorrySet = true;
      if (op === "del") this.st.sorrySet = false;
      const opName = op === "add" ? "addDest" : op === "del" ? "delDest" : "editDest";
      this.out.push({ type: "ipvs", op: opName, rs: -1, weight: realWeight(sorry.weight) });
      return;
    }
    const rs = this.rsState(r);
    const inhibit = this.rsSpec(r).inhibit && !forceRemove;
    let weight = realWeight(rs.effectiveWeight);
    let opName: "addDest" | "editDest" | "delDest" =
      op === "add" ? "addDest" : op === "del" ? "delDest" : "editDest";
    if (op === "del" && inhibit) {
      weight = 0;
      opName = "editDest";
    } else if (op === "add" && inhibit && rs.set) opName = "editDest";
    else if (op === "add" && !rs.set) {
      rs.set = true;
      if (inhibit && rs.numFailed > 0) weight = 0;
    } else if (op === "del" && rs.set) rs.set = false;
    this.out.push({ type: "ipvs", op: opName, rs: r, weight });
  }

  /** weigh_live_realservers. */
  liveWeight(): number {
    return this.st.rs.reduce((sum, rs) => sum + (rs.alive ? realWeight(rs.effectiveWeight) : 0), 0);
  }

  /** do_rs_notifies: the up/down script and the FIFO line. */
  rsNotifies(r: number, stopping: boolean): void {
    const alive = this.rsState(r).alive;
    const spec = this.rsSpec(r);
    if (alive ? spec.hasNotifyUp : spec.hasNotifyDown)
      this.out.push({ type: "lvsNotify", script: alive ? "notifyUp" : "notifyDown", rs: r, stopping });
    this.out.push({
      type: "lvsFifo",
      line: `RS ${spec.name} ${this.spec.name} ${alive ? "UP" : "DOWN"}`,
    });
  }

  /** do_vs_notifies (SMTP alerts are not sent by Vigil). */
  vsNotifies(stopping: boolean): void {
    if (stopping && !this.spec.omega) return;
    const up = this.st.quorumUp;
    if (up ? this.spec.hasQuorumUp : this.spec.hasQuorumDown)
      this.out.push({ type: "lvsNotify", script: up ? "quorumUp" : "quorumDown", rs: null, stopping });
    this.out.push({ type: "lvsFifo", line: `VS ${this.spec.name} ${up ? "UP" : "DOWN"}` });
  }

  /** perform_quorum_state: add or remove every alive real server. */
  quorumPool(add: boolean): void {
    this.log(
      `${add ? "Adding alive servers to" : "Removing alive servers from"} the pool for VS ${this.spec.name}`,
    );
    this.st.rs.forEach((rs, r) => {
      if (rs.alive) this.destCmd(add ? "add" : "del", r);
    });
  }

  /** update_quorum_state. */
  updateQuorum(init: boolean): void {
    const sum = this.liveWeight();
    const { quorum, hysteresis, name } = this.spec;
    const threshold = quorum + (this.st.quorumUp ? -1 : 1) * hysteresis;
    const sorry = this.spec.sorry;
    if (!this.st.quorumUp && sum >= threshold) {
      this.st.quorumUp = true;
      this.log(`Gained quorum ${quorum}+${hysteresis}=${threshold} <= ${sum} for VS ${name}`);
      if (sorry !== null && this.st.sorryAlive) {
        this.log(`Removing sorry server ${sorry.name} from VS ${name}`);
        this.destCmd("del", -1);
        this.st.sorryAlive = false;
        this.quorumPool(true);
      }
      this.vsNotifies(false);
    } else if (
      (this.st.quorumUp && (sum === 0 || sum < threshold)) ||
      (init && !this.st.quorumUp && sorry !== null && !this.st.sorryAlive)
    ) {
      this.st.quorumUp = false;
      this.log(
        `${init ? "Starting with quorum down" : "Lost quorum"} ${quorum}-${hysteresis}=${threshold} > ${sum} for VS ${name}`,
      );
      if (sorry !== null && !this.st.sorryAlive) {
        this.log(`Adding sorry server ${sorry.name} to VS ${name}`);
        this.quorumPool(false);
        this.destCmd("add", -1);
        this.st.sorryAlive = true;
      }
      this.vsNotifies(false);
    }
  }

  /** Whether a destination change may reach IPVS now (quorum up, or no sorry server in place). */
  poolOpen(): boolean {
    return this.st.quorumUp || this.spec.sorry === null || !this.st.sorryAlive;
  }

  /** perform_svr_state. */
  performServerState(r: number, alive: boolean): void {
    const rs = this.rsState(r);
    if (rs.alive === alive) return;
    const inhibit = this.rsSpec(r).inhibit;
    const verb = alive ? (inhibit ? "Enabl" : "Add") : inhibit ? "Disabl" : "Remov";
    const prep = inhibit ? "of" : alive ? "to" : "from";
    this.log(`${verb}ing service ${this.rsSpec(r).name} ${prep} VS ${this.spec.name}`);
    if (this.poolOpen()) this.destCmd(alive ? "add" : "del", r);
    rs.alive = alive;
    this.rsNotifies(r, false);
    this.updateQuorum(false);
  }

  /** update_svr_wgt: a new effective weight (MISC_CHECK misc_dynamic). */
  updateWeight(r: number, weight: number): void {
    const rs = this.rsState(r);
    const next = realWeight(weight);
    const prev = realWeight(rs.effectiveWeight);
    rs.effectiveWeight = weight;
    if (next === prev) return;
    this.log(
      `Changing weight from ${prev} to ${next} for ${rs.alive ? "" : "in"}active service ${this.rsSpec(r).name} of VS ${this.spec.name}`,
    );
    if (rs.set && rs.alive && this.poolOpen()) this.destCmd("edit", r);
    this.updateQuorum(false);
  }

  /** init_service_vs + init_service_rs at start (after set_quorum_states). */
  start(): void {
    this.st.quorumUp = this.liveWeight() >= this.spec.quorum + this.spec.hysteresis;
    this.out.push({ type: "ipvs", op: "addService" });
    this.st.rs.forEach((rs, r) => {
      if ((rs.numFailed === 0 && !rs.alive) || (this.rsSpec(r).inhibit && !rs.set)) {
        this.destCmd("add", r);
        if (rs.numFailed === 0) rs.alive = true;
      }
    });
    this.updateQuorum(true);
  }

  /** clear_service_vs(vs, stopping) with lvs_flush_on_stop off (keepalived's default). */
  stop(): void {
    if (this.spec.sorry !== null && this.st.sorrySet) {
      this.destCmd("del", -1);
      this.st.sorryAlive = false;
    }
    this.st.rs.forEach((rs, r) => {
      const spec = this.rsSpec(r);
      this.log(
        `Shutting down ${spec.inhibit && !rs.alive ? "(inhibited) " : ""}service ${spec.name} from VS ${this.spec.name}`,
      );
      if (!rs.set) return;
      this.destCmd("del", r, true);
      if (!rs.alive) return;
      rs.alive = false;
      if (!this.spec.omega) return;
      this.rsNotifies(r, true);
    });
    this.out.push({ type: "ipvs", op: "delService" });
  }
}
