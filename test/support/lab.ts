/**
 * The lab: a private network of Linux network namespaces for real-host tests and benchmarks.
 * `Lab.create()` makes `<prefix>-br` (holding bridge `br0`) and `<prefix>-h1..hN`, each host joined
 * to the bridge by a veth pair (`eth0` in the host, `hN` on the bridge), IPv4 addresses
 * `198.18.<subnet>.N/24` (198.18.0.0/15 only: the benchmarking range) and automatic IPv6
 * link-local addresses (DAD off, so they are usable at once). Multicast snooping is off so VRRP
 * multicast floods like on a plain switch.
 *
 * It also starts and stops processes inside the namespaces (always by PID), real keepalived with a
 * generated config and its own pid files in a temp dir, and tcpdump. `destroy()` stops every
 * process still inside the lab's namespaces and deletes them; `create()` first removes leftovers of
 * a crashed earlier run with the same prefix. Waiting is done by polling output with bounded
 * timeouts. Not pure: it is the test suite's edge to the host.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keepalivedPath } from "./env.ts";

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Runs a command to completion; never rejects (a failure is a non-zero code). */
export function run(cmd: string, args: readonly string[], timeoutMs = 20_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ stdout: String(stdout), stderr: String(stderr), code });
    });
  });
}

/** Runs a command and rejects with its stderr when it fails. */
export async function mustRun(cmd: string, args: readonly string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it returns a value other than undefined, or throws on timeout. */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const label = typeof what === "string" ? what : what();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    }
    await sleepMs(everyMs);
  }
}

/**
 * Writes `text` to $VIGIL_LAB_DUMP/<name> when that variable is set (to inspect a lab run), making
 * the directory if need be. A dump that cannot be written is reported on stderr, never thrown: it is
 * called in `finally` blocks, where a throw would hide the run's own outcome.
 */
export function dumpForInspection(name: string, text: string): void {
  const dir = process.env.VIGIL_LAB_DUMP;
  if (dir === undefined || dir === "") return;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), text);
  } catch (e) {
    process.stderr.write(
      `VIGIL_LAB_DUMP: ${name} not written: ${e instanceof Error ? e.message : String(e)}\n`,
    );
  }
}

/**
 * The SCHED_RR priority the labs run the daemons under test at, as root: Vigil as
 * contrib/vigil.service runs it, keepalived as its `vrrp_rt_priority` would — through `chrt`, not
 * `vrrp_rt_priority` itself, whose default RLIMIT_RTTIME (10 ms) killed keepalived's VRRP process
 * on this shared host as it entered MASTER. The lab host runs the rest of the suite beside them,
 * which at normal priority moves their timers by tens to hundreds of milliseconds.
 */
export const DAEMON_RT_PRIORITY: number | null = process.getuid?.() === 0 ? 10 : null;

/**
 * `command` under SCHED_RR at `rt` (`chrt --rr`: it execs, the PID is the command's), or as it is
 * (`rt` null).
 */
export const withRt = (command: readonly string[], rt = DAEMON_RT_PRIORITY): [string, ...string[]] => {
  const all = rt === null ? [...command] : ["chrt", "--rr", String(rt), ...command];
  return [all[0] ?? "", ...all.slice(1)];
};

