/**
 * `vigil swarm`'s engine: runs a range of seeds (swarm.pool.ts), each with its parameters printed
 * first and its verdict after; for every failing seed prints the command that reproduces it,
 * shrinks it (shrink.ts) and writes the shrunk scenario (runner format, so `vigil simulate FILE`
 * reproduces it) and its HTML report into the output directory. A nondeterministic seed is
 * reported as such and not shrunk (its failure is the hash mismatch itself). Not pure (threads,
 * files), deterministic in what it prints apart from wall-clock figures.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { simulationReportHtml } from "../src/viz/report/reports.ts";
import type { RunOptions } from "./runner.ts";
import { runScenario } from "./runner.ts";
import { loadScenarioText } from "./scenario.load.ts";
import { shrinkCase } from "./shrink.ts";
import { generateCase } from "./swarm.model.ts";
import { runSeeds } from "./swarm.pool.ts";
import { renderScenario } from "./swarm.render.ts";
import type { SeedOutcome } from "./swarm.run.ts";

export interface SwarmOptions {
  readonly firstSeed: number;
  readonly count: number;
  readonly jobs: number;
  readonly durationUs: number;
  /** Where shrunk scenarios and reports go (created when a seed fails). */
  readonly outDir: string;
  readonly shrink: boolean;
  /** Test-only broken variant (forces one thread). */
  readonly variant?: RunOptions;
  /** Each line of the text report as it comes. */
  readonly print?: (line: string) => void;
}

export interface ShrunkFailure {
  readonly seed: number;
  readonly reproduce: string;
  readonly failing?: string;
  readonly scenario?: string;
  readonly report?: string;
  readonly events?: number;
  readonly nodes?: number;
  readonly runs?: number;
}

export interface SwarmSummary {
  readonly firstSeed: number;
  readonly count: number;
  readonly durationUs: number;
  readonly outcomes: readonly SeedOutcome[];
  readonly failures: readonly ShrunkFailure[];
  readonly ok: boolean;
  readonly wallMs: number;
}

export const reproduceCommand = (seed: number, durationUs: number): string =>
  `vigil swarm --seed ${seed} --seeds 1${durationUs === 600_000_000 ? "" : ` --duration ${durationUs / 1_000_000}s`}`;

/** Seeds `firstSeed`, `firstSeed + 1`, … (wrapping at 2^32). */
export const seedRange = (first: number, count: number): number[] =>
  Array.from({ length: count }, (_, i) => (first + i) >>> 0);

export async function runSwarm(o: SwarmOptions): Promise<SwarmSummary> {
  const print = o.print ?? (() => {});
  const started = performance.now();
  const outcomes = await runSeeds({
    seeds: seedRange(o.firstSeed, o.count),
    jobs: o.jobs,
    durationUs: o.durationUs,
    ...(o.variant === undefined ? {} : { variant: o.variant }),
    onOutcome: (x) => {
      print(x.params);
      print(x.ok ? `  PASS ${x.hash.slice(0, 16)}` : `  ${x.status.toUpperCase()} ${x.failures.join("; ")}`);
    },
  });
  const failures: ShrunkFailure[] = [];
  for (const x of outcomes.filter((y) => !y.ok)) {
    const reproduce = reproduceCommand(x.seed, o.durationUs);
    print(`seed ${x.seed} failed (${x.status}); reproduce: ${reproduce}`);
    if (!o.shrink || x.status !== "fail") {
      failures.push({ seed: x.seed, reproduce });
      continue;
    }
    const r = shrinkCase(generateCase(x.seed, o.durationUs), o.variant ?? {});
    const text = renderScenario(r.shrunk, `shrunk from ${reproduce}; fails ${r.failing}`);
    mkdirSync(o.outDir, { recursive: true });
    const scenario = join(o.outDir, `swarm-seed-${x.seed}.yaml`);
    writeFileSync(scenario, text);
    const report = join(o.outDir, `swarm-seed-${x.seed}.html`);
    const loaded = loadScenarioText(scenario, text);
    writeFileSync(report, simulationReportHtml(runScenario(loaded, o.variant ?? {}), loaded));
    print(
      `  shrunk in ${r.runs} runs to ${r.shrunk.nodes.length} node(s), ${r.shrunk.timeline.length} event(s), still failing ${r.failing}:`,
    );
    print(`  ${scenario} (vigil simulate ${scenario})`);
    print(`  report: ${report}`);
    failures.push({
      seed: x.seed,
      reproduce,
      failing: r.failing,
      scenario,
      report,
      events: r.shrunk.timeline.length,
      nodes: r.shrunk.nodes.length,
      runs: r.runs,
    });
  }
  const wallMs = Math.round(performance.now() - started);
  const passed = outcomes.filter((x) => x.ok).length;
  const nondet = outcomes.filter((x) => x.status === "nondeterministic").length;
  const virtualMin = (o.count * o.durationUs) / 60_000_000;
  print(
    `swarm: ${o.count} seed(s) from ${o.firstSeed}: ${passed} passed, ${o.count - passed} failed (${nondet} nondeterministic); ${virtualMin} virtual minutes in ${(wallMs / 1000).toFixed(1)} s wall`,
  );
  return {
    firstSeed: o.firstSeed,
    count: o.count,
    durationUs: o.durationUs,
    outcomes,
    failures,
    ok: passed === o.count,
    wallMs,
  };
}
