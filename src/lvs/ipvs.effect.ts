/**
 * The IPVS effect actor: it performs each checker step's IPVS operations as one `ipvsadm -R` batch
 * (stdin, one line per IPVS call: a virtual_server group's operation is one per group service), in order, one batch at a time (a mailbox), and records every
 * line. At start it looks for IPVS (`/proc/net/ip_vs`); a kernel without it (as in this sandbox)
 * gets one clear log line (keepalived's `IPVS: Can't initialize ipvs: …`, naming the missing file) —
 * and the port only records: the checkers keep running, where keepalived 2.2.7's checker process
 * exits (`pid … exited with permanent error FATAL`, observed on this kernel). ipvsadm cannot
 * validate text without IPVS either (it initialises libipvs before parsing). A failing batch is
 * logged with ipvsadm's own message and reported to `onError`; a missing ipvsadm binary turns the
 * port into a recording one, said once. Not pure: files and child processes.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { VirtualServer } from "../config/types.ts";
import { type IpvsOp, ipvsLines } from "./ipvsadm.ts";

/** Runs `argv` with `stdin`; resolves with the exit status (null: could not start) and stderr. */
export type CommandRunner = (
  argv: readonly string[],
  stdin: string,
) => Promise<{ readonly status: number | null; readonly stderr: string; readonly errno?: string }>;

export const spawnRunner: CommandRunner = (argv, stdin) =>
  new Promise((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    child.once("error", (e: NodeJS.ErrnoException) =>
      resolve({ status: null, stderr: "", errno: e.code ?? "EIO" }),
    );
    child.once("close", (status) => resolve({ status, stderr }));
    child.stdin.on("error", () => {});
    child.stdin.end(stdin);
  });

export interface IpvsPortOptions {
  readonly virtualServers: readonly VirtualServer[];
  readonly log: (line: string) => void;
  /** Where to look for IPVS (default /proc/net/ip_vs). */
  readonly procPath?: string;
  readonly ipvsadm?: string;
  readonly run?: CommandRunner;
  /** A batch ipvsadm refused: its lines and ipvsadm's message. */
  readonly onError?: (vs: number, lines: readonly string[], message: string) => void;
  /** `vigil run --dry-run`: IPVS is neither looked for nor touched; each line goes here instead. */
  readonly dryRun?: (line: string) => void;
}

export interface IpvsPort {
  /** Whether batches reach the kernel (false: recording only). */
  readonly live: boolean;
  /** Every line produced, in order (both modes). */
  readonly recorded: readonly string[];
  apply(vs: number, ops: readonly IpvsOp[]): void;
  /** Resolves when every batch queued so far has been performed. */
  idle(): Promise<void>;
}

export function createIpvsPort(opts: IpvsPortOptions): IpvsPort {
  const procPath = opts.procPath ?? "/proc/net/ip_vs";
  const run = opts.run ?? spawnRunner;
  const ipvsadm = opts.ipvsadm ?? "ipvsadm";
  const recorded: string[] = [];
  let live = opts.dryRun === undefined && existsSync(procPath);
  let queue: Promise<void> = Promise.resolve();
  if (!live && opts.dryRun === undefined && opts.virtualServers.length > 0)
    opts.log(
      `IPVS: Can't initialize ipvs: no ${procPath} (this kernel has no ip_vs module); health checkers keep running, IPVS changes are only recorded`,
    );
  const perform = async (vs: number, lines: readonly string[]): Promise<void> => {
    if (!live) return;
    const r = await run([ipvsadm, "-R"], `${lines.join("\n")}\n`);
    if (r.status === 0) return;
    if (r.status === null && r.errno === "ENOENT") {
      live = false;
      opts.log(`IPVS: ${ipvsadm} not found - IPVS changes are only recorded from now on`);
      return;
    }
    const message =
      r.stderr.trim().split("\n")[0] || `${ipvsadm} -R failed (${r.errno ?? `status ${r.status}`})`;
    opts.log(`IPVS: ${message}`);
    opts.onError?.(vs, lines, message);
  };
  return {
    get live() {
      return live;
    },
    recorded,
    apply(vs, ops) {
      const config = opts.virtualServers[vs];
      if (config === undefined) return;
      // A group's operation is one line per IPVS service of the group (every range address).
      const lines = ops.flatMap((op) => ipvsLines(config, op));
      if (lines.length === 0) return;
      recorded.push(...lines);
      if (opts.dryRun !== undefined) for (const line of lines) opts.dryRun(`ipvsadm ${line}`);
      else queue = queue.then(() => perform(vs, lines));
    },
    idle: () => queue,
  };
}
