/**
 * Configuration text as bytes, the way keepalived 2.2.7 reads it (lib/parser.c `read_line`):
 * a file is a byte string (one JavaScript char per byte, "latin1"), split into physical lines
 * at '\n' only; `fgets` into a 1024-byte buffer reads at most 1023 bytes at a time, so a longer
 * line becomes several lines; a NUL byte ends the line (`strlen`); trailing '\r' and '\n' are
 * dropped and leading/trailing blanks (space, tab) are trimmed. Also the display side: bytes
 * shown to a person are escaped (`\x1b`, `\xff`) unless they form printable UTF-8, so a config
 * cannot send terminal escapes through `vigil check`. Pure.
 */

/** keepalived's `fgets(buf, MAXBUF)` with MAXBUF 1024: at most 1023 bytes per read. */
export const KEEPALIVED_READ_BYTES = 1023;

/** One line as keepalived's `read_line` hands it on, before comments are removed. */
export interface ByteLine {
  /** 1-based physical line number. */
  readonly line: number;
  /** The text with trailing CR/LF removed; leading blanks kept (see `leadingBlanks`). */
  readonly text: string;
  /** 1-based column of `text[0]` in the physical line: 1, or 1024, 2047, … for the later reads. */
  readonly column0: number;
  /** Set when keepalived would end the line at a NUL byte: its 1-based column. */
  readonly nulColumn?: number;
}

/**
 * Splits chunks of byte text into keepalived's lines. Chunk boundaries may fall anywhere; at most
 * one 1023-byte piece of a line is held between chunks, so a file without newlines is fine too.
 */
export function* byteLines(chunks: Iterable<string>): Generator<ByteLine> {
  let carry = "";
  let offset = 0;
  let line = 1;
  for (const chunk of chunks) {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf("\n", start);
      if (
        carry === "" &&
        offset === 0 &&
        nl >= 0 &&
        nl - start < KEEPALIVED_READ_BYTES &&
        isCommentLine(chunk, start)
      ) {
        // A comment line read in one piece means nothing to keepalived: skipped without a copy.
        start = nl + 1;
        line++;
        continue;
      }
      const stop = nl < 0 ? chunk.length : nl;
      let text = carry === "" ? chunk.slice(start, stop) : carry + chunk.slice(start, stop);
      carry = "";
      start = stop;
      // Full pieces of a long line: fgets returns 1023 bytes without reaching the newline.
      while (text.length >= KEEPALIVED_READ_BYTES) {
        yield piece(text.slice(0, KEEPALIVED_READ_BYTES), line, offset);
        text = text.slice(KEEPALIVED_READ_BYTES);
        offset += KEEPALIVED_READ_BYTES;
      }
      if (nl < 0) {
        carry = text;
        break;
      }
      if (text !== "" || offset === 0) yield piece(text, line, offset);
      start = nl + 1;
      line++;
      offset = 0;
    }
  }
  if (carry !== "") yield piece(carry, line, offset);
}

/** Whether the line starting at `start` is blanks then `#` or `!` (a comment, for keepalived). */
function isCommentLine(chunk: string, start: number): boolean {
  let i = start;
  while (chunk[i] === " " || chunk[i] === "\t") i++;
  return chunk[i] === "#" || chunk[i] === "!";
}

/** One `fgets` read: cut at a NUL (`strlen`), trailing CR/LF dropped. */
function piece(read: string, line: number, offset: number): ByteLine {
  const nul = read.indexOf("\0");
  let text = nul >= 0 ? read.slice(0, nul) : read;
  let end = text.length;
  while (end > 0 && (text[end - 1] === "\r" || text[end - 1] === "\n")) end--;
  if (end < text.length) text = text.slice(0, end);
  const column0 = offset + 1;
  return nul >= 0 ? { line, text, column0, nulColumn: offset + nul + 1 } : { line, text, column0 };
}

const isBlank = (c: string | undefined): boolean => c === " " || c === "\t";

/** Count of leading spaces and tabs (keepalived's `strspn(str, " \t")`). */
export function leadingBlanks(text: string): number {
  let i = 0;
  while (isBlank(text[i])) i++;
  return i;
}

/** Trims spaces and tabs at both ends, as keepalived's `decomment` does (not other whitespace). */
export function trimBlanks(text: string): string {
  let end = text.length;
  while (end > 0 && isBlank(text[end - 1])) end--;
  return text.slice(leadingBlanks(text), end);
}

