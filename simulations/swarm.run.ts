/**
 * Runs one swarm case: renders it as a scenario (swarm.render.ts), loads it with the runner's own
 * loader and runs it twice — the second run is the determinism self-check: both `SimResult` hashes
 * must be equal, and a mismatch is a failure of its own. The outcome is plain data (it crosses
 * worker threads). Not pure (runs the simulation), deterministic.
 */
import { type RunOptions, runScenario, type SimResult } from "./runner.ts";
import { type LoadedScenario, loadScenarioText } from "./scenario.load.ts";
import { ScenarioError } from "./scenario.source.ts";
import { DEFAULT_DURATION_US, describeCase, generateCase, type SwarmCase } from "./swarm.model.ts";
import { renderScenario } from "./swarm.render.ts";

export interface SeedOutcome {
  readonly seed: number;
  /** The seed's parameters, one line (printed before its verdict). */
  readonly params: string;
  readonly ok: boolean;
  /** "pass", "fail" (an invariant or the liveness check), "nondeterministic", or "invalid" (no load, or a throw). */
  readonly status: "pass" | "fail" | "nondeterministic" | "invalid";
  /** The failed verdicts (`name: detail`), or the determinism / load message. */
  readonly failures: readonly string[];
  readonly hash: string;
  readonly virtualUs: number;
}

/** What failed in a result (invariants and expectations), as `name: detail` lines. */
export const failuresOf = (r: SimResult): string[] =>
  [...r.invariants, ...r.expectations].filter((v) => !v.ok).map((v) => `${v.name}: ${v.detail}`);

/** `c`'s scenario, loaded (throws ScenarioError when the case does not load: a generator bug). */
export const loadCase = (c: SwarmCase): LoadedScenario =>
  loadScenarioText(`swarm-seed-${c.seed}.yaml`, renderScenario(c));

/** Runs `c`'s scenario once. */
export const runCase = (c: SwarmCase, options: RunOptions = {}): SimResult =>
  runScenario(loadCase(c), options);

/** Runs a case twice and judges it. */
export function checkCase(c: SwarmCase, options: RunOptions = {}): SeedOutcome {
  const params = describeCase(c);
  const base = { seed: c.seed, params, virtualUs: c.durationUs };
  let first: SimResult;
  let second: SimResult;
  try {
    // The loaded scenario is plain data the runner does not change: both runs share it.
    const loaded = loadCase(c);
    first = runScenario(loaded, options);
    second = runScenario(loaded, options);
  } catch (e) {
    // A generator bug (the text does not load) or a bug the run hit: the seed fails, the swarm goes on.
    const failure =
      e instanceof ScenarioError
        ? `generated scenario does not load: ${e.message}`
        : `the run threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    return { ...base, ok: false, status: "invalid", failures: [failure], hash: "" };
  }
  if (first.hash !== second.hash)
    return {
      ...base,
      ok: false,
      status: "nondeterministic",
      failures: [`nondeterminism: two runs of the same seed gave hashes ${first.hash} and ${second.hash}`],
      hash: first.hash,
    };
  const failures = failuresOf(first);
  return { ...base, ok: first.ok, status: first.ok ? "pass" : "fail", failures, hash: first.hash };
}

/** Generates and checks one seed. */
export const checkSeed = (
  seed: number,
  durationUs: number = DEFAULT_DURATION_US,
  options: RunOptions = {},
): SeedOutcome => checkCase(generateCase(seed, durationUs), options);
