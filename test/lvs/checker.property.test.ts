/**
 * Random virtual servers (1–4 real servers; alpha, inhibit, retries, quorum, hysteresis, sorry server,
 * TCP/HTTP/MISC checkers, several checkers per server) driven by random interleavings of timer
 * firings and probe answers, checked against a model of the kernel's IPVS table: the machine never
 * adds what is there nor edits or deletes what is not; a real server is in the table exactly when
 * the machine says it is set; an alive server outside the table only while the sorry server stands
 * in; at stop the table is empty and nothing is left scheduled or in flight.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { CheckerSpec, LvsCommand } from "../../machines/checker.machine.ts";
import { Driver, IpvsTable, rs, tcp, vs } from "./support.ts";

const checkerArb = fc.record({
  kind: fc.constantFrom("TCP_CHECK", "HTTP_GET", "MISC_CHECK") as fc.Arbitrary<CheckerSpec["kind"]>,
  retry: fc.integer({ min: 0, max: 3 }),
  alpha: fc.boolean(),
  miscDynamic: fc.boolean(),
  urls: fc.integer({ min: 1, max: 3 }),
});
const rsArb = fc.record({
  weight: fc.integer({ min: 0, max: 5 }),
  inhibit: fc.boolean(),
  checkers: fc.array(checkerArb, { minLength: 1, maxLength: 2 }),
});
const vsArb = fc.record({
  realServers: fc.array(rsArb, { minLength: 1, maxLength: 4 }),
  quorum: fc.integer({ min: 0, max: 8 }),
  hysteresis: fc.integer({ min: 0, max: 3 }),
  sorry: fc.boolean(),
  omega: fc.boolean(),
});
/** A move: which pending thing to act on, and the answer (ok, exit status, or a timeout). */
const moveArb = fc.record({
  pick: fc.nat(),
  ok: fc.boolean(),
  exit: fc.integer({ min: 0, max: 8 }),
  timeout: fc.boolean(),
});

describe("checker machine against the IPVS table", () => {
  test("random schedules keep the table consistent and stop leaves nothing behind", () => {
    fc.assert(
      fc.property(vsArb, fc.array(moveArb, { maxLength: 120 }), (g, moves) => {
        const spec = vs({
          quorum: g.quorum,
          hysteresis: g.hysteresis,
          omega: g.omega,
          sorry: g.sorry ? { name: "[198.18.0.99]:tcp:80", weight: 1 } : null,
          realServers: g.realServers.map((r, i) =>
            rs(i + 1, {
              weight: r.weight,
              inhibit: r.inhibit,
              checkers: r.checkers.map((c) =>
                tcp({
                  kind: c.kind,
                  retry: c.retry,
                  alpha: c.alpha,
                  miscDynamic: c.miscDynamic,
                  urls: Array.from({ length: c.urls }, (_, u) => ({ path: `/${u}`, hasDigest: u === 1 })),
                }),
              ),
            }),
          ),
        });
        const d = new Driver(spec);
        const table = new IpvsTable();
        const timers = new Map<string, number>();
        const probes = new Map<string, number>();
        let now = 0;
        const apply = (cs: readonly LvsCommand[]): void => {
          table.apply(cs);
          for (const c of cs) {
            if (c.type === "setTimer") timers.set(c.id, now + c.delayUs);
            else if (c.type === "cancelTimer") timers.delete(c.id);
            else if (c.type === "probe") probes.set(`${c.rs}.${c.checker}`, c.seq);
            else if (c.type === "cancelProbe") probes.delete(`${c.rs}.${c.checker}`);
          }
          d.state.rs.forEach((r, i) => {
            expect(table.dests.has(i)).toBe(r.set);
            if (r.alive && !r.set && d.state.phase === "running")
              expect(d.state.sorryAlive && !d.state.quorumUp).toBe(true);
          });
          expect(table.dests.has(-1)).toBe(d.state.sorrySet);
        };
        apply(d.start(0));
        for (const m of moves) {
          const answerable = [...probes.entries()];
          if (answerable.length > 0 && (m.pick % 2 === 0 || timers.size === 0)) {
            const [key, seq] = answerable[m.pick % answerable.length] as [string, number];
            probes.delete(key);
            const [r, c] = key.split(".").map(Number) as [number, number];
            const result = m.timeout
              ? { ok: false, timedOut: true }
              : { ok: m.ok, exitStatus: m.ok ? m.exit : 1 };
            apply(d.step({ type: "RESULT", atUs: now, rs: r, checker: c, seq, result }));
          } else if (timers.size > 0) {
            const [id, due] = [...timers.entries()].sort((a, b) => a[1] - b[1])[0] as [string, number];
            timers.delete(id);
            now = Math.max(now, due);
            apply(d.timer(id, now));
          }
        }
        const stop = d.step({ type: "STOP", atUs: now });
        apply(stop);
        expect(table.service).toBe(false);
        expect(table.dests.size).toBe(0);
        expect(probes.size).toBe(0);
        expect(timers.size).toBe(0);
      }),
      { numRuns: 300, seed: 14 },
    );
  });
});
