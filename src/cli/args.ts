/**
 * The one argument parser of the command line (`node:util` `parseArgs`, strict), shared by every
 * `vigil` sub-command and the simulation scripts, so that help, usage errors and exit codes agree:
 * `-h`/`--help` prints the usage on stdout and exits 0; an unknown option, a missing or repeated
 * value, or the wrong number of positional arguments prints the message and the usage line on
 * stderr and exits 64 (EX_USAGE from sysexits.h). Pure apart from the `Io` sinks it is given.
 */
import { parseArgs } from "node:util";
import { escapeText } from "./escape.ts";
import type { CommandSpec, Io } from "./io.ts";

/** sysexits.h EX_USAGE: the command was used incorrectly. */
export const EX_USAGE = 64;

export interface OptionDef {
  readonly type: "string" | "boolean";
  readonly short?: string;
  /** The value's name in help (`FILE`), for string options. */
  readonly valueName?: string;
  readonly description: string;
}

export interface ArgsSpec {
  /** How the command is invoked, e.g. `vigil check`. */
  readonly invocation: string;
  /** The arguments part of the usage line, e.g. `[-f FILE | FILE] [--config-id ID]`. */
  readonly synopsis: string;
  readonly summary: string;
  readonly options: Readonly<Record<string, OptionDef>>;
  /** Allowed number of positional arguments (default: none). */
  readonly positionals?: { readonly min: number; readonly max: number; readonly name: string };
  /** Extra lines for --help (exit codes, notes). */
  readonly notes?: readonly string[];
}

export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

export type ParsedArgs =
  | { readonly kind: "ok"; readonly values: OptionValues; readonly positionals: readonly string[] }
  | { readonly kind: "help" }
  | { readonly kind: "error"; readonly message: string };

const isHelp = (a: string): boolean => a === "-h" || a === "--help";

/** Parses a command's arguments against its spec. Never throws. */
export function parseCommandArgs(spec: ArgsSpec, args: readonly string[]): ParsedArgs {
  const end = args.indexOf("--");
  if ((end < 0 ? args : args.slice(0, end)).some(isHelp)) return { kind: "help" };
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, def] of Object.entries(spec.options))
    options[name] = def.short === undefined ? { type: def.type } : { type: def.type, short: def.short };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true, tokens: true });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // Node's message goes on to explain `--`; the first sentence is the error.
    const code = (e as { code?: unknown }).code;
    return {
      kind: "error",
      message: code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ? (message.split(". ")[0] ?? message) : message,
    };
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== "option") continue;
    if (seen.has(t.name)) return { kind: "error", message: `option '--${t.name}' given more than once` };
    seen.add(t.name);
  }
  const { min, max, name } = spec.positionals ?? { min: 0, max: 0, name: "" };
  const n = parsed.positionals.length;
  if (n > max) {
    const extra = parsed.positionals[max] ?? "";
    return { kind: "error", message: `unexpected argument '${extra}'` };
  }
  if (n < min) return { kind: "error", message: `missing ${name}` };
  return { kind: "ok", values: parsed.values as OptionValues, positionals: parsed.positionals };
}

export const usageLine = (spec: ArgsSpec): string => `usage: ${spec.invocation} ${spec.synopsis}`.trimEnd();

/** The full --help text. */
export function helpText(spec: ArgsSpec): string {
  const rows = Object.entries(spec.options).map(([name, def]) => {
    const flag = `${def.short === undefined ? "    " : `-${def.short}, `}--${name}${def.valueName === undefined ? "" : ` ${def.valueName}`}`;
    return `  ${flag.padEnd(26)} ${def.description}`;
  });
  rows.push(`  ${"-h, --help".padEnd(26)} print this help and exit`);
  return [usageLine(spec), "", spec.summary, "", "options:", ...rows, ...(spec.notes ?? []), ""].join("\n");
}

/** The usage-error report: message, usage line and a pointer to --help. */
export const usageError = (spec: ArgsSpec, message: string): string =>
  `${spec.invocation}: ${escapeText(message)}\n${usageLine(spec)}\nTry '${spec.invocation} --help' for more information.\n`;

/** A decimal integer in [min, max] (no sign for non-negative ranges, no exponent), or an error message. */
export function parseIntegerArg(what: string, text: string, min: number, max: number): number | string {
  const value = /^-?\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    return `${what} must be an integer from ${min} to ${max}, got '${text}'`;
  return value;
}

/** A string option's value (undefined when absent). */
export const stringOption = (values: OptionValues, name: string): string | undefined => {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
};

export const flagOption = (values: OptionValues, name: string): boolean => values[name] === true;

/**
 * A sub-command whose arguments go through the shared parser: --help and usage errors are handled
 * here, the handler only sees valid arguments.
 */
export function defineCommand(
  name: string,
  spec: ArgsSpec,
  handler: (args: { values: OptionValues; positionals: readonly string[] }, io: Io) => Promise<number>,
): CommandSpec {
  return {
    name,
    summary: spec.summary,
    usage: `${name} ${spec.synopsis}`,
    help: () => helpText(spec),
    run: async (args, io) => {
      const parsed = parseCommandArgs(spec, args);
      if (parsed.kind === "help") {
        io.stdout(helpText(spec));
        return 0;
      }
      if (parsed.kind === "error") {
        io.stderr(usageError(spec, parsed.message));
        return EX_USAGE;
      }
      return handler(parsed, io);
    },
  };
}
