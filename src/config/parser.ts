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
}

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
          stack.push({ children: target.block, owner: target });
        } else diags.warn(token, "syntax", "Unexpected '{' - ignoring");
        current = null;
        candidate = null;
      } else if (isBrace(token, "}")) {
        if (stack.length > 1) stack.pop();
        else {
          diags.error(token, "syntax", "Extra '}' found", "remove it, or look for a missing '{' above");
        }
        current = null;
        candidate = null;
      } else if (current === null) {
        current = { keyword: token, args: [], block: null };
        frame.children.push(current);
        candidate = current;
      } else current.args.push(token);
    }
  }
  for (let i = stack.length - 1; i > 0; i--) {
    const owner = (stack[i] as Frame).owner as Statement;
    diags.error(
      owner.keyword,
      "syntax",
      `Missing '}' at end of '${owner.keyword.text}' block (There are ${stack.length - 1} missing '}'s or extra '{'s)`,
      "every '{' needs a matching '}'",
    );
  }
  return root.children;
}
