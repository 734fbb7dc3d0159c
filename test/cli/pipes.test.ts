/**
 * A closed pipe ends the command quietly, as Unix tools do (`vigil replay J | head -1`): killed by
 * SIGPIPE (status 141 in the shell), no EPIPE stack trace, for every command that writes to stdout
 * or stderr. The real CLI (bin/vigil.js) is spawned with a pipe whose reading end is closed before
 * the command writes, or after the first line.
 */
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCase } from "../conformance/runner.ts";
import { tempDirForFile } from "../support/temp.ts";

const root = join(import.meta.dirname, "..", "..");
const bin = join(root, "bin", "vigil.js");
const dir = tempDirForFile("vigil-pipes-");

const journal = join(dir, "run.jsonl");
writeFileSync(
  journal,
  runCase(join(root, "test", "conformance", "cases", "30-script-rise-fall"), false).journal.text(),
);

/** A configuration whose dump is far larger than a pipe buffer (64 KiB). */
const bigConf = join(dir, "big.conf");
writeFileSync(
  bigConf,
  Array.from(
    { length: 200 },
    (_, i) =>
      `vrrp_instance VI_${i} {\n interface lo0\n virtual_router_id ${(i % 255) + 1}\n priority 100\n virtual_ipaddress {\n 198.18.${i % 250}.1/24\n 198.18.${i % 250}.2/24\n }\n}\n`,
  ).join(""),
);

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly firstLine: string;
}

/** Runs the CLI with `which` stream piped and closed: at once, or after the first line. */
function runClosed(
  args: readonly string[],
  which: "stdout" | "stderr",
  when: "at-once" | "after-first-line",
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"], cwd: root });
    const closed = which === "stdout" ? child.stdout : child.stderr;
    const other = which === "stdout" ? child.stderr : child.stdout;
    let stderr = "";
    let firstLine = "";
    other.on("data", (d: Buffer) => {
      if (which === "stdout") stderr += d.toString();
    });
    if (when === "at-once") closed.destroy();
    else
      closed.on("data", (d: Buffer) => {
        if (firstLine === "") {
          firstLine = d.toString().split("\n")[0] ?? "";
          closed.destroy();
        }
      });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stderr, firstLine }));
  });
}

const quietlyKilled = (o: Outcome): void => {
  expect(o.stderr).not.toMatch(/EPIPE|Error|at /);
  expect(o.signal === "SIGPIPE" || o.code === 141).toBe(true);
};

describe("a closed pipe ends the CLI quietly", () => {
  it.each([
    ["replay", ["replay", journal]],
    ["replay --json", ["replay", journal, "--json"]],
    ["dump", ["dump", bigConf]],
    ["dump --json", ["dump", "-f", bigConf, "--json"]],
    ["check", ["check", bigConf]],
    ["check --help", ["check", "--help"]],
  ])("vigil %s with stdout closed before it writes", async (_, args) => {
    quietlyKilled(await runClosed(args as string[], "stdout", "at-once"));
  });

  it.each([
    ["dump --json", ["dump", "-f", bigConf, "--json"]],
    ["dump", ["dump", bigConf]],
    ["replay", ["replay", journal]],
  ])("vigil %s | head -1", async (_, args) => {
    const o = await runClosed(args as string[], "stdout", "after-first-line");
    expect(o.firstLine.length).toBeGreaterThan(0);
    expect(o.stderr).not.toMatch(/EPIPE|Error|at /);
    // Output that fitted in the pipe before head left ends normally, like `cat small | head -1`.
    expect(o.signal === "SIGPIPE" || o.code === 141 || o.code === 0).toBe(true);
  });

  it("vigil check with stderr (its diagnostics) closed", async () => {
    // 200 instances on a missing interface: hundreds of warnings on stderr.
    const o = await runClosed(["check", bigConf], "stderr", "at-once");
    expect(o.signal === "SIGPIPE" || o.code === 141).toBe(true);
  });

  it("in a shell pipeline: only head's line, nothing on stderr, status 141 under pipefail", () => {
    const r = spawnSync("bash", ["-c", `set -o pipefail; node ${bin} dump -f ${bigConf} --json | head -1`], {
      cwd: root,
      encoding: "utf8",
    });
    expect(r.stdout).toBe("{\n");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(141);
  });
});
