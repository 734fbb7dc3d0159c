/**
 * The command line's view of the outside world: where text goes and how a command reports.
 * Commands take an `Io` instead of touching `process` so tests can run them in-process. Pure types.
 */
export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** A sub-command: arguments after its name, the I/O sinks; resolves to the process exit code. */
export type Command = (args: readonly string[], io: Io) => Promise<number>;

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** The usage line without the program name, e.g. `check [-f FILE | FILE] [--config-id ID]`. */
  readonly usage: string;
  /** The full --help text. */
  readonly help: () => string;
  readonly run: Command;
}
