/**
 * `vigil check` against `keepalived -t` on the same generated 10,000-instance configuration, side
 * by side in one run (the machine is shared and noisy, so only the ratios are meaningful). The
 * file is written to a temp dir; keepalived runs inside a fresh network namespace holding veth
 * interfaces eth0..eth39 (the instances' interfaces; there is no dummy driver here), under
 * `/usr/bin/time` for its CPU time and peak RSS. Rounds alternate keepalived, `vigil check` as a
 * process (`node bin/vigil.js`, which includes tsx's start-up and transpile) and an in-process
 * `loadConfig` of the same file. By default every sync group has `sync_group_tracking_weight`, so
 * both tools are quiet; BENCH_WARNINGS=1 leaves it out (10,000 warnings from each).
 * Run as root: `npx tsx bench/config-vs-keepalived.bench.ts` (BENCH_ROUNDS, default 5;
 * BENCH_INSTANCES, default 10,000). Not a test: prints a table. Skips (exit 0) when not root or
 * when keepalived, ip or /usr/bin/time is missing. Always deletes its namespace and temp dir.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { loadConfig } from "../src/config/load.ts";
import { generated } from "./config-gen.ts";
import { type Run, TIME, timed } from "./timed.ts";

const N = Number(process.env.BENCH_INSTANCES ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARNINGS = process.env.BENCH_WARNINGS === "1";
const INTERFACES = Math.ceil(N / 250);
const TIMEOUT_S = 120;
const KEEPALIVED = "/usr/sbin/keepalived";
const REPO = join(import.meta.dirname, "..");

const run = (argv: readonly string[], timesFile: string): Run =>
  timed(argv, { cwd: REPO, timesFile, timeoutS: TIMEOUT_S });

function ip(args: readonly string[], input?: string): void {
  const r = spawnSync("ip", args, { encoding: "utf8", ...(input === undefined ? {} : { input }) });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
}

function inProcess(file: string): Run {
  const c0 = cpuUsage();
  const t0 = performance.now();
  const result = loadConfig(file, { configId: "bench" });
  const wallMs = performance.now() - t0;
  const c = cpuUsage(c0);
  if (result.config?.instances.length !== N) throw new Error("loadConfig: unexpected result");
  return {
    wallMs,
    cpuMs: (c.user + c.system) / 1000,
    maxRssKb: 0,
    status: 0,
    outputLines: result.diagnostics.length,
    outputBytes: 0,
    timedOut: false,
  };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const range = (xs: readonly number[]): string =>
  `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;

function main(): void {
  const missing = [
    process.getuid?.() !== 0 ? "root" : "",
    existsSync(KEEPALIVED) ? "" : KEEPALIVED,
    existsSync(TIME) ? "" : TIME,
    spawnSync("ip", ["-V"]).status === 0 ? "" : "ip",
  ].filter((m) => m !== "");
  if (missing.length > 0) {
    console.log(`config-vs-keepalived: skipped, needs ${missing.join(", ")}`);
    return;
  }
  const version = spawnSync(KEEPALIVED, ["--version"], { encoding: "utf8" }).stderr.split("\n")[0];
  const dir = mkdtempSync(join(tmpdir(), "vigil-kb-"));
  const ns = `vg${process.pid % 10000}kb-ns`;
  let nsMade = false;
  try {
    const file = join(dir, "keepalived.conf");
    const text = generated(N, { syncGroupTrackingWeight: !WARNINGS });
    writeFileSync(file, text);
    ip(["netns", "add", ns]);
    nsMade = true;
    const batch: string[] = [];
    for (let i = 0; i < INTERFACES; i++)
      batch.push(`link add eth${i} type veth peer name p${i}`, `link set eth${i} up`, `link set p${i} up`);
    ip(["-n", ns, "-batch", "-"], `${batch.join("\n")}\n`);

    const times = join(dir, "times");
    const keepalivedArgv = ["ip", "netns", "exec", ns, KEEPALIVED, "-t", "-f", file];
    const vigilArgv = [process.execPath, "bin/vigil.js", "check", "-f", file];
    const runs = { keepalived: [] as Run[], vigil: [] as Run[], load: [] as Run[] };
    // One warm-up of each (page cache, tsx's transform cache), then alternating rounds.
    run(keepalivedArgv, times);
    run(vigilArgv, times);
    for (let round = 0; round < ROUNDS; round++) {
      const pair: Array<[keyof typeof runs, () => Run]> = [
        ["keepalived", () => run(keepalivedArgv, times)],
        ["vigil", () => run(vigilArgv, times)],
        ["load", () => inProcess(file)],
      ];
      if (round % 2 === 1) pair.reverse();
      for (const [name, run] of pair) runs[name].push(run());
    }
    const k = runs.keepalived;
    const v = runs.vigil;
    const l = runs.load;
    for (const [name, rs] of [
      ["keepalived -t", k],
      ["vigil check", v],
    ] as const)
      if (rs.some((r) => r.status !== (rs[0] as Run).status))
        throw new Error(`${name}: exit status varied between rounds`);

    const ratio = (a: readonly Run[], b: readonly Run[], key: "wallMs" | "cpuMs"): number[] =>
      a.map((r, i) => r[key] / (b[i] as Run)[key]);
    const row = (label: string, rs: readonly Run[], note: string): string =>
      `| ${label} | ${median(rs.map((r) => r.wallMs)).toFixed(0)} (${range(rs.map((r) => r.wallMs))}) | ` +
      `${median(rs.map((r) => r.cpuMs)).toFixed(0)} (${range(rs.map((r) => r.cpuMs))}) | ` +
      `${rs[0]?.maxRssKb ? `${(median(rs.map((r) => r.maxRssKb)) / 1024).toFixed(0)} MB` : "–"} | ${note} |`;
    const fmtRatio = (xs: number[]): string =>
      `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
    console.log(
      [
        `${N} instances on ${INTERFACES} veth interfaces, ${(text.length / 1e6).toFixed(1)} MB, ` +
          `${WARNINGS ? "with" : "without"} the 10,000 sync-group warnings; ${ROUNDS} alternating rounds; ` +
          `${version}; node ${process.version}`,
        "",
        "| run | wall ms, median (range) | cpu ms (user+sys), median (range) | max RSS | exit, output lines |",
        "|---|---|---|---|---|",
        row("`keepalived -t -f FILE` (in the netns)", k, `${k[0]?.status}, ${k[0]?.outputLines}`),
        row("`node bin/vigil.js check -f FILE`", v, `${v[0]?.status}, ${v[0]?.outputLines}`),
        row("`loadConfig(FILE)` in process", l, `–, ${l[0]?.outputLines} diagnostics`),
        "",
        `vigil check / keepalived -t, per round: wall ${fmtRatio(ratio(v, k, "wallMs"))}, cpu ${fmtRatio(ratio(v, k, "cpuMs"))}`,
        `loadConfig / keepalived -t, per round:  wall ${fmtRatio(ratio(l, k, "wallMs"))}, cpu ${fmtRatio(ratio(l, k, "cpuMs"))}`,
      ].join("\n"),
    );
  } finally {
    if (nsMade) spawnSync("ip", ["netns", "del", ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
