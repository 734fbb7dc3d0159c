/**
 * The configuration front end's entry point: `loadConfig(path, options)` reads a keepalived.conf
 * (and its includes) through an injectable file-system reader, preprocesses, parses, walks the
 * keyword tables, resolves defaults and semantic checks, and finally decodes the result with the
 * effect Schema `Config`, so every value that leaves here carries its brands (Vrid, Priority,
 * AdvertIntervalCs, IpAddress). It never throws for bad input: every problem is a `Diagnostic`.
 * Pure apart from the default `nodeConfigFs` and the host name used as the default config id.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { Schema } from "effect";
import { type Diagnostic, Diagnostics } from "./diagnostics.ts";
import { newConfigDraft } from "./draft.ts";
import { topKeywords } from "./keywords/global.ts";
import { parseStatements } from "./parser.ts";
import { resolveConfig } from "./resolve.ts";
import { type ConfigFs, Preprocessor } from "./source.ts";
import { Config } from "./types.ts";
import { walk } from "./values.ts";

export type { ConfigFs } from "./source.ts";

export interface LoadOptions {
  /** The id matched by `@id` lines; defaults to the short host name (up to the first '.'). */
  readonly configId?: string;
  /** File access; defaults to the real file system. */
  readonly fs?: ConfigFs;
}

export interface LoadResult {
  /** The configuration, or undefined when there were errors. */
  readonly config: Config | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/** The real file system, read synchronously (configuration loading is a startup step). */
export const nodeConfigFs: ConfigFs = {
  readFile: (path) => {
    try {
      if (!statSync(path).isFile()) return undefined;
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  },
  listDir: (path) => {
    try {
      return readdirSync(path);
    } catch {
      return undefined;
    }
  },
};

export const defaultConfigId = (): string => hostname().split(".")[0] ?? "";

const decodeConfig = Schema.decodeUnknownResult(Config);

/** Sorts diagnostics by file (in order of first appearance), line and column; stable otherwise. */
function inSourceOrder(list: readonly Diagnostic[]): Diagnostic[] {
  const fileRank = new Map<string, number>();
  for (const d of list) if (!fileRank.has(d.file)) fileRank.set(d.file, fileRank.size);
  return list
    .map((d, i) => ({ d, i }))
    .sort(
      (a, b) =>
        (fileRank.get(a.d.file) ?? 0) - (fileRank.get(b.d.file) ?? 0) ||
        a.d.line - b.d.line ||
        a.d.column - b.d.column ||
        a.i - b.i,
    )
    .map((x) => x.d);
}

/** Loads and validates `path`. Warnings never prevent a config; errors always do. */
export function loadConfig(path: string, options: LoadOptions = {}): LoadResult {
  const diags = new Diagnostics();
  const configId = options.configId ?? defaultConfigId();
  const pre = new Preprocessor(options.fs ?? nodeConfigFs, diags, configId, "");
  if (!pre.readFile(path)) return { config: undefined, diagnostics: diags.list };
  const statements = parseStatements(pre.lines, diags);
  const draft = newConfigDraft();
  walk({ diags }, statements, topKeywords, draft);
  const plain = resolveConfig(diags, draft, path, configId);
  const decoded = decodeConfig(plain, { errors: "all" });
  if (decoded._tag === "Failure") {
    diags.error(
      { file: path, line: 0, column: 0 },
      "semantic",
      `internal: the resolved configuration does not match the Config schema: ${decoded.failure.message}`,
    );
    return { config: undefined, diagnostics: inSourceOrder(diags.list) };
  }
  return { config: diags.hasErrors ? undefined : decoded.success, diagnostics: inSourceOrder(diags.list) };
}
