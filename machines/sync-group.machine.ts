/**
 * The sync-group machine (docs/keepalived-reference.md §3.6). It hears every member's report (state, wants MASTER,
 * own fault) and forces members together: one member in FAULT → all FAULT; MASTER only when every
 * member wants MASTER; BACKUP group-wide. Going to FAULT or BACKUP, the member that triggered the change
 * goes first, then the others in configuration order; going to MASTER, the others go first and the
 * member whose timer completed the group goes last (keepalived's vrrp_sync_master forces the others
 * before the trigger's own transition). The group's own notify always comes last (docs/keepalived-reference.md §3.6:
 * `INSTANCE VI_D MASTER`, `INSTANCE VI_C MASTER`, `GROUP "G1" MASTER 0` when VI_C completes the group).
 * Effects leave as `syncMember`, `notify`, `fifo` and `log` commands. Pure.
 */
import { setup } from "xstate";
import type { Command, CommandType, VrrpState } from "./events.ts";
import { fifoLine } from "./events.ts";

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

export type SyncGroupEvent =
  | { readonly type: "START" }
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

/** FAULT/BACKUP: trigger first, then the rest in configuration order; MASTER: the trigger last. */
export const orderedMembers = (c: Ctx, to: Target): string[] => {
  if (!c.members.includes(c.trigger)) return [...c.members];
  const others = c.members.filter((m) => m !== c.trigger);
  return to === "MASTER" ? [...others, c.trigger] : [c.trigger, ...others];
};

const syncTo = (c: Ctx, to: Target, skip: (r: MemberReport) => boolean): Command[] => [
  { type: "log", line: `VRRP_Group(${c.name}) Syncing instances to ${to} state` },
  ...orderedMembers(c, to)
    .filter((m) => !skip(report(c, m)))
    .map((m): Command => ({ type: "syncMember", instance: m, state: to })),
  ...groupNotify(c, to),
];
const groupNotify = (c: Ctx, state: Target | "STOP"): Command[] => [
  { type: "notify", scope: "GROUP", name: c.name, state, priority: 0 },
  { type: "fifo", line: fifoLine("GROUP", c.name, state, 0) },
];

const actionImpl = (_: unknown, _params: Command): void => {};
const commandTypes: readonly CommandType[] = ["syncMember", "notify", "fifo", "log"];

const s = setup({
  types: { context: {} as SyncGroupContext, events: {} as SyncGroupEvent, input: {} as SyncGroupParams },
  actions: Object.fromEntries(commandTypes.map((t) => [t, actionImpl])) as Record<
    CommandType,
    (_: unknown, params: Command) => void
  >,
  guards: {
    anyFault: ({ context }) => anyFault(context),
    noOwnFault: ({ context }) => noOwnFault(context),
    allWantMaster: ({ context }) => allWantMaster(context),
    someoneLeftMaster: ({ context }) => someoneLeftMaster(context),
  },
});

const emit = (f: (c: Ctx) => Command[]) =>
  s.enqueueActions(({ context, enqueue }) => {
    for (const c of f(context)) enqueue({ type: c.type, params: c } as never);
  });
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
  emit((c) => syncTo(c, to, skip)),
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
const stop = { target: ".stop" as const, actions: emit((c) => groupNotify(c, "STOP")) };

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
            ...toFaultRecorded,
          },
          {
            guard: ({ context, event }) => ready(applyReport(context, event)),
            target: "backup",
            actions: [record, emit((c) => groupNotify(c, "BACKUP"))],
          },
          { actions: record },
        ],
        START: [
          { guard: ({ context }) => ready({ ...context, started: true }) && anyFault(context), ...toFault },
          {
            guard: ({ context }) => ready({ ...context, started: true }),
            target: "backup",
            actions: emit((c) => groupNotify(c, "BACKUP")),
          },
          { actions: s.assign({ started: true }) },
        ],
      },
    },
    backup: {
      on: {
        MEMBER: [
          { guard: ({ context, event }) => anyFault(applyReport(context, event)), ...toFaultRecorded },
          {
            guard: ({ context, event }) => allWantMaster(applyReport(context, event)),
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
          { guard: ({ context, event }) => anyFault(applyReport(context, event)), ...toFaultRecorded },
          {
            guard: ({ context, event }) => someoneLeftMaster(applyReport(context, event)),
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
