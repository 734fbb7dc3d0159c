/**
 * Helpers for netns tests that run Vigil itself inside a lab namespace: the CLI (`vigil sniff`)
 * and small TypeScript scripts under test/netns/support/ (through tsx). Not pure.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { SniffRecord } from "../../../src/cli/sniff.ts";
import { type Lab, type LabProcess, withRt } from "../../support/lab.ts";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
/** The `vigil` command: runs the compiled CLI in dist/ (vitest's global setup builds it when stale). */
export const vigilBin = `${repoRoot}bin/vigil.js`;
/** `vigil run`'s arguments after the Node binary: its config, journal directory and pid file, then `extra`. */
export const vigilRunArgs = (
  o: { readonly config: string; readonly journalDir: string; readonly pidFile: string },
  ...extra: readonly string[]
): string[] => [
  vigilBin,
  "run",
  "-f",
  o.config,
  "--journal",
  o.journalDir,
  "--pid-file",
  o.pidFile,
  ...extra,
];

/**
 * Runs a support script from its TypeScript source: Node itself with tsx's loader, one process.
 * Not tsx's CLI, which runs the script in a child process and, on a SIGTERM, forwards it when the
 * child has not reported it within 30 ms, then SIGKILLs the child when it has not 30 ms later — on
 * a loaded machine a script's graceful stop (a daemon's priority-0 adverts) was killed that way.
 */
export const tsxCommand: readonly string[] = [
  process.execPath,
  "--import",
  pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href,
];

/** Starts `vigil sniff --json ARGS` in a namespace and resolves once it is capturing. */
export async function startSniff(lab: Lab, ns: string, args: readonly string[]): Promise<LabProcess> {
  const proc = lab.spawn(ns, process.execPath, [vigilBin, "sniff", "--json", ...args], {
    label: `vigil sniff@${ns}`,
  });
  await proc.waitForOutput(/listening on/, 15_000);
  return proc;
}

/** The JSON records printed so far. */
export const sniffRecords = (proc: LabProcess): SniffRecord[] =>
  proc.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as SniffRecord);

/** Runs a support script (test/netns/support/NAME) with tsx in a namespace. */
export function startScript(
  lab: Lab,
  ns: string,
  name: string,
  args: readonly string[],
  /** `rt`: at the labs' SCHED_RR priority (lab.ts `withRt`), for a daemon under test. */
  options: { readonly uid?: number; readonly rt?: boolean } = {},
): LabProcess {
  const script = [...tsxCommand, `${repoRoot}test/netns/support/${name}`, ...args];
  const [file = "", ...argv] = options.rt === true ? withRt(script) : script;
  return lab.spawn(ns, file, argv, {
    label: `${name}@${ns}`,
    ...(options.uid === undefined ? {} : { uid: options.uid }),
  });
}

/** An independent RFC 1071 checksum (sum of 16-bit words, folded, complemented). */
export function onesComplement(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"));

/**
 * What an unprivileged user needs to run the UDP peer script and the CLI, staged where that user
 * can read it: the checkout may sit in a directory only its owner can enter (a clone under /root,
 * or `mktemp -d`, mode 0700), so the scripts are bundled with esbuild (tsx's own dependency) into
 * a 0755 temp dir, with the one native package the CLI loads (koffi, with its prebuilt binary)
 * copied next to them.
 */
export interface StagedScripts {
  readonly dir: string;
  /** test/netns/support/udp-peer.ts, bundled. */
  readonly udpPeer: string;
  /** The `vigil` CLI (src/cli/main.ts on the process streams), bundled. */
  readonly vigil: string;
  readonly remove: () => void;
}

/** Why `uid` cannot run staged scripts on this machine (node itself unreadable), or undefined. */
export function nodeUnusableBy(uid: number): string | undefined {
  const r = spawnSync(
    "setpriv",
    [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", process.execPath, "-e", "0"],
    {
      cwd: "/",
      stdio: "ignore",
    },
  );
  return r.status === 0 ? undefined : `uid ${uid} cannot run ${process.execPath} (status ${r.status})`;
}

export async function stageForUser(): Promise<StagedScripts> {
  const { build } = await import("esbuild");
  const dir = mkdtempSync(join(tmpdir(), "vigil-stage-"));
  chmodSync(dir, 0o755);
  const common = {
    bundle: true,
    platform: "node" as const,
    format: "esm" as const,
    target: "node20",
    logLevel: "silent" as const,
    // CommonJS dependencies bundled into ESM need a require().
    banner: {
      js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);',
    },
  };
  const udpPeer = join(dir, "udp-peer.mjs");
  await build({ ...common, entryPoints: [`${repoRoot}test/netns/support/udp-peer.ts`], outfile: udpPeer });
  const vigil = join(dir, "vigil.mjs");
  await build({
    ...common,
    stdin: {
      contents:
        'import { main } from "./src/cli/main.ts";\nimport { processIo } from "./src/cli/process-io.ts";\nprocess.exitCode = await main(process.argv.slice(2), processIo());\n',
      resolveDir: repoRoot,
      loader: "ts",
      sourcefile: "vigil-entry.ts",
    },
    external: ["koffi", "raw-socket", "netlink"],
    outfile: vigil,
  });
  // The native packages left out of the bundle (esbuild hoists their imports to the top of the ESM
  // output even when the module using them is imported lazily), with what they load at run time:
  // koffi and its prebuilt module (a separate package per platform, e.g. @koromix/koffi-linux-x64),
  // raw-socket's compiled addon, netlink's prebuilds through node-gyp-build.
  for (const pkg of ["koffi", "raw-socket", "netlink", "node-gyp-build"])
    cpSync(`${repoRoot}node_modules/${pkg}`, join(dir, "node_modules", pkg), { recursive: true });
  const scope = `${repoRoot}node_modules/@koromix`;
  if (existsSync(scope)) cpSync(scope, join(dir, "node_modules", "@koromix"), { recursive: true });
  for (const f of [udpPeer, vigil]) chmodSync(f, 0o644);
  // cpSync keeps modes; make every staged directory searchable and file readable by all.
  spawnSync("chmod", ["-R", "a+rX", dir]);
  return { dir, udpPeer, vigil, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
