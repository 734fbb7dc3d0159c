/**
 * The keepalived.conf lexer: turns one logical line of text into tokens with file, line and
 * column, following keepalived's `decomment` and `alloc_strvec_quoted_escaped` (lib/parser.c):
 * `#` and `!` start a comment outside double quotes (`\#`, `\!` are literal), `{` and `}` are
 * tokens of their own, `"…"` and `'…'` group words with spaces, and the C-like escapes
 * `\a \b \E \f \n \r \t \v \nnn \xHH… \cC` (and `\C` → C) are resolved, byte for byte (text is a
 * byte string, one char per byte). Words split at C whitespace (space, \t \n \v \f \r). Pure.
 */
import type { Position } from "./diagnostics.ts";

export interface Token extends Position {
  readonly text: string;
  /** True when any part of the token was quoted (so `"{"` is a word, not a brace). */
  readonly quoted: boolean;
}

export const isBrace = (t: Token, brace: "{" | "}"): boolean => !t.quoted && t.text === brace;

/** Removes a trailing comment; keeps escaped `\#`/`\!` and anything inside double quotes. */
export function decomment(text: string): string {
  let inDouble = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === '"') inDouble = !inDouble;
    else if (!inDouble && (c === "#" || c === "!")) return text.slice(0, i).trimEnd();
  }
  return text;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: "\x07",
  b: "\b",
  E: "\x1b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

/** Reads one escape starting after the backslash at `i`; returns the text and the next index. */
function readEscape(text: string, i: number): [string, number] {
  const c = text[i];
  if (c === undefined) return ["\\", i];
  const simple = SIMPLE_ESCAPES[c];
  if (simple !== undefined) return [simple, i + 1];
  if (c >= "0" && c <= "7") {
    const m = /^[0-7]{1,3}/.exec(text.slice(i));
    const digits = m?.[0] ?? c;
    return [String.fromCharCode(Number.parseInt(digits, 8) & 0xff), i + digits.length];
  }
  if (c === "x") {
    // keepalived takes every hex digit that follows and keeps the low byte.
    let j = i + 1;
    let value = 0;
    while (j < text.length && /[0-9A-Fa-f]/.test(text[j] as string)) {
      value = ((value << 4) | Number.parseInt(text[j] as string, 16)) & 0xff;
      j++;
    }
    return j > i + 1 ? [String.fromCharCode(value), j] : ["x", i + 1];
  }
  if (c === "c") {
    const n = text.charCodeAt(i + 1);
    if (!Number.isNaN(n)) return [String.fromCharCode(n & 0x1f), i + 2];
  }
  return [c, i + 1];
}

export interface LexProblem {
  readonly column: number;
  readonly message: string;
}

/**
 * Splits a comment-free line into tokens. `column0` is the 1-based column of `text[0]` in the
 * source line. Problems (unterminated quotes) are reported through `problem` and lexing goes on.
 */
export function tokenize(
  text: string,
  file: string,
  line: number,
  column0: number,
  problem?: (p: LexProblem) => void,
  braces = true,
): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (c === " " || c === "\t" || c === "\r" || c === "\n" || c === "\v" || c === "\f") {
      i++;
      continue;
    }
    const column = column0 + i;
    if (braces && (c === "{" || c === "}")) {
      tokens.push({ text: c, file, line, column, quoted: false });
      i++;
      continue;
    }
    // Plain runs are copied as slices (never char by char: long words would be chains of
    // one-char string pieces), escapes and quotes in between.
    let word = "";
    let quoted = false;
    let run = i;
    while (i < n) {
      const ch = text[i] as string;
      if (ch === " " || ch === "\t" || ch === "\r" || ch === "\n" || ch === "\v" || ch === "\f") break;
      if (braces && (ch === "{" || ch === "}")) break;
      if (ch === '"' || ch === "'") {
        word += text.slice(run, i);
        quoted = true;
        const start = i;
        i++;
        run = i;
        let closed = false;
        while (i < n) {
          const q = text[i] as string;
          if (q === ch) {
            closed = true;
            break;
          }
          if (q === "\\") {
            const [esc, next] = readEscape(text, i + 1);
            word += text.slice(run, i) + esc;
            i = next;
            run = i;
          } else i++;
        }
        word += text.slice(run, i);
        if (closed) i++;
        else problem?.({ column: column0 + start, message: `Unterminated quoted string` });
        run = i;
        continue;
      }
      if (ch === "\\") {
        const [esc, next] = readEscape(text, i + 1);
        word += text.slice(run, i) + esc;
        i = next;
        run = i;
        continue;
      }
      i++;
    }
    word += text.slice(run, i);
    // A copy of its own, so a kept word does not hold on to the (possibly large) text it came from.
    if (word.length >= 13) word = ` ${word}`.slice(1);
    tokens.push({ text: word, file, line, column, quoted });
  }
  return tokens;
}
