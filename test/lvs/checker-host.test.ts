/**
 * The checker host on the VirtualClock: timers fire at their exact virtual times (1 s bootstrap,
 * delay_loop, delay_before_retry, connect_timeout), a probe port that never answers is cancelled by
 * the timeout, a synchronous answer waits for the end of the step, IPVS operations leave as one
 * batch per step; every input is recorded in the journal form (`kind: "check"`, schema-checked),
 * and replaying the record into a fresh host gives the same decisions, byte for byte.
 */
import { describe, expect, test } from "vitest";
import type { ProbeResult } from "../../machines/checker.machine.ts";
import { decodeCheckInput } from "../../src/lvs/check-input.ts";
import {
  CheckerHost,
  type CheckInput,
  type LvsHostPorts,
  type ProbeRequest,
} from "../../src/lvs/checker-host.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { rs, tcp, vs } from "./support.ts";

/** Ports that write down what they were asked; probes answered by `answer` after `delayUs` (or never). */
function recordingPorts(
  clock: VirtualClock,
  answer: (req: ProbeRequest, n: number) => { result: ProbeResult; delayUs: number } | "never" | "sync",
) {
  const out: string[] = [];
  let n = 0;
  let cancels = 0;
  const ports: LvsHostPorts = {
    probe: (req, done) => {
      const a = answer(req, n++);
      out.push(`${clock.nowUs()} probe ${req.rs}.${req.checker}`);
      if (a === "never") return () => void cancels++;
      if (a === "sync") {
        done({ ok: true });
        return () => {};
      }
      const h = clock.setTimerUs(() => done(a.result), a.delayUs);
      return () => {
        cancels++;
        h.cancel();
      };
    },
    ipvs: (_vs, ops) =>
      out.push(
        `${clock.nowUs()} ipvs ${ops.map((o) => ("rs" in o ? `${o.op}:${o.rs}:${o.weight}` : o.op)).join(",")}`,
      ),
    notify: (_vs, c) => out.push(`${clock.nowUs()} notify ${c.script}`),
    fifo: (l) => out.push(`${clock.nowUs()} fifo ${l}`),
    log: (l) => out.push(`${clock.nowUs()} log ${l}`),
  };
  return { ports, out, cancels: () => cancels };
}

