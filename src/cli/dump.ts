/**
 * `vigil dump [-f FILE | FILE] [--json] [--config-id ID]` — prints the resolved configuration:
 * stable JSON (sorted keys, defaults filled in, durations in explicit units) or a readable text
 * form. Diagnostics go to stderr; with errors nothing is dumped and the exit code is 1. Text is
 * escaped for the terminal and JSON keeps its value with terminal-unsafe characters as `\uXXXX`
 * (escape.ts).
 */

import { bytesToUnicode } from "../config/bytes.ts";
import { formatDiagnostic } from "../config/diagnostics.ts";
import { configText, stableJson } from "../config/render.ts";
import { type ArgsSpec, defineCommand, EX_USAGE, flagOption, usageError } from "./args.ts";
import { configArgs, configOptions, configPositionals } from "./config-args.ts";
import { escapeLines, escapeText, terminalSafeJson } from "./escape.ts";
import { readInterfaceMtu } from "./host-checks.ts";
import type { CommandSpec } from "./io.ts";

const spec: ArgsSpec = {
  invocation: "vigil dump",
  synopsis: "[-f FILE | FILE] [--json] [--config-id ID]",
  summary: "print the resolved configuration (text, or stable JSON with --json)",
  options: { ...configOptions, json: { type: "boolean", description: "stable JSON instead of text" } },
  positionals: configPositionals,
  notes: ["", "exit status: 0 printed, 1 errors in the configuration (nothing printed), 64 usage error"],
};

export const dumpCommand: CommandSpec = defineCommand("dump", spec, async ({ values, positionals }, io) => {
  const parsed = configArgs(values, positionals);
  if (typeof parsed === "string") {
    io.stderr(usageError(spec, parsed));
    return EX_USAGE;
  }
  // The configuration front end (and effect's Schema) loads when the command runs, not for --help.
  const { loadConfig } = await import("../config/load.ts");
  const { config, diagnostics } = loadConfig(parsed.file, {
    ...(parsed.configId === undefined ? {} : { configId: parsed.configId }),
    interfaceMtu: (ifname) => readInterfaceMtu(ifname),
  });
  for (const d of diagnostics) io.stderr(`${escapeText(formatDiagnostic(d))}\n`);
  if (config === undefined) return 1;
  io.stdout(
    flagOption(values, "json")
      ? terminalSafeJson(stableJson(config))
      : escapeLines(bytesToUnicode(configText(config))),
  );
  return 0;
});
