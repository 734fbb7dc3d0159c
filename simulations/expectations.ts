/**
 * A scenario's expectations: their format in the file (`expect:` entries, decoded with effect's
 * Schema) and how they are judged after a run — who is in which state at a time, which addresses a
 * host holds at a time, what a host's IPVS table holds at a time, the longest split brain, the longest failover, how many transitions an
 * instance made, which invariant must fail. Each gives a verdict with a readable name and what
 * was measured. Pure.
 */
import { Schema } from "effect";
import type { Interval, Metrics, Violation } from "./invariants.ts";
import { parseLvsName } from "./lvs-sim.ts";
import { formatUs } from "./report.ts";
import { durationAt as duration, type ScenarioSource, type YamlPath } from "./scenario.source.ts";

const Str = Schema.String;
const Opt = Schema.optional;
const Time = Schema.Union([Schema.String, Schema.Number]);

/** The `expect:` entries: one key each. */
export const EXPECTS = {
  master: Schema.Struct({ at: Time, node: Str, instance: Opt(Str) }),
  state: Schema.Struct({
    at: Time,
    node: Str,
    instance: Opt(Str),
    is: Schema.Literals(["MASTER", "BACKUP", "FAULT", "STOP", "INIT", "DOWN"]),
  }),
  maxSplitBrain: Time,
  maxFailover: Time,
  transitions: Schema.Struct({ node: Str, instance: Opt(Str), count: Opt(Schema.Int), max: Opt(Schema.Int) }),
  violates: Str,
  /** An address (`address/prefix`, as the host holds it) is on the node's host at a time, or not. */
  vip: Schema.Struct({ at: Time, node: Str, address: Str, present: Opt(Schema.Boolean) }),
  /**
   * A host's IPVS table at a time: the service (keepalived's FMT_VS name), and a destination
   * (FMT_RS, a real or sorry server) with its weight; `present: false`: not in the table.
   */
  ipvs: Schema.Struct({
    at: Time,
    node: Str,
    service: Str,
    realServer: Opt(Str),
    present: Opt(Schema.Boolean),
    weight: Opt(Schema.Int),
  }),
  /** From `from` to the end every (LAN, VRID, family) group has exactly one MASTER (the swarm's liveness). */
  settled: Schema.Struct({ from: Time }),
} as const;
export type ExpectName = keyof typeof EXPECTS;

export type Expectation =
  | {
      readonly kind: "state";
      readonly atUs: number;
      readonly node: string;
      readonly instance?: string;
      readonly is: string;
    }
  | { readonly kind: "maxSplitBrain"; readonly us: number }
  | { readonly kind: "maxFailover"; readonly us: number }
  | {
      readonly kind: "transitions";
      readonly node: string;
      readonly instance?: string;
      readonly count?: number;
      readonly max?: number;
    }
  | { readonly kind: "violates"; readonly invariant: string }
  | {
      readonly kind: "vip";
      readonly atUs: number;
      readonly node: string;
      readonly address: string;
      readonly present: boolean;
    }
  | { readonly kind: "settled"; readonly fromUs: number }
  | {
      readonly kind: "ipvs";
      readonly atUs: number;
      readonly node: string;
      readonly service: string;
      readonly realServer?: string;
      readonly present: boolean;
      readonly weight?: number;
    };

