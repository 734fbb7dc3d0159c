/**
 * What the oracles (invariants.ts) are told about each instance of a scenario: its contention group
 * (LAN, VRID, family), its VIPs and excluded VIPs (united over the node's reloads), and the time bounds of the
 * time-based invariants — Master_Down at the lowest priority over the group's largest advert
 * interval, plus one interval, the most delay the LAN's faults can add (twice) and what the nodes'
 * clocks can add (drift stretching Master_Down, timer jitter). Pure.
 */
import { masterDownIntervalUs } from "../machines/timers.ts";
import { specFromConfig } from "../src/runtime/config.adapter.ts";
import { type InstanceSpec, type NodeSpec, vipAddresses } from "../src/runtime/spec.ts";
import type { LinkFaults } from "../transports/sim.transport.ts";
import type { InstanceInfo } from "./invariants.ts";
import type { LoadedScenario } from "./scenario.load.ts";

/** How much longer `us` of a clock running `ppm` slow lasts in shared time. */
export const stretchUs = (us: number, ppm: number): number => Math.ceil((us * ppm) / (1_000_000 - ppm)) + 1;

const maxFaultDelay = (f: LinkFaults): number =>
  (f.delayUs ?? 0) + (f.jitterUs ?? 0) + (f.reorderWindowUs ?? 0);

/**
 * The addresses an instance puts on its host when MASTER — VIPs and excluded VIPs — named as the
 * simulated host names them (`address/prefix`, sim-host.ts).
 */
const vipKeys = (s: InstanceSpec): string[] => vipAddresses(s).map((a) => `${a.address}/${a.prefixLength}`);

/** Every instance of every node, with its bounds; `hosts` gives each node's spec at start. */
export function instanceInfos(
  loaded: LoadedScenario,
  hosts: ReadonlyMap<string, { readonly name: string; readonly spec: NodeSpec }>,
): InstanceInfo[] {
  const { spec } = loaded;
  // Tolerance of the time-based invariants: the most delay any fault of the run can add on a LAN.
  const lanDelayUs = new Map<string, number>();
  for (const l of spec.lans) lanDelayUs.set(l.name, maxFaultDelay(l.faults));
  for (const t of spec.timeline)
    if (t.action.kind === "faults") {
      const d = maxFaultDelay(t.action.faults);
      for (const l of spec.lans)
        if (t.action.lan === undefined || t.action.lan === l.name)
          lanDelayUs.set(l.name, Math.max(lanDelayUs.get(l.name) ?? 0, d));
    }

  // Every instance a node may run: its configuration's, and those of its reloads (VIPs united).
  const infos: InstanceInfo[] = [];
  const vipsOf = new Map<string, string[]>();
  const specsOf = (host: { readonly name: string; readonly spec: NodeSpec }): InstanceSpec[] => {
    const all = [...host.spec.instances];
    for (const t of spec.timeline) {
      const config =
        t.action.kind === "reload" && t.action.node === host.name
          ? loaded.reloads.get(t.action.configKey)
          : undefined;
      if (config !== undefined) all.push(...specFromConfig(config).instances);
    }
    const byName = new Map<string, InstanceSpec>();
    for (const s of all) {
      const had = byName.get(s.params.name);
      const keys = new Set([...(vipsOf.get(`${host.name}|${s.params.name}`) ?? []), ...vipKeys(s)]);
      vipsOf.set(`${host.name}|${s.params.name}`, [...keys]);
      if (had === undefined) byName.set(s.params.name, s);
    }
    return [...byName.values()];
  };
  for (const host of hosts.values()) {
    const decl = spec.nodes.find((n) => n.name === host.name);
    for (const s of specsOf(host)) {
      const lan = decl?.interfaces.find((i) => i.ifname === s.params.ifname)?.lan ?? "";
      infos.push({
        node: host.name,
        instance: s.params.name,
        group: `${lan}|${s.params.vrid}|v${s.params.family === 4 ? 4 : 6}`,
        advertIntervalUs: s.params.advertIntervalCs * 10_000,
        boundUs: 0,
        advertToleranceUs:
          1_000 +
          (decl?.jitterUs ?? 0) +
          stretchUs(s.params.advertIntervalCs * 10_000, Math.abs(decl?.driftPpm ?? 0)),
        owner: s.params.basePriority === 255,
        ownerRecoveryUs:
          masterDownIntervalUs({
            version: s.params.version,
            priority: 255,
            masterAdverIntervalCs: s.params.advertIntervalCs,
            downTimerAdverts: s.params.downTimerAdverts,
          }) +
          1_000 +
          2 * (decl?.jitterUs ?? 0) +
          stretchUs(s.params.advertIntervalCs * 30_000, Math.abs(decl?.driftPpm ?? 0)),
        ...(s.params.syncGroup === undefined ? {} : { syncGroup: s.params.syncGroup }),
        vips: vipsOf.get(`${host.name}|${s.params.name}`) ?? [],
      });
    }
  }
  // The settling bound of a group: Master_Down at the lowest priority over its largest interval, + one interval and the delays.
  const groupBound = new Map<string, number>();
  const maxDriftPpm = Math.max(0, ...spec.nodes.map((n) => Math.abs(n.driftPpm)));
  const maxJitterUs = Math.max(0, ...spec.nodes.map((n) => n.jitterUs));
  for (const i of infos) {
    const s = specsOf(hosts.get(i.node) as { readonly name: string; readonly spec: NodeSpec }).find(
      (x) => x.params.name === i.instance,
    );
    const largestCs = Math.max(
      ...infos.filter((j) => j.group === i.group).map((j) => j.advertIntervalUs / 10_000),
    );
    const md = masterDownIntervalUs({
      version: s?.params.version ?? 2,
      priority: 1,
      masterAdverIntervalCs: largestCs,
      downTimerAdverts: s?.params.downTimerAdverts ?? 3,
    });
    const lan = i.group.split("|")[0] ?? "";
    // Clocks: the slowest drift stretches Master_Down, jitter delays each timer (and each advert).
    const clockUs = stretchUs(md, maxDriftPpm) + 2 * maxJitterUs;
    const b = md + largestCs * 10_000 + 2 * (lanDelayUs.get(lan) ?? 0) + clockUs + 1_000;
    groupBound.set(i.group, Math.max(groupBound.get(i.group) ?? 0, b));
  }
  // A sync group goes MASTER only when every member may (keepalived's vrrp_sync_can_goto_master):
  // a member's group may wait for the slowest group its sync group spans.
  const linked = new Map<string, number>();
  for (const i of infos)
    if (i.syncGroup !== undefined)
      for (const j of infos)
        if (j.node === i.node && j.syncGroup === i.syncGroup && j.group !== i.group)
          linked.set(i.group, Math.max(linked.get(i.group) ?? 0, groupBound.get(j.group) ?? 0));
  return infos.map((i) => ({ ...i, boundUs: (groupBound.get(i.group) ?? 0) + (linked.get(i.group) ?? 0) }));
}
