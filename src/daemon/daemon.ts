/**
 * The body of `vigil run`: the daemon in the foreground. It loads and validates the configuration
 * as `vigil check` does (host MTUs and interface checks); like keepalived's daemon it starts despite
 * errors that keepalived carries on after, and exits 1 without starting only on fatal ones
 * (diagnostics.ts). It takes the pid file (another live Vigil on it → exit 1, naming its pid),
 * creates the journal directory (0700; segments DIR/journal.NNNNNN.jsonl), starts the live node
 * (src/daemon/live-node.ts) — with logging ports in place of the host's under `--dry-run` — and
 * logs every line to stderr in the chosen format (log-format.ts; json: pino records, whose level
 * says which lines are configuration errors and warnings or a refused start or reload). SIGTERM /
 * SIGINT: keepalived's shutdown (`stop()`: priority 0 and VIP removal by every MASTER, STOP
 * notifies), `Stopped`, exit 0.
 * SIGHUP: reload (`reloadConfig`, then the live node's `reload`, one at a time), checked as at
 * start — an unreadable file or a fatal error is refused with its diagnostics and one line saying
 * why, and the running configuration kept. The pid file is removed at exit, also after a failed
 * start. Once running, freed C heap is returned to the kernel now and again (malloc-trim.ts).
 * Loaded lazily by src/cli/run.ts so other commands never load sockets. Not pure: the host.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type HostFacts, hostChecks, readInterfaceMtu } from "../cli/host-checks.ts";
import type { Io } from "../cli/io.ts";
import { countBySeverity, type Diagnostic, formatDiagnostic } from "../config/diagnostics.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import { VIGIL_VERSION } from "../version.ts";
import { dryRunPorts } from "./dry-run-ports.ts";
import { startLiveNode } from "./live-node.ts";
import { formatTextLine, type LogFormat, type LogSink } from "./log-format.ts";
import { startMallocTrim } from "./malloc-trim.ts";
import { observeDaemon } from "./observe.ts";
import { acquirePidFile } from "./pid-file.ts";
import {
  EX_NOPERM,
  effectiveCapabilities,
  missingCapabilities,
  missingCapabilitiesLine,
  requiredCapabilities,
} from "./privileges.ts";

/** What `vigil run`'s arguments set (src/cli/run.ts). */
export interface DaemonSettings {
  readonly configFile: string;
  readonly configId: string | undefined;
  readonly journalDir: string;
  readonly pidFile: string;
  readonly logFormat: LogFormat;
  readonly dryRun: boolean;
  /** The status server's address (`--status`); undefined: off. */
  readonly status?: { readonly host: string; readonly port: number } | undefined;
  /** Where the signal dumps go (`--dump-dir`, default /tmp). */
  readonly dumpDir?: string | undefined;
}

export interface DaemonOptions extends DaemonSettings {
  /** The host facts for the configuration checks (interfaces, scripts, MTUs). */
  readonly host: HostFacts;
}

/** How a refused reload's line starts (the reason follows). */
export const RELOAD_REFUSED = "Reload refused:";

/**
 * The file loaded and checked as `vigil check` does (loadConfig + hostChecks), every diagnostic
 * logged. `config` is what keepalived's daemon would run: undefined when the file cannot be read or
 * an error is fatal (diagnostics.ts); errors keepalived carries on after leave it defined.
 */
function loadChecked(
  opts: DaemonOptions,
  log: LogSink,
): { readonly config: Config | undefined; readonly errors: number } {
  const { runnable, diagnostics } = loadConfig(opts.configFile, {
    ...(opts.configId === undefined ? {} : { configId: opts.configId }),
    interfaceMtu: (ifname) => readInterfaceMtu(ifname),
    daemon: true,
  });
  const all: Diagnostic[] =
    runnable === undefined ? [...diagnostics] : [...diagnostics, ...hostChecks(runnable, opts.host)];
  for (const d of all) log(formatDiagnostic(d), false, d.severity === "error" ? "error" : "warn");
  const { errors, fatal } = countBySeverity(all);
  return { config: fatal > 0 ? undefined : runnable, errors };
}

/**
 * SIGHUP's first step: the file checked exactly as at start (`loadChecked`). A file that cannot be
 * read or has a fatal error is refused (one line says why; the daemon keeps running the old
 * configuration); errors keepalived carries on after are logged and the reload goes ahead, as at
 * start. Returns the new configuration or undefined.
 */
