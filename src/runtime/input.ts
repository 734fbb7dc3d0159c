/**
 * The one input vocabulary of a `Node`: every datagram, timer expiry, probe result, link change,
 * address change, admin command, configuration reload, effect result and LVS checker result becomes an `Event {seq, atUs, input}` before it is applied. These
 * are effect Schemas, so journal lines are decoded (checked) at the edge; live inputs are checked
 * before they are journaled by `checkInput`, a hand-written check with the same meaning (cheap enough
 * for the hot path), and written by `inLine` (input-text.ts). Pure.
 */
import { Schema } from "effect";

const Int = Schema.Int;

export const RxInput = Schema.Struct({
  kind: Schema.Literal("rx"),
  family: Schema.Literals([4, 6]),
  src: Schema.String,
  dst: Schema.String,
  /** IPv4 TTL / IPv6 hop limit as received (255 when not observed). */
  ttl: Int,
  /** Present and false when the transport cannot see the TTL (UDP): the TTL checks are skipped. */
  ttlObserved: Schema.optional(Schema.Boolean),
  ifname: Schema.String,
  /** The receiving interface's index, when the transport knows it. */
  ifindex: Schema.optional(Int),
  /** IPv4 raw sockets: the IP header's total length minus its header length (keepalived's length check). */
  ipPayloadLength: Schema.optional(Int),
  /** The VRRP message, lowercase hex. */
  hex: Schema.String,
});
export const TimerInput = Schema.Struct({
  kind: Schema.Literal("timer"),
  /** Actor id (`instance:VI_1`, `group:G1`, `tracker:chk`). */
  actor: Schema.String,
  /** Timer name as the machine raises it (`masterDown`, `advert`, `garpDelay`, `garpRefresh`, `preemptDelay`). */
  id: Schema.String,
});
export const ProbeInput = Schema.Struct({
  kind: Schema.Literal("probe"),
  tracker: Schema.String,
  ok: Schema.Boolean,
  exitStatus: Schema.optional(Int),
  timedOut: Schema.optional(Schema.Boolean),
  /** `track_file`: the value read from the file (`ok` is then ignored). */
  value: Schema.optional(Int),
  /** `vrrp_track_process`: the number of matching processes running (`ok` is then ignored). */
  running: Schema.optional(Int),
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
/**
 * The outcome of one effect command, reported by its effect actor (effect-actors.ts). `cmd` is the
 * actor's own command counter (1, 2, … in the order the machines emitted its commands), so replay
 * can pair an outcome with its command. `op` is the command type; `instance` and `target` (an
 * interface, a peer, a notify subject) say what it acted on; `code` is an errno name or a Vigil code.
 */
export const EffectInput = Schema.Struct({
  kind: Schema.Literal("effect"),
  /** `advert:eth0`, `vip:eth0`, `arp:eth0`, `notify`, `ipvs`, `log`. */
  actor: Schema.String,
  cmd: Int,
  op: Schema.String,
  instance: Schema.optional(Schema.String),
  target: Schema.optional(Schema.String),
  ok: Schema.Boolean,
  code: Schema.optional(Schema.String),
  detail: Schema.String,
});
export type EffectInput = typeof EffectInput.Type;

/** An address added to (`present`) or deleted from an interface of the host (the netlink address watch). */
export const AddressInput = Schema.Struct({
  kind: Schema.Literal("address"),
  ifname: Schema.String,
  address: Schema.String,
  prefixLength: Int,
  family: Schema.Literals([4, 6]),
  present: Schema.Boolean,
});

/**
 * A tracked virtual route or rule deleted by someone else, as the host's route watch matched it
 * against the configuration (src/effects/route.effect.ts `deletedEntry`): keepalived's own text for it.
 */
export const RouteInput = Schema.Struct({
  kind: Schema.Literal("route"),
  entry: Schema.Literals(["route", "rule"]),
  text: Schema.String,
});

/**
 * A configuration reload (SIGHUP) that passed validation: the new `NodeSpec` (plain JSON, as in the
 * journal header; node.ts and reload.ts apply it) and the new configuration's hash.
 */
export const ReloadInput = Schema.Struct({
  kind: Schema.Literal("reload"),
  configHash: Schema.String,
  spec: Schema.Unknown,
});

/**
 * An LVS checker input (checkers.ts): the start of a virtual server's checkers with their warmup
 * draws (0..RAND_MAX each, keepalived's random(), from the host's PRNG), or the result of one probe
 * the checker machine asked for (`seq` pairs it with the probe; a stale one is ignored). The
 * checkers' timers come as `timer` inputs of actor `vs:NAME`; they stop with the node's shutdown.
 */
export const CheckInput = Schema.Struct({
  kind: Schema.Literal("check"),
  /** The virtual server (keepalived's FMT_VS: `[198.18.0.100]:tcp:80`, `FWM 7`). */
  vs: Schema.String,
  event: Schema.Union([
    Schema.Struct({ type: Schema.Literal("START"), warmupDraws: Schema.Array(Int) }),
    Schema.Struct({
      type: Schema.Literal("RESULT"),
      rs: Int,
      checker: Int,
      seq: Int,
      ok: Schema.Boolean,
      /** MISC_CHECK: the script's exit status, or the signal that ended it (`timedOut` when we killed it). */
      exitStatus: Schema.optional(Int),
      signal: Schema.optional(Int),
      timedOut: Schema.optional(Schema.Boolean),
      /** DNS_CHECK / SMTP_CHECK: the failure's message (the machine logs it when keepalived does). */
      reason: Schema.optional(Schema.String),
      /** The probe could not run (keepalived's `Rescheduling.`): no verdict. */
      rescheduled: Schema.optional(Schema.Boolean),
    }),
  ]),
});
export type CheckInput = typeof CheckInput.Type;

export const Input = Schema.Union([
  RxInput,
  TimerInput,
  ProbeInput,
  LinkInput,
  AdminInput,
  EffectInput,
  AddressInput,
  RouteInput,
  ReloadInput,
  CheckInput,
]);
export type Input = typeof Input.Type;

export const Event = Schema.Struct({ seq: Int, atUs: Int, input: Input });
export type Event = typeof Event.Type;

export const decodeEvent = Schema.decodeUnknownSync(Event);

/** A live input that does not match the `Input` schema (a programming error in the caller). */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
}

const isStr = (x: unknown): x is string => typeof x === "string";
const isBool = (x: unknown): x is boolean => typeof x === "boolean";
const isInt = (x: unknown): x is number => Number.isSafeInteger(x);
const bad = (what: string): never => {
  throw new InvalidInputError(`invalid input: ${what}`);
};

/**
 * The `Input` schema as a hand-written structural check, for live inputs on the hot path (an effect
 * Schema decode costs ~1 µs and several allocations per event). Same meaning as
 * `Schema.decodeUnknownSync(Input)`: the same inputs are accepted, and the result is a fresh object
 * with exactly the schema's keys in the schema's order (extra keys dropped, absent optionals
 * omitted), so its JSON is byte-identical to the decoded one. test/runtime/hot-path.test.ts checks the
 * equivalence against the Schema with fast-check. Journals and files are still decoded with Schema.
 */
export const checkInput = (x: unknown): Input => {
  if (typeof x !== "object" || x === null) return bad("not an object");
  const i = x as Record<string, unknown>;
  switch (i.kind) {
    case "rx":
      if (i.family !== 4 && i.family !== 6) return bad("rx.family");
      if (!isStr(i.src) || !isStr(i.dst) || !isInt(i.ttl) || !isStr(i.ifname) || !isStr(i.hex))
        return bad("rx fields");
      if (i.ttlObserved !== undefined && !isBool(i.ttlObserved)) return bad("rx.ttlObserved");
      if (i.ifindex !== undefined && !isInt(i.ifindex)) return bad("rx.ifindex");
      if (i.ipPayloadLength !== undefined && !isInt(i.ipPayloadLength)) return bad("rx.ipPayloadLength");
      return rxOf(
        i.family,
        i.src,
        i.dst,
        i.ttl,
        i.ttlObserved,
        i.ifname,
        i.ifindex as number | undefined,
        i.ipPayloadLength as number | undefined,
        i.hex,
      );
    case "timer":
      if (!isStr(i.actor) || !isStr(i.id)) return bad("timer fields");
      return { kind: "timer", actor: i.actor, id: i.id };
    case "probe": {
      if (!isStr(i.tracker) || !isBool(i.ok)) return bad("probe fields");
      if (i.exitStatus !== undefined && !isInt(i.exitStatus)) return bad("probe.exitStatus");
      if (i.timedOut !== undefined && !isBool(i.timedOut)) return bad("probe.timedOut");
      if (i.value !== undefined && !isInt(i.value)) return bad("probe.value");
      if (i.running !== undefined && !isInt(i.running)) return bad("probe.running");
      return {
        kind: "probe",
        tracker: i.tracker,
        ok: i.ok,
        ...(i.exitStatus === undefined ? {} : { exitStatus: i.exitStatus }),
        ...(i.timedOut === undefined ? {} : { timedOut: i.timedOut }),
        ...(i.value === undefined ? {} : { value: i.value }),
        ...(i.running === undefined ? {} : { running: i.running }),
      };
    }
    case "link":
      if (!isStr(i.ifname) || !isBool(i.up)) return bad("link fields");
      return { kind: "link", ifname: i.ifname, up: i.up };
    case "admin":
      if (i.command !== "start" && i.command !== "shutdown") return bad("admin.command");
      return { kind: "admin", command: i.command };
    case "effect":
      if (!isStr(i.actor) || !isInt(i.cmd) || !isStr(i.op) || !isBool(i.ok) || !isStr(i.detail))
        return bad("effect fields");
      if (i.instance !== undefined && !isStr(i.instance)) return bad("effect.instance");
      if (i.target !== undefined && !isStr(i.target)) return bad("effect.target");
      if (i.code !== undefined && !isStr(i.code)) return bad("effect.code");
      return {
        kind: "effect",
        actor: i.actor,
        cmd: i.cmd,
        op: i.op,
        ...(i.instance === undefined ? {} : { instance: i.instance }),
        ...(i.target === undefined ? {} : { target: i.target }),
        ok: i.ok,
        ...(i.code === undefined ? {} : { code: i.code }),
        detail: i.detail,
      };
    case "address":
      if (i.family !== 4 && i.family !== 6) return bad("address.family");
      if (!isStr(i.ifname) || !isStr(i.address) || !isInt(i.prefixLength) || !isBool(i.present))
        return bad("address fields");
      return {
        kind: "address",
        ifname: i.ifname,
        address: i.address,
        prefixLength: i.prefixLength,
        family: i.family,
        present: i.present,
      };
    case "route":
      if ((i.entry !== "route" && i.entry !== "rule") || !isStr(i.text)) return bad("route fields");
      return { kind: "route", entry: i.entry, text: i.text };
    case "reload":
      if (!isStr(i.configHash) || typeof i.spec !== "object" || i.spec === null) return bad("reload fields");
      // Through JSON, so the live node applies exactly the spec a replay reads back from the journal.
      return { kind: "reload", configHash: i.configHash, spec: JSON.parse(JSON.stringify(i.spec)) };
    case "check":
      return checkCheck(i);
    default:
      return bad("unknown kind");
  }
};

const checkCheck = (i: Record<string, unknown>): Input => {
  if (!isStr(i.vs) || typeof i.event !== "object" || i.event === null) return bad("check fields");
  const e = i.event as Record<string, unknown>;
  if (e.type === "START") {
    const d = e.warmupDraws;
    if (!Array.isArray(d) || !d.every(isInt)) return bad("check.warmupDraws");
    return { kind: "check", vs: i.vs, event: { type: "START", warmupDraws: [...(d as number[])] } };
  }
  if (e.type !== "RESULT") return bad("check.event.type");
  if (!isInt(e.rs) || !isInt(e.checker) || !isInt(e.seq) || !isBool(e.ok)) return bad("check result fields");
  if (e.exitStatus !== undefined && !isInt(e.exitStatus)) return bad("check.exitStatus");
  if (e.signal !== undefined && !isInt(e.signal)) return bad("check.signal");
  if (e.timedOut !== undefined && !isBool(e.timedOut)) return bad("check.timedOut");
  if (e.reason !== undefined && !isStr(e.reason)) return bad("check.reason");
  if (e.rescheduled !== undefined && !isBool(e.rescheduled)) return bad("check.rescheduled");
  return {
    kind: "check",
    vs: i.vs,
    event: {
      type: "RESULT",
      rs: e.rs,
      checker: e.checker,
      seq: e.seq,
      ok: e.ok,
      ...(e.exitStatus === undefined ? {} : { exitStatus: e.exitStatus }),
      ...(e.signal === undefined ? {} : { signal: e.signal }),
      ...(e.timedOut === undefined ? {} : { timedOut: e.timedOut }),
      ...(e.reason === undefined ? {} : { reason: e.reason }),
      ...(e.rescheduled === undefined ? {} : { rescheduled: e.rescheduled }),
    },
  };
};

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/** What a transport says about one received datagram (structurally `transports/transport.ts` `Datagram`). */
export interface RxFacts {
  readonly bytes: Uint8Array;
  /** `bytes` as lowercase hex, when the transport has it already (transports/rx-intern.ts). */
  readonly hex?: string;
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  readonly ttl: number;
  readonly ttlObserved?: boolean;
  readonly ifname: string;
  readonly ifindex?: number;
  readonly ipPayloadLength?: number;
}

/**
 * A received datagram as a journalable input, keeping every fact a receive check needs (TTL seen or
 * not, interface index, IPv4 payload length from the IP header), so live and replayed runs check alike.
 */
export const rxInput = (d: RxFacts): RxIn =>
  rxOf(
    d.family,
    d.src,
    d.dst,
    d.ttl,
    d.ttlObserved === false ? false : undefined,
    d.ifname,
    d.ifindex,
    d.ipPayloadLength,
    d.hex ?? hexOf(d.bytes),
  );

type RxIn = Extract<Input, { kind: "rx" }>;

/**
 * The rx input of these facts, keys in the schema's order (the journal text's); one literal for the
 * two common shapes — the raw IPv4 socket's (index and payload length known) and the bare one — so
 * no spread temporaries are made per datagram.
 */
const rxOf = (
  family: 4 | 6,
  src: string,
  dst: string,
  ttl: number,
  ttlObserved: boolean | undefined,
  ifname: string,
  ifindex: number | undefined,
  ipPayloadLength: number | undefined,
  hex: string,
): RxIn => {
  if (ttlObserved === undefined && ifindex !== undefined && ipPayloadLength !== undefined)
    return { kind: "rx", family, src, dst, ttl, ifname, ifindex, ipPayloadLength, hex };
  if (ttlObserved === undefined && ifindex === undefined && ipPayloadLength === undefined)
    return { kind: "rx", family, src, dst, ttl, ifname, hex };
  return {
    kind: "rx",
    family,
    src,
    dst,
    ttl,
    ...(ttlObserved === undefined ? {} : { ttlObserved }),
    ifname,
    ...(ifindex === undefined ? {} : { ifindex }),
    ...(ipPayloadLength === undefined ? {} : { ipPayloadLength }),
    hex,
  };
};