describe("CheckerHost on the VirtualClock", () => {
  test("exact times: bootstrap, retries, timeout; one IPVS batch per step", () => {
    const clock = new VirtualClock();
    const spec = vs({ realServers: [rs(1, { checkers: [tcp({ retry: 1 })] })] });
    // probes: ok, ok, then one that never answers, then failures in 0.5 s
    const p = recordingPorts(clock, (_r, n) =>
      n < 2
        ? { result: { ok: true }, delayUs: 1000 }
        : n === 2
          ? "never"
          : { result: { ok: false }, delayUs: 500_000 },
    );
    const host = new CheckerHost([spec], clock, p.ports);
    host.start();
    clock.advanceTo(30_000_000);
    expect(p.out).toEqual([
      "0 ipvs addService,addDest:0:1",
      "0 log Gained quorum 1+0=1 <= 1 for VS [198.18.0.100]:tcp:80",
      "0 fifo VS [198.18.0.100]:tcp:80 UP",
      "0 log Activating healthchecker for service [198.18.0.11]:tcp:80 for VS [198.18.0.100]:tcp:80",
      "1000000 probe 0.0",
      "1001000 log TCP connection to [198.18.0.11]:tcp:80 success.",
      "7001000 probe 0.0",
      "13002000 probe 0.0", // never answers: connect_timeout 3 s, then a retry 1 s later
      "17002000 probe 0.0",
      "17502000 log TCP_CHECK on service [198.18.0.11]:tcp:80 failed after 1 retries.",
      "17502000 log Removing service [198.18.0.11]:tcp:80 from VS [198.18.0.100]:tcp:80",
      "17502000 ipvs delDest:0:1",
      "17502000 fifo RS [198.18.0.11]:tcp:80 [198.18.0.100]:tcp:80 DOWN",
      "17502000 log Lost quorum 1-0=1 > 0 for VS [198.18.0.100]:tcp:80",
      "17502000 fifo VS [198.18.0.100]:tcp:80 DOWN",
      "23502000 probe 0.0",
      "25002000 probe 0.0", // down, yet keepalived still retries a failure at delay_before_retry
    ]);
    expect(p.cancels()).toBe(1);
    clock.advanceTo(31_600_000); // the probe of 31 502 000 is in flight
    expect(p.out.at(-1)).toBe("31502000 probe 0.0");
    host.stop();
    expect(host.timersPending).toBe(0);
    expect(host.probesInFlight).toBe(0);
    expect(p.cancels()).toBe(2); // the probe in flight at stop
  });

  test("a port that answers synchronously: the answer waits for the end of the launching step", () => {
    const clock = new VirtualClock();
    const p = recordingPorts(clock, () => "sync");
    const host = new CheckerHost([vs({ realServers: [rs(1)] })], clock, p.ports);
    host.start();
    clock.advanceTo(1_000_000);
    expect(p.out.slice(-2)).toEqual([
      "1000000 probe 0.0",
      "1000000 log TCP connection to [198.18.0.11]:tcp:80 success.",
    ]);
    expect(host.timersPending).toBe(1); // the next check only: no stray timeout timer
  });

  test("the recorded inputs pass the journal schema and replay to the same decisions", () => {
    const spec = vs({
      quorum: 2,
      sorry: { name: "[198.18.0.99]:tcp:80", weight: 1 },
      realServers: [
        rs(1, { inhibit: true }),
        rs(2, { checkers: [tcp({ retry: 2 }), tcp({ kind: "MISC_CHECK", miscDynamic: true, retry: 0 })] }),
      ],
    });
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    const clock = new VirtualClock();
    const live = recordingPorts(clock, () => {
      const r = rnd();
      return r % 5 === 0
        ? "never"
        : { result: { ok: r % 3 !== 0, exitStatus: r % 7 }, delayUs: (r % 900) * 1000 };
    });
    const journal: string[] = [];
    const host = new CheckerHost([spec], clock, live.ports, (i) =>
      journal.push(JSON.stringify({ kind: "check", ...i })),
    );
    host.start(() => [rnd(), rnd(), rnd()]);
    clock.advanceTo(600_000_000);
    host.stop();
    expect(journal.length).toBeGreaterThan(100);

    const decisions = (out: string[]) => out.filter((l) => !l.includes(" probe "));
    const replayClock = new VirtualClock();
    const replay = recordingPorts(replayClock, () => "never");
    const again = new CheckerHost([spec], replayClock, replay.ports);
    for (const line of journal) {
      const input = decodeCheckInput(JSON.parse(line));
      if (input instanceof Error) throw input;
      const { kind: _k, ...rest } = input;
      again.input(rest as CheckInput);
    }
    const strip = (out: string[]) => decisions(out).map((l) => l.replace(/^\d+ /, ""));
    expect(strip(replay.out)).toEqual(strip(live.out));
    expect(decodeCheckInput({ kind: "check", vs: 0, event: { type: "RESULT", atUs: 1 } })).toBeInstanceOf(
      Error,
    );
  });

  test("ports that throw never break a step: a probe that cannot start is a failed check", () => {
    const clock = new VirtualClock();
    const lines: string[] = [];
    const host = new CheckerHost([vs({ realServers: [rs(1), rs(2)] })], clock, {
      probe: () => {
        throw new Error("EMFILE");
      },
      ipvs: () => {
        throw new Error("ipvs down");
      },
      notify: () => {},
      fifo: () => {
        throw new Error("fifo gone");
      },
      log: (l) => lines.push(l),
    });
    expect(() => {
      host.start();
      clock.advanceTo(20_000_000);
    }).not.toThrow();
    expect(lines).toContain("Checker probe could not start: EMFILE");
    expect(lines).toContain("LVS effect failed: ipvs down");
    expect(lines).toContain("TCP_CHECK on service [198.18.0.11]:tcp:80 failed.");
    expect(lines).toContain("Removing service [198.18.0.11]:tcp:80 from VS [198.18.0.100]:tcp:80");
    expect(host.probesInFlight).toBe(0);
  });
});
