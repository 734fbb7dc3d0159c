/**
 * The keepalived.conf lexer: turns one logical line of text into tokens with file, line and
 * column, following keepalived's `decomment` and `alloc_strvec_quoted_escaped` (lib/parser.c):
 * `#` and `!` start a comment outside double quotes (`\#`, `\!` are literal), `{` and `}` are
 * tokens of their own, `"…"` and `'…'` group words with spaces, and the C-like escapes
 * `\a \b \E \f \n \r \t \v \nnn \xHH \cC` (and `\C` → C) are resolved. Pure.
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
    const m = /^[0-9A-Fa-f]{1,2}/.exec(text.slice(i + 1));
    if (m !== null) return [String.fromCharCode(Number.parseInt(m[0], 16)), i + 1 + m[0].length];
    return ["x", i + 1];
  }
  if (c === "c") {
    const n = text[i + 1];
    if (n !== undefined) return [String.fromCharCode(n.toUpperCase().charCodeAt(0) & 0x1f), i + 2];
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
    let word = "";
    let quoted = false;
    while (i < n) {
      const ch = text[i] as string;
      if (ch === " " || ch === "\t" || ch === "\r" || ch === "\n") break;
      if (braces && (ch === "{" || ch === "}")) break;
      if (ch === '"' || ch === "'") {
        quoted = true;
        const start = i;
        i++;
        let closed = false;
        while (i < n) {
          const q = text[i] as string;
          if (q === ch) {
            closed = true;
            i++;
            break;
          }
          if (q === "\\") {
            const [s, next] = readEscape(text, i + 1);
            word += s;
            i = next;
          } else {
            word += q;
            i++;
          }
        }
        if (!closed) problem?.({ column: column0 + start, message: `Unterminated quoted string` });
        continue;
      }
      if (ch === "$" && text[i + 1] === "{") {
        const end = text.indexOf("}", i);
        if (end > 0) {
          word += text.slice(i, end + 1);
          i = end + 1;
          continue;
        }
      }
      if (ch === "\\") {
        const [s, next] = readEscape(text, i + 1);
        word += s;
        i = next;
        continue;
      }
      word += ch;
      i++;
    }
    tokens.push({ text: word, file, line, column, quoted });
  }
  return tokens;
}
