/**
 * `fdatasync` off the event loop for the journal: a state change's batch is written at once (the
 * decision is on disk, in the page cache, before anything else happens), and its durability is
 * requested here, in libuv's thread pool, so effects (VIP add, GARP) never wait for the disk. Requests
 * made while one sync is in flight are coalesced into one more sync after it. Not pure (file
 * descriptors, the thread pool); the sync function is injectable for tests.
 */
import { fdatasync } from "node:fs";

/** An asynchronous `fdatasync(fd)` (node:fs's by default). */
export type AsyncSync = (fd: number, done: (error: Error | null) => void) => void;

export class BackgroundSync {
  #inFlight = false;
  /** The sync to run once the one in flight completes (a later request came meanwhile). */
  #again: { readonly fd: number; readonly onError: (error: Error) => void } | undefined;

  constructor(private readonly sync: AsyncSync = fdatasync) {}

  /** True while a sync is running. */
  get busy(): boolean {
    return this.#inFlight;
  }

  /**
   * Makes everything written to `fd` so far durable, without blocking; `onError` is told if that
   * fails (the owner decides whether the file still matters: an fd number can be reused once closed).
   */
  request(fd: number, onError: (error: Error) => void): void {
    if (this.#inFlight) {
      this.#again = { fd, onError };
      return;
    }
    this.#inFlight = true;
    this.sync(fd, (error) => {
      this.#inFlight = false;
      if (error !== null) onError(error);
      const next = this.#again;
      this.#again = undefined;
      if (next !== undefined) this.request(next.fd, next.onError);
    });
  }
}
