/**
 * The tracker machine for `vrrp_script`-style probes (docs/keepalived-reference.md §2.2, §3.3): a counter in
 * 0..rise+fall−1; the first result decides immediately, afterwards `fall` consecutive failures fail the
 * tracker and `rise` consecutive successes recover it. Interface trackers use rise = fall = 1. The input
 * is a probe result, so trackers replay like everything else. Weights are applied by the consumer
 * (priority.ts). `vrrp_track_process` probes report a running count (OK when quorum ≤ running ≤
 * quorum_max); `track_file` probes report the file's value, which every change passes on as is (the
 * per-instance `value × weight` is priority.ts's `fileStatus`). Emits `trackerChanged` (routing) and keepalived's
 * log lines. Pure.
 */
import { setup } from "xstate";
import type { Message } from "./events.ts";
import { effectActions, effects, messageActionImpls } from "./named-actions.ts";

export interface TrackerParams {
  readonly name: string;
  readonly kind: "script" | "link" | "process" | "file";
  readonly rise: number;
  readonly fall: number;
  /** `init_fail`: start failed instead of waiting for a first result. */
  readonly initFail: boolean;
  /** Process trackers: `quorum` (default 1) and `quorum_max` (absent = no upper bound). */
  readonly quorum?: number;
  readonly quorumMax?: number;
  /** File trackers: the value before the first read (`init_file`, default 0). */
  readonly initValue?: number;
}

export interface TrackerContext {
  readonly p: TrackerParams;
  /** keepalived's `result`: OK while ≥ rise. */
  readonly count: number;
  /** File trackers: the last value read. */
  readonly value: number;
}

export type TrackerEvent = {
  readonly type: "RESULT";
  readonly ok: boolean;
  /** Exit status for the failure log line; undefined for non-script probes. */
  readonly exitStatus?: number;
  readonly timedOut?: boolean;
  /** `track_file`: the value read from the file (then `ok` is ignored). */
  readonly value?: number;
  /** `vrrp_track_process`: how many matching processes run (then `ok` is ignored). */
  readonly running?: number;
};

type Ctx = TrackerContext;
/** A probe's verdict: a process count against the quorum, otherwise the probe's own `ok`. */
export const probeOk = (p: TrackerParams, e: TrackerEvent): boolean =>
  e.running === undefined
    ? e.ok
    : e.running >= (p.quorum ?? 1) && (p.quorumMax === undefined || e.running <= p.quorumMax);
const max = (c: Ctx): number => c.p.rise + c.p.fall - 1;
const label = (c: Ctx): string => (c.p.kind === "script" ? `VRRP_Script(${c.p.name})` : c.p.name);
const changed = (c: Ctx, ok: boolean, e: TrackerEvent): Message[] => [
  {
    type: "log",
    line:
      c.p.kind === "process"
        ? `Quorum ${ok ? "gained" : "lost"} for tracked process ${c.p.name}`
        : c.p.kind === "link"
          ? `Netlink reports ${c.p.name} ${ok ? "up" : "down"}`
          : ok
            ? `${label(c)} succeeded`
            : e.timedOut
              ? `${label(c)} timed_out`
              : `${label(c)} failed${e.exitStatus === undefined ? "" : ` (exited with status ${e.exitStatus})`}`,
  },
  { type: "trackerChanged", tracker: c.p.name, ok },
];

const s = setup({
  types: { context: {} as TrackerContext, events: {} as TrackerEvent, input: {} as TrackerParams },
  actions: messageActionImpls(["log", "trackerChanged"]),
  guards: {
    success: ({ context, event }) => probeOk(context.p, event),
    initFail: ({ context }) => context.p.initFail,
    isFile: ({ context }) => context.p.kind === "file",
    valueChanged: ({ context, event }) => event.value !== undefined && event.value !== context.value,
    /** A failure that reaches the bottom of the counter. */
    falls: ({ context, event }) => !probeOk(context.p, event) && context.count <= context.p.rise,
    /** A success that reaches rise. */
    rises: ({ context, event }) => probeOk(context.p, event) && context.count >= context.p.rise - 1,
  },
});
/** The named actions `log` then `trackerChanged` (named-actions.ts) of a function of context and event. */
// biome-ignore lint/suspicious/noExplicitAny: XState's action typing of dynamic params
const emit = (f: (c: Ctx, e: TrackerEvent) => Message[]): any[] =>
  effectActions(effects(["log", "trackerChanged"], f));

export const trackerMachine = s.createMachine({
  id: "tracker",
  context: ({ input }) => ({
    p: input,
    count: input.initFail ? 0 : input.rise - 1,
    value: input.initValue ?? 0,
  }),
  initial: "init",
  states: {
    init: {
      always: [
        { guard: "isFile", target: "file" },
        { guard: "initFail", target: "failed" },
      ],
      on: {
        RESULT: [
          {
            guard: "success",
            target: "ok",
            actions: [
              s.assign(({ context }) => ({ count: max(context) })),
              ...emit((c, e) => changed(c, true, e)),
            ],
          },
          { target: "failed", actions: [s.assign({ count: 0 }), ...emit((c, e) => changed(c, false, e))] },
        ],
      },
    },
    ok: {
      on: {
        RESULT: [
          {
            guard: "falls",
            target: "failed",
            actions: [s.assign({ count: 0 }), ...emit((c, e) => changed(c, false, e))],
          },
          { guard: "success", actions: s.assign(({ context }) => ({ count: max(context) })) },
          { actions: s.assign(({ context }) => ({ count: context.count - 1 })) },
        ],
      },
    },
    /** A tracked file: every change of value is passed on (it is always "ok"; the value decides). */
    file: {
      on: {
        RESULT: {
          guard: "valueChanged",
          actions: [
            s.assign(({ event }) => ({ value: event.value ?? 0 })),
            ...emit((c) => [{ type: "trackerChanged", tracker: c.p.name, ok: true, value: c.value }]),
          ],
        },
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
              ...emit((c, e) => changed(c, true, e)),
            ],
          },
          { guard: "success", actions: s.assign(({ context }) => ({ count: context.count + 1 })) },
          { actions: s.assign({ count: 0 }) },
        ],
      },
    },
  },
});
