/**
 * Which modules a Node process loads: runs a command with an ESM loader hook (module.register)
 * that appends the URL of every module it loads — the process's own, its chunks, packages from
 * node_modules, `node:` built-ins — to a temp file, and returns them in load order. The tests of
 * the CLI's start-up use it to check that a command loads only what it needs. CommonJS modules
 * required from CommonJS do not pass through the hook in Node 20, but every package is first
 * reached through an ESM import here (the compiled CLI is ESM), so each one shows. Not pure.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TracedRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every module URL loaded, in order, without repeats. */
  readonly modules: readonly string[];
}

const hook = `
import { appendFileSync } from "node:fs";
const out = process.env.VIGIL_TRACE_MODULES;
export async function load(url, context, next) {
  appendFileSync(out, url + "\\n");
  return next(url, context);
}`;

const registrar = `
import { register } from "node:module";
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;

/** Runs `node ARGS` (ARGS[0] the script) with the tracing hook; `cwd` defaults to the current one. */
export function traceModules(args: readonly string[], options: { readonly cwd?: string } = {}): TracedRun {
  const dir = mkdtempSync(join(tmpdir(), "vigil-trace-"));
  const file = join(dir, "modules.txt");
  try {
    const r = spawnSync(
      process.execPath,
      ["--import", `data:text/javascript,${encodeURIComponent(registrar)}`, ...args],
      {
        encoding: "utf8",
        env: { ...process.env, VIGIL_TRACE_MODULES: file },
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        timeout: 60_000,
      },
    );
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      // Nothing was loaded through the hook.
    }
    const modules = [...new Set(text.split("\n").filter((l) => l !== ""))];
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, modules };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The package name of a node_modules URL (`effect`, `@scope/name`), or undefined. */
export function packageOf(url: string): string | undefined {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return m?.[1];
}
