/**
 * What a node tells its transport about adverts that may wait (transports/transport.ts `steady`,
 * `unsteady`, `readDeferred`; transports/steady-filter.ts), over random runs (adverts of random
 * priorities and sources, timers, probes, links, effect failures, VIP deletions, shutdown):
 * - the hints change no decision: the journal is the same, byte for byte, with or without them;
 * - an advert named steady is one whose repeat, applied next, emits nothing and changes no actor
 *   (so it may wait until anything else comes in) — and once an instance changes, its VRID is named
 *   unsteady before its adverts are named steady again;
 * - datagrams a transport holds back are applied before the next other input, in the order they
 *   came, each with its own arrival time.
 */
import fc from "fast-check";
import { Subject } from "rxjs";
import { describe, expect, test } from "vitest";
import { VirtualClock } from "../../src/runtime/clock.ts";
import type { Input } from "../../src/runtime/input.ts";
import type { Datagram, SteadyAdvert, Transport } from "../../transports/transport.ts";
import { make, play, runArb, S } from "../support/node-runs.ts";

type Rx = Extract<Input, { kind: "rx" }>;

/** A transport that records the node's hints (and can hold datagrams back for `readDeferred`). */
function hintingTransport() {
  const inbound = new Subject<Datagram>();
  const held: Datagram[] = [];
  const hints: Array<{ steady: SteadyAdvert } | { unsteady: number } | "all"> = [];
  const transport: Transport = {
    inbound$: inbound.asObservable(),
    send: () => {},
    close: () => {},
    steady: (a) => hints.push({ steady: a }),
    unsteady: (_ifname, _family, vrid) => hints.push({ unsteady: vrid }),
    unsteadyAll: () => hints.push("all"),
    readDeferred: () => {
      for (let d = held.shift(); d !== undefined; d = held.shift()) inbound.next(d);
    },
  };
  return { transport, inbound, held, hints };
}

const datagramOf = (rx: Rx, rxAtUs: number): Datagram => ({
  bytes: Uint8Array.from(Buffer.from(rx.hex, "hex")),
  hex: rx.hex,
  family: rx.family,
  src: rx.src,
  dst: rx.dst,
  ttl: rx.ttl,
  ifname: rx.ifname,
  rxAtUs,
});

describe("a node's hints to its transport", () => {
  test("change no decision: the same journal with and without them", () => {
    fc.assert(
      fc.property(runArb, ({ spec, steps }) => {
        const plain = make(spec, new VirtualClock());
        const hinted = make(spec, new VirtualClock(), undefined, { transport: hintingTransport().transport });
        plain.node.start();
        hinted.node.start();
        play(plain, steps);
        play(hinted, steps);
        expect(hinted.journal.lines).toEqual(plain.journal.lines);
      }),
      { numRuns: 150 },
    );
  });

  test("name an advert steady only when its repeat does nothing, and unsteady once its instance changed", () => {
    let repeats = 0;
    fc.assert(
      fc.property(runArb, ({ spec, steps }) => {
        const t = hintingTransport();
        let outputs = 0;
        const r = make(spec, new VirtualClock(), undefined, {
          transport: t.transport,
          onApplied: (_ev, out) => {
            outputs += out.length;
          },
        });
        r.node.start();
        // each advert three times over (a master repeats itself): the later ones are what may be steady
        const repeated = steps.flatMap((s) => ("input" in s && s.input.kind === "rx" ? [s, s, s] : [s]));
        for (const s of repeated) {
          const before = t.hints.length;
          if ("advanceUs" in s) r.clock.advanceBy(s.advanceUs);
          else r.node.input(s.input);
          const last = t.hints.at(-1);
          if (t.hints.length > before && last !== undefined && last !== "all" && "steady" in last) {
            // its repeat, applied right away: nothing emitted, no actor changed (no unsteady)
            const states = spec.instances.map((i) => r.node.state(i.params.name));
            const prios = spec.instances.map((i) => r.node.priority(i.params.name));
            const seen = t.hints.length;
            repeats++;
            outputs = 0;
            r.node.input({ kind: "rx", ...last.steady } as Rx);
            expect(outputs).toBe(0);
            expect(spec.instances.map((i) => r.node.state(i.params.name))).toEqual(states);
            expect(spec.instances.map((i) => r.node.priority(i.params.name))).toEqual(prios);
            expect(t.hints.slice(seen).every((h) => h !== "all" && "steady" in h)).toBe(true);
          }
        }
      }),
      { numRuns: 150 },
    );
    expect(repeats).toBeGreaterThan(50); // the runs do reach steady adverts
  });

  test("a state change names the instance's VRID unsteady", () => {
    const { spec } = fc.sample(runArb, { numRuns: 1, seed: 7 })[0] ?? { spec: undefined };
    if (spec === undefined) throw new Error("no spec");
    const t = hintingTransport();
    const r = make(spec, new VirtualClock(), undefined, { transport: t.transport });
    r.node.start();
    const first = spec.instances[0]?.params;
    if (first === undefined) throw new Error("no instance");
    r.clock.advanceBy(10 * S); // no master heard: each instance takes over (or stays in FAULT)
    const states = spec.instances.map((i) => r.node.state(i.params.name));
    const unsteady = t.hints.flatMap((h) => (h !== "all" && "unsteady" in h ? [h.unsteady] : []));
    spec.instances.forEach((i, k) => {
      if (states[k] === "MASTER") expect(unsteady).toContain(i.params.vrid);
    });
  });

  test("held datagrams are applied before the next other input, in order, at their arrival times", () => {
    const { spec } = fc.sample(runArb, { numRuns: 1, seed: 11 })[0] ?? { spec: undefined };
    if (spec === undefined) throw new Error("no spec");
    const clock = new VirtualClock();
    const t = hintingTransport();
    const r = make(spec, clock, undefined, { transport: t.transport });
    r.node.start();
    const p = spec.instances[0]?.params;
    if (p === undefined) throw new Error("no instance");
    clock.advanceBy(S);
    // three datagrams arrive (held by the transport) 100, 200 and 300 ms from now …
    const base = clock.nowUs();
    const rxs = [1, 2, 3].map((k) => {
      const hex = Buffer.from([0x31, p.vrid, 10 * k, 0, 0, 100, 0, 0]).toString("hex");
      return {
        kind: "rx",
        family: 4,
        src: `198.18.0.${k + 1}`,
        dst: "224.0.0.18",
        ttl: 255,
        ifname: "eth0",
        hex,
      } as Rx;
    });
    for (const [k, rx] of rxs.entries()) t.held.push(datagramOf(rx, base + (k + 1) * 100_000));
    clock.advanceBy(400_000);
    // … and before a probe result is applied, they are, in order, with their own times
    const seqBefore = r.node.seq;
    r.node.input({ kind: "probe", tracker: "chk", ok: true });
    const ins = r.journal.lines
      .filter((l) => l.startsWith('{"t":"in"'))
      .map((l) => (JSON.parse(l) as { ev: { seq: number; atUs: number; input: Input } }).ev)
      .filter((ev) => ev.seq > seqBefore);
    expect(ins.map((ev) => ev.input.kind)).toEqual(["rx", "rx", "rx", "probe"]);
    expect(ins.slice(0, 3).map((ev) => (ev.input as Rx).src)).toEqual(rxs.map((x) => x.src));
    expect(ins.slice(0, 3).map((ev) => ev.atUs)).toEqual([1, 2, 3].map((k) => base + k * 100_000));
    expect(ins[3]?.atUs).toBe(clock.nowUs());
    expect(t.held).toHaveLength(0);
  });
});
