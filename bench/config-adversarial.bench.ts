/**
 * `vigil check` on the adversarial inputs of issue 7 (generators without a budget, recursive
 * macros, a 600 MB file), side by side with `keepalived -t` on the same files in one run. Goals
 * for Vigil on any input: ≤ 10 s wall, ≤ 512 MB peak RSS, ≤ 1 MB of diagnostics. keepalived is
 * given 10 s and reported as "still running" past that (it has no budget). Prints a Markdown table.
 * Run as root: `npx tsx bench/config-adversarial.bench.ts` (BENCH_BIG_MB, default 600). Not a test.
 * Skips (exit 0) when /usr/bin/time is missing; keepalived's column is empty without keepalived.
 * Always deletes its temp dir.
 */
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Run, TIME, timed } from "./timed.ts";

const REPO = join(import.meta.dirname, "..");
const KEEPALIVED = "/usr/sbin/keepalived";
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 600);

if (!existsSync(TIME)) {
  console.log(`skipped: ${TIME} is missing`);
  process.exit(0);
}

const lst = (v: string): string => `~LST(${v},0,1,2,3,4,5,6,7,8,9)`;
const inputs: Array<{ name: string; text?: string; big?: true }> = [
  {
    name: "7 nested ~LST (10 values each) on one line",
    text: `${["A", "B", "C", "D", "E", "F", "G"].map(lst).join(" ")} x \${A}\${B}\${C}\${D}\${E}\${F}\${G}\n`,
  },
  {
    name: "3 nested ~SEQ(…,1,1000)",
    text: `~SEQ(i,1,1000) ~SEQ(j,1,1000) ~SEQ(k,1,1000) x \${i}.\${j}.\${k}\n`,
  },
  { name: "2-line self-referencing macro", text: "$A=$A $A\n$A\n" },
  { name: "3-line self-referencing macro", text: "$A=$B $B\n$B=$A $A\n$A\n" },
  { name: `${BIG_MB} MB of comment lines`, big: true },
];

const dir = mkdtempSync(join(tmpdir(), "vigil-bench-adv-"));
const times = join(dir, "times");
const mb = (kb: number): string => (kb / 1024).toFixed(0);
const cell = (r: Run | undefined, limitS: number): string =>
  r === undefined
    ? "—"
    : `${r.timedOut ? `still running at ${limitS} s` : `${(r.wallMs / 1000).toFixed(2)} s`}, ${mb(r.maxRssKb)} MB, ${(r.outputBytes / 1024).toFixed(1)} KiB out`;

try {
  const rows: string[] = [];
  let ok = true;
  for (const input of inputs) {
    const file = join(dir, "k.conf");
    if (input.big) {
      const fd = openSync(file, "w");
      const chunk = Buffer.from(`# ${"x".repeat(77)}\n`.repeat(13_000));
      for (let written = 0; written < BIG_MB * 1024 * 1024; written += chunk.length) writeSync(fd, chunk);
      closeSync(fd);
    } else writeFileSync(file, input.text ?? "");
    const vigil = timed([process.execPath, join(REPO, "bin/vigil.js"), "check", file], {
      cwd: REPO,
      timesFile: times,
      timeoutS: 60,
      allowTimeout: true,
    });
    const ka = existsSync(KEEPALIVED)
      ? timed([KEEPALIVED, "-t", "-f", file], {
          cwd: dir,
          timesFile: times,
          timeoutS: 10,
          allowTimeout: true,
        })
      : undefined;
    const meets =
      !vigil.timedOut &&
      vigil.wallMs <= 10_000 &&
      vigil.maxRssKb <= 512 * 1024 &&
      vigil.outputBytes <= 1024 * 1024;
    ok &&= meets;
    rows.push(
      `| ${input.name} | ${cell(vigil, 60)} (exit ${vigil.status}) | ${meets ? "yes" : "**no**"} | ${cell(ka, 10)} |`,
    );
    rmSync(file, { force: true });
  }
  console.log("| input | vigil check: wall, peak RSS, output | within goals | keepalived -t (10 s limit) |");
  console.log("|---|---|---|---|");
  for (const r of rows) console.log(r);
  console.log(ok ? "\nall within goals (≤ 10 s, ≤ 512 MB, ≤ 1 MB of diagnostics)" : "\nGOAL MISSED");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
