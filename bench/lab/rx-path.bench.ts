/**
 * The daemon's receive path in one process, without sockets: 1,000 BACKUP instances in a `Node` on a
 * real clock with the daemon's file journal (16 MiB segments, flush timer on the clock), fed the
 * steady stream of priority-150 adverts (round robin over the instances, interned per socket as the
 * raw socket does, transports/rx-intern.ts) through the same RxJS shape as `vigil run` (one Fanout per socket,
 * merged, into the switched transport's Fanout). Prints CPU µs per advert (process user + system) per
 * round; for quick before/after comparisons of the hot path — bench/daemon-rx.bench.ts is the real
 * measure. Run: `npx tsx bench/lab/rx-path.bench.ts` (ADVERTS per round, default 200,000; ROUNDS 5;
 * ALLOC=1: the bytes allocated per advert by function over the rounds, bench/lab/alloc-sample.ts —
 * the feed's own datagram objects included, as the raw socket makes them too; COLD_KB=K: before every
 * BATCH adverts (default 9), K KiB of other memory are read and written, as a daemon's caches are
 * after its process slept and others ran; that eviction's own CPU, measured alone, is subtracted;
 * CLOCK_OFFSET_S, the clock's start, as a daemon's after that long).
 * Not pure (files, real clock).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { merge } from "rxjs";
import { encodeAdvert } from "../../src/protocol/codec.ts";
import { FileJournal } from "../../src/runtime/journal.ts";
import { Node } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import type { NodeSpec } from "../../src/runtime/spec.ts";
import { Fanout } from "../../transports/fanout.ts";
import { RxInterner } from "../../transports/rx-intern.ts";
import type { Datagram } from "../../transports/transport.ts";
import { fleetSpec, labClock } from "../fleet.ts";
import { sampleAllocations } from "./alloc-sample.ts";

const N = 1000;
const ADVERTS = Number(process.env.ADVERTS ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const ALLOC = process.env.ALLOC === "1";
const COLD_KB = Number(process.env.COLD_KB ?? 0);
const BATCH = Number(process.env.BATCH ?? 9);

/** Reads and writes every cache line of COLD_KB KiB (a bigger block than the L2 cache evicts it). */
const junk = new Float64Array((COLD_KB * 1024) / 8);
let junkSum = 0;
const evict = (): void => {
  for (let j = 0; j < junk.length; j += 8) junkSum += junk[j] as number;
  for (let j = 0; j < junk.length; j += 8) junk[j] = junkSum;
};

// The fleet of the runtime benchmarks, with a long advert interval: the down timers never fall due.
const fleet = fleetSpec(N);
const spec: NodeSpec = {
  ...fleet,
  instances: fleet.instances.map((s) => ({ ...s, params: { ...s.params, advertIntervalCs: 25_500 } })),
};
const adverts = spec.instances.map((s) => {
  const p = s.params;
  const bytes = encodeAdvert(
    { version: 2, vrid: p.vrid, priority: 150, advertIntervalCs: 25_500, addresses: [p.vips[0] ?? ""] },
    4,
    { src: "198.18.0.2", dst: "224.0.0.18" },
  );
  return { ifname: p.ifname, bytes };
});

const dir = mkdtempSync(join(tmpdir(), "vigil-rxpath-"));
const clock = labClock();
const sockets = [0, 1, 2, 3].map(() => new Fanout<Datagram>());
const switched = new Fanout<Datagram>();
const sub = merge(...sockets.map((s) => s.observable)).subscribe((d) => switched.next(d));
const journal = new FileJournal(join(dir, "j.jsonl"), {
  clock,
  maxSegmentBytes: 16 * 1024 * 1024,
  maxSegments: 8,
});
const node = new Node(spec, {
  clock,
  ports: nullPorts(),
  journal,
  transport: { inbound$: switched.observable, send: () => {}, close: () => {} },
});
node.start();

const interners = sockets.map(() => new RxInterner());
const feed = (count: number): void => {
  for (let k = 0; k < count; k++) {
    if (COLD_KB > 0 && k % BATCH === 0) evict();
    const i = k % N;
    const a = adverts[i] as { ifname: string; bytes: Uint8Array };
    const m = (interners[(i / 250) | 0] as RxInterner).intern(a.bytes, 0, a.bytes.length);
    (sockets[(i / 250) | 0] as Fanout<Datagram>).next({
      bytes: m.bytes,
      hex: m.hex,
      family: 4,
      src: "198.18.0.2",
      dst: "224.0.0.18",
      ttl: 255,
      ifname: a.ifname,
      ifindex: 2 + ((i / 250) | 0),
      ipPayloadLength: a.bytes.length,
      rxAtUs: clock.nowUs(),
    });
  }
};

/** Feeds in slices, yielding to the event loop between them (so the journal's flush timer runs). */
const round = async (count: number): Promise<number> => {
  // The evictions' own CPU, alone (the same count as the feed runs), to subtract.
  const e0 = process.cpuUsage();
  if (COLD_KB > 0) for (let k = 0; k < count; k += BATCH) evict();
  const e = process.cpuUsage(e0);
  const u0 = process.cpuUsage();
  for (let done = 0; done < count; done += 1000) {
    feed(Math.min(1000, count - done));
    await new Promise((r) => setImmediate(r));
  }
  const u = process.cpuUsage(u0);
  return (u.user + u.system - e.user - e.system) / count;
};

try {
  await round(50_000);
  const allocReport = ALLOC ? await sampleAllocations(false) : undefined;
  const per: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const us = await round(ADVERTS);
    per.push(us);
    console.log(`round ${r + 1}: ${us.toFixed(2)} µs/advert`);
  }
  per.sort((a, b) => a - b);
  console.log(
    `median ${per[per.length >> 1]?.toFixed(2)}, min ${per[0]?.toFixed(2)} µs/advert over ${ROUNDS} rounds of ${ADVERTS}`,
  );
  await allocReport?.(ROUNDS * ADVERTS, "advert");
} finally {
  sub.unsubscribe();
  node.close();
  rmSync(dir, { recursive: true, force: true });
}