/** Decodes the value of one `expect:` entry whose key is `name`. Throws ScenarioError. */
export const decodeExpect = (
  src: ScenarioSource,
  name: ExpectName,
  value: unknown,
  path: YamlPath,
): Expectation => {
  switch (name) {
    case "master":
    case "state": {
      const s =
        name === "master"
          ? { ...src.decode(EXPECTS.master, value, path), is: "MASTER" }
          : src.decode(EXPECTS.state, value, path);
      return {
        kind: "state",
        atUs: duration(src, s.at, [...path, "at"]),
        node: s.node,
        ...(s.instance === undefined ? {} : { instance: s.instance }),
        is: s.is,
      };
    }
    case "maxSplitBrain":
    case "maxFailover":
      return { kind: name, us: duration(src, src.decode(EXPECTS[name], value, path), path) };
    case "transitions": {
      const t = src.decode(EXPECTS.transitions, value, path);
      if (t.count === undefined && t.max === undefined)
        throw src.error(path, "transitions: give count: N or max: N");
      return {
        kind: "transitions",
        node: t.node,
        ...(t.instance === undefined ? {} : { instance: t.instance }),
        ...(t.count === undefined ? {} : { count: t.count }),
        ...(t.max === undefined ? {} : { max: t.max }),
      };
    }
    case "violates":
      return { kind: "violates", invariant: src.decode(EXPECTS.violates, value, path) };
    case "vip": {
      const v = src.decode(EXPECTS.vip, value, path);
      return {
        kind: "vip",
        atUs: duration(src, v.at, [...path, "at"]),
        node: v.node,
        address: v.address,
        present: v.present ?? true,
      };
    }
    case "ipvs": {
      const v = src.decode(EXPECTS.ipvs, value, path);
      const service = parseLvsName(v.service, "service");
      if (typeof service !== "string") throw src.error([...path, "service"], service.error);
      const rs = v.realServer === undefined ? undefined : parseLvsName(v.realServer, "realServer");
      if (rs !== undefined && typeof rs !== "string") throw src.error([...path, "realServer"], rs.error);
      if (v.weight !== undefined && (rs === undefined || v.present === false))
        throw src.error([...path, "weight"], "weight: only for a realServer that is present");
      if (v.weight !== undefined && v.weight < 0) throw src.error([...path, "weight"], "weight: 0 or more");
      return {
        kind: "ipvs",
        atUs: duration(src, v.at, [...path, "at"]),
        node: v.node,
        service,
        ...(rs === undefined ? {} : { realServer: rs }),
        present: v.present ?? true,
        ...(v.weight === undefined ? {} : { weight: v.weight }),
      };
    }
    case "settled": {
      const t = src.decode(EXPECTS.settled, value, path);
      return { kind: "settled", fromUs: duration(src, t.from, [...path, "from"]) };
    }
  }
};

export interface JudgeContext {
  readonly metrics: Metrics;
  /** The state an instance was in at a time an expectation asked about. */
  readonly stateAt: (atUs: number, node: string, instance: string) => string;
  /** The addresses on a node's host at a time a `vip` expectation asked about. */
  readonly addressesAt?: (atUs: number, node: string) => readonly string[];
  readonly violations: ReadonlyMap<string, Violation>;
  /** The only instance of a node (expectations without `instance:`). */
  readonly instanceOf: (node: string) => string;
  /** What a node's IPVS table held at a time an `ipvs` expectation asked about. */
  readonly ipvsAt?: (
    atUs: number,
    node: string,
    service: string,
    realServer?: string,
  ) => { readonly service: boolean; readonly weight: number | undefined };
  /** Groups (`lan|vrid|family`) that never had a MASTER. */
  readonly unelected?: readonly string[];
}

