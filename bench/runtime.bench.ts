/**
 * Runtime benchmark: 1,000 VRRP instances in one Node on a VirtualClock. Measures input events per
 * second through the whole pipeline — queue → structural input check → journal `in` line (serialised)
 * → codec decode + validate + route → machine step (XState `machine.transition`, or a remembered
 * fixpoint) → timer table → commands to recording ports and a counting transport → `out` line + hash —
 * for several workloads and journals, then a per-stage cost breakdown, and the heap per idle instance.
 * Run: `npx tsx --expose-gc bench/runtime.bench.ts` (≈ 30 s; BENCH_EVENTS = rx events per round,
 * default 200,000; 3 rounds, median shown). Goals (issue 4): ≥ 150,000 events/s, ≤ 8 KiB per idle
 * instance. Not a test: prints figures.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NEVER } from "rxjs";
import { vrrpInstanceMachine } from "../machines/vrrp-instance.machine.ts";
import { VirtualClock } from "../src/runtime/clock.ts";
import { AdvertCodec } from "../src/runtime/codec.adapter.ts";
import { checkInput, type Event, type Input } from "../src/runtime/input.ts";
import { InputTexts, inLine } from "../src/runtime/input-text.ts";
import { FileJournal } from "../src/runtime/journal.ts";
import { MachineDriver } from "../src/runtime/machine-driver.ts";
import { Node } from "../src/runtime/node.ts";
import { nullPorts, RecordingPorts } from "../src/runtime/ports.ts";
import type { Transport } from "../transports/transport.ts";
import { advertsAt, CountingJournal, fleetSpec } from "./fleet.ts";

const N = 1000;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const ROUNDS = 3;
const WARMUP = 20_000;
const gc = (globalThis as { gc?: () => void }).gc;

/** Transport that counts the datagrams it is given (each one encoded by the codec). */
const countingTransport = (): Transport & { sent: number } => {
  const t = {
    sent: 0,
    inbound$: NEVER,
    send: () => {
      t.sent++;
    },
    close: () => {},
  };
  return t;
};

const spec = fleetSpec(N);
const steady = advertsAt(spec, 150);
const other = advertsAt(spec, 151);
/** Input `i` of a workload: always the same advert per instance, or alternating priority 150/151. */
const pick = (changing: boolean, i: number): Input =>
  (changing && Math.floor(i / N) % 2 === 1 ? other : steady)[i % N] as Input;

const heapUsed = (): number => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

interface Run {
  readonly rate: number;
  readonly fixpointHits: number;
  readonly timerRate: number;
  readonly timerEvents: number;
  readonly masters: number;
  readonly sent: number;
  readonly journalBytes: number;
}

const run = (opts: { changing: boolean; memoize: boolean; journal: "memory" | "file1" | "file256" }): Run => {
  const clock = new VirtualClock();
  const dir = opts.journal === "memory" ? undefined : mkdtempSync(join(tmpdir(), "vigil-bench-"));
  const path = dir === undefined ? "" : join(dir, "journal.jsonl");
  const journal =
    opts.journal === "memory"
      ? new CountingJournal()
      : new FileJournal(path, opts.journal === "file1" ? 1 : 256);
  const transport = countingTransport();
  const node = new Node(spec, {
    clock,
    ports: new RecordingPorts(() => clock.nowUs()),
    journal,
    transport,
    configHash: "bench",
    vigilVersion: "bench",
    memoizeFixpoints: opts.memoize,
  });
  node.start();
  for (let i = 0; i < WARMUP; i++) {
    clock.advanceBy(1);
    node.input(pick(opts.changing, i));
  }
  const hits0 = node.fixpointHits;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) {
    clock.advanceBy(1);
    node.input(pick(opts.changing, i));
  }
  const rxNs = Number(process.hrtime.bigint() - t0);
  const hits = node.fixpointHits - hits0;
  // Silence: every instance times out and becomes MASTER, then advertises every second.
  const seq0 = node.seq;
  const t1 = process.hrtime.bigint();
  clock.advanceBy(14_000_000);
  const timerNs = Number(process.hrtime.bigint() - t1);
  const timerEvents = node.seq - seq0;
  const masters = spec.instances.filter((s) => node.state(s.params.name) === "MASTER").length;
  node.close();
  const journalBytes = journal instanceof CountingJournal ? journal.bytes : statSync(path).size;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  return {
    rate: EVENTS / (rxNs / 1e9),
    fixpointHits: hits,
    timerRate: timerEvents / (timerNs / 1e9),
    timerEvents,
    masters,
    sent: transport.sent,
    journalBytes,
  };
};

