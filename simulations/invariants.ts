/**
 * The oracles of a simulation: invariants checked continuously while a cluster runs, each with a
 * name and the first (virtual) time it failed, and the cluster metrics measured on the same view
 * (split-brain intervals, failover times, transitions, adverts). The runner feeds observations —
 * state changes, sent adverts, the addresses on each host, nodes up and down, which pairs of nodes
 * can hear each other — in time order; every observation first settles the time-based checks up to
 * its time with the state before it. Pure: no clock, no I/O; a unit test can feed it any trace.
 *
 * Invariants (names are what `expect: - violates: NAME` refers to):
 * - `single-master`: at most one MASTER per (LAN, VRID, family) once two masters could hear each
 *   other (both ways, no loss) for a bound: (down_timer_adverts + 1) × the group's largest advert
 *   interval + the LAN's delay tolerance.
 * - `master-elected`: when a group has no MASTER while some node is eligible (BACKUP, alive, not held
 *   by a sync group with a FAULT member), a MASTER appears within the same bound.
 * - `vips-only-on-masters`: a VIP is on a host only while an instance of that host owning it is MASTER.
 * - `owner-master`: an address owner (priority 255) that is up and not in FAULT is MASTER (after one
 *   advert interval).
 * - `transition-cause`: every state change was journaled as an output of the input that caused it.
 * - `advert-gaps`: a MASTER sends adverts at most its advert interval + tolerance apart.
 */

export const INVARIANTS = [
  "single-master",
  "master-elected",
  "vips-only-on-masters",
  "owner-master",
  "transition-cause",
  "advert-gaps",
] as const;
export type InvariantName = (typeof INVARIANTS)[number];

/** What the oracles know about one instance (from its node's spec and the scenario's LANs). */
export interface InstanceInfo {
  readonly node: string;
  readonly instance: string;
  /** `lan|vrid|family`: instances that contend for the same router. */
  readonly group: string;
  readonly advertIntervalUs: number;
  /** Time the group may take to settle (see the module header). */
  readonly boundUs: number;
  /** Tolerance on a MASTER's advert gaps. */
  readonly advertToleranceUs: number;
  readonly owner: boolean;
  /** An owner back from FAULT waits a full Master_Down (keepalived's try_up_instance): that + tolerances. */
  readonly ownerRecoveryUs?: number;
  readonly syncGroup?: string;
  /** VIPs (`address/prefix`) the instance owns. */
  readonly vips: readonly string[];
}

export interface Violation {
  readonly invariant: InvariantName;
  readonly atUs: number;
  readonly message: string;
}

export interface Interval {
  readonly group: string;
  readonly fromUs: number;
  readonly toUs: number;
}

export interface Metrics {
  readonly splitBrain: readonly Interval[];
  readonly splitBrainTotalUs: number;
  readonly splitBrainMaxUs: number;
  /** Intervals without a MASTER after the group's first election, ended by a new MASTER (or the run). */
  readonly failovers: readonly Interval[];
  readonly failoverMaxUs: number;
  /** State changes and adverts sent, per `node/instance`. */
  readonly transitions: Readonly<Record<string, number>>;
  readonly adverts: Readonly<Record<string, number>>;
}

interface Inst {
  readonly info: InstanceInfo;
  state: string;
  sinceUs: number;
  lastAdvertUs: number;
  adverts: number;
  /** In BACKUP straight from FAULT. */
  afterFault: boolean;
  /** Since when the instance has been eligible to take over (undefined: it is not). */
  eligibleFromUs: number | undefined;
}

interface Group {
  readonly name: string;
  readonly members: Inst[];
  readonly boundUs: number;
  masters: number;
  elected: boolean;
  splitFromUs: number | undefined;
  noMasterFromUs: number | undefined;
  /** Since when the group has had no MASTER while an instance was eligible. */
  gapFromUs: number | undefined;
}

const key = (node: string, instance: string): string => `${node}/${instance}`;
const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

export class Oracles {
  readonly #insts = new Map<string, Inst>();
  readonly #byNode = new Map<string, Inst[]>();
  readonly #groups = new Map<string, Group>();
  readonly #alive = new Map<string, boolean>();
  readonly #addresses = new Map<string, readonly string[]>();
  /** `a|b` (sorted) per LAN → since when they hear each other both ways. */
  readonly #connected = new Map<string, number>();
  readonly #first = new Map<InvariantName, Violation>();
  readonly #ownerWait = new Map<string, number>();
  readonly #split: Interval[] = [];
  readonly #failovers: Interval[] = [];
  readonly #transitions: Record<string, number> = {};
  /** Groups with a time-based check pending (two MASTERs, or none while one could take over). */
  readonly #hot = new Set<Group>();
  #nowUs = 0;

