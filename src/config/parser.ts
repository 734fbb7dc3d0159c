/**
 * The block parser: groups the preprocessor's token lines into a tree of statements, the way
 * keepalived's `process_stream` nests blocks. A statement is a keyword with its arguments on one
 * line; a `{` on the same line or on the next line opens its block, `}` closes it. Stray braces
 * are reported with keepalived's messages and parsing continues. Pure.
 */
import type { Diagnostics } from "./diagnostics.ts";
import { isBrace, type Token } from "./lexer.ts";
import type { SourceLine } from "./source.ts";

export interface Statement {
  readonly keyword: Token;
  readonly args: Token[];
  /** The statement's block, or null when it was written without `{`. */
  block: Statement[] | null;
  /** The braces of the block: `close` is absent when the file ended inside it. */
  open?: Token;
  close?: Token;
  /** The line the statement was written on (script keywords read it again, values.ts `rawArgs`). */
  readonly source?: SourceLine;
}

const closes = new WeakMap<readonly Statement[], Token>();
/** The `}` that closes a block of the parse tree (absent: the file ended inside it). */
export const closeOf = (block: readonly Statement[]): Token | undefined => closes.get(block);

interface Frame {
  readonly children: Statement[];
  readonly owner: Statement | null;
}

export function parseStatements(lines: readonly SourceLine[], diags: Diagnostics): Statement[] {
  const root: Frame = { children: [], owner: null };
  const stack: Frame[] = [root];
  let candidate: Statement | null = null; // last statement, eligible for a `{` on the next line
  for (const line of lines) {
    let current: Statement | null = null;
    for (const token of line.tokens) {
      const frame = stack[stack.length - 1] as Frame;
      if (isBrace(token, "{")) {
        const target = current ?? candidate;
        if (target !== null && target.block === null) {
          target.block = [];
          target.open = token;
          stack.push({ children: target.block, owner: target });
        } else {
          // a `{` on its own: keepalived counts it and reads what follows as lines of the block it
          // is in (walk says "Unexpected '{' - ignoring"); here a statement of its own with a block
          const stray: Statement = { keyword: token, args: [], block: [], open: token, source: line };
          frame.children.push(stray);
          stack.push({ children: stray.block as Statement[], owner: stray });
        }
        current = null;
        candidate = null;
      } else if (isBrace(token, "}")) {
        if (stack.length > 1) {
          const owner = (stack.pop() as Frame).owner as Statement;
          owner.close = token;
          closes.set(owner.block as Statement[], token);
        } else {
          // keepalived counts the braces first ("Extra"), then its parser meets the `}`: kept as a
          // statement of its own, which the walk reads as a `}` (it may close a block keyword
          // written without `{`, else it is "Unknown keyword '}'")
          diags.error(token, "syntax", "Extra '}' found", "remove it, or look for a missing '{' above");
          frame.children.push({ keyword: token, args: [], block: null, source: line });
        }
        current = null;
        candidate = null;
      } else if (current === null) {
        current = { keyword: token, args: [], block: null, source: line };
        frame.children.push(current);
        candidate = current;
      } else current.args.push(token);
    }
  }
  if (stack.length > 1) {
    // keepalived says it once, at the end of the file; the hint names the blocks left open
    const open = stack.slice(1).map((f) => f.owner as Statement);
    diags.error(
      (open[0] as Statement).keyword,
      "syntax",
      `There are ${open.length} missing '}'s or extra '{'s`,
      `not closed: ${open.map((o) => `'${o.keyword.text}' (line ${o.keyword.line})`).join(", ")}`,
    );
  }
  return root.children;
}
