/**
 * Start-up cost of the `vigil` CLI beside `node -e 0` (issue 11): wall time p50 and peak RSS of
 * `vigil --version`, `vigil --help`, `vigil check -f` a one-instance seed config and the bundled
 * example, with `keepalived -t` on the same seed config for reference. Runs are interleaved (one of
 * each command per round, the order rotating every round) so a busy shared machine slows every
 * command alike, and ratios are taken to node's p50 of the same run. Goals: `--version` ≤ 1.5×
 * and `check` ≤ 3× node's wall, both ≤ 60 MB RSS.
 *
 * How it measures: wall time is `spawnSync` from start to exit, in separate timed rounds with no
 * instrumentation. Peak RSS comes from other rounds in which each node process is started with a
 * preload (`node -r rss-hook.cjs`) that writes its VmHWM (peak resident set of its own address
 * space, /proc/self/status) to fd 3 on exit. Not getrusage's maxrss: Linux folds the address space
 * the child had between fork and exec — a copy of this benchmark's — into it, so it never reads
 * below this process's RSS. keepalived's comes from
 * `/usr/bin/time -f %M` when that exists ("—" otherwise). `--bin PATH [--bin-label TEXT]` adds
 * rows for another bin/vigil.js (e.g. in a clone of an older commit, to show a before/after).
 * `--write` replaces the "Start-up" section of docs/benchmarks.md with the table.
 *
 * `npm run bench:startup -- [--rounds N] [--bin PATH [--bin-label TEXT]] [--write]`. Not a test;
 * builds dist/ first. Deletes its temp dir.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildDist } from "../bin/build.ts";
import { repoRoot, vigilBin } from "../test/netns/support/vigil.ts";

const KEEPALIVED = "/usr/sbin/keepalived";
const TIME = "/usr/bin/time";
const SECTION = "## Start-up";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "15" },
    bin: { type: "string" },
    "bin-label": { type: "string" },
    write: { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 3) throw new Error("--rounds must be an integer ≥ 3");

const SEED_CONFIG = `! One instance: the seed configuration of the start-up benchmark.
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.18.0.100/24
    }
}
`;

interface Case {
  readonly label: string;
  /** argv; node commands get the RSS preload inserted after argv[0] in the RSS rounds. */
  readonly argv: readonly string[];
  readonly node: boolean;
  /** Exit statuses that are a successful run. */
  readonly ok: readonly number[];
}

