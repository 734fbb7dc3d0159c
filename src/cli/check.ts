/**
 * `vigil check [-f FILE | FILE] [--config-id ID]` — like `keepalived -t`: loads the configuration,
 * prints every diagnostic (keepalived's `(FILE: Line N) message` form plus column and hint) and a
 * summary, and exits 0 when there are no errors (warnings allowed) or 1 when there are — also
 * when every error is one keepalived's daemon (and `vigil run`) would start despite: the summary
 * says which (see diagnostics.ts, `fatal`). Host
 * checks (host-checks.ts: interfaces that do not exist here) add warnings only. Every line printed
 * is terminal-safe (escape.ts).
 */
import { countBySeverity, type Diagnostic, formatDiagnostic } from "../config/diagnostics.ts";
import { type ArgsSpec, defineCommand, EX_USAGE, usageError } from "./args.ts";
import { configArgs, configOptions, configPositionals } from "./config-args.ts";
import { escapeText } from "./escape.ts";
import { currentHost, type HostFacts, hostChecks } from "./host-checks.ts";
import type { CommandSpec } from "./io.ts";

const spec: ArgsSpec = {
  invocation: "vigil check",
  synopsis: "[-f FILE | FILE] [--config-id ID]",
  summary: "check a keepalived.conf (like keepalived -t); exit 1 on errors",
  options: configOptions,
  positionals: configPositionals,
  notes: ["", "exit status: 0 no errors (warnings allowed), 1 errors in the configuration, 64 usage error"],
};

/** `vigil check` with the host facts taken from `host` (tests pass their own). */
export function makeCheckCommand(host: () => HostFacts): CommandSpec {
  return defineCommand("check", spec, async ({ values, positionals }, io) => {
    const parsed = configArgs(values, positionals);
    if (typeof parsed === "string") {
      io.stderr(usageError(spec, parsed));
      return EX_USAGE;
    }
    const facts = host();
    // The configuration front end (and effect's Schema) loads when the command runs, not for --help.
    const { loadConfig } = await import("../config/load.ts");
    const { config, diagnostics } = loadConfig(parsed.file, {
      ...(parsed.configId === undefined ? {} : { configId: parsed.configId }),
      ...(facts.mtu === undefined ? {} : { interfaceMtu: facts.mtu }),
    });
    const all: Diagnostic[] =
      config === undefined ? [...diagnostics] : [...diagnostics, ...hostChecks(config, facts)];
    for (const d of all) io.stderr(`${escapeText(formatDiagnostic(d))}\n`);
    const { errors, fatal, warnings } = countBySeverity(all);
    const what =
      config === undefined
        ? `${parsed.file}: ${errors} error(s), ${warnings} warning(s); ${
            fatal > 0
              ? `${fatal} fatal: vigil run and keepalived would not start`
              : "none fatal: vigil run and keepalived would still start"
          }`
        : `${parsed.file}: OK, ${config.instances.length} vrrp_instance(s), ${config.syncGroups.length} sync group(s), ${config.virtualServers.length} virtual_server(s); ${warnings} warning(s)`;
    io.stdout(`${escapeText(what)}\n`);
    return errors > 0 ? 1 : 0;
  });
}

export const checkCommand: CommandSpec = makeCheckCommand(currentHost);
