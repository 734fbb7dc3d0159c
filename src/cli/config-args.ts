/**
 * Argument parsing shared by `vigil check` and `vigil dump`: `-f FILE`, `--config-id ID`,
 * `--json`. Pure.
 */

export interface ConfigArgs {
  readonly file: string;
  readonly configId: string | undefined;
  readonly json: boolean;
}

/** Parses the options; returns an error message for anything it does not understand. */
export function parseConfigArgs(args: readonly string[], allowJson: boolean): ConfigArgs | string {
  let file: string | undefined;
  let configId: string | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "-f" || a === "--use-file") {
      file = args[++i];
      if (file === undefined) return `${a} needs a file name`;
    } else if (a.startsWith("--use-file=")) file = a.slice("--use-file=".length);
    else if (a === "-i" || a === "--config-id") {
      configId = args[++i];
      if (configId === undefined) return `${a} needs an id`;
    } else if (a.startsWith("--config-id=")) configId = a.slice("--config-id=".length);
    else if (a === "--json" && allowJson) json = true;
    else return `unknown option '${a}'`;
  }
  return { file: file ?? "/etc/keepalived/keepalived.conf", configId, json };
}
