/**
 * `vigil simulate FILE [--seed N] [--json] [--report FILE.html] [--journal-dir DIR]`: runs a scenario
 * file (simulations/) — whole clusters of the daemon's own Node code under one virtual clock, with
 * partitions, crashes and packet faults — and prints its timeline, metrics and the verdict of every
 * invariant and expectation. Exit 0 all pass, 1 one fails, 2 a bad scenario (file:line:column, never
 * a stack trace), 64 usage. `--json` prints one JSON document, byte-identical for the same file and
 * seed. Not pure: reads the scenario, may write the report and journals.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import {
  type ArgsSpec,
  defineCommand,
  EX_USAGE,
  flagOption,
  parseIntegerArg,
  stringOption,
  usageError,
} from "./args.ts";
import { escapeLines, escapeText, terminalSafeJson } from "./escape.ts";
import type { CommandSpec } from "./io.ts";

/** Exit status for a scenario that cannot be read, decoded or loaded. */
export const EXIT_BAD_SCENARIO = 2;

const spec: ArgsSpec = {
  invocation: "vigil simulate",
  synopsis: "FILE [--seed N] [--json] [--report FILE.html] [--journal-dir DIR]",
  summary: "run a cluster scenario under a virtual clock; print timeline, metrics and verdicts",
  options: {
    seed: {
      type: "string",
      valueName: "N",
      description: "PRNG seed, 0 to 4294967295 (default: the scenario's, else 1)",
    },
    json: { type: "boolean", description: "print one JSON document (the same for the same file and seed)" },
    report: { type: "string", valueName: "FILE", description: "also write a self-contained HTML report" },
    "journal-dir": {
      type: "string",
      valueName: "DIR",
      description: "write every node's journal there (vigil replay --verify reads each)",
    },
  },
  positionals: { min: 1, max: 1, name: "FILE" },
  notes: [
    "",
    "FILE is a YAML scenario (see simulations/README.md and simulations/scenarios/).",
    "",
    "exit status: 0 every invariant and expectation holds; 1 one fails; 2 the scenario is invalid",
    "(message with file:line:column); 64 usage error",
  ],
};

export const simulateCommand: CommandSpec = defineCommand(
  "simulate",
  spec,
  async ({ values, positionals }, io) => {
    const file = positionals[0] ?? "";
    const seedText = stringOption(values, "seed");
    const seed = seedText === undefined ? undefined : parseIntegerArg("--seed", seedText, 0, 0xffff_ffff);
    if (typeof seed === "string") {
      io.stderr(usageError(spec, seed));
      return EX_USAGE;
    }
    const err = (line: string): void => io.stderr(`${escapeText(line)}\n`);
    // The runner (and with it the node core) is loaded only when a scenario runs, not for --help.
    const [{ jsonReport, textReport }, { runScenario }, { loadScenario }, { ScenarioError }] =
      await Promise.all([
        import("../../simulations/report.ts"),
        import("../../simulations/runner.ts"),
        import("../../simulations/scenario.load.ts"),
        import("../../simulations/scenario.source.ts"),
      ]);
    let loaded: ReturnType<typeof loadScenario>;
    try {
      loaded = loadScenario(file);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      for (const line of e.message.split("\n")) err(`vigil simulate: ${line}`);
      return EXIT_BAD_SCENARIO;
    }
    const journalDir = stringOption(values, "journal-dir");
    if (journalDir !== undefined) {
      try {
        mkdirSync(journalDir, { recursive: true });
      } catch (e) {
        err(`vigil simulate: cannot create ${journalDir}: ${(e as Error).message}`);
        return EXIT_BAD_SCENARIO;
      }
    }
    const result = runScenario(loaded, {
      ...(seed === undefined ? {} : { seed }),
      ...(journalDir === undefined ? {} : { journalDir }),
    });
    const report = stringOption(values, "report");
    if (report !== undefined) {
      const { simulationReportHtml } = await import("../viz/report/reports.ts");
      try {
        writeFileSync(report, simulationReportHtml(result, loaded));
      } catch (e) {
        err(`vigil simulate: cannot write ${report}: ${(e as Error).message}`);
        return EXIT_BAD_SCENARIO;
      }
    }
    // Where the report went, on stderr so that --json keeps stdout one document.
    if (report !== undefined) err(`vigil simulate: report written to ${report}`);
    io.stdout(
      flagOption(values, "json") ? terminalSafeJson(jsonReport(result)) : escapeLines(textReport(result)),
    );
    return result.ok ? 0 : 1;
  },
);
