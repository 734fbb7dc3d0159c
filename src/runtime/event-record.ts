/**
 * What a node writes of each event it applies: the `in` line before the step and the `out` line after
 * it (to the journal, when there is one), and the output hash — sha256 over every `out` line, kept
 * unless the node is made without it (the daemon: nothing there reads it). The hot
 * kinds' texts come from memos: a received datagram's (`InputTexts.rx`), a fired timer's (timer-table.ts
 * `TimerMemo`), a repeated step's outputs (actor-registry.ts `outText`); they go to the journal's fast
 * paths (`appendIn`, `appendOut`) when it has them, which write exactly the plain lines. Not pure
 * (holds the text memo, the hash and the journal).
 */
import { createHash, type Hash } from "node:crypto";
import type { Event, Input } from "./input.ts";
import { InputTexts, inLineOf, type RxMemo } from "./input-text.ts";
import type { Journal } from "./journal.ts";
import { outLineText } from "./segment-format.ts";
import type { TimerMemo } from "./timer-table.ts";

/** `out` lines are hashed in batches of about this many characters (`outputHash` takes the rest). */
const HASH_BATCH_CHARS = 16_384;

/** The `out` line of event `seq`: `JSON.stringify({ t: "out", seq, out: outputs })`, from `text` when given. */
const outLine = (seq: number, outputs: readonly unknown[], text: string | undefined): string =>
  text !== undefined ? outLineText(seq, text) : JSON.stringify({ t: "out", seq, out: outputs });

export class EventRecord {
  readonly #journal: Journal | undefined;
  readonly #texts = new InputTexts();
  /** Undefined: no output hash is kept. */
  readonly #hash: Hash | undefined;
  /**
   * `out` lines not yet hashed: fed to `#hash` joined, a batch at a time (the digest of the
   * concatenation is the digest of the lines one by one; they are whole JSON texts, so joining them
   * pairs no surrogates), instead of one native call and one UTF-8 conversion per line.
   */
  readonly #unhashed: string[] = [];
  #unhashedChars = 0;

  constructor(journal: Journal | undefined, hashOutputs = true) {
    this.#journal = journal;
    this.#hash = hashOutputs ? createHash("sha256") : undefined;
  }

  /** The memo of a received datagram with exactly these facts (the step's receive path reads it too). */
  rx(i: Extract<Input, { kind: "rx" }>): RxMemo {
    return this.#texts.rx(i);
  }

  /** Writes the `in` line of `ev`; `memo`: its input's memo, if it has one (text and dictionary hint). */
  in(ev: Event, memo: RxMemo | TimerMemo | undefined): void {
    const j = this.#journal;
    if (j === undefined) return;
    const text = memo !== undefined ? memo.text : this.#texts.text(ev.input);
    if (j.appendIn !== undefined) j.appendIn(ev.seq, ev.atUs, text, memo);
    else j.append(inLineOf(ev.seq, ev.atUs, text));
  }

  /**
   * Writes the `out` line of event `seq` — as `JSON.stringify({ t: "out", seq, out: outputs })` writes
   * it — and hashes it. `text`: the outputs' JSON text, when the caller has it and `seq` is a safe integer.
   */
  out(seq: number, outputs: readonly unknown[], text: string | undefined): void {
    const j = this.#journal;
    if (this.#hash === undefined) {
      // No hash: no line unless the journal needs it (its fast path builds one for a full write only).
      if (j === undefined) return;
      if (text !== undefined && j.appendOut !== undefined) j.appendOut(seq, text);
      else j.append(outLine(seq, outputs, text));
      return;
    }
    const line = outLine(seq, outputs, text);
    this.#unhashed.push(line);
    this.#unhashedChars += line.length;
    if (this.#unhashedChars >= HASH_BATCH_CHARS) this.#feedHash();
    if (j === undefined) return;
    if (text !== undefined && j.appendOut !== undefined) j.appendOut(seq, text, line);
    else j.append(line);
  }

  /** sha256 over every `out` line so far; throws if this record keeps no hash. */
  outputHash(): string {
    if (this.#hash === undefined)
      throw new Error("this node keeps no output hash (NodeOptions.hashOutputs is false)");
    this.#feedHash();
    return this.#hash.copy().digest("hex");
  }

  #feedHash(): void {
    if (this.#unhashed.length === 0 || this.#hash === undefined) return;
    this.#hash.update(this.#unhashed.join(""));
    this.#unhashed.length = 0;
    this.#unhashedChars = 0;
  }
}
