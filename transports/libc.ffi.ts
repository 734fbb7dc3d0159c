/**
 * The few libc socket calls that `raw-socket` cannot make, through koffi: IPv6 raw sockets whose
 * receive path needs ancillary data (hop limit, destination, interface via `recvmmsg`) and AF_PACKET
 * sockets for `vigil sniff`; the non-blocking reads of the IPv4 raw socket (raw4.socket.ts). Also
 * `if_nametoindex`.
 *
 * Node cannot watch an arbitrary file descriptor for readability, so `PollLoop` runs `poll(2)` on
 * koffi's async worker (one call in flight per loop, for all its descriptors, with a short timeout
 * so added/removed descriptors are picked up) and, when it returns, calls each readable
 * descriptor's handler on the main thread, which drains it with non-blocking reads. Sockets here
 * are opened non-blocking. Not pure: this is the edge to the kernel.
 */
import { readdirSync, readlinkSync } from "node:fs";
import koffi from "koffi";

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_PACKET = 17;
export const SOCK_RAW = 3;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_BINDTODEVICE = 25;
export const SO_ATTACH_FILTER = 26;
export const SO_RCVBUF = 8;
/** SO_RCVBUF past net.core.rmem_max (CAP_NET_ADMIN). */
export const SO_RCVBUFFORCE = 33;
/** SO_TIMESTAMPNS(_OLD): each datagram's arrival time, an SCM_TIMESTAMPNS control message (same number). */
export const SO_TIMESTAMPNS = 35;
export const CLOCK_REALTIME = 0;
export const IPPROTO_IPV6 = 41;
export const IPV6_CHECKSUM = 7;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_JOIN_GROUP = 20;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;
export const IPV6_TCLASS = 67;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;
export const EAGAIN = 11;
export const ETH_P_ALL = 0x0003;
export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const PACKET_OUTGOING = 4;

interface Libc {
  readonly socket: (domain: number, type: number, protocol: number) => number;
  readonly setsockopt: (fd: number, level: number, name: number, value: Uint8Array, len: number) => number;
  readonly bind: (fd: number, addr: Uint8Array, len: number) => number;
  readonly close: (fd: number) => number;
  readonly recvfrom: (
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    addr: Uint8Array | null,
    addrLen: Uint8Array | null,
  ) => number;
  readonly recvmmsg: (fd: number, vector: unknown, count: number, flags: number, timeout: null) => number;
  readonly getsockopt: (
    fd: number,
    level: number,
    name: number,
    value: Uint8Array,
    len: Uint8Array,
  ) => number;
  readonly sendmsg: (fd: number, msg: unknown, flags: number) => number;
  readonly sendto: (
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    addr: Uint8Array,
    alen: number,
  ) => number;
  readonly poll: {
    async: (fds: Uint8Array, n: number, timeoutMs: number, cb: (err: unknown, r: number) => void) => void;
  };
  readonly ifNameToIndex: (name: string) => number;
  readonly ifIndexToName: (index: number, buf: Uint8Array) => unknown;
  readonly strerror: (errno: number) => string;
  readonly clockGettime: (clock: number, timespec: Uint8Array) => number;
}

/** Loads the bindings (once per caller; koffi caches the library itself). */
export function loadLibc(): Libc {
  const lib = koffi.load("libc.so.6");
  return {
    socket: lib.func("int socket(int, int, int)"),
    setsockopt: lib.func("int setsockopt(int, int, int, void *, uint32_t)"),
    bind: lib.func("int bind(int, void *, uint32_t)"),
    close: lib.func("int close(int)"),
    recvfrom: lib.func("long recvfrom(int, void *, unsigned long, int, void *, void *)"),
    recvmmsg: lib.func("int recvmmsg(int, void *, unsigned int, int, void *)"),
    getsockopt: lib.func("int getsockopt(int, int, int, void *, void *)"),
    sendmsg: lib.func("long sendmsg(int, void *, int)"),
    sendto: lib.func("long sendto(int, void *, unsigned long, int, void *, uint32_t)"),
    poll: lib.func("int poll(void *, unsigned long, int)") as unknown as Libc["poll"],
    ifNameToIndex: lib.func("unsigned int if_nametoindex(const char *)"),
    ifIndexToName: lib.func("void *if_indextoname(unsigned int, void *)"),
    strerror: lib.func("const char *strerror(int)"),
    clockGettime: lib.func("int clock_gettime(int, void *)"),
  };
}

