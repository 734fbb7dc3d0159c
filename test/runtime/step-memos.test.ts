/**
 * The node's per-step memos change no byte: a fired timer's memo (its input, journal text, dictionary
 * hint, table entry and actor: timer-table.ts `TimerMemo`), the `out` line's text remembered on a
 * reused fixpoint (actor-registry.ts `outText`), and an instance's stats, spec and advert template
 * kept on its actor (node.ts, advert-out.ts `TemplateSlot`). Over random runs with reloads (a changed
 * priority, an added instance, a removed one), a live node — every memo in use — writes the same
 * journal, byte for byte, and sends the same datagrams as the same run with the fixpoint memo off (so
 * no `out` text is ever reused); and replaying that journal (recorded timers applied by name, no timer
 * memo) reproduces every line. And a timer table answers `takeFired` exactly as `take` over random
 * arm / cancel / shift / fire / close sequences.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { fleetSpec } from "../../bench/fleet.ts";
import { ActorRegistry } from "../../src/runtime/actor-registry.ts";
import { AdvertOut, type TemplateSlot } from "../../src/runtime/advert-out.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import type { Input } from "../../src/runtime/input.ts";
import { parseJournal } from "../../src/runtime/journal.ts";
import { replayJournal } from "../../src/runtime/replay.ts";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";
import { type TimerMemo, TimerTable } from "../../src/runtime/timer-table.ts";
import { make, play, S, type Step, specArb, stepArb } from "../support/node-runs.ts";

/** sha256 over a journal's `out` lines one by one, as `Node.outputHash` defines it. */
const outHash = (lines: readonly string[]): string => {
  const h = createHash("sha256");
  for (const l of lines) if (l.startsWith('{"t":"out"')) h.update(l);
  return h.digest("hex");
};

/** A reload of `spec` changed one way: VI_1's priority, an instance added, or the last one removed. */
const reloadArb = (spec: NodeSpec): fc.Arbitrary<Step> =>
  fc.constantFrom("priority", "add", "remove").map((how) => {
    const instances = [...spec.instances];
    const first = instances[0];
    const last = instances.at(-1);
    if (how === "priority" && first !== undefined)
      instances[0] = {
        ...first,
        params: { ...first.params, basePriority: first.params.basePriority === 100 ? 180 : 100 },
      };
    else if (how === "add")
      instances.push({
        params: instanceDefaults({ name: "VI_9", vrid: 9, ownIp: "198.18.0.1", vips: ["198.18.1.99"] }),
        tracking: [],
        unicastPeers: [],
      });
    else if (
      how === "remove" &&
      last !== undefined &&
      last.params.syncGroup === undefined &&
      instances.length > 1
    )
      instances.pop();
    const next: NodeSpec = { ...spec, instances };
    return { input: { kind: "reload", spec: next, configHash: `r-${how}` } as Input };
  });

const runArb = specArb.chain((spec) =>
  fc.record({
    spec: fc.constant(spec),
    steps: fc.array(
      fc.oneof({ weight: 9, arbitrary: stepArb(spec) }, { weight: 1, arbitrary: reloadArb(spec) }),
      { minLength: 20, maxLength: 80 },
    ),
  }),
);

describe("the node's step memos", () => {
  test("a live run writes the journal of a run without reused out text, and replays line for line", () => {
    let hits = 0;
    let timers = 0;
    let reloads = 0;
    fc.assert(
      fc.property(runArb, ({ spec, steps }) => {
        const all: Step[] = [{ input: { kind: "admin", command: "start" } }, ...steps, { advanceUs: 30 * S }];
        const a = make(spec, new VirtualClock());
        play(a, all);
        const b = make(spec, new VirtualClock(), undefined, { memoizeFixpoints: false });
        play(b, all);
        hits += a.node.fixpointHits;
        expect(b.node.fixpointHits).toBe(0);
        expect(a.journal.lines).toEqual(b.journal.lines);
        expect(a.sent).toEqual(b.sent);
        expect(a.node.outputHash()).toBe(b.node.outputHash());
        expect(a.node.outputHash()).toBe(outHash(a.journal.lines));
        // the daemon's node keeps no output hash: the same journal, and asking for the hash says so
        const c = make(spec, new VirtualClock(), undefined, { hashOutputs: false });
        play(c, all);
        expect(c.journal.lines).toEqual(a.journal.lines);
        expect(() => c.node.outputHash()).toThrow(/keeps no output hash/);
        const text = a.journal.text();
        timers += text.split('"kind":"timer"').length - 1;
        reloads += text.split('"kind":"reload"').length - 1;
        const parsed = parseJournal(text);
        if (!parsed.ok) throw new Error(parsed.error.message);
        const r = replayJournal(parsed.header, parsed.lines);
        expect(r.mismatches).toEqual([]);
        expect(r.journal.text()).toBe(text);
      }),
      { numRuns: 120, seed: 20261130 },
    );
    // The memos' own paths were taken: steps reused, timers fired, parts replaced by reloads.
    expect(hits).toBeGreaterThan(1000);
    expect(timers).toBeGreaterThan(1500);
    expect(reloads).toBeGreaterThan(200);
  });
});