  constructor(instances: readonly InstanceInfo[]) {
    for (const info of instances) {
      const inst: Inst = {
        info,
        state: "INIT",
        sinceUs: 0,
        lastAdvertUs: 0,
        adverts: 0,
        afterFault: false,
        eligibleFromUs: undefined,
      };
      this.#insts.set(key(info.node, info.instance), inst);
      const list = this.#byNode.get(info.node) ?? [];
      list.push(inst);
      this.#byNode.set(info.node, list);
      let g = this.#groups.get(info.group);
      if (g === undefined) {
        g = {
          name: info.group,
          members: [],
          boundUs: 0,
          masters: 0,
          elected: false,
          splitFromUs: undefined,
          noMasterFromUs: undefined,
          gapFromUs: undefined,
        };
        this.#groups.set(info.group, g);
      }
      g.members.push(inst);
      (g as { boundUs: number }).boundUs = Math.max(g.boundUs, info.boundUs);
      this.#transitions[key(info.node, info.instance)] = 0;
      this.#alive.set(info.node, false);
    }
  }

  /** The first failure of each invariant that failed, in invariant order. */
  violations(): Violation[] {
    return INVARIANTS.flatMap((n) => {
      const v = this.#first.get(n);
      return v === undefined ? [] : [v];
    });
  }

  // ---- observations --------------------------------------------------------------------------

  /** A node's daemon started (alive) or stopped / crashed. */
  alive(atUs: number, node: string, alive: boolean): void {
    this.#advance(atUs);
    this.#alive.set(node, alive);
    for (const i of this.#byNode.get(node) ?? []) {
      if (!alive && i.state === "MASTER") this.#checkAdvertGap(i, atUs);
      if (!alive) this.#setState(i, "DOWN", atUs, false);
    }
    this.#settle(atUs, node);
  }

  /** An instance's state change; `journaled`: the journal has it as an output of the same input. */
  transition(
    atUs: number,
    node: string,
    instance: string,
    from: string,
    to: string,
    journaled: boolean,
  ): void {
    this.#advance(atUs);
    const i = this.#insts.get(key(node, instance));
    if (i === undefined) return;
    if (!journaled)
      this.#fail("transition-cause", atUs, `${node} ${instance} ${from} -> ${to} has no journaled cause`);
    if (i.state === "MASTER" && to !== "MASTER") this.#checkAdvertGap(i, atUs);
    this.#setState(i, to, atUs, true);
    this.#settle(atUs, node);
  }

  /** A node resumed from a checkpoint: its instances are back in these states (no transition). */
  restored(atUs: number, node: string, instance: string, state: string): void {
    this.#advance(atUs);
    const i = this.#insts.get(key(node, instance));
    if (i === undefined) return;
    this.#setState(i, state, atUs, false);
    this.#settle(atUs, node);
  }

  /** A MASTER (or any instance) sent an advert (the hot path: no key strings built). */
  advert(atUs: number, node: string, instance: string): void {
    this.#advance(atUs);
    const i = this.#byNode.get(node)?.find((x) => x.info.instance === instance);
    if (i === undefined) return;
    i.adverts++;
    if (i.state === "MASTER") this.#checkAdvertGap(i, atUs);
    i.lastAdvertUs = atUs;
  }

  /** The addresses (`address/prefix`) now on a node's interfaces that are some instance's VIPs. */
  addresses(atUs: number, node: string, addresses: readonly string[]): void {
    this.#advance(atUs);
    this.#addresses.set(node, [...addresses]);
  }

  /**
   * Checks `vips-only-on-masters` for a node once an input's state changes and address changes
   * are both reported (they happen in one step: checking between them would see half of it).
   */
  checkAddresses(atUs: number, node: string): void {
    this.#advance(atUs);
    this.#checkVips(node, atUs);
  }

  /** Settles the time-based checks up to `atUs` (before a batch of `connectivity` reports). */
  tick(atUs: number): void {
    this.#advance(atUs);
  }

