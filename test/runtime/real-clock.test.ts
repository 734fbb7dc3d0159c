/**
 * The production clock's timer discipline, on a scripted host (no real time): one process timer for
 * the earliest deadline whatever the number of pending timers, re-arms that only move a deadline later
 * touch no process timer, timers fire in (due, seq) order and never before their due time on the
 * clock's own time (an early process wake-up re-arms), cancelled timers never fire, and a callback
 * scheduling or cancelling other timers while firing is honoured. And the timer table on it: a timer
 * re-armed on every advert is moved in place (one clock timer) and fires exactly when due; many
 * instances' down timers restarted by their adverts wake the process only when the earliest of them
 * could be due, not once per instance per down interval; moved timers keep the (due, seq) order of a
 * fresh arming, as on the virtual clock, where every re-arm stays an exact (due, seq) arming.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { type TimerHandle, VirtualClock } from "../../src/runtime/clock.ts";
import { MemoryJournal, parseJournal } from "../../src/runtime/journal.ts";
import { MachineDriver } from "../../src/runtime/machine-driver.ts";
import { Node } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import {
  FINISH_WINDOW_US,
  MAX_TIMEOUT_MS,
  MAX_TIMERS_PER_WAKE,
  RealClock,
  SLEEP_MARGIN_US,
  type TimerHost,
  TURN_WORK_US,
} from "../../src/runtime/real-clock.ts";
import { replayJournal } from "../../src/runtime/replay.ts";
import { instanceDefaults } from "../../src/runtime/spec.ts";
import { TimerTable } from "../../src/runtime/timer-table.ts";

/**
 * A host whose time moves only when told; process timers are recorded and fired by `advance`. By
 * default a timer fires exactly `delayMs` after it was set (minus `earlyUs`); with `msLoop` it fires
 * as Node's do: counted in whole milliseconds from the loop's cached time (the start of the current
 * loop turn, truncated to the millisecond), `wakeUs` after that millisecond boundary. Immediates run
 * one loop turn (`turnUs`) later.
 */
