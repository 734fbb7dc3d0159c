/**
 * `vigil` command-line entry: dispatches to the sub-commands in `commands.ts`, prints usage and
 * the version. Never throws to its caller: an unexpected error becomes a message and exit code 70.
 */

import { VIGIL_VERSION } from "../version.ts";
import { commands } from "./commands.ts";
import type { Io } from "./io.ts";

const usage = (): string =>
  [
    `vigil ${VIGIL_VERSION} — a keepalived-compatible VRRP daemon`,
    "",
    "usage: vigil <command> [options]",
    "",
    ...commands.map((c) => `  ${c.usage.padEnd(44)} ${c.summary}`),
    `  ${"--version".padEnd(44)} print the version`,
    "",
  ].join("\n");

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    io.stdout(usage());
    return name === undefined ? 64 : 0;
  }
  if (name === "--version" || name === "-v") {
    io.stdout(`vigil ${VIGIL_VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr(`vigil: unknown command '${name}'\n\n${usage()}`);
    return 64;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`vigil ${name}: internal error: ${message}\n`);
    return 70;
  }
}