type Op =
  | { op: "arm"; actor: number; id: number; delayUs: number }
  | { op: "cancel"; actor: number; id: number }
  | { op: "shift"; actor: number; id: number; deltaUs: number }
  | { op: "take"; actor: number; id: number }
  | { op: "advance"; us: number }
  | { op: "close" };

const ACTORS = ["instance:A", "instance:B", "vs:X"];
const IDS = ["advert", "masterDown", "garpDelay"];
const ix = fc.integer({ min: 0, max: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("arm" as const),
      actor: ix,
      id: ix,
      delayUs: fc.integer({ min: 0, max: 3000 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("cancel" as const), actor: ix, id: ix }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("shift" as const),
      actor: ix,
      id: ix,
      deltaUs: fc.integer({ min: -2000, max: 2000 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("take" as const), actor: ix, id: ix }) },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant("advance" as const), us: fc.integer({ min: 0, max: 2000 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "close" as const }) },
);

describe("the output hash", () => {
  test("hashes out lines in batches to the digest of the lines one by one, also when asked midway", () => {
    const spec = fleetSpec(40);
    const r = make(spec, new VirtualClock());
    r.node.start();
    const seen: string[] = [];
    for (let t = 1; t <= 60; t++) {
      r.clock.advanceBy(S);
      if (t % 7 === 0) seen.push(r.node.outputHash()); // part of a batch, then more lines
      if (t % 7 === 0) expect(seen.at(-1)).toBe(outHash(r.journal.lines));
    }
    const outChars = r.journal.lines.filter((l) => l.startsWith('{"t":"out"')).join("").length;
    expect(outChars).toBeGreaterThan(100_000); // several batches
    expect(r.node.outputHash()).toBe(outHash(r.journal.lines));
  });
});

describe("TimerTable.takeFired", () => {
  test("answers as take by name, for its own memos and for another table's", () => {
    let byMemo = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 40, maxLength: 160 }), (ops) => {
        // Two tables on two clocks, fed alike; fired timers are taken by memo in one, by name in the other.
        const got: string[][] = [[], []];
        const fired = [0, 0];
        const pool: TimerMemo[] = [];
        const tables = [0, 1].map((k) => {
          const clock = new VirtualClock();
          const table: TimerTable = new TimerTable(clock, true, (atUs, memo) => {
            const { actor, id } = memo.input;
            const n = (fired[k] ?? 0) + 1;
            fired[k] = n;
            pool.push(memo);
            // Every third firing offers an earlier memo — this table's (maybe from before a close) or
            // the other table's: takeFired must answer as take all the same.
            const m = k === 0 ? (n % 3 === 2 ? pool[n % pool.length] : memo) : undefined;
            // Every fifth, the timer is taken by name first: the memo then finds it taken.
            if (n % 5 === 4) got[k]?.push(`first ${table.take(actor, id)?.type}`);
            const ev =
              m !== undefined && m.input.actor === actor && m.input.id === id
                ? table.takeFired(m)
                : table.take(actor, id);
            if (m !== undefined && m.owner === table) byMemo++;
            got[k]?.push(`${atUs} ${actor} ${id} ${ev?.type}`);
          });
          for (const a of ACTORS) table.register(a);
          return { clock, table };
        });
        for (const o of ops)
          for (const [k, { clock, table }] of tables.entries()) {
            const a = ACTORS[o.op === "advance" || o.op === "close" ? 0 : o.actor] ?? "";
            const id = IDS[o.op === "advance" || o.op === "close" ? 0 : o.id] ?? "";
            if (o.op === "arm") {
              table.schedule(a, id, { type: `${id}@${o.delayUs}` }, o.delayUs);
              // an armed timer is listed (pending until the clock moves), also after a close
              expect(table.list().some((t) => t.key === `${a} ${id}`)).toBe(true);
            } else if (o.op === "cancel") table.cancel(a, id);
            else if (o.op === "shift") got[k]?.push(`shift ${table.shift(a, id, o.deltaUs)}`);
            else if (o.op === "take") got[k]?.push(`take ${table.take(a, id)?.type}`);
            else if (o.op === "advance") clock.advanceBy(o.us);
            else table.close();
            got[k]?.push(JSON.stringify(table.list()));
          }
        expect(got[0]).toEqual(got[1]);
      }),
      { numRuns: 300, seed: 1130 },
    );
    expect(byMemo).toBeGreaterThan(1000);
  });
});

