/**
 * Effective priority and tracker aggregation (docs/keepalived-reference.md §3.3). A tracker contributes either a
 * priority delta or a FAULT; an owner (base 255) never changes. Tracked files contribute
 * `value × weight` (keepalived's vrrp_track.c status arithmetic). Pure.
 */

/** Address owner priority: never adjusted by trackers. */
export const OWNER_PRIORITY = 255;

/** `clamp(base + Σ deltas, 1, 254)`; a base of 255 stays 255. */
export const effectivePriority = (basePriority: number, deltaSum: number): number =>
  basePriority === OWNER_PRIORITY ? OWNER_PRIORITY : Math.min(254, Math.max(1, basePriority + deltaSum));

/** One tracker as seen by one instance: its status and the weight the instance gives it. */
export interface TrackedStatus {
  /** undefined = no result yet (INIT). */
  readonly ok: boolean | undefined;
  readonly weight: number;
  readonly reverse: boolean;
  /** Tracker name (needed for tracked files, which are reported by name). */
  readonly name?: string | undefined;
  /** A tracked file's current value: file semantics instead of ok/failed. */
  readonly value?: number | undefined;
}

/** A tracked file's status at this FAULT value holds the instance in FAULT. */
export const FILE_FAULT_STATUS = -254;

/**
 * keepalived's tracked-file status: weight 0 → −254 (FAULT) for any non-zero value (`reverse`: for 0),
 * else 0; otherwise `value × weight`, negated by `reverse`, clamped to −254..253 — so a delta below
 * −253 means FAULT.
 */
export const fileStatus = (value: number, weight: number, reverse: boolean): number => {
  if (weight === 0) return (value !== 0) !== reverse ? FILE_FAULT_STATUS : 0;
  const status = value * weight * (reverse ? -1 : 1);
  return Math.min(253, Math.max(FILE_FAULT_STATUS, status));
};

export interface TrackingSummary {
  /** A weight-0 tracker is failing (or, with reverse, succeeding). */
  readonly faulted: boolean;
  /** A weight-0 tracker has not reported its first result yet: the instance waits in INIT. */
  readonly pending: boolean;
  /** Σ deltas of the weighted trackers. */
  readonly deltaSum: number;
  /** Status of each tracked file (see `fileStatus`); only present when files are tracked. */
  readonly fileStatus?: Readonly<Record<string, number>>;
}

/**
 * Weight 0: failure → FAULT (`reverse`: success → FAULT). Weight > 0: +w while OK. Weight < 0: −|w| while
 * failing. `reverse` inverts the status and negates the weight (so weight 10 reverse = −10 while OK).
 * A weighted tracker without a result contributes nothing.
 */
export const trackerEffect = (t: TrackedStatus): { faulted: boolean; pending: boolean; delta: number } => {
  if (t.value !== undefined) {
    const status = fileStatus(t.value, t.weight, t.reverse);
    return status === FILE_FAULT_STATUS
      ? { faulted: true, pending: false, delta: 0 }
      : { faulted: false, pending: false, delta: status };
  }
  if (t.ok === undefined) return { faulted: false, pending: t.weight === 0, delta: 0 };
  const ok = t.reverse ? !t.ok : t.ok;
  if (t.weight === 0) return { faulted: !ok, pending: false, delta: 0 };
  const weight = t.reverse ? -t.weight : t.weight;
  if (weight > 0) return { faulted: false, pending: false, delta: ok ? weight : 0 };
  return { faulted: false, pending: false, delta: ok ? 0 : weight };
};

/** Folds every tracker of one instance into one summary. */
export const summarizeTracking = (trackers: readonly TrackedStatus[]): TrackingSummary => {
  let faulted = false;
  let pending = false;
  let deltaSum = 0;
  let files: Record<string, number> | undefined;
  for (const t of trackers) {
    const e = trackerEffect(t);
    faulted ||= e.faulted;
    pending ||= e.pending;
    deltaSum += e.delta;
    if (t.value !== undefined) {
      files ??= {};
      files[t.name ?? ""] = fileStatus(t.value, t.weight, t.reverse);
    }
  }
  return files === undefined
    ? { faulted, pending, deltaSum }
    : { faulted, pending, deltaSum, fileStatus: files };
};
