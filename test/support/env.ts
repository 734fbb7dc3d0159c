/**
 * What the test host can do, and the rule for tests that need more: tests that need root,
 * network namespaces or a real keepalived skip with a clear message locally, but under `CI=true`
 * a skip is a failure. Use `labRequirement()` as `describe.skipIf(...)` guard and call
 * `assertLabOrExplain()` at file scope so CI fails loudly instead of skipping.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export const inCi = process.env.CI === "true";

const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0;

const canMakeNetns = (): boolean => {
  if (!isRoot()) return false;
  const name = `vgprobe${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", name], { stdio: "ignore" });
    execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

export const keepalivedPath = ["/usr/sbin/keepalived", "/sbin/keepalived"].find((p) => existsSync(p));

export interface LabNeeds {
  readonly root?: boolean;
  readonly netns?: boolean;
  readonly keepalived?: boolean;
  readonly tcpdump?: boolean;
}

const hasTool = (tool: string): boolean => {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

/** Returns why the lab is unavailable for these needs, or undefined when everything is there. */
export function missingLab(needs: LabNeeds): string | undefined {
  if ((needs.root || needs.netns) && !isRoot()) return "needs root";
  if (needs.netns && !canMakeNetns()) return "cannot create network namespaces";
  if (needs.keepalived && keepalivedPath === undefined)
    return "keepalived is not installed (apt-get install keepalived)";
  if (needs.tcpdump && !hasTool("tcpdump")) return "tcpdump is not installed (apt-get install tcpdump)";
  return undefined;
}

/**
 * The skip condition for a suite. Locally returns true (skip) with a printed reason; under CI=true
 * it throws, so the suite fails instead of silently skipping.
 */
export function skipUnlessLab(suite: string, needs: LabNeeds): boolean {
  const why = missingLab(needs);
  if (why === undefined) return false;
  if (inCi) throw new Error(`${suite}: ${why} — under CI=true a skipped lab test is a failure`);
  console.warn(`[skip] ${suite}: ${why}`);
  return true;
}
