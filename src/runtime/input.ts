/**
 * The one input vocabulary of a `Node`: every datagram, timer expiry, probe result, link change,
 * admin command and effect result becomes an `Event {seq, atUs, input}` before it is applied. These
 * are effect Schemas, so journal lines are decoded (checked) at the edge, and the same schema checks
 * every live input before it is journaled. Pure (schemas and types).
 */
import { Schema } from "effect";

const Int = Schema.Int;

export const RxInput = Schema.Struct({
  kind: Schema.Literal("rx"),
  family: Schema.Literals([4, 6]),
  src: Schema.String,
  dst: Schema.String,
  ttl: Int,
  ifname: Schema.String,
  /** The VRRP message, lowercase hex. */
  hex: Schema.String,
});
export const TimerInput = Schema.Struct({
  kind: Schema.Literal("timer"),
  /** Actor id (`instance:VI_1`, `group:G1`, `tracker:chk`). */
  actor: Schema.String,
  /** Timer id as emitted by the machine (`xstate.after.masterDown.vrrp.backup`, `preemptDelay`). */
  id: Schema.String,
});
export const ProbeInput = Schema.Struct({
  kind: Schema.Literal("probe"),
  tracker: Schema.String,
  ok: Schema.Boolean,
  exitStatus: Schema.optional(Int),
  timedOut: Schema.optional(Schema.Boolean),
});
export const LinkInput = Schema.Struct({
  kind: Schema.Literal("link"),
  ifname: Schema.String,
  up: Schema.Boolean,
});
export const AdminInput = Schema.Struct({
  kind: Schema.Literal("admin"),
  command: Schema.Literals(["start", "shutdown"]),
});
export const EffectInput = Schema.Struct({
  kind: Schema.Literal("effect"),
  port: Schema.String,
  ok: Schema.Boolean,
  detail: Schema.String,
});

export const Input = Schema.Union([RxInput, TimerInput, ProbeInput, LinkInput, AdminInput, EffectInput]);
export type Input = typeof Input.Type;

export const Event = Schema.Struct({ seq: Int, atUs: Int, input: Input });
export type Event = typeof Event.Type;

export const decodeEvent = Schema.decodeUnknownSync(Event);