describe("the out text remembered on a fixpoint", () => {
  test("is reused for the same message objects only", () => {
    const spec: NodeSpec = {
      instances: [
        {
          params: instanceDefaults({ name: "VI_1", vrid: 1, ownIp: "198.18.0.1", vips: ["198.18.1.1"] }),
          tracking: [],
          unicastPeers: [],
        },
      ],
      groups: [],
      trackers: [],
    };
    const reg = new ActorRegistry(spec, true, () => {});
    const actor = reg.instance("VI_1");
    if (actor === undefined) throw new Error("no actor");
    const noop = { type: "NOT_AN_EVENT" };
    reg.step(actor, noop, []); // leaves the snapshot: remembered as a fixpoint
    const m1 = { type: "log", line: "one" };
    const same = { type: "log", line: "one" };
    const m2 = { type: "log", line: "two" };
    // no step reused yet: serialised afresh
    expect(reg.outText([m1])).toBe(JSON.stringify([m1]));
    reg.newInput();
    reg.step(actor, noop, []);
    expect(reg.fixpointHits).toBe(1);
    expect(reg.outText([m1])).toBe(JSON.stringify([m1]));
    expect(reg.outText([m1])).toBe(JSON.stringify([m1]));
    // equal text from other objects is equal anyway; other text from other objects is the new text
    expect(reg.outText([same])).toBe(JSON.stringify([same]));
    expect(reg.outText([m2])).toBe(JSON.stringify([m2]));
    expect(reg.outText([m1])).toBe(JSON.stringify([m1]));
    expect(reg.outText([m1, m2])).toBe(JSON.stringify([m1, m2]));
    expect(reg.outText([m2, m1])).toBe(JSON.stringify([m2, m1]));
    expect(reg.outText([m1])).toBe(JSON.stringify([m1]));
    // a new input without a reused step forgets it
    reg.newInput();
    expect(reg.outText([m2])).toBe(JSON.stringify([m2]));
  });
});

describe("an advert template kept in a caller's slot", () => {
  test("is used only by the AdvertOut that filled it", () => {
    const inst = (vips: string[], authPass?: string) => ({
      params: instanceDefaults({ name: "VI_1", vrid: 7, ownIp: "198.18.0.1", vips }),
      tracking: [],
      unicastPeers: [],
      ...(authPass === undefined ? {} : { authPass }),
    });
    const a = inst(["198.18.1.1"]);
    const b = inst(["198.18.1.2", "198.18.1.3"], "secret");
    const slot: TemplateSlot = { templateOf: undefined, template: undefined };
    const bytes = (o: readonly { bytes: Uint8Array }[]) => o.map((x) => Buffer.from(x.bytes).toString("hex"));
    const outA = new AdvertOut();
    const outB = new AdvertOut();
    expect(bytes(outA.outbound(a, 100, slot))).toEqual(bytes(new AdvertOut().outbound(a, 100)));
    expect(slot.templateOf).toBe(outA);
    // another AdvertOut (a reload's codec) with another spec of the same name: its own template
    expect(bytes(outB.outbound(b, 100, slot))).toEqual(bytes(new AdvertOut().outbound(b, 100)));
    expect(bytes(outB.outbound(b, 150, slot))).toEqual(bytes(new AdvertOut().outbound(b, 150)));
    expect(bytes(outA.outbound(a, 150, slot))).toEqual(bytes(new AdvertOut().outbound(a, 150)));
  });
});
