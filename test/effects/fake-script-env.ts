/**
 * An in-memory `ScriptEnv` for script-security tests: a table of paths with owner, group and mode
 * (directories, files, symlinks with targets), users and groups. Parent directories must be listed.
 */
import type { FileStat, ScriptEnv, StatResult } from "../../src/effects/script-security.ts";

export interface FakeEntry {
  readonly type: "dir" | "file" | "link";
  readonly uid?: number;
  readonly gid?: number;
  /** Permission bits (with setuid/setgid/sticky); default 0o755 (links 0o777). */
  readonly perm?: number;
  /** Symlink target (absolute). */
  readonly target?: string;
}

const TYPE = { dir: 0o040000, file: 0o100000, link: 0o120000 } as const;

export function fakeEnv(
  entries: Readonly<Record<string, FakeEntry>>,
  extra: Partial<Pick<ScriptEnv, "ourUid" | "ourGid" | "path">> & {
    users?: Record<string, { uid: number; gid: number }>;
    groups?: Record<string, number>;
  } = {},
): ScriptEnv {
  const all: Record<string, FakeEntry> = { "/": { type: "dir" }, ...entries };
  const ino = new Map(Object.keys(all).map((p, i) => [p, i + 1]));
  const statOf = (p: string): FileStat => {
    const e = all[p] as FakeEntry;
    return {
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mode: TYPE[e.type] | (e.perm ?? (e.type === "link" ? 0o777 : 0o755)),
      dev: 1,
      ino: ino.get(p) ?? 0,
    };
  };
  const parentOk = (p: string): boolean => {
    const parent = p.slice(0, p.lastIndexOf("/")) || "/";
    return p === "/" || all[parent]?.type === "dir";
  };
  const resolve = (p: string, depth = 0): string | { errno: string } => {
    if (depth > 8) return { errno: "ELOOP" };
    const e = all[p];
    if (e === undefined || !parentOk(p)) return { errno: "ENOENT" };
    return e.type === "link" ? resolve(e.target as string, depth + 1) : p;
  };
  const lstat = (p: string): StatResult =>
    all[p] === undefined || !parentOk(p) ? { errno: "ENOENT" } : statOf(p);
  return {
    lstat,
    stat: (p) => {
      const r = resolve(p);
      return typeof r === "string" ? statOf(r) : r;
    },
    realpath: (p) => resolve(p),
    user: (n) =>
      extra.users?.[n] ??
      (n === "root" ? { uid: 0, gid: 0 } : n === "nobody" ? { uid: 65534, gid: 65534 } : null),
    group: (n) => extra.groups?.[n] ?? (n === "root" ? 0 : n === "nogroup" ? 65534 : null),
    ourUid: extra.ourUid ?? 0,
    ourGid: extra.ourGid ?? 0,
    path: extra.path ?? "/usr/bin:/bin",
  };
}