export function reloadConfig(opts: DaemonOptions, log: LogSink): Config | undefined {
  const { config, errors } = loadChecked(opts, log);
  if (config !== undefined) {
    if (errors > 0)
      log(`${opts.configFile}: ${errors} error(s) that keepalived also runs with - reloading`, false, "warn");
    return config;
  }
  const why = errors === 0 ? "it cannot be used" : `${errors} error(s) in the configuration`;
  log(`${RELOAD_REFUSED} ${opts.configFile}: ${why} - keeping the running configuration`, false, "error");
  return undefined;
}

/**
 * The daemon's log sink in `format`, writing to `io.stderr` stamped with the current time: text as
 * keepalived's console lines, json as pino records (json-log.ts, loaded only for json).
 */
async function daemonLog(format: LogFormat, io: Io): Promise<LogSink> {
  if (format === "json") {
    const { jsonLog } = await import("./json-log.ts");
    const write = jsonLog(io.stderr);
    return (line, detail, severity) => write(new Date(), line, detail, severity);
  }
  return (line) => io.stderr(formatTextLine(new Date(), line));
}

/** Runs the daemon until SIGTERM / SIGINT; resolves to the exit status. */
export async function runDaemon(opts: DaemonOptions, io: Io): Promise<number> {
  const log = await daemonLog(opts.logFormat, io);
  const { config, errors } = loadChecked(opts, log);
  if (config === undefined) {
    log(`${opts.configFile}: ${errors} error(s) in the configuration - not starting`, false, "error");
    return 1;
  }
  if (errors > 0)
    log(`${opts.configFile}: ${errors} error(s) that keepalived also runs with - starting`, false, "warn");
  const capEff = effectiveCapabilities();
  const missing =
    capEff === undefined ? [] : missingCapabilities(requiredCapabilities(config, opts.dryRun), capEff);
  if (missing.length > 0) {
    log(missingCapabilitiesLine(missing), false, "error");
    return EX_NOPERM;
  }
  try {
    mkdirSync(opts.journalDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    log(`cannot create the journal directory ${opts.journalDir}: ${(e as Error).message}`, false, "error");
    return 1;
  }
  const pid = acquirePidFile(opts.pidFile);
  if (pid.kind === "running") {
    log(
      `another Vigil is running with pid ${pid.pid} (pid file ${opts.pidFile}) - not starting`,
      false,
      "error",
    );
    return 1;
  }
  if (pid.kind === "error") {
    log(pid.message, false, "error");
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
  log: LogSink,
): Promise<number> {
  log(
    `Starting Vigil ${VIGIL_VERSION}${opts.dryRun ? " (dry run: no VIPs, GARP, IPVS or notify scripts touched; adverts are sent and checks run)" : ""}`,
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
  let live: Awaited<ReturnType<typeof startLiveNode>> | undefined;
  let reloading: Promise<void> = Promise.resolve();
  const reload = async (): Promise<void> => {
    if (live === undefined || requested) {
      log(`${RELOAD_REFUSED} the daemon is ${requested ? "stopping" : "still starting"}`, false, "warn");
      return;
    }
    const next = reloadConfig(opts, log);
    if (next === undefined) return;
    try {
      await live.reload(next);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      log(`${RELOAD_REFUSED} ${why} - keeping the running configuration`, false, "error");
    }
  };
  // One reload at a time, in signal order.
  const onHup = (): void => {
    reloading = reloading.then(reload);
  };
  // Signals are handled from the start: a SIGTERM during start-up stops the node once it is up.
  process.on("SIGTERM", onStop);
  process.on("SIGINT", onStop);
  process.on("SIGHUP", onHup);
  // The status server, metrics and signal dumps (observe.ts); fed by every applied event.
  const observer = observeDaemon({ ...opts, log: (line) => log(line, false) });
  let stopTrim = (): void => {};
  try {
    try {
      live = await startLiveNode({
        config,
        journalPath: join(opts.journalDir, "journal.jsonl"),
        log,
        onApplied: observer.onApplied,
        ...(opts.dryRun
          ? {
              wrapPorts: (host, seen) =>
                dryRunPorts({ config: seen, log, runner: host.runner, close: () => host.close() }),
            }
          : {}),
      });
    } catch (e) {
      log(`cannot start: ${e instanceof Error ? e.message : String(e)}`, false, "error");
      return 1;
    }
    await observer.attach(live);
    // Start-up's freed C heap back to the kernel, then now and again (malloc-trim.ts).
    stopTrim = startMallocTrim();
    await stopRequested;
    await reloading;
    stopping ??= live.stop();
    await stopping;
    log("Stopped", false);
    return 0;
  } finally {
    stopTrim();
    await observer.close();
    process.off("SIGTERM", onStop);
    process.off("SIGINT", onStop);
    process.off("SIGHUP", onHup);
  }
}
