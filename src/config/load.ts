/**
 * The configuration front end's entry point: `loadConfig(path, options)` reads a keepalived.conf
 * (and its includes) through an injectable file-system reader, preprocesses, parses, walks the
 * keyword tables, resolves defaults and semantic checks, and finally decodes the result with the
 * effect Schema `Config`, so every value that leaves here carries its brands (Vrid, Priority,
 * AdvertIntervalCs, IpAddress). It never throws for bad input: every problem is a `Diagnostic`.
 * Pure apart from the default `nodeConfigFs`, `readHostFile` and the host name used as the default
 * config id.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { cpus, hostname } from "node:os";
import { Schema } from "effect";
import { DEFAULT_LIMITS, type PreprocessorLimits } from "./budget.ts";
import { type Diagnostic, Diagnostics } from "./diagnostics.ts";
import { type ConfigDraft, newConfigDraft } from "./draft.ts";
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
  /** The preprocessor's budget; defaults to `DEFAULT_LIMITS` (tests use smaller ones). */
  readonly limits?: PreprocessorLimits;
  /**
   * The MTU of an interface on the host that will run the file (how many addresses fit one advert;
   * the rest move to the excluded VIPs, as keepalived does). Unknown → 1500, keepalived's default.
   */
  readonly interfaceMtu?: (ifname: string) => number | undefined;
  /** Read as keepalived's daemon reads the file, not as `keepalived -t` does (`Diagnostics.daemon`). */
  readonly daemon?: boolean;
  /** The online CPUs `*_cpu_affinity` is checked against (`Ctx.onlineCpus`); defaults to this host's. */
  readonly onlineCpus?: () => number;
  /**
   * Host files keepalived reads while it parses (`Ctx.hostFile`: the /etc/iproute2 name tables and
   * /etc/protocols of routes and rules); defaults to this host's (`readHostFile`).
   */
  readonly hostFile?: (path: string) => string | undefined;
}

export interface LoadResult {
  /** The configuration, or undefined when there were errors. */
  readonly config: Config | undefined;
  /**
   * The configuration keepalived's daemon would run: defined unless an error is fatal (see
   * diagnostics.ts) — tolerated errors leave the keyword ignored or a default in place, as
   * keepalived does. Equal to `config` when there are no errors. What `vigil run` starts on.
   */
  readonly runnable: Config | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/** Bytes read at a time from a configuration file (one piece is held at a time, not the file). */
const READ_CHUNK_BYTES = 1024 * 1024;

const errnoReason = (e: unknown): string => {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") return "not found";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ELOOP") return "is a symbolic link loop";
  return `could not be read (${typeof code === "string" ? code : String(e)})`;
};

/** What keepalived's check_glob_file would say about a file that is not a regular one. */
function statReason(path: string): string | undefined {
  const st = statSync(path);
  if (st.isDirectory()) return "is a directory";
  const kind = st.isFIFO()
    ? "a FIFO"
    : st.isCharacterDevice()
      ? "a character device"
      : st.isBlockDevice()
        ? "a block device"
        : st.isSocket()
          ? "a socket"
          : undefined;
  if (kind !== undefined) return `is not a regular file (it is ${kind})`;
  if ((st.mode & 0o111) !== 0) return "is executable (keepalived reads only non-executable files)";
  return undefined;
}

/** Reads a file as byte strings ("latin1", one char per byte), a megabyte at a time. */
function* fileChunks(path: string): Generator<string> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return;
  }
  const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, READ_CHUNK_BYTES, null);
      if (n <= 0) return;
      yield buf.toString("latin1", 0, n);
    }
  } catch {
    return;
  } finally {
    closeSync(fd);
  }
}

