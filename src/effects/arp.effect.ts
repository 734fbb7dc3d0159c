/**
 * The ARP port: gratuitous ARP (IPv4) and unsolicited neighbour advertisement (IPv6) bursts sent in
 * process from AF_PACKET sockets (koffi), framed exactly as keepalived 2.2.7 frames them (see
 * ./frames.ts). One socket per interface name, opened on first use and reused (protocol 0, so it
 * never receives), closed by `close()`. Index, flags and MAC are asked of the kernel at every
 * packet, so a replaced interface is followed and a vanished one rejects with EffectError("ENODEV").
 *
 * Pacing follows keepalived's garp_delay: per interface and per family (ARP and NA are paced
 * independently), each packet waits until `intervalUs` after the previous packet of its family on
 * that interface — across bursts too — on the injected Clock (never a blocking sleep). Bursts of
 * one family on one interface run one after the other; an IPv6 burst does not wait for an IPv4 one
 * (as keepalived's NAs are not held up by paced GARPs), nor one interface for another.
 * Like keepalived, nothing is sent on an IFF_NOARP interface or one without an Ethernet address,
 * and a failed send does not stop the burst: the others are still sent, then the burst rejects
 * with the first error's errno name. Not pure: the edge to the kernel.
 */
import { readFile } from "node:fs/promises";
import {
  AF_PACKET,
  ARPHRD_ETHER,
  IFF_NOARP,
  type InterfaceLink,
  interfaceLink,
  lastErrno,
  loadIoctl,
  loadLibc,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SysError,
  sockaddrLl,
} from "../../transports/libc.ffi.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import { type ArpPort, EffectError, errnoName } from "../runtime/ports.ts";
import {
  announcementFamily,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV6,
  gratuitousArpFrame,
  unsolicitedNaFrame,
} from "./frames.ts";

/** The ARP port plus its teardown. */
export interface ArpEffect extends ArpPort {
  /** Closes every socket; bursts still running (or waiting to) reject with EffectError("ECANCELED"). */
  close(): void;
  /** Sockets currently open (one per interface name used). */
  readonly openSockets: number;
}

/** One send socket. Methods throw EffectError (errno name as code). */
export interface FrameSocket {
  /** The interface as the kernel sees it now. */
  lookup(ifname: string): InterfaceLink;
  send(frame: Uint8Array, ifindex: number, ethertype: number): void;
  close(): void;
}

/** Where sockets come from: the kernel by default, a fake in unit tests. */
export interface FrameLink {
  open(): FrameSocket;
  /** Whether IPv6 forwarding is on for the interface (sets the NA router flag, as keepalived). */
  ipv6Forwarding(ifname: string): Promise<boolean>;
}

export interface ArpPortOptions {
  readonly link?: FrameLink;
}

const ARPHRD_LOOPBACK = 772;
/** Unpaced announcements sent between two turns of the event loop. */
const YIELD_EVERY = 256;

const effectErrorOf = (error: unknown): EffectError => {
  if (error instanceof EffectError) return error;
  if (error instanceof SysError) return new EffectError(errnoName(error.errno), error.message);
  return new EffectError("INTERNAL", error instanceof Error ? error.message : String(error));
};

/** The kernel: AF_PACKET raw sockets through koffi. */
export function kernelFrameLink(): FrameLink {
  const libc = loadLibc();
  const ioctl = loadIoctl();
  return {
    open(): FrameSocket {
      const fd = libc.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        const errno = lastErrno();
        throw new EffectError(errnoName(errno), `socket(AF_PACKET): ${libc.strerror(errno)}`);
      }
      let open = true;
      return {
        lookup: (ifname) => {
          try {
            return interfaceLink(libc, ioctl, fd, ifname);
          } catch (error) {
            throw effectErrorOf(error);
          }
        },
        send: (frame, ifindex, ethertype) => {
          const sll = sockaddrLl(ifindex, ethertype);
          const n = libc.sendto(fd, frame, frame.length, 0, sll, sll.length);
          if (n < 0) {
            const errno = lastErrno();
            throw new EffectError(errnoName(errno), `sendto(ifindex ${ifindex}): ${libc.strerror(errno)}`);
          }
        },
        close: () => {
          if (open) libc.close(fd);
          open = false;
        },
      };
    },
    ipv6Forwarding: async (ifname) => {
      if (ifname.includes("/") || ifname === "." || ifname === "..") return false;
      try {
        return (await readFile(`/proc/sys/net/ipv6/conf/${ifname}/forwarding`, "utf8")).trim() !== "0";
      } catch {
        return false;
      }
    },
  };
}

interface Iface {
  socket: FrameSocket | undefined;
  /** Clock time of the last packet sent, per family. */
  readonly lastSentUs: { 4: number | undefined; 6: number | undefined };
  /** The end of the last burst queued on this interface, per family it announces. */
  readonly tail: { 4: Promise<void>; 6: Promise<void> };
}

/**
 * Creates the ARP port. `clock` paces packets; `options.link` replaces the kernel (unit tests).
 * The kernel link is loaded on first use, so creating the port needs no privilege.
 */
