/**
 * The IPv4 raw socket's send path (raw4.socket.ts): a datagram goes out with one non-blocking
 * `sendto` (MSG_DONTWAIT) on the socket's own descriptor — at the end of the event-loop callback
 * that sent it (`SendBatch`) — instead of through raw-socket's queue, which polls for writability
 * and sends one queued datagram per event-loop turn (an extra turn per datagram, an epoll_wait
 * each, and two epoll_ctl per batch). When the descriptor is unknown, or
 * the kernel has no room right now (EAGAIN / ENOBUFS), the datagram goes through raw-socket's queue
 * as before, and so does every later one until that queue is empty again, so datagrams leave in the
 * order they were sent. Other errors are reported through `onError`, as raw-socket reports them
 * (its message is strerror's text). `packet` is only read during the call (the queue gets a copy),
 * so the caller may reuse one buffer. The kernel calls and the queue are injected (`DirectSendIo`),
 * so the decisions are testable without a socket. Not pure (it keeps the queue's length and a
 * cache of destination addresses).
 */
import { addressOrThrow } from "./ip-header.ts";
import { AF_INET } from "./libc.ffi.ts";

export const ENOBUFS = 105;
const EAGAIN = 11;
const SOCKADDR_IN_BYTES = 16;
/** Destinations remembered as `struct sockaddr_in` (groups and unicast peers: a handful). */
const MAX_ADDRESSES = 256;

/** The kernel calls on the socket's descriptor. */
export interface DirectSendIo {
  /** `sendto(fd, packet, MSG_DONTWAIT, address)`: bytes sent, or < 0 with the errno in `errno()`. */
  sendto(packet: Uint8Array, address: Uint8Array): number;
  errno(): number;
  strerror(errno: number): string;
}

/** raw-socket's queued send: `done` is called once (maybe before it returns), with null or the error. */
export type QueuedSend = (packet: Uint8Array, dst: string, done: (error: Error | null) => void) => void;

/** How one send went: `direct` (sendto), `queued` (raw-socket), `failed` (reported). */
export type SendPath = "direct" | "queued" | "failed";

/** `struct sockaddr_in` for an IPv4 address, port 0. Throws on a malformed address. */
export function sockaddrIn(address: string): Uint8Array {
  const b = new Uint8Array(SOCKADDR_IN_BYTES);
  new DataView(b.buffer).setUint16(0, AF_INET, true);
  b.set(addressOrThrow(address, 4), 4);
  return b;
}

export class DirectSender {
  /** Datagrams handed to raw-socket's queue and not yet done. */
  #queued = 0;
  readonly #addresses = new Map<string, Uint8Array>();

  /** `io` undefined: the descriptor is unknown, every datagram goes through the queue. */
  constructor(
    private readonly io: DirectSendIo | undefined,
    private readonly queue: QueuedSend,
  ) {}

  /** Datagrams waiting in raw-socket's queue. */
  get queued(): number {
    return this.#queued;
  }

  send(packet: Uint8Array, dst: string, onError: (e: Error) => void): SendPath {
    const io = this.io;
    if (io !== undefined && this.#queued === 0) {
      const address = this.#address(dst);
      if (address === undefined) {
        // raw-socket's own check, with its message
        onError(new Error(`Invalid IP address '${dst}'`));
        return "failed";
      }
      if (io.sendto(packet, address) >= 0) return "direct";
      const errno = io.errno();
      if (errno !== EAGAIN && errno !== ENOBUFS) {
        onError(new Error(io.strerror(errno)));
        return "failed";
      }
    }
    this.#queued++;
    // The caller reuses `packet` once this returns; the queue sends later: its own copy.
    this.queue(packet.slice(), dst, (error) => {
      this.#queued--;
      if (error !== null) onError(error);
    });
    return "queued";
  }

  #address(dst: string): Uint8Array | undefined {
    let a = this.#addresses.get(dst);
    if (a === undefined) {
      try {
        a = sockaddrIn(dst);
      } catch {
        return undefined;
      }
      if (this.#addresses.size >= MAX_ADDRESSES) this.#addresses.clear();
      this.#addresses.set(dst, a);
    }
    return a;
  }
}

/**
 * How long a datagram may wait in a `SendBatch` while its callback goes on: the next datagram
 * reserved later than that sends what waits first. A MASTER's timers come due in trains (its
 * instances started together), and one wake-up serves as much of a train as falls due while it
 * runs. Every advert is stamped when its step runs (its next one is due an interval after that): one
 * held after its step leaves late, and its next one on time, a gap short by as much. A pause of the
 * process (preempted on the shared vCPUs, a scavenge) while adverts wait does that to each of them —
 * with the 250 µs bound this replaced (a train's whole wake-up before it, docs/benchmarks.md,
 * scale, fourteenth pass), about 15 adverts at 1,000 × 0.1 s, and 0.25–0.70 % of the MASTER's gaps
 * came out over 2 ms short, where keepalived's, sent from their steps, never were (twentieth pass).
 * So an advert waits only until the next step's send (tens of µs) or the callback's end: a
 * step's own datagrams (one per unicast peer) still leave together. A BACKUP of Vigil's is not woken
 * by the smaller bursts (steady adverts wait in its socket, raw.transport.ts); keepalived's master
 * sends its adverts one at a time too.
 */
