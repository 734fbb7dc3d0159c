/**
 * The body of `vigil run`: the daemon in the foreground. It loads and validates the configuration
 * as `vigil check` does (host MTUs and interface checks; errors → exit 1 without starting), takes
 * the pid file (another live Vigil on it → exit 1, naming its pid), creates the journal directory
 * (0700; segments DIR/journal.NNNNNN.jsonl), starts the live node (src/daemon/live-node.ts) —
 * with logging ports in place of the host's under `--dry-run` — and logs every line to stderr in
 * the chosen format. SIGTERM / SIGINT: keepalived's shutdown (`stop()`: priority 0 and VIP removal
 * by every MASTER, STOP notifies), `Stopped`, exit 0. SIGHUP: reload is not built yet — one line is
 * logged and the running configuration kept. The pid file is removed at exit, also after a failed
 * start. Loaded lazily by src/cli/run.ts so other commands never load sockets. Not pure: the host.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type HostFacts, hostChecks, readInterfaceMtu } from "../cli/host-checks.ts";
import type { Io } from "../cli/io.ts";
import { countBySeverity, type Diagnostic, formatDiagnostic } from "../config/diagnostics.ts";
import { loadConfig } from "../config/load.ts";
import { VIGIL_VERSION } from "../version.ts";
import { dryRunPorts } from "./dry-run-ports.ts";
import { startLiveNode } from "./live-node.ts";
import { formatLogLine, type LogFormat } from "./log-format.ts";
import { acquirePidFile } from "./pid-file.ts";

/** What `vigil run`'s arguments set (src/cli/run.ts). */
export interface DaemonSettings {
  readonly configFile: string;
  readonly configId: string | undefined;
  readonly journalDir: string;
  readonly pidFile: string;
  readonly logFormat: LogFormat;
  readonly dryRun: boolean;
}

export interface DaemonOptions extends DaemonSettings {
  /** The host facts for the configuration checks (interfaces, scripts, MTUs). */
  readonly host: HostFacts;
}

export const RELOAD_NOT_SUPPORTED =
  "Reload (SIGHUP) is not supported by Vigil yet - keeping the running configuration";

/** Runs the daemon until SIGTERM / SIGINT; resolves to the exit status. */
export async function runDaemon(opts: DaemonOptions, io: Io): Promise<number> {
  const log = (line: string, detail: boolean): void =>
    io.stderr(formatLogLine(opts.logFormat, new Date(), line, detail));
  const { config, diagnostics } = loadConfig(opts.configFile, {
    ...(opts.configId === undefined ? {} : { configId: opts.configId }),
    interfaceMtu: (ifname) => readInterfaceMtu(ifname),
  });
  const all: Diagnostic[] =
    config === undefined ? [...diagnostics] : [...diagnostics, ...hostChecks(config, opts.host)];
  for (const d of all) log(formatDiagnostic(d), false);
  const { errors } = countBySeverity(all);
  if (config === undefined || errors > 0) {
    log(`${opts.configFile}: ${errors} error(s) in the configuration - not starting`, false);
    return 1;
  }
  try {
    mkdirSync(opts.journalDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    log(`cannot create the journal directory ${opts.journalDir}: ${(e as Error).message}`, false);
    return 1;
  }
  const pid = acquirePidFile(opts.pidFile);
  if (pid.kind === "running") {
    log(`another Vigil is running with pid ${pid.pid} (pid file ${opts.pidFile}) - not starting`, false);
    return 1;
  }
  if (pid.kind === "error") {
    log(pid.message, false);
    return 1;
  }
  try {
    return await serve(opts, config, log);
  } finally {
    pid.release();
  }
}

async function serve(
  opts: DaemonOptions,
  config: NonNullable<ReturnType<typeof loadConfig>["config"]>,
  log: (line: string, detail: boolean) => void,
): Promise<number> {
  log(
    `Starting Vigil ${VIGIL_VERSION}${opts.dryRun ? " (dry run: no VIPs, GARP or scripts touched; adverts are sent)" : ""}`,
    false,
  );
  let stopping: Promise<void> | undefined;
  let requested = false;
  let wake: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const onStop = (signal: NodeJS.Signals): void => {
    if (requested) return;
    requested = true;
    log(`Received ${signal}, stopping`, false);
    wake();
  };
  const onHup = (): void => log(RELOAD_NOT_SUPPORTED, false);
  // Signals are handled from the start: a SIGTERM during start-up stops the node once it is up.
  process.on("SIGTERM", onStop);
  process.on("SIGINT", onStop);
  process.on("SIGHUP", onHup);
  try {
    let live: Awaited<ReturnType<typeof startLiveNode>>;
    try {
      live = await startLiveNode({
        config,
        journalPath: join(opts.journalDir, "journal.jsonl"),
        log,
        ...(opts.dryRun
          ? {
              wrapPorts: (host) =>
                dryRunPorts({ config, log, runner: host.runner, close: () => host.close() }),
            }
          : {}),
      });
    } catch (e) {
      log(`cannot start: ${e instanceof Error ? e.message : String(e)}`, false);
      return 1;
    }
    await stopRequested;
    stopping ??= live.stop();
    await stopping;
    log("Stopped", false);
    return 0;
  } finally {
    process.off("SIGTERM", onStop);
    process.off("SIGINT", onStop);
    process.off("SIGHUP", onHup);
  }
}
