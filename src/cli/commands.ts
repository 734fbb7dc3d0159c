/**
 * The registry of `vigil` sub-commands. Each command lives in its own module under `src/cli/`;
 * adding one is one line here.
 */
import { checkCommand } from "./check.ts";
import { dumpCommand } from "./dump.ts";
import type { CommandSpec } from "./io.ts";
import { replayCommand } from "./replay.ts";
import { runCommand } from "./run.ts";
import { sniffCommand } from "./sniff.ts";

export const commands: readonly CommandSpec[] = [
  checkCommand,
  dumpCommand,
  sniffCommand,
  replayCommand,
  runCommand,
];
