/**
 * `vigil swarm [--seeds N] [--seed S] [--jobs J] [--json]`: seeded random clusters under the
 * simulator (simulations/swarm*.ts). Each seed derives its fault parameters and a random cluster
 * of 2–5 nodes, runs a safety phase with faults and a liveness phase with everything repaired,
 * checks the invariants, and runs twice (the output hashes must match). A failing seed prints the
 * command that reproduces it and is shrunk to a small scenario file (`vigil simulate` format) with
 * an HTML report. Exit 0 every seed passes, 1 one fails, 64 usage. Not pure: may write files; the
 * runner is loaded only when seeds run, not for --help.
 */
import { availableParallelism } from "node:os";
import {
  type ArgsSpec,
  defineCommand,
  EX_USAGE,
  flagOption,
  parseIntegerArg,
  stringOption,
  usageError,
} from "./args.ts";
import { escapeLines, escapeText, jsonLine } from "./escape.ts";
import type { CommandSpec } from "./io.ts";

const spec: ArgsSpec = {
  invocation: "vigil swarm",
  synopsis: "[--seeds N] [--seed S] [--jobs J] [--duration D] [--out DIR] [--no-shrink] [--json]",
  summary: "run seeded random clusters with faults; check safety, liveness and determinism; shrink failures",
  options: {
    seeds: { type: "string", valueName: "N", description: "how many seeds to run (default 100)" },
    seed: {
      type: "string",
      valueName: "S",
      description: "the first seed, 0 to 4294967295 (default: a random one, printed); seeds S, S+1, …",
    },
    jobs: { type: "string", valueName: "J", description: "worker threads (default: the number of cores)" },
    duration: {
      type: "string",
      valueName: "D",
      description: "virtual time per seed, e.g. 10m, 90s (default 10m; the last 2m are the liveness phase)",
    },
    out: {
      type: "string",
      valueName: "DIR",
      description: "where shrunk scenarios and reports of failing seeds go (default swarm-failures)",
    },
    "no-shrink": { type: "boolean", description: "report failing seeds without shrinking them" },
    json: { type: "boolean", description: "print one JSON document (outcomes, failures) instead of text" },
  },
  notes: [
    "",
    "A failing seed is reproduced by: vigil swarm --seed S --seeds 1",
    "Its shrunk scenario is reproduced by: vigil simulate DIR/swarm-seed-S.yaml",
    "",
    "exit status: 0 every seed passes; 1 one fails (invariant, liveness or nondeterminism); 64 usage error",
  ],
};

export const swarmCommand: CommandSpec = defineCommand("swarm", spec, async ({ values }, io) => {
  const usage = (message: string): number => {
    io.stderr(usageError(spec, message));
    return EX_USAGE;
  };
  const int = (name: string, fallback: number, min: number, max: number): number | string => {
    const text = stringOption(values, name);
    return text === undefined ? fallback : parseIntegerArg(`--${name}`, text, min, max);
  };
  const count = int("seeds", 100, 1, 10_000_000);
  if (typeof count === "string") return usage(count);
  const randomSeed = (Math.random() * 0x1_0000_0000) >>> 0;
  const first = int("seed", randomSeed, 0, 0xffff_ffff);
  if (typeof first === "string") return usage(first);
  const jobs = int("jobs", availableParallelism(), 1, 256);
  if (typeof jobs === "string") return usage(jobs);
  const [{ runSwarm }, { parseDurationUs }] = await Promise.all([
    import("../../simulations/swarm.ts"),
    import("../../simulations/scenario.source.ts"),
  ]);
  const durationText = stringOption(values, "duration");
  const durationUs = durationText === undefined ? 600_000_000 : parseDurationUs(durationText);
  if (typeof durationUs === "string") return usage(`--duration: ${durationUs}`);
  if (durationUs < 20_000_000) return usage("--duration: at least 20s (a safety and a liveness phase)");
  const json = flagOption(values, "json");
  const summary = await runSwarm({
    firstSeed: first,
    count,
    jobs,
    durationUs,
    outDir: stringOption(values, "out") ?? "swarm-failures",
    shrink: !flagOption(values, "no-shrink"),
    ...(json ? {} : { print: (line: string) => io.stdout(escapeLines(`${line}\n`)) }),
  });
  if (json) io.stdout(`${jsonLine(summary)}\n`);
  else if (!summary.ok)
    io.stderr(`${escapeText(`vigil swarm: ${summary.failures.length} seed(s) failed`)}\n`);
  return summary.ok ? 0 : 1;
});