/** An errno-carrying failure of a libc call. */
export class SysError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    text: string,
  ) {
    super(`${call}: ${text} (errno ${errno})`);
  }
}

/** Throws a `SysError` when a libc call returned a negative value. */
export function check(libc: Libc, call: string, rc: number): number {
  if (rc >= 0) return rc;
  const errno = koffi.errno();
  throw new SysError(call, errno, libc.strerror(errno));
}

export const lastErrno = (): number => koffi.errno();

export const SO_TYPE = 3;
export const SO_PROTOCOL = 38;
export const SO_DOMAIN = 39;

/** An int socket option, or undefined when `getsockopt` fails (not a socket, closed). */
export function intOption(libc: Libc, fd: number, level: number, name: number): number | undefined {
  const v = new Uint8Array(4);
  const len = int32(4);
  if (libc.getsockopt(fd, level, name, v, len) < 0) return undefined;
  return new DataView(v.buffer).getInt32(0, true);
}

/** The process's open socket descriptors (from /proc/self/fd). */
export function socketFds(): Set<number> {
  const out = new Set<number>();
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`).startsWith("socket:")) out.add(Number(name));
    } catch {
      // closed meanwhile (the directory's own descriptor)
    }
  }
  return out;
}

export const AF_NETLINK = 16;

/**
 * The descriptor a library (raw-socket, node:dgram, netlink) has just opened and does not expose:
 * the one socket descriptor not in `before` (`socketFds()` taken before the opening), if its
 * SO_DOMAIN, SO_TYPE (and SO_PROTOCOL, when given) are these; else undefined.
 */
export function newSocketFd(
  libc: Libc,
  before: ReadonlySet<number>,
  want: { readonly domain: number; readonly type: number; readonly protocol?: number },
): number | undefined {
  const added = [...socketFds()].filter((fd) => !before.has(fd));
  if (added.length !== 1) return undefined;
  const fd = added[0] as number;
  const ok =
    intOption(libc, fd, SOL_SOCKET, SO_DOMAIN) === want.domain &&
    intOption(libc, fd, SOL_SOCKET, SO_TYPE) === want.type &&
    (want.protocol === undefined || intOption(libc, fd, SOL_SOCKET, SO_PROTOCOL) === want.protocol);
  return ok ? fd : undefined;
}

export const int32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
};

export function setIntOption(libc: Libc, fd: number, level: number, name: number, value: number): void {
  check(libc, `setsockopt(${level}, ${name})`, libc.setsockopt(fd, level, name, int32(value), 4));
}

/** SO_BINDTODEVICE: only traffic of this interface reaches the socket; sends leave through it. */
export function bindToDevice(libc: Libc, fd: number, ifname: string): void {
  const name = new TextEncoder().encode(`${ifname}\0`);
  check(
    libc,
    `SO_BINDTODEVICE ${ifname}`,
    libc.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length),
  );
}

/** Interface index by name (0 when unknown). */
export function ifIndex(libc: Libc, ifname: string): number {
  return libc.ifNameToIndex(ifname);
}

/** Interface name by index (undefined when unknown). */
export function ifName(libc: Libc, index: number): string | undefined {
  const buf = new Uint8Array(16);
  if (libc.ifIndexToName(index, buf) === null) return undefined;
  const end = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, end < 0 ? 16 : end));
}

/**
 * Unmanaged memory for `sendmsg`: a `struct msghdr` (x86-64/aarch64 LP64 layout) that points at a
 * name buffer, one iovec and a control buffer. Reused for every call of one socket.
 */
export class MsgBuffers {
  readonly data: Uint8Array;
  readonly name: Uint8Array;
  readonly control: Uint8Array;
  private readonly hdr: DataView;
  private readonly iov: DataView;
  private readonly ptrs: { hdr: unknown; name: unknown; iov: unknown; control: unknown; data: unknown };

  constructor(dataBytes: number, nameBytes = 28, controlBytes = 256) {
    const alloc = (n: number): unknown => koffi.alloc("uint8_t", n);
    this.ptrs = {
      hdr: alloc(56),
      name: alloc(nameBytes),
      iov: alloc(16),
      control: alloc(controlBytes),
      data: alloc(dataBytes),
    };
    this.hdr = new DataView(koffi.view(this.ptrs.hdr, 56));
    this.iov = new DataView(koffi.view(this.ptrs.iov, 16));
    this.name = new Uint8Array(koffi.view(this.ptrs.name, nameBytes));
    this.control = new Uint8Array(koffi.view(this.ptrs.control, controlBytes));
    this.data = new Uint8Array(koffi.view(this.ptrs.data, dataBytes));
  }

  /** Fills the header for a call: `dataLen` bytes of data, name and control lengths. */
  prepare(dataLen: number, nameLen: number, controlLen: number): unknown {
    const addr = (p: unknown): bigint => koffi.address(p);
    this.iov.setBigUint64(0, addr(this.ptrs.data), true);
    this.iov.setBigUint64(8, BigInt(dataLen), true);
    this.hdr.setBigUint64(0, nameLen === 0 ? 0n : addr(this.ptrs.name), true);
    this.hdr.setUint32(8, nameLen, true);
    this.hdr.setBigUint64(16, addr(this.ptrs.iov), true);
    this.hdr.setBigUint64(24, 1n, true);
    this.hdr.setBigUint64(32, controlLen === 0 ? 0n : addr(this.ptrs.control), true);
    this.hdr.setBigUint64(40, BigInt(controlLen), true);
    this.hdr.setInt32(48, 0, true);
    return this.ptrs.hdr;
  }

  free(): void {
    for (const p of Object.values(this.ptrs)) koffi.free(p);
  }
}

/** LP64 `struct mmsghdr`: a `struct msghdr` (56 bytes) and `msg_len`, padded to 64. */
const MMSGHDR_BYTES = 64;

/**
 * Unmanaged memory for `recvmmsg`: `count` message headers, each pointing at its own data, name and
 * control buffers through its own iovec, filled once. One call reads every datagram waiting, up to
 * `count`: a wake-up with one datagram costs one call, a burst one call per `count` datagrams, and
 * the socket is known to be empty when a call returns fewer than it asked for (no read that finds it
 * empty). Each datagram's bytes, name and control data stay in place until the next `recv`.
 * `drain` is the loop both raw sockets read with.
 */
export class MmsgBuffers {
  /** Datagram `i`'s buffer (`dataBytes` long; `length(i)` of it written). */
  readonly data: readonly Uint8Array[];
  /** Datagram `i`'s source address buffer (`nameBytes`). */
  readonly name: readonly Uint8Array[];
  /** Datagram `i`'s control buffer (`controlLen(i)` of it written). */
  readonly control: readonly Uint8Array[];
  /** The same control buffers as DataViews (kernelStampUs). */
  readonly controlView: readonly DataView[];
  readonly #hdrs: DataView;
  readonly #ptrs: readonly unknown[];
  readonly #vector: unknown;
  /** Headers the last call may have rewritten (their lengths and flags are reset before the next). */
  #dirty: number;
  /** A `drain` is handing datagrams on (a `free` meanwhile waits for it to end). */
  #draining = false;
  #freed = false;

  constructor(
    readonly count: number,
    readonly dataBytes: number,
    readonly nameBytes: number,
    readonly controlBytes: number,
  ) {
    const alloc = (n: number): unknown => koffi.alloc("uint8_t", Math.max(1, n));
    const hdrs = alloc(count * MMSGHDR_BYTES);
    const iovs = alloc(count * 16);
    const datas = alloc(count * dataBytes);
    const names = alloc(count * nameBytes);
    const controls = alloc(count * controlBytes);
    this.#ptrs = [hdrs, iovs, datas, names, controls];
    this.#vector = hdrs;
    this.#hdrs = new DataView(koffi.view(hdrs, count * MMSGHDR_BYTES));
    const iov = new DataView(koffi.view(iovs, count * 16));
    const dataAll = new Uint8Array(koffi.view(datas, count * dataBytes));
    const nameAll = new Uint8Array(koffi.view(names, count * nameBytes));
    const controlAll = new Uint8Array(koffi.view(controls, count * controlBytes));
    const addressOf = (p: unknown): bigint => koffi.address(p);
    const [iovAt, dataAt, nameAt, controlAt] = [iovs, datas, names, controls].map(addressOf) as [
      bigint,
      bigint,
      bigint,
      bigint,
    ];
    const data: Uint8Array[] = [];
    const name: Uint8Array[] = [];
    const control: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const h = i * MMSGHDR_BYTES;
      iov.setBigUint64(i * 16, dataAt + BigInt(i * dataBytes), true);
      iov.setBigUint64(i * 16 + 8, BigInt(dataBytes), true);
      this.#hdrs.setBigUint64(h, nameBytes === 0 ? 0n : nameAt + BigInt(i * nameBytes), true);
      this.#hdrs.setBigUint64(h + 16, iovAt + BigInt(i * 16), true);
      this.#hdrs.setBigUint64(h + 24, 1n, true);
      this.#hdrs.setBigUint64(h + 32, controlBytes === 0 ? 0n : controlAt + BigInt(i * controlBytes), true);
      data.push(dataAll.subarray(i * dataBytes, (i + 1) * dataBytes));
      name.push(nameAll.subarray(i * nameBytes, (i + 1) * nameBytes));
      control.push(controlAll.subarray(i * controlBytes, (i + 1) * controlBytes));
    }
    this.data = data;
    this.name = name;
    this.control = control;
    this.controlView = control.map((c) => new DataView(c.buffer, c.byteOffset, c.byteLength));
    this.#dirty = count;
  }

  /**
   * One `recvmmsg` of up to `count` datagrams on `fd`: how many were read, or −1 with errno set
   * (EAGAIN: none waiting, with MSG_DONTWAIT). The previous call's datagrams are overwritten.
   */
  recv(libc: Pick<Libc, "recvmmsg">, fd: number, flags: number): number {
    const h = this.#hdrs;
    // The kernel rewrites msg_namelen, msg_controllen and msg_flags of the headers it filled.
    for (let i = 0; i < this.#dirty; i++) {
      const o = i * MMSGHDR_BYTES;
      h.setUint32(o + 8, this.nameBytes, true);
      h.setUint32(o + 40, this.controlBytes, true);
      h.setUint32(o + 44, 0, true);
      h.setInt32(o + 48, 0, true);
      h.setUint32(o + 56, 0, true);
    }
    const n = libc.recvmmsg(fd, this.#vector, this.count, flags, null);
    // A failed call may have filled none; the one after a partial read may touch one more.
    this.#dirty = Math.min(this.count, Math.max(0, n) + 1);
    return n;
  }

  /**
   * Reads `fd` until it is empty or `limit` datagrams are read (a vector's more at most), handing
   * each datagram of each vector on as `each(i)` before the next call; `failed(errno)` when a call
   * fails (EAGAIN: nothing was waiting, with MSG_DONTWAIT). A `drain` started from inside `each`
   * (a `readPending` from the node while datagrams are handed on) reads nothing: it would overwrite
   * the vector's datagrams not handed on yet, and the outer one goes on reading anyway. After `free`
   * nothing more is read or handed on. Returns how many datagrams it handed on.
   */
  drain(
    libc: Pick<Libc, "recvmmsg">,
    fd: number,
    limit: number,
    each: (i: number) => void,
    failed: (errno: number) => void,
  ): number {
    if (this.#draining || this.#freed) return 0;
    this.#draining = true;
    let read = 0;
    try {
      while (read < limit && !this.#freed) {
        const n = this.recv(libc, fd, MSG_DONTWAIT);
        if (n < 0) {
          failed(lastErrno());
          break;
        }
        for (let i = 0; i < n && !this.#freed; i++, read++) each(i);
        if (n < this.count) break; // the socket is empty
      }
    } finally {
      this.#draining = false;
      if (this.#freed) this.#release();
    }
    return read;
  }

  /** Bytes of datagram `i` written into `data[i]` (of the last `recv`). */
  length(i: number): number {
    return this.#hdrs.getUint32(i * MMSGHDR_BYTES + 56, true);
  }
  /** Control bytes of datagram `i`. */
  controlLen(i: number): number {
    return this.#hdrs.getUint32(i * MMSGHDR_BYTES + 40, true);
  }
  /** Datagram `i`'s flags (MSG_TRUNC, MSG_CTRUNC). */
  flags(i: number): number {
    return this.#hdrs.getInt32(i * MMSGHDR_BYTES + 48, true);
  }

  /** Frees the buffers, at once or when the `drain` in progress ends; once. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    if (!this.#draining) this.#release();
  }

  #release(): void {
    for (const p of this.#ptrs) koffi.free(p);
  }
}

/** A copy of some bytes in unmanaged memory, for structures that hold pointers. */
export class Unmanaged {
  private readonly ptr: unknown;
  readonly address: bigint;

  constructor(bytes: Uint8Array) {
    this.ptr = koffi.alloc("uint8_t", Math.max(1, bytes.length));
    new Uint8Array(koffi.view(this.ptr, bytes.length)).set(bytes);
    this.address = koffi.address(this.ptr);
  }

  free(): void {
    koffi.free(this.ptr);
  }
}

/** SO_ATTACH_FILTER with a `struct sock_fprog` pointing at a copy of `filter` (the kernel copies it). */
export function attachFilter(libc: Libc, fd: number, filter: Uint8Array): void {
  const program = new Unmanaged(filter);
  try {
    const fprog = new Uint8Array(16);
    const v = new DataView(fprog.buffer);
    v.setUint16(0, filter.length / 8, true);
    v.setBigUint64(8, program.address, true);
    check(libc, "SO_ATTACH_FILTER", libc.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, 16));
  } finally {
    program.free();
  }
}

/** Walks `cmsghdr`s (LP64: len u64, level i32, type i32, data aligned to 8). */
export function* controlMessages(
  control: Uint8Array,
  length: number,
): Generator<{ level: number; type: number; data: Uint8Array }> {
  const view = new DataView(control.buffer, control.byteOffset, control.byteLength);
  let off = 0;
  while (off + 16 <= length) {
    const len = Number(view.getBigUint64(off, true));
    if (len < 16 || off + len > length) return;
    yield {
      level: view.getInt32(off + 8, true),
      type: view.getInt32(off + 12, true),
      data: control.subarray(off + 16, off + len),
    };
    off += (len + 7) & ~7;
  }
}

/**
 * The SCM_TIMESTAMPNS control message among the first `length` bytes of a control buffer (`view`),
 * as µs of CLOCK_REALTIME, or undefined when there is none. A plain loop over the `cmsghdr`s (no
 * generator per datagram).
 */
export function kernelStampUs(view: DataView, length: number): number | undefined {
  for (let off = 0; off + 16 <= length; ) {
    const len = view.getUint32(off, true) + view.getUint32(off + 4, true) * 2 ** 32;
    if (len < 16 || off + len > length) return undefined;
    if (
      len >= 32 &&
      view.getInt32(off + 8, true) === SOL_SOCKET &&
      view.getInt32(off + 12, true) === SO_TIMESTAMPNS
    ) {
      const sec = view.getUint32(off + 16, true) + view.getInt32(off + 20, true) * 2 ** 32;
      const nsec = view.getUint32(off + 24, true);
      return sec * 1e6 + Math.floor(nsec / 1000);
    }
    off += (len + 7) & ~7;
  }
  return undefined;
}

/**
 * A received datagram's age beyond which its kernel time is not used: the kernel stamps with the
 * realtime clock, which a step (settimeofday, NTP) can move between a datagram's arrival and its
 * read. Older stamps fall back to the read time, as before kernel times were read.
 */
export const MAX_RX_AGE_US = 1_000_000;
/** How often the realtime clock is read against the node's (the offset between them drifts by µs). */
export const PAIR_EVERY_US = 100_000;
/**
 * The longest the node's clock may move while the realtime clock is read for a pair. Longer, and the
 * process was preempted in between (measured here: 5–10 µs usually, up to a millisecond under load),
 * which would put every stamp converted with that pair early by as much: the pair is not taken.
 */
export const PAIR_BRACKET_US = 50;
/** A pair older than this is not used (a realtime step since then would go unseen). */
export const PAIR_STALE_US = 5_000_000;
/** Readings per pair at most, when the bracket is too long (a preemption is seldom repeated at once). */
export const PAIR_TRIES = 3;

/**
 * Datagrams' kernel receive times on the node's clock. The kernel stamps each datagram when it
 * arrives (SO_TIMESTAMPNS) on CLOCK_REALTIME; `begin`, at each read batch, notes the node's now and,
 * every PAIR_EVERY_US, reads the realtime clock between two readings of the node's — the offset of
 * the two clocks, kept only when that bracket is short (PAIR_BRACKET_US; up to PAIR_TRIES readings,
 * the first when the socket opens, so that its first batch has one). `toClockUs` carries a stamp
 * over with the last offset kept. So a datagram that waited in the socket while the process was busy
 * or off CPU keeps the time it arrived, and the protocol timers it restarts count from then (RFC
 * 9568's Master_Down_Timer is reset on receipt), not from the read. A stamp after the batch's now
 * converts to a time after it; the node never stamps an event later than its clock's now nor earlier
 * than the previous event (runtime/node.ts).
 */
export class ReceiveTimes {
  readonly #timespec = new Uint8Array(16);
  readonly #view = new DataView(this.#timespec.buffer);
  /** Realtime µs minus the node's clock µs, from the last pair kept. */
  #offsetUs = Number.NaN;
  #pairedAtUs = Number.NEGATIVE_INFINITY;
  #nowUs = 0;

  constructor(
    private readonly libc: Pick<Libc, "clockGettime">,
    private readonly clock: { nowUs(): number },
  ) {
    this.#pair();
  }

  /** At a read batch: the node's now, and a new pair when the last one is PAIR_EVERY_US old. */
  begin(): void {
    this.#nowUs = this.clock.nowUs();
    if (this.#nowUs - this.#pairedAtUs >= PAIR_EVERY_US) this.#pair();
  }

  /** Reads the offset, up to PAIR_TRIES times until a bracket is short; else keeps the last one. */
  #pair(): void {
    for (let tries = 0; tries < PAIR_TRIES; tries++) {
      const before = this.clock.nowUs();
      if (this.libc.clockGettime(CLOCK_REALTIME, this.#timespec) !== 0) return;
      const after = this.clock.nowUs();
      if (after - before > PAIR_BRACKET_US) continue; // preempted in between: read again
      const v = this.#view;
      const realUs =
        (v.getUint32(0, true) + v.getInt32(4, true) * 2 ** 32) * 1e6 + v.getUint32(8, true) / 1000;
      this.#offsetUs = realUs - (before + after) / 2;
      this.#pairedAtUs = after;
      return;
    }
  }

  /** A kernel stamp (µs of CLOCK_REALTIME) on the node's clock; undefined if absent, too old or unpaired. */
  toClockUs(stampUs: number | undefined): number | undefined {
    if (stampUs === undefined || !(this.#nowUs - this.#pairedAtUs <= PAIR_STALE_US)) return undefined;
    const atUs = Math.floor(stampUs - this.#offsetUs);
    if (!(this.#nowUs - atUs <= MAX_RX_AGE_US)) return undefined; // NaN (no pair yet) fails too
    return atUs;
  }
}

/** Readiness for several non-blocking descriptors through one async `poll(2)`; see the module comment. */
export class PollLoop {
  private readonly handlers = new Map<number, () => void>();
  private inFlight = false;

  constructor(
    private readonly libc: Libc,
    private readonly timeoutMs = 200,
  ) {}

  add(fd: number, onReadable: () => void): void {
    this.handlers.set(fd, onReadable);
    this.cycle();
  }

  remove(fd: number): void {
    this.handlers.delete(fd);
  }

  private cycle(): void {
    if (this.inFlight || this.handlers.size === 0) return;
    const fds = [...this.handlers.keys()];
    const set = new Uint8Array(8 * fds.length);
    const view = new DataView(set.buffer);
    fds.forEach((fd, i) => {
      view.setInt32(8 * i, fd, true);
      view.setInt16(8 * i + 4, 1, true); // POLLIN
    });
    this.inFlight = true;
    this.libc.poll.async(set, fds.length, this.timeoutMs, () => {
      this.inFlight = false;
      fds.forEach((fd, i) => {
        // POLLIN | POLLERR | POLLHUP | POLLNVAL: let the handler drain or notice the error.
        if (view.getInt16(8 * i + 6, true) !== 0) this.handlers.get(fd)?.();
      });
      this.cycle();
    });
  }
}

export type { Libc };

// --- Interface queries for the ARP / NA effect (src/effects/arp.effect.ts) ---

export const SIOCGIFFLAGS = 0x8913;
export const SIOCGIFHWADDR = 0x8927;
export const SIOCGIFINDEX = 0x8933;
export const IFF_UP = 0x1;
export const IFF_NOARP = 0x80;
export const ARPHRD_ETHER = 1;
export const IFNAMSIZ = 16;
const IFREQ_BYTES = 40;

/** `ioctl(fd, request, void *)` (variadic in libc, so bound as such). */
export function loadIoctl(): (fd: number, request: number, arg: Uint8Array) => number {
  const lib = koffi.load("libc.so.6");
  const ioctl = lib.func("int ioctl(int, unsigned long, ...)");
  return (fd, request, arg) => ioctl(fd, request, "void *", arg) as number;
}

/** What SIOCGIF{INDEX,FLAGS,HWADDR} report for one interface. */
export interface InterfaceLink {
  readonly ifindex: number;
  readonly flags: number;
  /** ARPHRD_* of the hardware address. */
  readonly hwType: number;
  /** The first six bytes of the hardware address. */
  readonly mac: Uint8Array;
}

/**
 * Index, flags and hardware address of `ifname`, asked on socket `fd` (so in that socket's network
 * namespace). Throws `SysError` (errno ENODEV for a missing interface); a name longer than
 * IFNAMSIZ-1 bytes is reported as ENODEV without asking the kernel.
 */
export function interfaceLink(
  libc: Libc,
  ioctl: (fd: number, request: number, arg: Uint8Array) => number,
  fd: number,
  ifname: string,
): InterfaceLink {
  const name = new TextEncoder().encode(ifname);
  if (name.length === 0 || name.length >= IFNAMSIZ || name.includes(0))
    throw new SysError(`interface ${JSON.stringify(ifname)}`, 19, "No such device");
  const ask = (request: number, what: string): DataView => {
    const req = new Uint8Array(IFREQ_BYTES);
    req.set(name, 0);
    check(libc, `${what} ${ifname}`, ioctl(fd, request, req));
    return new DataView(req.buffer);
  };
  const ifindex = ask(SIOCGIFINDEX, "SIOCGIFINDEX").getInt32(16, true);
  const flags = ask(SIOCGIFFLAGS, "SIOCGIFFLAGS").getUint16(16, true);
  const hw = ask(SIOCGIFHWADDR, "SIOCGIFHWADDR");
  const mac = new Uint8Array(hw.buffer.slice(18, 24));
  return { ifindex, flags, hwType: hw.getUint16(16, true), mac };
}

/** `struct sockaddr_ll` (20 bytes) for sending a frame of `ethertype` out of `ifindex`. */
export function sockaddrLl(ifindex: number, ethertype: number): Uint8Array {
  const sll = new Uint8Array(20);
  const v = new DataView(sll.buffer);
  v.setUint16(0, AF_PACKET, true);
  v.setUint16(2, ethertype, false);
  v.setInt32(4, ifindex, true);
  return sll;
}
