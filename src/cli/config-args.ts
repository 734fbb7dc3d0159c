/**
 * The options `vigil check` and `vigil dump` share, in the shared parser's terms: the file as
 * `-f FILE`/`--use-file FILE` (keepalived's spelling) or as the one positional argument, and
 * `-i ID`/`--config-id ID`. Pure.
 */
import { type OptionDef, type OptionValues, stringOption } from "./args.ts";

export const DEFAULT_CONFIG_FILE = "/etc/keepalived/keepalived.conf";

export const configOptions: Readonly<Record<string, OptionDef>> = {
  "use-file": {
    type: "string",
    short: "f",
    valueName: "FILE",
    description: `configuration file (default ${DEFAULT_CONFIG_FILE}); FILE alone works too`,
  },
  "config-id": {
    type: "string",
    short: "i",
    valueName: "ID",
    description: "config id for @ID lines (default: host name)",
  },
};

export const configPositionals = { min: 0, max: 1, name: "FILE" } as const;

export interface ConfigArgs {
  readonly file: string;
  readonly configId: string | undefined;
}

/** The file and config id from parsed arguments, or a usage error message. */
export function configArgs(values: OptionValues, positionals: readonly string[]): ConfigArgs | string {
  const flag = stringOption(values, "use-file");
  const positional = positionals[0];
  if (flag !== undefined && positional !== undefined)
    return `give the file once, as -f FILE or as FILE (got '${flag}' and '${positional}')`;
  const file = flag ?? positional ?? DEFAULT_CONFIG_FILE;
  if (file === "") return "the file name is empty";
  return { file, configId: stringOption(values, "config-id") };
}
