/**
 * The real `ScriptEnv` for script security: stat/lstat/realpath from node:fs, users and groups from
 * /etc/passwd and /etc/group (the "files" NSS source; keepalived uses getpwnam_r, which may also
 * consult other sources), the daemon's uid/gid and PATH. Not pure (reads the file system).
 */
import { lstatSync, readFileSync, realpathSync, statSync } from "node:fs";
import type { ScriptEnv, StatResult } from "./script-check.ts";

/** The real file system and user database (/etc/passwd, /etc/group: the "files" NSS source). */
export function nodeScriptEnv(): ScriptEnv {
  const wrap = (
    f: () => { uid: number; gid: number; mode: number; dev: number; ino: number },
  ): StatResult => {
    try {
      const s = f();
      return { uid: s.uid, gid: s.gid, mode: s.mode, dev: s.dev, ino: s.ino };
    } catch (e) {
      return { errno: (e as NodeJS.ErrnoException).code ?? "EIO" };
    }
  };
  const table = (file: string): string[][] => {
    try {
      return readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((l) => l.split(":"));
    } catch {
      return [];
    }
  };
  return {
    stat: (p) => wrap(() => statSync(p)),
    lstat: (p) => wrap(() => lstatSync(p)),
    realpath: (p) => {
      try {
        return realpathSync.native(p);
      } catch (e) {
        return { errno: (e as NodeJS.ErrnoException).code ?? "EIO" };
      }
    },
    user: (name) => {
      const row = table("/etc/passwd").find((r) => r[0] === name);
      return row === undefined ? null : { uid: Number(row[2]), gid: Number(row[3]) };
    },
    group: (name) => {
      const row = table("/etc/group").find((r) => r[0] === name);
      return row === undefined ? null : Number(row[2]);
    },
    ourUid: process.getuid?.() ?? 0,
    ourGid: process.getgid?.() ?? 0,
    path: process.env.PATH ?? "/bin:/usr/bin",
  };
}
