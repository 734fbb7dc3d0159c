/**
 * Seeded, line-level mutants of keepalived configurations, for the differential test against
 * `keepalived -t` (test/config/fuzz-differential.test.ts). The operators are the edits people make
 * by hand: a line repeated (a keyword given twice), dropped, moved into another block or swapped
 * with its neighbour, a word repeated (`vrrp_instance vrrp_instance VI_1`) or appended, an
 * argument replaced by a boundary value, and a keyword line borrowed from another seed file.
 * Deterministic: the same seed list and PRNG seed give the same mutants. Pure.
 */
import { Prng } from "../../src/runtime/prng.ts";

export interface Mutant {
  /** `<seed file>#<n>: <operators>`, to find a failing mutant again. */
  readonly label: string;
  readonly text: string;
}

/** Values an argument may be replaced with: boundaries, other types, other names. */
const VALUES = [
  "0",
  "1",
  "2",
  "3",
  "254",
  "255",
  "256",
  "-1",
  "0.5",
  "1.5",
  "100",
  "1000",
  "on",
  "off",
  "MASTER",
  "BACKUP",
  "PASS",
  "AH",
  "eth1",
  "198.18.0.7",
  "198.18.0.7/24",
  "2001:db8::7",
  "fe80::7",
  "reverse",
  "weight",
  "VI_1",
  "VI_2",
  "chk",
  "/bin/true",
];

/**
 * Lines no operator touches: blank lines, lone braces, comments, and every line of a multi-line
 * macro definition (`$NAME=\` and its continuations). How keepalived re-reads a macro body that
 * redefines its own macro is a preprocessor question (src/config/source.ts), reported separately.
 */
const isStructural = (line: string): boolean => {
  const t = line.trim();
  return t === "" || t === "{" || t === "}" || t.startsWith("#") || t.startsWith("!") || t.endsWith("\\");
};

/** The keyword lines (no braces, no comments, no preprocessor lines) of a text. */
const keywordLines = (text: string): string[] =>
  text.split("\n").filter((l) => !isStructural(l) && !/[{}]/.test(l) && !/^\s*[@$~]|include/.test(l));

type Op = (lines: string[], rng: Prng, corpus: readonly string[]) => string | undefined;

const pick = <T>(rng: Prng, xs: readonly T[]): T | undefined =>
  xs.length === 0 ? undefined : xs[rng.int(0, xs.length - 1)];

/** Index of a random line that is not structural (and, with `plain`, holds no brace). */
const someLine = (lines: readonly string[], rng: Prng, plain = false): number | undefined => {
  const idx = lines
    .map((l, i) => [l, i] as const)
    .filter(([l]) => !isStructural(l) && (!plain || !/[{}]/.test(l)))
    .map(([, i]) => i);
  return pick(rng, idx);
};

const OPS: Readonly<Record<string, Op>> = {
  repeat: (lines, rng) => {
    const i = someLine(lines, rng, true);
    if (i === undefined) return undefined;
    lines.splice(i + rng.int(1, 2), 0, lines[i] as string);
    return "repeat";
  },
  drop: (lines, rng) => {
    const i = someLine(lines, rng, true);
    if (i === undefined) return undefined;
    lines.splice(i, 1);
    return "drop";
  },
  move: (lines, rng) => {
    const i = someLine(lines, rng, true);
    if (i === undefined) return undefined;
    const [l] = lines.splice(i, 1);
    lines.splice(rng.int(0, lines.length), 0, l as string);
    return "move";
  },
  swap: (lines, rng) => {
    const i = someLine(lines, rng);
    if (i === undefined || i + 1 >= lines.length) return undefined;
    [lines[i], lines[i + 1]] = [lines[i + 1] as string, lines[i] as string];
    return "swap";
  },
  doubleWord: (lines, rng) => {
    const i = someLine(lines, rng);
    if (i === undefined) return undefined;
    lines[i] = (lines[i] as string).replace(/^(\s*)(\S+)/, "$1$2 $2");
    return "doubleWord";
  },
  appendWord: (lines, rng) => {
    const i = someLine(lines, rng);
    if (i === undefined) return undefined;
    const word = pick(rng, VALUES) as string;
    const l = lines[i] as string;
    lines[i] = l.includes("{") ? l.replace("{", `${word} {`) : `${l} ${word}`;
    return "appendWord";
  },
  replaceArg: (lines, rng) => {
    const i = someLine(lines, rng, true);
    if (i === undefined) return undefined;
    const words = (lines[i] as string).trim().split(/\s+/);
    if (words.length < 2) return undefined;
    words[rng.int(1, words.length - 1)] = pick(rng, VALUES) as string;
    lines[i] = `    ${words.join(" ")}`;
    return "replaceArg";
  },
  borrow: (lines, rng, corpus) => {
    const l = pick(rng, corpus);
    const i = someLine(lines, rng);
    if (l === undefined || i === undefined) return undefined;
    lines.splice(i + 1, 0, l);
    return "borrow";
  },
};
const OP_NAMES = Object.keys(OPS);

/**
 * `count` mutants of `seeds` (name → text), one to two operators each, drawn from PRNG `seed`.
 * A mutant equal to its seed is drawn again.
 */
export function mutants(
  seeds: ReadonlyArray<readonly [string, string]>,
  count: number,
  seed: number,
): Mutant[] {
  const rng = new Prng(seed);
  const corpus = seeds.flatMap(([, t]) => keywordLines(t));
  const out: Mutant[] = [];
  for (let n = 0; out.length < count && n < count * 20; n++) {
    const [name, text] = seeds[rng.int(0, seeds.length - 1)] as readonly [string, string];
    const lines = text.split("\n");
    const applied: string[] = [];
    const steps = rng.int(1, 2);
    for (let s = 0; s < steps; s++) {
      const op = OPS[pick(rng, OP_NAMES) as string] as Op;
      const done = op(lines, rng, corpus);
      if (done !== undefined) applied.push(done);
    }
    const mutated = lines.join("\n");
    if (mutated !== text) out.push({ label: `${name}#${n}: ${applied.join("+")}`, text: mutated });
  }
  return out;
}
