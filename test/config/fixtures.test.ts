/**
 * Fixture tests. Every `fixtures/valid/*.conf` must load with exactly the diagnostics its
 * `# expect:` lines list (warnings only), and its `vigil dump --json` must equal the golden
 * `*.json` next to it (`UPDATE_GOLDEN=1` rewrites them). Every `fixtures/invalid/*.conf` must give
 * exactly its expected diagnostics (message and line), and `vigil check` must exit 1 when any of
 * them is an error, 0 otherwise.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkCommand } from "../../src/cli/check.ts";
import { dumpCommand } from "../../src/cli/dump.ts";
import type { Io } from "../../src/cli/io.ts";
import { loadConfig } from "../../src/config/load.ts";
import { stableJson } from "../../src/config/render.ts";
import { asExpected, readExpectations, render } from "./expectations.ts";

const root = "test/config/fixtures";
const list = (dir: string): string[] =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith(".conf"))
    .sort();
const update = process.env.UPDATE_GOLDEN === "1";

const capture = (): Io & { out: string[]; err: string[] } => {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
};

const diagnosticsOf = (file: string): { rendered: string[]; expected: string[] } => {
  const text = readFileSync(file, "utf8");
  const { diagnostics } = loadConfig(file, { configId: "lb1" });
  return {
    rendered: diagnostics.map((d) => render(asExpected(d, file))).sort(),
    expected: readExpectations(text).map(render).sort(),
  };
};

describe("valid fixtures", () => {
  const files = list("valid");
  it("there are at least 30", () => expect(files.length).toBeGreaterThanOrEqual(30));
  for (const name of files) {
    it(name, async () => {
      const file = join(root, "valid", name);
      const { rendered, expected } = diagnosticsOf(file);
      expect(rendered).toEqual(expected);
      expect(expected.every((e) => e.startsWith("warning"))).toBe(true);
      const { config } = loadConfig(file, { configId: "lb1" });
      expect(config).toBeDefined();
      const json = stableJson(config);
      // the CLI prints the same JSON
      const io = capture();
      expect(await dumpCommand.run(["-f", file, "--json", "--config-id", "lb1"], io)).toBe(0);
      expect(io.out.join("")).toBe(json);
      const golden = file.replace(/\.conf$/, ".json");
      if (update) writeFileSync(golden, json);
      expect(existsSync(golden), `${golden} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
      expect(json).toBe(readFileSync(golden, "utf8"));
    });
  }
});

describe("invalid and suspicious fixtures", () => {
  const files = list("invalid");
  it("there are at least 40", () => expect(files.length).toBeGreaterThanOrEqual(40));
  for (const name of files) {
    it(name, async () => {
      const file = join(root, "invalid", name);
      const { rendered, expected } = diagnosticsOf(file);
      expect(expected.length).toBeGreaterThan(0);
      expect(rendered).toEqual(expected);
      const io = capture();
      const code = await checkCommand.run(["-f", file, "--config-id", "lb1"], io);
      expect(code).toBe(expected.some((e) => e.startsWith("error")) ? 1 : 0);
      // every diagnostic is printed in keepalived's form, with its line
      for (const line of io.err)
        expect(line).toMatch(/^\(test\/config\/fixtures\/invalid\/[^:]+: Line \d+\) /);
    });
  }
});
