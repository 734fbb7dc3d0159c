/**
 * `/metrics`: Prometheus text exposition through prom-client, on a private `Registry` (never the
 * global one, so two daemons in one process — tests — do not mix). Every value is read from the
 * node when scraped (each metric's `collect`), so instances added or removed by a reload appear or
 * vanish at the next scrape and nothing is cached. Per instance (labels `instance`, `interface`,
 * `vrid`, `family` = ipv4|ipv6):
 *
 * - `vigil_vrrp_state` gauge: keepalived's numbers, INIT 0, BACKUP 1, MASTER 2, FAULT 3 (−1: other);
 * - `vigil_vrrp_effective_priority`, `vigil_vrrp_base_priority` gauges;
 * - `vigil_vrrp_transitions_total` counter: state changes since the daemon started;
 * - one counter per keepalived statistic (src/runtime/stats.ts), `vigil_vrrp_<name>_total`, e.g.
 *   `vigil_vrrp_advert_rcvd_total`, `vigil_vrrp_become_master_total`, `vigil_vrrp_pri_zero_sent_total`.
 *
 * LVS (labels `virtual_server`, and `real_server` = keepalived's FMT names): `vigil_lvs_quorum_up`
 * (1/0), `vigil_lvs_real_server_alive` (1/0), `vigil_lvs_real_server_weight` (its weight in IPVS, 0
 * while inhibit_on_failure holds a failed one; absent while it is out of the table).
 *
 * Also `vigil_vrrp_sync_group_state{group}` (same numbers), `vigil_info{version}` = 1,
 * `vigil_start_time_seconds`, `vigil_status_event_clients` (open `/events` streams) and
 * `vigil_status_events_dropped_total` (events not sent to a client that was too slow). Not pure.
 */
import { Counter, Gauge, Registry } from "prom-client";
import type { RealServerState } from "../../machines/lvs-pool.ts";
import type { InstanceSpec } from "../runtime/spec.ts";
import { newStats, type StatsCounter } from "../runtime/stats.ts";
import type { NodeView, StatusModel } from "./status-model.ts";

/** keepalived's state numbers (keepalived.json `state`, SNMP). */
export const STATE_NUMBER: Readonly<Record<string, number>> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3 };
export const stateNumber = (state: string): number => STATE_NUMBER[state] ?? -1;

export interface MetricsSource {
  readonly node: () => NodeView;
  readonly model: StatusModel;
  readonly version: string;
  readonly startTimeMs: number;
  /** The `/events` stream's open clients and dropped events (absent: 0). */
  readonly events?: () => { readonly clients: number; readonly dropped: number };
}

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text, read now. */
  text(): Promise<string>;
}

const LABELS = ["instance", "interface", "vrid", "family"] as const;
type Label = (typeof LABELS)[number];

/** The names of the per-statistic counters, in stats.ts order. */
export const STATS_COUNTERS: readonly StatsCounter[] = Object.keys(newStats()) as StatsCounter[];
export const statMetricName = (c: StatsCounter): string => `vigil_vrrp_${c}_total`;