/** C `isspace` in the C locale: space, \t, \n, \v, \f, \r. */
export const isCSpace = (c: string | undefined): boolean =>
  c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";

/** The UTF-8 byte-order mark as a byte string. */
export const UTF8_BOM = "\xef\xbb\xbf";

/** Code points a terminal should not be handed raw: C0, DEL, C1, bidi controls, separators, BOM. */
const unprintable = (code: number): boolean =>
  code < 0x20 ||
  (code >= 0x7f && code < 0xa0) ||
  code === 0xad ||
  (code >= 0x200b && code <= 0x200f) ||
  (code >= 0x2028 && code <= 0x202e) ||
  (code >= 0x2060 && code <= 0x206f) ||
  code === 0xfeff ||
  (code >= 0xd800 && code <= 0xdfff) ||
  code === 0xfffd;

const hex2 = (n: number): string => `\\x${n.toString(16).padStart(2, "0")}`;

/** [length, code point] of a valid UTF-8 sequence of 2-4 bytes starting at `i`, or [0, 0]. */
function utf8Sequence(text: string, i: number): [number, number] {
  const b0 = text.charCodeAt(i);
  const need = b0 >= 0xc2 && b0 <= 0xdf ? 1 : b0 >= 0xe0 && b0 <= 0xef ? 2 : b0 >= 0xf0 && b0 <= 0xf4 ? 3 : 0;
  if (need === 0 || i + need >= text.length) return [0, 0];
  let code = b0 & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
  for (let k = 1; k <= need; k++) {
    const b = text.charCodeAt(i + k);
    if (Number.isNaN(b) || b < 0x80 || b > 0xbf) return [0, 0];
    code = (code << 6) | (b & 0x3f);
  }
  const min = need === 1 ? 0x80 : need === 2 ? 0x800 : 0x10000;
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return [0, 0];
  return [need + 1, code];
}

/**
 * Text for a person: a byte string shown as UTF-8 where it is valid and printable, every other
 * byte as `\xHH` (control bytes, DEL, invalid UTF-8, bidi and line-separator characters).
 * A char above 0xFF (in-memory text, not from a file) is kept if printable, else `\u{…}`.
 */
export function displayBytes(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; ) {
    const code = text.charCodeAt(i);
    if (code >= 0x20 && code < 0x7f) {
      out += text[i];
      i++;
    } else if (code > 0xff) {
      const cp = text.codePointAt(i) ?? code;
      const width = cp > 0xffff ? 2 : 1;
      out += unprintable(cp) ? `\\u{${cp.toString(16)}}` : text.slice(i, i + width);
      i += width;
    } else if (code >= 0x80) {
      const [len, cp] = utf8Sequence(text, i);
      if (len > 0 && !unprintable(cp)) {
        out += String.fromCodePoint(cp);
        i += len;
      } else {
        const n = len > 0 ? len : 1;
        for (let k = 0; k < n; k++) out += hex2(text.charCodeAt(i + k));
        i += n;
      }
    } else {
      out += hex2(code);
      i++;
    }
  }
  return out;
}

/**
 * A byte string as Unicode text for JSON and for the OS (script paths, arguments): valid UTF-8
 * decoded, every other byte as the lone surrogate U+DC80+byte (Python's "surrogateescape"), so
 * the bytes can be recovered exactly (`JSON.stringify` writes such a byte as `"\udce9"`).
 */
export function bytesToUnicode(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; ) {
    const code = text.charCodeAt(i);
    if (code < 0x80 || code > 0xff) {
      out += text[i];
      i++;
      continue;
    }
    const [len, cp] = utf8Sequence(text, i);
    if (len > 0) {
      out += String.fromCodePoint(cp);
      i += len;
    } else {
      out += String.fromCharCode(0xdc00 + code);
      i++;
    }
  }
  return out;
}

/** The inverse of `bytesToUnicode`: back to one char per byte. */
export function unicodeToBytes(text: string): string {
  let out = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xdc80 && cp <= 0xdcff) out += String.fromCharCode(cp - 0xdc00);
    else if (cp < 0x80) out += ch;
    else out += String.fromCharCode(...new TextEncoder().encode(ch));
  }
  return out;
}