/** A process started inside a namespace; its stdout and stderr are collected as text. */
export class LabProcess {
  private out = "";
  private err = "";
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.setEncoding("utf8").on("data", (s: string) => {
      this.out += s;
    });
    child.stderr?.setEncoding("utf8").on("data", (s: string) => {
      this.err += s;
    });
    this.exited = new Promise((resolve) => {
      child.on("close", (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : -1);
        resolve();
      });
      child.on("error", (e) => {
        this.err += `spawn error: ${e.message}\n`;
        this.exitCode = -1;
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get stdout(): string {
    return this.out;
  }
  get stderr(): string {
    return this.err;
  }
  /** stdout and stderr together (for logs that go to either). */
  get output(): string {
    return this.out + this.err;
  }
  get running(): boolean {
    return this.exitCode === undefined;
  }
  get code(): number | null | undefined {
    return this.exitCode;
  }

  /** Waits until the collected output matches `pattern`; returns the match. */
  waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return waitFor(
      () => `${this.label}: ${pattern} (output so far:\n${this.output.slice(-2000)})`,
      () => {
        const m = this.output.match(pattern);
        if (m !== null) return m;
        if (!this.running)
          throw new Error(`${this.label} exited (${this.exitCode}) before ${pattern}:\n${this.output}`);
        return undefined;
      },
      timeoutMs,
    );
  }

  /** Resolves when the process has exited, or rejects after `timeoutMs`. */
  async waitExit(timeoutMs = 10_000): Promise<number | null | undefined> {
    const timer = sleepMs(timeoutMs).then(() => "timeout" as const);
    const r = await Promise.race([this.exited.then(() => "done" as const), timer]);
    if (r === "timeout") throw new Error(`${this.label} did not exit within ${timeoutMs} ms`);
    return this.exitCode;
  }

  /** Stops the process by PID: `signal`, then SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 3_000): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || !this.running) return;
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const done = await Promise.race([this.exited.then(() => true), sleepMs(graceMs).then(() => false)]);
    if (!done) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
      await this.exited;
    }
  }
}

export interface LabHost {
  /** Namespace name, e.g. `vg123a-h1`. */
  readonly ns: string;
  /** 1-based host number; also the last octet of its IPv4 address. */
  readonly index: number;
  /** Interface name inside the host namespace. */
  readonly ifname: string;
  /** IPv4 address without prefix length. */
  readonly ipv4: string;
  readonly prefixLen: number;
}

export interface LabOptions {
  /** Unique per test file and run; ≤ 10 characters so every name fits. Default `vg<pid%10000>`. */
  readonly prefix?: string;
  readonly hosts: number;
  /** Third octet of 198.18.X.0/24; default derived from the prefix. */
  readonly subnet?: number;
}

export interface KeepalivedRun {
  readonly proc: LabProcess;
  readonly dir: string;
  readonly configPath: string;
}

/** A private bridged network of namespaces; see the module comment. */
export class Lab {
  private readonly procs: LabProcess[] = [];
  private readonly dirs: string[] = [];

  private constructor(
    readonly prefix: string,
    readonly subnet: number,
    readonly hosts: readonly LabHost[],
  ) {}

  get bridgeNs(): string {
    return `${this.prefix}-br`;
  }

  /** The host with 1-based number `n`. */
  host(n: number): LabHost {
    const h = this.hosts[n - 1];
    if (h === undefined) throw new Error(`lab ${this.prefix} has no host ${n}`);
    return h;
  }

  static async create(options: LabOptions): Promise<Lab> {
    const prefix = options.prefix ?? `vg${process.pid % 10000}`;
    if (!/^[a-z0-9]{2,10}$/.test(prefix)) throw new Error(`bad lab prefix '${prefix}'`);
    let hash = 0;
    for (const c of prefix) hash = (hash * 31 + c.charCodeAt(0)) % 251;
    const subnet = options.subnet ?? 1 + hash;
    const hosts: LabHost[] = [];
    for (let i = 1; i <= options.hosts; i++)
      hosts.push({
        ns: `${prefix}-h${i}`,
        index: i,
        ifname: "eth0",
        ipv4: `198.18.${subnet}.${i}`,
        prefixLen: 24,
      });
    await removeNamespaces(prefix);
    const lab = new Lab(prefix, subnet, hosts);
    try {
      await lab.build();
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  private async build(): Promise<void> {
    const br = this.bridgeNs;
    await mustRun("ip", ["netns", "add", br]);
    await this.nsRun(br, "ip", [
      "link",
      "add",
      "br0",
      "type",
      "bridge",
      "mcast_snooping",
      "0",
      "forward_delay",
      "0",
    ]);
    await this.nsRun(br, "ip", ["link", "set", "br0", "up"]);
    await this.nsRun(br, "ip", ["link", "set", "lo", "up"]);
    for (const h of this.hosts) {
      await mustRun("ip", ["netns", "add", h.ns]);
      await this.nsRun(h.ns, "sysctl", [
        "-q",
        "-w",
        "net.ipv6.conf.all.accept_dad=0",
        "net.ipv6.conf.default.accept_dad=0",
      ]);
      await mustRun("ip", [
        "link",
        "add",
        h.ifname,
        "netns",
        h.ns,
        "type",
        "veth",
        "peer",
        "name",
        `h${h.index}`,
        "netns",
        br,
      ]);
      await this.nsRun(br, "ip", ["link", "set", `h${h.index}`, "master", "br0", "up"]);
      await this.nsRun(h.ns, "ip", ["addr", "add", `${h.ipv4}/${h.prefixLen}`, "dev", h.ifname]);
      await this.nsRun(h.ns, "ip", ["link", "set", "lo", "up"]);
      await this.nsRun(h.ns, "ip", ["link", "set", h.ifname, "up"]);
    }
    for (const h of this.hosts) await this.linkLocal(h);
  }

  /** Runs a command in a namespace and returns its stdout; rejects on failure. */
  nsRun(ns: string, cmd: string, args: readonly string[]): Promise<string> {
    return mustRun("ip", ["netns", "exec", ns, cmd, ...args]);
  }

  /** Runs a command in a namespace; never rejects. */
  nsExec(ns: string, cmd: string, args: readonly string[], timeoutMs?: number): Promise<ExecResult> {
    return run("ip", ["netns", "exec", ns, cmd, ...args], timeoutMs);
  }

  /** The IPv6 link-local address of a host's interface, once it is usable (not tentative). */
  linkLocal(h: LabHost): Promise<string> {
    return waitFor(`link-local address on ${h.ns}`, async () => {
      const out = await this.nsRun(h.ns, "ip", [
        "-6",
        "-o",
        "addr",
        "show",
        "dev",
        h.ifname,
        "scope",
        "link",
      ]);
      const m = out.match(/inet6 (fe80::[0-9a-f:]+)\/64 scope link(?! tentative)/);
      return m?.[1];
    });
  }

  /** IPv4 addresses (without prefix length) currently on a host's interface. */
  async ipv4Addresses(h: LabHost): Promise<string[]> {
    const out = await this.nsRun(h.ns, "ip", ["-4", "-o", "addr", "show", "dev", h.ifname]);
    return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1] ?? "");
  }

  /**
   * Starts a process in a namespace (`ip netns exec` execs, so the PID is the command's own).
   * With `uid`, it runs through `setpriv --reuid/--regid --clear-groups`.
   */
  spawn(
    ns: string,
    cmd: string,
    args: readonly string[],
    options: { readonly label?: string; readonly uid?: number; readonly env?: NodeJS.ProcessEnv } = {},
  ): LabProcess {
    const argv =
      options.uid === undefined
        ? ["netns", "exec", ns, cmd, ...args]
        : [
            "netns",
            "exec",
            ns,
            "setpriv",
            `--reuid=${options.uid}`,
            `--regid=${options.uid}`,
            "--clear-groups",
            cmd,
            ...args,
          ];
    const child = spawn("ip", argv, {
      stdio: ["ignore", "pipe", "pipe"],
      env: options.env ?? process.env,
    });
    const proc = new LabProcess(options.label ?? `${ns}: ${cmd}`, child);
    this.procs.push(proc);
    return proc;
  }

  /**
   * Starts real keepalived (VRRP only, foreground, logging to the console) with `config` written
   * to a fresh temp dir that also holds its pid files.
   */
  keepalived(
    h: LabHost,
    config: string,
    label = `keepalived@${h.ns}`,
    /** SCHED_RR priority (`withRt`); null: ordinary scheduling. */
    rtPriority = DAEMON_RT_PRIORITY,
  ): KeepalivedRun {
    if (keepalivedPath === undefined) throw new Error("keepalived is not installed");
    const dir = mkdtempSync(join(tmpdir(), `${this.prefix}-ka-`));
    this.dirs.push(dir);
    const configPath = join(dir, "keepalived.conf");
    writeFileSync(configPath, config);
    const [file, ...args] = withRt(
      [
        keepalivedPath,
        "-n",
        "-l",
        "-D",
        "-f",
        configPath,
        "-p",
        join(dir, "k.pid"),
        "-r",
        join(dir, "v.pid"),
        "-c",
        join(dir, "c.pid"),
        "--vrrp",
      ],
      rtPriority,
    );
    const proc = this.spawn(h.ns, file, args, { label });
    return { proc, dir, configPath };
  }

  /**
   * Starts tcpdump on a host's interface (line-buffered, packets flushed at once) with a filter,
   * and resolves once it is listening. Extra args go before the filter (e.g. `-v`, `-w FILE`).
   */
  async tcpdump(
    h: Pick<LabHost, "ns" | "ifname">,
    extraArgs: readonly string[],
    filter = "ip proto 112 or ip6 proto 112",
  ): Promise<LabProcess> {
    const proc = this.spawn(h.ns, "tcpdump", ["-i", h.ifname, "-n", "-l", "-U", ...extraArgs, filter], {
      label: `tcpdump@${h.ns}`,
    });
    await proc.waitForOutput(/listening on/);
    return proc;
  }

  /**
   * A second interface `eth1` in a host: a veth whose peer (`peer`) sits up in `peerNs` (default: the
   * bridge namespace, unbridged); with `address` (CIDR) on it, and set up unless `up` is false.
   * Removed with the namespaces.
   */
  async secondInterface(
    h: LabHost,
    peer: string,
    options: { readonly peerNs?: string; readonly address?: string; readonly up?: boolean } = {},
  ): Promise<void> {
    const peerNs = options.peerNs ?? this.bridgeNs;
    await this.nsRun(h.ns, "ip", [
      "link",
      "add",
      "eth1",
      "type",
      "veth",
      "peer",
      "name",
      peer,
      "netns",
      peerNs,
    ]);
    await this.nsRun(peerNs, "ip", ["link", "set", peer, "up"]);
    if (options.address !== undefined)
      await this.nsRun(h.ns, "ip", ["addr", "add", options.address, "dev", "eth1"]);
    if (options.up !== false) await this.nsRun(h.ns, "ip", ["link", "set", "eth1", "up"]);
  }

  /** A temp dir removed by `destroy()`. */
  tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
    this.dirs.push(dir);
    return dir;
  }

  /** Stops every process this lab started, then anything left in its namespaces, then deletes them. */
  async destroy(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
    await removeNamespaces(this.prefix);
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Kills processes left inside `<prefix>-*` namespaces (by PID) and deletes those namespaces. */
async function removeNamespaces(prefix: string): Promise<void> {
  const list = await run("ip", ["netns", "list"]);
  const names = list.stdout
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(`${prefix}-`));
  for (const ns of names) {
    const pids = (await run("ip", ["netns", "pids", ns])).stdout.split(/\s+/).filter((s) => /^\d+$/.test(s));
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      for (const pid of pids) {
        try {
          process.kill(Number(pid), signal);
        } catch {
          /* gone */
        }
      }
      if (pids.length > 0 && signal === "SIGTERM") await sleepMs(300);
    }
    await run("ip", ["netns", "del", ns]);
  }
}
