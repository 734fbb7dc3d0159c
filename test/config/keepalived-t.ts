/**
 * Runs the real `keepalived -t` (2.2.7) on configuration files, for the differential tests
 * (keepalived-diff.test.ts on the fixtures, fuzz-differential.test.ts on mutants of them).
 *
 * keepalived runs as root inside a private network namespace that holds veth interfaces named like
 * the ones the configurations use (eth0..eth3, eth9, va): without them keepalived stops at
 * "Non-existent interface specified in configuration" before its semantic checks. keepalived is
 * never started as a daemon. Each run gets its own pid files and runs in its own process group,
 * killed by PID after 15 s.
 *
 * How its output is read (docs/keepalived-reference.md §1 "Errors"): exit 0 = clean; 5 = any error
 * or warning; 6 = script security (SECURITY VIOLATION); 143 = keepalived -t killed itself with
 * SIGTERM (2.2.7 does this when a script has a non-root user) — then only the printed messages
 * count. Each message is printed several times; they are deduplicated. Interface-existence lines
 * and the bare "Terminated" of the self-kill are dropped. Not pure: it is the tests' edge to the host.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { basename, dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { keepalivedPath } from "../support/env.ts";

/** Interfaces the configurations name; the namespace holds one veth of each name. */
export const LAB_INTERFACES = ["eth0", "eth1", "eth2", "eth3", "eth9", "va"];

const IGNORED = [/interface \S+ for .* doesn't exist/, /^Non-existent interface/, /^Terminated$/];

/**
 * Messages about facts of this host rather than the file: an interface, a script file or a user
 * that does not exist here. `vigil check` does not look at the host for these (item 12 and the
 * script checks are the CLI's host checks), so a run that prints one cannot be compared.
 */
const HOST_FACTS = [
  /interface \S+ for .* doesn't exist/,
  /^Non-existent interface/,
  /since not found\/accessible/,
  /Unable to set default user/,
  /Error setting global script uid\/gid/,
  /Cannot find script/,
  /^WARNING - script .* resolved by path search/,
  /Unknown (user|group)/,
  /Unable to set uid\/gid for script/,
  // counted only for check scripts that exist here (vigil check's host checks report it)
  /^SECURITY VIOLATION - check scripts are being executed/,
];

export interface KeepalivedRun {
  readonly code: number | null;
  readonly messages: readonly string[];
  /** Some message was about this host, not the file (see HOST_FACTS). */
  readonly hostDependent: boolean;
  /** The messages that name a line (`(FILE: Line N) text` or `(Line N) text`), as `N text`, deduplicated. */
  readonly located: readonly string[];
}

/** keepalived complains: a non-zero exit (other than its self-kill) or any message. */
export const complains = (k: KeepalivedRun): boolean =>
  (k.code !== 0 && k.code !== 143) || k.messages.length > 0;

/** Runs a command to completion, output ignored; resolves with its exit code. */
export const runQuiet = (cmd: string, args: readonly string[]): Promise<number | null> =>
  new Promise((resolve) => {
    const c = spawn(cmd, [...args], { stdio: "ignore" });
    c.on("close", (code) => resolve(code));
  });

/** Creates namespace `ns` with the lab interfaces (removing a leftover of that name first). */
export async function makeKeepalivedNs(ns: string): Promise<void> {
  await runQuiet("ip", ["netns", "del", ns]);
  if ((await runQuiet("ip", ["netns", "add", ns])) !== 0) throw new Error(`cannot create netns ${ns}`);
  for (const ifname of LAB_INTERFACES) {
    const code = await runQuiet("ip", [
      "-n",
      ns,
      "link",
      "add",
      ifname,
      "type",
      "veth",
      "peer",
      "name",
      `p${ifname}`,
    ]);
    if (code !== 0) throw new Error(`cannot create ${ifname} in ${ns}`);
    await runQuiet("ip", ["-n", ns, "link", "set", ifname, "up"]);
  }
  await runQuiet("ip", ["-n", ns, "link", "set", "lo", "up"]);
}

/**
 * keepalived in `ns` on `file` (run from the file's directory, config id lb1), `modeArgs` first, its
 * pid files at `pidPath(name)` so a run never touches the system's; in its own process group (signal
 * it with `process.kill(-pid, …)`). `output()`: stdout and stderr so far.
 */
export function spawnKeepalivedOn(
  ns: string,
  file: string,
  pidPath: (name: string) => string,
  modeArgs: readonly string[],
): { readonly child: ChildProcessByStdio<null, Readable, Readable>; readonly output: () => string } {
  const pidArgs = [
    "-p",
    pidPath("k.pid"),
    "-r",
    pidPath("v.pid"),
    "-c",
    pidPath("c.pid"),
    "-b",
    pidPath("b.pid"),
  ];
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      ns,
      keepalivedPath as string,
      ...modeArgs,
      "-f",
      basename(file),
      "-i",
      "lb1",
      ...pidArgs,
    ],
    { cwd: dirname(file), detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  const collect = (b: Buffer): void => {
    out += b.toString("latin1");
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  return { child, output: () => out };
}

/** Runs `keepalived -t` on `file` (from its own directory); `pidDir` holds this run's pid files. */
export function keepalivedTest(ns: string, file: string, pidDir: string): Promise<KeepalivedRun> {
  return new Promise((resolve) => {
    const { child, output } = spawnKeepalivedOn(ns, file, (n) => join(pidDir, n), ["-t"]);
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    }, 15_000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const raw = output()
        .split("\n")
        .map((l) => l.trim());
      const lines = [...new Set(raw.map((l) => l.replace(/^\([^)]*Line \d+\) /, "")))];
      const located = [
        ...new Set(
          raw.flatMap((l) => {
            const m = /^\((?:[^)]*: )?Line (\d+)\) (.*)$/.exec(l);
            return m === null ? [] : [`${m[1]} ${m[2]}`];
          }),
        ),
      ];
      const messages = lines.filter((l) => l !== "").filter((l) => !IGNORED.some((re) => re.test(l)));
      const hostDependent = lines.some((l) => HOST_FACTS.some((re) => re.test(l)));
      resolve({ code: code ?? (signal === "SIGTERM" ? 143 : null), messages, hostDependent, located });
    });
  });
}

/** Maps `items` through `fn` with at most `width` calls in flight; results keep the input order. */
export async function inPool<T, R>(
  items: readonly T[],
  width: number,
  fn: (x: T, slot: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (slot: number): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i] as T, slot);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, (_, s) => worker(s)));
  return out;
}
