/**
 * The simulated network: LAN segments in memory, for simulations and tests. Nodes attach interfaces
 * (name + IPv4/IPv6 address) to segments; each node gets one `Transport`. A message sent to a
 * multicast group reaches every other interface on the sender's segment, a unicast message only the
 * interface holding that address on the segment (no routing between segments, no loopback to self).
 * TTL is carried unchanged (one LAN hop). Each directed link (from node, to node) has faults — fixed
 * delay, jitter, loss, duplication, reordering — and can be blocked (partitions, symmetric or
 * one-way, on every segment or on one); all can change at any time (e.g. from a timer on the clock,
 * or `at()`). An interface can be taken down (nothing leaves or arrives on it), and a closed node's
 * transport can be opened again (a simulated restart).
 *
 * All timing goes through the injected `Clock` (even zero delay is a timer, so delivery never re-enters
 * the sender) and all randomness through the `Prng`, one fork per directed link, so a run is
 * reproducible from its seed. Faults are decided when a message is sent; a partition also drops what
 * is still in flight when it is delivered. Not pure (it holds the network state), deterministic.
 */
import { Subject } from "rxjs";
import type { Clock } from "../src/runtime/clock.ts";
import type { Prng } from "../src/runtime/prng.ts";
import type { Datagram, Family, Outbound, Transport } from "./transport.ts";

/** Faults on a directed link. Probabilities are integer parts per million (reproducible anywhere). */
export interface LinkFaults {
  /** Fixed one-way delay. */
  readonly delayUs?: number;
  /** Extra uniform delay in [0, jitterUs]. */
  readonly jitterUs?: number;
  readonly lossPpm?: number;
  readonly duplicatePpm?: number;
  /** With this probability a copy is held back by an extra uniform delay in [0, reorderWindowUs]. */
  readonly reorderPpm?: number;
  readonly reorderWindowUs?: number;
}

export interface SimInterfaceSpec {
  readonly ifname: string;
  readonly segment: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly ifindex?: number;
}

export type DropReason = "partition" | "loss" | "no-route" | "closed" | "link-down";

/** One line of the delivery log (when `record` is on). */
export type DeliveryRecord =
  | {
      readonly kind: "delivered";
      readonly atUs: number;
      readonly sentAtUs: number;
      readonly seq: number;
      readonly from: string;
      readonly to: string;
      readonly segment: string;
      readonly dst: string;
      readonly length: number;
      readonly copy: number;
    }
  | {
      readonly kind: "dropped";
      readonly atUs: number;
      readonly seq: number;
      readonly from: string;
      readonly to: string;
      readonly dst: string;
      readonly reason: DropReason;
    };

export interface SimNetworkOptions {
  /** Keep a log of every delivery and drop in `records` (for determinism checks and tests). */
  readonly record?: boolean;
  /** Called for every delivery and drop (e.g. to journal the network's view). */
  readonly onRecord?: (r: DeliveryRecord) => void;
}

interface SimInterface extends SimInterfaceSpec {
  readonly node: SimNode;
  up: boolean;
}

interface SimNode {
  readonly name: string;
  readonly interfaces: SimInterface[];
  inbound: Subject<Datagram>;
  closed: boolean;
}

interface Link {
  faults: LinkFaults;
  /** Blocked on every segment. */
  blocked: boolean;
  /** Blocked on these segments only. */
  readonly blockedOn: Set<string>;
  readonly prng: Prng;
}

const isBlocked = (link: Link, segment: string): boolean =>
  link.blocked || (link.blockedOn.size > 0 && link.blockedOn.has(segment));

const PPM = 1_000_000;
/** A link without faults of its own (the segment's apply as they are: no merge per message). */
const NO_FAULTS: LinkFaults = Object.freeze({});

const isMulticast = (dst: string): boolean => {
  if (dst.includes(":")) return /^ff/i.test(dst);
  const first = Number(dst.slice(0, dst.indexOf(".")));
  return first >= 224 && first <= 239;
};

export class SimNetwork {
  readonly records: DeliveryRecord[] = [];
  readonly #clock: Clock;
  readonly #prng: Prng;
  readonly #options: SimNetworkOptions;
  readonly #nodes = new Map<string, SimNode>();
  readonly #segments = new Map<string, SimInterface[]>();
  readonly #segmentFaults = new Map<string, LinkFaults>();
  readonly #links = new Map<string, Link>();
  #seq = 0;

