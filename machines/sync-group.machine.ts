/**
 * The sync-group machine (docs/keepalived-reference.md §3.6). It hears every member's report (state, wants MASTER,
 * own fault) and forces members together: one member in FAULT → all FAULT; MASTER only when every
 * member wants MASTER; BACKUP group-wide. The member that triggered a change goes first, then the
 * `Syncing instances to … state` line, then the others in configuration order, then the group's own
 * notify — as keepalived 2.2.7 does (observed against the real binary in
 * test/netns/keepalived-conformance.test.ts: `INSTANCE VI_C MASTER`, `INSTANCE VI_D MASTER`,
 * `GROUP "G1" MASTER 0` when VI_C's timer completes the group). At startup the group speaks first:
 * when every member starts in BACKUP, `GROUP … BACKUP 0` precedes the members' own BACKUP lines
 * (keepalived's vrrp_init_state notifies groups before instances). Effects leave as the named actions
 * `syncMember` (routing), `notify`, `fifo` and `log` (named-actions.ts). Pure.
 */
import { setup } from "xstate";
import type { Message, MessageType, VrrpState } from "./events.ts";
import { fifoLine } from "./events.ts";
import { effectActions, effects, messageActionImpls } from "./named-actions.ts";

export interface MemberReport {
  readonly state: VrrpState;
  readonly wantMaster: boolean;
  readonly faulted: boolean;
}

export interface SyncGroupParams {
  readonly name: string;
  readonly members: readonly string[];
}

export interface SyncGroupContext {
  readonly name: string;
  readonly members: readonly string[];
  readonly reports: Readonly<Record<string, MemberReport>>;
  /** The member whose report caused the current decision. */
  readonly trigger: string;
  /** START seen: the group decides once every member has left INIT. */
  readonly started: boolean;
}

/** How a member starts, as its instance machine will decide (see `startDisposition`). */
export type MemberStart = "backup" | "fault" | "waiting";

export type SyncGroupEvent =
  | { readonly type: "START"; readonly members?: Readonly<Record<string, MemberStart>> }
  | { readonly type: "SHUTDOWN" }
  | ({ readonly type: "MEMBER"; readonly instance: string } & MemberReport);

type Target = "MASTER" | "BACKUP" | "FAULT";
type Ctx = SyncGroupContext;

const report = (c: Ctx, m: string): MemberReport =>
  c.reports[m] ?? { state: "INIT", wantMaster: false, faulted: false };
const anyFault = (c: Ctx): boolean =>
  c.members.some((m) => report(c, m).faulted || report(c, m).state === "FAULT");
const noOwnFault = (c: Ctx): boolean => c.members.every((m) => !report(c, m).faulted);
const allWantMaster = (c: Ctx): boolean =>
  c.members.every((m) => report(c, m).wantMaster || report(c, m).state === "MASTER");
const ready = (c: Ctx): boolean => c.started && c.members.every((m) => report(c, m).state !== "INIT");
const someoneLeftMaster = (c: Ctx): boolean =>
  c.members.some((m) => report(c, m).state === "BACKUP" && !report(c, m).wantMaster);

/** The members in the order a change reaches them: the trigger first, then configuration order. */
export const orderedMembers = (c: Ctx): string[] =>
  c.members.includes(c.trigger) ? [c.trigger, ...c.members.filter((m) => m !== c.trigger)] : [...c.members];

const syncTo = (c: Ctx, to: Target, skip: (r: MemberReport) => boolean): Message[] => {
  const force = (m: string): Message[] =>
    skip(report(c, m)) ? [] : [{ type: "syncMember", instance: m, state: to }];
  const [first, ...rest] = orderedMembers(c);
  return [
    ...(first === c.trigger ? force(first) : []),
    { type: "log", line: `VRRP_Group(${c.name}) Syncing instances to ${to} state` },
    ...(first === c.trigger ? rest : orderedMembers(c)).flatMap(force),
    ...groupNotify(c, to),
  ];
};

/**
 * A member starts faulted (and none waits for a first tracker result): the group starts in FAULT,
 * forces every member there in configuration order, then writes its own line — as keepalived 2.2.7
 * does (`INSTANCE "VI_C" FAULT`, `INSTANCE "VI_D" FAULT`, `GROUP "G1" FAULT 0`, no BACKUP lines).
 */
const someStartFault = (c: Ctx, e: SyncGroupEvent): boolean =>
  e.type === "START" &&
  e.members !== undefined &&
  c.members.some((m) => e.members?.[m] === "fault") &&
  c.members.every((m) => e.members?.[m] !== "waiting");

/** Every member starts in BACKUP: the group is BACKUP from the start and says so first. */
const allStartBackup = (c: Ctx, e: SyncGroupEvent): boolean =>
  e.type === "START" && e.members !== undefined && c.members.every((m) => e.members?.[m] === "backup");
const groupNotify = (c: Ctx, state: Target | "STOP"): Message[] => [
  { type: "notify", scope: "GROUP", name: c.name, state, priority: 0 },
  { type: "fifo", line: fifoLine("GROUP", c.name, state, 0) },
];

const s = setup({
  types: { context: {} as SyncGroupContext, events: {} as SyncGroupEvent, input: {} as SyncGroupParams },
  actions: messageActionImpls(["syncMember", "notify", "fifo", "log"]),
  guards: {
    anyFault: ({ context }) => anyFault(context),
    noOwnFault: ({ context }) => noOwnFault(context),
    allWantMaster: ({ context }) => allWantMaster(context),
    someoneLeftMaster: ({ context }) => someoneLeftMaster(context),
  },
});

