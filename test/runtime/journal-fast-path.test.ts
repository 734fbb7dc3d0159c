/**
 * The journal's hot-path shortcuts write exactly what the plain path writes:
 * - `decimal(n)` (the lines' numbers, kept out of V8's number-to-string cache) is `String(n)`, and
 *   the hand-written `in` / `out` lines are `JSON.stringify`'s;
 * - `InputTexts` (the node's memo of rx input texts, keyed by the datagram, and of timer input texts)
 *   returns `inputText(i)` for every input, also when the same datagram comes back with other facts
 *   (src, TTL, interface…);
 * - `FileJournal.appendIn(seq, atUs, text)` writes the same segment bytes as
 *   `append(inLineOf(seq, atUs, text))`, and `appendOut(seq, outputs, line)` as `append(line)`, for
 *   random sequences of repeated and new inputs with and without `out` lines (state changes among
 *   them), also given the node's dictionary hint (`RxMemo.dict`);
 * - the segment encoder's hint, right, stale or wrong, never changes a byte it writes: over long
 *   streams that fill and recycle the dictionary, with seq gaps and time going back (which define a
 *   text again while an older entry still holds it);
 * - `Node.pendingTimer(actor, id)` agrees with the full `timers()` listing.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { encodeAdvert } from "../../src/protocol/codec.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import type { Input } from "../../src/runtime/input.ts";
import { decimal, InputTexts, inLineOf, inputText } from "../../src/runtime/input-text.ts";
import { FileJournal } from "../../src/runtime/journal.ts";
import { Node } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import { Prng } from "../../src/runtime/prng.ts";
import { DICT_SIZE, outLineText, SegmentEncoder } from "../../src/runtime/segment-format.ts";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";

type Rx = Extract<Input, { kind: "rx" }>;
const rxArb: fc.Arbitrary<Rx> = fc
  .record({
    family: fc.constantFrom(4 as const, 6 as const),
    src: fc.constantFrom("198.18.0.2", "198.18.0.3", 'we"ird\\'),
    dst: fc.constantFrom("224.0.0.18", "224.0.0.19"),
    ttl: fc.constantFrom(255, 64),
    ttlObserved: fc.option(fc.boolean(), { nil: undefined }),
    ifname: fc.constantFrom("eth0", "eth1"),
    ifindex: fc.option(fc.constantFrom(2, 3), { nil: undefined }),
    ipPayloadLength: fc.option(fc.constantFrom(20, 24), { nil: undefined }),
    hex: fc.constantFrom("2101640101000000c6120064", "2102640101000000c6120064", "21"),
  })
  .map((r) => {
    const i: Record<string, unknown> = { kind: "rx" };
    for (const [k, v] of Object.entries(r)) if (v !== undefined) i[k] = v;
    // Schema key order (checkInput's output order).
    const order = [
      "kind",
      "family",
      "src",
      "dst",
      "ttl",
      "ttlObserved",
      "ifname",
      "ifindex",
      "ipPayloadLength",
      "hex",
    ];
    return Object.fromEntries(order.filter((k) => k in i).map((k) => [k, i[k]])) as Rx;
  });
const timerArb: fc.Arbitrary<Input> = fc.record({
  kind: fc.constant("timer" as const),
  actor: fc.oneof(fc.constantFrom("instance:VI_1", "instance:VI_2"), fc.string()),
  id: fc.oneof(fc.constantFrom("advert", "masterDown"), fc.string()),
});
const adminArb: fc.Arbitrary<Input> = fc.constant({ kind: "admin", command: "start" } as const);

describe("decimal ≡ String, and the hand-written lines ≡ JSON.stringify", () => {
  test("for any number, safe integers (seq, atUs) above all (fast-check)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeInteger(), fc.maxSafeNat(), fc.double(), fc.integer()), (n) => {
        expect(decimal(n)).toBe(String(n));
      }),
      { numRuns: 2_000 },
    );
    for (const n of [0, -0, 1, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 53, 1e21, 1.5, -1.5, Number.NaN, Infinity])
      expect(decimal(n)).toBe(String(n));
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.maxSafeNat(), (seq, atUs) => {
        const input = { kind: "timer", actor: "instance:VI_1", id: "advert" } as const;
        expect(inLineOf(seq, atUs, inputText(input))).toBe(
          JSON.stringify({ t: "in", ev: { seq, atUs, input } }),
        );
        expect(outLineText(seq, "[]")).toBe(JSON.stringify({ t: "out", seq, out: [] }));
      }),
    );
  });
});

describe("InputTexts ≡ inputText", () => {
  test("the memo never returns another input's text (fast-check, repeated datagrams with other facts)", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(rxArb, rxArb, timerArb), { maxLength: 60 }), (inputs) => {
        const texts = new InputTexts();
        for (const i of inputs) {
          expect(texts.text(i)).toBe(inputText(i));
          expect(inputText(i)).toBe(JSON.stringify(i));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("FileJournal.appendIn ≡ append(inLineOf(…)), appendOut ≡ append(out line), with or without the line", () => {
  test("identical segment bytes for random input/output sequences (fast-check)", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-fast-"));
    const header = JSON.stringify({
      t: "header",
      vigil: "t",
      configHash: "",
      spec: { instances: [], groups: [], trackers: [] },
    });
    const step = fc.record({
      input: fc.oneof(rxArb, timerArb, adminArb),
      dtUs: fc.constantFrom(0, 1, 1000, 1_000_000),
      out: fc.constantFrom(undefined, "[1]", "[2]", '[{"type":"state"}]'),
      flush: fc.boolean(),
    });
    let run = 0;
    try {
      fc.assert(
        fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
          run++;
          const files = ["plain", "fast", "hinted", "lineless"].map((kind) => {
            const path = join(dir, `${kind}-${run}.jsonl`);
            const j = new FileJournal(path, { sync: false, flushLines: 16 });
            j.append(header);
            const texts = new InputTexts();
            let seq = 0;
            let atUs = 0;
            for (const s of steps) {
              seq++;
              atUs += s.dtUs;
              const text = inputText(s.input);
              if (kind === "hinted" && s.input.kind === "rx") j.appendIn(seq, atUs, text, texts.rx(s.input));
              else if (kind !== "plain") j.appendIn(seq, atUs, text);
              else j.append(inLineOf(seq, atUs, text));
              if (s.out !== undefined) {
                const line = `{"t":"out","seq":${seq},"out":${s.out}}`;
                if (kind === "plain") j.append(line);
                else if (kind === "lineless") j.appendOut(seq, s.out);
                else j.appendOut(seq, s.out, line);
              }
              if (s.flush) j.flush();
            }
            j.close();
            return readFileSync(path, "utf8");
          });
          expect(files[1]).toBe(files[0]);
          expect(files[2]).toBe(files[0]);
          expect(files[3]).toBe(files[0]);
        }),
        { numRuns: 200 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("SegmentEncoder: the dictionary hint", () => {
  test("right, stale or wrong, it never changes a payload (fast-check; long streams recycle the dictionary)", () => {
    let recycled = 0;
    let hinted = 0;
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer(),
          pool: fc.constantFrom(3, 40, DICT_SIZE + 700),
          steps: fc.constantFrom(200, 3 * DICT_SIZE),
          gapPct: fc.constantFrom(0, 2, 20),
          wrongPct: fc.constantFrom(0, 5, 50),
        }),
        ({ seed, pool, steps, gapPct, wrongPct }) => {
          const rnd = new Prng(seed);
          const pick = (n: number): number => rnd.int(0, n - 1);
          const texts = Array.from({ length: pool }, (_, k) => `{"kind":"rx","hex":"${k.toString(16)}"}`);
          const hints = texts.map(() => ({ dict: -1 }));
          const plain = new SegmentEncoder();
          const withHint = new SegmentEncoder();
          plain.reset(0, 0);
          withHint.reset(0, 0);
          const a: string[] = [];
          const b: string[] = [];
          let seq = 0;
          let atUs = 0;
          for (let k = 0; k < steps; k++) {
            const gap = pick(100) < gapPct;
            seq += gap ? 2 : 1;
            atUs += gap && pick(2) === 0 ? -5 : pick(3) * 1000;
            const t = pick(pool);
            const hint = hints[t] as { dict: number };
            if (pick(100) < wrongPct) hint.dict = pick(DICT_SIZE + 2) - 1;
            if (hint.dict >= 0) hinted++;
            plain.encodeIn(seq, atUs, texts[t] as string, a);
            withHint.encodeIn(seq, atUs, texts[t] as string, b, undefined, hint);
            if (pick(4) === 0) {
              const out = `{"t":"out","seq":${seq},"out":[${pick(3)}]}`;
              plain.encode(out, a);
              withHint.encode(out, b);
            }
          }
          plain.drain(a);
          withHint.drain(b);
          expect(b).toEqual(a);
          if (steps > DICT_SIZE && pool > DICT_SIZE) recycled++;
        },
      ),
      { numRuns: 60 },
    );
    expect(recycled).toBeGreaterThan(0);
    expect(hinted).toBeGreaterThan(10_000);
  });
});

test("Node.pendingTimer agrees with the timers() listing", () => {
  const spec: NodeSpec = {
    instances: [1, 2, 3].map((v) => ({
      params: instanceDefaults({
        name: `VI_${v}`,
        vrid: v,
        ownIp: "198.18.0.1",
        basePriority: 100 + v,
        vips: [`198.18.1.${v}`],
      }),
      tracking: [],
      unicastPeers: [],
    })),
    groups: [],
    trackers: [],
  };
  const clock = new VirtualClock();
  const node = new Node(spec, { clock, ports: nullPorts() });
  node.start();
  const hex = Buffer.from(
    encodeAdvert({ version: 2, vrid: 1, priority: 200, advertIntervalCs: 100, addresses: ["198.18.1.1"] }, 4),
  ).toString("hex");
  for (let t = 0; t < 6; t++) {
    clock.advanceBy(700_000);
    if (t < 3)
      node.input({
        kind: "rx",
        family: 4,
        src: "198.18.0.9",
        dst: "224.0.0.18",
        ttl: 255,
        ifname: "eth0",
        hex,
      });
    const listed = node.timers();
    expect(listed.length).toBeGreaterThan(0);
    for (const { key, dueUs } of listed) {
      const [actor, id] = key.split(" ") as [string, string];
      expect(node.pendingTimer(actor, id)?.dueUs).toBe(dueUs);
    }
    for (const id of ["masterDown", "advert", "nope"])
      for (const actor of ["instance:VI_1", "instance:VI_2", "instance:NOPE"])
        expect(node.pendingTimer(actor, id) !== undefined).toBe(
          listed.some((x) => x.key === `${actor} ${id}`),
        );
  }
  node.close();
});
