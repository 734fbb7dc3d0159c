/**
 * The end of a run: every invariant's verdict (an expected violation passes), every expectation
 * judged against the metrics and the probes the runner took during the run, and the result with its
 * sha256 over everything (runner.ts `SimResult`: byte-identical for the same scenario and seed).
 * Pure (a function of its arguments; sha256 from node:crypto).
 */
import { createHash } from "node:crypto";
import { judge } from "./expectations.ts";
import { INVARIANTS, type Oracles, type Violation } from "./invariants.ts";
import type { IpvsProbe } from "./lvs-sim.ts";
import type { SimResult, StateProbe, TimelineEntry, Verdict } from "./runner.ts";
import type { LoadedScenario } from "./scenario.load.ts";

export function finishResult(
  loaded: LoadedScenario,
  seed: number,
  timeline: TimelineEntry[],
  o: Oracles,
  probes: {
    stateAt: StateProbe;
    addressesAt: (atUs: number, node: string) => readonly string[];
    ipvsAt: IpvsProbe;
  },
  outputHashes: Record<string, string[]>,
  /** Each node's IPVS table at the end, when the scenario has virtual servers. */
  ipvs?: Record<string, Record<string, Record<string, number>>>,
): SimResult {
  const { spec } = loaded;
  const metrics = o.metrics();
  const violations = new Map<string, Violation>(o.violations().map((v) => [v.invariant, v]));
  const expectedToFail = new Set(
    spec.expectations.flatMap(({ expect: e }) => (e.kind === "violates" ? [e.invariant] : [])),
  );
  const invariants: Verdict[] = INVARIANTS.map((name) => {
    const v = violations.get(name);
    if (v === undefined)
      return {
        name,
        ok: !expectedToFail.has(name),
        detail: expectedToFail.has(name) ? "held (expected to fail)" : "held",
      };
    return {
      name,
      ok: expectedToFail.has(name),
      detail: `${expectedToFail.has(name) ? "failed as expected: " : ""}${v.message}`,
      atUs: v.atUs,
    };
  });
  const expectations = spec.expectations.map(({ expect: e }) =>
    judge(e, {
      metrics,
      ...probes,
      violations,
      instanceOf: (node) => loaded.configs.get(node)?.instances[0]?.name ?? "",
      unelected: o.unelected(),
    }),
  );
  const ok = invariants.every((v) => v.ok) && expectations.every((v) => v.ok);
  const body = {
    scenario: spec.name,
    file: loaded.file,
    seed,
    durationUs: spec.durationUs,
    timeline,
    metrics,
    invariants,
    expectations,
    outputHashes,
    ...(ipvs === undefined ? {} : { ipvs }),
    ok,
  };
  const hash = createHash("sha256").update(JSON.stringify(body)).digest("hex");
  return { ...body, hash };
}
