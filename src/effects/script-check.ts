/**
 * The per-script half of keepalived 2.2.7's script security (lib/notify.c check_script_secure /
 * check_security / find_path / is_executable; keepalived.md §3.9): where a bare name is found in PATH,
 * whether the file is executable for the uid:gid it runs as, and, for scripts run as root, whether
 * every component of its path and realpath is owned by root and not writable by group (non-root
 * group) or others (sticky directories exempt). Log lines are keepalived's. Pure over an injectable
 * view of the file system and user database (`ScriptEnv`; src/effects/script-env.ts is the real one).
 */

export interface FileStat {
  readonly uid: number;
  readonly gid: number;
  /** st_mode with the file-type bits. */
  readonly mode: number;
  readonly dev: number;
  readonly ino: number;
}
/** A stat result, or the errno name ("ENOENT", "EACCES", ...). */
export type StatResult = FileStat | { readonly errno: string };

export interface ScriptEnv {
  stat(path: string): StatResult;
  lstat(path: string): StatResult;
  realpath(path: string): string | { readonly errno: string };
  /** getpwnam: uid and primary gid; null when the user does not exist. */
  user(name: string): { readonly uid: number; readonly gid: number } | null;
  /** getgrnam: gid; null when the group does not exist. */
  group(name: string): number | null;
  /** The daemon's own uid/gid (the default script user when keepalived_script does not exist). */
  readonly ourUid: number;
  readonly ourGid: number;
  /** PATH for bare script names (keepalived falls back to confstr(_CS_PATH)). */
  readonly path: string;
}

export type ScriptDiagnostic = {
  readonly severity: "error" | "warning" | "info";
  /** `security` = keepalived's CONFIG_SECURITY_ERROR (`keepalived -t` exits 6). */
  readonly kind: "security" | "script" | "user";
  readonly message: string;
};

/** The outcome of checking one script for the uid:gid it runs as. */
export interface CheckedScript {
  /** argv as keepalived runs it: argv[0] replaced by the PATH match or the resolved real path. */
  readonly argv: readonly string[];
  readonly uid: number;
  readonly gid: number;
  /** Found and a regular file (SC_ISSCRIPT). */
  readonly isScript: boolean;
  /** Some path component is unsafe for a root script (SC_INSECURE, logged even without the flag). */
  readonly insecure: boolean;
  /** Not to be run; `code` says why: ENOENT (not found), EACCES (not executable), UNSAFE. */
  readonly refused: {
    readonly code: "ENOENT" | "EACCES" | "UNSAFE" | "EINVAL";
    readonly message: string;
  } | null;
  /** keepalived's log lines for this script, in order. */
  readonly messages: readonly string[];
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const isDir = (m: number): boolean => (m & S_IFMT) === S_IFDIR;
const isReg = (m: number): boolean => (m & S_IFMT) === S_IFREG;
const isLnk = (m: number): boolean => (m & S_IFMT) === S_IFLNK;
const failed = <T>(r: T | { readonly errno: string }): r is { readonly errno: string } =>
  typeof r === "object" && r !== null && "errno" in r;

const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  ENOTDIR: "Not a directory",
  ELOOP: "Too many levels of symbolic links",
  ENAMETOOLONG: "File name too long",
};
const strerror = (errno: string): string => STRERROR[errno] ?? errno;

/** keepalived's is_executable(): root needs any x bit; else owner, group (primary gid only), other. */
export const isExecutable = (st: FileStat, uid: number, gid: number): boolean =>
  (uid === 0 && (st.mode & 0o111) !== 0) ||
  (uid === st.uid && (st.mode & 0o100) !== 0) ||
  (uid !== st.uid &&
    ((gid === st.gid && (st.mode & 0o010) !== 0) || (gid !== st.gid && (st.mode & 0o001) !== 0)));

/** Whether uid:gid may search (x) directory `st` — the permission realpath needs as the script user. */
const canSearch = (st: FileStat, uid: number, gid: number): boolean =>
  uid === 0 ||
  (uid === st.uid
    ? (st.mode & 0o100) !== 0
    : gid === st.gid
      ? (st.mode & 0o010) !== 0
      : (st.mode & 0o001) !== 0);

/** The directory prefixes of an absolute path, "/" first, then the path itself (check_security's walk). */
export const pathPrefixes = (path: string): string[] => {
  const out: string[] = [];
  for (let i = 0; i < path.length; i++) if (path[i] === "/") out.push(i === 0 ? "/" : path.slice(0, i));
  if (!path.endsWith("/")) out.push(path);
  return out;
};

/** check_security(): walks every component of `file`; returns flags and keepalived's log lines. */
function checkPath(
  file: string,
  scriptSecurity: boolean,
  env: ScriptEnv,
  log: string[],
): { notFound: boolean; inhibit: boolean; insecure: boolean } {
  const parts = pathPrefixes(file);
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    const st = env.lstat(parts[i] as string);
    if (failed(st)) {
      if (["EACCES", "ELOOP", "ENOENT", "ENOTDIR"].includes(st.errno))
        log.push(`check_script_secure could not find script '${file}' - disabling`);
      else
        log.push(
          `check_script_secure('${file}') returned errno ${st.errno} - ${strerror(st.errno)} - disabling`,
        );
      return { notFound: true, inhibit: false, insecure: false };
    }
    if ((!last && !isDir(st.mode)) || (last && !isReg(st.mode) && !isLnk(st.mode))) {
      log.push(`Wrong file type found in script path '${file}'.`);
      return { notFound: false, inhibit: true, insecure: false };
    }
    const writableByOthers =
      ((isDir(st.mode) && (st.mode & S_ISVTX) === 0) || isReg(st.mode)) &&
      ((st.gid !== 0 && (st.mode & 0o020) !== 0) || (st.mode & 0o002) !== 0);
    if (st.uid !== 0 || writableByOthers) {
      log.push(`Unsafe permissions found for script '${file}'${scriptSecurity ? " - disabling" : ""}.`);
      return { notFound: false, inhibit: scriptSecurity, insecure: true };
    }
  }
  return { notFound: false, inhibit: false, insecure: false };
}

