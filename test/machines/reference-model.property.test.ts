/**
 * Property test: random event sequences (adverts at priority 0 / lower / equal from a lower or higher
 * address / higher, weight-0 tracker failures and recoveries, time passing) against a small reference
 * model of the rules written independently of the machine. fast-check shrinks any counterexample to
 * a minimal sequence.
 */
import fc from "fast-check";
import { expect, test } from "vitest";
import { Harness } from "./harness.ts";

type Step =
  | { kind: "wait"; us: number }
  | { kind: "advert"; priority: number; src: string }
  | { kind: "probe"; ok: boolean };

const OWN = "198.18.0.1";
const PRIO = 100;
const DOWN = 3_609_375;
const SKEW = 609_375;

/** The reference model: state and down-timer deadline; returns the (time, state) transitions. */
const model = (steps: readonly Step[]): Array<[number, string]> => {
  const out: Array<[number, string]> = [[0, "BACKUP"]];
  let state = "BACKUP";
  let deadline = DOWN;
  let now = 0;
  const go = (t: number, s: string) => {
    state = s;
    out.push([t, s]);
  };
  const until = (t: number) => {
    if (state === "BACKUP" && deadline <= t) go(deadline, "MASTER");
    now = t;
  };
  for (const s of steps) {
    if (s.kind === "wait") until(now + s.us);
    else if (s.kind === "probe") {
      if (!s.ok && state !== "FAULT") go(now, "FAULT");
      else if (s.ok && state === "FAULT") {
        go(now, "BACKUP");
        deadline = now + DOWN;
      }
    } else if (state === "BACKUP") {
      if (s.priority === 0) deadline = now + SKEW;
      else if (s.priority >= PRIO) deadline = now + DOWN;
    } else if (state === "MASTER") {
      const higher = s.priority > PRIO || (s.priority === PRIO && s.src > OWN);
      if (s.priority !== 0 && higher) {
        go(now, "BACKUP");
        deadline = now + DOWN;
      }
    }
  }
  return out;
};

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("wait" as const), us: fc.integer({ min: 0, max: 5_000_000 }) }),
  fc.record({
    kind: fc.constant("advert" as const),
    priority: fc.constantFrom(0, 50, 100, 150),
    src: fc.constantFrom("198.18.0.0", "198.18.0.2"),
  }),
  fc.record({ kind: fc.constant("probe" as const), ok: fc.boolean() }),
);

const system = (steps: readonly Step[]): Array<[number, string]> => {
  const base = Harness.single().spec.instances[0];
  if (base === undefined) throw new Error("no instance");
  const h = new Harness({
    instances: [{ ...base, tracking: [{ tracker: "chk", weight: 0, reverse: false }] }],
    groups: [],
    trackers: [{ name: "chk", kind: "script", rise: 1, fall: 1, initFail: false }],
  });
  h.start().probe("chk", true);
  let now = 0;
  for (const s of steps) {
    if (s.kind === "wait") {
      now += s.us;
      h.at(now);
    } else if (s.kind === "probe") h.probe("chk", s.ok);
    else h.advert(s.src, s.priority);
  }
  return h.states();
};

test("the instance machine agrees with the reference model on random sequences", () => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
      expect(system(steps)).toEqual(model(steps));
    }),
    { numRuns: 300, seed: 4242 },
  );
});
