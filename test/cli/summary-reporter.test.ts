/**
 * The summary line (test/support/summary.reporter.ts) agrees with vitest's exit status: a test
 * file that fails to load, a failing hook outside any test and an unhandled error each count as
 * failed. vitest runs as a child process on a throwaway project in a temp dir with its own config.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const vitestBin = join(root, "node_modules", "vitest", "vitest.mjs");
const reporter = join(root, "test", "support", "summary.reporter.ts");
const dirs: string[] = [];

/** Runs vitest on a temp project made of `files`; returns its exit status and summary line. */
function runProject(files: Record<string, string>): {
  status: number | null;
  summary: string;
  output: string;
} {
  const dir = mkdtempSync(join(tmpdir(), "vigil-reporter-"));
  dirs.push(dir);
  writeFileSync(
    join(dir, "vitest.config.mjs"),
    `import SummaryLineReporter from ${JSON.stringify(reporter)};\n` +
      `export default { test: { globals: true, include: ["*.check.mjs"], reporters: [new SummaryLineReporter()] } };\n`,
  );
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const r = spawnSync(
    process.execPath,
    [vitestBin, "run", "--root", dir, "--config", join(dir, "vitest.config.mjs")],
    {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, CI: "", FORCE_COLOR: "0", NO_COLOR: "1" },
      timeout: 120_000,
    },
  );
  const output = `${r.stdout}${r.stderr}`;
  const summary = output.split("\n").find((l) => l.startsWith("tests: ")) ?? "";
  return { status: r.status, summary, output };
}

const PASSING = `test("a", () => { expect(1).toBe(1); });\ntest("b", () => {});\n`;

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("summary line", () => {
  it("counts plain passes, failures and skips", () => {
    const r = runProject({
      "ok.check.mjs": PASSING,
      "bad.check.mjs": `test("x", () => { expect(1).toBe(2); });\ntest.skip("s", () => {});\n`,
    });
    expect(r.summary).toBe("tests: 2 passed, 1 failed, 1 skipped");
    expect(r.status).toBe(1);
  });

  it("counts a test file that throws at import as failed", () => {
    const r = runProject({
      "ok.check.mjs": PASSING,
      "broken.check.mjs": `throw new Error("cannot load this suite");\n`,
    });
    expect(r.status).toBe(1);
    expect(r.summary).toBe("tests: 2 passed, 1 failed, 0 skipped");
  });

  it("counts a file whose describe() throws after collecting some tests as failed", () => {
    const r = runProject({
      "ok.check.mjs": PASSING,
      "half.check.mjs": `describe("d", () => { test("t", () => {}); throw new Error("boom in describe"); });\n`,
    });
    expect(r.status).toBe(1);
    expect(r.summary).toMatch(/^tests: \d+ passed, [1-9]\d* failed, \d+ skipped$/);
  });

  it("counts a failing beforeAll hook (its tests never run) as failed", () => {
    const r = runProject({
      "ok.check.mjs": PASSING,
      "setup.check.mjs": `describe("d", () => { beforeAll(() => { throw new Error("Cannot find module tsx"); }); test("t1", () => {}); test("t2", () => {}); });\n`,
    });
    expect(r.status).toBe(1);
    expect(r.summary).toMatch(/^tests: 2 passed, [1-9]\d* failed, \d+ skipped$/);
  });

  it("counts a failing afterAll hook (outside any test) as failed", () => {
    const r = runProject({
      "hook.check.mjs": `afterAll(() => { throw new Error("cleanup failed"); });\ntest("t", () => {});\n`,
    });
    expect(r.status).toBe(1);
    expect(r.summary).toBe("tests: 1 passed, 1 failed, 0 skipped");
  });

  it("counts an unhandled error as failed", () => {
    const r = runProject({
      "leak.check.mjs": `test("t", () => { setTimeout(() => { throw new Error("unhandled"); }, 0); return new Promise((r) => setTimeout(r, 50)); });\n`,
    });
    expect(r.status).toBe(1);
    expect(r.summary).toMatch(/^tests: \d+ passed, [1-9]\d* failed, \d+ skipped$/);
  });
});
