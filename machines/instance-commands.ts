import type { AdvertEvent, Command, InstanceEvent, InstanceParams, NotifyState } from "./events.ts";
import { fifoLine } from "./events.ts";
import { effectivePriority, OWNER_PRIORITY } from "./priority.ts";

export interface InstanceContext {
  readonly p: InstanceParams;
  /** Base priority; drops from 255 to 254 on the two-owners CONFIGURATION ERROR. */
  readonly basePriority: number;
  readonly priority: number;
  readonly deltaSum: number;
  readonly ownFault: boolean;
  readonly pending: boolean;
  readonly masterAdverIntervalCs: number;
  readonly masterPriority: number;
  readonly masterIp: string;
  /** How the next BACKUP down timer is computed: full interval, skew only (priority 0), or at once (owner). */
  readonly downTimer: "full" | "skew" | "now";
  readonly preempt: "idle" | "running" | "expired";
  /** Sync-group member whose down timer expired: wants MASTER, waits for the group. */
  readonly wantMaster: boolean;
}

export const initialInstanceContext = (p: InstanceParams): InstanceContext => ({
  p,
  basePriority: p.basePriority,
  priority: p.basePriority,
  deltaSum: 0,
  ownFault: false,
  pending: false,
  masterAdverIntervalCs: p.advertIntervalCs,
  masterPriority: 0,
  masterIp: "",
  downTimer: "full",
  preempt: "idle",
  wantMaster: false,
});

export type Ctx = InstanceContext;
export type Emit = (c: Ctx, e: InstanceEvent) => Command[];
export const advertOf = (e: InstanceEvent): AdvertEvent => e as AdvertEvent;
export const tag = (c: Ctx): string => `(${c.p.name})`;
export const isOwner = (c: Ctx): boolean => c.basePriority === OWNER_PRIORITY;
export const log = (c: Ctx, text: string, detail?: true): Command =>
  detail ? { type: "log", line: `${tag(c)} ${text}`, detail } : { type: "log", line: `${tag(c)} ${text}` };
export const notify = (c: Ctx, state: NotifyState): Command[] => [
  { type: "notify", scope: "INSTANCE", name: c.p.name, state, priority: c.priority },
  { type: "fifo", line: fifoLine("INSTANCE", c.p.name, state, c.priority) },
];
export const advert = (c: Ctx, priority: number): Command => ({
  type: "sendAdvert",
  instance: c.p.name,
  priority,
  advertIntervalCs: c.p.advertIntervalCs,
});
export const report = (c: Ctx, state: "BACKUP" | "MASTER" | "FAULT" | "INIT" | "STOP"): Command[] =>
  c.p.syncGroup === undefined
    ? []
    : [
        {
          type: "memberReport",
          group: c.p.syncGroup,
          instance: c.p.name,
          state,
          wantMaster: c.wantMaster,
          faulted: c.ownFault,
        },
      ];
export const v2Mismatch = (c: Ctx, e: InstanceEvent): boolean =>
  c.p.version === 2 && advertOf(e).advertIntervalCs !== c.p.advertIntervalCs;

/** Commands of entering BACKUP from another state. */
export const enterBackup =
  (suffix = ""): Emit =>
  (c) => [log(c, `Entering BACKUP STATE${suffix}`), ...notify(c, "BACKUP"), ...report(c, "BACKUP")];

/** keepalived.md §3.7: advert, VIPs, GARP burst, notify. */
export const becomeMaster: Emit = (c) => [
  log(c, "Entering MASTER STATE"),
  advert(c, c.priority),
  log(c, "setting VIPs.", true),
  { type: "addVips", instance: c.p.name, vips: c.p.vips },
  { type: "garp", instance: c.p.name, vips: c.p.vips, repeat: c.p.garpMasterRepeat, reason: "master" },
  ...notify(c, "MASTER"),
  ...report(c, "MASTER"),
];

export const releaseVips = (c: Ctx): Command[] => [
  log(c, "removing VIPs.", true),
  { type: "removeVips", instance: c.p.name, vips: c.p.vips },
];

/** Entering FAULT; from MASTER also priority 0 (twice for an own tracker) and VIP removal. */
export const enterFault =
  (fromMaster: boolean, cause: "own" | "sync", suffix = ""): Emit =>
  (c) => [
    log(c, `Entering FAULT STATE${suffix}`),
    ...(fromMaster
      ? [
          advert(c, 0),
          ...(cause === "own" ? [advert(c, 0)] : []),
          log(c, "sent 0 priority", true),
          ...releaseVips(c),
        ]
      : []),
    ...notify(c, "FAULT"),
    ...report(c, "FAULT"),
  ];

export const priorityChange: Emit = (c, e) => {
  if (e.type !== "TRACKING") return [];
  const next = effectivePriority(c.basePriority, e.deltaSum);
  return next === c.priority ? [] : [log(c, `Changing effective priority from ${c.priority} to ${next}`)];
};
