/**
 * `${_RANDOM [min [max]]}` and `random_seed`: values come from the runtime `Prng`, seeded with
 * `random_seed` from global_defs wherever it appears in the file, or with a hash of the main
 * file's text when it is absent; the bounds hold for every seed and range.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: keepalived macros are literally written ${NAME}
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Diagnostics } from "../../src/config/diagnostics.ts";
import { loadConfig } from "../../src/config/load.ts";
import { Preprocessor } from "../../src/config/source.ts";
import { Prng } from "../../src/runtime/prng.ts";
import { memFs } from "./memfs.ts";

const GLOBAL = (seed: number): string => `global_defs {\n    random_seed ${seed}\n}\n`;
/** 20 instances (a block macro repeated by ~SEQ) whose priorities are `${_RANDOM 1 254}`. */
const instanceBlock = (): string =>
  [
    "$INST=\\",
    "vrrp_instance V${N} { \\",
    "    interface eth0 \\",
    "    virtual_router_id ${N} \\",
    "    priority ${_RANDOM 1 254} \\",
    "    virtual_ipaddress { \\",
    "        198.18.0.${N}/32 \\",
    "    } \\",
    "}",
    "~SEQ(N,1,20) $INST",
    "",
  ].join("\n");

/** Priorities of the 20 instances, after a load that must be free of diagnostics. */
function priorities(text: string): number[] {
  const result = loadConfig("k.conf", { fs: memFs({ "k.conf": text }), configId: "t" });
  expect(result.diagnostics).toEqual([]);
  expect(result.config?.instances.length).toBe(20);
  return (result.config?.instances ?? []).map((i) => i.basePriority);
}

/** Expansions of `${_RANDOM args}` on `count` lines, through the preprocessor alone. */
function draws(args: string, count: number, seed?: number): number[] {
  const diags = new Diagnostics();
  const pre = new Preprocessor(
    memFs({ "r.conf": `~SEQ(I,1,${count}) x \${_RANDOM${args}}\n` }),
    diags,
    "t",
    "",
    seed,
  );
  pre.readFile("r.conf");
  expect(diags.list).toEqual([]);
  expect(pre.usedRandom).toBe(true);
  return pre.lines.map((l) => Number(l.tokens[1]?.text));
}

describe("${_RANDOM} and random_seed", () => {
  it("gives the same values for the same random_seed, on every load", () => {
    const a = priorities(GLOBAL(7) + instanceBlock());
    expect(priorities(GLOBAL(7) + instanceBlock())).toEqual(a);
    // The seed, not the text, decides: another file with the same random_seed expands the same.
    expect(priorities(`# another file\n${GLOBAL(7)}${instanceBlock()}`)).toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(10); // really drawn, not one constant
  });

  it("gives different values for a different random_seed", () => {
    expect(priorities(GLOBAL(8) + instanceBlock())).not.toEqual(priorities(GLOBAL(7) + instanceBlock()));
  });

  it("draws from the runtime Prng seeded with random_seed", () => {
    const prng = new Prng(12345);
    const expected = Array.from({ length: 20 }, () => prng.int(1, 254));
    expect(priorities(GLOBAL(12345) + instanceBlock())).toEqual(expected);
  });

  it("applies random_seed to uses before it in the file (and in an include)", () => {
    const first = priorities(GLOBAL(99) + instanceBlock());
    expect(priorities(instanceBlock() + GLOBAL(99))).toEqual(first);
    const files = {
      "main.conf": "include inst.conf\ninclude global.conf\n",
      "inst.conf": instanceBlock(),
      "global.conf": GLOBAL(99),
    };
    const viaInclude = loadConfig("main.conf", { fs: memFs(files), configId: "t" });
    expect(viaInclude.diagnostics).toEqual([]);
    expect(viaInclude.config?.instances.map((i) => i.basePriority)).toEqual(first);
  });

  it("without random_seed is seeded from the main file's text: repeatable, and text-dependent", () => {
    const text = instanceBlock();
    const a = priorities(text);
    expect(priorities(text)).toEqual(a);
    const prng = new Prng(Preprocessor.textSeed(text));
    expect(a).toEqual(Array.from({ length: 20 }, () => prng.int(1, 254)));
    expect(priorities(`# another file\n${text}`)).not.toEqual(a);
  });

  it("defaults to 0..32767 and honours a lone min", () => {
    const plain = draws("", 2000, 1);
    expect(Math.min(...plain)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...plain)).toBeLessThanOrEqual(32767);
    expect(Math.max(...plain)).toBeGreaterThan(30000); // spans the range
    const fromMin = draws(" 32000", 500, 1);
    expect(Math.min(...fromMin)).toBeGreaterThanOrEqual(32000);
    expect(Math.max(...fromMin)).toBeLessThanOrEqual(32767);
  });

  it("keeps every value within [min, max] for any seed, and reaches both ends", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 6 }),
        (seed, min, width) => {
          const xs = draws(` ${min} ${min + width}`, 200, seed);
          expect(xs.every((x) => Number.isInteger(x) && x >= min && x <= min + width)).toBe(true);
          expect(new Set(xs).size).toBe(width + 1); // 200 draws over at most 7 values: all appear
        },
      ),
      { numRuns: 50 },
    );
  });
});
