/**
 * The journal text of inputs: an input's JSON text and its `in` line, byte-identical to
 * `JSON.stringify` but written by hand for the two hot kinds (rx, timer), and `InputTexts`, the memo
 * a node keeps of them, with `RxMemo`, its entry for a received datagram. Pure, except `InputTexts` (a
 * memo the node holds); imports no runtime code, only types (the segment format shares `inLineOf`
 * without loading the input schemas).
 */
import type { Received } from "./codec.adapter.ts";
import type { Event, Input } from "./input.ts";
import type { Routed } from "./node-parts.ts";

const q = JSON.stringify;

/** The JSON text of a checked input: byte-identical to `JSON.stringify(input)`, by hand for rx and timer. */
export const inputText = (i: Input): string => {
  if (i.kind === "rx") {
    const seen = i.ttlObserved === undefined ? "" : `,"ttlObserved":${i.ttlObserved}`;
    const index = i.ifindex === undefined ? "" : `,"ifindex":${i.ifindex}`;
    const len = i.ipPayloadLength === undefined ? "" : `,"ipPayloadLength":${i.ipPayloadLength}`;
    return `{"kind":"rx","family":${i.family},"src":${q(i.src)},"dst":${q(i.dst)},"ttl":${i.ttl}${seen},"ifname":${q(i.ifname)}${index}${len},"hex":${q(i.hex)}}`;
  }
  if (i.kind === "timer") return `{"kind":"timer","actor":${q(i.actor)},"id":${q(i.id)}}`;
  return q(i);
};

/**
 * `String(n)`, for the numbers of every event's lines (seq, atUs). A safe integer's digits come from
 * `toFixed(0)`, which leaves V8's number-to-string cache alone: a string in that cache stays
 * referenced until another number takes its slot, and consecutive numbers take consecutive slots,
 * so at 10,000 events a second each `seq` text outlived two scavenges — 0.25 of the 0.33 MB/s that
 * filled the old generation of a 1,000-instance MASTER (docs/benchmarks.md, scale).
 */
export const decimal = (n: number): string => (Number.isSafeInteger(n) ? n.toFixed(0) : String(n));

/** The `in` line of event (seq, atUs) whose input's JSON text is `text`. */
export const inLineOf = (seq: number, atUs: number, text: string): string =>
  `{"t":"in","ev":{"seq":${decimal(seq)},"atUs":${decimal(atUs)},"input":${text}}}`;

/**
 * The journal `in` line of a checked event: byte-identical to `JSON.stringify({ t: "in", ev })`,
 * written by hand for the two hot kinds (rx, timer) to skip the generic serialiser.
 */
export const inLine = (ev: Event): string => inLineOf(ev.seq, ev.atUs, inputText(ev.input));

type RxInput = Extract<Input, { kind: "rx" }>;

/**
 * What a node remembers of one distinct received datagram (its bytes and every fact of its input), so
 * that a repeated advert costs one lookup instead of one per cache (on a busy BACKUP these lookups,
 * each on data a thousand other instances' adverts have pushed out of the caches since, were the
 * largest single cost). Each part is filled and checked by its owner; a part that does not check out
 * is recomputed the ordinary way, so the memo never changes a result.
 */
export class RxMemo {
  /** segment-format.ts: the dictionary entry the journal last gave `text` (-1: none); checked before use. */
  dict = -1;
  /** codec.adapter.ts: the codec that checked this datagram, and its result if it accepted it (frozen). */
  codec: object | undefined = undefined;
  accepted: Received | undefined = undefined;
  /**
   * node-parts.ts: the parts that routed it last, with its (actor, event) — the actor carries the
   * instance's stats: valid while they are the node's parts (a reload makes new ones).
   */
  parts: object | undefined = undefined;
  routed: Routed | undefined = undefined;
  /** node.ts: the transport hint epoch in which this datagram was last named steady (-1: never). */
  steadyEpoch = -1;
  constructor(
    readonly i: RxInput,
    /** The input's journal text: `inputText(i)`. */
    readonly text: string,
  ) {}
}

/** Entries an `InputTexts` keeps before it starts over (a cache: any bound gives the same texts). */
const INPUT_TEXTS_MAX = 8192;

/**
 * `inputText` with a memo for timer inputs (by actor and timer id) and for rx inputs keyed by their
 * datagram (`hex`; `RxMemo`): a steady state repeats the same datagram with the same facts, so the
 * text — a flat string whose hash V8 has already computed — is reused. Every fact is compared, so the
 * text is always exactly `inputText(i)`. Not pure (holds the memo).
 */
export class InputTexts {
  readonly #rx = new Map<string, RxMemo>();

  /** Timer input texts by actor, then timer id. */
  readonly #timers = new Map<string, Map<string, string>>();

  text(i: Input): string {
    if (i.kind === "timer") return this.#timerText(i);
    if (i.kind !== "rx") return inputText(i);
    return this.rx(i).text;
  }

  /** The memo of a received datagram with exactly these facts (a new one when they differ). */
  rx(i: RxInput): RxMemo {
    const m = this.#rx.get(i.hex);
    if (
      m !== undefined &&
      m.i.src === i.src &&
      m.i.dst === i.dst &&
      m.i.ifname === i.ifname &&
      m.i.ttl === i.ttl &&
      m.i.family === i.family &&
      m.i.ttlObserved === i.ttlObserved &&
      m.i.ifindex === i.ifindex &&
      m.i.ipPayloadLength === i.ipPayloadLength
    )
      return m;
    if (this.#rx.size >= INPUT_TEXTS_MAX) this.#rx.clear();
    const memo = new RxMemo(i, inputText(i));
    this.#rx.set(i.hex, memo);
    return memo;
  }

  /**
   * The same text object for every firing of a timer: nothing built per firing, and the journal's
   * dictionary finds it by a hash V8 has already computed.
   */
  #timerText(i: Extract<Input, { kind: "timer" }>): string {
    let byId = this.#timers.get(i.actor);
    if (byId === undefined) {
      if (this.#timers.size >= INPUT_TEXTS_MAX) this.#timers.clear();
      byId = new Map();
      this.#timers.set(i.actor, byId);
    }
    let text = byId.get(i.id);
    if (text === undefined) {
      text = inputText(i);
      byId.set(i.id, text);
    }
    return text;
  }
}