export const MAX_HOLD_US = 0;

/**
 * The datagrams sent during one callback of the event loop, sent together when it ends (a
 * microtask), in the order they were sent, through their sockets' `DirectSender`s — or earlier, in
 * parts, once a datagram has waited `maxHoldUs` (`MAX_HOLD_US`) when the next is reserved. Each
 * step is thus not made longer by the kernel's delivery of its advert on a veth. Each datagram is
 * written into a reused arena by the caller (`reserve`, then `commit`) and recorded in reused slots
 * — with the arena's view for the slot, kept while the slot's place and length stay the same (a
 * MASTER's trains repeat theirs every period) — so nothing is allocated per datagram: records held
 * until the callback ends would be caught by the scavenges of a busy callback and promoted, and a
 * MASTER of a thousand instances at 0.1 s then ran a full GC every few seconds, whose pauses delayed
 * whole bursts of adverts. `flush()` sends what waits now (a socket's `close` does, so nothing sent
 * before it is lost). Not pure (holds the arena, reads the clock).
 */
export class SendBatch {
  readonly #arena: Uint8Array;
  #used = 0;
  /** The waiting datagrams, slot by slot: their bytes (a view of the arena), and how to send them. */
  #count = 0;
  readonly #views: Uint8Array[] = [];
  readonly #senders: DirectSender[] = [];
  readonly #dsts: string[] = [];
  readonly #onErrors: Array<(e: Error) => void> = [];
  readonly #onDirects: Array<() => void> = [];
  /** When the first waiting datagram was reserved (on `clock`). */
  #firstUs = 0;
  #flushing = false;
  #scheduled = false;
  readonly #scheduledFlush = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(
    /** The transport's clock (the node's): how long a datagram has waited. */
    private readonly clock: { nowUs(): number },
    private readonly schedule: (fn: () => void) => void = queueMicrotask,
    arenaBytes = 256 * 1024,
    private readonly maxHoldUs = MAX_HOLD_US,
  ) {
    this.#arena = new Uint8Array(arenaBytes);
  }

  /** Datagrams waiting. */
  get waiting(): number {
    return this.#count;
  }

  /**
   * Where to write a datagram of `length` bytes (then `commit` it); sends what waits first if the
   * arena is full or the first waiting datagram has waited over `maxHoldUs`.
   */
  reserve(length: number): Uint8Array {
    const nowUs = this.clock.nowUs();
    if (this.#count === 0) this.#firstUs = nowUs;
    else if (
      !this.#flushing &&
      (nowUs - this.#firstUs > this.maxHoldUs || this.#used + length > this.#arena.length)
    ) {
      this.flush();
      this.#firstUs = nowUs;
    }
    if (this.#used + length > this.#arena.length)
      throw new Error(`send batch full: ${this.#count} datagrams, ${this.#used} bytes waiting`);
    const i = this.#count;
    let view = this.#views[i];
    if (view === undefined || view.byteOffset !== this.#used || view.length !== length) {
      view = this.#arena.subarray(this.#used, this.#used + length);
      this.#views[i] = view;
    }
    return view;
  }

  /** Queues the datagram written at the last `reserve` for the end of this callback. */
  commit(
    sender: DirectSender,
    length: number,
    dst: string,
    onError: (e: Error) => void,
    onDirect: () => void,
  ): void {
    const i = this.#count++;
    const view = this.#views[i] as Uint8Array;
    if (view.length !== length) this.#views[i] = view.subarray(0, length);
    this.#senders[i] = sender;
    this.#dsts[i] = dst;
    this.#onErrors[i] = onError;
    this.#onDirects[i] = onDirect;
    this.#used += length;
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.schedule(this.#scheduledFlush);
    }
  }

  /**
   * Sends every waiting datagram now, in order. A datagram sent during the pass (by an error
   * callback) is appended and sent in this pass too; a flush asked for meanwhile (its `reserve`)
   * is this one, so nothing is sent twice.
   */
  flush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      for (let i = 0; i < this.#count; i++) {
        const packet = this.#views[i] as Uint8Array;
        const sender = this.#senders[i] as DirectSender;
        if (
          sender.send(packet, this.#dsts[i] as string, this.#onErrors[i] as (e: Error) => void) === "direct"
        )
          (this.#onDirects[i] as () => void)();
      }
    } finally {
      this.#count = 0;
      this.#used = 0;
      this.#flushing = false;
    }
  }
}