/** Named actions (one per message slot, named-actions.ts) of a function of the context. */
// biome-ignore lint/suspicious/noExplicitAny: XState's action typing of dynamic params
const emit = (slots: readonly MessageType[], f: (c: Ctx) => Message[]): any[] =>
  effectActions(effects<Ctx, SyncGroupEvent>(slots, (c) => f(c)));
/** The trigger first, the group's log line, the other members, then the group's notify. */
const SYNC_SLOTS: readonly MessageType[] = ["syncMember", "log", "syncMember", "notify", "fifo"];
const NOTIFY_SLOTS: readonly MessageType[] = ["notify", "fifo"];
const record = s.assign(({ context, event }) =>
  event.type === "MEMBER"
    ? {
        trigger: event.instance,
        reports: {
          ...context.reports,
          [event.instance]: { state: event.state, wantMaster: event.wantMaster, faulted: event.faulted },
        },
      }
    : {},
);
/**
 * Forces members to `to` and records them as being there, so that member reports still queued from
 * before the decision cannot flip the group back (no ping-pong).
 */
const sync = (to: Target, skip: (r: MemberReport) => boolean) => [
  ...emit(SYNC_SLOTS, (c) => syncTo(c, to, skip)),
  s.assign(({ context: c }) => ({
    reports: Object.fromEntries(
      c.members.map((m) => {
        const r = report(c, m);
        return [m, skip(r) ? r : { ...r, state: to, wantMaster: false }];
      }),
    ),
  })),
];
const toFault = { target: "fault" as const, actions: sync("FAULT", (r) => r.state === "FAULT") };
const toFaultRecorded = { target: "fault" as const, actions: [record, ...toFault.actions] };
const stop = { target: ".stop" as const, actions: emit(NOTIFY_SLOTS, (c) => groupNotify(c, "STOP")) };

export const syncGroupMachine = s.createMachine({
  id: "group",
  context: ({ input }) => ({
    name: input.name,
    members: input.members,
    reports: {},
    trigger: "",
    started: false,
  }),
  initial: "init",
  on: { SHUTDOWN: stop },
  states: {
    init: {
      on: {
        MEMBER: [
          {
            guard: ({ context, event }) =>
              ready(applyReport(context, event)) && anyFault(applyReport(context, event)),
            description: "ready and anyFault (with this report)",
            ...toFaultRecorded,
          },
          {
            guard: ({ context, event }) => ready(applyReport(context, event)),
            description: "ready (with this report)",
            target: "backup",
            actions: [record, ...emit(NOTIFY_SLOTS, (c) => groupNotify(c, "BACKUP"))],
          },
          { actions: record },
        ],
        START: [
          {
            guard: ({ context, event }) => someStartFault(context, event),
            description: "someStartFault",
            target: "fault",
            actions: [
              s.assign(({ context: c, event: e }) => ({
                started: true,
                trigger: "",
                reports: Object.fromEntries(
                  c.members.map((m) => [
                    m,
                    {
                      state: "FAULT" as const,
                      wantMaster: false,
                      faulted: e.type === "START" && e.members?.[m] === "fault",
                    },
                  ]),
                ),
              })),
              ...emit(SYNC_SLOTS, (c) => syncTo(c, "FAULT", () => false)),
            ],
          },
          {
            guard: ({ context, event }) => allStartBackup(context, event),
            description: "allStartBackup",
            target: "backup",
            actions: [
              s.assign(({ context: c }) => ({
                started: true,
                reports: Object.fromEntries(
                  c.members.map((m) => [m, { state: "BACKUP" as const, wantMaster: false, faulted: false }]),
                ),
              })),
              ...emit(NOTIFY_SLOTS, (c) => groupNotify(c, "BACKUP")),
            ],
          },
          {
            guard: ({ context }) => ready({ ...context, started: true }) && anyFault(context),
            description: "ready and anyFault",
            ...toFault,
          },
          {
            guard: ({ context }) => ready({ ...context, started: true }),
            description: "ready",
            target: "backup",
            actions: emit(NOTIFY_SLOTS, (c) => groupNotify(c, "BACKUP")),
          },
          { actions: s.assign({ started: true }) },
        ],
      },
    },
    backup: {
      on: {
        MEMBER: [
          {
            guard: ({ context, event }) => anyFault(applyReport(context, event)),
            description: "anyFault (with this report)",
            ...toFaultRecorded,
          },
          {
            guard: ({ context, event }) => allWantMaster(applyReport(context, event)),
            description: "allWantMaster (with this report)",
            target: "master",
            actions: [record, ...sync("MASTER", (r) => r.state === "MASTER")],
          },
          { actions: record },
        ],
      },
    },
    master: {
      on: {
        MEMBER: [
          {
            guard: ({ context, event }) => anyFault(applyReport(context, event)),
            description: "anyFault (with this report)",
            ...toFaultRecorded,
          },
          {
            guard: ({ context, event }) => someoneLeftMaster(applyReport(context, event)),
            description: "someoneLeftMaster (with this report)",
            target: "backup",
            actions: [record, ...sync("BACKUP", (r) => r.state !== "MASTER")],
          },
          { actions: record },
        ],
      },
    },
    fault: {
      on: {
        MEMBER: [
          {
            guard: ({ context, event }) => noOwnFault(applyReport(context, event)),
            description: "noOwnFault (with this report)",
            target: "backup",
            actions: [record, ...sync("BACKUP", (r) => r.state !== "FAULT")],
          },
          { actions: record },
        ],
      },
    },
    stop: { type: "final" },
  },
});

/** The context after recording a MEMBER event (guards decide on the new reports). */
function applyReport(c: Ctx, e: SyncGroupEvent): Ctx {
  if (e.type !== "MEMBER") return c;
  return {
    ...c,
    trigger: e.instance,
    reports: { ...c.reports, [e.instance]: { state: e.state, wantMaster: e.wantMaster, faulted: e.faulted } },
  };
}
