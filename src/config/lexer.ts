/**
 * The keepalived.conf lexer, in keepalived's two levels (lib/parser.c):
 * - `tokenizeLine`: a configuration line as every keyword handler sees it (`decomment`, then
 *   `alloc_strvec`): words split at C whitespace; a `"` starts a word of its own that runs to the
 *   next `"` (quotes removed, spaces kept; `ab"c d"e` is three words); single quotes and
 *   backslashes are ordinary characters; a `"` without its closing one drops the rest of the line.
 *   `{` and `}` outside quotes are words of their own (the block parser's).
 * - `tokenize`: the same text as script keywords and `regex` read it again
 *   (`alloc_strvec_quoted_escaped`): `"…"` and `'…'` group words with spaces, and the C-like
 *   escapes `\a \b \E \f \n \r \t \v \nnn \xHH… \cC` (and `\C` → C) are resolved, byte for byte.
 * `#` and `!` start a comment outside double quotes (`decomment`). Text is a byte string, one char
 * per byte. Pure.
 */
import type { Position } from "./diagnostics.ts";

export interface Token extends Position {
  readonly text: string;
  /** True when any part of the token was quoted (so `"{"` is a word, not a brace). */
  readonly quoted: boolean;
}

export const isBrace = (t: Token, brace: "{" | "}"): boolean => !t.quoted && t.text === brace;

/**
 * Removes a trailing comment (`#` or `!` outside double quotes). `\#` and `\!` escape it only
 * once: keepalived's parent process decomments a line and writes it to the configuration copy its
 * children read, and the children decomment it again, so outside double quotes an escaped `\#` ends
 * the line there after all (`a\#b` and `a${_HASH}b` are `a`, as keepalived -t shows). Inside double
 * quotes nothing is changed (a script line reads `"a\#b"` as `a#b`).
 */
export function decomment(text: string): string {
  let inDouble = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      if (!inDouble && (text[i + 1] === "#" || text[i + 1] === "!")) return text.slice(0, i).trimEnd();
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

const isCWhite = (c: string): boolean =>
  c === " " || c === "\t" || c === "\r" || c === "\n" || c === "\v" || c === "\f";

/**
 * Splits a comment-free configuration line into the words keyword handlers get (keepalived's
 * `alloc_strvec`, see above). `column0` is the 1-based column of `text[0]`. An unclosed `"` is
 * reported as keepalived reports it (`decomment`'s and `alloc_strvec`'s lines) and ends the words.
 */
export function tokenizeLine(
  text: string,
  file: string,
  line: number,
  column0: number,
  problem?: (p: LexProblem) => void,
): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  // decomment's own account of the quotes (a backslash hides the next character from it)
  if (unclosedForDecomment(text))
    problem?.({ column: column0 + text.indexOf('"'), message: `Unterminated quote '${text}'` });
  let i = 0;
  while (i < n) {
    const c = text[i] as string;
    if (isCWhite(c)) {
      i++;
      continue;
    }
    const column = column0 + i;
    if (c === "{" || c === "}") {
      tokens.push({ text: c, file, line, column, quoted: false });
      i++;
      continue;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) {
        // alloc_strvec drops what follows
        problem?.({ column, message: `Unmatched quote: '${text}'` });
        break;
      }
      tokens.push({ text: copyOf(text.slice(i + 1, end)), file, line, column, quoted: true });
      i = end + 1;
      continue;
    }
    const run = i;
    while (i < n) {
      const ch = text[i] as string;
      if (isCWhite(ch) || ch === '"' || ch === "{" || ch === "}") break;
      i++;
    }
    tokens.push({ text: copyOf(text.slice(run, i)), file, line, column, quoted: false });
  }
  return tokens;
}

/** decomment's quote state at the end of the line (a backslash skips the next character). */
const unclosedForDecomment = (text: string): boolean => {
  let open = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') open = !open;
  }
  return open;
};

/** A copy of its own, so a kept word does not hold on to the (possibly large) text it came from. */
const copyOf = (word: string): string => (word.length >= 13 ? ` ${word}`.slice(1) : word);

/**
 * Splits text as keepalived's `alloc_strvec_quoted_escaped` does (script keyword lines and their
 * command words, `regex`). `column0` is the 1-based column of `text[0]` in the source line. An
 * unterminated quote is reported through `problem` and lexing goes on.
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
        else problem?.({ column: column0 + start, message: `missing terminating ${ch}` });
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
