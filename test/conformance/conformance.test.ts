/**
 * Conformance cases as data: every directory under cases/ is one case (see its README.md).
 * `UPDATE_GOLDEN=1` rewrites the expected outputs instead of comparing.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { CHANNELS, runCase } from "./runner.ts";

const root = join(import.meta.dirname, "cases");
const cases = readdirSync(root).sort();
const update = process.env.UPDATE_GOLDEN === "1";

describe("conformance cases", () => {
  test("there are at least 25 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });
  test.each(cases)("%s", (name) => {
    const { results } = runCase(join(root, name), update);
    expect(results.length).toBeGreaterThan(0);
    for (const r of results)
      for (const c of CHANNELS) expect(r.actual[c], `step ${r.step} channel ${c}`).toBe(r.expected[c]);
  });
});
