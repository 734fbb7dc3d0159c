/**
 * `vigil dump -f FILE [--json] [--config-id ID]` — prints the resolved configuration: stable JSON
 * (sorted keys, defaults filled in, durations in explicit units) or a readable text form.
 * Diagnostics go to stderr; with errors nothing is dumped and the exit code is 1.
 */
import { formatDiagnostic } from "../config/diagnostics.ts";
import { loadConfig } from "../config/load.ts";
import { configText, stableJson } from "../config/render.ts";
import { parseConfigArgs } from "./config-args.ts";
import type { CommandSpec } from "./io.ts";

const USAGE = "dump -f FILE [--json] [--config-id ID]";

export const dumpCommand: CommandSpec = {
  name: "dump",
  summary: "print the resolved configuration (text, or stable JSON with --json)",
  usage: USAGE,
  run: async (args, io) => {
    const parsed = parseConfigArgs(args, true);
    if (typeof parsed === "string") {
      io.stderr(`vigil dump: ${parsed}\nusage: vigil ${USAGE}\n`);
      return 64;
    }
    const options = parsed.configId === undefined ? {} : { configId: parsed.configId };
    const { config, diagnostics } = loadConfig(parsed.file, options);
    for (const d of diagnostics) io.stderr(`${formatDiagnostic(d)}\n`);
    if (config === undefined) return 1;
    io.stdout(parsed.json ? stableJson(config) : configText(config));
    return 0;
  },
};
