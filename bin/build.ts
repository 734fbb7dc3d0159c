/**
 * Builds the compiled `vigil` CLI into dist/ with esbuild (`npm run build`; run by `npm ci`
 * through `prepare`, by `npm test` through `pretest`, and by vitest's global setup, so no test
 * spawns stale output). One ESM entry, dist/vigil.js, and code-split chunks under dist/chunks/:
 * each command's module is a dynamic import in the registry (src/cli/commands.ts), so a command
 * loads only its own chunks. Pure-JS dependencies (effect, xstate, rxjs…) are bundled and
 * tree-shaken, which is most of the start-up gain; the native ones stay external and load from
 * node_modules.
 *
 * Writes are safe against concurrent builds and running CLIs: chunk names carry a content hash and
 * are written atomically (temp file + rename), unchanged files are not rewritten, and the entry is
 * renamed into place last, so a reader sees either the old entry with its chunks or the new one
 * with its chunks. Chunks no longer referenced are removed once they are an hour old.
 * dist/inputs.json lists every input file (sources, bundled dependencies, this script) with its
 * size and modification time, so `distIsFresh()` can tell in a few milliseconds whether a build
 * is needed, and which inputs each output file holds (`contents`). Not pure (file system).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const repoRoot = fileURLToPath(new URL("../", import.meta.url));
export const distDir = join(repoRoot, "dist");

/** Packages with native code: loaded from node_modules at run time, never bundled. */
export const NATIVE_PACKAGES = ["koffi", "raw-socket", "netlink"] as const;

/**
 * RxJS's ES2015 build, bundled instead of the CommonJS one its `node` export condition names: the
 * CommonJS build is ES5, whose `for…of` (tslib's `__values`) allocates an iterator and a result per
 * observer on every `Subject.next` — per received advert, on each subject between socket and node.
 * Same code otherwise (one TypeScript source, two compilations).
 */
const rxjsEs2015 = {
  name: "rxjs-es2015",
  setup(b: import("esbuild").PluginBuild): void {
    b.onResolve({ filter: /^rxjs$/ }, () => ({
      path: join(repoRoot, "node_modules/rxjs/dist/esm/index.js"),
    }));
  },
};

/** How old an unreferenced chunk must be before a build removes it (a CLI may still load it). */
const STALE_CHUNK_AGE_MS = 60 * 60 * 1000;

/** The file recording what the current dist/ was built from. */
const INPUTS_FILE = "inputs.json";
const SELF = fileURLToPath(import.meta.url);

type InputStamps = Record<string, readonly [mtimeMs: number, size: number]>;

function stampOf(path: string): readonly [number, number] | undefined {
  try {
    const st = statSync(path);
    return [st.mtimeMs, st.size];
  } catch {
    return undefined;
  }
}

/** True when dist/ exists and none of the files it was built from changed since (size or mtime). */
export function distIsFresh(outDir: string = distDir): boolean {
  if (stampOf(join(outDir, "vigil.js")) === undefined) return false;
  let recorded: InputStamps;
  try {
    recorded = (JSON.parse(readFileSync(join(outDir, INPUTS_FILE), "utf8")) as { inputs: InputStamps })
      .inputs;
  } catch {
    return false;
  }
  for (const [path, [mtimeMs, size]] of Object.entries(recorded)) {
    const now = stampOf(join(repoRoot, path));
    if (now === undefined || now[0] !== mtimeMs || now[1] !== size) return false;
  }
  return true;
}

export interface BuildReport {
  readonly written: number;
  readonly unchanged: number;
  readonly removed: number;
  readonly outputs: readonly string[];
}

const sameContent = (path: string, contents: Uint8Array): boolean => {
  try {
    return Buffer.from(contents).equals(readFileSync(path));
  } catch {
    return false;
  }
};

function writeAtomically(path: string, contents: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(temp, contents);
  renameSync(temp, path);
}

function* filesUnder(dir: string): Generator<string> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}

/** Builds dist/ from src/; resolves with what was written. Throws on a build error. */
export async function buildDist(outDir: string = distDir): Promise<BuildReport> {
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: { vigil: "src/cli/entry.ts" },
    outdir: outDir,
    entryNames: "[name]",
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: [...NATIVE_PACKAGES],
    plugins: [rxjsEs2015],
    sourcemap: "linked",
    // V8 keeps every loaded script's source text for lazy compilation: a 1,000-instance daemon held
    // 3.2 MB of it, most of it comments, and a chunk with one non-ASCII character in a comment is
    // held as two bytes a character. Whitespace and comments go (identifiers stay: stack traces
    // keep their names; the linked source maps give the positions); the output is checked to be
    // ASCII (test/cli/registry.test.ts).
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    // Bundled CommonJS dependencies call require(); ESM output has none, so give each chunk one.
    banner: {
      js: 'import { createRequire as __vigilRequire } from "node:module";\nconst require = __vigilRequire(import.meta.url);',
    },
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const entry = join(outDir, "vigil.js");
  const ordered = [...result.outputFiles].sort((a, b) => Number(a.path === entry) - Number(b.path === entry));
  let written = 0;
  let unchanged = 0;
  for (const file of ordered) {
    if (sameContent(file.path, file.contents)) unchanged++;
    else {
      writeAtomically(file.path, file.contents);
      written++;
    }
  }
  const inputs: Record<string, readonly [number, number]> = {};
  for (const path of [...Object.keys(result.metafile.inputs), relative(repoRoot, SELF)]) {
    const stamp = stampOf(join(repoRoot, path));
    if (stamp !== undefined) inputs[path] = stamp;
  }
  // Which input files (sources, dependency files) each output holds: what a test needs to tell
  // which code a command loads.
  const contents: Record<string, string[]> = {};
  for (const [path, output] of Object.entries(result.metafile.outputs))
    if (path.endsWith(".js")) contents[relative(outDir, join(repoRoot, path))] = Object.keys(output.inputs);
  writeAtomically(join(outDir, INPUTS_FILE), Buffer.from(`${JSON.stringify({ inputs, contents })}\n`));
  const current = new Set(ordered.map((f) => f.path));
  let removed = 0;
  const now = Date.now();
  for (const path of filesUnder(join(outDir, "chunks"))) {
    if (current.has(path)) continue;
    try {
      if (now - statSync(path).mtimeMs < STALE_CHUNK_AGE_MS) continue;
      rmSync(path, { force: true });
      removed++;
    } catch {
      // Removed by a concurrent build.
    }
  }
  return { written, unchanged, removed, outputs: ordered.map((f) => relative(repoRoot, f.path)) };
}

if (process.argv[1] !== undefined && SELF === process.argv[1]) {
  const started = performance.now();
  try {
    const report = await buildDist();
    process.stdout.write(
      `vigil build: dist/ ${report.outputs.length} files (${report.written} written, ${report.unchanged} unchanged, ${report.removed} stale removed) in ${Math.round(performance.now() - started)} ms\n`,
    );
  } catch (error) {
    process.stderr.write(`vigil build: FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