class ScriptedHost implements TimerHost {
  nowUsValue = 0;
  /** Extra µs the loop clock is ahead of hrtime: a timer may wake that early. */
  earlyUs = 0;
  msLoop = false;
  /**
   * With `msLoop`: libuv's poll timeout counts from the loop time of the turn that armed the timer,
   * so work done after arming (`pollLagUs`) makes the wake-up that much later than `delayMs` from now.
   */
  pollLagUs: number | undefined;
  wakeUs = 60;
  /**
   * The kernel's slack on a poll timeout: a wait of T ms ends this many µs per ms late (Linux: up
   * to 1 µs per ms, 5 for a niced process). Modelled at the late end of the range.
   */
  slackUsPerMs = 0;
  /** Set to model a host that sleeps on a kernel timer (the daemon): time moves by the sleep plus its slack. */
  sleepUs: ((us: number) => void) | undefined;
  sleepCalls = 0;
  turnUs = 20;
  /** When the current loop turn started (Node's cached loop time is this, in whole ms). */
  turnStartUs = 0;
  armed = new Map<number, { fn: () => void; atUs: number }>();
  immediates = new Map<number, () => void>();
  setCalls = 0;
  clearCalls = 0;
  /** Process timers that fired (each a wake-up of a sleeping process). */
  timerWakeups = 0;
  immediateCalls = 0;
  #next = 1;
  nowUs(): number {
    return this.nowUsValue;
  }
  setTimeout(fn: () => void, delayMs: number): unknown {
    this.setCalls++;
    const id = this.#next++;
    const atUs = !this.msLoop
      ? this.nowUsValue + delayMs * 1000 - this.earlyUs
      : this.pollLagUs === undefined
        ? (Math.floor(this.turnStartUs / 1000) + Math.max(1, delayMs)) * 1000 + this.wakeUs
        : this.nowUsValue + this.pollLagUs + Math.max(1, delayMs) * 1000 + this.wakeUs;
    this.armed.set(id, { fn, atUs: atUs + Math.max(1, delayMs) * this.slackUsPerMs });
    return id;
  }
  /** Makes the host sleep on a kernel timer that ends `slackUs` late. */
  sleeps(slackUs: number): this {
    this.sleepUs = (us) => {
      this.sleepCalls++;
      this.nowUsValue += us + slackUs;
    };
    return this;
  }
  /** I/O (a datagram) ready at `atUs`: served in the poll phase of the first loop turn after it. */
  io(atUs: number, fn: () => void): void {
    this.armed.set(this.#next++, { fn, atUs });
  }
  clearTimeout(handle: unknown): void {
    this.clearCalls++;
    this.armed.delete(handle as number);
  }
  setImmediate(fn: () => void): unknown {
    this.immediateCalls++;
    const id = this.#next++;
    this.immediates.set(id, fn);
    return id;
  }
  clearImmediate(handle: unknown): void {
    this.immediates.delete(handle as number);
  }
  /** Moves time to `toUs`, running loop turns as a loop would: immediates, else the earliest timer. */
  advance(toUs: number): void {
    for (;;) {
      const nextTimerUs = Math.min(...[...this.armed.values()].map((t) => t.atUs));
      const turnAtUs = this.nowUsValue + this.turnUs;
      if (this.immediates.size > 0 && turnAtUs <= toUs && turnAtUs <= nextTimerUs) {
        this.nowUsValue += this.turnUs;
        this.turnStartUs = this.nowUsValue;
        const batch = [...this.immediates.values()];
        this.immediates.clear();
        for (const fn of batch) fn();
        continue;
      }
      const due = [...this.armed].filter(([, t]) => t.atUs <= toUs).sort((a, b) => a[1].atUs - b[1].atUs)[0];
      if (due === undefined) break;
      this.armed.delete(due[0]);
      this.nowUsValue = Math.max(this.nowUsValue, due[1].atUs);
      this.turnStartUs = this.nowUsValue;
      this.timerWakeups++;
      due[1].fn();
    }
    this.nowUsValue = toUs;
  }
}

/**
 * A precise timer armed mid-turn on `host` (at 10.3 ms; the loop turn began at 10 ms), run `runUs`
 * past its due time: how late it fired, in µs (NaN if it never did).
 */
function precisePastDue(host: ScriptedHost, delayUs: number, runUs = 10_000): number {
  const clock = new RealClock(host);
  host.advance(10_300);
  host.turnStartUs = 10_000;
  const fired: number[] = [];
  clock.setTimerUs(() => fired.push(host.nowUs()), delayUs, { precise: true });
  const dueUs = 10_300 + delayUs;
  host.advance(dueUs + runUs);
  return (fired[0] ?? Number.NaN) - dueUs;
}

describe("RealClock", () => {
  it("arms a timer further out than Node's longest timeout at that limit, and fires it at its due time", () => {
    const host = new ScriptedHost();
    const clock = new RealClock(host);
    const fired: number[] = [];
    const dueUs = 100 * 86_400 * 1_000_000; // 100 days: a garp_master_refresh keepalived accepts
    clock.setTimerUs(() => fired.push(host.nowUs()), dueUs);
    const delays = (): number[] => [...host.armed.values()].map((t) => (t.atUs - host.nowUs()) / 1000);
    expect(Math.max(...delays())).toBeLessThanOrEqual(MAX_TIMEOUT_MS);
    host.advance(dueUs - 1);
    expect(fired).toEqual([]);
    // woke at each limit (about 24.8 days), found nothing due and re-armed: four wake-ups, not 1 ms spins
    expect(host.timerWakeups).toBeLessThanOrEqual(5);
    host.advance(dueUs + 2_000);
    expect(fired).toHaveLength(1);
    expect((fired[0] ?? 0) - dueUs).toBeLessThan(2_000);
  });

  it("keeps one process timer for 1,000 pending timers re-armed on every 'advert'", () => {
    const host = new ScriptedHost();
    const clock = new RealClock(host);
    const handles = Array.from({ length: 1000 }, (_, i) => clock.setTimerUs(() => {}, 3_000_000 + i));
    // 10 rounds of re-arming every timer later (a BACKUP's down timer on each advert).
    for (let round = 1; round <= 10; round++) {
      host.advance(round * 1000);
      for (let i = 0; i < handles.length; i++) {
        handles[i]?.cancel();
        handles[i] = clock.setTimerUs(() => {}, 3_000_000 + i);
      }
    }
    expect(host.armed.size).toBe(1);
    expect(host.setCalls).toBe(1);
    expect(clock.pending).toBe(1000);
  });

  it("fires in (due, seq) order, never before due, skips cancelled ones, re-arms earlier deadlines", () => {
    const host = new ScriptedHost();
    host.earlyUs = 900; // the loop clock wakes the process timer up to 0.9 ms early
    const clock = new RealClock(host);
    const log: string[] = [];
    const at = (name: string) => () => log.push(`${name}@${host.nowUs()}`);
    clock.setTimerUs(at("b"), 5_000);
    clock.setTimerUs(at("c"), 5_000);
    clock.setTimerUs(at("x"), 4_000).cancel();
    clock.setTimerUs(at("a"), 2_500); // earlier than the armed deadline: the process timer moves
    expect(host.armed.size).toBe(1);
    host.advance(20_000);
    expect(log).toEqual(["a@2500", "b@5000", "c@5000"]);
    for (const entry of log) {
      const [name, when] = entry.split("@");
      expect(Number(when)).toBeGreaterThanOrEqual({ a: 2500, b: 5000, c: 5000 }[name as "a"]);
    }
    expect(host.armed.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("honours timers scheduled and cancelled from inside a firing callback", () => {
    const host = new ScriptedHost();
    const clock = new RealClock(host);
    const log: number[] = [];
    let victim = clock.setTimerUs(() => log.push(-1), 3_000);
    clock.setTimerUs(() => {
      log.push(1);
      victim.cancel();
      clock.setTimerUs(() => log.push(2), 0); // due now: fires in the same wake-up
      victim = clock.setTimerUs(() => log.push(3), 10_000);
    }, 1_000);
    host.advance(1_000);
    expect(log).toEqual([1, 2]);
    expect(host.armed.size).toBe(1);
    host.advance(11_000);
    expect(log).toEqual([1, 2, 3]);
  });

  it("a throwing callback does not lose the timers after it", () => {
    const host = new ScriptedHost();
    const clock = new RealClock(host);
    const log: string[] = [];
    clock.setTimerUs(() => {
      throw new Error("boom");
    }, 1_000);
    clock.setTimerUs(() => log.push("later"), 2_000);
    expect(() => host.advance(1_500)).toThrow("boom");
    host.advance(3_000);
    expect(log).toEqual(["later"]);
  });

  it("a timer re-arming itself with no delay fires at most MAX_TIMERS_PER_WAKE times a wake-up; I/O is served between", () => {
    const host = new ScriptedHost();
    host.msLoop = true;
    const clock = new RealClock(host);
    let fired = 0;
    const loop = (): void => {
      fired++;
      clock.setTimerUs(loop, 0);
    };
    clock.setTimerUs(loop, 1_000);
    let firedAtIo = -1;
    host.io(2_500, () => {
      firedAtIo = fired;
    });
    host.advance(5_000);
    expect(fired % MAX_TIMERS_PER_WAKE).toBe(0);
    expect(fired).toBeGreaterThanOrEqual(2 * MAX_TIMERS_PER_WAKE);
    expect(firedAtIo).toBeGreaterThan(0);
    expect(firedAtIo).toBeLessThan(fired);
  });

  it("drops its process timer when every pending timer is cancelled (the loop may drain)", () => {
    const host = new ScriptedHost();
    const clock = new RealClock(host);
    const handles = [5_000, 1_000, 255_000_000].map((d) => clock.setTimerUs(() => {}, d));
    expect(host.armed.size).toBe(1);
    handles[0]?.cancel();
    handles[1]?.cancel();
    expect(host.armed.size).toBe(1); // one live timer (255 s) left
    handles[2]?.cancel();
    expect(host.armed.size).toBe(0);
    expect(clock.pending).toBe(0);
    // And arms again for a new timer.
    const log: number[] = [];
    clock.setTimerUs(() => log.push(host.nowUs()), 2_000);
    host.advance(10_000);
    expect(log).toEqual([2_000]);
  });

  it("runs on the process clock by default", async () => {
    const clock = new RealClock();
    const t0 = clock.nowUs();
    const firedAt = await new Promise<number>((resolve) =>
      clock.setTimerUs(() => resolve(clock.nowUs()), 2_000),
    );
    expect(firedAt - t0).toBeGreaterThanOrEqual(2_000);
  });
});

describe("RealClock precision on a millisecond loop (Node's timers)", () => {
  /** A timer set mid-turn (700 µs after the loop turn began, as when an advert is being processed). */
  const setMidTurn = (host: ScriptedHost, clock: RealClock, delayUs: number, precise: boolean) => {
    host.advance(5_000);
    host.advance(5_700);
    host.turnStartUs = 5_000;
    const fired: number[] = [];
    const dueUs = 5_700 + delayUs;
    clock.setTimerUs(() => fired.push(host.nowUs()), delayUs, { precise });
    return { fired, dueUs };
  };

  it("a precise timer fires within one loop turn after its due time, not a millisecond late", () => {
    const host = new ScriptedHost();
    host.msLoop = true;
    const clock = new RealClock(host);
    const { fired, dueUs } = setMidTurn(host, clock, 3_609_375, true);
    host.advance(dueUs - 1);
    expect(fired).toEqual([]);
    host.advance(dueUs + 10_000);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(dueUs);
    expect((fired[0] ?? 0) - dueUs).toBeLessThanOrEqual(host.turnUs);
    // the finish took loop turns, not whole-millisecond timeouts: a long wait and two short ones
    expect(host.setCalls).toBeLessThanOrEqual(3);
    expect(host.immediateCalls).toBeLessThanOrEqual(FINISH_WINDOW_US / host.turnUs + 1);
  });

  it("for every delay and arming phase: never early, at most one loop turn late", () => {
    for (const delayUs of [0, 1, 999, 1_000, 1_001, 1_999, 2_000, 2_500, 30_468, 180_468, 609_375]) {
      for (const phaseUs of [0, 1, 300, 999]) {
        const host = new ScriptedHost();
        host.msLoop = true;
        const clock = new RealClock(host);
        host.advance(10_000 + phaseUs);
        host.turnStartUs = 10_000;
        const fired: number[] = [];
        clock.setTimerUs(() => fired.push(host.nowUs()), delayUs, { precise: true });
        const dueUs = 10_000 + phaseUs + delayUs;
        host.advance(dueUs + 10_000);
        expect([delayUs, phaseUs, fired.length]).toEqual([delayUs, phaseUs, 1]);
        const lateUs = (fired[0] ?? 0) - dueUs;
        expect([delayUs, phaseUs, lateUs >= 0 && lateUs <= host.turnUs]).toEqual([delayUs, phaseUs, true]);
      }
    }
  });

  it("a wake-up made late by the work after arming (libuv's poll timeout) still finishes on time", () => {
    for (const pollLagUs of [0, 300, 800, 950]) {
      for (const delayUs of [3_001, 30_468, 180_468, 609_375, 3_609_375]) {
        const host = new ScriptedHost();
        host.msLoop = true;
        host.pollLagUs = pollLagUs;
        const lateUs = precisePastDue(host, delayUs);
        expect([pollLagUs, delayUs, lateUs >= 0 && lateUs <= host.turnUs]).toEqual([
          pollLagUs,
          delayUs,
          true,
        ]);
      }
    }
  });

  it("a cold step after the arming (2–4.5 ms of the turn's work) does not make it late", () => {
    // the priority-0 advert's step arms a handover's Skew_Time and runs on; later turns are warm
    for (const stepUs of [2_000, 3_500, TURN_WORK_US - 500]) {
      for (const delayUs of [10_001, 30_468, 180_468, 609_375, 3_609_375]) {
        const host = new ScriptedHost();
        host.msLoop = true;
        const clock = new RealClock(host);
        host.advance(10_300);
        host.turnStartUs = 10_000;
        host.pollLagUs = stepUs;
        const fired: number[] = [];
        clock.setTimerUs(() => fired.push(host.nowUs()), delayUs, { precise: true });
        host.pollLagUs = 300;
        const dueUs = 10_300 + delayUs;
        host.advance(dueUs + 10_000);
        const lateUs = (fired[0] ?? Number.NaN) - dueUs;
        expect([stepUs, delayUs, lateUs >= 0 && lateUs <= host.turnUs]).toEqual([stepUs, delayUs, true]);
      }
    }
  });

  it("a long wait the kernel ends late by its slack (0.1 %, 0.5 % niced) still fires on time", () => {
    for (const slackUsPerMs of [1, 5]) {
      for (const delayUs of [3_001, 30_468, 180_468, 609_375, 3_609_375, 255_000_000]) {
        const host = new ScriptedHost();
        host.msLoop = true;
        host.slackUsPerMs = slackUsPerMs;
        const lateUs = precisePastDue(host, delayUs, 200_000);
        expect([slackUsPerMs, delayUs, lateUs >= 0 && lateUs <= host.turnUs]).toEqual([
          slackUsPerMs,
          delayUs,
          true,
        ]);
        // the spin on loop turns stays within its window however long the wait was
        expect(host.immediateCalls).toBeLessThanOrEqual(FINISH_WINDOW_US / host.turnUs + 1);
      }
    }
  });

  it("with a host that sleeps, the last stretch is one sleep on a kernel timer, then loop turns for its margin", () => {
    // a sleep ends late by its slack and the CPU's wake-up: up to SLEEP_MARGIN_US of it costs nothing
    for (const slackUs of [0, 50, SLEEP_MARGIN_US]) {
      for (const delayUs of [0, 999, 2_500, 30_468, 180_468, 609_375, 3_609_375]) {
        const host = new ScriptedHost().sleeps(slackUs);
        host.msLoop = true;
        host.slackUsPerMs = 1;
        const lateUs = precisePastDue(host, delayUs, 200_000);
        expect([slackUs, delayUs, lateUs >= 0 && lateUs <= host.turnUs]).toEqual([slackUs, delayUs, true]);
        // one sleep, then at most the margin's worth of loop turns (two immediates per turn pair)
        const turns = 2 * Math.ceil(SLEEP_MARGIN_US / host.turnUs) + 3;
        expect([delayUs, host.immediateCalls <= turns, host.sleepCalls <= 2]).toEqual([delayUs, true, true]);
      }
    }
  });

  it("rehearses a precise timer once in its last stretch, before it fires, and again once moved", () => {
    const host = new ScriptedHost().sleeps(50);
    host.msLoop = true;
    const clock = new RealClock(host);
    const log: string[] = [];
    const at = () => Math.round(host.nowUs() / 1000);
    const t = clock.setTimerUs(() => log.push(`fire@${at()}`), 100_000, {
      precise: true,
      prepare: () => log.push(`rehearse@${at()}`),
    });
    host.advance(90_000);
    expect(log).toEqual([]);
    // moved later before its last stretch: one rehearsal, for the new due time only
    expect(clock.moveTimerToUs(t, host.nowUs() + 50_000)).toBe(true);
    host.advance(200_000);
    expect(log.map((l) => l.split("@")[0])).toEqual(["rehearse", "fire"]);
    const [rehearsedMs, firedMs] = log.map((l) => Number(l.split("@")[1]));
    expect(firedMs).toBe(140);
    expect((firedMs ?? 0) - (rehearsedMs ?? 0)).toBeLessThanOrEqual(FINISH_WINDOW_US / 1000);
  });

  it("a rehearsal that throws changes nothing: the timer still fires on time", () => {
    const host = new ScriptedHost().sleeps(50);
    host.msLoop = true;
    const clock = new RealClock(host);
    const fired: number[] = [];
    clock.setTimerUs(() => fired.push(host.nowUs()), 3_609_375, {
      precise: true,
      prepare: () => {
        throw new Error("rehearsal failed");
      },
    });
    host.advance(4_000_000);
    expect(fired).toHaveLength(1);
    expect((fired[0] ?? 0) - 3_609_375).toBeLessThanOrEqual(host.turnUs);
  });

  it("an advert that arrives while it sleeps is served before the timer fires", () => {
    const host = new ScriptedHost().sleeps(50);
    host.msLoop = true;
    const clock = new RealClock(host);
    const log: string[] = [];
    const dueUs = 3_609_375;
    const down = clock.setTimerUs(() => log.push("down"), dueUs, { precise: true });
    // the advert is on the socket 200 µs before the down timer is due: it restarts the timer
    host.io(dueUs - 200, () => {
      log.push("advert");
      down.cancel();
      clock.setTimerUs(() => log.push("down again"), dueUs, { precise: true });
    });
    host.advance(dueUs + 1_000);
    expect(host.sleepCalls).toBeGreaterThan(0);
    expect(log).toEqual(["advert"]);
    host.advance(2 * dueUs + 10_000);
    expect(log).toEqual(["advert", "down again"]);
  });

  it("a down timer due while its advert waits unread (a busy process) reads the input first and does not fire", () => {
    for (const reads of [true, false]) {
      const host = new ScriptedHost().sleeps(50);
      host.msLoop = true;
      const clock = new RealClock(host);
      const log: string[] = [];
      // the socket: an advert that arrived 1 ms before due, unread because the loop was busy
      const socket: Array<() => void> = [];
      const dueUs = 3_609_375;
      const down = clock.setTimerUs(() => log.push("down"), dueUs, { precise: true });
      if (reads)
        clock.readInputFirst(() => {
          log.push("read");
          for (const advert of socket.splice(0)) advert();
        });
      host.advance(dueUs - 1_000);
      socket.push(() => {
        log.push("advert");
        clock.moveTimerToUs(down, host.nowUs() + dueUs);
      });
      host.advance(dueUs + 20_000);
      expect(log).toEqual(reads ? ["read", "advert"] : ["down"]);
      if (!reads) continue;
      // the restarted timer fires at its new due time, after a read that finds nothing
      host.advance(2 * dueUs + 40_000);
      expect(log).toEqual(["read", "advert", "read", "down"]);
    }
  });

  it("a rehearsed timer's last stretch reads the input first: a timer its advert moves is neither rehearsed nor slept for", () => {
    const host = new ScriptedHost().sleeps(50);
    host.msLoop = true;
    const clock = new RealClock(host);
    const log: string[] = [];
    // adverts a transport let wait (transports/steady-filter.ts): one arrived long before due
    const socket: Array<() => void> = [];
    const dueUs = 300_000;
    const down = clock.setTimerUs(() => log.push("down"), dueUs, {
      precise: true,
      prepare: () => log.push("rehearse"),
    });
    clock.readInputFirst(() => {
      log.push("read");
      for (const advert of socket.splice(0)) advert();
    });
    socket.push(() => {
      log.push("advert");
      clock.moveTimerToUs(down, host.nowUs() + dueUs); // restarted from now (its arrival time, to the node)
    });
    host.advance(dueUs + 1_000);
    expect(log).toEqual(["read", "advert"]);
    expect(host.sleepCalls).toBe(0);
    // no advert the next time: read, rehearsed once, slept, read again as it fires (what came during
    // the sleep), fired (advance: to an absolute time)
    host.advance(2 * dueUs + 20_000);
    expect(log).toEqual(["read", "advert", "read", "rehearse", "read", "down"]);
    expect(host.sleepCalls).toBeGreaterThan(0);
  });

  it("reads the input once per wake-up, and never for coarse timers alone", () => {
    const host = new ScriptedHost();
    const clock = new RealClock(host);
    let reads = 0;
    clock.readInputFirst(() => reads++);
    const fired: string[] = [];
    clock.setTimerUs(() => fired.push("advert"), 1_000_000);
    host.advance(1_000_000);
    expect([fired, reads]).toEqual([["advert"], 0]);
    for (let i = 0; i < 5; i++) clock.setTimerUs(() => fired.push(`down ${i}`), 500_000, { precise: true });
    clock.setTimerUs(() => fired.push("advert 2"), 500_000);
    host.advance(1_600_000);
    expect(fired).toEqual(["advert", "down 0", "down 1", "down 2", "down 3", "down 4", "advert 2"]);
    expect(reads).toBe(1);
  });

  it("a coarse timer never spins on loop turns (advert timers of a thousand instances cost no CPU)", () => {
    const host = new ScriptedHost();
    host.msLoop = true;
    const clock = new RealClock(host);
    const { fired, dueUs } = setMidTurn(host, clock, 1_000_000, false);
    host.advance(dueUs + 10_000);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(dueUs);
    expect(host.immediateCalls).toBe(0);
  });

  it("a down timer re-armed later by every advert spins only at its real expiry", () => {
    const host = new ScriptedHost();
    host.msLoop = true;
    const clock = new RealClock(host);
    const fired: number[] = [];
    const table = new TimerTable(clock, true, (_atUs, { input: { actor, id } }) => {
      fired.push(host.nowUs());
      table.take(actor, id);
    });
    table.register("instance:VI_1");
    // adverts every second for 20 s, each restarting the 3.609375 s down timer; then silence
    for (let i = 0; i < 20; i++) {
      host.advance(i * 1_000_000 + 400);
      host.turnStartUs = i * 1_000_000;
      table.schedule("instance:VI_1", "masterDown", { type: "MASTER_DOWN" }, 3_609_375);
    }
    const dueUs = 19_000_400 + 3_609_375;
    host.advance(dueUs - 1);
    expect(fired).toEqual([]);
    // no spin before the real expiry
    expect(host.immediateCalls).toBeLessThanOrEqual(FINISH_WINDOW_US / host.turnUs + 1);
    host.advance(dueUs + 10_000);
    expect(fired).toHaveLength(1);
    expect((fired[0] ?? 0) - dueUs).toBeGreaterThanOrEqual(0);
    expect((fired[0] ?? 0) - dueUs).toBeLessThanOrEqual(host.turnUs);
  });
});

/** A RealClock that counts the clock timers it is asked for. */
class CountingRealClock extends RealClock {
  armed = 0;
  override setTimerUs(fn: () => void, delayUs: number): TimerHandle {
    this.armed++;
    return super.setTimerUs(fn, delayUs);
  }
}

describe("TimerTable, an actor's slot", () => {
  it("finds the actor's timers as its name does; another table's slot is not used", () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    const table = new TimerTable(clock, true, (atUs, { input: { actor, id } }) => {
      fired.push(`${actor} ${id} ${atUs}`);
      table.take(actor, id);
    });
    const other = new TimerTable(clock, true, () => fired.push("other"));
    const slot = table.register("instance:VI_1");
    const foreign = other.register("instance:VI_1");
    expect(table.register("instance:VI_1").byId).toBe(slot.byId);
    // armed by slot, re-armed by name, cancelled by slot: one timer
    table.schedule("instance:VI_1", "masterDown", { type: "MASTER_DOWN" }, 1_000, slot);
    table.schedule("instance:VI_1", "masterDown", { type: "MASTER_DOWN" }, 2_000);
    expect(table.get("instance:VI_1", "masterDown")?.dueUs).toBe(2_000);
    table.cancel("instance:VI_1", "masterDown", slot);
    expect(table.get("instance:VI_1", "masterDown")).toBeUndefined();
    // another table's slot: the lookup by name, in this table
    table.schedule("instance:VI_1", "advert", { type: "ADVERT" }, 3_000, foreign);
    expect(table.get("instance:VI_1", "advert")?.dueUs).toBe(3_000);
    expect(other.list()).toEqual([]);
    expect(table.list()).toEqual([{ key: "instance:VI_1 advert", dueUs: 3_000 }]);
    clock.advanceBy(5_000);
    expect(fired).toEqual(["instance:VI_1 advert 3000"]);
  });
});

describe("TimerTable on the real clock", () => {
  it("re-arming a down timer later on every advert keeps one clock timer and fires once, when due", () => {
    const host = new ScriptedHost();
    const clock = new CountingRealClock(host);
    const fired: Array<[string, number]> = [];
    const table = new TimerTable(clock, true, (_atUs, { input: { actor, id } }) => {
      fired.push([`${actor} ${id}`, host.nowUs()]);
      table.take(actor, id);
    });
    table.register("instance:VI_1");
    // 1,000 adverts 1 ms apart, each restarting a 3.609375 s down timer.
    for (let i = 0; i < 1000; i++) {
      host.advance(i * 1000);
      table.schedule("instance:VI_1", "masterDown", { type: "MASTER_DOWN" }, 3_609_375);
    }
    expect(clock.armed).toBe(1);
    const dueUs = 999_000 + 3_609_375;
    expect(table.get("instance:VI_1", "masterDown")?.dueUs).toBe(dueUs);
    host.advance(dueUs - 1);
    expect(fired).toEqual([]);
    host.advance(dueUs + 5_000);
    // Once, not before due, within the host's millisecond timer resolution.
    expect(fired.map(([k]) => k)).toEqual(["instance:VI_1 masterDown"]);
    expect(fired[0]?.[1]).toBeGreaterThanOrEqual(dueUs);
    expect(fired[0]?.[1]).toBeLessThan(dueUs + 1000);
    // Moved in place: one clock timer in all for 1,000 re-arms.
    expect(clock.armed).toBe(1);
  });

  it("an earlier re-arm and a cancel take effect at once", () => {
    const host = new ScriptedHost();
    const clock = new RealClock(host);
    const fired: number[] = [];
    const table = new TimerTable(clock, true, (_atUs, { input: { actor, id } }) => {
      fired.push(host.nowUs());
      table.take(actor, id);
    });
    table.register("a");
    table.schedule("a", "t", { type: "X" }, 10_000);
    table.schedule("a", "t", { type: "X" }, 2_000); // earlier: must fire at 2 ms
    host.advance(50_000);
    expect(fired).toEqual([2_000]);
    table.schedule("a", "t", { type: "X" }, 1_000);
    table.schedule("a", "t", { type: "X" }, 5_000); // later, moved in place
    table.cancel("a", "t");
    host.advance(100_000);
    expect(fired).toEqual([2_000]);
  });

  it("250 down timers restarted by their adverts wake the process only when the earliest could be due", () => {
    const host = new ScriptedHost();
    host.msLoop = true;
    const clock = new RealClock(host);
    const fired: Array<[string, number]> = [];
    const table = new TimerTable(clock, true, (_atUs, { input: { actor, id } }) => {
      fired.push([actor, host.nowUs()]);
      table.take(actor, id);
    });
    const n = 250;
    for (let i = 0; i < n; i++) table.register(`instance:VI_${i}`);
    // 30 s of adverts: instance i's every second at i × 4 ms into it, each restarting its down timer.
    const lastAdvertUs: number[] = [];
    for (let sec = 0; sec < 30; sec++)
      for (let i = 0; i < n; i++) {
        const atUs = sec * 1_000_000 + i * 4_000 + 100;
        host.advance(atUs);
        host.turnStartUs = atUs - 100;
        table.schedule(`instance:VI_${i}`, "masterDown", { type: "MASTER_DOWN" }, 3_609_375);
        lastAdvertUs[i] = atUs;
      }
    expect(fired).toEqual([]);
    // A lazily kept wake-up per instance per down interval would be ≈ 250 × 30 / 3.6 ≈ 2,000 here.
    expect(host.timerWakeups).toBeLessThanOrEqual(30);
    // Then silence: every instance's down timer fires once, on time, in due order.
    host.advance(40_000_000);
    expect(fired.map(([a]) => a)).toEqual(Array.from({ length: n }, (_, i) => `instance:VI_${i}`));
    for (const [a, at] of fired) {
      const dueUs = (lastAdvertUs[Number(a.slice("instance:VI_".length))] ?? 0) + 3_609_375;
      expect([a, at - dueUs >= 0 && at - dueUs <= host.turnUs]).toEqual([a, true]);
    }
  });

  it("random arms, moves, cancels and waits: each arming fires once, at or after its last due time, in (due, arming) order", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ arm: fc.integer({ min: 0, max: 20_000 }), precise: fc.boolean() }),
            fc.record({ move: fc.nat(), delayUs: fc.integer({ min: 0, max: 20_000 }) }),
            fc.record({ cancel: fc.nat() }),
            fc.record({ waitUs: fc.integer({ min: 0, max: 6_000 }) }),
          ),
          { maxLength: 80 },
        ),
        fc.boolean(),
        (ops, msLoop) => {
          const host = new ScriptedHost();
          host.msLoop = msLoop;
          const clock = new RealClock(host);
          type Model = {
            handle: TimerHandle;
            order: number;
            state: "pending" | "fired" | "cancelled";
            arms: number;
          };
          const timers: Model[] = [];
          const fired: Array<{ id: number; atUs: number; dueUs: number; order: number }> = [];
          let order = 0;
          for (const op of ops) {
            if ("arm" in op) {
              const id = timers.length;
              const handle = clock.setTimerUs(
                () => {
                  const t = timers[id] as Model;
                  fired.push({ id, atUs: host.nowUs(), dueUs: handle.dueUs, order: t.order });
                  t.state = "fired";
                },
                op.arm,
                { precise: op.precise },
              );
              timers.push({ handle, order: order++, state: "pending", arms: 1 });
            } else if ("move" in op) {
              const t = timers[op.move % Math.max(1, timers.length)];
              if (t === undefined) continue;
              // a pending timer moves; one that fired is armed again (the same handle); a cancelled one stays so
              const movable = t.state !== "cancelled";
              expect(clock.moveTimerToUs(t.handle, host.nowUs() + op.delayUs)).toBe(movable);
              if (!movable) continue;
              if (t.state === "fired") t.arms++;
              t.state = "pending";
              t.order = order++;
            } else if ("cancel" in op) {
              const t = timers[op.cancel % Math.max(1, timers.length)];
              if (t === undefined) continue;
              t.handle.cancel();
              // (a cancel after it fired does nothing)
              if (t.state === "pending") t.state = "cancelled";
            } else host.advance(host.nowUs() + op.waitUs);
          }
          host.advance(host.nowUs() + 100_000);
          // Each arming fires once, but a cancelled one.
          for (const [id, t] of timers.entries()) {
            expect(t.state).not.toBe("pending");
            const n = fired.filter((f) => f.id === id).length;
            expect([id, n]).toEqual([id, t.arms - (t.state === "cancelled" ? 1 : 0)]);
          }
          for (const f of fired) expect(f.atUs).toBeGreaterThanOrEqual(f.dueUs);
          // (due, arming) order, as the virtual clock would fire them.
          for (let k = 1; k < fired.length; k++) {
            const [a, b] = [fired[k - 1], fired[k]] as [(typeof fired)[0], (typeof fired)[0]];
            expect(a.dueUs < b.dueUs || (a.dueUs === b.dueUs && a.order < b.order)).toBe(true);
          }
          expect(clock.pending).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a repeating timer re-arms the clock timer that fired: one clock timer for all its periods", () => {
    const host = new ScriptedHost();
    const clock = new CountingRealClock(host);
    const at: number[] = [];
    const table: TimerTable = new TimerTable(clock, true, (atUs, { input: { actor, id } }) => {
      at.push(atUs);
      expect(table.take(actor, id)).toEqual({ type: "tick" });
      table.schedule(actor, id, { type: "tick" }, 100_000);
    });
    table.register("VI_1");
    table.schedule("VI_1", "advert", { type: "tick" }, 100_000);
    host.advance(1_050_000);
    expect(at).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => k * 100_000));
    expect(clock.armed).toBe(1);
    expect(clock.pending).toBe(1);
    table.cancel("VI_1", "advert");
    expect(clock.pending).toBe(0);
  });

  it("on the virtual clock every re-arm is a fresh (due, seq) arming", () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    const table = new TimerTable(clock, true, (_atUs, { input: { actor, id } }) => {
      order.push(`${actor}/${id}`);
      table.take(actor, id);
    });
    table.register("a");
    table.register("b");
    table.schedule("a", "t", { type: "X" }, 1_000);
    table.schedule("b", "t", { type: "X" }, 2_000);
    clock.advanceBy(1_000 - 1);
    table.schedule("a", "t", { type: "X" }, 1_001); // re-armed later: now due with b, armed after b
    clock.advanceBy(10_000);
    expect(order).toEqual(["b/t", "a/t"]);
  });
});

