/**
 * `vigil check -f FILE [--config-id ID]` — like `keepalived -t`: loads the configuration, prints
 * every diagnostic (keepalived's `(FILE: Line N) message` form plus column and hint) and a
 * summary, and exits 0 when there are no errors (warnings allowed) or 1 when there are.
 */
import { countBySeverity, formatDiagnostic } from "../config/diagnostics.ts";
import { loadConfig } from "../config/load.ts";
import { parseConfigArgs } from "./config-args.ts";
import type { CommandSpec } from "./io.ts";

const USAGE = "check -f FILE [--config-id ID]";

export const checkCommand: CommandSpec = {
  name: "check",
  summary: "check a keepalived.conf (like keepalived -t); exit 1 on errors",
  usage: USAGE,
  run: async (args, io) => {
    const parsed = parseConfigArgs(args, false);
    if (typeof parsed === "string") {
      io.stderr(`vigil check: ${parsed}\nusage: vigil ${USAGE}\n`);
      return 64;
    }
    const options = parsed.configId === undefined ? {} : { configId: parsed.configId };
    const { config, diagnostics } = loadConfig(parsed.file, options);
    for (const d of diagnostics) io.stderr(`${formatDiagnostic(d)}\n`);
    const { errors, warnings } = countBySeverity(diagnostics);
    const what =
      config === undefined
        ? `${parsed.file}: ${errors} error(s), ${warnings} warning(s)`
        : `${parsed.file}: OK, ${config.instances.length} vrrp_instance(s), ${config.syncGroups.length} sync group(s), ${config.virtualServers.length} virtual_server(s); ${warnings} warning(s)`;
    io.stdout(`${what}\n`);
    return errors > 0 ? 1 : 0;
  },
};