export function createArpPort(clock: Clock, options: ArpPortOptions = {}): ArpEffect {
  let link = options.link;
  const ifaces = new Map<string, Iface>();
  const waiting = new Set<{ timer: TimerHandle; reject: (e: EffectError) => void }>();
  let closed = false;

  const cancelled = (): EffectError => new EffectError("ECANCELED", "the ARP port was closed");

  /** Waits on the clock until `dueUs` (again if a real timer fired a little early). */
  const waitUntil = async (dueUs: number): Promise<void> => {
    for (let delayUs = dueUs - clock.nowUs(); delayUs > 0; delayUs = dueUs - clock.nowUs())
      await timer(delayUs);
  };

  const timer = (delayUs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const entry = {
        timer: clock.setTimerUs(() => {
          waiting.delete(entry);
          resolve();
        }, delayUs),
        reject,
      };
      waiting.add(entry);
    });

  const iface = (ifname: string): Iface => {
    let i = ifaces.get(ifname);
    if (i === undefined) {
      i = {
        socket: undefined,
        lastSentUs: { 4: undefined, 6: undefined },
        tail: { 4: Promise.resolve(), 6: Promise.resolve() },
      };
      ifaces.set(ifname, i);
    }
    return i;
  };

  const socketOf = (i: Iface): FrameSocket => {
    if (i.socket === undefined) {
      link ??= kernelFrameLink();
      i.socket = link.open();
    }
    return i.socket;
  };

  const run = async (
    ifname: string,
    i: Iface,
    round: readonly { address: string; family: 4 | 6 }[],
    repeat: number,
    intervalUs: number,
  ): Promise<void> => {
    let router: boolean | undefined;
    let firstError: EffectError | undefined;
    let failed = 0;
    let sent = 0;
    // Rounds are not materialised: keepalived takes repeat counts up to 2^32 - 1.
    for (let r = 0; r < repeat; r++)
      for (const p of round) {
        // Unpaced, a long burst still lets the daemon's other work run now and again.
        if (intervalUs === 0 && ++sent % YIELD_EVERY === 0)
          await new Promise((resolve) => setImmediate(resolve));
        const last = i.lastSentUs[p.family];
        if (intervalUs > 0 && last !== undefined) await waitUntil(last + intervalUs);
        if (closed) throw cancelled();
        const socket = socketOf(i);
        let info: InterfaceLink;
        try {
          info = socket.lookup(ifname);
        } catch (error) {
          const e = effectErrorOf(error);
          if (e.code === "ENODEV") {
            socket.close(); // reopened if the interface comes back; no fd is held for a gone name
            i.socket = undefined;
          }
          throw new EffectError(e.code, `${ifname}: ${e.message}`);
        }
        if ((info.flags & IFF_NOARP) !== 0) return;
        if (info.hwType !== ARPHRD_ETHER && info.hwType !== ARPHRD_LOOPBACK) return;
        if (p.family === 6 && router === undefined) {
          router = await (link as FrameLink).ipv6Forwarding(ifname);
          if (closed) throw cancelled();
        }
        const frame =
          p.family === 4
            ? gratuitousArpFrame(info.mac, p.address)
            : unsolicitedNaFrame(info.mac, p.address, router === true);
        if (frame === undefined)
          throw new EffectError("EINVAL", `not an IPv${p.family} address: ${p.address}`);
        try {
          socket.send(frame, info.ifindex, p.family === 4 ? ETHERTYPE_ARP : ETHERTYPE_IPV6);
        } catch (error) {
          failed++;
          firstError ??= effectErrorOf(error);
        }
        i.lastSentUs[p.family] = clock.nowUs();
      }
    if (firstError !== undefined)
      throw new EffectError(
        firstError.code,
        `${ifname}: ${failed} of ${repeat * round.length} announcements not sent: ${firstError.message}`,
      );
  };

  return {
    burst(ifname, addresses, repeat, intervalUs) {
      if (closed) return Promise.reject(cancelled());
      if (!Number.isSafeInteger(repeat) || repeat < 0)
        return Promise.reject(new EffectError("EINVAL", `bad repeat count ${repeat}`));
      if (!Number.isFinite(intervalUs) || intervalUs < 0)
        return Promise.reject(new EffectError("EINVAL", `bad interval ${intervalUs} µs`));
      const round: { address: string; family: 4 | 6 }[] = [];
      for (const address of addresses) {
        const family = announcementFamily(address);
        if (family === undefined)
          return Promise.reject(new EffectError("EINVAL", `not an IP address: ${JSON.stringify(address)}`));
        round.push({ address, family });
      }
      if (repeat === 0 || round.length === 0) return Promise.resolve();
      const i = iface(ifname);
      const families = [...new Set(round.map((p) => p.family))];
      const result = Promise.all(families.map((f) => i.tail[f])).then(() =>
        run(ifname, i, round, repeat, Math.round(intervalUs)).catch((error: unknown) => {
          throw effectErrorOf(error);
        }),
      );
      const settled = result.catch(() => {});
      for (const f of families) i.tail[f] = settled;
      return result;
    },
    close() {
      if (closed) return;
      closed = true;
      for (const w of waiting) {
        w.timer.cancel();
        w.reject(cancelled());
      }
      waiting.clear();
      for (const i of ifaces.values()) i.socket?.close();
      ifaces.clear();
    },
    get openSockets() {
      let n = 0;
      for (const i of ifaces.values()) if (i.socket !== undefined) n++;
      return n;
    },
  };
}
