/**
 * A timer armed in a step counts from the time of the event being applied, not from the moment the
 * step reached the arming. On a real clock time moves while a step runs (a cold step after a second's
 * sleep takes milliseconds); keepalived counts its timers from the time its loop woke for the event.
 * Here the host's time moves 700 µs on every read (a slow step), and each down timer a BACKUP arms or
 * restarts must still be due exactly Master_Down_Interval after the event that armed it — the value a
 * replay of the journal, on a clock that stands still during a step, computes. And a received datagram
 * is stamped with its receive time (the socket read), not the time the receive path handed it to the
 * node, so the down timer it restarts counts from the read. And a timer's own event happens at its
 * due time when a real clock woke for it within its timers' resolution, so a MASTER's adverts keep
 * their period; woken later (a busy or stalled process), it moves on, and never catches up with a
 * burst.
 */
import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import { masterDownIntervalUs, skewTimeUs } from "../../machines/timers.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import type { Event } from "../../src/runtime/input.ts";
import { Node } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import { Prng } from "../../src/runtime/prng.ts";
import { RealClock, type TimerHost } from "../../src/runtime/real-clock.ts";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";
import {
  happenedAtUs,
  TIMER_RESOLUTION_US,
  TIMER_ROUNDING_US,
  timerResolutionUs,
} from "../../src/runtime/timer-table.ts";
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

/**
 * Process timers that fire late: each by 0–0.9 ms after their whole milliseconds (so, with the clock's
 * rounding up to the millisecond, 0–1.9 ms after due: an advert timer's lateness in a 250-instance
 * daemon measured p50 0.9, p99 1.9 ms), or by `stallUs` once when set. Immediates run 10 µs apart.
 * Driven by `run`.
 */
class LateHost implements TimerHost {
  us = 0;
  stallUs = 0;
  readonly #timeouts = new Set<{ atUs: number; fn: () => void }>();
  readonly #immediates = new Set<{ fn: () => void }>();
  readonly #late = new Prng(7);
  nowUs(): number {
    return this.us;
  }
  setTimeout(fn: () => void, delayMs: number): unknown {
    const t = { atUs: this.us + delayMs * 1000, fn };
    this.#timeouts.add(t);
    return t;
  }
  clearTimeout(h: unknown): void {
    this.#timeouts.delete(h as { atUs: number; fn: () => void });
  }
  setImmediate(fn: () => void): unknown {
    const t = { fn };
    this.#immediates.add(t);
    return t;
  }
  clearImmediate(h: unknown): void {
    this.#immediates.delete(h as { fn: () => void });
  }
  /** Runs process timers and immediates until the host's time passes `untilUs`. */
  run(untilUs: number): void {
    while (this.us < untilUs) {
      const [imm] = this.#immediates;
      if (imm !== undefined) {
        this.#immediates.delete(imm);
        this.us += 10;
        imm.fn();
        continue;
      }
      let next: { atUs: number; fn: () => void } | undefined;
      for (const t of this.#timeouts) if (next === undefined || t.atUs < next.atUs) next = t;
      if (next === undefined) return;
      this.#timeouts.delete(next);
      const late = this.stallUs > 0 ? this.stallUs : this.#late.int(0, 900);
      this.stallUs = 0;
      this.us = Math.max(this.us, next.atUs + late);
      next.fn();
    }
  }
}

describe("a timer's event", () => {
  const master: NodeSpec = {
    ...spec,
    instances: spec.instances.map((s) => ({ ...s, params: { ...s.params, basePriority: 255 } })),
  };
  /** A started MASTER node on a `LateHost`, and the events it applies. */
  const startMaster = () => {
    const host = new LateHost();
    const applied: Event[] = [];
    const node = new Node(master, {
      clock: new RealClock(host),
      ports: nullPorts(),
      onApplied: (ev) => applied.push(ev),
    });
    node.start();
    return { host, applied, node };
  };
  const advertTimes = (applied: readonly Event[]) =>
    applied.filter((e) => e.input.kind === "timer" && e.input.id === "advert").map((e) => e.atUs);

  it("happens at its due time on a late real clock: a MASTER's adverts keep their period", () => {
    const { host, applied, node } = startMaster();
    host.run(30_500_000);
    const at = applied.flatMap((e, i) =>
      e.input.kind === "timer" && e.input.id === "advert"
        ? [{ atUs: e.atUs, prevUs: applied[i - 1]?.atUs ?? 0 }]
        : [],
    );
    expect(at.length).toBeGreaterThanOrEqual(28);
    // each advert one advert_int after the last, though each wake-up was 0–1.9 ms late — or, when an
    // event (a GARP's outcome) was applied between them, at that event's time: the journal never goes back
    for (let i = 1; i < at.length; i++) {
      const { atUs, prevUs } = at[i] ?? { atUs: 0, prevUs: 0 };
      expect(atUs).toBe(Math.max((at[i - 1]?.atUs ?? 0) + 1_000_000, prevUs));
    }
    const exact = at.filter((a, i) => i > 0 && a.atUs - (at[i - 1]?.atUs ?? 0) === 1_000_000).length;
    expect(exact).toBeGreaterThanOrEqual(at.length - 3);
    expect(node.state("VI_1")).toBe("MASTER");
  });

  it("woken later than the resolution, happens that much before now: no burst of catch-up adverts after a stall", () => {
    const { host, applied, node } = startMaster();
    host.run(5_500_000);
    const before = advertTimes(applied).length;
    host.stallUs = 10_000_000;
    host.run(15_000_000);
    const stallEnd = host.us;
    host.run(stallEnd + 2_000_000);
    const after = advertTimes(applied).slice(before);
    // the stalled one, stamped 2 ms before the stall's end (not the ten adverts due during the stall);
    // the next 1 s after that stamp, then every second
    const r = TIMER_RESOLUTION_US;
    expect(after.map((us) => us - stallEnd)).toEqual([-r, 1_000_000 - r, 2_000_000 - r, 3_000_000 - r]);
    expect(node.state("VI_1")).toBe("MASTER");
  });
});

describe("happenedAtUs", () => {
  it("is the due time within the resolution, else the resolution (at most half the delay) before now", () => {
    expect(happenedAtUs(1_000_000, 1_000_000, 1_001_999)).toBe(1_000_000);
    expect(happenedAtUs(1_000_000, 1_000_000, 1_002_000)).toBe(1_000_000);
    expect(happenedAtUs(1_000_000, 1_000_000, 1_009_000)).toBe(1_009_000 - TIMER_RESOLUTION_US);
    // a short timer (GARP pacing) never moves less than half its delay from now
    expect(happenedAtUs(1_000_000, 1_000, 1_003_000)).toBe(1_002_500);
    expect(happenedAtUs(1_000_000, 0, 1_003_000)).toBe(1_003_000);
  });

  it("the resolution is the millisecond rounding plus the kernel's slack (0.1 % of the delay), at most 2 ms", () => {
    expect(timerResolutionUs(1_000_000)).toBe(TIMER_RESOLUTION_US);
    expect(timerResolutionUs(255_000_000)).toBe(TIMER_RESOLUTION_US);
    expect(timerResolutionUs(100_000)).toBe(TIMER_ROUNDING_US + 100);
    expect(timerResolutionUs(50_000)).toBe(TIMER_ROUNDING_US + 50);
    // an advert timer of 0.1 s woken 1.5 ms late moves on by 0.4 ms; at 1 s it keeps its period
    expect(happenedAtUs(1_000_000, 100_000, 1_001_500)).toBe(1_000_400);
    expect(happenedAtUs(1_000_000, 1_000_000, 1_001_500)).toBe(1_000_000);
  });
});
