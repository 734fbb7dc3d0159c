/**
 * `vigil graph [--machine vrrp-instance|sync-group|tracker] [--format mermaid|svg|dot]` — prints a
 * state chart generated from the XState machine definitions (src/viz/): every state, initial and
 * final state, transition with its event, guard, timer delay and the effects it emits. Mermaid by
 * default. The machines load only once the arguments are valid, and elkjs only for SVG; nothing
 * here touches the daemon, sockets or the configuration.
 */
import { type ArgsSpec, defineCommand, EX_USAGE, stringOption, usageError } from "./args.ts";
import type { CommandSpec } from "./io.ts";

/** The machines and formats by their command-line names (src/viz/catalogue.ts holds the machines). */
export const GRAPH_MACHINES = ["vrrp-instance", "sync-group", "tracker"] as const;
export const GRAPH_FORMATS = ["mermaid", "svg", "dot"] as const;
type GraphFormat = (typeof GRAPH_FORMATS)[number];

const spec: ArgsSpec = {
  invocation: "vigil graph",
  synopsis: "[--machine vrrp-instance|sync-group|tracker] [--format mermaid|svg|dot]",
  summary: "print a state machine's chart (mermaid, SVG or Graphviz DOT), generated from its definition",
  options: {
    machine: {
      type: "string",
      short: "m",
      valueName: "NAME",
      description: `the machine: ${GRAPH_MACHINES.join(", ")} (default vrrp-instance)`,
    },
    format: {
      type: "string",
      valueName: "FORMAT",
      description: `the output: ${GRAPH_FORMATS.join(", ")} (default mermaid)`,
    },
  },
  notes: ["", "exit status: 0 printed, 64 usage error (unknown machine or format)"],
};

const oneOf = <T extends string>(list: readonly T[], value: string): value is T =>
  (list as readonly string[]).includes(value);

export const graphCommand: CommandSpec = defineCommand("graph", spec, async ({ values }, io) => {
  const machine = stringOption(values, "machine") ?? "vrrp-instance";
  const format = stringOption(values, "format") ?? "mermaid";
  if (!oneOf(GRAPH_MACHINES, machine)) {
    io.stderr(usageError(spec, `unknown machine '${machine}' (expected ${GRAPH_MACHINES.join(", ")})`));
    return EX_USAGE;
  }
  if (!oneOf(GRAPH_FORMATS, format)) {
    io.stderr(usageError(spec, `unknown format '${format}' (expected ${GRAPH_FORMATS.join(", ")})`));
    return EX_USAGE;
  }
  const { renderChart } = await import("../viz/render.ts");
  io.stdout(await renderChart(machine, format satisfies GraphFormat));
  return 0;
});
