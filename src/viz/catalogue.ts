/**
 * The machines `vigil graph` can draw, by the names the command line uses, with a short account of
 * each machine's named delays (what `masterDown` is, in keepalived's terms) for the chart labels.
 * Importing this module loads the machine definitions (xstate), nothing else. Pure.
 */
import { syncGroupMachine } from "../../machines/sync-group.machine.ts";
import { trackerMachine } from "../../machines/tracker.machine.ts";
import { vrrpInstanceMachine } from "../../machines/vrrp-instance.machine.ts";
import { type Chart, type DelayDescriptions, extractChart, type MachineLike } from "./chart.ts";

export interface CatalogueEntry {
  readonly machine: MachineLike;
  /** Every named delay of the machine's `setup({ delays })`, explained. */
  readonly delays: DelayDescriptions;
  /** The named delays the machine defines (to check `delays` covers them). */
  readonly definedDelays: readonly string[];
}

export const MACHINE_NAMES = ["vrrp-instance", "sync-group", "tracker"] as const;
export type MachineName = (typeof MACHINE_NAMES)[number];

const definedDelays = (m: { implementations: { delays: object } }): string[] =>
  Object.keys(m.implementations.delays);

/** The instance machine's timers (machines/instance-actions.ts `delays`, timers.ts). */
const INSTANCE_DELAYS: DelayDescriptions = {
  masterDown: "down_timer_adverts (3)×advert + skew, or skew only after priority 0",
  advertInterval: "advert_int",
  garpMasterDelay: "garp_master_delay",
  garpRefresh: "garp_master_refresh",
  garpLowerPrioDelay: "garp_lower_prio_delay",
  preemptDelay: "preempt_delay",
};

export const catalogue: Readonly<Record<MachineName, CatalogueEntry>> = {
  "vrrp-instance": {
    machine: vrrpInstanceMachine,
    delays: INSTANCE_DELAYS,
    definedDelays: definedDelays(vrrpInstanceMachine),
  },
  "sync-group": {
    machine: syncGroupMachine,
    delays: {},
    definedDelays: definedDelays(syncGroupMachine),
  },
  tracker: { machine: trackerMachine, delays: {}, definedDelays: definedDelays(trackerMachine) },
};

export const isMachineName = (name: string): name is MachineName =>
  (MACHINE_NAMES as readonly string[]).includes(name);

/** The chart of one catalogued machine. */
export const chartOf = (name: MachineName): Chart => {
  const entry = catalogue[name];
  return extractChart(entry.machine, entry.delays);
};
