/**
 * The daemon's pid file (`vigil run --pid-file PATH`, default /run/vigil.pid): two daemons on one
 * pid file never run at once. The file is created exclusively (`O_CREAT|O_EXCL`) holding our pid;
 * when it exists, the pid it holds is checked: a live process (signal 0 succeeds or is refused
 * with EPERM) means refusal, naming that pid; a pid that is not running, our own pid (a leftover
 * from an earlier process that had it) or text that is no pid is stale, and the file is replaced —
 * only if it still holds what was judged stale. `release()` removes the file only while it still
 * holds our pid. Not pure (the file system, signal 0); `isAlive` can be given for tests.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";

export type PidFileResult =
  | { readonly kind: "acquired"; readonly release: () => void }
  | { readonly kind: "running"; readonly pid: number }
  | { readonly kind: "error"; readonly message: string };

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid a pid file's text holds (`1234` with optional white space), or undefined. */
export function parsePid(text: string): number | undefined {
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  if (m === null) return undefined;
  const pid = Number(m[1]);
  return pid >= 1 && pid <= 0x7fffffff ? pid : undefined;
}

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;
const why = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if (errno(e) === "ENOENT") return undefined;
    throw e;
  }
};

/** Takes the pid file for `pid`; see the module comment. Never throws. */
export function acquirePidFile(
  path: string,
  pid: number = process.pid,
  isAlive: (pid: number) => boolean = processAlive,
): PidFileResult {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o644);
      try {
        writeSync(fd, `${pid}\n`);
      } finally {
        closeSync(fd);
      }
      const release = (): void => {
        try {
          if (parsePid(readText(path) ?? "") === pid) unlinkSync(path);
        } catch {
          /* already gone or unreadable: nothing of ours to remove */
        }
      };
      return { kind: "acquired", release };
    } catch (e) {
      if (errno(e) !== "EEXIST")
        return { kind: "error", message: `cannot create pid file ${path}: ${why(e)}` };
    }
    let text: string | undefined;
    try {
      text = readText(path);
    } catch (e) {
      return { kind: "error", message: `cannot read pid file ${path}: ${why(e)}` };
    }
    if (text === undefined) continue; // removed meanwhile: try again
    const holder = parsePid(text);
    if (holder !== undefined && holder !== pid && isAlive(holder)) return { kind: "running", pid: holder };
    try {
      // Stale: replace it, unless someone else replaced it since we read it.
      if (readText(path) === text) unlinkSync(path);
    } catch (e) {
      if (errno(e) !== "ENOENT")
        return { kind: "error", message: `cannot remove stale pid file ${path}: ${why(e)}` };
    }
  }
  return { kind: "error", message: `cannot take pid file ${path}: it keeps changing` };
}
