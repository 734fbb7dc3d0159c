/**
 * The journal form of a checker input (`kind: "check"`): the virtual server's index and the
 * checker machine's event (START with its warmup draws, TIMER, RESULT with the probe's outcome,
 * STOP), each with the time it was applied. It is ready to join the node's input union
 * (src/runtime/input.ts) so that `CheckerHost`'s `record` hook journals every checker input and
 * replay feeds them back through `CheckerHost.input`. Pure.
 */
import { Schema } from "effect";

const Int = Schema.Int;

const ProbeResultSchema = Schema.Struct({
  ok: Schema.Boolean,
  exitStatus: Schema.optional(Int),
  signal: Schema.optional(Int),
  timedOut: Schema.optional(Schema.Boolean),
});

export const CheckEventSchema = Schema.Union([
  Schema.Struct({
    type: Schema.Literal("START"),
    atUs: Int,
    warmupDraws: Schema.optional(Schema.Array(Int)),
  }),
  Schema.Struct({ type: Schema.Literal("TIMER"), atUs: Int, id: Schema.String }),
  Schema.Struct({
    type: Schema.Literal("RESULT"),
    atUs: Int,
    rs: Int,
    checker: Int,
    seq: Int,
    result: ProbeResultSchema,
  }),
  Schema.Struct({ type: Schema.Literal("STOP"), atUs: Int }),
]);

export const CheckInputSchema = Schema.Struct({
  kind: Schema.Literal("check"),
  vs: Int,
  event: CheckEventSchema,
});
export type CheckJournalInput = typeof CheckInputSchema.Type;

/** Decodes a journal line's input (unknown → the input or an Error). */
export const decodeCheckInput = (u: unknown): CheckJournalInput | Error => {
  try {
    return Schema.decodeUnknownSync(CheckInputSchema)(u);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
};