export interface ExpectationVerdict {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export function judge(e: Expectation, ctx: JudgeContext): ExpectationVerdict {
  switch (e.kind) {
    case "state": {
      const inst = e.instance ?? ctx.instanceOf(e.node);
      const got = ctx.stateAt(e.atUs, e.node, inst);
      return {
        name: `${e.node} ${inst} is ${e.is} at ${formatUs(e.atUs)}`,
        ok: got === e.is,
        detail: `it is ${got}`,
      };
    }
    case "maxSplitBrain": {
      const m = ctx.metrics.splitBrainMaxUs;
      return {
        name: `split brain at most ${formatUs(e.us)}`,
        ok: m <= e.us,
        detail: `longest ${formatUs(m)}, total ${formatUs(ctx.metrics.splitBrainTotalUs)} in ${ctx.metrics.splitBrain.length} interval(s)`,
      };
    }
    case "maxFailover": {
      const m = ctx.metrics.failoverMaxUs;
      return {
        name: `failover at most ${formatUs(e.us)}`,
        ok: m <= e.us,
        detail: `longest ${formatUs(m)} over ${ctx.metrics.failovers.length} failover(s)`,
      };
    }
    case "transitions": {
      const inst = e.instance ?? ctx.instanceOf(e.node);
      const n = ctx.metrics.transitions[`${e.node}/${inst}`] ?? 0;
      const ok = (e.count === undefined || n === e.count) && (e.max === undefined || n <= e.max);
      const want = [
        e.count === undefined ? "" : `exactly ${e.count}`,
        e.max === undefined ? "" : `at most ${e.max}`,
      ]
        .filter((x) => x !== "")
        .join(" and ");
      return { name: `${e.node} ${inst} makes ${want} transition(s)`, ok, detail: `it made ${n}` };
    }
    case "vip": {
      const held = ctx.addressesAt?.(e.atUs, e.node) ?? [];
      return {
        name: `${e.node} ${e.present ? "holds" : "does not hold"} ${e.address} at ${formatUs(e.atUs)}`,
        ok: held.includes(e.address) === e.present,
        detail: `it holds ${held.length === 0 ? "no address" : held.join(", ")}`,
      };
    }
    case "ipvs": {
      const seen = ctx.ipvsAt?.(e.atUs, e.node, e.service, e.realServer) ?? {
        service: false,
        weight: undefined,
      };
      const at = formatUs(e.atUs);
      if (e.realServer === undefined)
        return {
          name: `${e.node} IPVS ${e.present ? "has" : "has no"} service ${e.service} at ${at}`,
          ok: seen.service === e.present,
          detail: seen.service ? "the service is in the table" : "no such service in the table",
        };
      const inTable = seen.weight !== undefined;
      const want = e.present
        ? `has ${e.realServer}${e.weight === undefined ? "" : ` weight ${e.weight}`}`
        : `has no ${e.realServer}`;
      return {
        name: `${e.node} IPVS ${e.service} ${want} at ${at}`,
        ok: inTable === e.present && (e.weight === undefined || seen.weight === e.weight),
        detail: !seen.service
          ? "no such service in the table"
          : inTable
            ? `it has it, weight ${seen.weight}`
            : "not in the service",
      };
    }
    case "violates": {
      const v = ctx.violations.get(e.invariant);
      return {
        name: `invariant ${e.invariant} fails`,
        ok: v !== undefined,
        detail: v === undefined ? "it held" : `first at ${formatUs(v.atUs)}: ${v.message}`,
      };
    }
    case "settled": {
      // Intervals with no MASTER or two MASTERs (zero-length ones are never recorded) after `from`.
      const late = (i: Interval): boolean => i.toUs > e.fromUs;
      const gaps = ctx.metrics.failovers.filter(late);
      const splits = ctx.metrics.splitBrain.filter(late);
      const never = ctx.unelected ?? [];
      const first = [
        ...gaps.map((i) => ({ i, what: "no MASTER" })),
        ...splits.map((i) => ({ i, what: "two MASTERs" })),
      ].sort((a, b) => Math.max(a.i.fromUs, e.fromUs) - Math.max(b.i.fromUs, e.fromUs))[0];
      return {
        name: `one MASTER per group from ${formatUs(e.fromUs)} to the end`,
        ok: first === undefined && never.length === 0,
        detail:
          never.length > 0
            ? `never a MASTER in ${never.join(", ")}`
            : first === undefined
              ? "held"
              : `${first.i.group}: ${first.what} from ${formatUs(first.i.fromUs)} to ${formatUs(first.i.toUs)}`,
      };
    }
  }
}