const scenario = (label: string, opts: Parameters<typeof run>[0]): void => {
  const runs = Array.from({ length: ROUNDS }, () => run(opts));
  const rates = runs.map((r) => r.rate);
  const last = runs[runs.length - 1] as Run;
  console.log(
    `${label.padEnd(58)} ${fmt(median(rates)).padStart(8)} events/s (rounds ${rates.map(fmt).join(", ")}); ` +
      `fixpoint hits ${((100 * last.fixpointHits) / EVENTS).toFixed(0)}%; timer phase ${fmt(last.timerRate)} events/s ` +
      `(${last.timerEvents} events, ${last.masters} masters, ${last.sent} datagrams sent); journal ${(last.journalBytes / 1e6).toFixed(1)} MB`,
  );
};

/** ns per call of `f` over `n` calls (after a warm-up of the same length). */
const perCall = (n: number, f: (i: number) => void): number => {
  for (let i = 0; i < n; i++) f(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f(i);
  return Number(process.hrtime.bigint() - t0) / n;
};

const stages = (): void => {
  const n = 200_000;
  const codec = new AdvertCodec(spec);
  const events: Event[] = steady.map((input, i) => ({ seq: i, atUs: i, input }));
  const check = perCall(n, (i) => checkInput(steady[i % N]));
  const line = perCall(n, (i) => inLine(events[i % N] as Event));
  const stringify = perCall(n, (i) => JSON.stringify({ t: "in", ev: events[i % N] }));
  // as a node calls it: with its memo of each datagram (looked up before, as the node does once per input)
  const texts = new InputTexts();
  const memos = steady.map((d) => texts.rx(d as Extract<Input, { kind: "rx" }>));
  const receive = perCall(n, (i) =>
    codec.receive(steady[i % N] as Extract<Input, { kind: "rx" }>, undefined, undefined, memos[i % N]),
  );
  const p0 = spec.instances[0]?.params;
  const driver = new MachineDriver(vrrpInstanceMachine, p0);
  let [snap] = driver.initial(p0);
  [snap] = driver.step(snap, { type: "TRACKING", deltaSum: 0, faulted: false, pending: false } as never);
  [snap] = driver.step(snap, { type: "START" } as never);
  const ev = (priority: number) => ({ type: "ADVERT", priority, srcIp: "198.18.0.2", advertIntervalCs: 100 });
  const evs = [ev(150), ev(151)];
  const step = perCall(n, (i) => {
    [snap] = driver.step(snap, evs[i & 1] as never);
  });
  console.log(
    `stages (ns/event, in isolation): checkInput ${check.toFixed(0)}; inLine ${line.toFixed(0)} (JSON.stringify: ${stringify.toFixed(0)}); ` +
      `codec decode+validate+route ${receive.toFixed(0)}; XState machine.transition (accepted advert, BACKUP) ${step.toFixed(0)}`,
  );
};

// Heap per idle instance: a started node, every instance in BACKUP with one pending down timer.
// Null effect ports here, so that recorded effects do not count as the node's memory.
const before = heapUsed();
const clock = new VirtualClock();
const idle = new Node(spec, { clock, ports: nullPorts() });
idle.start();
const perInstance = (heapUsed() - before) / N;
// Then one advert each: every instance follows a master and remembers that step as a fixpoint.
for (let i = 0; i < N; i++) idle.input(steady[i] as Input);
const perFollowing = (heapUsed() - before) / N;
console.log(`instances: ${N}; rx events per round: ${EVENTS}; gc exposed: ${gc !== undefined}`);
console.log(
  `heap per idle instance (BACKUP, one pending timer): ${(perInstance / 1024).toFixed(2)} KiB; ` +
    `after one advert each (following a master, fixpoint remembered): ${(perFollowing / 1024).toFixed(2)} KiB`,
);
idle.close();

scenario("steady adverts, memory journal", { changing: false, memoize: true, journal: "memory" });
scenario("steady adverts, memory journal, fixpoint memo off", {
  changing: false,
  memoize: false,
  journal: "memory",
});
scenario("changing adverts (150/151), memory journal", { changing: true, memoize: true, journal: "memory" });
scenario("steady adverts, file journal, 256 lines per write", {
  changing: false,
  memoize: true,
  journal: "file256",
});
scenario("steady adverts, file journal, one write per line", {
  changing: false,
  memoize: true,
  journal: "file1",
});
stages();
