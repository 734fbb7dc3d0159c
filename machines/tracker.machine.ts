/**
 * The tracker machine for `vrrp_script`-style probes (keepalived.md §2.2, §3.3): a counter in
 * 0..rise+fall−1; the first result decides immediately, afterwards `fall` consecutive failures fail the
 * tracker and `rise` consecutive successes recover it. Interface trackers use rise = fall = 1. The input
 * is a probe result, so trackers replay like everything else. Weights are applied by the consumer
 * (priority.ts). Emits `trackerChanged` and keepalived's log lines. Pure.
 */
import { setup } from "xstate";
import type { Command, CommandType } from "./events.ts";

export interface TrackerParams {
  readonly name: string;
  readonly kind: "script" | "link" | "process" | "file";
  readonly rise: number;
  readonly fall: number;
  /** `init_fail`: start failed instead of waiting for a first result. */
  readonly initFail: boolean;
}

export interface TrackerContext {
  readonly p: TrackerParams;
  /** keepalived's `result`: OK while ≥ rise. */
  readonly count: number;
}

export type TrackerEvent = {
  readonly type: "RESULT";
  readonly ok: boolean;
  /** Exit status for the failure log line; undefined for non-script probes. */
  readonly exitStatus?: number;
  readonly timedOut?: boolean;
};

type Ctx = TrackerContext;
const max = (c: Ctx): number => c.p.rise + c.p.fall - 1;
const label = (c: Ctx): string =>
  c.p.kind === "script"
    ? `VRRP_Script(${c.p.name})`
    : c.p.kind === "link"
      ? `Netlink(${c.p.name})`
      : c.p.name;
const changed = (c: Ctx, ok: boolean, e: TrackerEvent): Command[] => [
  {
    type: "log",
    line: ok
      ? `${label(c)} succeeded`
      : e.timedOut
        ? `${label(c)} timed_out`
        : `${label(c)} failed${e.exitStatus === undefined ? "" : ` (exited with status ${e.exitStatus})`}`,
  },
  { type: "trackerChanged", tracker: c.p.name, ok },
];

const actionImpl = (_: unknown, _params: Command): void => {};
const s = setup({
  types: { context: {} as TrackerContext, events: {} as TrackerEvent, input: {} as TrackerParams },
  actions: Object.fromEntries(
    (["log", "trackerChanged"] as CommandType[]).map((t) => [t, actionImpl]),
  ) as Record<CommandType, (_: unknown, params: Command) => void>,
  guards: {
    success: ({ event }) => event.ok,
    initFail: ({ context }) => context.p.initFail,
    /** A failure that reaches the bottom of the counter. */
    falls: ({ context, event }) => !event.ok && context.count <= context.p.rise,
    /** A success that reaches rise. */
    rises: ({ context, event }) => event.ok && context.count >= context.p.rise - 1,
  },
});
const emit = (f: (c: Ctx, e: TrackerEvent) => Command[]) =>
  s.enqueueActions(({ context, event, enqueue }) => {
    for (const c of f(context, event)) enqueue({ type: c.type, params: c } as never);
  });

export const trackerMachine = s.createMachine({
  id: "tracker",
  context: ({ input }) => ({ p: input, count: input.initFail ? 0 : input.rise - 1 }),
  initial: "init",
  states: {
    init: {
      always: { guard: "initFail", target: "failed" },
      on: {
        RESULT: [
          {
            guard: "success",
            target: "ok",
            actions: [
              s.assign(({ context }) => ({ count: max(context) })),
              emit((c, e) => changed(c, true, e)),
            ],
          },
          { target: "failed", actions: [s.assign({ count: 0 }), emit((c, e) => changed(c, false, e))] },
        ],
      },
    },
    ok: {
      on: {
        RESULT: [
          {
            guard: "falls",
            target: "failed",
            actions: [s.assign({ count: 0 }), emit((c, e) => changed(c, false, e))],
          },
          { guard: "success", actions: s.assign(({ context }) => ({ count: max(context) })) },
          { actions: s.assign(({ context }) => ({ count: context.count - 1 })) },
        ],
      },
    },
    failed: {
      on: {
        RESULT: [
          {
            guard: "rises",
            target: "ok",
            actions: [
              s.assign(({ context }) => ({ count: max(context) })),
              emit((c, e) => changed(c, true, e)),
            ],
          },
          { guard: "success", actions: s.assign(({ context }) => ({ count: context.count + 1 })) },
          { actions: s.assign({ count: 0 }) },
        ],
      },
    },
  },
});
