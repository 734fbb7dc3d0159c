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
  /** What the tracker watches, for keepalived's start-up FAULT line; `config`: a configuration fault. */
  readonly kind?: "script" | "link" | "process" | "file" | "config" | undefined;
}

/**
 * keepalived 2.2.7's start-up line for a tracker that holds an instance in FAULT (vrrp_track.c,
 * initialise_*_tracking_priorities), to follow `(NAME)`; none for a configuration fault (its own
 * line is logged where the configuration is read).
 */
const startFaultLine = (t: TrackedStatus): string | undefined => {
  switch (t.kind) {
    case "link":
      return `: entering FAULT state (interface ${t.name} down)`;
    case "file": {
      const status = t.weight === 0 ? FILE_FAULT_STATUS : (t.value ?? 0) * t.weight * (t.reverse ? -1 : 1);
      return `: entering FAULT state (tracked file ${t.name} has status ${status})`;
    }
    case "process":
      return ` entering FAULT state (tracked process ${t.name} quorum not achieved)`;
    case "script":
      return `: entering FAULT state due to script ${t.name}`;
    default:
      return undefined;
  }
};
/** keepalived checks interfaces, then files, then processes, then each instance's scripts. */
const START_FAULT_ORDER = { link: 0, file: 1, process: 2, script: 3, config: 4 } as const;

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
  /** keepalived's start-up lines of the trackers holding the instance in FAULT (see `startFaultLine`). */
  readonly faults?: readonly string[];
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
  const faults: TrackedStatus[] = [];
  for (const t of trackers) {
    const e = trackerEffect(t);
    if (e.faulted) faults.push(t);
    faulted ||= e.faulted;
    pending ||= e.pending;
    deltaSum += e.delta;
    if (t.value !== undefined) {
      files ??= {};
      files[t.name ?? ""] = fileStatus(t.value, t.weight, t.reverse);
    }
  }
  const lines = faults
    .sort((a, b) => START_FAULT_ORDER[a.kind ?? "config"] - START_FAULT_ORDER[b.kind ?? "config"])
    .map(startFaultLine)
    .filter((l): l is string => l !== undefined);
  return {
    faulted,
    pending,
    deltaSum,
    ...(files === undefined ? {} : { fileStatus: files }),
    ...(lines.length === 0 ? {} : { faults: lines }),
  };
};
