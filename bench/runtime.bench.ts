/**
 * Runtime benchmark: 1,000 VRRP instances in one Node on a VirtualClock. Measures input events per
 * second through queue → schema check → journal line → machine → timer table → commands (peer adverts
 * that each restart a down timer, plus the resulting MASTER adverts when time passes), and the heap
 * per idle instance. Run: `npx tsx --expose-gc bench/runtime.bench.ts`. Goals: ≥ 150,000 events/s,
 * ≤ 8 KiB heap per idle instance.
 */
import { encodeAdvert } from "../src/protocol/codec.ts";
import { VirtualClock } from "../src/runtime/clock.ts";
import type { Input } from "../src/runtime/input.ts";
import type { Journal } from "../src/runtime/journal.ts";
import { Node } from "../src/runtime/node.ts";
import { nullPorts } from "../src/runtime/ports.ts";
import { instanceDefaults, type NodeSpec } from "../src/runtime/spec.ts";

const N = 1000;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 300_000);
const gc = (globalThis as { gc?: () => void }).gc;

/** Journal that serialises every line (the cost is real) and keeps only a byte count. */
class CountingJournal implements Journal {
  bytes = 0;
  lines = 0;
  append(line: string): void {
    this.bytes += line.length + 1;
    this.lines++;
  }
  close(): void {}
}

const spec: NodeSpec = {
  instances: Array.from({ length: N }, (_, i) => ({
    params: instanceDefaults({
      name: `VI_${i}`,
      vrid: (i % 250) + 1,
      ifname: `eth${Math.floor(i / 250)}`,
      ownIp: "198.18.0.1",
      vips: [`198.18.${4 + Math.floor(i / 250)}.${(i % 250) + 1}`],
    }),
    tracking: [],
    unicastPeers: [],
  })),
  groups: [],
  trackers: [],
};

const heapUsed = (): number => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};

const inputs: Input[] = spec.instances.map((s) => {
  const p = s.params;
  const bytes = encodeAdvert(
    { version: 2, vrid: p.vrid, priority: 150, advertIntervalCs: 100, addresses: [p.vips[0] ?? ""] },
    4,
    { src: "198.18.0.2", dst: "224.0.0.18" },
  );
  return {
    kind: "rx",
    family: 4,
    src: "198.18.0.2",
    dst: "224.0.0.18",
    ttl: 255,
    ifname: p.ifname,
    hex: Buffer.from(bytes).toString("hex"),
  };
});

const before = heapUsed();
const clock = new VirtualClock();
const journal = new CountingJournal();
const node = new Node(spec, {
  clock,
  ports: nullPorts(),
  journal,
  configHash: "bench",
  vigilVersion: "bench",
});
node.start();
const after = heapUsed();
const perInstance = (after - before) / N;

// Warm-up, then the measured run: adverts round-robin, 1 µs apart, every one restarts a down timer.
for (let i = 0; i < 20_000; i++) {
  clock.advanceBy(1);
  node.input(inputs[i % N] as Input);
}
const t0 = process.hrtime.bigint();
for (let i = 0; i < EVENTS; i++) {
  clock.advanceBy(1);
  node.input(inputs[i % N] as Input);
}
const rxNs = Number(process.hrtime.bigint() - t0);
// Silence: every instance times out and becomes MASTER, then advertises every second for 10 s.
const seq0 = node.seq;
const t1 = process.hrtime.bigint();
clock.advanceBy(14_000_000);
const timerNs = Number(process.hrtime.bigint() - t1);
const timerEvents = node.seq - seq0;
const masters = spec.instances.filter((s) => node.state(s.params.name) === "MASTER").length;

const rxRate = Math.round(EVENTS / (rxNs / 1e9));
const timerRate = Math.round(timerEvents / (timerNs / 1e9));
console.log(`instances: ${N}; gc exposed: ${gc !== undefined}`);
console.log(`heap per idle instance (BACKUP, one pending timer): ${(perInstance / 1024).toFixed(2)} KiB`);
console.log(`rx adverts: ${EVENTS} events in ${(rxNs / 1e6).toFixed(0)} ms → ${rxRate} events/s`);
console.log(
  `timers: ${timerEvents} timer events (takeover + periodic adverts) in ${(timerNs / 1e6).toFixed(0)} ms → ${timerRate} events/s; masters: ${masters}`,
);
console.log(`journal: ${journal.lines} lines, ${(journal.bytes / 1e6).toFixed(1)} MB`);
