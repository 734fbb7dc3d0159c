/**
 * `NodeSpec`: everything a `Node` needs to build its machines, as plain JSON (it is stored in the
 * journal header, so a journal replays on its own). Derived from a validated `Config` by
 * `specFromConfig` (config.adapter.ts); tests may write one directly. Pure types and defaults.
 */
import type { InstanceParams } from "../../machines/events.ts";
import type { SyncGroupParams } from "../../machines/sync-group.machine.ts";
import type { TrackerParams } from "../../machines/tracker.machine.ts";

export interface TrackBinding {
  readonly tracker: string;
  readonly weight: number;
  readonly reverse: boolean;
}

export interface InstanceSpec {
  readonly params: InstanceParams;
  readonly tracking: readonly TrackBinding[];
  /** unicast_peer addresses; empty = multicast to the VRRP group. */
  readonly unicastPeers: readonly string[];
  /** v2 PASS password (≤ 8 characters), if any. */
  readonly authPass?: string;
}

export interface NodeSpec {
  readonly instances: readonly InstanceSpec[];
  readonly groups: readonly SyncGroupParams[];
  /** Script/process/file trackers and, with kind "link", interfaces (named by the interface). */
  readonly trackers: readonly TrackerParams[];
}

/** Instance parameters with keepalived's defaults, for tests and examples. */
export const instanceDefaults = (
  over: Partial<InstanceParams> & Pick<InstanceParams, "name" | "vrid" | "ownIp">,
): InstanceParams => ({
  version: 2,
  family: 4,
  ifname: "eth0",
  basePriority: 100,
  wantMaster: false,
  nopreempt: false,
  preemptDelayUs: 0,
  advertIntervalCs: 100,
  downTimerAdverts: 3,
  vips: [],
  garpMasterRepeat: 5,
  garpMasterDelayUs: 5_000_000,
  garpMasterRefreshUs: 0,
  garpLowerPrioRepeat: 5,
  lowerPrioNoAdvert: false,
  higherPrioSendAdvert: false,
  ...over,
});
