/**
 * A node's whole decision state as one JSON value: every machine snapshot (XState's persisted form,
 * without the static parameters that come from the spec), the timer table with due times and arming
 * order, the tracker values, the per-instance stats counters, the effect actors' command counters, the
 * LVS checker machines' states and the event seq. The fixpoint memo is a cache and is not part of it; neither are effects still running
 * in a port when it was taken (their outcomes belong to the process that ran them). `Node.checkpoint()`
 * builds one and `Node.restore(spec, checkpoint, opts)` continues from it exactly. `Checkpoint` (the
 * envelope) and `NodeState` (the layout of `state`) are effect Schemas: a checkpoint read from a file
 * is decoded, never cast. Pure (types, schemas, decoding).
 */
import { Schema } from "effect";

export const CHECKPOINT_FORMAT = "vigil-checkpoint";
/**
 * Bump when the layout of `state` changes. 1: first layout (timers named by the machines). 2: the LVS
 * checkers' states (`checkers`). Version 1 checkpoints still read (a node without checkers).
 */
export const CHECKPOINT_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, CHECKPOINT_VERSION];

export const Checkpoint = Schema.Struct({
  format: Schema.Literal(CHECKPOINT_FORMAT),
  version: Schema.Number,
  /** Seq of the last event applied before it. */
  seq: Schema.Int,
  /** Clock time it was taken at. */
  atUs: Schema.Number,
  /** Opaque to the journal: a `NodeState` (decoded by `Node.restore`). */
  state: Schema.Unknown,
});
export interface Checkpoint {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: number;
  readonly seq: number;
  readonly atUs: number;
  readonly state: unknown;
}

const Count = Schema.Int;

export const SavedTimer = Schema.Struct({
  actor: Schema.String,
  id: Schema.String,
  event: Schema.Struct({ type: Schema.String }),
  dueUs: Schema.Number,
  armSeq: Count,
});

const Checker = Schema.Struct({
  isUp: Schema.Boolean,
  hasRun: Schema.Boolean,
  retryIt: Count,
  urlIt: Count,
  failedUrl: Schema.Boolean,
  curWeight: Schema.Int,
  lastExitCode: Schema.Int,
  probing: Count,
  startedAtUs: Schema.Number,
});

/** One virtual server's checker machine state (machines/lvs-pool.ts `PoolState`). */
export const PoolStateSchema = Schema.Struct({
  phase: Schema.Literals(["idle", "running", "stopped"]),
  quorumUp: Schema.Boolean,
  sorryAlive: Schema.Boolean,
  sorrySet: Schema.Boolean,
  seq: Count,
  rs: Schema.Array(
    Schema.Struct({
      alive: Schema.Boolean,
      set: Schema.Boolean,
      effectiveWeight: Schema.Int,
      numFailed: Count,
      checkers: Schema.Array(Checker),
    }),
  ),
});

export const NodeState = Schema.Struct({
  /** Actor id → XState persisted snapshot (`context.p` left out: it is the spec's). */
  actors: Schema.Record(
    Schema.String,
    Schema.Struct({
      status: Schema.String,
      value: Schema.Unknown,
      context: Schema.Record(Schema.String, Schema.Unknown),
      historyValue: Schema.optional(Schema.Unknown),
      children: Schema.optional(Schema.Unknown),
      output: Schema.optional(Schema.Unknown),
      error: Schema.optional(Schema.Unknown),
    }),
  ),
  timers: Schema.Struct({ armSeq: Count, timers: Schema.Array(SavedTimer) }),
  tracking: Schema.Struct({
    ok: Schema.Record(Schema.String, Schema.NullOr(Schema.Boolean)),
    value: Schema.Record(Schema.String, Schema.Number),
  }),
  /** Instance name → keepalived's counters. */
  stats: Schema.Record(Schema.String, Schema.Record(Schema.String, Count)),
  /** Effect actor id → commands it has been given (`effect` inputs carry these numbers). */
  effects: Schema.Record(Schema.String, Count),
  /** Virtual server name → its checker machine's state (absent: no virtual servers). */
  checkers: Schema.optional(Schema.Record(Schema.String, PoolStateSchema)),
  /** The node has been shut down (node-parts.ts `lifecycle`); absent: it runs. */
  shutDown: Schema.optional(Schema.Boolean),
});
export type NodeState = typeof NodeState.Type;

const decodeCheckpoint = Schema.decodeUnknownSync(Checkpoint);
const decodeState = Schema.decodeUnknownSync(NodeState);

/** A checkpoint that cannot be used, with the reason. */
export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
}

/** Decodes a checkpoint (from a journal line or file) and its state; throws `CheckpointError`. */
export const decodeNodeCheckpoint = (u: unknown): { checkpoint: Checkpoint; state: NodeState } => {
  let checkpoint: Checkpoint;
  try {
    checkpoint = decodeCheckpoint(u);
  } catch (e) {
    throw new CheckpointError(`not a Vigil checkpoint: ${String(e).split("\n")[0]}`);
  }
  if (!READABLE_VERSIONS.includes(checkpoint.version))
    throw new CheckpointError(
      `checkpoint version ${checkpoint.version} is not supported (this Vigil reads versions ${READABLE_VERSIONS.join(" and ")})`,
    );
  try {
    return { checkpoint, state: decodeState(checkpoint.state) };
  } catch (e) {
    throw new CheckpointError(`checkpoint state is invalid: ${String(e).split("\n")[0]}`);
  }
};
