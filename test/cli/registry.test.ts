/**
 * The command registry (src/cli/commands.ts) against the real built CLI (bin/vigil.js → dist/):
 * every registered command — new ones included, without touching this file — answers `--help`,
 * `-h` and `vigil help NAME` with its usage on stdout and exit 0, and its registry line matches
 * the module it loads. Start-up loads only what is needed (traced with an ESM loader hook, mapped
 * to sources through dist/inputs.json): `--version` and `--help` no command, a command's `--help`
 * no dependency package, `vigil check` none of the runtime's (xstate, rxjs, native addons).
 * The bundle takes RxJS's ES2015 build (bin/build.ts). Without dist/, bin/vigil.js says to build
 * and exits 70; a command whose chunk is missing fails with one line and 70.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commands } from "../../src/cli/commands.ts";
import { repoRoot, vigilBin } from "../netns/support/vigil.ts";
import { packageOf, traceModules } from "../support/loaded-modules.ts";
import { tempDirForTest } from "../support/temp.ts";

const example = join(repoRoot, "examples", "keepalived.conf");

const vigil = (args: readonly string[]) =>
  spawnSync(process.execPath, [vigilBin, ...args], { encoding: "utf8", cwd: repoRoot, timeout: 60_000 });

/** The source files and packages a traced run of the CLI loaded. */
function loaded(args: readonly string[]): {
  status: number | null;
  sources: string[];
  packages: string[];
} {
  const { contents } = JSON.parse(readFileSync(join(repoRoot, "dist", "inputs.json"), "utf8")) as {
    contents: Record<string, string[]>;
  };
  const r = traceModules([vigilBin, ...args], { cwd: repoRoot });
  const distUrl = new URL("dist/", `file://${repoRoot}`).href;
  const inputs = r.modules
    .filter((u) => u.startsWith(distUrl))
    .flatMap((u) => contents[u.slice(distUrl.length)] ?? [`unknown output ${u}`]);
  const packages = new Set<string>();
  for (const i of inputs) if (i.startsWith("node_modules/")) packages.add(packageOf(`/${i}`) ?? i);
  // Packages left outside the bundle (the native ones) load from node_modules themselves.
  for (const u of r.modules) {
    const p = packageOf(u);
    if (p !== undefined) packages.add(p);
  }
  return {
    status: r.status,
    sources: inputs.filter((i) => !i.startsWith("node_modules/")),
    packages: [...packages],
  };
}

describe("every registered command", () => {
  it("has a unique name", () => {
    expect(new Set(commands.map((c) => c.name)).size).toBe(commands.length);
  });

  describe.each(commands.map((c) => [c.name, c] as const))("%s", (name, entry) => {
    it("registry line equals the loaded command's", async () => {
      const spec = await entry.load();
      expect({ name: spec.name, summary: spec.summary, usage: spec.usage }).toEqual({
        name: entry.name,
        summary: entry.summary,
        usage: entry.usage,
      });
    });

    it.each([[["--help"]], [["-h"]], [["help"]]])("vigil %s: usage on stdout, exit 0", async (how) => {
      const spec = await entry.load();
      const args = how[0] === "help" ? ["help", name] : [name, ...how];
      const r = vigil(args);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(r.stdout).toBe(spec.help());
      expect(r.stdout.startsWith(`usage: vigil ${name}`)).toBe(true);
    });

    it("--help loads no dependency package", () => {
      const r = loaded([name, "--help"]);
      expect(r.status).toBe(0);
      expect(r.packages).toEqual([]);
    });
  });
});

