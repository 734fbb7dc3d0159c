/**
 * The Node's hot-path shortcuts change nothing observable:
 * - `checkInput` (hand-written structural check of live inputs) accepts exactly what the `Input`
 *   schema accepts and returns the same value, and `inLine` writes the same bytes as JSON.stringify;
 * - the fixpoint memo (`memoizeFixpoints`) gives byte-identical journals to running XState for every
 *   event: on every conformance case, and on random advert/time sequences (fast-check).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Schema } from "effect";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { VirtualClock } from "../../src/runtime/clock.ts";
import {
  AddressInput,
  AdminInput,
  checkInput,
  decodeEvent,
  EffectInput,
  type Event,
  type Input,
  InvalidInputError,
  LinkInput,
  ProbeInput,
  RxInput,
  TimerInput,
} from "../../src/runtime/input.ts";
import { inLine } from "../../src/runtime/input-text.ts";
import { MemoryJournal, parseJournal } from "../../src/runtime/journal.ts";
import { Node } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";
import { runCase } from "../conformance/runner.ts";
import { peerAdvert } from "../support/adverts.ts";

const schemaDecode = (input: unknown): { ok: true; json: string } | { ok: false } => {
  try {
    return { ok: true, json: JSON.stringify(decodeEvent({ seq: 1, atUs: 2, input }).input) };
  } catch {
    return { ok: false };
  }
};
const fastCheck = (input: unknown): { ok: true; json: string } | { ok: false } => {
  try {
    return { ok: true, json: JSON.stringify(checkInput(input)) };
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    return { ok: false };
  }
};

/** One input of every kind with every optional field present. */
const full: Record<string, Record<string, unknown>> = {
  rx: {
    kind: "rx",
    family: 6,
    src: "fe80::1",
    dst: "ff02::12",
    ttl: 255,
    ttlObserved: false,
    ifname: "eth0",
    ifindex: 2,
    ipPayloadLength: 40,
    hex: "31",
  },
  timer: { kind: "timer", actor: "instance:VI_1", id: "preemptDelay" },
  probe: { kind: "probe", tracker: "chk", ok: false, exitStatus: 3, timedOut: true, value: -5, running: 2 },
  link: { kind: "link", ifname: "eth1", up: true },
  admin: { kind: "admin", command: "shutdown" },
  effect: {
    kind: "effect",
    actor: "vip:eth0",
    cmd: 3,
    op: "addVips",
    instance: "VI_1",
    target: "eth0",
    ok: false,
    code: "EPERM",
    detail: "Operation not permitted",
  },
  address: {
    kind: "address",
    ifname: "eth0",
    address: "198.18.0.100",
    prefixLength: 32,
    family: 4,
    present: false,
  },
};
const schemas = {
  rx: RxInput,
  timer: TimerInput,
  probe: ProbeInput,
  link: LinkInput,
  admin: AdminInput,
  effect: EffectInput,
  address: AddressInput,
};
const fieldNames = [...new Set(Object.values(schemas).flatMap((s) => Object.keys(s.fields)))];

const anyValue = fc.oneof(
  fc.string({ maxLength: 4 }),
  fc.integer({ min: -3, max: 300 }),
  fc.double(),
  fc.boolean(),
  fc.constant(undefined),
  fc.constant(null),
  fc.constantFrom(
    4,
    6,
    2 ** 53,
    "start",
    "shutdown",
    "rx",
    "timer",
    "probe",
    "link",
    "admin",
    "effect",
    "address",
  ),
  fc.constant({}),
);
/** A complete input of some kind, then maybe one field set to anything or deleted, or an extra key. */
const mutatedInput = fc
  .tuple(fc.constantFrom(...Object.keys(full)), fc.constantFrom(...fieldNames, "extra"), anyValue, fc.nat(3))
  .map(([kind, key, value, op]) => {
    const o: Record<string, unknown> = { ...full[kind] };
    if (op === 1) o[key] = value;
    if (op === 2) delete o[key];
    return o;
  });

describe("checkInput ≡ the Input schema", () => {
  test("the samples cover every field of every Input member, and both agree on them", () => {
    for (const [kind, schema] of Object.entries(schemas)) {
      const sample = full[kind] as Record<string, unknown>;
      expect(Object.keys(sample)).toEqual(Object.keys(schema.fields));
      expect(fastCheck(sample)).toEqual(schemaDecode(sample));
    }
  });

  test("same verdict and same value on mutated and arbitrary inputs (fast-check)", () => {
    fc.assert(
      fc.property(fc.oneof(mutatedInput, fc.anything()), (input) => {
        expect(fastCheck(input)).toEqual(schemaDecode(input));
      }),
      { numRuns: 3000 },
    );
  });

  test("inLine writes the bytes JSON.stringify writes", () => {
    fc.assert(
      fc.property(mutatedInput, fc.nat(), fc.nat(), (input, seq, atUs) => {
        const checked = fastCheck(input);
        if (!checked.ok) return;
        const ev: Event = { seq, atUs, input: checkInput(input) };
        expect(inLine(ev)).toBe(JSON.stringify({ t: "in", ev }));
      }),
      { numRuns: 2000 },
    );
    const odd: Event = {
      seq: 7,
      atUs: 0,
      input: { kind: "rx", family: 4, src: 'a"\\\u2028', dst: "\n", ttl: -0, ifname: "é", hex: "" },
    };
    expect(inLine(odd)).toBe(JSON.stringify({ t: "in", ev: odd }));
  });
});

