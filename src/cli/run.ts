/**
 * `vigil run [-f FILE | FILE] [--config-id ID] [--journal DIR] [--pid-file PATH]
 * [--log-format text|json] [--dry-run] [--status HOST:PORT|off] [--dump-dir DIR]` — starts Vigil as a daemon in the foreground, logging to
 * stderr (src/daemon/daemon.ts). This module only parses and checks the arguments (pure); the
 * daemon's modules (sockets, netlink) are imported when the command runs, so other commands never
 * load them.
 */
import type { DaemonSettings } from "../daemon/daemon.ts";
import { LOG_FORMATS } from "../daemon/log-format.ts";
import {
  type ArgsSpec,
  defineCommand,
  EX_USAGE,
  flagOption,
  type OptionValues,
  stringOption,
  usageError,
} from "./args.ts";
import { configArgs, configOptions, configPositionals } from "./config-args.ts";
import { currentHost, type HostFacts } from "./host-checks.ts";
import { parseHostPort } from "./host-port.ts";
import type { CommandSpec } from "./io.ts";

export const DEFAULT_JOURNAL_DIR = "/var/lib/vigil";
export const DEFAULT_PID_FILE = "/run/vigil.pid";
export const DEFAULT_STATUS = "127.0.0.1:9118";
export const DEFAULT_DUMP_DIR = "/tmp";

const spec: ArgsSpec = {
  invocation: "vigil run",
  synopsis:
    "[-f FILE | FILE] [--config-id ID] [--journal DIR] [--pid-file PATH] [--log-format text|json] [--dry-run] [--status HOST:PORT|off] [--dump-dir DIR]",
  summary: "run Vigil as a daemon in the foreground (logs on stderr)",
  options: {
    ...configOptions,
    journal: {
      type: "string",
      valueName: "DIR",
      description: `journal directory, created 0700 (default ${DEFAULT_JOURNAL_DIR}); segments DIR/journal.NNNNNN.jsonl`,
    },
    "pid-file": {
      type: "string",
      valueName: "PATH",
      description: `pid file (default ${DEFAULT_PID_FILE}); refuses to start while it names a live process`,
    },
    "log-format": {
      type: "string",
      valueName: "text|json",
      description: "text: keepalived's console lines (default); json: one object per line",
    },
    "dry-run": {
      type: "boolean",
      description: "touch no VIP, GARP/NA, notify script or FIFO: log each command instead",
    },
    status: {
      type: "string",
      valueName: "HOST:PORT|off",
      description: `read-only HTTP status server: /status, /metrics, /events (default ${DEFAULT_STATUS}; off: none)`,
    },
    "dump-dir": {
      type: "string",
      valueName: "DIR",
      description: `where SIGUSR1/SIGUSR2/SIGRTMIN+2 write keepalived.data/.stats/.json (default ${DEFAULT_DUMP_DIR})`,
    },
  },
  positionals: configPositionals,
  notes: [
    "",
    "signals: SIGUSR1 / SIGUSR2 / SIGRTMIN+2 (36) write keepalived.data / .stats / .json (mode 0600)",
    "  as keepalived does; SIGRTMAX-1 (63) writes the stats and clears them (in the dumps only).",
    "SIGTERM/SIGINT stop as keepalived does (each MASTER sends priority 0 and removes its",
    "  VIPs, STOP notifies), then exit 0. SIGHUP reloads the file as keepalived does (matched",
    "  instances keep their state; a file with errors is refused and the running one kept).",
    "--dry-run still sends and receives VRRP adverts on the wire (and runs vrrp_script checks).",
    "a status port that cannot be bound is logged once; VRRP runs on without it.",
    "",
    "exit status: 0 stopped by SIGTERM/SIGINT, 1 configuration errors, another Vigil on the pid",
    "  file, or a failed start, 64 usage error",
  ],
};

/** The daemon's settings (a type only: the daemon modules load when `run` runs). */
export type RunArgs = DaemonSettings;

/** The daemon's settings from parsed arguments, or a usage error message. Pure. */
export function runArgs(values: OptionValues, positionals: readonly string[]): RunArgs | string {
  const config = configArgs(values, positionals);
  if (typeof config === "string") return config;
  const journalDir = stringOption(values, "journal") ?? DEFAULT_JOURNAL_DIR;
  if (journalDir === "") return "the journal directory is empty";
  const pidFile = stringOption(values, "pid-file") ?? DEFAULT_PID_FILE;
  if (pidFile === "") return "the pid file name is empty";
  const format = stringOption(values, "log-format") ?? "text";
  const logFormat = LOG_FORMATS.find((f) => f === format);
  if (logFormat === undefined) return `--log-format must be text or json, got '${format}'`;
  const statusText = stringOption(values, "status") ?? DEFAULT_STATUS;
  const status = statusText === "off" ? undefined : parseHostPort("--status", statusText);
  if (typeof status === "string") return status;
  const dumpDir = stringOption(values, "dump-dir") ?? DEFAULT_DUMP_DIR;
  if (dumpDir === "") return "the dump directory is empty";
  return {
    configFile: config.file,
    configId: config.configId,
    journalDir,
    pidFile,
    logFormat,
    dryRun: flagOption(values, "dry-run"),
    status,
    dumpDir,
  };
}

/** `vigil run` with the host facts taken from `host` (tests pass their own). */
export function makeRunCommand(host: () => HostFacts): CommandSpec {
  return defineCommand("run", spec, async ({ values, positionals }, io) => {
    const parsed = runArgs(values, positionals);
    if (typeof parsed === "string") {
      io.stderr(usageError(spec, parsed));
      return EX_USAGE;
    }
    const { runDaemon } = await import("../daemon/daemon.ts");
    return runDaemon({ ...parsed, host: host() }, io);
  });
}

export const runCommand: CommandSpec = makeRunCommand(currentHost);
