/**
 * The real process's `Io` for bin/vigil.js, with the Unix behaviour on a closed pipe: when the
 * reader goes away (`vigil replay J | head -1`), writing fails with EPIPE; the command then stops
 * quietly the way Unix tools do, killed by SIGPIPE (the shell reports status 141), instead of an
 * unhandled 'error' event with a stack trace. Node ignores SIGPIPE, so the default action is
 * restored before the signal is raised. Not pure (process streams, signals).
 */
import type { Io } from "./io.ts";

/** 128 + SIGPIPE: the status a shell reports for a process killed by SIGPIPE. */
export const EXIT_BROKEN_PIPE = 141;

/** Ends the process as if killed by SIGPIPE (falls back to exit status 141). */
export function dieOfBrokenPipe(): never {
  // Adding then removing a listener leaves SIGPIPE at its default action (terminate).
  const noop = (): void => {};
  process.on("SIGPIPE", noop);
  process.off("SIGPIPE", noop);
  process.kill(process.pid, "SIGPIPE");
  process.exit(EXIT_BROKEN_PIPE);
}

/** Io on process.stdout / process.stderr; a broken pipe on either ends the process quietly. */
export function processIo(): Io {
  const onError = (error: NodeJS.ErrnoException): void => {
    if (error.code === "EPIPE") dieOfBrokenPipe();
    throw error;
  };
  process.stdout.on("error", onError);
  process.stderr.on("error", onError);
  const sink =
    (stream: NodeJS.WriteStream) =>
    (text: string): void => {
      if (!stream.destroyed) stream.write(text);
    };
  return { stdout: sink(process.stdout), stderr: sink(process.stderr) };
}
