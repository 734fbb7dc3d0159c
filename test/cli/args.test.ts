/**
 * One parser and one convention for every command: `--help` prints the usage on stdout and exits
 * 0; usage errors print on stderr and exit 64 (EX_USAGE); bare `vigil` prints the usage on stderr
 * and exits 64; `vigil check FILE` works like `-f FILE`; the simulation script validates its
 * numbers the same way; src/version.ts is tracked, not git-ignored, and matches package.json.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCommandArgs, parseIntegerArg } from "../../src/cli/args.ts";
import { commands } from "../../src/cli/commands.ts";
import { main } from "../../src/cli/main.ts";
import { VIGIL_VERSION } from "../../src/version.ts";

const root = join(import.meta.dirname, "..", "..");

const run = async (argv: string[]) => {
  let out = "";
  let err = "";
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
};

// Every registered command, so a new one is covered without editing this file.
const NAMES = commands.map((c) => c.name);

describe("vigil COMMAND --help", () => {
  it("the registry lists the commands this suite was written for, and more may come", () => {
    expect(NAMES).toEqual(expect.arrayContaining(["check", "dump", "replay", "run", "sniff", "status"]));
  });
  it.each(
    NAMES.flatMap((n) => [
      [n, "--help"],
      [n, "-h"],
    ]),
  )("vigil %s %s prints usage on stdout and exits 0", async (name, flag) => {
    const r = await run([name, flag]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out).toMatch(new RegExp(`^usage: vigil ${name} `));
    expect(r.out).toContain("exit status:");
  });
  it.each(NAMES)("vigil help %s prints the same help", async (name) => {
    const a = await run(["help", name]);
    const b = await run([name, "--help"]);
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
  });
  it("--help wins over other arguments, before --", async () => {
    expect((await run(["replay", "--bogus", "--help"])).code).toBe(0);
    expect((await run(["check", "-f", "x", "-h"])).code).toBe(0);
  });
});

describe("usage errors: stderr, exit 64, for every command", () => {
  const bad: [string, string[]][] = [
    ["check", ["--bogus"]],
    ["check", ["-f"]],
    ["check", ["a.conf", "b.conf"]],
    ["check", ["-f", "a.conf", "b.conf"]],
    ["check", ["-f", "a.conf", "-f", "b.conf"]],
    ["check", ["--json"]],
    ["dump", ["--bogus"]],
    ["dump", ["--config-id"]],
    ["dump", ["x", "y"]],
    ["replay", []],
    ["replay", ["--json"]],
    ["replay", ["a", "b"]],
    ["replay", ["a", "--bogus"]],
    ["sniff", ["--count", "0"]],
    ["sniff", ["--count", "abc"]],
    ["sniff", ["--count", "1e3"]],
    ["sniff", ["-c", "-5"]],
    ["sniff", ["extra"]],
    ["sniff", ["-i"]],
    ["sniff", ["-i", ""]],
  ];
  it.each(bad.map(([c, a]) => [`${c} ${a.join(" ")}`, c, a]))("vigil %s", async (_, name, args) => {
    const r = await run([name as string, ...(args as string[])]);
    expect(r.code).toBe(64);
    expect(r.out).toBe("");
    expect(r.err).toMatch(
      new RegExp(`^vigil ${name}: .+\\nusage: vigil ${name} .*\\nTry 'vigil ${name} --help'`),
    );
  });
});

describe("vigil with no or an unknown command", () => {
  it("bare vigil prints the usage on stderr and exits 64", async () => {
    const r = await run([]);
    expect(r.code).toBe(64);
    expect(r.out).toBe("");
    expect(r.err).toContain("usage: vigil <command> [options]");
  });
  it("vigil --help prints it on stdout and exits 0; the table has no stray 'vigil'", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    const table = r.out.split("\n").filter((l) => l.startsWith("  "));
    expect(table.length).toBeGreaterThanOrEqual(NAMES.length);
    for (const l of table) expect(l).not.toMatch(/^\s+vigil /);
    for (const n of NAMES) expect(table.some((l) => l.trimStart().startsWith(`${n} `))).toBe(true);
  });
  it("vigil help --help and vigil help -h print the usage and exit 0; a long synopsis keeps a gap", async () => {
    for (const flag of ["--help", "-h"]) {
      const r = await run(["help", flag]);
      expect(r.code).toBe(0);
      expect(r.out).toContain("usage: vigil <command> [options]");
    }
    const table = (await run(["--help"])).out.split("\n").filter((l) => l.startsWith("  "));
    for (const l of table) expect(l).not.toMatch(/\S\S{2,}\]\w/); // no summary glued to a synopsis
    expect(table.some((l) => /^ {20,}\S/.test(l))).toBe(true); // a summary on its own line
  });
  it("an unknown command exits 64 on stderr", async () => {
    const r = await run(["frobnicate"]);
    expect(r.code).toBe(64);
    expect(r.err).toContain("unknown command 'frobnicate'");
  });
  it("--version prints the version", async () => {
    expect(await run(["--version"])).toEqual({ code: 0, out: `vigil ${VIGIL_VERSION}\n`, err: "" });
  });
});

describe("vigil check FILE", () => {
  it("takes the file as a positional argument like -f FILE", async () => {
    const a = await run(["check", "examples/keepalived.conf"]);
    const b = await run(["check", "-f", "examples/keepalived.conf"]);
    expect(a.code).toBe(0);
    expect(a.out).toContain("examples/keepalived.conf: OK");
    expect(a).toEqual(b);
    expect((await run(["dump", "examples/keepalived.conf", "--json"])).code).toBe(0);
  });
  it("keeps 1 for a configuration with errors and 2 for a bad journal", async () => {
    expect((await run(["check", "test/config/fixtures/invalid/02-vrid-300.conf"])).code).toBe(1);
    expect((await run(["replay", "/nonexistent/journal.jsonl"])).code).toBe(2);
  });
});

describe("the shared parser", () => {
  const spec = {
    invocation: "t",
    synopsis: "",
    summary: "",
    options: { n: { type: "string" as const, description: "" } },
  };
  it("rejects a repeated option and keeps values after --", () => {
    expect(parseCommandArgs(spec, ["--n", "1", "--n", "2"]).kind).toBe("error");
    expect(
      parseCommandArgs({ ...spec, positionals: { min: 0, max: 1, name: "X" } }, ["--", "--help"]),
    ).toMatchObject({
      kind: "ok",
      positionals: ["--help"],
    });
  });
  it("reads integers strictly", () => {
    for (const bad of ["", "abc", "1.5", "1e3", "0x10", " 1", "+1", "99999999999999999"])
      expect(typeof parseIntegerArg("--n", bad, 0, 1_000_000)).toBe("string");
    expect(parseIntegerArg("--n", "42", 0, 100)).toBe(42);
    expect(typeof parseIntegerArg("--n", "101", 0, 100)).toBe("string");
    expect(typeof parseIntegerArg("--n", "-1", 0, 100)).toBe("string");
  });
});

describe("src/version.ts", () => {
  it("is not git-ignored (it is imported by the code) and matches package.json", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    expect(VIGIL_VERSION).toBe(pkg.version);
    const ignore = readFileSync(join(root, ".gitignore"), "utf8")
      .split("\n")
      .map((l) => l.trim());
    expect(ignore.some((l) => l === "src/version.ts" || l === "/src/version.ts" || l === "version.ts")).toBe(
      false,
    );
    if (existsSync(join(root, ".git"))) {
      let ignored = true;
      try {
        execFileSync("git", ["check-ignore", "-q", "--no-index", "src/version.ts"], {
          cwd: root,
          stdio: "ignore",
        });
      } catch {
        ignored = false; // exit 1: not ignored
      }
      expect(ignored).toBe(false);
    }
  });
});
