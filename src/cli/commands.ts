/**
 * The registry of `vigil` sub-commands: what `vigil --help` lists and how each command is loaded.
 * Pure data; nothing here imports a command's module.
 *
 * Each entry holds the command's name, one-line summary and usage line (shown by `vigil --help`
 * without loading anything) and `load`, a dynamic import of the module that exports its
 * `CommandSpec`. Only the command that runs is loaded — `vigil --version` and `vigil --help` load
 * none, and in the compiled CLI (bin/build.ts) each `import()` below is its own chunk, so `vigil
 * check` never loads the daemon, xstate or rxjs. Keep the heavy imports of a command out of what
 * its `--help` needs where you can (see run.ts: the daemon is imported when it runs).
 *
 * Adding a command (e.g. src/cli/status.ts exporting `statusCommand: CommandSpec`): one entry,
 *
 *   { name: "status", summary: "…", usage: "status …",
 *     load: async () => (await import("./status.ts")).statusCommand },
 *
 * with `summary` and `usage` copied from the spec: test/cli/registry.test.ts fails until they
 * match the loaded command's, and runs `vigil status --help` / `-h` on the built CLI.
 */
import type { CommandSpec } from "./io.ts";

export interface CommandEntry {
  readonly name: string;
  /** One line for `vigil --help`; the same as the loaded spec's `summary`. */
  readonly summary: string;
  /** The usage line without the program name; the same as the loaded spec's `usage`. */
  readonly usage: string;
  /** Imports the command's module. */
  readonly load: () => Promise<CommandSpec>;
}

export const commands: readonly CommandEntry[] = [
  {
    name: "check",
    summary: "check a keepalived.conf (like keepalived -t); exit 1 on errors",
    usage: "check [-f FILE | FILE] [--config-id ID]",
    load: async () => (await import("./check.ts")).checkCommand,
  },
  {
    name: "dump",
    summary: "print the resolved configuration (text, or stable JSON with --json)",
    usage: "dump [-f FILE | FILE] [--json] [--config-id ID]",
    load: async () => (await import("./dump.ts")).dumpCommand,
  },
  {
    name: "sniff",
    summary: "print every VRRP packet seen on an interface, decoded",
    usage: "sniff [-i IFACE] [--count N] [--json]",
    load: async () => (await import("./sniff.ts")).sniffCommand,
  },
  {
    name: "replay",
    summary:
      "replay a journal or one journal segment; print the timeline, --verify against recorded outputs and timers",
    usage: "replay JOURNAL [--json] [--verify] [--strict] [--force] [--report FILE.html]",
    load: async () => (await import("./replay.ts")).replayCommand,
  },
  {
    name: "run",
    summary: "run Vigil as a daemon in the foreground (logs on stderr)",
    usage:
      "run [-f FILE | FILE] [--config-id ID] [--journal DIR] [--pid-file PATH] [--log-format text|json] [--dry-run] [--status HOST:PORT|off] [--dump-dir DIR]",
    load: async () => (await import("./run.ts")).runCommand,
  },
  {
    name: "status",
    summary: "show a running daemon's instances (its status server)",
    usage: "status [--addr HOST:PORT] [--json]",
    load: async () => (await import("./status.ts")).statusCommand,
  },
  {
    name: "graph",
    summary: "print a state machine's chart (mermaid, SVG or Graphviz DOT), generated from its definition",
    usage: "graph [--machine vrrp-instance|sync-group|tracker] [--format mermaid|svg|dot]",
    load: async () => (await import("./graph.ts")).graphCommand,
  },
  {
    name: "simulate",
    summary: "run a cluster scenario under a virtual clock; print timeline, metrics and verdicts",
    usage: "simulate FILE [--seed N] [--json] [--report FILE.html] [--journal-dir DIR]",
    load: async () => (await import("./simulate.ts")).simulateCommand,
  },
  {
    name: "swarm",
    summary:
      "run seeded random clusters with faults; check safety, liveness and determinism; shrink failures",
    usage: "swarm [--seeds N] [--seed S] [--jobs J] [--duration D] [--out DIR] [--no-shrink] [--json]",
    load: async () => (await import("./swarm.ts")).swarmCommand,
  },
];
