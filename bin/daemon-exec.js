// `vigil run`'s own memory settings. A daemon with 1,000 instances under Node's defaults grows to
// ≈ 140–160 MB: a 16 MB × 2 young generation kept full by a steady allocation rate, an old generation
// allowed to grow to several times its live size, and one glibc malloc arena per thread. The V8
// sizes can only be set when the heap is created, i.e. on node's command line, so bin/vigil.js
// replaces the process (execve, same PID: pid file, systemd and signals see one process) by node
// with DAEMON_NODE_FLAGS before the CLI loads, for `run` only — every other command starts as
// before. A flag the operator already gave (node's command line or NODE_OPTIONS) is left to them,
// and so is MALLOC_ARENA_MAX; the variable set here is removed again in the new process
// (`forgetExecEnv`), so notify scripts and checkers do not inherit it. If execve is not possible
// (no koffi, no glibc) the daemon runs with node's defaults. `daemonExec` and `forgetExecEnv`'s
// decisions are pure; `execDaemon` is not.

/**
 * V8 options of the daemon: a 1 MB semi-space; an old generation re-limited to 1.2 × its live size
 * (little reaches it — 0.01–0.04 MB/s at 10,000 adverts a second — so the limit costs little CPU
 * and decides how full the heap sits between full GCs; docs/benchmarks.md, scale).
 */
export const DAEMON_NODE_FLAGS = ["--max-semi-space-size=1", "--heap-growing-percent=20"];

/** Environment set for the daemon's own process only (glibc reads it at start), and the marker listing it. */
export const DAEMON_ENV = { MALLOC_ARENA_MAX: "1" };
export const EXEC_ENV_MARKER = "VIGIL_EXEC_ENV";

const optionName = (flag) =>
  flag
    .split("=")[0]
    .replace(/^--no-/, "--")
    .replaceAll("_", "-");

/**
 * What to exec for `argv` (process.argv): undefined when it is not `vigil run` (or only its `--help`)
 * or nothing is missing;
 * otherwise the new argv (without the executable) and the variables to add. Pure.
 */
export function daemonExec(argv, execArgv, env) {
  // `vigil run --help` only prints its usage: no daemon, no exec (and no koffi loaded).
  if (argv[2] !== "run" || argv.slice(3).some((a) => a === "--help" || a === "-h")) return undefined;
  const given = new Set(
    [...execArgv, ...(env.NODE_OPTIONS ?? "").split(/\s+/)].filter((a) => a.startsWith("--")).map(optionName),
  );
  const flags = DAEMON_NODE_FLAGS.filter((f) => !given.has(optionName(f)));
  if (flags.length === 0) return undefined;
  const addEnv = {};
  for (const [k, v] of Object.entries(DAEMON_ENV)) if (env[k] === undefined) addEnv[k] = v;
  const names = Object.keys(addEnv);
  if (names.length > 0) addEnv[EXEC_ENV_MARKER] = names.join(",");
  return { args: [...execArgv, ...flags, ...argv.slice(1)], env: addEnv };
}

/** The variables `execDaemon` set (named by the marker), to delete from `env`, the marker included. Pure. */
export function execEnvNames(env) {
  const listed = env[EXEC_ENV_MARKER];
  if (listed === undefined) return [];
  return [...listed.split(",").filter((n) => n in DAEMON_ENV), EXEC_ENV_MARKER];
}

/** Removes what `execDaemon` set from this process's environment (children do not inherit it). */
export function forgetExecEnv() {
  for (const name of execEnvNames(process.env)) delete process.env[name];
}

/**
 * Replaces this process with node running the same command plus the daemon's flags (see the module
 * text). Returns only when there is nothing to do or execve was not possible.
 */
export async function execDaemon() {
  const plan = daemonExec(process.argv, process.execArgv, process.env);
  if (plan === undefined) return;
  let koffi;
  try {
    koffi = (await import("koffi")).default;
  } catch {
    return;
  }
  try {
    const libc = koffi.load("libc.so.6");
    const fcntl = libc.func("int fcntl(int, int, ...)");
    const execve = libc.func("int execve(const char *, const char **, const char **)");
    // Node marks stdin/stdout/stderr close-on-exec: the new process must keep them.
    const F_GETFD = 1;
    const F_SETFD = 2;
    const FD_CLOEXEC = 1;
    for (const fd of [0, 1, 2]) {
      const flags = fcntl(fd, F_GETFD, "int", 0);
      if (flags >= 0 && (flags & FD_CLOEXEC) !== 0) fcntl(fd, F_SETFD, "int", flags & ~FD_CLOEXEC);
    }
    const env = Object.entries({ ...process.env, ...plan.env })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    execve(process.execPath, [process.execPath, ...plan.args, null], [...env, null]);
  } catch {
    // not possible here: run with node's defaults
  }
}
