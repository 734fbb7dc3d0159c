/**
 * `Fanout` (transports/fanout.ts) behaves as the RxJS Subject it replaces on the receive path does
 * for what that path uses: values to every subscriber in subscription order; a subscriber added or
 * removed while a value is handed on sees the next value (or no more), not that one; `complete`
 * completes everyone and later subscribers at once; `observed`; and the same through `merge`.
 */
import fc from "fast-check";
import { merge, Subject, type Subscription } from "rxjs";
import { describe, expect, test } from "vitest";
import { Fanout } from "../../transports/fanout.ts";

type Op = { next: number } | { subscribe: true } | { unsubscribe: number } | { complete: true };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ next: fc.integer() }),
  fc.constant({ subscribe: true } as const),
  fc.record({ unsubscribe: fc.nat(8) }),
  fc.constant({ complete: true } as const),
);

/** Runs `ops` on a Subject-like source; every subscriber logs what it saw; a subscriber subscribes another on value 0. */
function run(
  ops: readonly Op[],
  source: { next(v: number): void; complete(): void; readonly observed: boolean },
  subscribe: (observer: { next(v: number): void; complete(): void }) => Subscription,
): string[] {
  const log: string[] = [];
  const subs: Subscription[] = [];
  let n = 0;
  const add = (): void => {
    const id = n++;
    subs.push(
      subscribe({
        next: (v) => {
          log.push(`${id}:${v}`);
          // re-entrant: a subscriber that subscribes another one, and one that unsubscribes itself
          if (v === 0 && n < 8) add();
          if (v === 1) subs[id]?.unsubscribe();
        },
        complete: () => log.push(`${id}:done`),
      }),
    );
  };
  for (const op of ops) {
    if ("next" in op) source.next(op.next % 4);
    else if ("subscribe" in op) add();
    else if ("unsubscribe" in op) subs[op.unsubscribe % Math.max(1, subs.length)]?.unsubscribe();
    else source.complete();
    log.push(`observed:${source.observed}`);
  }
  return log;
}

describe("Fanout", () => {
  test("hands on, completes and counts subscribers as an RxJS Subject does", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const subject = new Subject<number>();
        const fanout = new Fanout<number>();
        const expected = run(ops, subject, (o) => subject.subscribe(o));
        expect(run(ops, fanout, (o) => fanout.observable.subscribe(o))).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  test("through merge, as the daemon's routed transport joins its views", () => {
    const a = new Fanout<number>();
    const b = new Fanout<number>();
    const seen: number[] = [];
    let done = false;
    merge(a.observable, b.observable).subscribe({ next: (v) => seen.push(v), complete: () => (done = true) });
    a.next(1);
    b.next(2);
    a.complete();
    a.next(3);
    b.next(4);
    expect(seen).toEqual([1, 2, 4]);
    expect(done).toBe(false);
    b.complete();
    expect(done).toBe(true);
  });
});
