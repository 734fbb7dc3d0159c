/**
 * Helpers for netns tests that run Vigil itself inside a lab namespace: the CLI (`vigil sniff`)
 * and small TypeScript scripts under test/netns/support/ (through tsx). Not pure.
 */
import { fileURLToPath } from "node:url";
import type { SniffRecord } from "../../../src/cli/sniff.ts";
import type { Lab, LabProcess } from "../../support/lab.ts";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
export const vigilBin = `${repoRoot}bin/vigil.js`;
export const tsxBin = `${repoRoot}node_modules/.bin/tsx`;

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
  options: { readonly uid?: number } = {},
): LabProcess {
  return lab.spawn(ns, tsxBin, [`${repoRoot}test/netns/support/${name}`, ...args], {
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