describe("a Node's down timer on the real clock", () => {
  it("is rehearsed once in its last stretch, the firing takes the rehearsed step, and the journal replays exactly", () => {
    const host = new ScriptedHost().sleeps(50);
    host.msLoop = true;
    const journal = new MemoryJournal();
    const spec = {
      instances: [
        instanceDefaults({ name: "VI_1", vrid: 51, ownIp: "198.18.0.2", vips: ["198.18.4.51"] }),
      ].map((params) => ({ params, tracking: [], unicastPeers: [] })),
      groups: [],
      trackers: [],
    };
    const steps = vi.spyOn(MachineDriver.prototype, "step");
    try {
      const node = new Node(spec, {
        clock: new RealClock(host),
        ports: nullPorts(),
        journal,
        configHash: "t",
        vigilVersion: "t",
      });
      node.start();
      host.advance(5_000_000);
      const downType = "MASTER_DOWN";
      // XState ran the down timer's step once, in the rehearsal; the firing took that step
      const downSteps = steps.mock.calls.filter(([, e]) => e.type === downType);
      expect(downSteps).toHaveLength(1);
      expect(journal.text()).toContain("Entering MASTER STATE");
    } finally {
      steps.mockRestore();
    }
    const parsed = parseJournal(journal.text());
    if (!parsed.ok) throw new Error(parsed.error.message);
    const r = replayJournal(parsed.header, parsed.lines);
    expect(r.mismatches).toEqual([]);
    expect(r.journal.text()).toBe(journal.text());
  });
});