  constructor(clock: Clock, prng: Prng, options: SimNetworkOptions = {}) {
    this.#clock = clock;
    this.#prng = prng;
    this.#options = options;
  }

  /** Attaches an interface of `node` to a segment (both made on first use). */
  attach(node: string, spec: SimInterfaceSpec): void {
    const n = this.#node(node);
    if (n.interfaces.some((i) => i.ifname === spec.ifname)) {
      throw new RangeError(`${node} already has an interface ${spec.ifname}`);
    }
    const iface: SimInterface = { ...spec, node: n, up: true };
    n.interfaces.push(iface);
    const members = this.#segments.get(spec.segment) ?? [];
    members.push(iface);
    this.#segments.set(spec.segment, members);
  }

  /** The node's transport (one per node, covering all its interfaces); reopens a closed node's. */
  transport(node: string): Transport {
    const n = this.#node(node);
    if (n.closed) {
      n.inbound = new Subject<Datagram>();
      n.closed = false;
    }
    return {
      inbound$: n.inbound.asObservable(),
      send: (out: Outbound) => this.#send(n, out),
      close: () => {
        n.closed = true;
        n.inbound.complete();
      },
    };
  }

  /** Default faults for every link on a segment (a per-link setting overrides it field by field). */
  setSegmentFaults(segment: string, faults: LinkFaults): void {
    this.#segmentFaults.set(segment, faults);
  }

  /** Faults on the directed link from → to. */
  setLinkFaults(from: string, to: string, faults: LinkFaults): void {
    this.#link(from, to).faults = faults;
  }

  /** Faults on both directions between a and b. */
  setLinkFaultsBoth(a: string, b: string, faults: LinkFaults): void {
    this.setLinkFaults(a, b, faults);
    this.setLinkFaults(b, a, faults);
  }

  /**
   * Cuts every link from a node in `side` to a node in `other`, and back unless `oneWay`; on
   * `segment` only when given, else on every segment.
   */
  partition(side: readonly string[], other: readonly string[], oneWay = false, segment?: string): void {
    const block = (from: string, to: string): void => {
      const link = this.#link(from, to);
      if (segment === undefined) link.blocked = true;
      else link.blockedOn.add(segment);
    };
    for (const a of side) {
      for (const b of other) {
        block(a, b);
        if (!oneWay) block(b, a);
      }
    }
  }

  /** Takes an interface down or up: a down interface sends and receives nothing. */
  setInterfaceUp(node: string, ifname: string, up: boolean): void {
    const iface = this.#nodes.get(node)?.interfaces.find((i) => i.ifname === ifname);
    if (iface === undefined) throw new RangeError(`${node} has no interface ${ifname}`);
    iface.up = up;
  }

  /**
   * Whether a message from `from` to `to` on `segment` would pass now: not blocked, both
   * interfaces on the segment up, both nodes open (faults such as loss are not considered).
   */
  passes(from: string, to: string, segment: string): boolean {
    const a = this.#nodes.get(from);
    const b = this.#nodes.get(to);
    if (a === undefined || b === undefined || a.closed || b.closed) return false;
    const up = (n: SimNode): boolean => n.interfaces.some((i) => i.segment === segment && i.up);
    const link = this.#links.get(`${from}>${to}`);
    return up(a) && up(b) && (link === undefined || !isBlocked(link, segment));
  }

  /** Blocks or unblocks one directed link. */
  setBlocked(from: string, to: string, blocked: boolean): void {
    this.#link(from, to).blocked = blocked;
  }

  /** Removes every partition, or those on `segment` only (faults stay). */
  heal(segment?: string): void {
    for (const link of this.#links.values()) {
      if (segment === undefined) {
        link.blocked = false;
        link.blockedOn.clear();
      } else link.blockedOn.delete(segment);
    }
  }

  /** Runs `change` at absolute virtual time `atUs` (now if in the past). */
  at(atUs: number, change: () => void): void {
    this.#clock.setTimerUs(change, atUs - this.#clock.nowUs());
  }