/** find_path(): a bare name searched in PATH for a regular file executable by uid:gid. */
function findInPath(
  name: string,
  uid: number,
  gid: number,
  env: ScriptEnv,
): { path: string } | { errno: string } {
  let sawEacces = false;
  for (const dir of env.path.split(":")) {
    const candidate = dir === "" ? name : `${dir}/${name}`;
    const st = env.stat(candidate);
    if (failed(st)) continue;
    if (isReg(st.mode) && isExecutable(st, uid, gid)) return { path: candidate };
    sawEacces = true;
  }
  return { errno: sawEacces ? "EACCES" : "ENOENT" };
}

/** check_script_secure() + check_notify_script_secure() for one script run as uid:gid. */
export function checkScript(
  argv: readonly string[],
  uid: number,
  gid: number,
  scriptSecurity: boolean,
  env: ScriptEnv,
): CheckedScript {
  const log: string[] = [];
  const result = (
    finalArgv: readonly string[],
    flags: Partial<Pick<CheckedScript, "isScript" | "insecure">>,
    refused: CheckedScript["refused"],
  ): CheckedScript => ({
    argv: finalArgv,
    uid,
    gid,
    isScript: flags.isScript ?? false,
    insecure: flags.insecure ?? false,
    refused,
    messages: log,
  });
  const refuse = (code: NonNullable<CheckedScript["refused"]>["code"], message: string) => {
    log.push(message);
    return { code, message };
  };
  let file = argv[0] ?? "";
  const rest = argv.slice(1);
  if (file === "") return result(argv, {}, refuse("ENOENT", "Cannot find script  in path - disabling"));
  if (!file.includes("/")) {
    const found = findInPath(file, uid, gid, env);
    if (failed(found))
      return result(
        argv,
        {},
        refuse(
          "ENOENT",
          found.errno === "EACCES"
            ? `Permissions failure for script ${file} in path - disabling`
            : `Cannot find script ${file} in path - disabling`,
        ),
      );
    log.push(
      `WARNING - script \`${file}\` resolved by path search to \`${found.path}\`. Please specify full path.`,
    );
    file = found.path;
  }
  const real = env.realpath(file);
  let realErrno = failed(real) ? real.errno : null;
  if (!failed(real) && uid !== 0) {
    // realpath runs with the script's euid/egid: every directory on the way must be searchable.
    for (const dir of pathPrefixes(real).slice(0, -1)) {
      const st = env.stat(dir);
      if (failed(st) || !canSearch(st, uid, gid)) {
        realErrno = "EACCES";
        break;
      }
    }
  }
  if (failed(real) || realErrno !== null)
    return result(
      argv,
      {},
      refuse("ENOENT", `Script ${file} cannot be accessed - ${strerror(realErrno ?? "ENOENT")}`),
    );
  // Keep the name the script was called by when a symlink points to a file of another name.
  let runPath = real;
  let realFilePath: string | null = null;
  if (file !== real) {
    const origName = file.slice(file.lastIndexOf("/") + 1);
    const realName = real.slice(real.lastIndexOf("/") + 1);
    if (origName !== realName) {
      const candidate = real.slice(0, real.lastIndexOf("/") + 1) + origName;
      const a = env.stat(real);
      const b = env.stat(candidate);
      if (!failed(a) && !failed(b) && a.dev === b.dev && a.ino === b.ino) {
        runPath = candidate;
        realFilePath = real;
      }
    }
  }
  const finalArgv = [runPath, ...rest];
  const st = env.stat(realFilePath ?? runPath);
  if (failed(st))
    return result(finalArgv, {}, refuse("ENOENT", `Unable to access script \`${runPath}\` - disabling`));
  let insecure = false;
  let needProtection = false;
  if (isExecutable(st, uid, gid)) {
    needProtection =
      uid === 0 ||
      gid === 0 ||
      (st.uid === 0 && (st.mode & 0o100) !== 0 && (st.mode & S_ISUID) !== 0) ||
      (st.gid === 0 && (st.mode & 0o010) !== 0 && (st.mode & S_ISGID) !== 0);
  } else {
    return result(
      finalArgv,
      { isScript: true },
      refuse(
        "EACCES",
        `WARNING - script '${runPath}' is not executable for uid:gid ${uid}:${gid} - disabling.`,
      ),
    );
  }
  if (needProtection) {
    for (const p of realFilePath === null ? [runPath] : [runPath, realFilePath]) {
      const r = checkPath(p, scriptSecurity, env, log);
      insecure ||= r.insecure;
      if (r.notFound || r.inhibit) {
        const code = r.notFound ? "ENOENT" : "UNSAFE";
        return result(finalArgv, { isScript: true, insecure }, { code, message: log.at(-1) as string });
      }
    }
  }
  return result(finalArgv, { isScript: true, insecure }, null);
}
