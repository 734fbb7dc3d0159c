/**
 * VRRP timer arithmetic in integer microseconds (keepalived's timer resolution). The wire carries
 * centiseconds (v3) or seconds (v2, stored here as centiseconds ×100); every derived interval is
 * computed here and nowhere else. Pure.
 *
 * @example masterDownIntervalUs({ version: 2, priority: 100, masterAdverIntervalCs: 100 }) === 3_609_375
 */

/** One centisecond in microseconds. */
export const US_PER_CS = 10_000;

/** Converts a centisecond interval to microseconds. */
export const csToUs = (cs: number): number => cs * US_PER_CS;

/** XState delays are milliseconds; Vigil delay functions return exact µs / 1000 and the host rounds back. */
export const usToXstateMs = (us: number): number => us / 1000;

/** Inverse of `usToXstateMs`, exact for every integer µs below 2^43. */
export const xstateMsToUs = (ms: number): number => Math.round(ms * 1000);

export interface SkewInput {
  readonly version: 2 | 3;
  /** Effective priority of the local (backup) instance, 0..255. */
  readonly priority: number;
  /** Master_Adver_Interval in centiseconds (v3: learned from the master; v2: own advert_int). */
  readonly masterAdverIntervalCs: number;
}

/**
 * Skew_Time: v2 `(256 − prio) / 256` s; v3 `(256 − prio) × Master_Adver_Interval / 256`.
 * Integer division truncates, as keepalived's timeval arithmetic does.
 */
export const skewTimeUs = ({ version, priority, masterAdverIntervalCs }: SkewInput): number =>
  version === 2
    ? Math.floor(((256 - priority) * 1_000_000) / 256)
    : Math.floor(((256 - priority) * csToUs(masterAdverIntervalCs)) / 256);

export interface MasterDownInput extends SkewInput {
  /** `down_timer_adverts`, 3 by default. */
  readonly downTimerAdverts?: number;
}

/** Master_Down_Interval = down_timer_adverts × Master_Adver_Interval + Skew_Time. */
export const masterDownIntervalUs = (input: MasterDownInput): number =>
  (input.downTimerAdverts ?? 3) * csToUs(input.masterAdverIntervalCs) + skewTimeUs(input);

/**
 * How a BACKUP's down timer is armed: the full Master_Down_Interval, Skew_Time only (after a
 * priority-0 advert), at once (owner start), or `wait` — a sync-group member whose timer ran out
 * waiting for the other members to want MASTER too (keepalived's `vrrp_sync_can_goto_master`
 * re-arms it with Master_Down_Interval, "the timer here doesn't really matter").
 */
export type DownTimerKind = "full" | "skew" | "now" | "wait";

export interface DownTimerInput extends MasterDownInput {
  readonly downTimer: DownTimerKind;
  /** The instance's own advert_int (centiseconds): `wait`'s period when Master_Down_Interval is 0. */
  readonly ownAdverIntervalCs?: number;
}

/**
 * The BACKUP down timer as the instance machine arms it. A VRRPv3 master may advertise an interval
 * of 0, which a BACKUP adopts, so Master_Down_Interval is 0: once that is keepalived's immediate
 * timeout, but re-armed at 0 while waiting for the group keepalived spins (thousands of timeouts a
 * second, each logged) and a virtual clock would never leave that instant. `wait` then re-checks
 * once per the instance's own advert_int instead; what the group decides is the same, since the
 * other members' reports decide it.
 */
export const downTimerUs = (input: DownTimerInput): number => {
  switch (input.downTimer) {
    case "now":
      return 0;
    case "skew":
      return skewTimeUs(input);
    case "full":
      return masterDownIntervalUs(input);
    case "wait": {
      const full = masterDownIntervalUs(input);
      return full > 0 ? full : csToUs(Math.max(1, input.ownAdverIntervalCs ?? 100));
    }
  }
};
