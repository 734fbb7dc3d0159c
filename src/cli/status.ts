/**
 * `vigil status [--addr HOST:PORT] [--json]` — asks a running `vigil run` for its state over its
 * status server (`GET /status`, src/daemon/status-server.ts) and prints one line per instance in
 * keepalived's words (state, priority, master router), the sync groups and the daemon (version, pid,
 * config, journal), or with `--json` the document itself; the request, the decoding (effect Schema)
 * and the table are in status-client.ts, loaded when the command runs. Every string printed is
 * terminal-safe (escape.ts). Exit 0; 1 when the server cannot be reached or answers something
 * else; 64 usage. Not pure (one HTTP request).
 */
import { type ArgsSpec, defineCommand, EX_USAGE, flagOption, stringOption, usageError } from "./args.ts";
import { escapeText, jsonLine } from "./escape.ts";
import { formatHostPort, parseHostPort } from "./host-port.ts";
import type { CommandSpec } from "./io.ts";

export const DEFAULT_STATUS_ADDR = "127.0.0.1:9118";

const spec: ArgsSpec = {
  invocation: "vigil status",
  synopsis: "[--addr HOST:PORT] [--json]",
  summary: "show a running daemon's instances (its status server)",
  options: {
    addr: {
      type: "string",
      valueName: "HOST:PORT",
      description: `the daemon's --status address (default ${DEFAULT_STATUS_ADDR})`,
    },
    json: { type: "boolean", description: "print the /status JSON document" },
  },
  notes: [
    "",
    "exit status: 0 shown, 1 the daemon cannot be reached or answered something else, 64 usage error",
  ],
};

export const statusCommand: CommandSpec = defineCommand("status", spec, async ({ values }, io) => {
  const addr = parseHostPort("--addr", stringOption(values, "addr") ?? DEFAULT_STATUS_ADDR);
  if (typeof addr === "string") {
    io.stderr(usageError(spec, addr));
    return EX_USAGE;
  }
  const { decodeAnswer, fetchStatus, formatStatus } = await import("./status-client.ts");
  const url = `http://${formatHostPort(addr)}/status`;
  const got = await fetchStatus(addr);
  if ("error" in got) {
    io.stderr(
      `vigil status: cannot reach the daemon's status server at ${escapeText(url)}: ${escapeText(got.error)} (is 'vigil run' running, with --status ${escapeText(formatHostPort(addr))}?)\n`,
    );
    return 1;
  }
  let answer: ReturnType<typeof decodeAnswer>;
  try {
    answer = decodeAnswer(JSON.parse(got.body));
  } catch (e) {
    const why = e instanceof SyntaxError ? "not JSON" : "not a Vigil status document";
    io.stderr(`vigil status: ${escapeText(url)} answered ${why}\n`);
    return 1;
  }
  io.stdout(flagOption(values, "json") ? `${jsonLine(JSON.parse(got.body))}\n` : formatStatus(answer));
  return 0;
});
