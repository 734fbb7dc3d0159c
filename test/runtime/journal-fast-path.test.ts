/**
 * The journal's hot-path shortcuts write exactly what the plain path writes:
 * - `InputTexts` (the node's memo of rx input texts, keyed by the datagram, and of timer input texts)
 *   returns `inputText(i)` for every input, also when the same datagram comes back with other facts
 *   (src, TTL, interface…);
 * - `FileJournal.appendIn(seq, atUs, text)` writes the same segment bytes as
 *   `append(inLineOf(seq, atUs, text))`, for random sequences of repeated and new inputs with and
 *   without `out` lines;
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
import { InputTexts, inLineOf, inputText } from "../../src/runtime/input-text.ts";
import { FileJournal } from "../../src/runtime/journal.ts";
import { Node } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
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

describe("FileJournal.appendIn ≡ append(inLineOf(…))", () => {
  test("identical segment bytes for random input/output sequences (fast-check)", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-fast-"));
    const header = JSON.stringify({ t: "header", vigil: "t", configHash: "", spec: { instances: [] } });
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
          const files = ["plain", "fast"].map((kind) => {
            const path = join(dir, `${kind}-${run}.jsonl`);
            const j = new FileJournal(path, { sync: false, flushLines: 16 });
            j.append(header);
            let seq = 0;
            let atUs = 0;
            for (const s of steps) {
              seq++;
              atUs += s.dtUs;
              const text = inputText(s.input);
              if (kind === "fast") j.appendIn(seq, atUs, text);
              else j.append(inLineOf(seq, atUs, text));
              if (s.out !== undefined) j.append(`{"t":"out","seq":${seq},"out":${s.out}}`);
              if (s.flush) j.flush();
            }
            j.close();
            return readFileSync(path, "utf8");
          });
          expect(files[1]).toBe(files[0]);
        }),
        { numRuns: 200 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