/** The real file system, read synchronously (configuration loading is a startup step). */
export const nodeConfigFs: ConfigFs = {
  readFile: (path) => {
    try {
      const why = statReason(path);
      if (why !== undefined) return { error: why };
      closeSync(openSync(path, "r"));
      return { chunks: () => fileChunks(path) };
    } catch (e) {
      return { error: errnoReason(e) };
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

/** A host file's text (byte string, as configuration text is read), or undefined when it cannot be read. */
export const readHostFile = (path: string): string | undefined => {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
};

export const defaultConfigId = (): string => hostname().split(".")[0] ?? "";

const decodeConfig = Schema.decodeUnknownResult(Config);

/**
 * The decoded configuration with its instances and globals copied into plain literals. The
 * decoder builds a struct one key at a time, which leaves one of 38 keys in V8's dictionary mode:
 * 1.6 KB an instance, held for the daemon's life (a copy made by spread is compact).
 */
const compact = (c: Config): Config => ({
  ...c,
  global: { ...c.global },
  instances: c.instances.map((i) => ({ ...i })),
});

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

interface FrontPass {
  readonly diags: Diagnostics;
  readonly draft: ConfigDraft;
  readonly usedRandom: boolean;
  /** False when the main file could not be read (nothing was parsed). */
  readonly read: boolean;
}

/** Preprocesses, parses and walks the keyword tables once, into a fresh draft and diagnostics. */
function frontPass(
  fs: ConfigFs,
  path: string,
  configId: string,
  limits: PreprocessorLimits,
  daemon: boolean,
  onlineCpus: () => number,
  hostFile: (path: string) => string | undefined,
  randomSeed?: number,
): FrontPass {
  const diags = new Diagnostics(daemon);
  const pre = new Preprocessor(fs, diags, configId, "", randomSeed, limits);
  const draft = newConfigDraft();
  const read = pre.readFile(path);
  if (read) walk({ diags, onlineCpus, hostFile }, parseStatements(pre.lines, diags), topKeywords, draft);
  return { diags, draft, usedRandom: pre.usedRandom, read };
}

/**
 * Loads and validates `path`. Warnings never prevent a config; errors always prevent `config`,
 * and fatal errors (or a main file that cannot be read) prevent `runnable` as well.
 *
 * `${_RANDOM}` is expanded while preprocessing, before `global_defs` is read, so `random_seed`
 * applies to the whole configuration wherever it appears: a file that uses `${_RANDOM}` and sets
 * a `random_seed` is read a second time with that seed (the first pass, seeded from the main
 * file's text, is discarded).
 */
export function loadConfig(path: string, options: LoadOptions = {}): LoadResult {
  const fs = options.fs ?? nodeConfigFs;
  const configId = options.configId ?? defaultConfigId();
  const limits = options.limits ?? DEFAULT_LIMITS;
  const daemon = options.daemon ?? false;
  const onlineCpus = options.onlineCpus ?? (() => cpus().length);
  const hostFile = options.hostFile ?? readHostFile;
  let pass = frontPass(fs, path, configId, limits, daemon, onlineCpus, hostFile);
  if (!pass.read) return { config: undefined, runnable: undefined, diagnostics: pass.diags.list };
  const seed = pass.draft.global.randomSeed;
  if (pass.usedRandom && seed !== undefined) {
    pass = frontPass(fs, path, configId, limits, daemon, onlineCpus, hostFile, seed);
    const again = pass.draft.global.randomSeed;
    if (again !== seed)
      pass.diags.warn(
        { file: path, line: 0, column: 0 },
        "semantic",
        `random_seed changed from ${seed} to ${again} when re-read with it (it depends on \${_RANDOM}?) - ${seed} was used for \${_RANDOM}`,
      );
  }
  const { diags, draft } = pass;
  const plain = resolveConfig(diags, draft, path, configId, options.interfaceMtu);
  const decoded = decodeConfig(plain, { errors: "all" });
  if (decoded._tag === "Failure") {
    diags.fatal(
      { file: path, line: 0, column: 0 },
      "semantic",
      `internal: the resolved configuration does not match the Config schema: ${decoded.failure.message}`,
    );
    return { config: undefined, runnable: undefined, diagnostics: inSourceOrder(diags.list) };
  }
  const config = compact(decoded.success);
  return {
    config: diags.hasErrors ? undefined : config,
    runnable: diags.hasFatal ? undefined : config,
    diagnostics: inSourceOrder(diags.list),
  };
}