  /**
   * Whether nodes `a` and `b` hear each other both ways, without loss, on `lan` (from `atUs`). Call
   * `tick(atUs)` first: a batch of these does not settle the checks once per pair.
   */
  connectivity(atUs: number, lan: string, a: string, b: string, connected: boolean): void {
    const k = `${lan}#${pairKey(a, b)}`;
    if (!connected) this.#connected.delete(k);
    else if (!this.#connected.has(k)) this.#connected.set(k, atUs);
  }

  /** Settles the time-based checks up to `atUs` (the end of the run). */
  finish(atUs: number): void {
    this.#advance(atUs);
    for (const i of this.#insts.values()) if (i.state === "MASTER") this.#checkAdvertGap(i, atUs);
    for (const g of this.#groups.values()) {
      if (g.splitFromUs !== undefined) this.#split.push({ group: g.name, fromUs: g.splitFromUs, toUs: atUs });
      if (g.noMasterFromUs !== undefined && g.elected)
        this.#failovers.push({ group: g.name, fromUs: g.noMasterFromUs, toUs: atUs });
      g.splitFromUs = undefined;
      g.noMasterFromUs = undefined;
    }
  }

  /** Groups that never had a MASTER (sorted). */
  unelected(): string[] {
    return [...this.#groups.values()]
      .filter((g) => !g.elected)
      .map((g) => g.name)
      .sort();
  }

  metrics(): Metrics {
    const len = (i: Interval): number => i.toUs - i.fromUs;
    const byTime = (a: Interval, b: Interval): number => a.fromUs - b.fromUs || (a.group < b.group ? -1 : 1);
    const split = [...this.#split].sort(byTime);
    const failovers = [...this.#failovers].sort(byTime);
    return {
      splitBrain: split,
      splitBrainTotalUs: split.reduce((s, i) => s + len(i), 0),
      splitBrainMaxUs: split.reduce((m, i) => Math.max(m, len(i)), 0),
      failovers,
      failoverMaxUs: failovers.reduce((m, i) => Math.max(m, len(i)), 0),
      transitions: { ...this.#transitions },
      adverts: Object.fromEntries([...this.#insts].map(([k, i]) => [k, i.adverts])),
    };
  }

  // ---- checks --------------------------------------------------------------------------------

  #fail(invariant: InvariantName, atUs: number, message: string): void {
    if (!this.#first.has(invariant)) this.#first.set(invariant, { invariant, atUs, message });
  }

  #setState(i: Inst, to: string, atUs: number, counted: boolean): void {
    if (i.state === to) return;
    const g = this.#groups.get(i.info.group) as Group;
    if (i.state === "MASTER") g.masters--;
    if (to === "MASTER") {
      g.masters++;
      g.elected = true;
      i.lastAdvertUs = atUs;
    }
    i.afterFault = to === "BACKUP" && i.state === "FAULT";
    i.state = to;
    i.sinceUs = atUs;
    if (counted)
      this.#transitions[key(i.info.node, i.info.instance)] =
        (this.#transitions[key(i.info.node, i.info.instance)] ?? 0) + 1;
  }

  #checkAdvertGap(i: Inst, atUs: number): void {
    const limit = i.info.advertIntervalUs + i.info.advertToleranceUs;
    if (atUs - i.lastAdvertUs > limit)
      this.#fail(
        "advert-gaps",
        i.lastAdvertUs + limit,
        `${i.info.node} ${i.info.instance} MASTER sent no advert for more than ${limit} µs after ${i.lastAdvertUs} µs`,
      );
  }

  #checkVips(node: string, atUs: number): void {
    const addrs = this.#addresses.get(node);
    if (addrs === undefined || addrs.length === 0) return;
    const insts = this.#byNode.get(node) ?? [];
    for (const a of addrs) {
      const owners = insts.filter((i) => i.info.vips.includes(a));
      if (!owners.some((i) => i.state === "MASTER"))
        this.#fail(
          "vips-only-on-masters",
          atUs,
          `${node} holds ${a} but ${owners.map((i) => `${i.info.instance} is ${i.state}`).join(", ") || "no instance owns it"}`,
        );
    }
  }

  #eligible(i: Inst): boolean {
    if (i.state !== "BACKUP" || this.#alive.get(i.info.node) !== true) return false;
    const sg = i.info.syncGroup;
    if (sg === undefined) return true;
    return !(this.#byNode.get(i.info.node) ?? []).some((o) => o.info.syncGroup === sg && o.state === "FAULT");
  }

  /** Re-evaluates the status of the groups of `node`'s instances at `atUs` after a change. */
  #settle(atUs: number, node: string): void {
    const groups = new Set(
      (this.#byNode.get(node) ?? []).map((i) => this.#groups.get(i.info.group) as Group),
    );
    for (const g of groups) {
      if (g.masters >= 2 && g.splitFromUs === undefined) g.splitFromUs = atUs;
      if (g.masters < 2 && g.splitFromUs !== undefined) {
        // Two inputs at the same instant (a zero-delay advert) are not a split brain.
        if (atUs > g.splitFromUs) this.#split.push({ group: g.name, fromUs: g.splitFromUs, toUs: atUs });
        g.splitFromUs = undefined;
      }
      if (g.masters === 0 && g.elected && g.noMasterFromUs === undefined) g.noMasterFromUs = atUs;
      if (g.masters > 0 && g.noMasterFromUs !== undefined) {
        if (atUs > g.noMasterFromUs)
          this.#failovers.push({ group: g.name, fromUs: g.noMasterFromUs, toUs: atUs });
        g.noMasterFromUs = undefined;
      }
      // The bound runs from when the instances eligible now became so: one that stops being
      // eligible (FAULT, crash) before its Master_Down ran out no longer counts.
      let gapFromUs: number | undefined;
      for (const i of g.members) {
        if (g.masters > 0 || !this.#eligible(i)) i.eligibleFromUs = undefined;
        else {
          i.eligibleFromUs ??= atUs;
          gapFromUs = Math.min(gapFromUs ?? i.eligibleFromUs, i.eligibleFromUs);
        }
      }
      g.gapFromUs = g.masters === 0 ? gapFromUs : undefined;
      if (g.gapFromUs !== undefined || g.masters >= 2) this.#hot.add(g);
      else this.#hot.delete(g);
      for (const i of g.members) {
        const k = key(i.info.node, i.info.instance);
        const waiting =
          i.info.owner &&
          this.#alive.get(i.info.node) === true &&
          (i.state === "BACKUP" || i.state === "INIT");
        if (!waiting) this.#ownerWait.delete(k);
        else if (!this.#ownerWait.has(k)) this.#ownerWait.set(k, atUs);
      }
    }
  }

  /** Time-based checks with the state as it was up to `atUs`. */
  #advance(atUs: number): void {
    this.#nowUs = Math.max(this.#nowUs, atUs);
    const now = this.#nowUs;
    for (const g of this.#hot) {
      if (g.gapFromUs !== undefined && now - g.gapFromUs > g.boundUs)
        this.#fail(
          "master-elected",
          g.gapFromUs + g.boundUs,
          `${g.name}: no MASTER for ${g.boundUs} µs from ${g.gapFromUs} µs while ${g.members
            .filter((i) => this.#eligible(i))
            .map((i) => i.info.node)
            .join(", ")} could take over`,
        );
      if (g.masters >= 2) this.#checkDual(g, now);
    }
    for (const [k, from] of this.#ownerWait) {
      const i = this.#insts.get(k) as Inst;
      const limitUs = i.afterFault
        ? (i.info.ownerRecoveryUs ?? i.info.advertIntervalUs)
        : i.info.advertIntervalUs;
      if (now - from > limitUs)
        this.#fail(
          "owner-master",
          from + limitUs,
          `${i.info.node} ${i.info.instance} is the address owner (255) but ${i.state} since ${from} µs`,
        );
    }
  }

  #checkDual(g: Group, now: number): void {
    // Only the first failure is reported: once failed, the (hot) pair scan is wasted work.
    if (this.#first.has("single-master")) return;
    const masters = g.members.filter((i) => i.state === "MASTER");
    const lan = g.name.split("|")[0] ?? "";
    for (let x = 0; x < masters.length; x++) {
      for (let y = x + 1; y < masters.length; y++) {
        const a = masters[x] as Inst;
        const b = masters[y] as Inst;
        if (a.info.node === b.info.node) continue;
        const since = this.#connected.get(`${lan}#${pairKey(a.info.node, b.info.node)}`);
        if (since === undefined) continue;
        const from = Math.max(since, a.sinceUs, b.sinceUs);
        if (now - from > g.boundUs)
          this.#fail(
            "single-master",
            from + g.boundUs,
            `${g.name}: ${a.info.node} and ${b.info.node} both MASTER from ${from} µs while they could hear each other`,
          );
      }
    }
  }
}
