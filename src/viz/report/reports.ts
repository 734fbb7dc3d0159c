/**
 * The entry points the commands use: the HTML report of a simulation (`vigil simulate --report`,
 * the swarm's failing seeds) and of a replayed journal (`vigil replay --report`), and the live
 * dashboard page and its echarts asset for the status server. Each builds the run view (pure
 * builders) with the instance machine's chart (src/viz/catalogue.ts) and renders it with page.ts.
 * Not pure: reads the echarts library from node_modules (once per call).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { SimResult } from "../../../simulations/runner.ts";
import type { LoadedScenario } from "../../../simulations/scenario.load.ts";
import { chartOf } from "../catalogue.ts";
import { type ReplayViewInput, replayView } from "./from-replay.ts";
import { type SimInstanceInfo, simulationView } from "./from-simulation.ts";
import { stateChartModel } from "./model.ts";
import { dashboardPage, reportPage } from "./page.ts";

/** The echarts library's minified browser build (node_modules/echarts/dist/echarts.min.js). */
export function echartsSource(): string {
  const require = createRequire(import.meta.url);
  return readFileSync(require.resolve("echarts/dist/echarts.min.js"), "utf8");
}

/** Lane facts from the scenario's configurations (base priority, VIPs by owner). */
export function scenarioInstances(loaded: LoadedScenario): SimInstanceInfo[] {
  return loaded.spec.nodes.flatMap((n) =>
    (loaded.configs.get(n.name)?.instances ?? []).map((i) => ({
      node: n.name,
      instance: i.name,
      basePriority: i.basePriority,
      vips: i.vips.map((v) => `${v.address}/${v.prefixLength}`),
    })),
  );
}

/** The self-contained HTML report of a simulation run. */
export function simulationReportHtml(result: SimResult, loaded?: LoadedScenario): string {
  const view = simulationView(
    result,
    chartOf("vrrp-instance"),
    loaded === undefined ? [] : scenarioInstances(loaded),
  );
  return reportPage(view, echartsSource());
}

/** The self-contained HTML report of a replayed journal. */
export function replayReportHtml(input: ReplayViewInput): string {
  return reportPage(replayView(input, chartOf("vrrp-instance")), echartsSource());
}

/** The dashboard page (`GET /` of the status server). */
export const dashboardHtml = (): string => dashboardPage(stateChartModel(chartOf("vrrp-instance")));
