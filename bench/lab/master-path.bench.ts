/**
 * The daemon's MASTER send path in one process, without sockets: N instances in a `Node` on a real
 * clock with the daemon's file journal (16 MiB segments) and a transport that drops what it is given;
 * no peer, so every instance becomes MASTER one Master_Down_Interval after start and then sends an
 * advert per advert_int (INTERVAL_CS, default 100: 1 s). After WARM_S seconds, over WINDOW_S
 * seconds: CPU µs per advert sent (process user + system) and, with ALLOC=1, the bytes allocated per
 * advert by function (V8's sampling heap profiler, collected objects included; top 15); with
 * ALLOC=promoted, only the bytes that outlived the young generation (promoted, then collected by a
 * full GC or still live) — what drives the full GCs. For before/after comparisons of the
 * send path; bench/daemon-scale.bench.ts is the real measure.
 * Run: `npx tsx bench/lab/master-path.bench.ts` (N 1000, INTERVAL_CS 100, WARM_S 8, WINDOW_S 10, ALLOC;
 * CLOCK_OFFSET_S, the clock's start, as a daemon's after that long).
 * Not pure (files, real clock).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NEVER } from "rxjs";
import { FileJournal } from "../../src/runtime/journal.ts";
import { Node } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import { fleetSpec, labClock } from "../fleet.ts";
import { sampleAllocations } from "./alloc-sample.ts";

const N = Number(process.env.N ?? 1000);
const WARM_S = Number(process.env.WARM_S ?? 8);
const WINDOW_S = Number(process.env.WINDOW_S ?? 10);
const INTERVAL_CS = Number(process.env.INTERVAL_CS ?? 100);
/** ALLOC=1: every allocation sampled; ALLOC=promoted: only what outlived the young generation. */
const ALLOC = process.env.ALLOC === "1" || process.env.ALLOC === "promoted";
const PROMOTED_ONLY = process.env.ALLOC === "promoted";

const dir = mkdtempSync(join(tmpdir(), "vigil-masterpath-"));
const clock = labClock();
let sent = 0;
const journal = new FileJournal(join(dir, "j.jsonl"), {
  clock,
  maxSegmentBytes: 16 * 1024 * 1024,
  maxSegments: 8,
});
const node = new Node(fleetSpec(N, INTERVAL_CS), {
  clock,
  ports: nullPorts(),
  journal,
  // as the daemon (live-node.ts)
  hashOutputs: false,
  transport: {
    inbound$: NEVER,
    send: () => {
      sent++;
    },
    close: () => {},
  },
});
/** CPU ticks (user + system) of each thread of this process, by thread name and id. */
const threadTicks = (): Map<string, number> => {
  const out = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(`${name} ${tid}`, Number(f[11]) + Number(f[12]));
    } catch {
      // the thread ended
    }
  }
  return out;
};
const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
try {
  node.start();
  await sleep(WARM_S);
  const allocReport = ALLOC ? await sampleAllocations(PROMOTED_ONLY) : undefined;
  const sent0 = sent;
  const hits0 = node.fixpointHits;
  const t0 = threadTicks();
  const u0 = process.cpuUsage();
  await sleep(WINDOW_S);
  const u = process.cpuUsage(u0);
  const n = sent - sent0;
  const t1 = threadTicks();
  const threads = [...t1]
    .map(([k, v]) => [k, v - (t0.get(k) ?? 0)] as const)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v * 10} ms`);
  console.log(
    `${n} adverts sent in ${WINDOW_S} s: ${((u.user + u.system) / n).toFixed(1)} µs CPU per advert (user ${(u.user / n).toFixed(1)}, system ${(u.system / n).toFixed(1)}); fixpoint hits ${node.fixpointHits - hits0}; threads: ${threads.join(", ")}`,
  );
  await allocReport?.(n, "advert");
} finally {
  node.close();
  rmSync(dir, { recursive: true, force: true });
}
