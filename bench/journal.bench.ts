/**
 * Journal benchmark (issue 9): bytes on disk per steady advert and events/s through a `Node` with
 * the file journal (`FileJournal`: compacted, checksum-chained segments, batched writes, rotation)
 * side by side with an in-memory journal, in the same run (the machine is shared: compare the ratio).
 * Workload: 1,000 BACKUP instances on a VirtualClock, each receiving its steady master's advert
 * every second (one rx input each; 1 ms apart), as in bench/runtime.bench.ts. Also the journal alone
 * (logical lines in, segments out; and through `appendIn`, the node's path) and the reader. Run:
 * `npx tsx --expose-gc bench/journal.bench.ts`
 * (BENCH_EVENTS per round, default 200,000; 3 rounds, median). Goals: ≤ 16 bytes per steady advert,
 * ≥ 150,000 events/s through the file journal. Not a test: prints figures.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VirtualClock } from "../src/runtime/clock.ts";
import type { Input } from "../src/runtime/input.ts";
import { InputTexts, inLine } from "../src/runtime/input-text.ts";
import { FileJournal, readJournal } from "../src/runtime/journal.ts";
import { Node } from "../src/runtime/node.ts";
import { RecordingPorts } from "../src/runtime/ports.ts";
import { advertsAt, CountingJournal, fleetSpec } from "./fleet.ts";

const N = 1000;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const ROUNDS = 3;

const spec = fleetSpec(N);
const adverts = advertsAt(spec, 150);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const fmt = (n: number, d = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: d });
const dirBytes = (d: string): number => readdirSync(d).reduce((s, f) => s + statSync(join(d, f)).size, 0);

const runNode = (kind: "memory" | "file"): { rate: number; bytesPerEvent: number } => {
  const clock = new VirtualClock();
  const dir = mkdtempSync(join(tmpdir(), "vigil-jbench-"));
  const journal =
    kind === "memory"
      ? new CountingJournal()
      : new FileJournal(join(dir, "j.jsonl"), {
          clock,
          maxSegmentBytes: 64 << 20,
          maxSegments: 4,
          sync: true,
        });
  const node = new Node(spec, { clock, ports: new RecordingPorts(() => clock.nowUs()), journal });
  node.start();
  for (let i = 0; i < 2 * N; i++) {
    clock.advanceBy(1000);
    node.input(adverts[i % N] as Input);
  }
  if (journal instanceof FileJournal) journal.flush();
  const before = kind === "memory" ? (journal as CountingJournal).bytes : dirBytes(dir);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) {
    clock.advanceBy(1000);
    node.input(adverts[i % N] as Input);
  }
  if (journal instanceof FileJournal) journal.flush();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = kind === "memory" ? (journal as CountingJournal).bytes : dirBytes(dir);
  node.close();
  rmSync(dir, { recursive: true, force: true });
  return { rate: EVENTS / s, bytesPerEvent: (after - before) / EVENTS };
};

/** The journal alone: the logical lines of the same workload written, then read back. */
const runJournalOnly = (fast = false): { writeRate: number; readRate: number; bytesPerEvent: number } => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-jbench-"));
  const path = join(dir, "j.jsonl");
  const j = new FileJournal(path, { sync: false });
  j.append(JSON.stringify({ t: "header", vigil: "bench", configHash: "", spec: { instances: [] } }));
  const t0 = process.hrtime.bigint();
  // `fast`: the node's path (input text memoised per datagram, `appendIn`); else whole `in` lines.
  const texts = new InputTexts();
  for (let i = 0; i < EVENTS; i++)
    if (fast) j.appendIn(i + 1, (i + 1) * 1000, texts.text(adverts[i % N] as Input));
    else j.append(inLine({ seq: i + 1, atUs: (i + 1) * 1000, input: adverts[i % N] as Input }));
  j.close();
  const w = Number(process.hrtime.bigint() - t0) / 1e9;
  const size = statSync(path).size;
  const text = readFileSync(path, "utf8");
  const t1 = process.hrtime.bigint();
  const r = readJournal(text);
  const rs = Number(process.hrtime.bigint() - t1) / 1e9;
  if (!r.ok) throw new Error(r.error.message);
  rmSync(dir, { recursive: true, force: true });
  return { writeRate: EVENTS / w, readRate: EVENTS / rs, bytesPerEvent: size / EVENTS };
};

const mem: number[] = [];
const file: number[] = [];
let memBytes = 0;
let fileBytes = 0;
for (let r = 0; r < ROUNDS; r++) {
  // Alternate the order so drift on the shared machine hits both alike.
  const [a, b] = r % 2 === 0 ? (["memory", "file"] as const) : (["file", "memory"] as const);
  for (const k of [a, b]) {
    const x = runNode(k);
    (k === "memory" ? mem : file).push(x.rate);
    if (k === "memory") memBytes = x.bytesPerEvent;
    else fileBytes = x.bytesPerEvent;
  }
}
const jo = runJournalOnly();
const jf = runJournalOnly(true);
console.log(
  `journal benchmark: ${N} steady BACKUP instances, ${fmt(EVENTS)} rx events per round, ${ROUNDS} rounds`,
);
console.log(
  `  node + in-memory journal : ${fmt(median(mem))} events/s, ${fmt(memBytes, 1)} logical bytes/event`,
);
console.log(
  `  node + file journal      : ${fmt(median(file))} events/s, ${fmt(fileBytes, 2)} bytes/event on disk`,
);
console.log(`  file / memory            : ${fmt((100 * median(file)) / median(mem), 1)} %`);
console.log(
  `  journal alone            : write ${fmt(jo.writeRate)} lines/s, read+verify ${fmt(jo.readRate)} events/s, ${fmt(jo.bytesPerEvent, 2)} bytes/event`,
);
console.log(
  `  journal alone, appendIn  : write ${fmt(jf.writeRate)} events/s (the node's path: memoised input text, no in line built)`,
);