  #node(name: string): SimNode {
    let n = this.#nodes.get(name);
    if (n === undefined) {
      n = { name, interfaces: [], inbound: new Subject<Datagram>(), closed: false };
      this.#nodes.set(name, n);
    }
    return n;
  }

  #link(from: string, to: string): Link {
    const key = `${from}>${to}`;
    let link = this.#links.get(key);
    if (link === undefined) {
      link = { faults: NO_FAULTS, blocked: false, blockedOn: new Set(), prng: this.#prng.fork(key) };
      this.#links.set(key, link);
    }
    return link;
  }

  /** Whether deliveries are logged at all (else no record object is built per message). */
  get #recording(): boolean {
    return this.#options.record === true || this.#options.onRecord !== undefined;
  }

  #record(r: DeliveryRecord): void {
    if (this.#options.record === true) this.records.push(r);
    this.#options.onRecord?.(r);
  }

  #send(from: SimNode, out: Outbound): void {
    if (from.closed) return;
    const iface = from.interfaces.find((i) => i.ifname === out.ifname);
    const seq = this.#seq++;
    const now = this.#clock.nowUs();
    const src = out.src ?? (out.family === 4 ? iface?.ipv4 : iface?.ipv6);
    const multicast = isMulticast(out.dst);
    const members = iface === undefined ? [] : (this.#segments.get(iface.segment) ?? []);
    const targets = members.filter(
      (m) =>
        m.node !== from &&
        (multicast
          ? (out.family === 4 ? m.ipv4 : m.ipv6) !== undefined
          : (out.family === 4 ? m.ipv4 : m.ipv6) === out.dst),
    );
    const noRoute = iface === undefined || src === undefined || (targets.length === 0 && !multicast);
    if (noRoute || !iface.up) {
      const reason: DropReason = noRoute ? "no-route" : "link-down";
      this.#record({ kind: "dropped", atUs: now, seq, from: from.name, to: "", dst: out.dst, reason });
      return;
    }
    const bytes = out.bytes.slice();
    for (const target of targets) this.#sendOn(from, target, iface.segment, out, src, bytes, seq, now);
  }

  #sendOn(
    from: SimNode,
    target: SimInterface,
    segment: string,
    out: Outbound,
    src: string,
    bytes: Uint8Array,
    seq: number,
    now: number,
  ): void {
    const to = target.node.name;
    const link = this.#link(from.name, to);
    const drop = (reason: DropReason, atUs = now): void =>
      this.#record({ kind: "dropped", atUs, seq, from: from.name, to, dst: out.dst, reason });
    if (isBlocked(link, segment)) {
      drop("partition");
      return;
    }
    const seg = this.#segmentFaults.get(segment);
    const own = link.faults;
    const f: LinkFaults =
      own === NO_FAULTS ? (seg ?? NO_FAULTS) : seg === undefined ? own : { ...seg, ...own };
    const rng = link.prng;
    if (rng.chance(f.lossPpm ?? 0, PPM)) {
      drop("loss");
      return;
    }
    const copies = rng.chance(f.duplicatePpm ?? 0, PPM) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      let delayUs = f.delayUs ?? 0;
      if ((f.jitterUs ?? 0) > 0) delayUs += rng.int(0, f.jitterUs ?? 0);
      if (rng.chance(f.reorderPpm ?? 0, PPM)) delayUs += rng.int(0, f.reorderWindowUs ?? 0);
      const family: Family = out.family;
      const inbound = target.node.inbound;
      this.#clock.setTimerUs(() => {
        const atUs = this.#clock.nowUs();
        if (target.node.closed || target.node.inbound !== inbound) return drop("closed", atUs);
        if (isBlocked(link, segment)) return drop("partition", atUs);
        if (!target.up) return drop("link-down", atUs);
        if (this.#recording)
          this.#record({
            kind: "delivered",
            atUs,
            sentAtUs: now,
            seq,
            from: from.name,
            to,
            segment,
            dst: out.dst,
            length: bytes.length,
            copy,
          });
        const datagram: Datagram = {
          bytes: bytes.slice(),
          family,
          src,
          dst: out.dst,
          ttl: out.ttl,
          ifname: target.ifname,
          rxAtUs: atUs,
          ...(target.ifindex !== undefined ? { ifindex: target.ifindex } : {}),
        };
        inbound.next(datagram);
      }, delayUs);
    }
  }
}