interface Sample {
  readonly wallMs: number[];
  readonly rssKb: number[];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const dir = mkdtempSync(join(tmpdir(), "vigil-bench-startup-"));
try {
  const built = await buildDist();
  process.stderr.write(`dist/ built (${built.written} files written)\n`);
  const seed = join(dir, "seed.conf");
  writeFileSync(seed, SEED_CONFIG);
  const hook = join(dir, "rss-hook.cjs");
  writeFileSync(
    hook,
    'process.on("exit", () => { try { const fs = require("node:fs"); const m = /VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8")); fs.writeSync(3, m ? m[1] : ""); } catch {} });\n',
  );
  const example = join(repoRoot, "examples/keepalived.conf");
  const node = process.execPath;
  const cases: Case[] = [
    { label: "`node -e 0`", argv: [node, "-e", "0"], node: true, ok: [0] },
    { label: "`vigil --version`", argv: [node, vigilBin, "--version"], node: true, ok: [0] },
    { label: "`vigil --help`", argv: [node, vigilBin, "--help"], node: true, ok: [0] },
    {
      label: "`vigil check -f seed.conf` (1 instance)",
      argv: [node, vigilBin, "check", "-f", seed],
      node: true,
      ok: [0],
    },
    {
      label: "`vigil check -f examples/keepalived.conf`",
      argv: [node, vigilBin, "check", "-f", example],
      node: true,
      ok: [0],
    },
  ];
  if (values.bin !== undefined) {
    const other = values.bin;
    const name = values["bin-label"] ?? other;
    cases.push(
      { label: `${name}: \`vigil --version\``, argv: [node, other, "--version"], node: true, ok: [0] },
      {
        label: `${name}: \`vigil check -f seed.conf\``,
        argv: [node, other, "check", "-f", seed],
        node: true,
        ok: [0],
      },
    );
  }
  const haveKeepalived = existsSync(KEEPALIVED);
  if (haveKeepalived)
    cases.push({
      label: "`keepalived -t -f seed.conf`",
      argv: [KEEPALIVED, "-t", "-f", seed],
      node: false,
      ok: [0],
    });

  const samples = new Map<Case, Sample>(cases.map((c) => [c, { wallMs: [], rssKb: [] }]));
  const runOnce = (c: Case, measureRss: boolean): void => {
    const s = samples.get(c);
    if (s === undefined) return;
    if (!measureRss) {
      const t0 = performance.now();
      const r = spawnSync(c.argv[0] ?? "", c.argv.slice(1), { cwd: repoRoot, stdio: "ignore" });
      const wallMs = performance.now() - t0;
      if (r.status === null || !c.ok.includes(r.status))
        throw new Error(`${c.argv.join(" ")}: exit status ${r.status} (${r.signal ?? "no signal"})`);
      s.wallMs.push(wallMs);
      return;
    }
    if (c.node) {
      const r = spawnSync(c.argv[0] ?? "", ["-r", hook, ...c.argv.slice(1)], {
        cwd: repoRoot,
        stdio: ["ignore", "ignore", "ignore", "pipe"],
      });
      const kb = Number(r.output[3]?.toString() ?? "");
      if (Number.isFinite(kb) && kb > 0) s.rssKb.push(kb);
    } else if (existsSync(TIME)) {
      const out = join(dir, "time.txt");
      spawnSync(TIME, ["-f", "%M", "-o", out, ...c.argv], { cwd: repoRoot, stdio: "ignore" });
      const kb = Number(readFileSync(out, "utf8").trim().split("\n").at(-1));
      if (Number.isFinite(kb) && kb > 0) s.rssKb.push(kb);
    }
  };
  // One warm-up of each (page cache), then interleaved rounds with a rotating order.
  for (const c of cases) runOnce(c, false);
  for (const s of samples.values()) s.wallMs.length = 0;
  const rssRounds = Math.max(3, Math.ceil(rounds / 3));
  for (let round = 0; round < rounds; round++)
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + round) % cases.length];
      if (c !== undefined) runOnce(c, false);
    }
  for (let round = 0; round < rssRounds; round++) for (const c of cases) runOnce(c, true);

  const nodeP50 = median(samples.get(cases[0] as Case)?.wallMs ?? []);
  const rows = cases.map((c) => {
    const s = samples.get(c) ?? { wallMs: [], rssKb: [] };
    const p50 = median(s.wallMs);
    const rss = s.rssKb.length === 0 ? "—" : `${(Math.max(...s.rssKb) / 1024).toFixed(1)} MB`;
    return `| ${c.label} | ${p50.toFixed(1)} ms | ${(p50 / nodeP50).toFixed(2)}× | ${rss} |`;
  });
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const when = new Date().toISOString().slice(0, 10);
  const table = [
    `Measured ${when}, node ${process.version}, ${cpu} (${cpus().length} vCPU, shared; load average ${loadavg()[0]?.toFixed(1)} at the end), \`npm run bench:startup${
      process.argv.length > 2
        ? ` -- ${process.argv
            .slice(2)
            .map((a) => (/\s/.test(a) ? JSON.stringify(a) : a))
            .join(" ")}`
        : ""
    }\` (${rounds} interleaved rounds for wall time, ${rssRounds} for RSS):`,
    "",
    "| command | wall p50 | × node | max RSS |",
    "|---|---|---|---|",
    ...rows,
  ].join("\n");
  process.stdout.write(`${table}\n`);
  if (values.write) writeSection(table);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** Replaces (or appends) the "Start-up" section of docs/benchmarks.md; other sections stay. */
function writeSection(table: string): void {
  const path = join(repoRoot, "docs/benchmarks.md");
  const doc = readFileSync(path, "utf8");
  const body = [
    SECTION,
    "",
    "Command: `npm run bench:startup` (bench/startup.bench.ts). Goals (issue 11): `vigil --version` ≤ 1.5×",
    "and `vigil check -f` a one-instance config ≤ 3× the wall time of `node -e 0` measured in the same",
    "run, both ≤ 60 MB peak RSS. Runs are interleaved, one of each command per round in a rotating",
    "order, so load from other work on the shared machine falls on every command alike; the ratio is",
    "to node's p50 of the same run. Wall time is spawn to exit of an uninstrumented run. Peak RSS is",
    "VmHWM from /proc/self/status, written on exit by a `node -r` preload, in separate rounds (not",
    "getrusage's maxrss, which on Linux also counts the benchmark's own pages the child shared",
    "between fork and exec); keepalived's is `/usr/bin/time -f %M`. `vigil` is `node bin/vigil.js`,",
    "the compiled CLI in dist/ (bin/build.ts). Rows labelled with a commit come from `--bin` pointing",
    "at bin/vigil.js in a clone of that commit after `npm ci` (1414d66: the CLI run through tsx).",
    "",
    table,
    "",
  ].join("\n");
  const start = doc.indexOf(`\n${SECTION}\n`);
  let next: string;
  if (start < 0) next = `${doc.trimEnd()}\n\n${body}`;
  else {
    const after = doc.indexOf("\n## ", start + 1);
    next = `${doc.slice(0, start + 1)}${body}${after < 0 ? "" : doc.slice(after)}`;
  }
  writeFileSync(path, next);
}
