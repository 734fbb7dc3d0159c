/**
 * Comments and docs that cite a test or bench file name one that exists: every `test/….ts`,
 * `bench/….ts` path and every bare `*.test.ts` / `*.bench.ts` name in the sources, tests, benches and
 * docs is checked against the tree (a renamed or never-written test file cited as proof is a stale claim).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, test } from "vitest";

const root = join(import.meta.dirname, "../..");
const walk = (dir: string, out: string[] = []): string[] => {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|md)$/.test(name)) out.push(p);
  }
  return out;
};

test("every cited test or bench file exists", () => {
  const files = ["machines", "src", "test", "bench", "docs"].flatMap((d) => walk(join(root, d)));
  const all = walk(join(root, "test")).concat(walk(join(root, "bench")));
  const names = new Set(all.map((p) => p.split("/").at(-1)));
  const missing: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(/\b(?:test|bench)\/[A-Za-z0-9_./-]+\.ts\b/g))
      if (!existsSync(join(root, m[0]))) missing.push(`${relative(root, f)}: ${m[0]}`);
    for (const m of text.matchAll(/(?<![/\w.-])[A-Za-z0-9_-]+(?:\.[a-z]+)?\.(?:test|bench)\.ts\b/g))
      if (!names.has(m[0])) missing.push(`${relative(root, f)}: ${m[0]}`);
  }
  expect(files.length).toBeGreaterThan(50);
  expect(missing).toEqual([]);
});
