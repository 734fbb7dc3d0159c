/**
 * Terminal-safe text for everything the command line prints. Packets, journals and configuration
 * files come from other people (any host on the LAN can send a VRRP advert with escape sequences in
 * its password), so no byte they contain reaches the operator's terminal raw. Pure.
 *
 * Human-readable text is escaped the way tcpdump prints packet text (its `fn_print_char`): a byte
 * with the high bit set gets `M-` and its low seven bits, a control byte becomes `^` and the byte
 * xor 0x40 (ESC → `^[`, DEL → `^?`, NUL → `^@`), printable ASCII is kept. For strings, the same
 * form covers the code points up to U+00FF that are not printable (C0, DEL, C1, soft hyphen);
 * other invisible or layout-changing code points (format characters such as bidi overrides, line
 * and paragraph separators, lone surrogates) become `\u{XXXX}`; other printable Unicode is kept.
 * The output of each function is printable, so escaping twice changes nothing.
 *
 * JSON output stays JSON with the same value: `JSON.stringify` already writes C0 controls and lone
 * surrogates as `\uXXXX`, and `terminalSafeJson` does the same for DEL, C1 controls and the format
 * and separator characters it leaves raw.
 */

/** tcpdump's printable form of one byte value (0-255). */
function byteForm(value: number): string {
  let prefix = "";
  let c = value & 0xff;
  if (c >= 0x80) {
    prefix = "M-";
    c &= 0x7f;
  }
  if (c < 0x20 || c === 0x7f) {
    prefix += "^";
    c ^= 0x40;
  }
  return prefix + String.fromCharCode(c);
}

const isPrintableAscii = (c: number): boolean => c >= 0x20 && c < 0x7f;

/** Bytes from the wire or a file, printed as tcpdump prints them. */
export function escapeBytes(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += isPrintableAscii(b) ? String.fromCharCode(b) : byteForm(b);
  return out;
}

/** A string holding one byte per character (latin1, as `Buffer.toString("latin1")` gives). */
export const escapeLatin1 = (text: string): string =>
  escapeBytes(Uint8Array.from(text, (ch) => ch.charCodeAt(0)));

/** Control, format, separator characters and lone surrogates: never printed raw. */
const UNSAFE_TEXT = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** One line of human-readable output: every non-printable character escaped, newlines included. */
export function escapeText(text: string): string {
  return text.replace(UNSAFE_TEXT, (ch) => {
    const cp = ch.codePointAt(0) ?? 0;
    return cp <= 0xff ? byteForm(cp) : `\\u{${cp.toString(16).toUpperCase().padStart(4, "0")}}`;
  });
}

/** Multi-line human-readable text: each line escaped, the line breaks kept. */
export const escapeLines = (text: string): string => text.split("\n").map(escapeText).join("\n");

/** What JSON.stringify leaves raw but a terminal may act on (it only occurs inside strings). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu;

const u4 = (unit: number): string => `\\u${unit.toString(16).padStart(4, "0")}`;

/** JSON text with the characters a terminal may act on written as `\uXXXX` escapes (same value). */
export function terminalSafeJson(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (ch) => {
    let out = "";
    for (let i = 0; i < ch.length; i++) out += u4(ch.charCodeAt(i));
    return out;
  });
}

/** One value as a terminal-safe JSON line (without the newline). */
export const jsonLine = (value: unknown): string => terminalSafeJson(JSON.stringify(value));
