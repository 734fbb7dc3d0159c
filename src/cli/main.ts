/**
 * `vigil` command-line entry: dispatches to the sub-commands in `commands.ts`, prints usage and
 * the version. Exit codes are the same for every command: 0 success, 1 what the command checks
 * failed, 64 usage error (EX_USAGE), 70 internal error (EX_SOFTWARE); command-specific ones are in
 * each command's --help. Never throws to its caller: an unexpected error becomes a message and 70.
 * `--version` and the command list load no command; a command's module (its `--help` included)
 * is imported only when that command is named (commands.ts). Pure apart from the `Io` sinks and
 * those imports.
 */

import { VIGIL_VERSION } from "../version.ts";
import { EX_USAGE } from "./args.ts";
import { commands } from "./commands.ts";
import { escapeText } from "./escape.ts";
import type { Io } from "./io.ts";

/** sysexits.h EX_SOFTWARE: an internal error. */
export const EX_SOFTWARE = 70;

export const usage = (): string =>
  [
    `vigil ${VIGIL_VERSION} — a keepalived-compatible VRRP daemon`,
    "",
    "usage: vigil <command> [options]",
    "",
    // A synopsis too long for the column gets its summary on the next line.
    ...commands.map((c) =>
      c.usage.length < 48
        ? `  ${c.usage.padEnd(48)} ${c.summary}`
        : `  ${c.usage}\n  ${"".padEnd(48)} ${c.summary}`,
    ),
    `  ${"help [COMMAND]".padEnd(48)} print this help, or a command's (also COMMAND --help)`,
    `  ${"--version".padEnd(48)} print the version`,
    "",
  ].join("\n");

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(usage());
    return EX_USAGE;
  }
  if (name === "-h" || name === "--help" || name === "help") {
    const topic = rest[0];
    if (topic === undefined || topic === "-h" || topic === "--help") {
      io.stdout(usage());
      return 0;
    }
    const entry = commands.find((c) => c.name === topic);
    if (entry === undefined || rest.length > 1) {
      io.stderr(`vigil help: unknown command '${escapeText(rest.join(" "))}'\n\n${usage()}`);
      return EX_USAGE;
    }
    return guarded(`vigil help ${entry.name}`, io, async () => {
      io.stdout((await entry.load()).help());
      return 0;
    });
  }
  if (name === "--version" || name === "-v" || name === "-V") {
    if (rest.length > 0) {
      io.stderr(`vigil: --version takes no arguments\n`);
      return EX_USAGE;
    }
    io.stdout(`vigil ${VIGIL_VERSION}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (entry === undefined) {
    io.stderr(`vigil: unknown command '${escapeText(name)}'\n\n${usage()}`);
    return EX_USAGE;
  }
  return guarded(`vigil ${name}`, io, async () => (await entry.load()).run(rest, io));
}

/** Runs `body`; an error thrown (a command's, or its module failing to load) becomes a message and 70. */
async function guarded(what: string, io: Io, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`${escapeText(`${what}: internal error: ${message}`)}\n`);
    return EX_SOFTWARE;
  }
}
