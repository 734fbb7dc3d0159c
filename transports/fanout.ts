/**
 * `Fanout`: the multicast source of the receive path — each socket's stream, each instance's view,
 * the daemon's switched transport. A Subject for what these use of one (`next`, `complete`,
 * `observed`, an Observable to subscribe to), without what RxJS's `Subject.next` makes per value: a
 * closure for its error context and an array iterator with its results (two Subjects with one
 * subscriber each, in bench/lab/rx-path.bench.ts: 481 of the 1,049 bytes an advert allocated;
 * docs/benchmarks.md). Not pure (holds its subscribers).
 */
import { Observable, type Subscriber } from "rxjs";

export class Fanout<T> {
  /** Replaced, never changed in place: a `next` in progress goes on over the subscribers it started with. */
  #subscribers: ReadonlyArray<Subscriber<T>> = [];
  #completed = false;

  /** Subscribes to what `next` sends from now on (completes at once after `complete`). */
  readonly observable: Observable<T> = new Observable<T>((s) => {
    if (this.#completed) {
      s.complete();
      return undefined;
    }
    this.#subscribers = [...this.#subscribers, s];
    return () => {
      this.#subscribers = this.#subscribers.filter((x) => x !== s);
    };
  });

  /** Whether anyone is subscribed. */
  get observed(): boolean {
    return this.#subscribers.length > 0;
  }

  /** Hands `value` to every subscriber, in subscription order (nothing after `complete`). */
  next(value: T): void {
    const subscribers = this.#subscribers;
    for (let k = 0; k < subscribers.length; k++) (subscribers[k] as Subscriber<T>).next(value);
  }

  /** Completes every subscriber; later subscribers complete at once, and `next` sends nothing more. */
  complete(): void {
    if (this.#completed) return;
    this.#completed = true;
    const subscribers = this.#subscribers;
    this.#subscribers = [];
    for (const s of subscribers) s.complete();
  }
}