/** Applies a journal's recorded inputs to a fresh Node; returns the journal it writes. */
const rerun = (text: string, memoizeFixpoints: boolean): { text: string; hits: number } => {
  const parsed = parseJournal(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const clock = new VirtualClock();
  const journal = new MemoryJournal();
  const node = new Node(parsed.header.spec as NodeSpec, {
    clock,
    ports: nullPorts(),
    journal,
    timerSource: "journal",
    configHash: parsed.header.configHash,
    vigilVersion: parsed.header.vigil,
    memoizeFixpoints,
  });
  for (const l of parsed.lines) {
    if (l.t !== "in") continue;
    clock.advanceTo(l.ev.atUs);
    node.applyRecorded(l.ev);
  }
  return { text: journal.text(), hits: node.fixpointHits };
};

describe("fixpoint memo ≡ XState on every event", () => {
  const caseRoot = join(import.meta.dirname, "..", "conformance", "cases");
  const cases = readdirSync(caseRoot).sort();

  test("every conformance case: the journal recorded with the memo replays byte for byte without it", () => {
    let hits = 0;
    for (const name of cases) {
      const text = runCase(join(caseRoot, name), false).journal.text();
      const off = rerun(text, false);
      expect(off.hits, name).toBe(0);
      expect(off.text, name).toBe(text);
      const on = rerun(text, true);
      expect(on.text, name).toBe(text);
      hits += on.hits;
    }
    expect(cases.length).toBeGreaterThanOrEqual(25);
    expect(hits).toBeGreaterThan(0);
  });

  const spec: NodeSpec = {
    instances: [
      instanceDefaults({ name: "A", vrid: 1, ownIp: "198.18.0.1", vips: ["198.18.4.1"] }),
      instanceDefaults({
        name: "B",
        vrid: 2,
        ownIp: "198.18.0.1",
        vips: ["198.18.4.2"],
        basePriority: 200,
        preemptDelayUs: 1_500_000,
      }),
      instanceDefaults({ name: "C", vrid: 3, ownIp: "198.18.0.1", vips: ["198.18.4.3"], nopreempt: true }),
    ].map((params) => ({ params, tracking: [], unicastPeers: [] })),
    groups: [],
    trackers: [],
  };
  const advert = (vrid: number, priority: number, src: string): Input =>
    peerAdvert(src, { version: 2, vrid, priority, advertIntervalCs: 100, addresses: [`198.18.4.${vrid}`] });
  const step = fc.record({
    gapUs: fc.constantFrom(0, 1, 1_000_000, 2_500_000, 4_000_000),
    vrid: fc.constantFrom(1, 2, 3),
    priority: fc.constantFrom(0, 50, 100, 150, 200, 255),
    src: fc.constantFrom("198.18.0.0", "198.18.0.2"),
  });
  const live = (
    steps: ReadonlyArray<typeof step extends fc.Arbitrary<infer T> ? T : never>,
    memo: boolean,
  ) => {
    const clock = new VirtualClock();
    const journal = new MemoryJournal();
    const node = new Node(spec, { clock, ports: nullPorts(), journal, memoizeFixpoints: memo });
    node.start();
    for (const s of steps) {
      clock.advanceBy(s.gapUs);
      node.input(advert(s.vrid, s.priority, s.src));
    }
    clock.advanceBy(10_000_000);
    node.shutdown();
    return { text: journal.text(), hits: node.fixpointHits, hash: node.outputHash() };
  };

  test("random advert sequences with live timers: identical journals and output hashes (fast-check)", () => {
    let hits = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const on = live(steps, true);
        const off = live(steps, false);
        expect(on.text).toBe(off.text);
        expect(on.hash).toBe(off.hash);
        hits += on.hits;
      }),
      { numRuns: 150 },
    );
    expect(hits).toBeGreaterThan(0);
  });
});

test("a malformed live input is refused before it is journaled", () => {
  const journal = new MemoryJournal();
  const node = new Node(
    { instances: [], groups: [], trackers: [] },
    { clock: new VirtualClock(), ports: nullPorts(), journal },
  );
  expect(() => node.input({ kind: "rx", family: 5 } as unknown as Input)).toThrow(InvalidInputError);
  expect(journal.lines).toHaveLength(1); // the header only
  expect(Schema.is(RxInput)({ kind: "rx" })).toBe(false);
});
