/**
 * Runs many swarm seeds on worker threads (node:worker_threads), or in this thread for one job (and
 * always for a test-only broken variant, which is a function and cannot cross threads). The
 * module is its own worker entry: a worker is started on this very file (the .ts source under
 * tsx/vitest, given tsx's loader; the esbuild chunk that holds it in the bundle under dist/), and
 * at load in a worker thread marked `vigilSwarmWorker` it serves seeds: {seed, durationUs} in,
 * a SeedOutcome out. Outcomes are delivered in seed order, whatever order the workers finish in.
 * Not pure (threads), deterministic in what it reports.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { RunOptions } from "./runner.ts";
import { checkSeed, type SeedOutcome } from "./swarm.run.ts";

export interface SwarmRunOptions {
  readonly seeds: readonly number[];
  /** Worker threads (1: run in this thread). */
  readonly jobs: number;
  readonly durationUs: number;
  /** Test-only (runner.ts `dropInbound`): forces one job in this thread. */
  readonly variant?: RunOptions;
  /** Called with each outcome, in seed order. */
  readonly onOutcome?: (o: SeedOutcome) => void;
}

interface Job {
  readonly seed: number;
  readonly durationUs: number;
}

/**
 * A worker running this module: the file itself (the bundle's chunk), or from the sources a small
 * bootstrap that registers tsx's loader in the worker first (the parent's may be vitest's or tsx's).
 */
function startWorker(): Worker {
  const data = { workerData: { vigilSwarmWorker: true } };
  if (!import.meta.url.endsWith(".ts")) return new Worker(fileURLToPath(import.meta.url), data);
  const api = pathToFileURL(
    join(
      dirname(createRequire(import.meta.url).resolve("tsx/package.json")),
      "dist",
      "esm",
      "api",
      "index.mjs",
    ),
  ).href;
  const boot = `(async () => { (await import(${JSON.stringify(api)})).register(); await import(${JSON.stringify(import.meta.url)}); })();`;
  return new Worker(boot, { ...data, eval: true });
}

/** Runs every seed; resolves with the outcomes in seed order. */
export async function runSeeds(o: SwarmRunOptions): Promise<SeedOutcome[]> {
  const out: SeedOutcome[] = [];
  const emit = (x: SeedOutcome): void => {
    out.push(x);
    o.onOutcome?.(x);
  };
  const jobs = Math.max(1, Math.min(o.jobs, o.seeds.length));
  if (jobs === 1 || o.variant !== undefined) {
    for (const seed of o.seeds) {
      emit(checkSeed(seed, o.durationUs, o.variant ?? {}));
      // Let the event loop breathe (signals, output) between seeds.
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }
  const results = new Map<number, SeedOutcome>();
  let next = 0;
  let flushed = 0;
  const flush = (): void => {
    while (flushed < o.seeds.length && results.has(flushed)) {
      emit(results.get(flushed) as SeedOutcome);
      results.delete(flushed);
      flushed++;
    }
  };
  await Promise.all(
    Array.from(
      { length: jobs },
      () =>
        new Promise<void>((resolve, reject) => {
          const w = startWorker();
          let current = -1;
          const give = (): void => {
            if (next >= o.seeds.length) {
              current = -1;
              void w.terminate().then(() => resolve());
              return;
            }
            current = next++;
            w.postMessage({ seed: o.seeds[current] as number, durationUs: o.durationUs } satisfies Job);
          };
          w.on("message", (m: SeedOutcome) => {
            results.set(current, m);
            flush();
            give();
          });
          w.on("error", reject);
          w.on("exit", (code) => {
            if (current !== -1)
              reject(new Error(`swarm worker exited (${code}) during seed ${o.seeds[current]}`));
          });
          give();
        }),
    ),
  );
  flush();
  return out;
}

// The worker side: this module loaded in a swarm worker thread serves seeds.
if (!isMainThread && (workerData as { vigilSwarmWorker?: boolean } | null)?.vigilSwarmWorker === true) {
  const port = parentPort;
  port?.on("message", (job: Job) => {
    port.postMessage(checkSeed(job.seed, job.durationUs));
  });
}
