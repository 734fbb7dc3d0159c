/**
 * A hand-made simulation result for the report tests (report-model, report-page, report-priority):
 * the given timeline, no metrics, no verdicts, ok; `over` replaces any field. Pure.
 */
import type { SimResult } from "../../simulations/runner.ts";

export const handMadeResult = (
  timeline: SimResult["timeline"],
  over: Partial<SimResult> = {},
): SimResult => ({
  scenario: "hand-made",
  file: "x.yaml",
  seed: 7,
  durationUs: 100,
  timeline,
  metrics: {
    splitBrain: [],
    splitBrainTotalUs: 0,
    splitBrainMaxUs: 0,
    failovers: [],
    failoverMaxUs: 0,
    transitions: {},
    adverts: {},
  },
  invariants: [],
  expectations: [],
  outputHashes: { a: [], b: [] },
  ok: true,
  hash: "h",
  ...over,
});