describe("start-up loads only what is needed", () => {
  it.each([[["--version"]], [["--help"]]])("vigil %s: the CLI's own modules, no command", (args) => {
    const r = loaded(args);
    expect(r.status).toBe(0);
    expect(r.packages).toEqual([]);
    expect(r.sources.filter((s) => !s.startsWith("src/cli/") && s !== "src/version.ts")).toEqual([]);
    // The registry and main only: no command module.
    const commandModules = new Set(commands.map((c) => `src/cli/${c.name}.ts`));
    expect(r.sources.filter((s) => commandModules.has(s))).toEqual([]);
  });

  it("vigil --help lists every registered command", () => {
    const r = vigil(["--help"]);
    expect(r.status).toBe(0);
    for (const c of commands) expect(r.stdout).toContain(`  ${c.usage}`);
  });

  it("vigil check loads none of the runtime's packages or modules", () => {
    const r = loaded(["check", "-f", example]);
    expect(r.status).toBe(0);
    for (const heavy of ["xstate", "rxjs", "koffi", "raw-socket", "netlink", "prom-client", "yaml", "pino"])
      expect(r.packages).not.toContain(heavy);
    // src/protocol/address.ts (address text and bytes, no import) is shared with the front end.
    const runtime = (s: string): boolean =>
      /^(machines|transports)\/|^src\/(daemon|protocol)\//.test(s) && s !== "src/protocol/address.ts";
    expect(r.sources.filter(runtime)).toEqual([]);
    expect(r.sources).toContain("src/cli/check.ts");
  });
});

describe("the bundle", () => {
  it("holds RxJS's ES2015 build, not its ES5 CommonJS one (no iterator per observer per next)", () => {
    const { contents } = JSON.parse(readFileSync(join(repoRoot, "dist", "inputs.json"), "utf8")) as {
      contents: Record<string, string[]>;
    };
    const rxjs = Object.values(contents)
      .flat()
      .filter((i) => i.startsWith("node_modules/rxjs/"));
    expect(rxjs).toContain("node_modules/rxjs/dist/esm/internal/Subject.js");
    expect(rxjs.filter((i) => !i.startsWith("node_modules/rxjs/dist/esm/"))).toEqual([]);
  });

  it("is ASCII without comments, so V8 holds each chunk's source as one byte a character", () => {
    const { contents } = JSON.parse(readFileSync(join(repoRoot, "dist", "inputs.json"), "utf8")) as {
      contents: Record<string, string[]>;
    };
    const outputs = Object.keys(contents);
    expect(outputs.length).toBeGreaterThan(10);
    for (const o of outputs) {
      const text = readFileSync(join(repoRoot, "dist", o), "utf8");
      expect({ o, nonAscii: text.match(/[\u0080-\uffff]/g) ?? [] }).toEqual({ o, nonAscii: [] });
      // A module's opening paragraph (every source has one) would start a line with `/**`.
      expect({ o, docComment: /^\s*\/\*\*/m.test(text) }).toEqual({ o, docComment: false });
    }
  });
});

describe("bin/vigil.js without dist/", () => {
  it("prints one line telling to run npm run build and exits 70", () => {
    const dir = tempDirForTest("vigil-nodist-");
    mkdirSync(join(dir, "bin"));
    copyFileSync(vigilBin, join(dir, "bin", "vigil.js"));
    const r = spawnSync(process.execPath, [join(dir, "bin", "vigil.js"), "--version"], { encoding: "utf8" });
    expect(r.status).toBe(70);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")).toEqual([expect.stringContaining("npm run build"), ""]);
  });

  it("a command whose module cannot be loaded: one line naming it, exit 70", () => {
    const dir = tempDirForTest("vigil-nochunk-");
    mkdirSync(join(dir, "bin"));
    copyFileSync(vigilBin, join(dir, "bin", "vigil.js"));
    cpSync(join(repoRoot, "dist"), join(dir, "dist"), { recursive: true });
    const { contents } = JSON.parse(readFileSync(join(dir, "dist", "inputs.json"), "utf8")) as {
      contents: Record<string, string[]>;
    };
    const chunk = Object.keys(contents).find((o) => contents[o]?.includes("src/cli/check.ts"));
    expect(chunk).toBeDefined();
    rmSync(join(dir, "dist", chunk ?? ""));
    const ok = spawnSync(process.execPath, [join(dir, "bin", "vigil.js"), "--version"], { encoding: "utf8" });
    expect(ok.status).toBe(0);
    const r = spawnSync(process.execPath, [join(dir, "bin", "vigil.js"), "check", "--help"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(70);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")).toEqual([expect.stringMatching(/^vigil check: internal error: /), ""]);
  });
});
