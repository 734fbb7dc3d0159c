/**
 * A timer armed in a step counts from the time of the event being applied, not from the moment the
 * step reached the arming. On a real clock time moves while a step runs (a cold step after a second's
 * sleep takes milliseconds); keepalived counts its timers from the time its loop woke for the event.
 * Here the host's time moves 700 µs on every read (a slow step), and each down timer a BACKUP arms or
 * restarts must still be due exactly Master_Down_Interval after the event that armed it — the value a
 * replay of the journal, on a clock that stands still during a step, computes. And a received datagram
 * is stamped with its receive time (the socket read), not the time the receive path handed it to the
 * node, so the down timer it restarts counts from the read.
 */
import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import { masterDownIntervalUs, skewTimeUs } from "../../machines/timers.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import type { Event } from "../../src/runtime/input.ts";
import { Node } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import { RealClock, type TimerHost } from "../../src/runtime/real-clock.ts";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";
import type { Datagram } from "../../transports/transport.ts";
import { peerAdvert } from "../support/adverts.ts";

/** Time moves `perReadUs` on every read; process timers are recorded, never fired (the test reads due times). */
class SlowHost implements TimerHost {
  us = 0;
  constructor(readonly perReadUs: number) {}
  nowUs(): number {
    this.us += this.perReadUs;
    return this.us;
  }
  setTimeout(): unknown {
    return {};
  }
  clearTimeout(): void {}
  setImmediate(): unknown {
    return {};
  }
  clearImmediate(): void {}
}

const spec: NodeSpec = {
  instances: [instanceDefaults({ name: "VI_1", vrid: 51, ownIp: "198.18.0.2", vips: ["198.18.4.51"] })].map(
    (params) => ({ params, tracking: [], unicastPeers: [] }),
  ),
  groups: [],
  trackers: [],
};
const advert = (priority: number) =>
  peerAdvert("198.18.0.1", {
    version: 2,
    vrid: 51,
    priority,
    advertIntervalCs: 100,
    addresses: ["198.18.4.51"],
  });

describe("timers armed in a step", () => {
  it("count from the applied event's time, however long the step takes on a real clock", () => {
    const host = new SlowHost(700);
    const applied: Event[] = [];
    const node = new Node(spec, {
      clock: new RealClock(host),
      ports: nullPorts(),
      onApplied: (ev) => applied.push(ev),
    });
    const mdi = masterDownIntervalUs({ version: 2, priority: 100, masterAdverIntervalCs: 100 });
    const due = () => node.pendingTimer("instance:VI_1", "masterDown")?.dueUs;
    /** The time of the last applied input of `kind` (a step's effect outcomes are events of their own). */
    const lastAt = (kind: string) => applied.findLast((e) => e.input.kind === kind)?.atUs ?? Number.NaN;
    node.start();
    expect(due()).toBe(lastAt("admin") + mdi);
    // each advert from a higher-priority master restarts the down timer from that advert's time
    for (let i = 0; i < 5; i++) {
      node.input(advert(150));
      expect(due()).toBe(lastAt("rx") + mdi);
    }
    // priority 0: the down timer becomes Skew_Time, counted from the priority-0 advert
    node.input(advert(0));
    const skew = skewTimeUs({ version: 2, priority: 100, masterAdverIntervalCs: 100 });
    expect(due()).toBe(lastAt("rx") + skew);
    // the clock has moved on meanwhile: counting from "now" would have been later
    expect(host.us).toBeGreaterThan(lastAt("rx") + 700);
  });
});

describe("a received datagram", () => {
  it("is stamped with its receive time, never before the previous event, and its down timer counts from it", () => {
    const clock = new VirtualClock();
    const inbound = new Subject<Datagram>();
    const applied: Event[] = [];
    const node = new Node(spec, {
      clock,
      ports: nullPorts(),
      transport: { inbound$: inbound, send: () => {}, close: () => {} },
      onApplied: (ev) => applied.push(ev),
    });
    node.start();
    const mdi = masterDownIntervalUs({ version: 2, priority: 100, masterAdverIntervalCs: 100 });
    const datagram = (rxAtUs: number): Datagram => {
      const rx = advert(150);
      if (rx.kind !== "rx") throw new Error("not rx");
      return {
        bytes: Buffer.from(rx.hex, "hex"),
        family: 4,
        src: rx.src,
        dst: rx.dst,
        ttl: rx.ttl,
        ifname: rx.ifname,
        rxAtUs,
      };
    };
    // read at 1.000 s, handed to the node 0.8 ms later (the receive path's own run time)
    clock.advanceTo(1_000_800);
    inbound.next(datagram(1_000_000));
    const rx = applied.findLast((e) => e.input.kind === "rx");
    expect(rx?.atUs).toBe(1_000_000);
    expect(node.pendingTimer("instance:VI_1", "masterDown")?.dueUs).toBe(1_000_000 + mdi);
    // a receive time before the previous event's time: stamped at that time (the journal never goes back)
    node.input({ kind: "link", ifname: "eth1", up: true });
    const before = applied.at(-1)?.atUs ?? Number.NaN;
    clock.advanceTo(1_002_000);
    inbound.next(datagram(before - 500));
    expect(applied.findLast((e) => e.input.kind === "rx")?.atUs).toBe(before);
    // a receive time that is not earlier than now: now
    inbound.next(datagram(5_000_000));
    expect(applied.findLast((e) => e.input.kind === "rx")?.atUs).toBe(1_002_000);
  });
});