export function createMetrics(src: MetricsSource): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const each = (f: (labels: Record<Label, string>, name: string, spec: InstanceSpec) => void): void => {
    for (const s of src.node().spec.instances) {
      const p = s.params;
      f(
        {
          instance: p.name,
          interface: p.ifname,
          vrid: String(p.vrid),
          family: p.family === 4 ? "ipv4" : "ipv6",
        },
        p.name,
        s,
      );
    }
  };
  const perInstance = (
    name: string,
    help: string,
    value: (instance: string, spec: InstanceSpec) => number,
  ): void => {
    new Gauge({
      name,
      help,
      labelNames: LABELS,
      registers,
      collect() {
        this.reset();
        each((labels, instance, spec) => this.set(labels, value(instance, spec)));
      },
    });
  };
  const perInstanceCounter = (name: string, help: string, value: (instance: string) => number): void => {
    new Counter({
      name,
      help,
      labelNames: LABELS,
      registers,
      collect() {
        this.reset();
        each((labels, instance) => this.inc(labels, value(instance)));
      },
    });
  };
  perInstance("vigil_vrrp_state", "VRRP instance state: INIT 0, BACKUP 1, MASTER 2, FAULT 3", (i) =>
    stateNumber(src.node().state(i)),
  );
  perInstance("vigil_vrrp_effective_priority", "Effective priority (base plus tracker weights)", (i) =>
    src.node().priority(i),
  );
  perInstance("vigil_vrrp_base_priority", "Configured priority", (_i, spec) => spec.params.basePriority);
  perInstanceCounter("vigil_vrrp_transitions_total", "State changes since the daemon started", (i) =>
    src.model.transitions(i),
  );
  for (const c of STATS_COUNTERS)
    perInstanceCounter(
      statMetricName(c),
      `keepalived statistic ${c} (keepalived.json stats)`,
      (i) => src.node().stats(i)?.[c] ?? 0,
    );
  new Gauge({
    name: "vigil_vrrp_sync_group_state",
    help: "Sync group state: INIT 0, BACKUP 1, MASTER 2, FAULT 3",
    labelNames: ["group"],
    registers,
    collect() {
      this.reset();
      const node = src.node();
      for (const g of node.spec.groups)
        this.set({ group: g.name }, stateNumber(node.state(`group:${g.name}`)));
    },
  });
  const eachVs = (
    f: (vs: string, st: NonNullable<ReturnType<NodeView["checkerState"]>>, rs: readonly string[]) => void,
  ): void => {
    const node = src.node();
    for (const v of node.spec.virtualServers ?? []) {
      const st = node.checkerState(v.name);
      if (st !== undefined)
        f(
          v.name,
          st,
          v.realServers.map((r) => r.name),
        );
    }
  };
  new Gauge({
    name: "vigil_lvs_quorum_up",
    help: "LVS virtual server quorum: 1 up, 0 lost (or checkers not running)",
    labelNames: ["virtual_server"],
    registers,
    collect() {
      this.reset();
      eachVs((vs, st) => this.set({ virtual_server: vs }, st.phase === "running" && st.quorumUp ? 1 : 0));
    },
  });
  /** A gauge per real server; `value` undefined leaves the real server out of the scrape. */
  const perRealServer = (
    name: string,
    help: string,
    value: (rs: RealServerState) => number | undefined,
  ): void => {
    new Gauge({
      name,
      help,
      labelNames: ["virtual_server", "real_server"],
      registers,
      collect() {
        this.reset();
        eachVs((vs, st, names) => {
          names.forEach((rs, i) => {
            const r = st.rs[i];
            const v = r === undefined ? undefined : value(r);
            if (v !== undefined) this.set({ virtual_server: vs, real_server: rs }, v);
          });
        });
      },
    });
  };
  perRealServer(
    "vigil_lvs_real_server_alive",
    "LVS real server health as its checkers see it: 1 alive, 0 down",
    (r) => (r.alive ? 1 : 0),
  );
  perRealServer(
    "vigil_lvs_real_server_weight",
    "LVS real server weight in IPVS (absent while it is out of the table)",
    (r) => (r.set ? (r.alive ? Math.max(0, r.effectiveWeight) : 0) : undefined),
  );
  new Gauge({
    name: "vigil_info",
    help: "Vigil version (value 1)",
    labelNames: ["version"],
    registers,
    collect() {
      this.reset();
      this.set({ version: src.version }, 1);
    },
  });
  new Gauge({
    name: "vigil_start_time_seconds",
    help: "When the daemon started, seconds since the epoch",
    registers,
    collect() {
      this.set(src.startTimeMs / 1000);
    },
  });
  new Gauge({
    name: "vigil_status_event_clients",
    help: "Open /events streams",
    registers,
    collect() {
      this.set(src.events?.().clients ?? 0);
    },
  });
  new Counter({
    name: "vigil_status_events_dropped_total",
    help: "Events not sent to an /events client that was too slow to read them",
    registers,
    collect() {
      this.reset();
      this.inc(src.events?.().dropped ?? 0);
    },
  });
  return { registry, contentType: registry.contentType, text: () => registry.metrics() };
}
