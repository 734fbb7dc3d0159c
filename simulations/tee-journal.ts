/**
 * The simulated host's journal tee: forwards every line to the real journal (if any, --journal-dir)
 * and remembers which state changes the `out` line of the last input recorded, so the oracles can
 * check that every transition was journaled with its cause (invariants.ts `transition-cause`). Not
 * pure (it holds the last input's changes).
 */
import { inLineOf } from "../src/runtime/input-text.ts";
import type { Journal } from "../src/runtime/journal.ts";

/**
 * Forwards to the real journal (if any) and remembers which state changes the `out` line of the
 * last input recorded, so the oracles can check that every transition was journaled with its cause.
 */
export class TeeJournal implements Journal {
  lastInSeq = -1;
  lastOutSeq = -1;
  readonly states = new Set<string>();
  constructor(readonly inner: Journal | undefined) {}
  append(line: string): void {
    if (line.startsWith('{"t":"in"')) this.#in(Number(/"seq":(\d+)/.exec(line)?.[1] ?? -1));
    else if (line.startsWith('{"t":"out"') && line.includes('"type":"state"')) {
      const out = JSON.parse(line) as {
        seq: number;
        out: Array<{ type: string; actor?: string; from?: string; to?: string }>;
      };
      this.lastOutSeq = out.seq;
      for (const o of out.out) if (o.type === "state") this.states.add(`${o.actor} ${o.from} ${o.to}`);
    }
    this.inner?.append(line);
  }
  appendIn(seq: number, atUs: number, input: string): void {
    this.#in(seq);
    if (this.inner?.appendIn !== undefined) this.inner.appendIn(seq, atUs, input);
    else this.inner?.append(inLineOf(seq, atUs, input));
  }
  #in(seq: number): void {
    this.lastInSeq = seq;
    if (this.states.size > 0) this.states.clear();
  }
  close(): void {
    this.inner?.close();
  }
  shouldRotate(): boolean {
    return this.inner?.shouldRotate?.() ?? false;
  }
  startSegment(checkpoint: unknown): void {
    this.inner?.startSegment?.(checkpoint);
  }
}
