/**
 * The preprocessor's budget: one count of everything it generates (lines from ~SEQ/~LST and
 * multi-line macros, bytes of expanded text), charged before expanding, plus caps on the token
 * lines kept and the files and bytes read, so no input can exhaust time or memory (`vigil check`
 * stays within about 10 s and 512 MB on any input). Pure.
 */

export interface PreprocessorLimits {
  readonly generatedLines: number;
  readonly generatedBytes: number;
  /** Token lines kept in all (read and generated). */
  readonly tokenLines: number;
  /** Tokens kept in all (a 1023-byte line can hold 512), and their bytes. */
  readonly tokens: number;
  readonly tokenBytes: number;
  readonly files: number;
  readonly inputBytes: number;
}

export const DEFAULT_LIMITS: PreprocessorLimits = {
  generatedLines: 250_000,
  generatedBytes: 16 * 1024 * 1024,
  tokenLines: 200_000,
  tokens: 1_000_000,
  tokenBytes: 32 * 1024 * 1024,
  files: 1000,
  inputBytes: 2 * 1024 * 1024 * 1024,
};

const n = (x: number): string => x.toLocaleString("en-US");

/** What one preprocessor run has used of its limits. */
export class Budget {
  private generatedLines = 0;
  private generatedBytes = 0;
  private bytesRead = 0;
  private linesKept = 0;
  private tokensKept = 0;
  private tokenBytesKept = 0;
  /** Set once generation is over budget or found recursive: nothing more is generated. */
  exhausted = false;

  constructor(readonly limits: PreprocessorLimits = DEFAULT_LIMITS) {}

  /** Charges `lines` lines of `bytes` bytes about to be generated; the error message if over. */
  generate(lines: number, bytes: number, what: string): string | undefined {
    if (
      this.generatedLines + lines <= this.limits.generatedLines &&
      this.generatedBytes + bytes <= this.limits.generatedBytes
    ) {
      this.generatedLines += lines;
      this.generatedBytes += bytes;
      return undefined;
    }
    this.exhausted = true;
    return `${what} would take the generated configuration past ${n(this.limits.generatedLines)} lines or ${n(this.limits.generatedBytes)} bytes - nothing more is generated`;
  }

  /** Charges bytes read from a file; the error message once past `inputBytes`. */
  read(bytes: number, file: string): string | undefined {
    this.bytesRead += bytes;
    return this.bytesRead > this.limits.inputBytes
      ? `more than ${n(this.limits.inputBytes)} bytes of configuration read - the rest of '${file}' is ignored`
      : undefined;
  }

  /** Charges one line of `tokens` tokens, `bytes` long, about to be kept; the error if over. */
  keep(tokens: number, bytes: number): string | undefined {
    if (
      this.linesKept + 1 > this.limits.tokenLines ||
      this.tokensKept + tokens > this.limits.tokens ||
      this.tokenBytesKept + bytes > this.limits.tokenBytes
    )
      return `More than ${n(this.limits.tokenLines)} configuration lines, ${n(this.limits.tokens)} words or ${n(this.limits.tokenBytes)} bytes - the rest is ignored`;
    this.linesKept++;
    this.tokensKept += tokens;
    this.tokenBytesKept += bytes;
    return undefined;
  }
}
